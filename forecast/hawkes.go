package forecast

import (
	"math"
	"slices"
	"sync"
	"time"
)

// HawkesConfig tunes the self-exciting model. Zero values take the defaults.
//
// The defaults were chosen on the validation origins (2015–2017 for the CAR
// GED file, 2014–2016 for South Sudan's; 5 km cells, 30-day horizon), before
// the periods the benchmarks report: a 10-year fit window, a 365-day time
// cut-off and a σ floor of 0.05 km gave the best average precision there (over
// 3 years / 180 days / 0.5 km). The background — 80 % in the events' own
// cells, 20 % spread by a 15 km kernel — was chosen later on the same
// validation origins, 5 km and 0.5° cells (over shares 0–1 and kernels of
// 5–25 km, which were close; it raised the mean average precision there).
type HawkesConfig struct {
	// FitWindow is the likelihood period before the origin (default 10
	// years): the background is taken as constant in time over it.
	FitWindow time.Duration
	// MaxFitEvents caps the events whose parents EM weighs (the most recent
	// ones; default 20000): a handful of parameters does not need more, and it
	// bounds the fit's time whatever the history.
	MaxFitEvents int
	// MaxPairs caps the candidate parent–child pairs (default 1,000,000): the
	// oldest children are dropped beyond it, which bounds EM's time in dense
	// histories.
	MaxPairs int
	// TimeCutoff and SpaceCutoffKm truncate the triggering kernels (defaults
	// 365 days, 50 km). The kernels are renormalised on the truncated support,
	// and the fit keeps 1/decay ≤ TimeCutoff/3 and σ ≤ SpaceCutoffKm/3 so the
	// truncation stays in the tails.
	TimeCutoff    time.Duration
	SpaceCutoffKm float64
	// BackgroundKm is the bandwidth of the background's kernel (default 15
	// km): the density EM weighs events with, and the spread of the share of
	// the forecast background that leaves the events' cells.
	BackgroundKm float64
	// MinSigmaKm is the smallest spatial spread of offspring (default 0.05
	// km). Data geocoded to a town's point put many events on the same spot,
	// and the maximum-likelihood σ shrinks towards zero: on UCDP GED it sits
	// at the floor, offspring land "at the same place".
	MinSigmaKm float64
	// MaxIterations of EM (default 30: real and planted data converge in
	// 10–20; data without clustering creep towards κ = 0); it stops earlier when κ moves by less
	// than Tolerance and the other parameters by less than Tolerance relatively
	// (default 1e-3).
	MaxIterations int
	Tolerance     float64
	// Start values of EM (defaults κ 0.3, 1/decay 10 days, σ 5 km).
	StartKappa, StartDecayDays, StartSigmaKm float64
	CalibrationWindows                       int
	// BackgroundCellShare is the share of the forecast background that stays
	// in each background event's own cell (default 0.8; negative for 0, a
	// purely kernel background); the rest is spread by the BackgroundKm
	// kernel. Violence recurs in the same towns for years: a kernel alone
	// blurs a town's long-run rate over its neighbours, while the exact
	// per-cell counts, shrunk towards the kernel as the rate model shrinks its
	// counts towards a smooth prior, keep it where it was recorded.
	BackgroundCellShare float64
}

// Hawkes is a spatio-temporal self-exciting point process (ETAS-like):
//
//	λ(s,t) = μ(s) + Σ_{t_i<t} κ · g(t−t_i) · h(s−s_i)
//	g(Δt) = β e^{−βΔt} (truncated at TimeCutoff),  h = N(0, σ²I) (truncated at SpaceCutoffKm)
//	μ(s)  = ν · f(s),  f a Gaussian kernel density (BackgroundKm) of the events
//	        weighted by their probability of being background
//
// fitted by EM (stochastic declustering: the E-step gives each event's
// probability of being background or the offspring of each earlier event; the
// M-step re-estimates ν, f, κ, β and σ from those weights, β and σ by the
// maximum-likelihood estimates of the truncated kernels) on the FitWindow
// before the origin. Events on the same day as each other are not parent and
// child (Δt must be > 0): with day-precision data a zero lag carries no order.
//
// The forecast is the expected count per cell over the horizon, Λ = ∫∫ λ:
// the background's mass over the cell times the horizon (the background as
// forecast puts BackgroundCellShare of each event's background weight in its
// own cell and spreads the rest by f's kernel), plus each past
// event's excitation still to come in the horizon. The offspring of events
// that happen inside the horizon are ignored (at κ ≈ 0.3 and a 30-day horizon
// they would add roughly κ·(share of their offspring inside the horizon) to
// the count near recent events; the calibration's scale takes up the level).
// P = calibrated 1 − exp(−Λ) (see Calibration; the parameters are those
// fitted at the origin, the calibration windows forecast with them from the
// events before each window's start, background included).
type Hawkes struct{ Config HawkesConfig }

