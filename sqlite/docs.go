package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Units, patrols, tasks and medical facilities are stored alike: a row of id,
// version, the columns queries need and the JSON document. docTable holds what
// differs between them, so that creating, updating and reading — optimistic
// versions, audit entry in the same transaction, ENOTFOUND — are written once.
type docTable[T any] struct {
	table string // SQL table
	kind  string // in messages and audit objects: "patrol" → "patrol/42"
	// cols are the query columns, in the order row returns their values.
	cols []string
	// ident points at the record's ID and Version.
	ident func(*T) (*int64, *int)
	// norm fixes the stored form of a record before it is written (times
	// truncated to the precision of their columns); nil for none.
	norm func(*T)
	row  func(*T) []any
	// check runs in the write transaction before the row is written (a unit's
	// code not taken by another unit); nil for none.
	check func(ctx context.Context, tx *sql.Tx, v *T) error
	// after runs in the write transaction once the row is written (a patrol's
	// units); nil for none.
	after func(ctx context.Context, tx *sql.Tx, id int64, v *T) error
	// autoID: the table's records are deleted and its ids come from
	// AUTOINCREMENT, so that a deleted record's id never names a new one.
	// Otherwise records are never deleted and max(id)+1 is fresh.
	autoID bool
}

func (d *docTable[T]) object(id int64) string { return d.kind + "/" + strconv.FormatInt(id, 10) }

// values returns the query column values and the document of v.
func (d *docTable[T]) values(v *T) ([]any, error) {
	doc, err := encodeDoc(v)
	if err != nil {
		return nil, err
	}
	return append(d.row(v), doc), nil
}

// create stores v as version 1 and sets its ID and Version. The id is chosen
// first (see autoID), inside the IMMEDIATE transaction, so that the document
// carries it.
func (d *docTable[T]) create(ctx context.Context, db *DB, v *T, e bluehelm.AuditEntry) error {
	next := *v
	if d.norm != nil {
		d.norm(&next)
	}
	id, version := d.ident(&next)
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if d.autoID {
			// Reserve the id AUTOINCREMENT gives; the row is written below.
			if err := tx.QueryRowContext(ctx, `INSERT INTO `+d.table+` (version, doc) VALUES (0, '') RETURNING id`).Scan(id); err != nil {
				return dbErr(err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+d.table+` WHERE id = ?`, *id); err != nil {
				return dbErr(err)
			}
		} else if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM `+d.table).Scan(id); err != nil {
			return dbErr(err)
		}
		*version = 1
		if d.check != nil {
			if err := d.check(ctx, tx, &next); err != nil {
				return err
			}
		}
		vals, err := d.values(&next)
		if err != nil {
			return err
		}
		cols := append([]string{"id", "version"}, d.cols...)
		cols = append(cols, "doc")
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+d.table+` (`+strings.Join(cols, ", ")+`) VALUES (`+placeholders(len(cols))+`)`,
			append([]any{*id, *version}, vals...)...); err != nil {
			return dbErr(err)
		}
		if d.after != nil {
			if err := d.after(ctx, tx, *id, &next); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, e, d.object(*id))
	})
	if err != nil {
		return fmt.Errorf("create %s: %w", d.kind, err)
	}
	*v = next
	return nil
}

// update stores v as version v.Version+1 if the stored version is still
// v.Version (ECONFLICT otherwise, ENOTFOUND for an unknown id), and increments
// v.Version.
func (d *docTable[T]) update(ctx context.Context, db *DB, v *T, e bluehelm.AuditEntry) error {
	next := *v
	if d.norm != nil {
		d.norm(&next)
	}
	idp, version := d.ident(&next)
	id, was := *idp, *version
	*version = was + 1
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if d.check != nil {
			if err := d.check(ctx, tx, &next); err != nil {
				return err
			}
		}
		vals, err := d.values(&next)
		if err != nil {
			return err
		}
		set := []string{"version = ?"}
		for _, c := range append(d.cols[:len(d.cols):len(d.cols)], "doc") {
			set = append(set, c+" = ?")
		}
		res, err := tx.ExecContext(ctx, `UPDATE `+d.table+` SET `+strings.Join(set, ", ")+` WHERE id = ? AND version = ?`,
			append(append([]any{*version}, vals...), id, was)...)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return staleOrMissing(ctx, tx, d.table, d.kind, id, was)
		}
		if d.after != nil {
			if err := d.after(ctx, tx, id, &next); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, e, d.object(id))
	})
	if err != nil {
		return fmt.Errorf("update %s %d: %w", d.kind, id, err)
	}
	*v = next
	return nil
}

// delete deletes record id if it is still at version (ECONFLICT otherwise,
// ENOTFOUND for an unknown id).
func (d *docTable[T]) delete(ctx context.Context, db *DB, id int64, version int, e bluehelm.AuditEntry) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+d.table+` WHERE id = ? AND version = ?`, id, version)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return staleOrMissing(ctx, tx, d.table, d.kind, id, version)
		}
		return appendAudit(ctx, tx, e, d.object(id))
	})
	if err != nil {
		return fmt.Errorf("delete %s %d: %w", d.kind, id, err)
	}
	return nil
}

// decode reads a document; the row's id and version are authoritative.
func (d *docTable[T]) decode(id int64, version int, doc string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return nil, fmt.Errorf("sqlite: %s %d: corrupt document: %w", d.kind, id, err)
	}
	idp, vp := d.ident(v)
	*idp, *vp = id, version
	return v, nil
}

func (d *docTable[T]) scan(s scanner) (*T, error) {
	var (
		id      int64
		version int
		doc     string
	)
	if err := s.Scan(&id, &version, &doc); err != nil {
		return nil, err
	}
	return d.decode(id, version, doc)
}

// get returns the record whose column col is arg (its id, a unit's code).
func (d *docTable[T]) get(ctx context.Context, db *DB, col string, arg any) (*T, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	v, err := d.scan(r.QueryRowContext(ctx, `SELECT id, version, doc FROM `+d.table+` WHERE `+col+` = ?`, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(d.kind, arg)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return v, nil
}

// list runs a query selecting id, version and doc (in that order).
func (d *docTable[T]) list(ctx context.Context, db *DB, q string, args ...any) ([]*T, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, q, args, d.scan)
}

// truncMicros gives t the precision of a µs column, so that the document and
// the column hold the same instant and query bounds are exact.
func truncMicros(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
