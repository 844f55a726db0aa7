package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/bluehelm/bluehelm"
)

// Areas are few (tens to hundreds) and read whole by the geofence engine, so
// they are stored as documents without a spatial index.

func encodeDoc(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", bluehelm.Invalid("", "cannot encode: %v", err)
	}
	return string(b), nil
}

// CreateArea stores a as version 1, setting a.ID and a.Version.
func (db *DB) CreateArea(ctx context.Context, a *bluehelm.Area, e bluehelm.AuditEntry) error {
	next := *a
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		// Let AUTOINCREMENT pick the id, then store the document carrying it.
		if err := tx.QueryRowContext(ctx, `INSERT INTO areas (version, doc) VALUES (1, '') RETURNING id`).Scan(&next.ID); err != nil {
			return dbErr(err)
		}
		next.Version = 1
		doc, err := encodeDoc(&next)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE areas SET doc = ? WHERE id = ?`, doc, next.ID); err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, "area/"+strconv.FormatInt(next.ID, 10))
	})
	if err != nil {
		return fmt.Errorf("create area: %w", err)
	}
	*a = next
	return nil
}

// UpdateArea stores a as version a.Version+1 if the stored version is still
// a.Version (ECONFLICT otherwise), and increments a.Version.
func (db *DB) UpdateArea(ctx context.Context, a *bluehelm.Area, e bluehelm.AuditEntry) error {
	next := *a
	next.Version++
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		doc, err := encodeDoc(&next)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE areas SET version = ?, doc = ? WHERE id = ? AND version = ?`, next.Version, doc, a.ID, a.Version)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return staleOrMissing(ctx, tx, "areas", "area", a.ID, a.Version)
		}
		return appendAudit(ctx, tx, e, "area/"+strconv.FormatInt(a.ID, 10))
	})
	if err != nil {
		return fmt.Errorf("update area %d: %w", a.ID, err)
	}
	*a = next
	return nil
}

// DeleteArea deletes an area if it is still at version (ECONFLICT otherwise).
func (db *DB) DeleteArea(ctx context.Context, id int64, version int, e bluehelm.AuditEntry) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM areas WHERE id = ? AND version = ?`, id, version)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return staleOrMissing(ctx, tx, "areas", "area", id, version)
		}
		return appendAudit(ctx, tx, e, "area/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("delete area %d: %w", id, err)
	}
	return nil
}

func decodeArea(id int64, version int, doc string) (*bluehelm.Area, error) {
	a := new(bluehelm.Area)
	if err := json.Unmarshal([]byte(doc), a); err != nil {
		return nil, fmt.Errorf("sqlite: area %d: corrupt document: %w", id, err)
	}
	a.ID, a.Version = id, version
	return a, nil
}

// Area returns one area.
func (db *DB) Area(ctx context.Context, id int64) (*bluehelm.Area, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var (
		version int
		doc     string
	)
	err = r.QueryRowContext(ctx, `SELECT version, doc FROM areas WHERE id = ?`, id).Scan(&version, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("area", id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return decodeArea(id, version, doc)
}

// Areas returns every area ordered by id.
func (db *DB) Areas(ctx context.Context) ([]*bluehelm.Area, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.QueryContext(ctx, `SELECT id, version, doc FROM areas ORDER BY id`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []*bluehelm.Area
	for rows.Next() {
		var (
			id      int64
			version int
			doc     string
		)
		if err := rows.Scan(&id, &version, &doc); err != nil {
			return nil, dbErr(err)
		}
		a, err := decodeArea(id, version, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, dbErr(rows.Err())
}
