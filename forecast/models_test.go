package forecast

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// lineGrid is four 0.5° cells in a row: lon 0–2, lat 0–0.5.
func lineGrid(t *testing.T) *Grid {
	t.Helper()
	g, err := NewDegreeGrid(bluehelm.BBox{MinLon: 0, MinLat: 0, MaxLon: 1.9, MaxLat: 0.4}, 0.5)
	if err != nil || g.Len() != 4 {
		t.Fatalf("grid: %v, %d cells", err, g.Len())
	}
	return g
}

// at is an event in cell c of lineGrid, d days before the test origin.
func at(id int64, c int, d float64) Event {
	return Event{ID: id, Time: testOrigin.Add(-time.Duration(d * float64(day))), Point: bluehelm.Point{Lon: 0.25 + 0.5*float64(c), Lat: 0.25},
		Category: bluehelm.CatArmedClash}
}

func probs(f Forecast, n int) []float64 {
	p := make([]float64, n)
	for i := range p {
		p[i] = f.Probability(i)
	}
	return p
}

func TestPersistenceByHand(t *testing.T) {
	g := lineGrid(t)
	// Window = horizon = 10 days; six calibration windows start at −10 … −60.
	// Cell 0 has an event in every 10-day window: always hot, always hit.
	// Cell 1 has events at −65 and −25: hot before the windows starting at −60
	// and −20, neither followed by an event; cold before −50, −40, −30, −10,
	// and the −30 window then has its −25 event.
	// Cells 2, 3: nothing.
	// Hot cell-windows: 6 (cell 0, all hit) + 2 (cell 1, none hit) → P = 6/8.
	// Cold cell-windows: 4 of cell 1 (one hit) + 12 of cells 2, 3 → P = 1/16.
	var ev []Event
	for k := 0; k < 7; k++ {
		ev = append(ev, at(int64(k+1), 0, 5+10*float64(k)))
	}
	ev = append(ev, at(20, 1, 65), at(21, 1, 25))
	f, err := NewPersistence(0).Fit(ev, testOrigin, g, Target{Horizon: 10 * day})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.75, 1.0 / 16, 1.0 / 16, 1.0 / 16}
	for i, w := range want {
		if got := f.Probability(i); math.Abs(got-w) > 1e-6 {
			t.Errorf("cell %d: %v, want %v", i, got, w)
		}
	}
	if c := f.(*CellForecast).Calibration; c.Windows != 6 || c.Positives != 7 {
		t.Errorf("calibration %+v, want 6 windows, 7 positives", c)
	}
	// Why: the hot cell's event of the window.
	if why := f.Why(0, 5); len(why) != 1 || why[0] != (Contribution{EventID: 1, Weight: 1}) {
		t.Errorf("why %v", why)
	}
	if why := f.Why(2, 5); len(why) != 0 {
		t.Errorf("cold cell has reasons %v", why)
	}
}

func TestRateByHand(t *testing.T) {
	g := lineGrid(t)
	// First event 100 days before the origin; cell 0 has 4 events, cell 1 one,
	// and an event outside the grid is not counted: N = 5, T = 100 days.
	// Uniform prior: 5/4 = 1.25 per cell, α = 1, horizon 10 days:
	// Λ = (n + 1.25)/(100·2)·10 → 0.2625, 0.1125, 0.0625, 0.0625.
	ev := []Event{at(1, 0, 100), at(2, 0, 50), at(3, 0, 40), at(4, 0, 1), at(5, 1, 30),
		{ID: 6, Time: testOrigin.Add(-20 * day), Point: bluehelm.Point{Lon: 10, Lat: 10}}}
	f, err := (&Rate{PriorKm: -1}).Fit(ev, testOrigin, g, Target{Horizon: 10 * day})
	if err != nil {
		t.Fatal(err)
	}
	cf := f.(*CellForecast)
	want := []float64{0.2625, 0.1125, 0.0625, 0.0625}
	for i, w := range want {
		if math.Abs(cf.Raw[i]-w) > 1e-12 {
			t.Errorf("cell %d: Λ %v, want %v", i, cf.Raw[i], w)
		}
		if p := f.Probability(i); math.Abs(p-cf.Calibration.Probability(w)) > 1e-12 {
			t.Errorf("cell %d: P %v is not the calibrated Λ", i, p)
		}
	}
	if f.Why(0, 3) != nil {
		t.Error("a rate has no reasons")
	}
	// With the smoothed prior, a cell next to the busy one gets more than a far one.
	f2, _ := NewRate().Fit(ev, testOrigin, g, Target{Horizon: 10 * day})
	if r := f2.(*CellForecast).Raw; !(r[0] > r[1] && r[1] > r[2] && r[2] > r[3] && r[3] > 0) {
		t.Errorf("smoothed Λ %v not decreasing away from the events", r)
	}
}

