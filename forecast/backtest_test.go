package forecast

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// spy is a model that records what it is given and forecasts a constant.
type spy struct {
	t       *testing.T
	calls   int
	seen    int
	gaps    []time.Duration // origin − newest event seen, per fit
	leaked  bool
	capBad  bool
	fitArgs []time.Time
}

func (s *spy) Name() string { return "spy" }

func (s *spy) Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error) {
	s.calls++
	s.fitArgs = append(s.fitArgs, origin)
	if cap(history) != len(history) {
		s.capBad = true // the model could reslice into later events
	}
	var newest time.Time
	for _, e := range history {
		s.seen++
		if !e.Time.Before(origin) {
			s.leaked = true
		}
		if e.Time.After(newest) {
			newest = e.Time
		}
	}
	s.gaps = append(s.gaps, origin.Sub(newest))
	return constForecast(0.1), nil
}

type constForecast float64

func (c constForecast) Probability(int) float64     { return float64(c) }
func (c constForecast) Why(int, int) []Contribution { return nil }

type sliceForecast []float64

func (f sliceForecast) Probability(i int) float64 { return f[i] }
func (sliceForecast) Why(int, int) []Contribution { return nil }

// lastWindow is a trivial persistence model for the tests: a cell with an
// event in the last horizon before the origin gets hi, any other lo.
type lastWindow struct{ hi, lo float64 }

func (lastWindow) Name() string { return "last-window" }

func (m lastWindow) Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error) {
	p := make([]float64, g.Len())
	for i := range p {
		p[i] = m.lo
	}
	for _, e := range history {
		if e.Time.Before(origin.Add(-target.Horizon)) {
			continue
		}
		if i, ok := g.Cell(e.Point); ok {
			p[i] = m.hi
		}
	}
	return sliceForecast(p), nil
}

// badModel returns a probability out of range.
type badModel struct{}

func (badModel) Name() string { return "bad" }
func (badModel) Fit([]Event, time.Time, *Grid, Target) (Forecast, error) {
	return constForecast(math.NaN()), nil
}

var t2020 = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// hotspots makes events every day in three fixed places (one event a day,
// rotating), from start for n days, plus one coarse event a day elsewhere.
func hotspots(start time.Time, n int) []Event {
	places := []bluehelm.Point{{Lon: 20.0, Lat: 6.0}, {Lon: 20.5, Lat: 6.3}, {Lon: 21.0, Lat: 5.8}}
	var out []Event
	for d := 0; d < n; d++ {
		at := start.AddDate(0, 0, d)
		out = append(out, Event{ID: int64(2 * d), Time: at, Point: places[d%3], Category: bluehelm.CatArmedClash,
			TimePrecision: bluehelm.TimeDay, GeoPrecision: bluehelm.GeoExact})
		out = append(out, Event{ID: int64(2*d + 1), Time: at, Point: bluehelm.Point{Lon: 22, Lat: 7},
			Category: bluehelm.CatArmedClash, TimePrecision: bluehelm.TimeDay, GeoPrecision: bluehelm.GeoAdmin1})
	}
	return out
}

