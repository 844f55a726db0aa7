package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// appendAudit chains e to the last stored entry and inserts it inside tx, so the
// entry commits or rolls back with the change it describes.
//
// Writers are concurrent here (other connections, other nodes), so the chain's
// tail is taken under a transaction-scoped advisory lock: the next writer waits
// until this transaction ends, and then, at read committed, reads the entry this
// one added. Call it as the last statement of a write, so the lock is held for
// the commit only.
//
// An entry without a time gets the store's clock; one without an object gets
// object (callers cannot know the id of a record they are creating).
func appendAudit(ctx context.Context, tx pgx.Tx, e bluehelm.AuditEntry, object string) error {
	if e.Object == "" {
		e.Object = object
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockAudit); err != nil {
		return fmt.Errorf("postgres: audit lock: %w", err)
	}
	var prev bluehelm.AuditEntry
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&prev.Seq, &prev.Hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		e.Chain(nil)
	case err != nil:
		return fmt.Errorf("postgres: audit: %w", err)
	default:
		e.Chain(&prev)
	}
	var detail any
	if len(e.Detail) > 0 {
		detail = string(e.Detail)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit (seq, at, actor, action, object, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.Seq, e.At, e.Actor, e.Action, e.Object, detail, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("postgres: audit: %w", err)
	}
	return nil
}

// AppendAudit stores an entry that is not tied to another write.
func (db *DB) AppendAudit(ctx context.Context, e bluehelm.AuditEntry) error {
	return db.writeTx(ctx, func(tx pgx.Tx) error {
		return appendAudit(ctx, tx, e, "")
	})
}

const auditCols = `seq, at, actor, action, object, detail, prev_hash, hash`

func scanAudit(rows pgx.Rows) (bluehelm.AuditEntry, error) {
	var (
		e      bluehelm.AuditEntry
		detail *string
	)
	if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Object, &detail, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.At = e.At.UTC()
	if detail != nil && *detail != "" {
		e.Detail = []byte(*detail)
	}
	return e, nil
}

// VerifyAudit streams the whole log in seq order through a bluehelm.AuditVerifier,
// in one repeatable-read transaction so the walk sees one snapshot while writes
// go on. It returns how many entries verified and the first break.
func (db *DB) VerifyAudit(ctx context.Context) (int64, error) {
	if db.closed.Load() {
		return 0, errClosed
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, dbErr(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	rows, err := tx.Query(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq`)
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
	return v.Count(), dbErr(rows.Err())
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
	rows, err := r.Query(ctx, `SELECT `+auditCols+` FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
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
