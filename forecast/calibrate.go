package forecast

import (
	"errors"
	"math"
	"slices"
	"strings"
	"time"
)

// DefaultCalibrationWindows is how many horizon-long windows just before the
// origin calibrate a model's probabilities (see calibrate).
const DefaultCalibrationWindows = 6

const day = 24 * time.Hour

// selectEvents returns, sorted by time (stable on ID), the events of the
// target's categories strictly before origin. The models call it first thing,
// so that whatever slice a caller passes, nothing at or after the origin is
// ever read again; the caller's slice is not modified.
func selectEvents(history []Event, origin time.Time, target Target) []Event {
	var out []Event
	for _, e := range history {
		if !e.Time.Before(origin) {
			continue
		}
		if len(target.Categories) > 0 && !slices.Contains(target.Categories, e.Category) {
			continue
		}
		out = append(out, e)
	}
	// A total order (time, then ID, then place and category), so the result
	// does not depend on the order of the caller's slice.
	cmp := func(a, b Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		if a.ID != b.ID {
			return int(sign(float64(a.ID - b.ID)))
		}
		if c := cmpF(a.Point.Lon, b.Point.Lon); c != 0 {
			return c
		}
		if c := cmpF(a.Point.Lat, b.Point.Lat); c != 0 {
			return c
		}
		return strings.Compare(string(a.Category), string(b.Category))
	}
	if !slices.IsSortedFunc(out, cmp) {
		slices.SortFunc(out, cmp)
	}
	return out
}