// NewHawkes returns the self-exciting model.
func NewHawkes(c HawkesConfig) *Hawkes { return &Hawkes{Config: c.withDefaults()} }

func (m *Hawkes) Name() string { return "hawkes" }

func (c HawkesConfig) withDefaults() HawkesConfig {
	if c.FitWindow <= 0 {
		c.FitWindow = 10 * 365 * day
	}
	if c.MaxFitEvents <= 0 {
		c.MaxFitEvents = 20000
	}
	if c.MaxPairs <= 0 {
		c.MaxPairs = 1000000
	}
	if c.TimeCutoff <= 0 {
		c.TimeCutoff = 365 * day
	}
	if !(c.SpaceCutoffKm > 0) {
		c.SpaceCutoffKm = 50
	}
	if !(c.BackgroundKm > 0) {
		c.BackgroundKm = 15
	}
	switch {
	case c.BackgroundCellShare == 0 || math.IsNaN(c.BackgroundCellShare):
		c.BackgroundCellShare = 0.8
	case c.BackgroundCellShare < 0:
		c.BackgroundCellShare = 0
	case c.BackgroundCellShare > 1:
		c.BackgroundCellShare = 1
	}
	if !(c.MinSigmaKm > 0) {
		c.MinSigmaKm = 0.05
	}
	if c.MaxIterations <= 0 {
		c.MaxIterations = 30
	}
	if !(c.Tolerance > 0) {
		c.Tolerance = 1e-3
	}
	if !(c.StartKappa > 0) {
		c.StartKappa = 0.3
	}
	if !(c.StartDecayDays > 0) {
		c.StartDecayDays = 10
	}
	if !(c.StartSigmaKm > 0) {
		c.StartSigmaKm = 5
	}
	return c
}

// HawkesParams are the fitted parameters, for reports and tests.
type HawkesParams struct {
	Kappa            float64 // branching ratio: expected direct offspring per event
	DecayDays        float64 // 1/β, mean delay of an offspring
	SigmaKm          float64 // spatial spread of offspring
	BackgroundPerDay float64 // ν, background events per day in the fitted region
	FitEvents        int     // events whose parents EM weighed
	Pairs            int     // candidate parent–child pairs within the cut-offs
	Iterations       int
}

// HawkesForecast is the Hawkes model's forecast with its fitted parameters.
type HawkesForecast struct {
	*CellForecast
	Params HawkesParams
}

// hev is an event in the model's frame: days since the origin (negative) and km.
type hev struct {
	t, x, y float64
	id      int64
	cell    int32 // the grid cell holding the event, −1 outside every cell
}

