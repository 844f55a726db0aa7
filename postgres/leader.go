package postgres

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Leadership elects one node of a cluster sharing this database to run the
// jobs that must run once per mission, not once per node: clock-driven checks
// that raise alerts (a silent patrol, a CASEVAC deadline, an unacknowledged
// camp alarm's escalation), the webhook outbox, forecasts. Every node runs
// the same binary; whichever holds a session-level advisory lock leads.
//
// The lock lives as long as its connection: a leader killed with SIGKILL loses
// its connection, the server releases the lock, and another node takes it at
// its next try. A leader that cannot confirm its connection within one
// interval steps down at once, so two leaders overlap only for the time the
// server takes to notice the dead connection (TCP keepalive), not for as long
// as a partition lasts.
type Leadership struct {
	pool     *pgxpool.Pool
	key      int64
	every    time.Duration
	log      *slog.Logger
	leading  atomic.Bool
	changed  func(leading bool)
	stopped  chan struct{}
	election string
}

// Lead starts contending for the named election (one per job family; "jobs"
// for the node's singleton jobs). It tries at once and then every interval
// (0 means 5 s) until ctx ends. changed, if set, is called on every change of
// leadership, from the election's goroutine.
func (db *DB) Lead(ctx context.Context, election string, every time.Duration, log *slog.Logger, changed func(leading bool)) *Leadership {
	if every <= 0 {
		every = 5 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	h := fnv.New64a()
	h.Write([]byte("bluehelm-leader:" + db.schema + ":" + election))
	l := &Leadership{pool: db.pool, key: int64(h.Sum64()), every: every, log: log, changed: changed, stopped: make(chan struct{}), election: election}
	go l.run(ctx)
	return l
}

// Leading reports whether this node leads now.
func (l *Leadership) Leading() bool { return l.leading.Load() }

// Done is closed when the election has stopped (its context ended) and the
// lock is released.
func (l *Leadership) Done() <-chan struct{} { return l.stopped }

func (l *Leadership) set(v bool) {
	if l.leading.Swap(v) != v {
		if v {
			l.log.Info("leading the cluster's singleton jobs", "election", l.election)
		} else {
			l.log.Warn("no longer leading the cluster's singleton jobs", "election", l.election)
		}
		if l.changed != nil {
			l.changed(v)
		}
	}
}

func (l *Leadership) run(ctx context.Context) {
	defer close(l.stopped)
	defer l.set(false)
	t := time.NewTicker(l.every)
	defer t.Stop()
	var conn *pgxpool.Conn
	release := func() {
		if conn != nil {
			// Destroy rather than return to the pool: the session still holds
			// the lock, and a pooled connection would keep it.
			_ = conn.Conn().Close(context.Background())
			conn.Release()
			conn = nil
		}
	}
	defer release()
	for {
		l.try(ctx, &conn, release)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// try takes or confirms the lock on the election's own connection.
func (l *Leadership) try(ctx context.Context, conn **pgxpool.Conn, release func()) {
	cctx, cancel := context.WithTimeout(ctx, l.every)
	defer cancel()
	if *conn == nil {
		c, err := l.pool.Acquire(cctx)
		if err != nil {
			l.set(false)
			return
		}
		*conn = c
	}
	if l.leading.Load() {
		// Confirm the session (and so the lock) is still alive.
		if _, err := (*conn).Exec(cctx, `SELECT 1`); err != nil {
			l.log.Warn("leader lost its database session", "election", l.election, "err", err)
			release()
			l.set(false)
		}
		return
	}
	var got bool
	if err := (*conn).QueryRow(cctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got); err != nil {
		release()
		l.set(false)
		return
	}
	l.set(got)
}
