package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// positionWriter is the committer's state. Only the committer goroutine uses
// it, so it needs no lock; it changes only after a commit, so a rolled-back
// transaction leaves it describing the database.
type positionWriter struct {
	inserts map[int]*sql.Stmt // rows per statement → prepared log INSERT
	tracks  map[string]*trackEntry
	byID    map[int64]*trackEntry
	// The log's reports: those appended since Open are mirrored in mem, so
	// compaction need not read them back through SQL (which cost more than
	// writing them); those already there at Open (seq < memFrom, at most
	// oldRows of them) are read from the table.
	mem       [][]logPoint // one slice per committed group, oldest first
	memRows   int
	memFrom   int64
	nextSegID int64 // ids of segments are assigned here (no RETURNING round trip)
	// pending reports that some entry has a pending UpdatedAt, which the next
	// compaction writes even when the log is empty.
	pending    bool
	oldRows    int64
	nextSeq    int64
	compactErr error // the last compaction failure, for tests
}

// logRows is how many reports wait in the log (an upper bound for those from
// before Open).
func (pw *positionWriter) logRows() int64 { return pw.oldRows + int64(pw.memRows) }

// trackEntry is what the committer knows of a tracks row.
type trackEntry struct {
	id   int64
	meta bluehelm.Track // as stored, UpdatedAt included
	// pending is a newer UpdatedAt that arrived with unchanged metadata. It is
	// written at the next compaction rather than costing a row update per
	// report (the ingest pipeline sends every track with every report).
	pending time.Time
	lastT   int64 // tracks.last_t: the newest report in segments; math.MinInt64 if none
}