func sign(v float64) float64 {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func checkFit(g *Grid, target Target) error {
	if g == nil || g.Len() == 0 {
		return errors.New("forecast: empty grid")
	}
	if target.Horizon <= 0 {
		return errors.New("forecast: the target's horizon must be positive")
	}
	return nil
}

// before returns the prefix of time-sorted events strictly before t.
func before(events []Event, t time.Time) []Event {
	n, _ := slices.BinarySearchFunc(events, t, func(e Event, t time.Time) int {
		if e.Time.Before(t) {
			return -1
		}
		return 1
	})
	return events[:n]
}

// between returns the time-sorted events in [from, to).
func between(events []Event, from, to time.Time) []Event {
	a := len(before(events, from))
	b := len(before(events, to))
	return events[a:b]
}

// hits marks the cells with at least one of the events.
func hits(g *Grid, events []Event) []bool {
	y := make([]bool, g.Len())
	for _, e := range events {
		if i, ok := g.Cell(e.Point); ok {
			y[i] = true
		}
	}
	return y
}

// rawCounts is a model's uncalibrated expected count per cell over
// [at, at+horizon), from the events strictly before at only.
type rawCounts func(at time.Time) []float64

// Calibration maps a model's raw expected count Λ to a probability,
// P = 1 − exp(−(A·Λ + B)): the Poisson chance of at least one event with the
// count rescaled by A and a floor B for cells the model gives nothing. Both are
// fitted by maximum likelihood (Bernoulli, concave in A and B) on the last
// Windows horizon-long windows before the origin: for each window start s the
// model forecasts from the events before s and is scored on the cells hit in
// [s, s+horizon), which all end by the origin — the future is never used.
// Ranking is unchanged (A > 0), so AUROC, average precision and PAI are the
// model's own; calibration only moves Brier and reliability.
type Calibration struct {
	A, B      float64
	Positives int // positive cell-windows the fit saw
	Windows   int // windows used
}

// Probability applies the calibration to a raw count.
func (c Calibration) Probability(raw float64) float64 {
	return -math.Expm1(-(c.A*raw + c.B))
}

// calibrate fits a Calibration for raw on the windows before origin.
// Windows that start before the first event are skipped (nothing to learn from).
func calibrate(g *Grid, events []Event, origin time.Time, horizon time.Duration, windows int, raw rawCounts) Calibration {
	if windows <= 0 {
		windows = DefaultCalibrationWindows
	}
	var pos []float64 // raw counts of positive cell-windows
	var negSum float64
	var negN, used int
	for k := 1; k <= windows; k++ {
		s := origin.Add(-time.Duration(k) * horizon)
		if len(events) == 0 || !events[0].Time.Before(s) {
			break
		}
		lam := raw(s)
		y := hits(g, between(events, s, s.Add(horizon)))
		for i, l := range lam {
			if y[i] {
				pos = append(pos, l)
			} else {
				negSum += l
				negN++
			}
		}
		used++
	}
	c := fitCalibration(pos, negSum, negN)
	c.Windows = used
	return c
}

// fitCalibration maximises ℓ(A,B) = Σ_pos log(1 − e^{−(AΛ+B)}) − A·ΣΛ_neg − B·n_neg.
// The negatives enter only through their sum and count, so one iteration costs
// O(positives). Projected Newton with step halving; ℓ is concave.
func fitCalibration(pos []float64, negSum float64, negN int) Calibration {
	n := len(pos) + negN
	if len(pos) == 0 || n == 0 {
		// Nothing observed to learn from: trust the raw counts as expected counts,
		// with a floor far below one event per cell-window.
		return Calibration{A: 1, B: 1e-6}
	}
	var posSum float64
	for _, l := range pos {
		posSum += l
	}
	const aMin, bMin = 1e-3, 1e-9
	// Start from moment matching: the expected number of hit cells ≈ observed.
	a := 1.0
	if t := posSum + negSum; t > 0 {
		a = math.Max(float64(len(pos))/t, aMin)
	}
	b := math.Max(0.1*float64(len(pos))/float64(n), bMin)
	ll := func(a, b float64) float64 {
		v := -a*negSum - b*float64(negN)
		for _, l := range pos {
			v += math.Log(-math.Expm1(-(a*l + b)))
		}
		return v
	}
	cur := ll(a, b)
	for it := 0; it < 100; it++ {
		ga, gb := -negSum, -float64(negN)
		var haa, hab, hbb float64
		for _, l := range pos {
			m := a*l + b
			em := math.Expm1(m) // e^m − 1
			d1 := 1 / em        // dℓ/dm
			d2 := -(em + 1) / (em * em)
			ga += l * d1
			gb += d1
			haa += l * l * d2
			hab += l * d2
			hbb += d2
		}
		// Newton step: solve H·δ = −g (H negative definite, or semi when all Λ equal).
		det := haa*hbb - hab*hab
		var da, db float64
		if math.Abs(det) > 1e-300*math.Max(1, haa*hbb) && det > 0 {
			da = -(hbb*ga - hab*gb) / det
			db = -(haa*gb - hab*ga) / det
		} else { // degenerate: move B alone
			da, db = 0, -gb/hbb
		}
		step := 1.0
		var na, nb, nv float64
		for ; step > 1e-8; step /= 2 {
			na = math.Max(a+step*da, aMin)
			nb = math.Max(b+step*db, bMin)
			nv = ll(na, nb)
			if nv >= cur {
				break
			}
		}
		if step <= 1e-8 {
			break
		}
		done := math.Abs(na-a) <= 1e-9*math.Max(a, 1e-12) && math.Abs(nb-b) <= 1e-9*math.Max(b, 1e-12)
		gain := nv - cur
		a, b, cur = na, nb, nv
		if done || gain <= 1e-12*(1+math.Abs(cur)) {
			break
		}
	}
	return Calibration{A: a, B: b, Positives: len(pos)}
}

// CellForecast is the Forecast of every model here: calibrated probabilities
// per cell, the raw expected counts behind them, and a model-specific Why.
type CellForecast struct {
	// Raw is the model's uncalibrated expected count of target events per cell
	// over the horizon (for persistence, 1 in a hot cell and 0 elsewhere).
	Raw         []float64
	Calibration Calibration
	p           []float64
	why         func(cell, k int) []Contribution
}

func newCellForecast(raw []float64, c Calibration, why func(cell, k int) []Contribution) *CellForecast {
	p := make([]float64, len(raw))
	for i, l := range raw {
		p[i] = c.Probability(l)
	}
	return &CellForecast{Raw: raw, Calibration: c, p: p, why: why}
}

// Probability is the calibrated probability of at least one target event in
// the cell during the horizon.
func (f *CellForecast) Probability(cell int) float64 {
	if cell < 0 || cell >= len(f.p) {
		return 0
	}
	return f.p[cell]
}

// Expected is the calibrated expected count, A·Raw + B (the count whose
// Poisson chance of ≥ 1 is Probability).
func (f *CellForecast) Expected(cell int) float64 {
	if cell < 0 || cell >= len(f.Raw) {
		return 0
	}
	return f.Calibration.A*f.Raw[cell] + f.Calibration.B
}

// Why returns up to k past events behind the cell's forecast, largest first.
func (f *CellForecast) Why(cell, k int) []Contribution {
	if f.why == nil || k <= 0 || cell < 0 || cell >= len(f.p) {
		return nil
	}
	return f.why(cell, k)
}

// topContributions sorts contributions by weight (largest first, then by event
// ID for determinism) and keeps k.
func topContributions(cs []Contribution, k int) []Contribution {
	slices.SortFunc(cs, func(a, b Contribution) int {
		if a.Weight != b.Weight {
			if a.Weight > b.Weight {
				return -1
			}
			return 1
		}
		return int(sign(float64(a.EventID - b.EventID)))
	})
	if len(cs) > k {
		cs = cs[:k]
	}
	return cs
}

// normCDF is Φ.
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// spreadGaussian adds w times the mass of an isotropic Gaussian N((x,y), σ²)
// over each cell of g to out, truncated at cut km from the centre (cells beyond
// get nothing; cut ≥ 4σ loses < 0.04 % of the mass). Separable: the mass over
// a rectangle is the product of the mass over its two sides.
func spreadGaussian(g *Grid, x, y, sigma, cut, w float64, out []float64, fx, fy []float64) ([]float64, []float64) {
	ox, oy := g.originXY()
	cw, ch := g.cellW(), g.cellH()
	c0, c1 := span(x-cut, x+cut, ox, cw, g.nx)
	r0, r1 := span(y-cut, y+cut, oy, ch, g.ny)
	if c0 > c1 || r0 > r1 {
		return fx, fy
	}
	fx = axisMass(fx[:0], x, sigma, ox, cw, c0, c1)
	fy = axisMass(fy[:0], y, sigma, oy, ch, r0, r1)
	for r := r0; r <= r1; r++ {
		wy := w * fy[r-r0]
		if wy == 0 {
			continue
		}
		for c := c0; c <= c1; c++ {
			if i, ok := g.cellAt(c, r); ok {
				out[i] += wy * fx[c-c0]
			}
		}
	}
	return fx, fy
}

// axisMass appends the 1-D Gaussian mass of the cells c0..c1 along one axis.
func axisMass(dst []float64, mu, sigma, origin, step float64, c0, c1 int) []float64 {
	prev := normCDF((origin + float64(c0)*step - mu) / sigma)
	for c := c0; c <= c1; c++ {
		next := normCDF((origin + float64(c+1)*step - mu) / sigma)
		dst = append(dst, next-prev)
		prev = next
	}
	return dst
}

// cellMass is the mass of N((x,y), σ²) over cell i (0 beyond cut).
func cellMass(g *Grid, i int, x, y, sigma, cut float64) float64 {
	x0, y0, x1, y1 := g.rect(i)
	if x < x0-cut || x > x1+cut || y < y0-cut || y > y1+cut {
		return 0
	}
	return (normCDF((x1-x)/sigma) - normCDF((x0-x)/sigma)) * (normCDF((y1-y)/sigma) - normCDF((y0-y)/sigma))
}

func days(d time.Duration) float64 { return d.Hours() / 24 }
