package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Default and maximum number of positions one Positions call returns (as the
// SQLite store).
const (
	defaultPositions = 10000
	maxPositions     = 100000
)

const reportSelect = `uid, t, ST_X(geom), ST_Y(geom), hae, ce, le, course, speed, battery, source`

// historyWhere checks q and returns the conditions it puts on positions, over
// [from, To): from is q.From, or for a sampled query the start the intervals
// count from.
func historyWhere(q bluehelm.PositionQuery) (recordWhere, error) {
	var w recordWhere
	if q.UID == "" && q.BBox == nil {
		return w, bluehelm.Invalid("", "a positions query needs a uid or a bbox")
	}
	if q.UID != "" {
		w.add("uid = ?", q.UID)
	}
	if b := q.BBox; b != nil {
		if err := b.Validate(); err != nil {
			return w, err
		}
		// && is bounding-box intersection, edges included, on the GiST index.
		w.add("geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)", b.MinLon, b.MinLat, b.MaxLon, b.MaxLat)
	}
	// Times are whole microseconds; t >= From ⇔ t >= ceil(From), t < To ⇔ t
	// < ceil(To) (pgx would truncate).
	if !q.From.IsZero() {
		w.add("t >= ?", ceilMicro(q.From))
	}
	if !q.To.IsZero() {
		w.add("t < ?", ceilMicro(q.To))
	}
	return w, nil
}

// reportOrder is time order with ties by uid in byte order. One track's
// history is ordered by time alone, so that it is read in the primary key's
// order without a sort.
func reportOrder(q bluehelm.PositionQuery) string {
	if q.UID != "" {
		return ` ORDER BY t`
	}
	return ` ORDER BY t, uid COLLATE "C"`
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
	w, err := historyWhere(q)
	if err != nil {
		return nil, err
	}
	return db.queryReports(ctx, `SELECT `+reportSelect+` FROM positions`+w.where()+reportOrder(q)+` LIMIT `+strconv.Itoa(limit), w.args)
}

// SamplePositions returns stored history thinned to one report per track per
// step: the first report of each track in each interval [From+k·step,
// From+(k+1)·step) that lies in [From, To) and in the box (or is of the
// track). Reports are in time order (ties by uid), at most q.Limit (default
// 10000, max 100000), the earliest. The thinning is done by the database
// (DISTINCT ON the track and interval), so a replay of a day of many tracks
// sends only what it shows.
func (db *DB) SamplePositions(ctx context.Context, q bluehelm.PositionQuery, step time.Duration) ([]bluehelm.Position, error) {
	limit, err := clampLimit(q.Limit, defaultPositions, maxPositions)
	if err != nil {
		return nil, err
	}
	if step < time.Millisecond {
		return nil, bluehelm.Invalid("step", "must be at least a millisecond")
	}
	if q.From.IsZero() {
		return nil, bluehelm.Invalid("from", "a sampled positions query needs a start (the intervals count from it)")
	}
	w, err := historyWhere(q)
	if err != nil {
		return nil, err
	}
	// The interval of a report: whole microseconds since the start, divided
	// by the step's (integer arithmetic: no rounding at interval edges).
	from := len(w.args) + 1
	args := append(w.args, ceilMicro(q.From), step.Microseconds())
	interval := `(extract(epoch FROM t - $` + strconv.Itoa(from) + `::timestamptz) * 1000000)::bigint / $` + strconv.Itoa(from+1) + `::bigint`
	return db.queryReports(ctx, `SELECT `+reportSelect+` FROM (
		SELECT DISTINCT ON (uid, k) uid, t, geom, hae, ce, le, course, speed, battery, source, `+interval+` AS k
		FROM positions`+w.where()+` ORDER BY uid, k, t) s
		ORDER BY t, uid COLLATE "C" LIMIT `+strconv.Itoa(limit), args)
}

func (db *DB) queryReports(ctx context.Context, sql string, args []any) ([]bluehelm.Position, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []bluehelm.Position{}
	for rows.Next() {
		var p bluehelm.Position
		var battery int32
		if err := rows.Scan(&p.UID, &p.Time, &p.Lon, &p.Lat, &p.HAE, &p.CE, &p.LE, &p.Course, &p.Speed, &battery, &p.Source); err != nil {
			return nil, dbErr(err)
		}
		p.Time, p.Battery = p.Time.UTC(), int(battery)
		out = append(out, p)
	}
	return out, dbErr(rows.Err())
}

// scanTrack reads the columns of trackFields, and then dst.
func scanTrack(rows pgx.Rows, t *bluehelm.Track, dst ...any) error {
	var (
		kind, component string
		class           int32
		rel             []string
		updated         *time.Time
	)
	err := rows.Scan(append([]any{&t.UID, &t.Callsign, &kind, &t.CoTType, &t.SIDC, &t.Unit, &t.Nationality,
		&class, &component, &rel, &updated}, dst...)...)
	if err != nil {
		return err
	}
	t.Kind, t.Classification, t.Component = bluehelm.TrackKind(kind), bluehelm.Classification(class), bluehelm.Component(component)
	t.Releasability = nil
	for _, c := range rel {
		t.Releasability = append(t.Releasability, bluehelm.Component(c))
	}
	t.UpdatedAt = time.Time{}
	if updated != nil {
		t.UpdatedAt = updated.UTC()
	}
	return nil
}

// LatestStates returns every track that has a position, with its newest one,
// ordered by uid: one probe of the positions primary key per track.
func (db *DB) LatestStates(ctx context.Context) ([]bluehelm.TrackState, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, `SELECT tr.uid, tr.callsign, tr.kind, tr.cot_type, tr.sidc, tr.unit, tr.nationality,
			tr.classification, tr.component, tr.releasability, tr.updated_at,
			p.t, ST_X(p.geom), ST_Y(p.geom), p.hae, p.ce, p.le, p.course, p.speed, p.battery, p.source
		FROM tracks tr CROSS JOIN LATERAL (
			SELECT t, geom, hae, ce, le, course, speed, battery, source FROM positions
			WHERE positions.uid = tr.uid ORDER BY t DESC LIMIT 1) p
		ORDER BY tr.uid COLLATE "C"`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.TrackState
	for rows.Next() {
		var (
			s       bluehelm.TrackState
			battery int32
		)
		p := &s.Position
		if err := scanTrack(rows, &s.Track, &p.Time, &p.Lon, &p.Lat, &p.HAE, &p.CE, &p.LE, &p.Course, &p.Speed, &battery, &p.Source); err != nil {
			return nil, dbErr(err)
		}
		p.UID, p.Time, p.Battery = s.UID, p.Time.UTC(), int(battery)
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
	rows, err := r.Query(ctx, `SELECT `+trackFields+` FROM tracks ORDER BY uid COLLATE "C"`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.Track
	for rows.Next() {
		var t bluehelm.Track
		if err := scanTrack(rows, &t); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, t)
	}
	return out, dbErr(rows.Err())
}
