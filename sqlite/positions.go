package sqlite

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Positions are written by one goroutine, the group committer: AppendPositions
// queues its batch and waits; the committer takes everything queued (up to
// options.maxGroup positions), writes it in one transaction, commits (one fsync)
// and then releases every waiting caller with the result. Under load the fsync
// is shared by many batches; with one caller it costs what a plain commit does.
//
// Why a log and segments rather than one row per report in a table keyed by
// (track, time) with a (cell, time) index: with thousands of tracks reporting
// at once, every report of a commit lands on a different leaf page of both
// B-trees, so a commit rewrites (and fsyncs into the WAL) about two 4 KiB pages
// per report. Measured on this machine kind with 10,000 tracks and 10,000-report
// commits that layout stored 76-100k reports/s; an append-only table 440-570k/s.
// So a commit appends reports to position_log (cheap whatever the tracks), and
// compaction later moves the log, grouped by track, into position_segments: one
// row per run of a track's reports, so the indexes grow per run, not per report.
// Compaction runs on the committer when the log holds options.compactRows
// reports, after a second without batches, and at Close; it works from an
// in-memory mirror of what this process appended, so it reads nothing back.
// Readers see the log and the segments in one snapshot, so a report is always
// visible exactly once. The pipeline's workload (10,000 tracks, batches of
// 1,000, 8 callers) measured ~300k reports/s with synchronous=FULL.
//
// A track's metadata is written when it changes. A newer UpdatedAt alone (the
// pipeline sends every track with every report) is kept in memory and written
// at the next compaction, idle or Close: a crash can lose that refresh, never
// a report or a metadata change.
//
// When copies of a (uid, time) arrive, the first stored wins everywhere: in
// Positions, in LatestStates and in compaction.

// appendReq is one AppendPositions call waiting for the committer.
type appendReq struct {
	ctx    context.Context
	tracks []bluehelm.Track
	ps     []bluehelm.Position
	done   chan error // buffered: the committer never blocks on a caller
}

// AppendPositions stores a batch of reports and returns once it is committed
// (durable). Tracks given are upserted (metadata only, unless older than what
// is stored); a position for a uid never seen creates a bare track. Replaying a
// batch is harmless: a (uid, time) already stored is skipped. Times are stored
// at millisecond precision.
//
// ctx is honoured while the batch waits to be queued. Once queued the batch is
// committed with the others unless ctx is already done when its group starts,
// so a nil error always means durable and ctx.Err() means not written.
func (db *DB) AppendPositions(ctx context.Context, tracks []bluehelm.Track, ps []bluehelm.Position) error {
	if len(tracks) == 0 && len(ps) == 0 {
		return nil
	}
	// Cheap checks that protect the shared transaction and the cell arithmetic;
	// full validation (Position.Validate) is the caller's.
	for i, t := range tracks {
		if t.UID == "" {
			return bluehelm.Invalid("tracks["+strconv.Itoa(i)+"].uid", "is required")
		}
	}
	for i, p := range ps {
		if err := checkPosition(p); err != nil {
			return bluehelm.PrefixField("positions["+strconv.Itoa(i)+"]", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &appendReq{ctx: ctx, tracks: tracks, ps: ps, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return errClosed
	}
	select {
	case db.queue <- req:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	return <-req.done
}

func checkPosition(p bluehelm.Position) error {
	if p.UID == "" {
		return bluehelm.Invalid("uid", "is required")
	}
	if p.Time.IsZero() {
		return bluehelm.Invalid("time", "is required")
	}
	if err := p.Point().Validate(); err != nil {
		return err
	}
	for _, v := range []float64{p.HAE, p.CE, p.LE, p.Course, p.Speed} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return bluehelm.Invalid("", "numbers must be finite")
		}
	}
	return nil
}

// groupCommitter runs until Close closes the queue, then drains it, compacts
// and exits.
func (db *DB) groupCommitter() {
	defer close(db.done)
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	for {
		select {
		case req, ok := <-db.queue:
			if !ok {
				if !db.opt.keepLog {
					db.compactLog()
				}
				return
			}
			group, n := []*appendReq{req}, len(req.ps)
		gather:
			for n < db.opt.maxGroup {
				select {
				case r, ok := <-db.queue:
					if !ok {
						break gather
					}
					group = append(group, r)
					n += len(r.ps)
				default:
					break gather
				}
			}
			db.commitGroup(group)
			if db.pw.logRows() >= int64(db.opt.compactRows) {
				db.compactLog()
			}
			if db.pw.logRows() > 0 || db.pw.pending {
				idle.Reset(db.opt.compactIdle)
			}
		case <-idle.C:
			db.compactLog()
		}
	}
}

// compactLog compacts the whole log, one bounded transaction at a time, and
// writes pending UpdatedAt values. A failure is harmless: the reports stay in
// the log, readable, and the next run retries; it is kept in compactErr for
// tests.
func (db *DB) compactLog() {
	for db.pw.logRows() > 0 || db.pw.pending {
		before := db.pw.logRows()
		_, err := db.compact(db.opt.compactMax)
		db.pw.compactErr = err
		if err != nil || before == 0 || db.pw.logRows() == before {
			return // done, failed, or no progress
		}
	}
}

// commitGroup writes a group and answers its callers. If the group fails as a
// whole, each batch is retried alone so one bad batch fails only its caller.
func (db *DB) commitGroup(group []*appendReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // not written: the caller gave up before we started
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := db.writePositions(live)
	if err == nil || len(live) == 1 {
		for _, r := range live {
			r.done <- err
		}
		return
	}
	for _, r := range live {
		r.done <- db.writePositions([]*appendReq{r})
	}
}
