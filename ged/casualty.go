package ged

import (
	"slices"

	"github.com/bluehelm/bluehelm"
)

// estimate is GED's fatality estimate for the whole event.
type estimate struct{ low, best, high int }

// distribute turns GED's per-side best counts and its event-level low/best/high
// into per-group casualties ("killed").
//
// GED breaks down only the best estimate (deaths_a + deaths_b + deaths_civilians +
// deaths_unknown = best); low and high are event totals. We do not know whose
// deaths the uncertainty concerns, so:
//
//   - each group's Best is its GED count, hence Σbest = best exactly;
//   - the spread above best (high − best) goes to the "unknown" group's High: "up
//     to this many more deaths of unknown affiliation", hence Σhigh = high;
//   - the shortfall below best (best − low) is taken first from the unknown group's
//     Low, and what the unknown group cannot absorb from the other groups in
//     proportion to their best (largest-remainder rounding, ties in CasualtyGroups
//     order), hence Σlow = low and 0 ≤ low ≤ best ≤ high for every entry.
//
// est must already satisfy low ≤ best ≤ high (see normalise). byGroup maps a
// casualty group to its best count; groups with nothing to report are left out.
// The result is in CasualtyGroups order.
func distribute(byGroup map[string]int, est estimate) []bluehelm.Casualty {
	unknown := byGroup["unknown"]
	var out []bluehelm.Casualty
	var others []int // indices into out of the attributed groups
	total := 0
	for _, g := range bluehelm.CasualtyGroups {
		n := byGroup[g]
		if g == "unknown" || n == 0 {
			continue
		}
		others = append(others, len(out))
		out = append(out, bluehelm.Casualty{Group: g, Kind: "killed", Low: n, Best: n, High: n})
		total += n
	}

	deficit := est.best - est.low
	fromUnknown := min(deficit, unknown)
	deficit -= fromUnknown
	if deficit > 0 && total > 0 {
		// Largest remainder: floor shares first, then one more to the groups with the
		// largest fractional part. deficit ≤ total, so no share exceeds its group.
		type rem struct{ i, frac int }
		rems := make([]rem, 0, len(others))
		given := 0
		for _, i := range others {
			share := deficit * out[i].Best / total
			out[i].Low -= share
			given += share
			rems = append(rems, rem{i, deficit * out[i].Best % total})
		}
		slices.SortStableFunc(rems, func(a, b rem) int { return b.frac - a.frac })
		for k := 0; given < deficit; k++ {
			out[rems[k].i].Low--
			given++
		}
	}

	spread := est.high - est.best
	if unknown > 0 || spread > 0 {
		out = append(out, bluehelm.Casualty{Group: "unknown", Kind: "killed", Low: unknown - fromUnknown, Best: unknown, High: unknown + spread})
	}
	return out
}

// normalise makes an estimate ordered. GED has events with low > best or
// high < best (about 1% of rows); the stored bounds are clamped to best, and the
// caller keeps the original figures in the narrative. It reports whether it changed
// anything.
func normalise(e estimate) (estimate, bool) {
	n := estimate{low: min(e.low, e.best), best: e.best, high: max(e.high, e.best)}
	return n, n != e
}
