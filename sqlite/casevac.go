package sqlite

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

// schemaV10 holds casualty evacuation requests: documents with the columns the
// board filters on. cot_uid is unique so that a TAK client repeating its
// CASEVAC event makes one request.
const schemaV10 = `
CREATE TABLE casevacs (
	id             INTEGER PRIMARY KEY,
	version        INTEGER NOT NULL,
	status         TEXT NOT NULL,
	incident_id    INTEGER,
	cot_uid        TEXT UNIQUE,
	requested_at   INTEGER NOT NULL,      -- unix µs
	classification INTEGER NOT NULL,
	component      TEXT NOT NULL,
	releasability  TEXT NOT NULL,
	doc            TEXT NOT NULL
);
CREATE INDEX casevacs_requested ON casevacs (requested_at, id);
CREATE INDEX casevacs_status ON casevacs (status, requested_at);
`

var casevacs = &docTable[bluehelm.Casevac]{
	table: "casevacs", kind: "casevac",
	cols:  []string{"status", "incident_id", "cot_uid", "requested_at", "classification", "component", "releasability"},
	ident: func(c *bluehelm.Casevac) (*int64, *int) { return &c.ID, &c.Version },
	norm:  func(c *bluehelm.Casevac) { c.RequestedAt = truncMicros(c.RequestedAt) },
	row: func(c *bluehelm.Casevac) []any {
		var incident, uid any
		if c.IncidentID != 0 {
			incident = c.IncidentID
		}
		if c.CoTUID != "" {
			uid = c.CoTUID
		}
		return []any{string(c.Status), incident, uid, c.RequestedAt.UnixMicro(),
			int(c.Classification), string(c.Component), releasability(c.Releasability)}
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
// requested first; at most f.Limit (default 500, at most 5000).
func (db *DB) FindCasevacs(ctx context.Context, f bluehelm.CasevacFilter) ([]*bluehelm.Casevac, error) {
	limit, err := clampLimit(f.Limit, 500, 5000)
	if err != nil {
		return nil, err
	}
	var q query
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			args[i] = string(s)
		}
		q.add("c.status IN ("+placeholders(len(args))+")", args...)
	}
	if f.IncidentID != 0 {
		q.add("c.incident_id = ?", f.IncidentID)
	}
	if f.CoTUID != "" {
		q.add("c.cot_uid = ?", f.CoTUID)
	}
	if cond, args := accessSQL("c", f.Viewer); cond != "" {
		q.add(cond, args...)
	}
	return casevacs.list(ctx, db, `SELECT c.id, c.version, c.doc FROM casevacs c`+q.where()+
		` ORDER BY c.requested_at DESC, c.id DESC LIMIT ?`, append(q.args, limit)...)
}