func (m *Hawkes) Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error) {
	if err := checkFit(g, target); err != nil {
		return nil, err
	}
	c := m.Config.withDefaults()
	events := selectEvents(history, origin, target)

	// Only events near the grid matter: within the larger of the two kernels'
	// reach of its rectangle.
	ox, oy := g.originXY()
	gx1, gy1 := ox+float64(g.nx)*g.cellW(), oy+float64(g.ny)*g.cellH()
	margin := math.Max(c.SpaceCutoffKm, 4*c.BackgroundKm)
	ev := make([]hev, 0, len(events))
	for _, e := range events {
		x, y := g.xy(e.Point)
		if x < ox-margin || x > gx1+margin || y < oy-margin || y > gy1+margin {
			continue
		}
		cell := int32(-1)
		if i, ok := g.Cell(e.Point); ok {
			cell = int32(i)
		}
		ev = append(ev, hev{t: days(e.Time.Sub(origin)), x: x, y: y, id: e.ID, cell: cell})
	}

	f := &hawkesFit{c: c, ev: ev, tcut: days(c.TimeCutoff), rcut: c.SpaceCutoffKm}
	f.fit()

	horizon := days(target.Horizon)
	bg := f.backgroundCells(g, horizon, 0)
	raw := func(at time.Time) []float64 {
		s := days(at.Sub(origin))
		// A calibration window's background comes from the events before the
		// window only: the origin's would hold the window's own events, most
		// of all in their own cells, and calibrate a forecast that has seen
		// its outcome.
		var lam []float64
		if s < 0 {
			lam = f.backgroundCells(g, horizon, s)
		} else {
			lam = slices.Clone(bg)
		}
		var fx, fy []float64
		for _, p := range f.parents(s) {
			fx, fy = spreadGaussian(g, p.x, p.y, f.sigma, f.spreadCut(), f.excitation(s-p.t, horizon), lam, fx, fy)
		}
		return lam
	}
	cal := calibrate(g, events, origin, target.Horizon, c.CalibrationWindows, raw)
	lam := raw(origin)
	out := &HawkesForecast{
		CellForecast: newCellForecast(lam, cal, nil),
		Params: HawkesParams{Kappa: f.kappa, DecayDays: 1 / f.beta, SigmaKm: f.sigma, BackgroundPerDay: f.nu,
			FitEvents: f.nChildren, Pairs: f.nPairs, Iterations: f.iterations},
	}
	// Why: the past events whose excitation makes up most of the cell's count,
	// as shares of that count (the background's share is the rest).
	out.why = func(cell, k int) []Contribution {
		if lam[cell] <= 0 {
			return nil
		}
		var cs []Contribution
		for _, p := range f.parents(0) {
			v := f.excitation(-p.t, horizon) * cellMass(g, cell, p.x, p.y, f.sigma, f.spreadCut())
			if v > 0 {
				cs = append(cs, Contribution{EventID: p.id, Weight: v / lam[cell]})
			}
		}
		return topContributions(cs, k)
	}
	return out, nil
}

// hawkesFit holds the EM state.
type hawkesFit struct {
	c          HawkesConfig
	ev         []hev // sorted by time
	tcut, rcut float64

	kappa, beta, sigma, nu float64
	t0                     float64 // start of the likelihood period (days, ≤ 0)
	first                  int     // first child (events[first:] are the children)
	w                      []float64
	nChildren, nPairs      int
	iterations             int
}

func (f *hawkesFit) spreadCut() float64 { return math.Min(4*f.sigma, f.rcut) }

