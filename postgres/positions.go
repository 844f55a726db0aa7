package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Positions are written by a group committer per store: AppendPositions queues
// its batch and waits; the committer takes everything queued (up to
// maxGroupPositions reports), writes it in one transaction and releases every
// waiting caller with the result. Under load many batches share one commit
// (one WAL flush) and one pass of statements; with one caller it costs what a
// plain transaction does.
//
// One transaction:
//
//  1. The group's tracks (the newest copy of each uid) and reports (the first
//     copy of each (uid, time), sorted by uid and time) are sent with COPY
//     into temporary tables of the connection (ON COMMIT DELETE ROWS);
//     geometry goes as EWKB bytes, which PostGIS's binary input takes as is.
//  2. Tracks are upserted from their staging table, unless the stored
//     metadata is newer (by UpdatedAt); uids of reports without a track get a
//     bare track. A track whose only change is a newer UpdatedAt is written
//     later (see positionWriter).
//  3. Reports go into positions with INSERT … SELECT … ON CONFLICT (uid, t)
//     DO NOTHING: a (uid, time) already stored, by this node or another, keeps
//     its first copy.
//
// Rows are written in uid order so that two nodes writing overlapping batches
// take their row locks in the same order and wait rather than deadlock; a
// deadlock or serialization failure all the same is retried.
//
// The committer goroutine runs only while batches are queued and exits when the
// queue is empty, so a closed store leaves nothing running but, for at most
// trackRefresh, the timer that writes deferred refreshes (which does nothing
// once the store is closed).

// maxGroupPositions bounds the reports of one transaction: enough to amortise
// a commit, small enough that one group does not hold the others' callers long.
const maxGroupPositions = 20000

// groupTimeout bounds the wait for one group's transaction (with its retries).
const groupTimeout = time.Minute

// trackRefresh is how long a newer UpdatedAt alone may wait in memory before
// it is written (see positionWriter.deferred).
const trackRefresh = 10 * time.Second

// appendReq is one AppendPositions call waiting for the committer.
type appendReq struct {
	ctx    context.Context
	tracks []bluehelm.Track
	ps     []bluehelm.Position
	done   chan error // buffered: the committer never blocks on a caller
}

// positionWriter is a store's queue of batches and what its committer knows of
// the tracks it wrote.
//
// The ingest pipeline sends every report with its track, UpdatedAt moved to the
// report's time, so writing each track given would rewrite every track row with
// every report: a quarter of the cost of a batch, measured. Like the SQLite
// store, a track whose metadata is what this store last wrote, with only a
// newer UpdatedAt, is kept in deferred and written with the first group at
// least trackRefresh after the last such write (or by a timer when writes
// stop). A crash can lose that refresh, never a report or a metadata change.
// Another node may have changed the row meanwhile; the deferred write carries
// the whole track under the usual newer-wins rule, so the nodes agree again
// within trackRefresh.
type positionWriter struct {
	mu      sync.Mutex
	queue   []*appendReq
	running bool // a committer goroutine is draining queue
	timer   *time.Timer
	refresh time.Duration // trackRefresh; tests change it before the first write

	// Used by the committer only (one at a time; mu orders them).
	written   map[string]bluehelm.Track // as this store last wrote it
	deferred  map[string]bluehelm.Track // newer UpdatedAt not written yet
	flushedAt time.Time                 // when deferred was last written
}

func newPositionWriter() *positionWriter {
	return &positionWriter{
		refresh: trackRefresh, written: map[string]bluehelm.Track{}, deferred: map[string]bluehelm.Track{}, flushedAt: time.Now(),
	}
}

func (db *DB) positionWriter() *positionWriter { return db.pw }

