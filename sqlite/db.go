// Package sqlite implements bluehelm.Store on an embedded SQLite database through
// modernc.org/sqlite (pure Go, no cgo).
//
// Layout of the work:
//
//   - One writer connection. SQLite in WAL mode allows one writer at a time, so
//     every write method and the position group-committer share a *sql.DB limited
//     to one connection; database/sql queues callers for it and honours their
//     contexts while they wait. Transactions begin IMMEDIATE so a writer never
//     upgrades a read lock halfway and hits SQLITE_BUSY.
//   - A pool of read-only connections for queries, which in WAL mode never wait
//     for the writer.
//   - synchronous=FULL: the WAL is fsynced at every commit, so a write that
//     returned nil survives kill -9 and power loss (given a disk that honours
//     fsync). Position batches are group-committed (see positions.go) so that
//     cost is paid once per group.
//
// Storage decisions (measured on the project's 2-core machine kind; see the
// benchmarks in bench_test.go):
//
//   - Incidents: the incidents row holds only the columns searches filter and
//     sort on; each version's JSON document is in incident_revisions (the row
//     points at its current one). A 3-D R*Tree (lon, lat, time in 90-day units)
//     and an FTS5 index serve box and text searches; see find.go for the plans.
//   - Position history: an append-only log compacted into per-track segments
//     (see positions.go); no R*Tree entry and no per-report index entry.
//   - Times: incident occurred_start and position times are stored as whole
//     milliseconds (the store truncates them); audit times as microseconds.
//   - Writes that create records fill the audit entry's Object ("incident/42")
//     when the caller left it empty, and its At when zero.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Interface guard.
var _ bluehelm.Store = (*DB)(nil)

// DB is a bluehelm.Store backed by one SQLite file.
type DB struct {
	path string
	w    *sql.DB // exactly one connection: the writer
	r    *sql.DB // read-only pool
	opt  options

	// mu guards closed against AppendPositions sending on queue after Close
	// has closed it.
	mu     sync.RWMutex
	closed bool
	queue  chan *appendReq
	done   chan struct{} // closed when the group-commit goroutine has exited

	pw *positionWriter // owned by the group-commit goroutine
}

// options are the knobs tests and benchmarks turn; production uses defaults().
type options struct {
	// synchronous is the PRAGMA synchronous value of the writer. FULL is the
	// only durable setting for WAL against power loss; NORMAL exists so the
	// benchmarks can measure what FULL costs.
	synchronous string
	readers     int // size of the read pool
	// maxGroup caps how many positions one group commit gathers, bounding the
	// time one transaction holds the writer (and the latency of everyone queued
	// behind it).
	maxGroup int
	// queueLen is how many AppendPositions calls may wait for the committer
	// before callers block (back-pressure onto the ingest pipeline).
	queueLen int
	// cacheKiB is each connection's page cache.
	cacheKiB int
	// mmapBytes is how much of the file readers map instead of copying pages
	// through read(2) into their caches.
	mmapBytes int64
	// rtreeProbeMax: see findQuery.search. Tests set 0 to force the
	// time-index plan.
	rtreeProbeMax int
	// textPlan forces how text is searched: "match" (the match drives) or
	// "filter" (a per-row check); "" chooses by counting matches.
	textPlan string
	// Position log compaction (see positions.go): when the log holds
	// compactRows reports, after compactIdle without batches, and at Close;
	// at most compactMax reports per transaction. More reports per compaction
	// mean longer runs per track (cheaper indexes) but a longer log for readers
	// to scan and a longer pause for writers.
	compactRows int
	compactIdle time.Duration
	compactMax  int
	// keepLog skips the compaction at Close, so tests can reopen a database
	// whose log holds reports (as after a crash).
	keepLog bool
}

func defaults() options {
	return options{
		synchronous: "FULL",
		readers:     max(4, runtime.GOMAXPROCS(0)),
		maxGroup:    20000,
		queueLen:    256,
		cacheKiB:    64 << 10,
		mmapBytes:   1 << 40,

		rtreeProbeMax: 4000,
		compactRows:   200_000,
		compactIdle:   time.Second,
		compactMax:    400_000,
	}
}

// Open opens (creating if needed) the database at path, applies pending schema
// migrations and starts the position group-committer. It refuses a database
// whose schema is newer than this binary knows (ErrSchemaTooNew). Open reads no
// table in proportion to its size, so it is fast on a large database.
func Open(path string) (*DB, error) {
	return open(path, defaults())
}