// newPositionWriter prepares the log inserts and reads the log's size. It must
// run when no transaction holds the writer's one connection (at Open):
// preparing on the pool needs a free connection, while Tx.StmtContext later
// reuses the statement on the connection the transaction holds.
func newPositionWriter(ctx context.Context, w *sql.DB) (*positionWriter, error) {
	pw := &positionWriter{inserts: map[int]*sql.Stmt{}, tracks: map[string]*trackEntry{}, byID: map[int64]*trackEntry{}}
	row := "(" + placeholders(logCols) + ")"
	for _, n := range insertSizes {
		q := `INSERT INTO position_log (seq, track_id, t_ms, data) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			pw.close()
			return nil, err
		}
		pw.inserts[n] = st
	}
	// max - min + 1 is an upper bound found in two index lookups; counting would
	// scan the log, which may be long after a crash under load.
	var lo, hi sql.NullInt64
	if err := w.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM position_log`).Scan(&lo, &hi); err != nil {
		pw.close()
		return nil, err
	}
	pw.nextSeq = 1
	if lo.Valid {
		pw.oldRows = hi.Int64 - lo.Int64 + 1
		pw.nextSeq = hi.Int64 + 1
	}
	pw.memFrom = pw.nextSeq
	if err := w.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM position_segments`).Scan(&pw.nextSegID); err != nil {
		pw.close()
		return nil, err
	}
	return pw, nil
}

func (pw *positionWriter) close() {
	for _, st := range pw.inserts {
		st.Close()
	}
}

// insertSizes are the statement sizes a batch is cut into, largest first. A
// multi-row INSERT amortises the per-statement cost of database/sql and the
// driver; 256 rows × 4 columns stays far below SQLite's variable limit.
var insertSizes = []int{256, 64, 16, 4, 1}

const logCols = 4

// sameTrackMeta compares everything but UpdatedAt.
func sameTrackMeta(a, b bluehelm.Track) bool {
	return a.Callsign == b.Callsign && a.Kind == b.Kind && a.CoTType == b.CoTType && a.SIDC == b.SIDC &&
		a.Unit == b.Unit && a.Nationality == b.Nationality && a.Classification == b.Classification &&
		a.Component == b.Component && slices.Equal(a.Releasability, b.Releasability)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// txTracks is the view of the tracks a transaction works with: copies of the
// committer's entries, merged back only after the commit.
type txTracks struct {
	pw      *positionWriter
	tx      *sql.Tx
	changed map[int64]*trackEntry
	byUID   map[string]*trackEntry
	stmts   map[string]*sql.Stmt // prepared on first use in this transaction
}

// stmt returns q prepared in the transaction. A new deployment creates
// thousands of tracks in its first batches, each a lookup and an insert.
func (tt *txTracks) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := tt.stmts[q]; ok {
		return st, nil
	}
	st, err := tt.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, dbErr(err)
	}
	if tt.stmts == nil {
		tt.stmts = map[string]*sql.Stmt{}
	}
	tt.stmts[q] = st
	return st, nil
}

func (tt *txTracks) close() {
	for _, st := range tt.stmts {
		st.Close()
	}
}

func newTxTracks(pw *positionWriter, tx *sql.Tx) *txTracks {
	return &txTracks{pw: pw, tx: tx, changed: map[int64]*trackEntry{}, byUID: map[string]*trackEntry{}}
}

const trackEntryCols = `id, uid, callsign, kind, cot_type, sidc, unit, nationality, classification, component, releasability, updated_at, last_t`

func (tt *txTracks) load(ctx context.Context, where string, arg any) (*trackEntry, error) {
	var (
		e   trackEntry
		rel string
		upd sql.NullInt64
		lt  sql.NullInt64
	)
	m := &e.meta
	st, err := tt.stmt(ctx, `SELECT `+trackEntryCols+` FROM tracks WHERE `+where)
	if err != nil {
		return nil, err
	}
	err = st.QueryRowContext(ctx, arg).Scan(
		&e.id, &m.UID, &m.Callsign, &m.Kind, &m.CoTType, &m.SIDC, &m.Unit, &m.Nationality, &m.Classification, &m.Component, &rel, &upd, &lt)
	if err != nil {
		return nil, err
	}
	m.Releasability, m.UpdatedAt = components(rel), fromMicros(upd)
	e.lastT = math.MinInt64
	if lt.Valid {
		e.lastT = lt.Int64
	}
	return &e, nil
}

func (tt *txTracks) keep(e *trackEntry) *trackEntry {
	tt.changed[e.id] = e
	tt.byUID[e.meta.UID] = e
	return e
}

// byUIDOrCreate returns the track's entry, creating a bare track row for a uid
// never seen.
func (tt *txTracks) byUIDOrCreate(ctx context.Context, uid string) (*trackEntry, error) {
	if e, ok := tt.byUID[uid]; ok {
		return e, nil
	}
	if e, ok := tt.pw.tracks[uid]; ok {
		c := *e
		return tt.keep(&c), nil
	}
	e, err := tt.load(ctx, "uid = ?", uid)
	if errors.Is(err, sql.ErrNoRows) {
		e = &trackEntry{meta: bluehelm.Track{UID: uid}, lastT: math.MinInt64}
		var st *sql.Stmt
		if st, err = tt.stmt(ctx, `INSERT INTO tracks (uid) VALUES (?) RETURNING id`); err == nil {
			err = st.QueryRowContext(ctx, uid).Scan(&e.id)
		}
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return tt.keep(e), nil
}

// id returns the track id of uid without copying its entry (a report only
// needs the id), creating the track if needed.
func (tt *txTracks) id(ctx context.Context, uid string) (int64, error) {
	if e, ok := tt.byUID[uid]; ok {
		return e.id, nil
	}
	if e, ok := tt.pw.tracks[uid]; ok {
		return e.id, nil
	}
	e, err := tt.byUIDOrCreate(ctx, uid)
	if err != nil {
		return 0, err
	}
	return e.id, nil
}

func (tt *txTracks) byTrackID(ctx context.Context, id int64) (*trackEntry, error) {
	if e, ok := tt.changed[id]; ok {
		return e, nil
	}
	if e, ok := tt.pw.byID[id]; ok {
		c := *e
		return tt.keep(&c), nil
	}
	e, err := tt.load(ctx, "id = ?", id)
	if err != nil {
		return nil, dbErr(err)
	}
	return tt.keep(e), nil
}

// commit makes the transaction's view the committer's.
func (tt *txTracks) commit() {
	for id, e := range tt.changed {
		tt.pw.byID[id] = e
		tt.pw.tracks[e.meta.UID] = e
	}
}

// writePositions appends the batches of group to the log in one transaction,
// with the track rows they need.
func (db *DB) writePositions(group []*appendReq) error {
	// The group serves several callers, so no single caller's context may
	// abort it; a failing disk is reported by the error.
	ctx := context.Background()
	pw := db.pw
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer tx.Rollback() // no-op after Commit
	tt := newTxTracks(pw, tx)
	defer tt.close()

	// Track metadata first, so a new track is created with it.
	var upd *sql.Stmt
	// Newer UpdatedAt values of tracks whose metadata did not change: the
	// common case (the pipeline sends every track with every report), kept off
	// the entries so they need not be copied.
	touched := map[string]time.Time{}
	for _, r := range group {
		for _, t := range r.tracks {
			if e, ok := pw.tracks[t.UID]; ok && tt.byUID[t.UID] == nil && sameTrackMeta(e.meta, t) {
				if t.UpdatedAt.After(later(e.meta.UpdatedAt, e.pending)) && t.UpdatedAt.After(touched[t.UID]) {
					touched[t.UID] = t.UpdatedAt
				}
				continue
			}
			e, err := tt.byUIDOrCreate(ctx, t.UID)
			if err != nil {
				return err
			}
			if u := touched[t.UID]; u.After(e.pending) {
				e.pending = u
			}
			if sameTrackMeta(e.meta, t) {
				if t.UpdatedAt.After(later(e.meta.UpdatedAt, e.pending)) {
					e.pending = t.UpdatedAt
				}
				continue
			}
			// Metadata older than what is stored (by UpdatedAt) is ignored, so
			// an out-of-order replay does not roll a track back.
			if cur := later(e.meta.UpdatedAt, e.pending); !t.UpdatedAt.IsZero() && t.UpdatedAt.Before(cur) {
				continue
			}
			if upd == nil {
				if upd, err = tx.PrepareContext(ctx, `UPDATE tracks SET callsign = ?, kind = ?, cot_type = ?, sidc = ?, unit = ?, nationality = ?,
					classification = ?, component = ?, releasability = ?, updated_at = ? WHERE id = ?`); err != nil {
					return dbErr(err)
				}
				defer upd.Close()
			}
			next := t
			next.UID = e.meta.UID
			next.Releasability = slices.Clone(t.Releasability)
			next.UpdatedAt = later(t.UpdatedAt, later(e.meta.UpdatedAt, e.pending))
			if _, err := upd.ExecContext(ctx, t.Callsign, string(t.Kind), t.CoTType, t.SIDC, t.Unit, t.Nationality,
				int(t.Classification), string(t.Component), releasability(t.Releasability), micros(next.UpdatedAt), e.id); err != nil {
				return dbErr(err)
			}
			e.meta, e.pending = next, time.Time{}
		}
	}

	args := make([]any, 0, insertSizes[0]*logCols)
	txStmts := map[int]*sql.Stmt{}
	// Sequence numbers are assigned here, not by SQLite, so the mirror knows
	// them without reading them back.
	seq := pw.nextSeq
	total := 0
	for _, r := range group {
		total += len(r.ps)
	}
	added := make([]logPoint, 0, total)
	// One buffer for the encoded rows of a statement; the driver copies bound
	// blobs, so it is reused for the next statement.
	var buf []byte
	for _, r := range group {
		ps := r.ps
		for len(ps) > 0 {
			// Cut the rest of this batch into the largest statement that fits.
			n := insertSizes[len(insertSizes)-1]
			for _, s := range insertSizes {
				if s <= len(ps) {
					n = s
					break
				}
			}
			args, buf = args[:0], buf[:0]
			for _, p := range ps[:n] {
				id, err := tt.id(ctx, p.UID)
				if err != nil {
					return err
				}
				lp := logPoint{point: pointOf(p), seq: seq, trackID: id}
				seq++
				start := len(buf)
				buf = appendLogPoint(buf, lp.point)
				args = append(args, lp.seq, lp.trackID, lp.t, buf[start:len(buf):len(buf)])
				added = append(added, lp)
			}
			st, ok := txStmts[n]
			if !ok {
				// Reuses the statement prepared on the writer connection.
				st = tx.StmtContext(ctx, pw.inserts[n])
				txStmts[n] = st
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return dbErr(err)
			}
			ps = ps[n:]
		}
	}
	if err := tx.Commit(); err != nil {
		return dbErr(err)
	}
	tt.commit()
	for _, e := range tt.changed {
		if !e.pending.IsZero() {
			pw.pending = true
		}
	}
	for uid, u := range touched {
		if e := pw.tracks[uid]; u.After(e.pending) {
			e.pending = u
			pw.pending = true
		}
	}
	pw.mem = append(pw.mem, added)
	pw.memRows += len(added)
	pw.nextSeq = seq
	return nil
}

// logPoint is a report in the log: its sequence number and its track.
type logPoint struct {
	point
	seq     int64
	trackID int64
}

// compact moves up to limit of the oldest log reports into segments in one
// transaction and returns how many it moved. Per track it sorts the reports by
// time, drops repeated times (the first stored wins, as everywhere) and reports
// already in segments, cuts runs, and stores each run with its cells; it also
// advances the track's latest position and writes a pending UpdatedAt.
func (db *DB) compact(limit int) (int, error) {
	ctx := context.Background()
	pw := db.pw
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, dbErr(err)
	}
	defer tx.Rollback()

	// The oldest reports: first those from before Open, read from the table,
	// then the mirror. order points at them; it is sorted by track, time and
	// arrival (pointers, not the 100-byte reports, are moved).
	var order []*logPoint
	memTaken := 0 // groups of the mirror in order
	fromTable := pw.oldRows > 0
	if fromTable {
		found, err := readLog(ctx, tx, `SELECT seq, track_id, t_ms, data FROM position_log WHERE seq < ? ORDER BY seq LIMIT ?`, pw.memFrom, limit)
		if err != nil {
			return 0, err
		}
		batch := make([]logPoint, len(found))
		for i, f := range found {
			batch[i] = logPoint{point: f.point, seq: f.seq, trackID: f.trackID}
			order = append(order, &batch[i])
		}
	} else {
		// Whole groups, up to limit (at least one).
		for memTaken < len(pw.mem) && (memTaken == 0 || len(order)+len(pw.mem[memTaken]) <= limit) {
			g := pw.mem[memTaken]
			for i := range g {
				order = append(order, &g[i])
			}
			memTaken++
		}
	}
	n := len(order)
	var hiSeq int64
	for _, lp := range order {
		hiSeq = max(hiSeq, lp.seq)
	}
	slices.SortFunc(order, func(a, b *logPoint) int {
		if a.trackID != b.trackID {
			return cmpInt64(a.trackID, b.trackID)
		}
		if a.t != b.t {
			return cmpInt64(a.t, b.t)
		}
		return cmpInt64(a.seq, b.seq)
	})

	prep := func(q string) (*sql.Stmt, error) {
		st, err := tx.PrepareContext(ctx, q)
		return st, dbErr(err)
	}
	segs := newRowBatcher(ctx, tx, `INSERT INTO position_segments (id, track_id, t_min, t_max, n, min_lat, max_lat, min_lon, max_lon, data) VALUES `, 10)
	defer segs.close()
	cells := newRowBatcher(ctx, tx, `INSERT INTO position_segment_cells (cell, t_min, segment_id) VALUES `, 3)
	defer cells.close()
	overlap, err := prep(`SELECT t_min, data FROM position_segments WHERE track_id = ? AND t_min >= ? AND t_min <= ? AND t_max >= ?`)
	if err != nil {
		return 0, err
	}
	defer overlap.Close()
	// The latest report and a pending UpdatedAt in one row update per track.
	latest, err := prep(`UPDATE tracks SET last_t = ?, last_lat = ?, last_lon = ?, last_hae = ?, last_ce = ?, last_le = ?,
		last_course = ?, last_speed = ?, last_battery = ?, last_source = ?, updated_at = coalesce(?, updated_at) WHERE id = ?`)
	if err != nil {
		return 0, err
	}
	defer latest.Close()
	updated, err := prep(`UPDATE tracks SET updated_at = ? WHERE id = ?`)
	if err != nil {
		return 0, err
	}
	defer updated.Close()

	tt := newTxTracks(pw, tx)
	defer tt.close()
	segID := pw.nextSegID
	var pts []point
	for lo := 0; lo < n; {
		id := order[lo].trackID
		hi := lo
		pts = pts[:0]
		for ; hi < n && order[hi].trackID == id; hi++ {
			if hi > lo && order[hi].t == order[hi-1].t {
				continue // a later copy of a report time: the first stored wins
			}
			pts = append(pts, order[hi].point)
		}
		lo = hi
		e, err := tt.byTrackID(ctx, id)
		if err != nil {
			return 0, err
		}
		if pts[0].t <= e.lastT {
			// Older than the newest stored report (a backlog, a replay): drop
			// the times segments already hold.
			if pts, err = dropStored(ctx, overlap, id, pts); err != nil {
				return 0, err
			}
		}
		for _, run := range splitSegments(pts) {
			b := boundsOf(run)
			if err := segs.add(segID, id, run[0].t, run[len(run)-1].t, len(run), b.MinLat, b.MaxLat, b.MinLon, b.MaxLon, encodeSegment(run)); err != nil {
				return 0, err
			}
			for _, c := range cellsOf(run) {
				if err := cells.add(c, run[0].t, segID); err != nil {
					return 0, err
				}
			}
			segID++
		}
		var upd any
		if !e.pending.IsZero() {
			upd = micros(e.pending)
		}
		if len(pts) > 0 && pts[len(pts)-1].t > e.lastT {
			p := pts[len(pts)-1]
			if _, err := latest.ExecContext(ctx, p.t, p.lat, p.lon, p.hae, p.ce, p.le, p.course, p.speed, p.battery, p.source, upd, id); err != nil {
				return 0, dbErr(err)
			}
			e.lastT = p.t
		} else if upd != nil {
			if _, err := updated.ExecContext(ctx, upd, id); err != nil {
				return 0, dbErr(err)
			}
		}
		if upd != nil {
			e.meta.UpdatedAt, e.pending = e.pending, time.Time{}
		}
	}
	if err := segs.flush(); err != nil {
		return 0, err
	}
	if err := cells.flush(); err != nil {
		return 0, err
	}
	// Pending UpdatedAt values of tracks without reports in this batch.
	for _, e := range pw.byID {
		if e.pending.IsZero() || tt.changed[e.id] != nil {
			continue
		}
		c, err := tt.byTrackID(ctx, e.id)
		if err != nil {
			return 0, err
		}
		if _, err := updated.ExecContext(ctx, micros(c.pending), c.id); err != nil {
			return 0, dbErr(err)
		}
		c.meta.UpdatedAt, c.pending = c.pending, time.Time{}
	}
	switch {
	case n == 0:
	case !fromTable && memTaken == len(pw.mem):
		// The whole log: without WHERE, SQLite frees its pages at once
		// instead of deleting row by row.
		if _, err := tx.ExecContext(ctx, `DELETE FROM position_log`); err != nil {
			return 0, dbErr(err)
		}
	default:
		if _, err := tx.ExecContext(ctx, `DELETE FROM position_log WHERE seq <= ?`, hiSeq); err != nil {
			return 0, dbErr(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, dbErr(err)
	}
	tt.commit()
	pw.nextSegID = segID
	pw.pending = false // every pending UpdatedAt was written
	if fromTable {
		if n < limit {
			pw.oldRows = 0 // read to the end of what was there at Open
		} else {
			pw.oldRows = max(0, pw.oldRows-int64(n))
		}
	} else {
		clear(pw.mem[:memTaken]) // let the compacted groups be collected
		pw.mem = pw.mem[memTaken:]
		pw.memRows -= n
	}
	return n, nil
}

// dropStored removes from pts (sorted, distinct times) the times a stored
// segment of the track already holds.
func dropStored(ctx context.Context, overlap *sql.Stmt, trackID int64, pts []point) ([]point, error) {
	lo, hi := pts[0].t, pts[len(pts)-1].t
	rows, err := overlap.QueryContext(ctx, trackID, lo-segmentMaxSpan.Milliseconds(), hi, lo)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	stored := map[int64]bool{}
	var buf []point
	for rows.Next() {
		var (
			tMin int64
			data []byte
		)
		if err := rows.Scan(&tMin, &data); err != nil {
			return nil, dbErr(err)
		}
		if buf, err = decodeSegment(buf[:0], data, tMin); err != nil {
			return nil, err
		}
		for _, p := range buf {
			stored[p.t] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return slices.DeleteFunc(pts, func(p point) bool { return stored[p.t] }), nil
}

func boundsOf(ps []point) bluehelm.BBox {
	b := bluehelm.BBox{MinLon: ps[0].lon, MaxLon: ps[0].lon, MinLat: ps[0].lat, MaxLat: ps[0].lat}
	for _, p := range ps[1:] {
		b.MinLon, b.MaxLon = min(b.MinLon, p.lon), max(b.MaxLon, p.lon)
		b.MinLat, b.MaxLat = min(b.MinLat, p.lat), max(b.MaxLat, p.lat)
	}
	return b
}

// cellsOf returns the distinct grid cells of ps.
func cellsOf(ps []point) []int64 {
	var out []int64
	for _, p := range ps {
		c := cellOf(p.lat, p.lon)
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rowBatcher turns single-row inserts into multi-row INSERT statements of
// fixed sizes (prepared once per transaction each), which costs far less per
// row through database/sql than one statement per row.
type rowBatcher struct {
	ctx    context.Context
	tx     *sql.Tx
	prefix string // "INSERT INTO t (a, b) VALUES "
	cols   int
	stmts  map[int]*sql.Stmt
	args   []any
}

// batchSizes are the statement sizes rowBatcher uses, largest first.
var batchSizes = []int{64, 16, 4, 1}

func newRowBatcher(ctx context.Context, tx *sql.Tx, prefix string, cols int) *rowBatcher {
	return &rowBatcher{ctx: ctx, tx: tx, prefix: prefix, cols: cols, stmts: map[int]*sql.Stmt{}}
}

func (b *rowBatcher) add(vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) >= batchSizes[0]*b.cols {
		return b.flush()
	}
	return nil
}

// flush writes every row added so far.
func (b *rowBatcher) flush() error {
	for len(b.args) > 0 {
		rows := len(b.args) / b.cols
		n := 1
		for _, s := range batchSizes {
			if s <= rows {
				n = s
				break
			}
		}
		st, ok := b.stmts[n]
		if !ok {
			row := "(" + placeholders(b.cols) + ")"
			var err error
			if st, err = b.tx.PrepareContext(b.ctx, b.prefix+strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")); err != nil {
				return dbErr(err)
			}
			b.stmts[n] = st
		}
		if _, err := st.ExecContext(b.ctx, b.args[:n*b.cols]...); err != nil {
			return dbErr(err)
		}
		b.args = append(b.args[:0], b.args[n*b.cols:]...)
	}
	return nil
}

func (b *rowBatcher) close() {
	for _, st := range b.stmts {
		st.Close()
	}
}
