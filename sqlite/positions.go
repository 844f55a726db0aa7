package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Positions are written by one goroutine, the group committer: AppendPositions
// queues its batch and waits; the committer takes everything queued (up to
// options.maxGroup positions), writes it in one transaction, commits (one fsync)
// and then releases every waiting caller with the result. Under load the fsync
// is shared by many batches; with one caller it costs what a plain commit does.
//
// History rows carry no R*Tree entry: the key (track_id, t_ms) serves a track's
// history and the (cell, t_ms) index a box, where cell is a 0.1° grid cell.

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

// groupCommitter runs until Close closes the queue, then drains it and exits.
func (db *DB) groupCommitter() {
	defer close(db.done)
	for req := range db.queue {
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

// positionWriter is the committer's state: prepared multi-row inserts and the
// uid → track id map (only ids of committed tracks).
type positionWriter struct {
	ids     map[string]int64
	inserts map[int]*sql.Stmt // rows per statement → prepared INSERT
}

// newPositionWriter prepares the inserts on the writer pool. It must run when no
// transaction holds the writer's one connection (at Open): preparing on the
// pool needs a free connection, while Tx.StmtContext later reuses the statement
// on the connection the transaction holds.
func newPositionWriter(ctx context.Context, w *sql.DB) (*positionWriter, error) {
	pw := &positionWriter{ids: map[string]int64{}, inserts: map[int]*sql.Stmt{}}
	row := "(" + placeholders(positionCols) + ")"
	for _, n := range insertSizes {
		q := `INSERT OR IGNORE INTO positions (track_id, t_ms, cell, lat, lon, hae, ce, le, course, speed, battery, source) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			pw.close()
			return nil, err
		}
		pw.inserts[n] = st
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
// driver; 256 rows × 12 columns stays far below SQLite's variable limit.
var insertSizes = []int{256, 64, 16, 4, 1}

const positionCols = 12

// Grid of the position cell index: cells of 1/cellsPerDegree degrees, numbered
// row-major from (-90, -180).
const (
	cellsPerDegree = 10
	cellCols       = 360 * cellsPerDegree
	cellRows       = 180 * cellsPerDegree
)

// cellIndex returns the row and column of the cell holding (lat, lon). It is
// monotonic in each coordinate, which keeps box queries conservative.
func cellIndex(lat, lon float64) (row, col int64) {
	row = int64(math.Floor((lat + 90) * cellsPerDegree))
	col = int64(math.Floor((lon + 180) * cellsPerDegree))
	return min(max(row, 0), cellRows-1), min(max(col, 0), cellCols-1)
}

func cellOf(lat, lon float64) int64 {
	r, c := cellIndex(lat, lon)
	return r*cellCols + c
}

type latest struct {
	trackID int64
	p       bluehelm.Position
	tMs     int64
}

// writePositions writes the batches of group in one transaction.
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

	pending := map[string]int64{} // ids of tracks created in this transaction
	idOf := func(uid string) (int64, error) {
		if id, ok := pw.ids[uid]; ok {
			return id, nil
		}
		if id, ok := pending[uid]; ok {
			return id, nil
		}
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM tracks WHERE uid = ?`, uid).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `INSERT INTO tracks (uid) VALUES (?) RETURNING id`, uid).Scan(&id)
		}
		if err != nil {
			return 0, dbErr(err)
		}
		pending[uid] = id
		return id, nil
	}

	// Track metadata first, so a new track is created with it.
	for _, r := range group {
		for _, t := range r.tracks {
			if err := upsertTrack(ctx, tx, t); err != nil {
				return err
			}
		}
	}

	newest := map[int64]*latest{}
	args := make([]any, 0, insertSizes[0]*positionCols)
	var rows int
	txStmts := map[int]*sql.Stmt{}
	flush := func(n int) error {
		st, ok := txStmts[n]
		if !ok {
			// Reuses the statement prepared on the writer connection.
			st = tx.StmtContext(ctx, pw.inserts[n])
			txStmts[n] = st
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return dbErr(err)
		}
		args, rows = args[:0], 0
		return nil
	}
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
			for _, p := range ps[:n] {
				id, err := idOf(p.UID)
				if err != nil {
					return err
				}
				t := p.Time.UnixMilli()
				args = append(args, id, t, cellOf(p.Lat, p.Lon), p.Lat, p.Lon, p.HAE, p.CE, p.LE, p.Course, p.Speed, p.Battery, p.Source)
				rows++
				// Strictly newer only: for equal times the first stored row wins,
				// as it does in the table (INSERT OR IGNORE).
				if l := newest[id]; l == nil || t > l.tMs {
					newest[id] = &latest{id, p, t}
				}
			}
			if err := flush(rows); err != nil {
				return err
			}
			ps = ps[n:]
		}
	}

	if len(newest) > 0 {
		st, err := tx.PrepareContext(ctx, `UPDATE tracks SET last_t = ?, last_lat = ?, last_lon = ?, last_hae = ?, last_ce = ?, last_le = ?,
			last_course = ?, last_speed = ?, last_battery = ?, last_source = ?
			WHERE id = ? AND (last_t IS NULL OR last_t < ?)`)
		if err != nil {
			return dbErr(err)
		}
		defer st.Close()
		for _, l := range newest {
			p := l.p
			if _, err := st.ExecContext(ctx, l.tMs, p.Lat, p.Lon, p.HAE, p.CE, p.LE, p.Course, p.Speed, p.Battery, p.Source, l.trackID, l.tMs); err != nil {
				return dbErr(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return dbErr(err)
	}
	for uid, id := range pending {
		pw.ids[uid] = id
	}
	return nil
}

// upsertTrack creates or updates a track's metadata, keeping its latest
// position. Metadata older than what is stored (by UpdatedAt) is ignored, so an
// out-of-order replay does not roll a track back.
func upsertTrack(ctx context.Context, tx *sql.Tx, t bluehelm.Track) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tracks (uid, callsign, kind, cot_type, sidc, unit, nationality, classification, component, releasability, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (uid) DO UPDATE SET callsign = excluded.callsign, kind = excluded.kind, cot_type = excluded.cot_type,
			sidc = excluded.sidc, unit = excluded.unit, nationality = excluded.nationality,
			classification = excluded.classification, component = excluded.component, releasability = excluded.releasability,
			updated_at = coalesce(excluded.updated_at, tracks.updated_at)
		WHERE excluded.updated_at IS NULL OR tracks.updated_at IS NULL OR excluded.updated_at >= tracks.updated_at`,
		t.UID, t.Callsign, string(t.Kind), t.CoTType, t.SIDC, t.Unit, t.Nationality,
		int(t.Classification), string(t.Component), releasability(t.Releasability), micros(t.UpdatedAt))
	return dbErr(err)
}

// Default and maximum number of positions one Positions call returns.
const (
	defaultPositions = 10000
	maxPositions     = 100000
)

// maxCellList is the most cells a box query lists one by one (each an index
// seek on (cell, t_ms)); a bigger box scans one cell range instead.
const maxCellList = 4096

// Positions returns stored history in time order (ties by uid): one track's, or
// every track's inside a box, or one track's inside a box; From/To bound the
// time as [From, To). At most q.Limit rows (default 10000, max 100000), the
// earliest first.
func (db *DB) Positions(ctx context.Context, q bluehelm.PositionQuery) ([]bluehelm.Position, error) {
	limit, err := clampLimit(q.Limit, defaultPositions, maxPositions)
	if err != nil {
		return nil, err
	}
	if q.UID == "" && q.BBox == nil {
		return nil, bluehelm.Invalid("", "a positions query needs a uid or a bbox")
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var w query
	if !q.From.IsZero() {
		w.add("p.t_ms >= ?", ceilMillis(q.From))
	}
	if !q.To.IsZero() {
		w.add("p.t_ms < ?", ceilMillis(q.To))
	}
	if q.UID != "" {
		w.add("p.track_id = (SELECT id FROM tracks WHERE uid = ?)", q.UID)
	}
	if b := q.BBox; b != nil {
		if err := b.Validate(); err != nil {
			return nil, err
		}
		if q.UID == "" {
			cond, args := cellCond(*b)
			w.add(cond, args...)
		}
		w.add("p.lon >= ? AND p.lon <= ? AND p.lat >= ? AND p.lat <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
	}
	rows, err := r.QueryContext(ctx, `SELECT t.uid, p.t_ms, p.lat, p.lon, p.hae, p.ce, p.le, p.course, p.speed, p.battery, p.source
		FROM positions p CROSS JOIN tracks t ON t.id = p.track_id`+w.where()+` ORDER BY p.t_ms, t.uid LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.Position
	for rows.Next() {
		var (
			p  bluehelm.Position
			ms int64
		)
		if err := rows.Scan(&p.UID, &ms, &p.Lat, &p.Lon, &p.HAE, &p.CE, &p.LE, &p.Course, &p.Speed, &p.Battery, &p.Source); err != nil {
			return nil, dbErr(err)
		}
		p.Time = time.UnixMilli(ms).UTC()
		out = append(out, p)
	}
	return out, dbErr(rows.Err())
}

// cellCond selects the cells that cover b: each listed (an index seek per cell,
// which also uses the time bound) or, for a big box, the one range of cell
// numbers from its first to its last cell.
func cellCond(b bluehelm.BBox) (string, []any) {
	r0, c0 := cellIndex(b.MinLat, b.MinLon)
	r1, c1 := cellIndex(b.MaxLat, b.MaxLon)
	if n := (r1 - r0 + 1) * (c1 - c0 + 1); n > maxCellList {
		return "p.cell BETWEEN ? AND ?", []any{r0*cellCols + c0, r1*cellCols + c1}
	}
	args := make([]any, 0, (r1-r0+1)*(c1-c0+1))
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			args = append(args, r*cellCols+c)
		}
	}
	return "p.cell IN (" + placeholders(len(args)) + ")", args
}

