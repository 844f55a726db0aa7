package forecast

import (
	"math"
	"time"
)

// Rate is the long-run historical rate: a cell's count of target events over
// all the history before the origin, divided by the time since the first of
// them, shrunk towards a smooth prior so that a cell that has not (yet) seen an
// event is not certain never to:
//
//	rate_i = (n_i + α·prior_i) / (T·(1+α)),  Λ_i = rate_i · horizon
//
// where prior_i is the cell's share of all N events under a Gaussian blur of
// PriorKm (uniform N/cells when PriorKm is 0), so Σ rate_i = N/T is kept.
// Λ is then calibrated (see Calibration). Why is nil: a rate has no reasons.
type Rate struct {
	PriorWeight        float64 // α, default 1
	PriorKm            float64 // blur of the prior in km, default 25; negative for a uniform prior
	CalibrationWindows int
}

// NewRate returns the historical-rate baseline with the default prior.
func NewRate() *Rate { return &Rate{} }

func (m *Rate) Name() string { return "rate" }

func (m *Rate) Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error) {
	if err := checkFit(g, target); err != nil {
		return nil, err
	}
	events := selectEvents(history, origin, target)
	alpha := m.PriorWeight
	if alpha <= 0 {
		alpha = 1
	}
	priorKm := m.PriorKm
	if priorKm == 0 {
		priorKm = 25
	}
	h := days(target.Horizon)
	raw := func(at time.Time) []float64 {
		past := before(events, at)
		lam := make([]float64, g.Len())
		if len(past) == 0 {
			return lam
		}
		// T: from the first event to the origin, at least one day.
		T := math.Max(days(at.Sub(past[0].Time)), 1)
		n := make([]float64, g.Len())
		var N float64
		for _, e := range past {
			if i, ok := g.Cell(e.Point); ok {
				n[i]++
				N++
			}
		}
		prior := smoothedPrior(g, past, N, priorKm)
		for i := range lam {
			lam[i] = (n[i] + alpha*prior[i]) / (T * (1 + alpha)) * h
		}
		return lam
	}
	cal := calibrate(g, events, origin, target.Horizon, m.CalibrationWindows, raw)
	return newCellForecast(raw(origin), cal, nil), nil
}

// smoothedPrior spreads N events over the cells: uniformly when km ≤ 0, else as
// the Gaussian blur of the events' own cells, renormalised to sum to N over the
// grid (mass blurred off the grid's cells is given back in proportion).
func smoothedPrior(g *Grid, past []Event, N, km float64) []float64 {
	prior := make([]float64, g.Len())
	if N == 0 {
		return prior
	}
	if km <= 0 {
		for i := range prior {
			prior[i] = N / float64(len(prior))
		}
		return prior
	}
	// Blur the lattice counts (all events in the lattice, kept cells or not),
	// then read the kept cells.
	lat := make([]float64, g.nx*g.ny)
	for _, e := range past {
		c, ok1 := latticeIndex(e.Point.Lon, g.lon0, g.dLon, g.nx)
		r, ok2 := latticeIndex(e.Point.Lat, g.lat0, g.dLat, g.ny)
		if ok1 && ok2 {
			lat[r*g.nx+c]++
		}
	}
	blurLattice(lat, g.nx, g.ny, g.cellW(), g.cellH(), km)
	var sum float64
	for i := range prior {
		c, r := g.lattice(i)
		prior[i] = lat[r*g.nx+c]
		sum += prior[i]
	}
	if sum <= 0 {
		for i := range prior {
			prior[i] = N / float64(len(prior))
		}
		return prior
	}
	for i := range prior {
		prior[i] *= N / sum
	}
	return prior
}

// blurLattice convolves an nx×ny lattice (row-major, cells cw×ch km) in place
// with a Gaussian of sigma km, truncated at 4σ, separably (rows then columns).
// The taps are the Gaussian's mass over each cell offset, so a blur narrower
// than a cell is (almost) the identity.
func blurLattice(v []float64, nx, ny int, cw, ch, sigma float64) {
	taps := func(step float64) []float64 {
		n := int(math.Ceil(4 * sigma / step))
		t := make([]float64, 2*n+1)
		for k := -n; k <= n; k++ {
			t[k+n] = normCDF((float64(k)+0.5)*step/sigma) - normCDF((float64(k)-0.5)*step/sigma)
		}
		return t
	}
	tx, ty := taps(cw), taps(ch)
	nxh, nyh := len(tx)/2, len(ty)/2
	line := make([]float64, max(nx, ny))
	for r := 0; r < ny; r++ {
		row := v[r*nx : (r+1)*nx]
		copy(line, row)
		for c := range row {
			var s float64
			for k := max(-nxh, -c); k <= nxh && c+k < nx; k++ {
				s += tx[k+nxh] * line[c+k]
			}
			row[c] = s
		}
	}
	for c := 0; c < nx; c++ {
		for r := 0; r < ny; r++ {
			line[r] = v[r*nx+c]
		}
		for r := 0; r < ny; r++ {
			var s float64
			for k := max(-nyh, -r); k <= nyh && r+k < ny; k++ {
				s += ty[k+nyh] * line[r+k]
			}
			v[r*nx+c] = s
		}
	}
}