// parents returns the events that can still excite at time s (days): those in
// [s − TimeCutoff, s).
func (f *hawkesFit) parents(s float64) []hev {
	lo, _ := slices.BinarySearchFunc(f.ev, s-f.tcut, func(e hev, t float64) int { return cmpF(e.t, t) })
	hi, _ := slices.BinarySearchFunc(f.ev, s, func(e hev, t float64) int { return cmpF(e.t, t) })
	return f.ev[lo:hi]
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// gNorm renormalises g on [0, TimeCutoff].
func (f *hawkesFit) gNorm() float64 { return 1 / -math.Expm1(-f.beta*f.tcut) }

// excitation is κ times the mass of g over [age, age+horizon] ∩ [0, TimeCutoff]:
// the expected offspring in the horizon of an event of that age at its start.
func (f *hawkesFit) excitation(age, horizon float64) float64 {
	if age < 0 || age >= f.tcut {
		return 0
	}
	b := math.Min(age+horizon, f.tcut)
	return f.kappa * f.gNorm() * (math.Exp(-f.beta*age) - math.Exp(-f.beta*b))
}

func (f *hawkesFit) fit() {
	c := f.c
	n := len(f.ev)
	f.kappa, f.beta, f.sigma = c.StartKappa, 1/c.StartDecayDays, math.Min(c.StartSigmaKm, f.rcut/3)
	if n == 0 {
		f.kappa, f.nu = 0, 0
		return
	}
	// The likelihood period: the FitWindow, but not before the data start nor
	// before the MaxFitEvents-th most recent event.
	f.t0 = math.Max(-days(c.FitWindow), f.ev[0].t)
	if n > c.MaxFitEvents {
		f.t0 = math.Max(f.t0, f.ev[n-c.MaxFitEvents].t)
	}
	f.first = sortSearch(f.ev, f.t0)
	pairs := f.candidatePairs(c.MaxPairs) // may keep only the most recent children
	f.t0 = math.Min(f.t0, f.ev[f.first].t)
	if pairs.first > f.first {
		f.first, f.t0 = pairs.first, f.ev[pairs.first].t
	}
	children := f.ev[f.first:]
	f.nChildren = len(children)
	f.nPairs = len(pairs.dt)
	tfit := math.Max(-f.t0, 1)
	f.w = make([]float64, len(children))
	for i := range f.w {
		f.w[i] = 1
	}
	f.nu = float64(len(children)) / tfit
	bgr := newRaster(children, c.BackgroundKm)

	// Parents that can have offspring in the period, for κ's denominator.
	parents := f.ev[sortSearch(f.ev, f.t0-f.tcut):]

	for it := 0; it < c.MaxIterations; it++ {
		f.iterations = it + 1
		dens := bgr.density(children, f.w)
		// E-step, in two fixed halves on two goroutines (fixed so that the sums,
		// and so the fit, do not depend on scheduling).
		s2 := f.sigma * f.sigma
		hn := 1 / -math.Expm1(-f.rcut*f.rcut/(2*s2))
		k := f.kappa * f.gNorm() * f.beta * hn / (2 * math.Pi * s2)
		a := 1 / (2 * s2)
		var sums [2][4]float64 // P, PD, PR, W
		half := len(children) / 2
		var wg sync.WaitGroup
		for h, r := range [2][2]int{{0, half}, {half, len(children)}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sums[h] = f.estep(pairs, dens, r[0], r[1], k, a)
			}()
		}
		wg.Wait()
		P, PD, PR, W := sums[0][0]+sums[1][0], sums[0][1]+sums[1][1], sums[0][2]+sums[1][2], sums[0][3]+sums[1][3]
		// M-step.
		old := [4]float64{f.kappa, f.beta, f.sigma, f.nu}
		f.nu = W / tfit
		if P > 1e-9 {
			f.beta = truncExpRate(PD/P, f.tcut)
			f.beta = math.Max(f.beta, 3/f.tcut)
			f.beta = math.Min(f.beta, 10) // 1/β ≥ 0.1 day: below the data's resolution
			f.sigma = math.Sqrt(1 / (2 * truncExpRate(PR/P, f.rcut*f.rcut)))
			f.sigma = math.Min(math.Max(f.sigma, c.MinSigmaKm), f.rcut/3)
		}
		var E float64
		gn := f.gNorm()
		for _, p := range parents {
			lo := math.Max(f.t0-p.t, 0)
			hi := math.Min(-p.t, f.tcut)
			if hi > lo {
				E += gn * (math.Exp(-f.beta*lo) - math.Exp(-f.beta*hi))
			}
		}
		if E > 0 {
			f.kappa = math.Min(P/E, 0.95)
		} else {
			f.kappa = 0
		}
		// Converged when κ moves by less than the tolerance (absolute: it may
		// go to 0) and the others by less than it relatively.
		moved := math.Abs(f.kappa - old[0])
		for j, v := range [4]float64{f.kappa, f.beta, f.sigma, f.nu} {
			if j > 0 {
				moved = math.Max(moved, math.Abs(v-old[j])/math.Max(math.Abs(old[j]), 1e-12))
			}
		}
		if moved < c.Tolerance {
			break
		}
	}
}

