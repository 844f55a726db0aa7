package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bluehelm/bluehelm"
)

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

// maxCellList is the most cells a box query lists one by one (each an index
// seek on (cell, t_min)); a bigger box walks segments by time instead.
const maxCellList = 4096

// cellList returns the cells covering b, or nil when there are more than
// maxCellList of them.
func cellList(b bluehelm.BBox) []any {
	r0, c0 := cellIndex(b.MinLat, b.MinLon)
	r1, c1 := cellIndex(b.MaxLat, b.MaxLon)
	if (r1-r0+1)*(c1-c0+1) > maxCellList {
		return nil
	}
	out := make([]any, 0, (r1-r0+1)*(c1-c0+1))
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			out = append(out, r*cellCols+c)
		}
	}
	return out
}

// Default and maximum number of positions one Positions call returns.
const (
	defaultPositions = 10000
	maxPositions     = 100000
)

// found is a report a read found, with where it came from: segments hold the
// first stored copy of a (track, time); in the log, the lowest seq is first.
type found struct {
	point
	trackID int64
	seq     int64 // 0 for a report from a segment
}

// Positions returns stored history in time order (ties by uid): one track's, or
// every track's inside a box, or one track's inside a box; From/To bound the
// time as [From, To). At most q.Limit reports (default 10000, max 100000), the
// earliest first.
func (db *DB) Positions(ctx context.Context, q bluehelm.PositionQuery) ([]bluehelm.Position, error) {
	limit, err := clampLimit(q.Limit, defaultPositions, maxPositions)
	if err != nil {
		return nil, err
	}
	from := int64(math.MinInt64)
	if !q.From.IsZero() {
		from = ceilMillis(q.From)
	}
	var (
		hits []found
		cut  bool // hits was cut to the earliest limit at least once
	)
	return db.readHistory(ctx, q, from, limit, historyVisitor{
		// Once limit reports found are before a segment, stop. After a cut,
		// hits[:limit] are sorted (later appends go after them), so
		// hits[limit-1] tells.
		stop: func(tMin int64) bool {
			if len(hits) >= 2*limit {
				hits, cut = earliest(hits, limit), true
			}
			return cut && hits[limit-1].t < tMin
		},
		visit: func(f found) { hits = append(hits, f) },
		found: func() []found { return hits },
	})
}

// historyVisitor is what one read of stored history does with the reports it
// finds: visit gets every report of the query; before each segment (they come
// in t_min order and hold nothing earlier), stop may end the walk over the
// segments; found returns what the read answers.
type historyVisitor struct {
	stop  func(tMin int64) bool
	visit func(found)
	found func() []found
}