// AppendPositions stores a batch of reports and returns once it is committed
// (durable). Tracks given are upserted (metadata only, unless older than what
// is stored by UpdatedAt); a position for a uid never seen creates a bare
// track. Replaying a batch is harmless: a (uid, time) already stored is
// skipped. Times are stored to the microsecond.
//
// ctx is honoured until the batch's group starts: a cancelled caller's batch is
// not written and gets ctx.Err(). Once its group has started the caller waits
// for the commit (at most groupTimeout), so a nil error always means durable
// and ctx.Err() means not written. Any other error may follow a commit whose
// outcome is unknown; retrying the batch is safe.
func (db *DB) AppendPositions(ctx context.Context, tracks []bluehelm.Track, ps []bluehelm.Position) error {
	if len(tracks) == 0 && len(ps) == 0 {
		return nil
	}
	// Cheap checks that protect the shared transaction; full validation
	// (Position.Validate) is the caller's.
	for i, t := range tracks {
		if t.UID == "" {
			return bluehelm.Invalid("tracks["+strconv.Itoa(i)+"].uid", "is required")
		}
	}
	for i, p := range ps {
		if err := checkReport(p); err != nil {
			return bluehelm.PrefixField("positions["+strconv.Itoa(i)+"]", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.closed.Load() {
		return errClosed
	}
	req := &appendReq{ctx: ctx, tracks: tracks, ps: ps, done: make(chan error, 1)}
	w := db.positionWriter()
	w.submit(db, req)
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		if w.withdraw(req) {
			return ctx.Err()
		}
		// Its group has started: wait for the outcome.
		return <-req.done
	}
}

// withdraw takes req out of the queue if its group has not started.
func (w *positionWriter) withdraw(req *appendReq) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i := slices.Index(w.queue, req); i >= 0 {
		w.queue = slices.Delete(w.queue, i, i+1)
		return true
	}
	return false
}

// submit queues req and starts a committer if none runs.
func (w *positionWriter) submit(db *DB, req *appendReq) {
	w.mu.Lock()
	w.queue = append(w.queue, req)
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run(db)
	}
}

func checkReport(p bluehelm.Position) error {
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

// run commits groups until the queue is empty. If deferred UpdatedAt values
// remain, a timer queues an empty group that writes them.
func (w *positionWriter) run(db *DB) {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.running = false
			if len(w.deferred) > 0 && w.timer == nil && !db.closed.Load() {
				w.timer = time.AfterFunc(w.refresh, func() {
					w.mu.Lock()
					w.timer = nil
					w.mu.Unlock()
					if !db.closed.Load() {
						w.submit(db, &appendReq{ctx: context.Background(), done: make(chan error, 1)})
					}
				})
			}
			w.mu.Unlock()
			return
		}
		n, k := 0, 0
		for k < len(w.queue) && (k == 0 || n+len(w.queue[k].ps) <= maxGroupPositions) {
			n += len(w.queue[k].ps)
			k++
		}
		group := slices.Clone(w.queue[:k])
		clear(w.queue[:k])
		w.queue = w.queue[k:]
		w.mu.Unlock()
		w.commitGroup(db, group)
		// The callers just answered often post their next batch at once;
		// letting them run first joins them to the next group instead of
		// leaving it to whoever was waiting.
		runtime.Gosched()
	}
}

// commitGroup writes a group and answers its callers. If the group fails as a
// whole, each batch is retried alone so that one bad batch fails only its
// caller.
func (w *positionWriter) commitGroup(db *DB, group []*appendReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // not written: the caller gave up before its group started
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := w.write(db, live)
	if err == nil || len(live) == 1 {
		for _, r := range live {
			r.done <- err
		}
		return
	}
	for _, r := range live {
		r.done <- w.write(db, []*appendReq{r})
	}
}

// write writes a group in one transaction, retrying a few times when the
// database aborts it for a deadlock or a serialization failure (another node
// writing the same rows), and then updates what the writer knows.
func (w *positionWriter) write(db *DB, group []*appendReq) error {
	now := time.Now()
	flush := now.Sub(w.flushedAt) >= w.refresh
	tracks, deferred, bare, ps := w.plan(group, flush)
	if len(tracks) == 0 && len(bare) == 0 && len(ps) == 0 {
		maps.Copy(w.deferred, deferred)
		return nil
	}
	// The group serves several callers, so no single caller's context may
	// abort it; a database that stops answering fails it after groupTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	var err error
	for attempt := range 4 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
		}
		err = db.reportsTx(ctx, tracks, bare, ps)
		if !retryable(err) {
			break
		}
	}
	if err != nil {
		return dbErr(err)
	}
	for _, t := range tracks {
		w.written[t.UID] = t
		delete(w.deferred, t.UID)
	}
	maps.Copy(w.deferred, deferred)
	if flush {
		w.flushedAt = now
	}
	return nil
}

