package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bluehelm/bluehelm"
)

// appendAudit chains e to the last stored entry and inserts it inside tx, so the
// entry commits or rolls back with the change it describes. Writes are serialised
// on the one writer connection, so no other entry can slip in between the read
// of the last entry and the insert.
//
// An entry without a time gets the store's clock; one without an object gets
// object (callers cannot know the id of a record they are creating).
func appendAudit(ctx context.Context, tx *sql.Tx, e bluehelm.AuditEntry, object string) error {
	if e.At.IsZero() {
		e.At = nowUTC()
	}
	if e.Object == "" {
		e.Object = object
	}
	var prev bluehelm.AuditEntry
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&prev.Seq, &prev.Hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e.Chain(nil)
	case err != nil:
		return fmt.Errorf("sqlite: audit: %w", err)
	default:
		e.Chain(&prev)
	}
	var detail any
	if len(e.Detail) > 0 {
		detail = string(e.Detail)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, at, actor, action, object, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Object, detail, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("sqlite: audit: %w", err)
	}
	return nil
}

// AppendAudit stores an entry that is not tied to another write.
func (db *DB) AppendAudit(ctx context.Context, e bluehelm.AuditEntry) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		return appendAudit(ctx, tx, e, "")
	})
}

const auditCols = `seq, at, actor, action, object, detail, prev_hash, hash`

func scanAudit(rows scanner) (bluehelm.AuditEntry, error) {
	var (
		e      bluehelm.AuditEntry
		at     int64
		detail sql.NullString
	)
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Object, &detail, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.At = fromMicros(sql.NullInt64{Int64: at, Valid: true})
	if detail.Valid && detail.String != "" {
		e.Detail = []byte(detail.String)
	}
	return e, nil
}

// VerifyAudit streams the whole log in seq order through a bluehelm.AuditVerifier.
// It returns how many entries verified and the first break. It reads inside one
// transaction so the walk sees one consistent snapshot while writes continue.
//
// A chain proves nothing about its tail: deleting the newest entries leaves a
// valid shorter chain. Detecting that needs the last hash kept elsewhere.
func (db *DB) VerifyAudit(ctx context.Context) (int64, error) {
	r, err := db.reader()
	if err != nil {
		return 0, err
	}
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, dbErr(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq`)
	if err != nil {
		return 0, dbErr(err)
	}
	defer rows.Close()
	var v bluehelm.AuditVerifier
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return v.Count(), dbErr(err)
		}
		if err := v.Next(e); err != nil {
			return v.Count(), err
		}
	}
	if err := rows.Err(); err != nil {
		return v.Count(), dbErr(err)
	}
	return v.Count(), nil
}

// AuditLog returns up to limit entries (default 100, at most 1000) after afterSeq.
func (db *DB) AuditLog(ctx context.Context, afterSeq int64, limit int) ([]bluehelm.AuditEntry, error) {
	limit, err := clampLimit(limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, e)
	}
	return out, dbErr(rows.Err())
}

// clampLimit applies a list method's default and cap; a negative limit is input
// error rather than something to guess at.
func clampLimit(limit, def, maxLimit int) (int, error) {
	switch {
	case limit < 0:
		return 0, bluehelm.Invalid("limit", "must not be negative")
	case limit == 0:
		return def, nil
	case limit > maxLimit:
		return maxLimit, nil
	}
	return limit, nil
}