// estep weighs children [from, to): each one's probability of being
// background (into f.w) or the offspring of each candidate parent, and returns
// the sums the M-step needs: Σp, Σp·Δt, Σp·r², Σw.
func (f *hawkesFit) estep(pairs pairSet, dens []float64, from, to int, k, a float64) [4]float64 {
	var P, PD, PR, W float64
	var trig []float64
	for i := from; i < to; i++ {
		bg := f.nu * dens[i]
		lo, hi := pairs.start[i], pairs.end[i]
		trig = trig[:0]
		tot := bg
		for q := lo; q < hi; q++ {
			v := k * math.Exp(-f.beta*float64(pairs.dt[q])-a*float64(pairs.r2[q]))
			trig = append(trig, v)
			tot += v
		}
		if tot <= 0 { // nothing explains it: call it background
			f.w[i] = 1
			W++
			continue
		}
		f.w[i] = bg / tot
		W += f.w[i]
		for q := lo; q < hi; q++ {
			p := trig[q-lo] / tot
			P += p
			PD += p * float64(pairs.dt[q])
			PR += p * float64(pairs.r2[q])
		}
	}
	return [4]float64{P, PD, PR, W}
}

func sortSearch(ev []hev, t float64) int {
	i, _ := slices.BinarySearchFunc(ev, t, func(e hev, t float64) int { return cmpF(e.t, t) })
	return i
}

// pairSet lists, per child, its candidate parents within the cut-offs.
type pairSet struct {
	first      int     // the first child kept (index into the events)
	start, end []int32 // child i's (from first) pairs are [start[i], end[i])
	dt, r2     []float32
}

// candidatePairs finds, for each child, the earlier events within TimeCutoff
// and SpaceCutoffKm, through a hash of square buckets of the space cut-off:
// a parent is in the child's bucket or one of the eight around it. Children
// are taken from the newest back, and the oldest are dropped once budget pairs
// are found: the EM's cost is its pairs, and a few parameters do not need
// millions of them.
func (f *hawkesFit) candidatePairs(budget int) pairSet {
	type key struct{ x, y int32 }
	bucket := func(e hev) key {
		return key{int32(math.Floor(e.x / f.rcut)), int32(math.Floor(e.y / f.rcut))}
	}
	startIdx := sortSearch(f.ev, f.ev[f.first].t-f.tcut)
	idx := map[key][]int32{}
	for j := startIdx; j < len(f.ev); j++ {
		k := bucket(f.ev[j])
		idx[k] = append(idx[k], int32(j)) // increasing j, so increasing time
	}
	n := len(f.ev)
	ps := pairSet{first: f.first, start: make([]int32, n-f.first), end: make([]int32, n-f.first)}
	r2max := f.rcut * f.rcut
	for i := n - 1; i >= f.first; i-- {
		if len(ps.dt) >= budget {
			ps.first = i + 1
			break
		}
		ch := f.ev[i]
		k := bucket(ch)
		ps.start[i-f.first] = int32(len(ps.dt))
		for dx := int32(-1); dx <= 1; dx++ {
			for dy := int32(-1); dy <= 1; dy++ {
				list := idx[key{k.x + dx, k.y + dy}]
				lo, _ := slices.BinarySearchFunc(list, ch.t-f.tcut, func(j int32, t float64) int { return cmpF(f.ev[j].t, t) })
				for _, j := range list[lo:] {
					if int(j) >= i {
						break
					}
					p := f.ev[j]
					dt := ch.t - p.t
					if dt <= 0 {
						continue
					}
					ddx, ddy := ch.x-p.x, ch.y-p.y
					r2 := ddx*ddx + ddy*ddy
					if r2 > r2max {
						continue
					}
					ps.dt = append(ps.dt, float32(dt))
					ps.r2 = append(ps.r2, float32(r2))
				}
			}
		}
		ps.end[i-f.first] = int32(len(ps.dt))
	}
	drop := ps.first - f.first
	ps.start, ps.end = ps.start[drop:], ps.end[drop:]
	return ps
}

