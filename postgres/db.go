// Package postgres implements bluehelm.Store on PostgreSQL 15+ with PostGIS 3
// through jackc/pgx, for a mission HQ where several bluehelm nodes share one
// database. It passes the same storetest conformance suite as the SQLite store.
//
// Layout of the work:
//
//   - A pgxpool pool; every write is one transaction. Unlike SQLite there is no
//     single writer: concurrent writers (several nodes included) are ordered by
//     the database, and by row locks or an advisory lock where an invariant
//     spans rows (the audit chain, see appendAudit).
//   - Records are stored as a row of the columns queries filter and sort on,
//     plus the record's whole JSON document (jsonb), so a field added to a
//     domain type persists without a migration.
//   - Geometry is PostGIS geometry(…, 4326) with GiST indexes; positions are
//     written with COPY.
//   - Durability is the server's: a commit that returned is on disk (given the
//     server runs with fsync and synchronous_commit on, its defaults).
//   - Schema: schema/NNN_*.sql, applied at Open in order, all files of one
//     number forming one migration in one transaction (see migrate.go).
//   - A store may live in its own PostgreSQL schema (Options.Schema): the tests
//     give each store a fresh schema in one database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Interface guard.
var _ bluehelm.Store = (*DB)(nil)

// Options tune Open; the zero value is production's.
type Options struct {
	// Schema is the PostgreSQL schema the store's tables live in, created when
	// missing; "" means the URL's default (public). PostGIS is looked up in
	// public either way.
	Schema string
	// MaxConns caps the pool; 0 means pgxpool's default (max(4, NumCPU)).
	MaxConns int32
}

// DB is a bluehelm.Store backed by PostgreSQL.
type DB struct {
	pool   *pgxpool.Pool
	schema string
	closed atomic.Bool

	pw        *positionWriter // group commit of AppendPositions (positions.go)
	community communityQueue  // group commit of community alerts (community.go)
}

// Open connects to the database at url (postgres://…), creates the PostGIS
// extension if it is missing and the server allows it, and migrates the schema.
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", bluehelm.Invalid("db", "not a PostgreSQL URL: %v", err))
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	if opt.Schema != "" {
		if !validIdent(opt.Schema) {
			return nil, bluehelm.Invalid("schema", "must be lower-case letters, digits and underscores")
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema + ",public"
	}
	// Times are written and read as UTC instants whatever the server's zone.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := &DB{pool: pool, schema: opt.Schema, pw: newPositionWriter()}
	if err := db.setup(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// setup creates the schema and extension and applies migrations, under an
// advisory lock so that nodes starting together do not race.
func (db *DB) setup(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockSetup); err != nil {
		return fmt.Errorf("postgres: setup lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockSetup) //nolint:errcheck // released with the session anyway
	var have bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')`).Scan(&have); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !have {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public`); err != nil {
			return fmt.Errorf("postgres: PostGIS is not installed in this database and could not be created (install postgresql-15-postgis-3 and run CREATE EXTENSION postgis as a superuser): %w", err)
		}
	}
	if db.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+db.schema); err != nil {
			return fmt.Errorf("postgres: create schema: %w", err)
		}
	}
	return migrate(ctx, conn.Conn())
}

// Advisory lock keys (one namespace for the whole database, across schemas:
// the tests' schemas share a database, and these locks are held briefly).
const (
	lockSetup int64 = 0x626c756568656c01 // "bluehel" + 1
	lockAudit int64 = 0x626c756568656c02
)

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// Close closes the pool. It waits for connections in use to be released.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.pool.Close()
	return nil
}

// Pool is the connection pool, for the tools (migrate) that need it.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

var errClosed = bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the store is closed")

// writeTx runs fn in a read-committed transaction and commits it. fn's error
// rolls back and is returned as is; others are mapped by dbErr.
func (db *DB) writeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if db.closed.Load() {
		return errClosed
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return dbErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return dbErr(err)
	}
	return dbErr(tx.Commit(ctx))
}

// q is what reads need: the pool, or a transaction.
type q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// reader returns the pool for a query, or errClosed.
func (db *DB) reader() (q, error) {
	if db.closed.Load() {
		return nil, errClosed
	}
	return db.pool, nil
}

// dbErr maps database errors to domain codes: no rows → ENOTFOUND, unique
// violations → ECONFLICT, foreign keys → EINVALID. Domain errors pass through.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var be *bluehelm.Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %w: %w", bluehelm.Errorf(bluehelm.ENOTFOUND, "not found"), err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %w: %w", bluehelm.Errorf(bluehelm.ECONFLICT, "duplicate: %s", pe.ConstraintName), err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %w: %w", bluehelm.Errorf(bluehelm.EINVALID, "refers to a record that does not exist"), err)
		case "22P05", "22021": // untranslatable_character, character_not_in_repertoire
			// jsonb refuses \u0000 and text refuses NUL and invalid UTF-8,
			// which SQLite stores: the input is at fault, not the server.
			return fmt.Errorf("postgres: %w: %w", bluehelm.Errorf(bluehelm.EINVALID, "text holds a NUL character or invalid UTF-8"), err)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("postgres: %w: %w", bluehelm.Errorf(bluehelm.ECONFLICT, "concurrent change, try again"), err)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if strings.Contains(err.Error(), "closed pool") {
		return errClosed
	}
	return fmt.Errorf("postgres: %w", err)
}

// notFound is the ENOTFOUND error for a kind and key: "incident 42 not found".
func notFound(kind string, key any) error {
	return bluehelm.Errorf(bluehelm.ENOTFOUND, "%s %v not found", kind, key)
}

// utc normalises a time read from or written to a timestamptz column: the
// store keeps microseconds, as PostgreSQL does.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ceilMicro returns the first whole microsecond not before t, in UTC. Stored
// times are whole microseconds and pgx truncates a finer time, so a bound
// "stored >= t" (or "< t") must be written with ceilMicro(t) to mean what it
// says for a t between two microseconds.
func ceilMicro(t time.Time) time.Time {
	c := t.Truncate(time.Microsecond)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c.UTC()
}

// nullTime is nil for the zero time, so that an unset time is NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return utc(t)
}

// clampLimit applies a list method's default and cap; a negative limit is an
// input error rather than something to guess at.
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

// Ping checks that the database answers, for the readiness probe.
func (db *DB) Ping(ctx context.Context) error {
	if db.closed.Load() {
		return errClosed
	}
	return dbErr(db.pool.Ping(ctx))
}