// reportsTx is one attempt at writing a group. It is writeTx with a step
// before the transaction: the connection's staging tables are created outside
// it (once per connection), so that a rolled-back group cannot leave the
// connection marked as having tables it lost.
func (db *DB) reportsTx(ctx context.Context, tracks []bluehelm.Track, bare []string, ps []bluehelm.Position) error {
	if db.closed.Load() {
		return errClosed
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	custom := conn.Conn().PgConn().CustomData()
	if custom[stagedKey] == nil {
		if _, err := conn.Exec(ctx, stagingDDL); err != nil {
			return err
		}
		custom[stagedKey] = true
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	if err := writeReportsTx(ctx, tx, tracks, bare, ps); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// sameTrackMeta compares everything but UpdatedAt.
func sameTrackMeta(a, b bluehelm.Track) bool {
	return a.Callsign == b.Callsign && a.Kind == b.Kind && a.CoTType == b.CoTType && a.SIDC == b.SIDC &&
		a.Unit == b.Unit && a.Nationality == b.Nationality && a.Classification == b.Classification &&
		a.Component == b.Component && slices.Equal(a.Releasability, b.Releasability)
}

// plan returns what a group writes, without changing the writer:
//
//   - tracks: per uid, the track that applying the deferred copy and then the
//     group's tracks in order would leave (a copy older by UpdatedAt than the
//     one before it is ignored, as the database ignores one older than the
//     stored; a newer or undated copy replaces it, keeping the later
//     UpdatedAt), unless only its UpdatedAt moved since this store wrote it
//     and flush is false; with flush, every deferred track too. Sorted by uid.
//   - deferred: the tracks left out for that reason.
//   - bare: the uids of reports that came without their track, sorted.
//   - ps: the first copy of each (uid, time), sorted by uid and time.
func (w *positionWriter) plan(group []*appendReq, flush bool) (tracks []bluehelm.Track, deferred map[string]bluehelm.Track, bare []string, ps []bluehelm.Position) {
	ntracks := 0
	for _, r := range group {
		ntracks += len(r.tracks)
	}
	byUID := make(map[string]int, ntracks)
	merged := make([]bluehelm.Track, 0, ntracks)
	for _, r := range group {
		for _, t := range r.tracks {
			t.UpdatedAt = utcOrZero(t.UpdatedAt)
			i, ok := byUID[t.UID]
			if !ok {
				byUID[t.UID] = len(merged)
				if d, ok := w.deferred[t.UID]; ok {
					merged = append(merged, d)
					i = len(merged) - 1
				} else {
					merged = append(merged, t)
					continue
				}
			}
			cur := merged[i].UpdatedAt
			if !t.UpdatedAt.IsZero() && t.UpdatedAt.Before(cur) {
				continue
			}
			if cur.After(t.UpdatedAt) {
				t.UpdatedAt = cur
			}
			merged[i] = t
		}
	}
	deferred = map[string]bluehelm.Track{}
	for _, t := range merged {
		if last, ok := w.written[t.UID]; ok && !flush && sameTrackMeta(last, t) && !t.UpdatedAt.After(last.UpdatedAt) {
			continue // nothing new
		} else if ok && !flush && sameTrackMeta(last, t) {
			deferred[t.UID] = t
			continue
		}
		tracks = append(tracks, t)
	}
	if flush {
		for uid, d := range w.deferred {
			if _, ok := byUID[uid]; !ok {
				tracks = append(tracks, d)
			}
		}
	}
	slices.SortFunc(tracks, func(a, b bluehelm.Track) int { return cmp.Compare(a.UID, b.UID) })

	n := 0
	for _, r := range group {
		n += len(r.ps)
	}
	ps = make([]bluehelm.Position, 0, n)
	for _, r := range group {
		for _, p := range r.ps {
			p.Time = utc(p.Time)
			ps = append(ps, p)
		}
	}
	// A stable sort keeps copies of a (uid, time) in arrival order, so the
	// first of each run is the first copy: it is kept, the others dropped.
	slices.SortStableFunc(ps, func(a, b bluehelm.Position) int {
		if c := cmp.Compare(a.UID, b.UID); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	ps = slices.CompactFunc(ps, func(a, b bluehelm.Position) bool { return a.UID == b.UID && a.Time.Equal(b.Time) })
	for i, p := range ps {
		if i > 0 && ps[i-1].UID == p.UID {
			continue
		}
		if _, ok := byUID[p.UID]; !ok {
			bare = append(bare, p.UID) // in uid order already
		}
	}
	return tracks, deferred, bare, ps
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return utc(t)
}

// The staging tables live in the connection's temporary schema, created once
// per connection (marked in its CustomData) and emptied by every commit.
const (
	stagedKey  = "bluehelm.position_staging"
	stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS track_stage (LIKE tracks) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS position_stage (LIKE positions) ON COMMIT DELETE ROWS`
	trackFields = `uid, callsign, kind, cot_type, sidc, unit, nationality, classification, component, releasability, updated_at`
	reportCols  = `uid, t, geom, hae, ce, le, course, speed, battery, source`
)

var (
	trackStageCols  = []string{"uid", "callsign", "kind", "cot_type", "sidc", "unit", "nationality", "classification", "component", "releasability", "updated_at"}
	reportStageCols = []string{"uid", "t", "geom", "hae", "ce", "le", "course", "speed", "battery", "source"}
)

func writeReportsTx(ctx context.Context, tx pgx.Tx, tracks []bluehelm.Track, bare []string, ps []bluehelm.Position) error {
	if len(tracks) > 0 {
		rows := make([][]any, len(tracks))
		for i, t := range tracks {
			rows[i] = []any{t.UID, t.Callsign, string(t.Kind), t.CoTType, t.SIDC, t.Unit, t.Nationality,
				int32(t.Classification), string(t.Component), releasableTo(t.Releasability), nullTime(t.UpdatedAt)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"track_stage"}, trackStageCols, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		// A stored track changes only when the copy is not older (an undated
		// copy always applies) and differs from it: a replay rewrites no row.
		if _, err := tx.Exec(ctx, `INSERT INTO tracks AS o (`+trackFields+`)
			SELECT `+trackFields+` FROM track_stage ORDER BY uid
			ON CONFLICT (uid) DO UPDATE SET callsign = excluded.callsign, kind = excluded.kind, cot_type = excluded.cot_type,
				sidc = excluded.sidc, unit = excluded.unit, nationality = excluded.nationality,
				classification = excluded.classification, component = excluded.component,
				releasability = excluded.releasability, updated_at = greatest(o.updated_at, excluded.updated_at)
			WHERE (excluded.updated_at IS NULL OR o.updated_at IS NULL OR excluded.updated_at >= o.updated_at)
				AND (o.callsign, o.kind, o.cot_type, o.sidc, o.unit, o.nationality, o.classification, o.component, o.releasability, o.updated_at)
				IS DISTINCT FROM (excluded.callsign, excluded.kind, excluded.cot_type, excluded.sidc, excluded.unit, excluded.nationality,
					excluded.classification, excluded.component, excluded.releasability, greatest(o.updated_at, excluded.updated_at))`); err != nil {
			return err
		}
	}
	if len(bare) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO tracks (uid) SELECT unnest($1::text[]) ON CONFLICT (uid) DO NOTHING`, bare); err != nil {
			return err
		}
	}
	if len(ps) == 0 {
		return nil
	}
	src := &reportSource{ps: ps, i: -1, row: make([]any, len(reportStageCols)), ewkb: make([]byte, 0, 25*len(ps))}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"position_stage"}, reportStageCols, src); err != nil {
		return err
	}
	// Staged rows come back in the order they were copied (uid, time), which
	// is the order the unique index is locked in.
	_, err := tx.Exec(ctx, `INSERT INTO positions (`+reportCols+`) SELECT `+reportCols+` FROM position_stage ON CONFLICT (uid, t) DO NOTHING`)
	return err
}

// reportSource feeds reports to CopyFrom without building a [][]any of them.
type reportSource struct {
	ps   []bluehelm.Position
	i    int
	row  []any
	ewkb []byte // the points' EWKB, 25 bytes each, in one allocation
}

func (s *reportSource) Next() bool {
	s.i++
	return s.i < len(s.ps)
}

func (s *reportSource) Values() ([]any, error) {
	p := &s.ps[s.i]
	start := len(s.ewkb)
	s.ewkb = appendEWKBPoint(s.ewkb, p.Lon, p.Lat)
	s.row[0], s.row[1], s.row[2] = p.UID, p.Time, s.ewkb[start:len(s.ewkb):len(s.ewkb)]
	s.row[3], s.row[4], s.row[5], s.row[6], s.row[7] = p.HAE, p.CE, p.LE, p.Course, p.Speed
	s.row[8], s.row[9] = int32(p.Battery), p.Source
	return s.row, nil
}

func (s *reportSource) Err() error { return nil }

// appendEWKBPoint appends a PostGIS extended WKB point with SRID 4326: byte
// order (little endian), type Point with the SRID flag, the SRID, x, y.
func appendEWKBPoint(b []byte, lon, lat float64) []byte {
	b = append(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 0x20000001)
	b = binary.LittleEndian.AppendUint32(b, 4326)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(lon))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(lat))
}