func testGrid(t *testing.T) *Grid {
	t.Helper()
	g, err := NewGrid(bluehelm.BBox{MinLon: 19.5, MinLat: 5.5, MaxLon: 22.5, MaxLat: 7.5}, 10)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestBacktestNoFutureData: at every origin the model gets only events before
// it, in a slice it cannot extend, and the newest is the day before.
func TestBacktestNoFutureData(t *testing.T) {
	events := hotspots(t2020, 400)
	s := &spy{t: t}
	from := t2020.AddDate(0, 3, 0)
	cfg := BacktestConfig{From: from, To: t2020.AddDate(0, 11, 0), Target: Target{Horizon: 30 * 24 * time.Hour},
		Grid: testGrid(t), ValidationFrom: t2020.AddDate(0, 1, 0)}
	if _, err := Backtest(events, cfg, []Model{s}); err != nil {
		t.Fatal(err)
	}
	if s.leaked {
		t.Fatal("a model was given an event at or after its origin")
	}
	if s.capBad {
		t.Fatal("a history slice had room beyond its length: a model could reslice into the future")
	}
	// 9 reported origins (Apr..Dec 1st) and the validation origins Feb, Mar 1st.
	if s.calls != 11 {
		t.Fatalf("%d fits, want 11 (%v)", s.calls, s.fitArgs)
	}
	// Events happen every day: the newest seen is always the day before (the
	// history is cut at the origin, not earlier either).
	for i, gap := range s.gaps {
		if gap != 24*time.Hour {
			t.Errorf("fit at %v: newest event %v before the origin, want 24h", s.fitArgs[i], gap)
		}
	}
}

// TestBacktestScores: a persistence map on hotspots that never move ranks the
// event cells first, a constant forecast ranks nothing.
func TestBacktestScores(t *testing.T) {
	events := hotspots(t2020, 400)
	cfg := BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 11, 0), Target: Target{Horizon: 30 * 24 * time.Hour},
		Grid: testGrid(t), Precision: FinePrecision}
	rep, err := Backtest(events, cfg, []Model{lastWindow{hi: 0.9, lo: 0.01}, &spy{t: t}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Origins) != 10 || rep.Positives != 30 || rep.Scored == 0 {
		t.Fatalf("origins %d, positives %d (want 3 cells × 10), scored %d", len(rep.Origins), rep.Positives, rep.Scored)
	}
	lw, sp := rep.Models[0], rep.Models[1]
	if *lw.AUROC != 1 || *lw.AP != 1 || *lw.PooledAUROC != 1 {
		t.Errorf("persistence on fixed hot spots: AUROC %v AP %v pooled %v, want 1", *lw.AUROC, *lw.AP, *lw.PooledAUROC)
	}
	n := float64(cfg.Grid.Len())
	// Brier: 3 hot cells (0.9 vs 1) and n−3 cold ones (0.01 vs 0).
	if want := (3*0.01 + (n-3)*0.0001) / n; math.Abs(lw.Brier-want) > 1e-12 {
		t.Errorf("Brier %v, want %v", lw.Brier, want)
	}
	// 1 % of the area holds the 3 hot cells: every event is hit, PAI 100.
	if 0.01*n < 3 {
		t.Fatalf("test grid too small: %v cells at 1 %%", 0.01*n)
	}
	if h := lw.Hits[0]; h.HitRate != 1 || math.Abs(h.PAI-100) > 1e-9 {
		t.Errorf("hit rate %v PAI %v at 1 %%, want 1 and 100", h.HitRate, h.PAI)
	}
	// A constant forecast: every cell tied, so the flagged share catches its
	// share of the events in expectation and PAI is 1.
	if *sp.AUROC != 0.5 || math.Abs(sp.Hits[1].PAI-1) > 1e-9 {
		t.Errorf("constant forecast: AUROC %v, PAI@5%% %v; want 0.5 and 1", *sp.AUROC, sp.Hits[1].PAI)
	}
	if math.Abs(sp.MeanP-0.1) > 1e-12 || math.Abs(sp.Observed-30/(10*n)) > 1e-12 {
		t.Errorf("mean p %v, observed %v", sp.MeanP, sp.Observed)
	}
	var inBins int
	for _, b := range sp.Reliability {
		inBins += b.N
		if b.N > 0 && (b.Lo > 0.1 || b.Hi <= 0.1) {
			t.Errorf("0.1 binned in [%v, %v)", b.Lo, b.Hi)
		}
	}
	if inBins != 10*int(n) {
		t.Errorf("reliability bins hold %d forecasts, want %d", inBins, 10*int(n))
	}
}

// TestBacktestPrecisionAndCategories: coarse events and other categories are
// neither history nor outcomes when filtered.
func TestBacktestPrecisionAndCategories(t *testing.T) {
	events := hotspots(t2020, 200)
	for i := range events {
		if i%4 == 0 {
			events[i].Category = bluehelm.CatExplosive
		}
	}
	s := &spy{t: t}
	cfg := BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 5, 0), Target: Target{Horizon: 30 * 24 * time.Hour, Categories: []bluehelm.Category{bluehelm.CatExplosive}},
		Grid: testGrid(t), Precision: FinePrecision}
	rep, err := Backtest(events, cfg, []Model{s})
	if err != nil {
		t.Fatal(err)
	}
	fine, explosive := 0, 0
	for _, e := range events {
		if e.GeoPrecision == bluehelm.GeoExact {
			fine++
			if e.Category == bluehelm.CatExplosive && !e.Time.Before(rep.Origins[0]) && e.Time.Before(rep.Origins[len(rep.Origins)-1].Add(cfg.Target.Horizon)) {
				explosive++
			}
		}
	}
	if rep.Events != fine {
		t.Errorf("events kept %d, want the %d fine ones", rep.Events, fine)
	}
	// Windows of 30 days from the 1st of Mar..Jun overlap nothing and miss a day
	// or so between them; count exactly per window instead.
	want := 0
	for _, o := range rep.Origins {
		for _, e := range events {
			if e.GeoPrecision == bluehelm.GeoExact && e.Category == bluehelm.CatExplosive && !e.Time.Before(o) && e.Time.Before(o.Add(cfg.Target.Horizon)) {
				want++
			}
		}
	}
	if rep.Scored != want || explosive < want {
		t.Errorf("scored %d target events, want %d", rep.Scored, want)
	}
}