func open(path string, opt options) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// A file: URI keeps unusual characters in the path from being read as DSN
	// syntax. Pragmas go in the DSN because they are per connection: database/sql
	// may replace a connection at any time and the new one must be configured too.
	base := "file:" + (&url.URL{Path: abs}).EscapedPath()
	common := "_busy_timeout=10000&_pragma=" + url.QueryEscape("cache_size(-"+strconv.Itoa(opt.cacheKiB)+")") + "&_pragma=" + url.QueryEscape("mmap_size("+strconv.FormatInt(opt.mmapBytes, 10)+")")
	wdsn := base + "?" + common +
		"&_journal_mode=WAL&_synchronous=" + opt.synchronous +
		"&_foreign_keys=1&_txlock=immediate" +
		"&_pragma=" + url.QueryEscape("journal_size_limit(67108864)")
	rdsn := base + "?" + common + "&_foreign_keys=1&_query_only=1"

	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	ctx := context.Background()
	// The writer must exist (and have switched the file to WAL) before any reader
	// connects, and migrations must run before anyone uses the schema.
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opt.readers)
	r.SetMaxIdleConns(opt.readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	pw, err := newPositionWriter(ctx, w)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db := &DB{
		path:  path,
		w:     w,
		r:     r,
		opt:   opt,
		queue: make(chan *appendReq, opt.queueLen),
		done:  make(chan struct{}),
		pw:    pw,
	}
	go db.groupCommitter()
	return db, nil
}

// Ping reports whether the store can serve, for readiness checks: nil when a
// read connection answers, EUNAVAILABLE once closed.
func (db *DB) Ping(ctx context.Context) error {
	r, err := db.reader()
	if err != nil {
		return err
	}
	var one int
	if err := r.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return dbErr(err)
	}
	return nil
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// Close stops accepting position batches, waits until every queued batch is
// committed and closes the connections. It is safe to call more than once.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.queue)
	db.mu.Unlock()
	<-db.done
	db.pw.close()
	// No PRAGMA optimize here: the queries that matter fix their plans (CROSS
	// JOIN, INDEXED BY), and statistics appearing on some databases and not
	// others would only make the remaining plans less predictable.
	return errors.Join(db.r.Close(), db.w.Close())
}

func (db *DB) isClosed() bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.closed
}

var errClosed = bluehelm.Errorf(bluehelm.EUNAVAILABLE, "store is closed")

// writeTx runs fn in an IMMEDIATE transaction on the writer connection and
// commits. fn's error rolls back; the error is returned as is (already wrapped).
func (db *DB) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.isClosed() {
		return errClosed
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr(err)
	}
	return nil
}

// reader returns the read pool, or an error once the store is closed.
func (db *DB) reader() (*sql.DB, error) {
	if db.isClosed() {
		return nil, errClosed
	}
	return db.r, nil
}

// dbErr wraps a driver error, giving the domain code for the cases callers act
// on: a unique violation is a conflict (duplicate username, external id …), a
// foreign key violation is input naming a record that does not exist.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var be *bluehelm.Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %w: %w", bluehelm.Errorf(bluehelm.ENOTFOUND, "not found"), err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %w: %w", bluehelm.Errorf(bluehelm.ECONFLICT, "duplicate: %s", uniqueWhat(se)), err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sqlite: %w: %w", bluehelm.Errorf(bluehelm.EINVALID, "refers to a record that does not exist"), err)
		}
	}
	return fmt.Errorf("sqlite: %w", err)
}

// uniqueWhat extracts "users.username" from "UNIQUE constraint failed: users.username".
func uniqueWhat(se *sqlite.Error) string {
	msg := se.Error()
	if i := strings.LastIndex(msg, "failed: "); i >= 0 {
		msg = msg[i+len("failed: "):]
		if j := strings.IndexByte(msg, ' '); j >= 0 {
			msg = msg[:j]
		}
		return msg
	}
	return "unique constraint"
}

func notFound(what string, id any) error {
	return bluehelm.Errorf(bluehelm.ENOTFOUND, "%s %v not found", what, id)
}

// Time columns. Query columns that are compared or sorted hold integers: unix
// milliseconds for incident and position times (the brief's unit, and what the
// cursor carries), unix microseconds elsewhere (the audit chain hashes times at
// microsecond precision). A zero time.Time is stored as NULL.

func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromMicrosPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

// releasability encodes a list of components as ",a,b," so that SQL can test
// membership with instr(releasability, ','||?||',') — the same test as
// slices.Contains in Principal.CanSee. An empty list is "" (not ",,", which
// would match a principal with an empty component).
func releasability(cs []bluehelm.Component) string {
	if len(cs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte(',')
	for _, c := range cs {
		b.WriteString(string(c))
		b.WriteByte(',')
	}
	return b.String()
}

// accessSQL returns the SQL form of p.CanSee over the marking columns of alias
// t, and its arguments. It must stay equivalent to Principal.CanSee: the
// storetest suite checks every marking against it.
func accessSQL(t string, p bluehelm.Principal) (string, []any) {
	if p.System {
		return "", nil
	}
	c := string(p.Component)
	return "(" + t + ".classification <= ? AND (" + t + ".classification = 0 OR " + t + ".component = ? OR instr(" + t + ".releasability, ',' || ? || ',') > 0))",
		[]any{int(p.Clearance), c, c}
}

// nowUTC is the store's clock for audit entries that arrive without a time.
func nowUTC() time.Time { return time.Now().UTC() }

// queryAll runs a query and scans every row with scan: the one loop behind every
// "list these records" read.
func queryAll[T any](ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, v)
	}
	return out, dbErr(rows.Err())
}
