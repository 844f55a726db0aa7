package postgres

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

// Casualty evacuation requests are documents with the columns the board
// filters on; cot_uid is unique, so a TAK client repeating its CASEVAC event
// makes one request (the second is ECONFLICT).
var casevacs = &docTable[bluehelm.Casevac]{
	table: "casevacs", kind: "casevac",
	cols:  []string{"status", "incident_id", "cot_uid", "requested_at", "classification", "component", "releasability"},
	ident: func(c *bluehelm.Casevac) (*int64, *int) { return &c.ID, &c.Version },
	norm:  func(c *bluehelm.Casevac) { c.RequestedAt = utc(c.RequestedAt) },
	row: func(c *bluehelm.Casevac) []any {
		var incident, uid any
		if c.IncidentID != 0 {
			incident = c.IncidentID
		}
		if c.CoTUID != "" {
			uid = c.CoTUID
		}
		return []any{string(c.Status), incident, uid, c.RequestedAt,
			int(c.Classification), string(c.Component), releasabilityList(c.Releasability)}
	},
}

// CreateCasevac stores c as version 1, setting c.ID and c.Version; a second
// request with the same CoTUID is ECONFLICT.
func (db *DB) CreateCasevac(ctx context.Context, c *bluehelm.Casevac, e bluehelm.AuditEntry) error {
	return casevacs.create(ctx, db, c, e)
}

// UpdateCasevac stores c as version c.Version+1 if the stored version is still
// c.Version (ECONFLICT otherwise), and increments c.Version.
func (db *DB) UpdateCasevac(ctx context.Context, c *bluehelm.Casevac, e bluehelm.AuditEntry) error {
	return casevacs.update(ctx, db, c, e)
}

// Casevac returns one request regardless of access (callers check CanSee).
func (db *DB) Casevac(ctx context.Context, id int64) (*bluehelm.Casevac, error) {
	return casevacs.get(ctx, db, "id", id)
}

// FindCasevacs returns the requests f.Viewer may see that match f, newest
// requested first (ties by id descending); at most f.Limit (default 500, at
// most 5000). Access is applied in the query, so a page is full.
func (db *DB) FindCasevacs(ctx context.Context, f bluehelm.CasevacFilter) ([]*bluehelm.Casevac, error) {
	limit, err := clampLimit(f.Limit, 500, 5000)
	if err != nil {
		return nil, err
	}
	var b bindArgs
	if len(f.Statuses) > 0 {
		statuses := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			statuses[i] = string(s)
		}
		b.conds = append(b.conds, "c.status = ANY ("+b.bind(statuses)+")")
	}
	if f.IncidentID != 0 {
		b.conds = append(b.conds, "c.incident_id = "+b.bind(f.IncidentID))
	}
	if f.CoTUID != "" {
		b.conds = append(b.conds, "c.cot_uid = "+b.bind(f.CoTUID))
	}
	b.canSee("c", f.Viewer)
	return casevacs.list(ctx, db, `SELECT c.id, c.version, c.doc FROM casevacs c`+b.where()+
		` ORDER BY c.requested_at DESC, c.id DESC LIMIT `+b.bind(limit), b.args...)
}
