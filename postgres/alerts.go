package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Alerts are documents with the columns their list filters and sorts on:
// state, raised_at and the marking.
var alertTable = &docTable[bluehelm.Alert]{
	table: "alerts",
	kind:  "alert",
	cols:  []string{"state", "raised_at", "classification", "component", "releasable_to"},
	ident: func(a *bluehelm.Alert) (*int64, *int) { return &a.ID, &a.Version },
	// raised_at keeps microseconds; the document must say the same time.
	norm: func(a *bluehelm.Alert) { a.RaisedAt = a.RaisedAt.Truncate(time.Microsecond) },
	row: func(a *bluehelm.Alert) []any {
		return []any{string(a.State), a.RaisedAt, int(a.Classification), string(a.Component), incComponentNames(a.Releasability)}
	},
}

// CreateAlert stores a as version 1, setting a.ID and a.Version.
func (db *DB) CreateAlert(ctx context.Context, a *bluehelm.Alert, e bluehelm.AuditEntry) error {
	return alertTable.create(ctx, db, a, e)
}

// UpdateAlert stores a as version a.Version+1 if the stored version is still
// a.Version (ECONFLICT otherwise), and increments a.Version.
func (db *DB) UpdateAlert(ctx context.Context, a *bluehelm.Alert, e bluehelm.AuditEntry) error {
	return alertTable.update(ctx, db, a, e)
}

// Alert returns one alert regardless of access.
func (db *DB) Alert(ctx context.Context, id int64) (*bluehelm.Alert, error) {
	return alertTable.get(ctx, db, "id", id)
}

// Alerts returns alerts f.Viewer may see, in the given states, raised at or
// after f.Since, newest first (ties: higher id first); at most f.Limit
// (default 100, max 1000).
func (db *DB) Alerts(ctx context.Context, f bluehelm.AlertFilter) ([]*bluehelm.Alert, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	var w incWhere
	if len(f.States) > 0 {
		ss := make([]string, len(f.States))
		for i, s := range f.States {
			ss[i] = string(s)
		}
		w.add("a.state = ANY(" + w.arg(ss) + "::text[])")
	}
	if !f.Since.IsZero() {
		w.add("a.raised_at >= " + w.arg(ceilMicro(f.Since)))
	}
	w.visibleTo("a", f.Viewer)
	args := append(w.args, limit)
	return alertTable.list(ctx, db, `SELECT a.id, a.version, a.doc FROM alerts a`+w.sql()+
		` ORDER BY a.raised_at DESC, a.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
}