func TestKDEPeakAndReasons(t *testing.T) {
	g, err := NewGrid(squareArea(200), 5)
	if err != nil {
		t.Fatal(err)
	}
	pl := plane{g}
	var ev []Event
	// 20 events in the last 90 days around (30, −40) km, spread 3 km; an old
	// cluster at (−50, 50) km outside the window must not count.
	for k := 0; k < 20; k++ {
		dx, dy := 3*math.Cos(float64(k)), 3*math.Sin(float64(k))
		ev = append(ev, Event{ID: int64(k + 1), Time: testOrigin.Add(-time.Duration(k*4+1) * day), Point: pl.point(30+dx, -40+dy)})
		ev = append(ev, Event{ID: int64(k + 100), Time: testOrigin.Add(-time.Duration(200+k) * day), Point: pl.point(-50, 50)})
	}
	f, err := NewKDE(0, 10).Fit(ev, testOrigin, g, Target{Horizon: 30 * day})
	if err != nil {
		t.Fatal(err)
	}
	raw := f.(*CellForecast).Raw
	best := 0
	var sum float64
	for i, v := range raw {
		if v > raw[best] {
			best = i
		}
		sum += v
	}
	if want, _ := g.Cell(pl.point(30, -40)); best != want {
		x, y := g.xy(g.Center(best))
		t.Errorf("peak at cell %d (%.1f, %.1f km), planted in cell %d", best, x, y, want)
	}
	// Mass: 20 events × 30/90 days, all well inside the grid.
	if math.Abs(sum-20.0/3) > 1e-3 {
		t.Errorf("total expected count %v, want 6.667", sum)
	}
	if old, _ := g.Cell(pl.point(-50, 50)); raw[old] != 0 {
		t.Errorf("the old cluster's cell has %v", raw[old])
	}
	why := f.Why(best, 30)
	if len(why) != 20 {
		t.Fatalf("%d reasons, want the 20 recent events", len(why))
	}
	var w float64
	for _, c := range why {
		if c.EventID >= 100 {
			t.Errorf("an event outside the window is a reason: %v", c)
		}
		w += c.Weight
	}
	if math.Abs(w-1) > 1e-9 || !slices.IsSortedFunc(why, func(a, b Contribution) int { return cmpF(b.Weight, a.Weight) }) {
		t.Errorf("weights sum to %v or are not sorted: %v", w, why)
	}
}

// TestWhyFindsPlantedParents: in a planted process, the events of the horizon
// whose parent happened before the origin sit in cells whose reasons name that
// parent.
func TestWhyFindsPlantedParents(t *testing.T) {
	sim := hawkesSim{Nu: 3, Kappa: 0.6, DecayDays: 10, SigmaKm: 1.5, L: 300, Days: 1000, After: 30, Seed: 7}
	g, err := NewGrid(squareArea(sim.L), 5)
	if err != nil {
		t.Fatal(err)
	}
	all := sim.simulate(plane{g})
	f, err := NewHawkes(HawkesConfig{FitWindow: 5000 * day}).Fit(eventsOf(all), testOrigin, g, Target{Horizon: 30 * day})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]simEvent{}
	for _, e := range all {
		byID[e.ID] = e
	}
	var tried, found int
	for _, e := range all {
		if e.Time.Before(testOrigin) || e.Parent < 0 || !byID[e.Parent].Time.Before(testOrigin) {
			continue
		}
		cell, ok := g.Cell(e.Point)
		if !ok {
			continue
		}
		tried++
		for _, c := range f.Why(cell, 3) {
			if c.EventID == e.Parent {
				found++
				break
			}
		}
	}
	t.Logf("planted parent among the top 3 reasons for %d of %d children", found, tried)
	if tried < 10 || float64(found) < 0.8*float64(tried) {
		t.Errorf("planted parent among the top 3 reasons for %d of %d children", found, tried)
	}
}

