package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// squareArea is a bbox of about side km around (20°E, 5°N).
func squareArea(side float64) bluehelm.BBox {
	h := side / 2 / 111.195
	return bluehelm.BBox{MinLon: 20 - h/math.Cos(5*math.Pi/180), MinLat: 5 - h, MaxLon: 20 + h/math.Cos(5*math.Pi/180), MaxLat: 5 + h}
}

func TestHawkesRecoversPlantedProcess(t *testing.T) {
	for _, tc := range []hawkesSim{
		{Nu: 2, Kappa: 0.5, DecayDays: 5, SigmaKm: 2, L: 200, Days: 1500, Seed: 1},
		{Nu: 1, Kappa: 0.3, DecayDays: 15, SigmaKm: 4, L: 200, Days: 2000, Seed: 2},
		{Nu: 3, Kappa: 0.7, DecayDays: 3, SigmaKm: 1, L: 300, Days: 1000, Seed: 3},
	} {
		t.Run("", func(t *testing.T) {
			g, err := NewGrid(squareArea(tc.L), 5)
			if err != nil {
				t.Fatal(err)
			}
			ev := eventsOf(tc.simulate(plane{g}))
			m := NewHawkes(HawkesConfig{FitWindow: 10000 * day})
			fc, err := m.Fit(ev, testOrigin, g, Target{Horizon: 30 * day})
			if err != nil {
				t.Fatal(err)
			}
			p := fc.(*HawkesForecast).Params
			t.Logf("planted κ %.2f 1/β %.1f σ %.1f ν %.2f; fitted %+v (%d events)", tc.Kappa, tc.DecayDays, tc.SigmaKm, tc.Nu, p, len(ev))
			if math.Abs(p.Kappa-tc.Kappa) > 0.1 {
				t.Errorf("κ %.3f, planted %.2f", p.Kappa, tc.Kappa)
			}
			if r := p.DecayDays / tc.DecayDays; r < 0.7 || r > 1.3 {
				t.Errorf("1/β %.2f days, planted %.1f", p.DecayDays, tc.DecayDays)
			}
			if r := p.SigmaKm / tc.SigmaKm; r < 0.7 || r > 1.3 {
				t.Errorf("σ %.2f km, planted %.1f", p.SigmaKm, tc.SigmaKm)
			}
		})
	}
}

// townHistory is eight years of events at one town (about one a month, at
// random times) and one event at a village 40 km east of it, 45 days before
// the origin, on a grid of 5 km cells 100 km wide around them.
func townHistory(t *testing.T) (g *Grid, ev []Event, town, village int) {
	t.Helper()
	g, err := NewGrid(squareArea(100), 5)
	if err != nil {
		t.Fatal(err)
	}
	mid, ok := g.Cell(bluehelm.Point{Lon: 20, Lat: 5})
	if !ok {
		t.Fatal("no cell at the grid's centre")
	}
	c := g.Center(mid)
	pt := func(dxKm float64) bluehelm.Point { // dxKm east of 20 km west of the centre cell's centre
		return bluehelm.Point{Lon: c.Lon + (dxKm-20)/(111.195*math.Cos(c.Lat*math.Pi/180)), Lat: c.Lat}
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 96 {
		d := rng.Float64() * 8 * 365
		ev = append(ev, Event{ID: int64(i + 1), Time: testOrigin.Add(-time.Duration(d * float64(day))), Point: pt(0), Category: bluehelm.CatArmedClash})
	}
	ev = append(ev, Event{ID: 1000, Time: testOrigin.Add(-45 * day), Point: pt(40), Category: bluehelm.CatArmedClash})
	var ok1, ok2 bool
	town, ok1 = g.Cell(pt(0))
	village, ok2 = g.Cell(pt(40))
	if !ok1 || !ok2 || town == village {
		t.Fatal("town or village outside the grid")
	}
	return g, ev, town, village
}

// hawkesFitOf is the EM state for events, before fitting.
func hawkesFitOf(g *Grid, ev []Event, c HawkesConfig) *hawkesFit {
	c = c.withDefaults()
	var hs []hev
	for _, e := range selectEvents(ev, testOrigin, Target{}) {
		x, y := g.xy(e.Point)
		cell, _ := g.Cell(e.Point)
		hs = append(hs, hev{t: days(e.Time.Sub(testOrigin)), x: x, y: y, id: e.ID, cell: int32(cell)})
	}
	return &hawkesFit{c: c, ev: hs, tcut: days(c.TimeCutoff), rcut: c.SpaceCutoffKm}
}

// TestHawkesBackgroundStaysInTown: with the default background, the town's
// background events stay mostly in the town's cell; a kernel-only background
// (BackgroundCellShare < 0) spreads them over the neighbours. (EM is not run:
// every event is taken as background, so only the spreading is tested.)
func TestHawkesBackgroundStaysInTown(t *testing.T) {
	g, ev, town, _ := townHistory(t)
	share := func(c HawkesConfig) float64 {
		f := hawkesFitOf(g, ev, c)
		f.w = make([]float64, len(f.ev))
		for i := range f.w {
			f.w[i] = 1
		}
		f.nu = float64(len(f.ev)) / (8 * 365)
		bg := f.backgroundCells(g, 30, 0)
		var sum float64
		for _, v := range bg {
			sum += v
		}
		// ν·horizon, less the kernel's tail beyond the grid's edge (2σ west of the town).
		if sum > f.nu*30*(1+1e-9) || sum < 0.97*f.nu*30 {
			t.Errorf("background mass %.4f, want ν·horizon %.4f less the edge's loss", sum, f.nu*30)
		}
		return bg[town] / sum
	}
	def, kernel := share(HawkesConfig{}), share(HawkesConfig{BackgroundCellShare: -1})
	t.Logf("town cell's share of the background: default %.3f, kernel only %.3f", def, kernel)
	if def < 0.75 || kernel > 0.05 {
		t.Errorf("town cell's share %.3f (default), %.3f (kernel only): want ≥ 0.75 and ≤ 0.05", def, kernel)
	}
}

// TestHawkesCalibrationBackgroundIsPast: a calibration window's background
// holds only the events before the window. The village's one event, 45 days
// before the origin, falls in the window [−60, −30) days: that window's
// background must not have it, the next one's and the origin's must.
func TestHawkesCalibrationBackgroundIsPast(t *testing.T) {
	g, ev, _, village := townHistory(t)
	f := hawkesFitOf(g, ev, HawkesConfig{BackgroundCellShare: 1}) // all in the events' own cells
	f.fit()
	for _, tc := range []struct {
		s    float64
		want bool
	}{{-60, false}, {-30, true}, {0, true}} {
		if got := f.backgroundCells(g, 30, tc.s)[village] > 0; got != tc.want {
			t.Errorf("background from before day %v has the village's event: %v, want %v", tc.s, got, tc.want)
		}
	}
}
