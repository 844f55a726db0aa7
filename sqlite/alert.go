package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// alertRow returns the column values of an alert in the order of the INSERT
// and UPDATE statements below.
func alertRow(a *bluehelm.Alert) ([]any, error) {
	doc, err := encodeDoc(a)
	if err != nil {
		return nil, err
	}
	return []any{a.Version, string(a.State), a.RaisedAt.UnixMicro(), int(a.Classification), string(a.Component), releasability(a.Releasability), doc}, nil
}

// CreateAlert stores a as version 1, setting a.ID and a.Version. Alerts are
// never deleted, so max(id)+1 (inside the IMMEDIATE transaction) is a fresh id.
func (db *DB) CreateAlert(ctx context.Context, a *bluehelm.Alert, e bluehelm.AuditEntry) error {
	next := *a
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM alerts`).Scan(&next.ID); err != nil {
			return dbErr(err)
		}
		next.Version = 1
		vals, err := alertRow(&next)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, version, state, raised_at, classification, component, releasability, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{next.ID}, vals...)...); err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, "alert/"+strconv.FormatInt(next.ID, 10))
	})
	if err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	*a = next
	return nil
}

// UpdateAlert stores a as version a.Version+1 if the stored version is still
// a.Version (ECONFLICT otherwise), and increments a.Version.
func (db *DB) UpdateAlert(ctx context.Context, a *bluehelm.Alert, e bluehelm.AuditEntry) error {
	next := *a
	next.Version++
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		vals, err := alertRow(&next)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET version = ?, state = ?, raised_at = ?, classification = ?, component = ?, releasability = ?, doc = ?
			WHERE id = ? AND version = ?`, append(vals, a.ID, a.Version)...)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return staleOrMissing(ctx, tx, "alerts", "alert", a.ID, a.Version)
		}
		return appendAudit(ctx, tx, e, "alert/"+strconv.FormatInt(a.ID, 10))
	})
	if err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	*a = next
	return nil
}

func decodeAlert(id int64, version int, doc string) (*bluehelm.Alert, error) {
	a := new(bluehelm.Alert)
	if err := json.Unmarshal([]byte(doc), a); err != nil {
		return nil, fmt.Errorf("sqlite: alert %d: corrupt document: %w", id, err)
	}
	a.ID, a.Version = id, version
	return a, nil
}

// Alert returns one alert regardless of access.
func (db *DB) Alert(ctx context.Context, id int64) (*bluehelm.Alert, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var (
		version int
		doc     string
	)
	err = r.QueryRowContext(ctx, `SELECT version, doc FROM alerts WHERE id = ?`, id).Scan(&version, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("alert", id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return decodeAlert(id, version, doc)
}

// Alerts returns alerts f.Viewer may see, in the given states, raised at or
// after f.Since, newest first; at most f.Limit (default 100, max 1000).
func (db *DB) Alerts(ctx context.Context, f bluehelm.AlertFilter) ([]*bluehelm.Alert, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var q query
	if len(f.States) > 0 {
		args := make([]any, len(f.States))
		for i, s := range f.States {
			args[i] = string(s)
		}
		q.add("a.state IN ("+placeholders(len(args))+")", args...)
	}
	if !f.Since.IsZero() {
		since := f.Since.UnixMicro()
		if f.Since.After(time.UnixMicro(since)) {
			since++ // raised_at is whole µs: round the bound up, as ceilMillis does
		}
		q.add("a.raised_at >= ?", since)
	}
	if cond, args := accessSQL("a", f.Viewer); cond != "" {
		q.add(cond, args...)
	}
	rows, err := r.QueryContext(ctx, `SELECT a.id, a.version, a.doc FROM alerts a`+q.where()+` ORDER BY a.raised_at DESC, a.id DESC LIMIT ?`,
		append(q.args, limit)...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []*bluehelm.Alert
	for rows.Next() {
		var (
			id      int64
			version int
			doc     string
		)
		if err := rows.Scan(&id, &version, &doc); err != nil {
			return nil, dbErr(err)
		}
		a, err := decodeAlert(id, version, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, dbErr(rows.Err())
}
