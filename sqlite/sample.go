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

// SamplePositions returns stored history thinned to one report per track per
// step: the first report of each track in each interval [From+k·step,
// From+(k+1)·step) that lies in [From, To) and in the box (or is of the track).
// Reports are in time order (ties by uid), at most q.Limit (default 10000, max
// 100000), the earliest. A replay of a day of a thousand tracks reporting every
// few seconds is millions of reports; thinned to a minute it is a few per cent
// of that, and the thinning is done here, in one pass over the segments, rather
// than by paging every report out through Positions.
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
	if q.UID == "" && q.BBox == nil {
		return nil, bluehelm.Invalid("", "a positions query needs a uid or a bbox")
	}
	if q.BBox != nil {
		if err := q.BBox.Validate(); err != nil {
			return nil, err
		}
	}
	from, to := ceilMillis(q.From), int64(math.MaxInt64)
	if !q.To.IsZero() {
		to = ceilMillis(q.To)
	}
	stepMs := step.Milliseconds()
	keep := func(p point) bool {
		return p.t >= from && p.t < to && (q.BBox == nil || q.BBox.Contains(bluehelm.Point{Lon: p.lon, Lat: p.lat}))
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	// One snapshot, for the reason Positions gives.
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

	// best holds the earliest report found so far of each (track, interval).
	type key struct{ track, interval int64 }
	best := map[key]found{}
	consider := func(f found) {
		k := key{f.trackID, (f.t - from) / stepMs}
		if cur, ok := best[k]; !ok || f.t < cur.t {
			best[k] = f
		}
	}
	// prune keeps the reports at or before the limit-th earliest and returns
	// its time. A dropped interval may be found again with a later report,
	// which is later still than the limit-th, so never in the answer.
	prune := func() int64 {
		ts := make([]int64, 0, len(best))
		for _, f := range best {
			ts = append(ts, f.t)
		}
		slices.Sort(ts)
		cut := ts[limit-1]
		for k, f := range best {
			if f.t > cut {
				delete(best, k)
			}
		}
		return cut
	}

	lo := from
	if lo > math.MinInt64+segmentMaxSpan.Milliseconds() {
		lo -= segmentMaxSpan.Milliseconds()
	}
	segQ, segArgs := segmentQuery(q, trackID, lo, from, to)
	rows, err := tx.QueryContext(ctx, segQ, segArgs...)
	if err != nil {
		return nil, dbErr(err)
	}
	var (
		buf    []point
		cut    = int64(math.MaxInt64) // after a prune: the limit-th earliest time
		pruned bool
	)
	for rows.Next() {
		var (
			tid, tMin int64
			data      []byte
		)
		if err := rows.Scan(&tid, &tMin, &data); err != nil {
			rows.Close()
			return nil, dbErr(err)
		}
		// Segments come in t_min order: once limit reports found are before
		// this one, nothing later can be among the earliest limit.
		if len(best) >= 2*limit {
			cut, pruned = prune(), true
		}
		if pruned && cut < tMin {
			break
		}
		if buf, err = decodeSegment(buf[:0], data, tMin); err != nil {
			rows.Close()
			return nil, err
		}
		for _, p := range buf {
			if keep(p) {
				consider(found{point: p, trackID: tid})
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}

	// The log, as in Positions: first copies are decided before the box.
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
				consider(f)
			}
		}
	}

	hits := make([]found, 0, len(best))
	for _, f := range best {
		hits = append(hits, f)
	}
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