const trackCols = `uid, callsign, kind, cot_type, sidc, unit, nationality, classification, component, releasability, updated_at`

func scanTrack(dst []any, t *bluehelm.Track, rel *string, upd *sql.NullInt64) []any {
	return append(dst, &t.UID, &t.Callsign, &t.Kind, &t.CoTType, &t.SIDC, &t.Unit, &t.Nationality, &t.Classification, &t.Component, rel, upd)
}

// components decodes the ",a,b," form of releasability.
func components(s string) []bluehelm.Component {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]bluehelm.Component, len(parts))
	for i, p := range parts {
		out[i] = bluehelm.Component(p)
	}
	return out
}

// LatestStates returns every track that has a position, with its latest one,
// ordered by uid: one scan of the tracks table.
func (db *DB) LatestStates(ctx context.Context) ([]bluehelm.TrackState, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.QueryContext(ctx, `SELECT `+trackCols+`, last_t, last_lat, last_lon, last_hae, last_ce, last_le, last_course, last_speed, last_battery, last_source
		FROM tracks WHERE last_t IS NOT NULL ORDER BY uid`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.TrackState
	for rows.Next() {
		var (
			s   bluehelm.TrackState
			rel string
			upd sql.NullInt64
			ms  int64
		)
		dst := scanTrack(nil, &s.Track, &rel, &upd)
		p := &s.Position
		dst = append(dst, &ms, &p.Lat, &p.Lon, &p.HAE, &p.CE, &p.LE, &p.Course, &p.Speed, &p.Battery, &p.Source)
		if err := rows.Scan(dst...); err != nil {
			return nil, dbErr(err)
		}
		s.Releasability, s.UpdatedAt = components(rel), fromMicros(upd)
		p.UID, p.Time = s.UID, time.UnixMilli(ms).UTC()
		out = append(out, s)
	}
	return out, dbErr(rows.Err())
}

// Tracks returns every known track ordered by uid.
func (db *DB) Tracks(ctx context.Context) ([]bluehelm.Track, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.QueryContext(ctx, `SELECT `+trackCols+` FROM tracks ORDER BY uid`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.Track
	for rows.Next() {
		var (
			t   bluehelm.Track
			rel string
			upd sql.NullInt64
		)
		if err := rows.Scan(scanTrack(nil, &t, &rel, &upd)...); err != nil {
			return nil, dbErr(err)
		}
		t.Releasability, t.UpdatedAt = components(rel), fromMicros(upd)
		out = append(out, t)
	}
	return out, dbErr(rows.Err())
}