// readHistory is the read Positions and SamplePositions share: it checks q,
// takes one snapshot (compaction moves reports from the log to segments, and a
// read spanning two snapshots could see a report twice or not at all), walks the
// segments that may hold reports of q in [from, q.To) and then the log's first
// copies, and answers the found reports in time order (ties by uid), at most
// limit of them.
func (db *DB) readHistory(ctx context.Context, q bluehelm.PositionQuery, from int64, limit int, v historyVisitor) ([]bluehelm.Position, error) {
	if q.UID == "" && q.BBox == nil {
		return nil, bluehelm.Invalid("", "a positions query needs a uid or a bbox")
	}
	if q.BBox != nil {
		if err := q.BBox.Validate(); err != nil {
			return nil, err
		}
	}
	to := int64(math.MaxInt64)
	if !q.To.IsZero() {
		to = ceilMillis(q.To)
	}
	keep := func(p point) bool {
		return p.t >= from && p.t < to && (q.BBox == nil || q.BBox.Contains(bluehelm.Point{Lon: p.lon, Lat: p.lat}))
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbErr(err)
	}
	defer tx.Rollback()

	trackID := int64(0)
	if q.UID != "" {
		err := tx.QueryRowContext(ctx, `SELECT id FROM tracks WHERE uid = ?`, q.UID).Scan(&trackID)
		if errors.Is(err, sql.ErrNoRows) {
			return []bluehelm.Position{}, nil
		}
		if err != nil {
			return nil, dbErr(err)
		}
	}

	// Segments that may hold reports in [from, to): they start at most
	// segmentMaxSpan before from.
	lo := from
	if lo > math.MinInt64+segmentMaxSpan.Milliseconds() {
		lo -= segmentMaxSpan.Milliseconds()
	}
	segQ, segArgs := segmentQuery(q, trackID, lo, from, to)
	rows, err := tx.QueryContext(ctx, segQ, segArgs...)
	if err != nil {
		return nil, dbErr(err)
	}
	var buf []point
	for rows.Next() {
		var (
			tid, tMin int64
			data      []byte
		)
		if err := rows.Scan(&tid, &tMin, &data); err != nil {
			rows.Close()
			return nil, dbErr(err)
		}
		if v.stop(tMin) {
			break
		}
		if buf, err = decodeSegment(buf[:0], data, tMin); err != nil {
			rows.Close()
			return nil, err
		}
		for _, p := range buf {
			if keep(p) {
				v.visit(found{point: p, trackID: tid})
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}

	// The log: every report not yet compacted (bounded by compaction). Filter
	// only by track and time in SQL: a copy of a report outside the box must
	// still hide a later copy inside it.
	logQ := `SELECT seq, track_id, t_ms, data FROM position_log WHERE t_ms >= ? AND t_ms < ?`
	logArgs := []any{from, to}
	if q.UID != "" {
		logQ += ` AND track_id = ?`
		logArgs = append(logArgs, trackID)
	}
	logged, err := readLog(ctx, tx, logQ, logArgs...)
	if err != nil {
		return nil, err
	}
	if len(logged) > 0 {
		if logged, err = firstCopies(ctx, tx, logged); err != nil {
			return nil, err
		}
		for _, f := range logged {
			if keep(f.point) {
				v.visit(f)
			}
		}
	}

	hits := v.found()
	uids, err := trackUIDs(ctx, tx, hits)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(hits, func(a, b found) int {
		if a.t != b.t {
			return cmpInt64(a.t, b.t)
		}
		return strings.Compare(uids[a.trackID], uids[b.trackID])
	})
	out := make([]bluehelm.Position, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		out = append(out, h.position(uids[h.trackID]))
	}
	return out, nil
}

// segmentQuery returns the query for the segments that may hold reports of q
// in [from, to), which start no earlier than lo; in t_min order. One track's
// come from its index; a box's from the cells it covers or, for a box with too
// many cells, from the time index.
func segmentQuery(q bluehelm.PositionQuery, trackID, lo, from, to int64) (string, []any) {
	if q.UID != "" {
		return `SELECT track_id, t_min, data FROM position_segments INDEXED BY position_segments_track
			WHERE track_id = ? AND t_min >= ? AND t_min < ? AND t_max >= ? ORDER BY t_min`, []any{trackID, lo, to, from}
	}
	b := q.BBox
	box := ` AND s.max_lat >= ? AND s.min_lat <= ? AND s.max_lon >= ? AND s.min_lon <= ?`
	boxArgs := []any{b.MinLat, b.MaxLat, b.MinLon, b.MaxLon}
	if cells := cellList(*b); cells != nil {
		return `SELECT s.track_id, s.t_min, s.data FROM position_segments s
			WHERE s.id IN (SELECT segment_id FROM position_segment_cells WHERE cell IN (` + placeholders(len(cells)) + `) AND t_min >= ? AND t_min < ?)
			AND s.t_max >= ?` + box + ` ORDER BY s.t_min`, slices.Concat(cells, []any{lo, to, from}, boxArgs)
	}
	return `SELECT s.track_id, s.t_min, s.data FROM position_segments s INDEXED BY position_segments_time
		WHERE s.t_min >= ? AND s.t_min < ? AND s.t_max >= ?` + box + ` ORDER BY s.t_min`, slices.Concat([]any{lo, to, from}, boxArgs)
}

// earliest keeps the n earliest of hits, sorted by time.
func earliest(hits []found, n int) []found {
	slices.SortStableFunc(hits, func(a, b found) int { return cmpInt64(a.t, b.t) })
	return hits[:min(n, len(hits))]
}

func readLog(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]found, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []found
	for rows.Next() {
		var (
			f    found
			data sql.RawBytes
		)
		if err := rows.Scan(&f.seq, &f.trackID, &f.t, &data); err != nil {
			return nil, dbErr(err)
		}
		if err := decodeLogPoint(data, &f.point); err != nil {
			return nil, fmt.Errorf("sqlite: position_log seq %d: %w", f.seq, err)
		}
		out = append(out, f)
	}
	return out, dbErr(rows.Err())
}

// firstCopies drops log reports that are not the first stored copy of their
// (track, time): those a segment holds, and those an earlier log row holds.
func firstCopies(ctx context.Context, tx *sql.Tx, logged []found) ([]found, error) {
	type key struct{ track, t int64 }
	first := map[key]int64{}
	for _, f := range logged {
		k := key{f.trackID, f.t}
		if s, ok := first[k]; !ok || f.seq < s {
			first[k] = f.seq
		}
	}
	// Segments only hold times up to their track's last_t, so only reports at
	// or before it need looking up.
	lastT := map[int64]int64{}
	rows, err := tx.QueryContext(ctx, `SELECT id, last_t FROM tracks WHERE last_t IS NOT NULL`)
	if err != nil {
		return nil, dbErr(err)
	}
	for rows.Next() {
		var id, t int64
		if err := rows.Scan(&id, &t); err != nil {
			rows.Close()
			return nil, dbErr(err)
		}
		lastT[id] = t
	}
	rows.Close()
	// Per track, the time range of its log reports that segments may hold;
	// the segments overlapping it are read once.
	type span struct{ lo, hi int64 }
	check := map[int64]span{}
	for _, f := range logged {
		if lt, ok := lastT[f.trackID]; ok && f.t <= lt {
			sp, seen := check[f.trackID]
			if !seen {
				sp = span{f.t, f.t}
			}
			check[f.trackID] = span{min(sp.lo, f.t), max(sp.hi, f.t)}
		}
	}
	inSegments := map[key]bool{}
	var buf []point
	for id, sp := range check {
		srows, err := tx.QueryContext(ctx, `SELECT t_min, data FROM position_segments WHERE track_id = ? AND t_min >= ? AND t_min <= ? AND t_max >= ?`,
			id, sp.lo-segmentMaxSpan.Milliseconds(), sp.hi, sp.lo)
		if err != nil {
			return nil, dbErr(err)
		}
		for srows.Next() {
			var (
				tMin int64
				data []byte
			)
			if err := srows.Scan(&tMin, &data); err != nil {
				srows.Close()
				return nil, dbErr(err)
			}
			if buf, err = decodeSegment(buf[:0], data, tMin); err != nil {
				srows.Close()
				return nil, err
			}
			for _, p := range buf {
				if p.t >= sp.lo && p.t <= sp.hi {
					inSegments[key{id, p.t}] = true
				}
			}
		}
		srows.Close()
		if err := srows.Err(); err != nil {
			return nil, dbErr(err)
		}
	}
	return slices.DeleteFunc(logged, func(f found) bool {
		k := key{f.trackID, f.t}
		return inSegments[k] || first[k] != f.seq
	}), nil
}

// trackUIDs maps the track ids of hits to uids.
func trackUIDs(ctx context.Context, tx *sql.Tx, hits []found) (map[int64]string, error) {
	out := map[int64]string{}
	if len(hits) == 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, uid FROM tracks`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			uid string
		)
		if err := rows.Scan(&id, &uid); err != nil {
			return nil, dbErr(err)
		}
		out[id] = uid
	}
	return out, dbErr(rows.Err())
}

const trackCols = `id, uid, callsign, kind, cot_type, sidc, unit, nationality, classification, component, releasability, updated_at`

func scanTrack(dst []any, id *int64, t *bluehelm.Track, rel *string, upd *sql.NullInt64) []any {
	return append(dst, id, &t.UID, &t.Callsign, &t.Kind, &t.CoTType, &t.SIDC, &t.Unit, &t.Nationality, &t.Classification, &t.Component, rel, upd)
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
// ordered by uid: the tracks table (latest report in segments) overlaid with
// the newest reports still in the log, read in one snapshot.
func (db *DB) LatestStates(ctx context.Context) ([]bluehelm.TrackState, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbErr(err)
	}
	defer tx.Rollback()
	// The newest log report per track; on equal times the first stored.
	logged, err := readLog(ctx, tx, `SELECT seq, track_id, t_ms, data FROM position_log`)
	if err != nil {
		return nil, err
	}
	newest := map[int64]point{}
	newestSeq := map[int64]int64{}
	for _, f := range logged {
		p, ok := newest[f.trackID]
		if !ok || f.t > p.t || (f.t == p.t && f.seq < newestSeq[f.trackID]) {
			newest[f.trackID], newestSeq[f.trackID] = f.point, f.seq
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+trackCols+`, last_t, last_lat, last_lon, last_hae, last_ce, last_le, last_course, last_speed, last_battery, last_source
		FROM tracks ORDER BY uid`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.TrackState
	for rows.Next() {
		var (
			s    bluehelm.TrackState
			id   int64
			rel  string
			upd  sql.NullInt64
			last struct {
				t                                    sql.NullInt64
				lat, lon, hae, ce, le, course, speed sql.NullFloat64
				battery                              sql.NullInt64
				source                               sql.NullString
			}
		)
		dst := scanTrack(nil, &id, &s.Track, &rel, &upd)
		dst = append(dst, &last.t, &last.lat, &last.lon, &last.hae, &last.ce, &last.le, &last.course, &last.speed, &last.battery, &last.source)
		if err := rows.Scan(dst...); err != nil {
			return nil, dbErr(err)
		}
		s.Releasability, s.UpdatedAt = components(rel), fromMicros(upd)
		p, inLog := newest[id]
		switch {
		case last.t.Valid && (!inLog || p.t <= last.t.Int64):
			s.Position = point{t: last.t.Int64, lat: last.lat.Float64, lon: last.lon.Float64, hae: last.hae.Float64, ce: last.ce.Float64,
				le: last.le.Float64, course: last.course.Float64, speed: last.speed.Float64, battery: int(last.battery.Int64), source: last.source.String}.position(s.UID)
		case inLog:
			s.Position = p.position(s.UID)
		default:
			continue // a track without reports
		}
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
			id  int64
			rel string
			upd sql.NullInt64
		)
		if err := rows.Scan(scanTrack(nil, &id, &t, &rel, &upd)...); err != nil {
			return nil, dbErr(err)
		}
		t.Releasability, t.UpdatedAt = components(rel), fromMicros(upd)
		out = append(out, t)
	}
	return out, dbErr(rows.Err())
}