// models is every model with its default settings (and short windows where
// the test data are short).
func models() []Model {
	return []Model{NewPersistence(0), NewRate(), NewKDE(0, 0), NewHawkes(HawkesConfig{})}
}

// TestModelsIgnoreTheFuture: a model's forecast depends only on the events
// before the origin, however many events at or after it the slice holds, and
// in whatever order it comes; the slice is not modified.
func TestModelsIgnoreTheFuture(t *testing.T) {
	sim := hawkesSim{Nu: 0.5, Kappa: 0.5, DecayDays: 10, SigmaKm: 3, L: 200, Days: 1000, After: 200, Seed: 11}
	g, err := NewGrid(squareArea(sim.L), 5)
	if err != nil {
		t.Fatal(err)
	}
	all := eventsOf(sim.simulate(plane{g}))
	past := beforeOrigin(all)
	if len(past) == len(all) {
		t.Fatal("the simulation has no future events")
	}
	// One event exactly at the origin too (it is not history).
	withFuture := append(slices.Clone(all), Event{ID: 999999, Time: testOrigin, Point: g.Center(10)})
	slices.Reverse(withFuture)
	keep := slices.Clone(withFuture)
	target := Target{Horizon: 30 * day}
	for _, m := range models() {
		t.Run(m.Name(), func(t *testing.T) {
			a, err := m.Fit(past, testOrigin, g, target)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Fit(withFuture, testOrigin, g, target)
			if err != nil {
				t.Fatal(err)
			}
			pa, pb := probs(a, g.Len()), probs(b, g.Len())
			if !reflect.DeepEqual(pa, pb) {
				t.Fatal("the forecast changed when events after the origin were added")
			}
			for i := range pa {
				if pa[i] < 0 || pa[i] > 1 || math.IsNaN(pa[i]) {
					t.Fatalf("cell %d: probability %v", i, pa[i])
				}
			}
			for i := 0; i < g.Len(); i += 37 {
				wa, wb := a.Why(i, 5), b.Why(i, 5)
				if !reflect.DeepEqual(wa, wb) {
					t.Fatalf("cell %d: reasons changed: %v vs %v", i, wa, wb)
				}
				for _, c := range wa {
					if c.EventID == 999999 || !slices.ContainsFunc(past, func(e Event) bool { return e.ID == c.EventID }) {
						t.Fatalf("cell %d: reason %v is not a past event", i, c)
					}
				}
			}
			if !reflect.DeepEqual(keep, withFuture) {
				t.Fatal("the model modified the slice it was given")
			}
		})
	}
}

func TestModelsFilterCategories(t *testing.T) {
	g := lineGrid(t)
	ev := []Event{at(1, 0, 5), at(2, 1, 5)}
	ev[1].Category = bluehelm.CatProtest
	target := Target{Horizon: 10 * day, Categories: []bluehelm.Category{bluehelm.CatArmedClash}}
	for _, m := range models() {
		f, err := m.Fit(ev, testOrigin, g, target)
		if err != nil {
			t.Fatal(m.Name(), err)
		}
		if !(f.Probability(0) > f.Probability(1)) {
			t.Errorf("%s: the protest's cell %v is not below the clash's %v", m.Name(), f.Probability(1), f.Probability(0))
		}
		for _, c := range f.Why(1, 5) {
			if c.EventID == 2 {
				t.Errorf("%s: the protest is a reason", m.Name())
			}
		}
	}
}

func TestModelsOnEmptyHistoryAndErrors(t *testing.T) {
	g := lineGrid(t)
	for _, m := range models() {
		f, err := m.Fit(nil, testOrigin, g, Target{Horizon: 30 * day})
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		for i := 0; i < g.Len(); i++ {
			if p := f.Probability(i); !(p >= 0 && p < 0.01) {
				t.Errorf("%s: empty history gives %v", m.Name(), p)
			}
		}
		if _, err := m.Fit(nil, testOrigin, g, Target{}); err == nil {
			t.Errorf("%s: zero horizon accepted", m.Name())
		}
		if _, err := m.Fit(nil, testOrigin, nil, Target{Horizon: day}); err == nil {
			t.Errorf("%s: nil grid accepted", m.Name())
		}
	}
}
