package sqlite

import (
	"context"
	"math"
	"slices"
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
	from, stepMs := ceilMillis(q.From), step.Milliseconds()

	// best holds the earliest report found so far of each (track, interval).
	type key struct{ track, interval int64 }
	best := map[key]found{}
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
	var (
		cut    = int64(math.MaxInt64) // after a prune: the limit-th earliest time
		pruned bool
	)
	return db.readHistory(ctx, q, from, limit, historyVisitor{
		// Once limit reports found are before a segment, nothing later can be
		// among the earliest limit.
		stop: func(tMin int64) bool {
			if len(best) >= 2*limit {
				cut, pruned = prune(), true
			}
			return pruned && cut < tMin
		},
		visit: func(f found) {
			k := key{f.trackID, (f.t - from) / stepMs}
			if cur, ok := best[k]; !ok || f.t < cur.t {
				best[k] = f
			}
		},
		found: func() []found {
			hits := make([]found, 0, len(best))
			for _, f := range best {
				hits = append(hits, f)
			}
			return hits
		},
	})
}