// truncExpRate solves for the rate λ of an exponential truncated to [0, T]
// whose mean is m: 1/λ − T/(e^{λT} − 1) = m (the mean falls from T/2 at λ → 0
// to 0), by bisection on log λ.
func truncExpRate(m, T float64) float64 {
	if m >= T/2*(1-1e-9) {
		return 1e-9 / T
	}
	if m <= 0 {
		return 1e9 / T
	}
	mean := func(l float64) float64 {
		x := l * T
		if x < 1e-6 {
			return T / 2 * (1 - x/6)
		}
		return 1/l - T/math.Expm1(x)
	}
	lo, hi := math.Log(1e-9/T), math.Log(1e3/m)
	for it := 0; it < 100; it++ {
		mid := (lo + hi) / 2
		if mean(math.Exp(mid)) > m {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp((lo + hi) / 2)
}

// raster evaluates the background density at the children quickly: the
// weights are splatted bilinearly onto a lattice of bandwidth/2, blurred
// separably, and read back bilinearly. (The forecast itself spreads the
// background exactly over the grid's cells; see backgroundCells.)
type raster struct {
	x0, y0, step float64
	nx, ny       int
	sigma        float64
	v            []float64
}

func newRaster(ev []hev, sigma float64) *raster {
	r := &raster{step: sigma / 2, sigma: sigma}
	if len(ev) == 0 {
		return r
	}
	minX, maxX, minY, maxY := ev[0].x, ev[0].x, ev[0].y, ev[0].y
	for _, e := range ev {
		minX, maxX = math.Min(minX, e.x), math.Max(maxX, e.x)
		minY, maxY = math.Min(minY, e.y), math.Max(maxY, e.y)
	}
	// Keep the lattice under ~1M nodes whatever the spread of the events.
	for ((maxX-minX)/r.step+3)*((maxY-minY)/r.step+3) > 1<<20 {
		r.step *= 1.5
	}
	r.x0, r.y0 = minX-r.step, minY-r.step
	r.nx = int((maxX-minX)/r.step) + 3
	r.ny = int((maxY-minY)/r.step) + 3
	r.v = make([]float64, r.nx*r.ny)
	return r
}

// at returns the lattice node south-west of (x, y) and the fractions towards
// the next nodes.
func (r *raster) at(x, y float64) (int, float64, float64) {
	fx, fy := (x-r.x0)/r.step, (y-r.y0)/r.step
	c, rr := int(fx), int(fy)
	return rr*r.nx + c, fx - float64(c), fy - float64(rr)
}

// density returns the weighted kernel density (per km²) at each event.
func (r *raster) density(ev []hev, w []float64) []float64 {
	out := make([]float64, len(ev))
	if len(ev) == 0 {
		return out
	}
	clear(r.v)
	var sum float64
	for i, e := range ev {
		k, ax, ay := r.at(e.x, e.y)
		r.v[k] += w[i] * (1 - ax) * (1 - ay)
		r.v[k+1] += w[i] * ax * (1 - ay)
		r.v[k+r.nx] += w[i] * (1 - ax) * ay
		r.v[k+r.nx+1] += w[i] * ax * ay
		sum += w[i]
	}
	if sum <= 0 {
		return out
	}
	blurLattice(r.v, r.nx, r.ny, r.step, r.step, r.sigma)
	norm := 1 / (sum * r.step * r.step)
	for i, e := range ev {
		k, ax, ay := r.at(e.x, e.y)
		v := r.v[k]*(1-ax)*(1-ay) + r.v[k+1]*ax*(1-ay) + r.v[k+r.nx]*(1-ax)*ay + r.v[k+r.nx+1]*ax*ay
		out[i] = v * norm
	}
	return out
}

// backgroundCells is ν·horizon times the background's mass over each cell,
// from the children before s (days; 0 at the origin): a share of it is each
// child's background weight spread by the kernel (Gaussian cell integrals),
// the rest the weight left in the child's own cell.
func (f *hawkesFit) backgroundCells(g *Grid, horizon, s float64) []float64 {
	out := make([]float64, g.Len())
	children := f.ev[f.first:]
	n := sortSearch(children, s)
	children = children[:n]
	var sum float64
	for _, w := range f.w[:n] {
		sum += w
	}
	if sum <= 0 || f.nu <= 0 {
		return out
	}
	share := f.c.BackgroundCellShare
	bw := f.c.BackgroundKm
	var fx, fy []float64
	scale := f.nu * horizon / sum
	for i, e := range children {
		if f.w[i] <= 0 {
			continue
		}
		if share < 1 {
			fx, fy = spreadGaussian(g, e.x, e.y, bw, 4*bw, (1-share)*scale*f.w[i], out, fx, fy)
		}
		if share > 0 && e.cell >= 0 {
			out[e.cell] += share * scale * f.w[i]
		}
	}
	return out
}