func TestBacktestErrors(t *testing.T) {
	events := hotspots(t2020, 200)
	g := testGrid(t)
	h := Target{Horizon: 30 * 24 * time.Hour}
	for _, c := range []struct {
		name   string
		cfg    BacktestConfig
		models []Model
		want   string
	}{
		{"from after to", BacktestConfig{From: t2020.AddDate(0, 3, 0), To: t2020.AddDate(0, 2, 0), Target: h, Grid: g}, nil, "from ≤ to"},
		{"no horizon", BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 3, 0), Grid: g}, nil, "horizon"},
		{"window after the data", BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 6, 0), Target: h, Grid: g}, nil, "outcome is unknown"},
		{"nothing before", BacktestConfig{From: t2020, To: t2020.AddDate(0, 2, 0), Target: h, Grid: g}, nil, "nothing to fit on"},
		{"validation after from", BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 3, 0), Target: h, Grid: g, ValidationFrom: t2020.AddDate(0, 4, 0)}, nil, "validation"},
		{"bad probability", BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 3, 0), Target: h, Grid: g}, []Model{badModel{}}, "not in [0, 1]"},
		{"no model", BacktestConfig{From: t2020.AddDate(0, 2, 0), To: t2020.AddDate(0, 3, 0), Target: h, Grid: g}, []Model{}, "no model"},
	} {
		t.Run(c.name, func(t *testing.T) {
			models := c.models
			if models == nil {
				models = []Model{&spy{t: t}}
			}
			_, err := Backtest(events, c.cfg, models)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestReliabilityBins checks the backtest's uneven bins on an example
// worked on paper (the other metrics are metrics.go's, tested there).
func TestReliabilityBins(t *testing.T) {
	p := []float64{0.9, 0.8, 0.8, 0.3, 0.1, 0.1, 1}
	y := []bool{true, false, true, false, true, false, true}
	bins, ece, meanP, obs := btReliability(p, y, []float64{0.1, 0.5, 1})
	// [0, 0.1) is empty and left out; 0.1 falls in [0.1, 0.5), 1 in the last bin.
	if len(bins) != 2 || bins[0].N != 3 || bins[1].N != 4 || bins[0].Lo != 0.1 {
		t.Fatalf("bins %+v", bins)
	}
	if math.Abs(bins[0].MeanP-0.5/3) > 1e-12 || math.Abs(bins[0].Observed-1.0/3) > 1e-12 ||
		math.Abs(bins[1].MeanP-3.5/4) > 1e-12 || bins[1].Observed != 0.75 {
		t.Errorf("bins %+v", bins)
	}
	// ECE = 3/7·|1/6 − 1/3| + 4/7·|0.875 − 0.75|.
	if want := 3.0/7*(1.0/6) + 4.0/7*0.125; math.Abs(ece-want) > 1e-12 || math.Abs(meanP-4.0/7) > 1e-12 || obs != 4.0/7 {
		t.Errorf("ece %v (want %v) meanP %v observed %v", ece, want, meanP, obs)
	}
}

func TestBacktestGrid(t *testing.T) {
	events := []Event{
		{Point: bluehelm.Point{Lon: 20, Lat: 6}},
		{Point: bluehelm.Point{Lon: 23, Lat: 9}},
	}
	g, err := BacktestGrid(events, GridSpec{CellKm: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if _, ok := g.Cell(e.Point); !ok {
			t.Errorf("the cell of %v is masked out", e.Point)
		}
	}
	// Two discs of 25 km at 5 km cells: about 2·π·25²/25 ≈ 157 cells.
	if n := g.Len(); n < 140 || n > 175 {
		t.Errorf("%d cells kept, want about 157", n)
	}
	if _, ok := g.Cell(bluehelm.Point{Lon: 21.5, Lat: 7.5}); ok {
		t.Error("a point 230 km from every event is inside the mask")
	}
	full, err := BacktestGrid(events, GridSpec{CellDeg: 0.5, MaskKm: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Unpadded box 20..23 × 6..9 on PRIO-GRID edges: 6 × 6 cells (a point on
	// the east or north edge belongs to the last column or row).
	if full.Len() != 6*6 {
		t.Errorf("unmasked 0.5° grid has %d cells, want 36", full.Len())
	}
	if _, err := BacktestGrid(events, GridSpec{CellKm: 5, CellDeg: 0.5}); err == nil {
		t.Error("both cell sizes accepted")
	}
}
