package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// A rolling-origin backtest: for each forecast origin, every model is fitted on
// the events strictly before the origin (Backtest cuts the history itself, so
// no model can see later data whatever it does), forecasts the target over the
// grid, and is scored on what happened in [origin, origin+horizon). Then the
// origin moves on by Step.
//
// The window is half-open at the end and closed at the origin: an event dated
// on the origin day happened during that day, after the origin instant
// (midnight), so it belongs to the first forecast window and never to the
// history. This partitions time: no event is both seen and scored, none is
// lost between windows of consecutive origins when Step equals the horizon.

// Precision is the coarsest precision an event may have to be kept. Empty
// fields keep every precision; an event whose own precision is unknown (empty,
// as for incidents reported in the field without one) is kept.
type Precision struct {
	Geo  bluehelm.GeoPrecision
	Time bluehelm.TimePrecision
}

// FinePrecision is what a ~5 km grid and a 30-day horizon need: placed within
// ~25 km of a named place and dated within a week. For UCDP GED this is
// where_prec ≤ 2 and date_prec ≤ 3, because the ged package maps date_prec 2
// (a 2–6 day range) and 3 (the week is known) both to "week": the issue's
// date_prec ≤ 2 cannot be told from ≤ 3 after import.
var FinePrecision = Precision{Geo: bluehelm.GeoNear, Time: bluehelm.TimeWeek}

var (
	geoRank  = map[bluehelm.GeoPrecision]int{bluehelm.GeoExact: 0, bluehelm.GeoNear: 1, bluehelm.GeoAdmin2: 2, bluehelm.GeoAdmin1: 3, bluehelm.GeoCountry: 4}
	timeRank = map[bluehelm.TimePrecision]int{bluehelm.TimeExact: 0, bluehelm.TimeDay: 1, bluehelm.TimeWeek: 2, bluehelm.TimeMonth: 3, bluehelm.TimeYear: 4}
)

// Keeps reports whether e is at least as precise as p.
func (p Precision) Keeps(e Event) bool {
	if p.Geo != "" && e.GeoPrecision != "" && geoRank[e.GeoPrecision] > geoRank[p.Geo] {
		return false
	}
	if p.Time != "" && e.TimePrecision != "" && timeRank[e.TimePrecision] > timeRank[p.Time] {
		return false
	}
	return true
}

// BacktestConfig says when to forecast, what, and on which cells.
type BacktestConfig struct {
	// From is the first origin; origins are From, From+Step, … while ≤ To.
	From, To time.Time
	// Step between origins; 0 means one calendar month (origins on the same
	// day of each month, as monthly forecasts are issued).
	Step   time.Duration
	Target Target
	// Grid is the set of cells every model forecasts over and is scored on
	// (see BacktestGrid for the default mask). Events outside it are neither
	// history nor outcomes.
	Grid *Grid
	// Precision filters both the history and the outcomes: an event placed
	// only at an admin-1 capital would make a false hot spot there.
	Precision Precision
	// ValidationFrom, when set, adds origins from ValidationFrom (by Step)
	// up to before From, scored the same way and reported apart: the period
	// on which model parameters may be tuned. The figures of the reported
	// period never come from it.
	ValidationFrom time.Time
	// Shares are the shares of the area flagged for hit rate and PAI; nil
	// means 1 %, 5 % and 10 %.
	Shares []float64
	// Bins are the reliability bins' upper edges, increasing, the last 1; nil
	// means DefaultReliabilityEdges.
	Bins []float64
}

// DefaultReliabilityEdges are the reliability bins' upper edges. Cells with a
// chance of an event in 30 days are rare, so most forecasts are below 5 %:
// equal-width tenths would put nearly everything in the first bin.
var DefaultReliabilityEdges = []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1}

// Report is the result of a backtest.
type Report struct {
	Target    TargetInfo    `json:"target"`
	Cells     int           `json:"cells"`     // cells scored per origin
	AreaKm2   float64       `json:"area_km2"`  // their total area
	Events    int           `json:"events"`    // events kept (precision, inside the grid), all categories
	Origins   []time.Time   `json:"origins"`   // reported period
	Positives int           `json:"positives"` // cell-windows with at least one target event, over the reported origins
	Scored    int           `json:"scored_events"`
	Models    []ModelReport `json:"models"`
	// Validation is the same for the validation origins (nil without).
	Validation *Report `json:"validation,omitempty"`
	Averaging  string  `json:"averaging"`
}

// TargetInfo is the target as reported.
type TargetInfo struct {
	Categories  []bluehelm.Category `json:"categories,omitempty"`
	HorizonDays float64             `json:"horizon_days"`
}

// ModelReport is one model's scores over the origins.
type ModelReport struct {
	Name string `json:"name"`
	// Means over the origins at which the metric is defined (AUROC and AP need
	// at least one positive and one negative cell), each origin weighing the
	// same.
	AUROC *float64 `json:"auroc"`
	AP    *float64 `json:"ap"`
	Brier float64  `json:"brier"` // mean over every origin (= pooled: every origin has the same cells)
	// Pooled over every cell-window of every origin, as one forecast.
	PooledAUROC *float64 `json:"pooled_auroc"`
	PooledAP    *float64 `json:"pooled_ap"`
	// Hit rate and PAI at each share of the area: the events of all origins
	// that fell in the cells flagged at their origin ÷ all events (pooled over
	// events, so a busy month weighs more than a quiet one); PAI is the hit
	// rate ÷ the share.
	Hits []AreaHit `json:"hits"`
	// Reliability pooled over every cell-window; ECE is Σ n_b/N·|p̄_b − ō_b|.
	Reliability []ReliabilityBin `json:"reliability"`
	ECE         float64          `json:"ece"`
	MeanP       float64          `json:"mean_p"`        // mean forecast probability
	Observed    float64          `json:"observed_rate"` // share of cell-windows with an event
	// DefinedOrigins is how many origins had both a positive and a negative
	// cell (the AUROC and AP means are over these).
	DefinedOrigins int           `json:"defined_origins"`
	FitTime        time.Duration `json:"fit_ns"` // total Fit + Probability time
}

// AreaHit is the hit rate and PAI at one share of the area flagged.
type AreaHit struct {
	Share   float64 `json:"share"`
	HitRate float64 `json:"hit_rate"` // events in flagged cells ÷ events
	PAI     float64 `json:"pai"`      // hit rate ÷ share of area flagged
}

// Averaging describes how a Report averages, for readers of its JSON.
const Averaging = "auroc/ap: mean over origins with a positive and a negative cell; pooled_*: all cell-windows as one forecast; " +
	"brier: mean over origins; hit rate/PAI: events in the top-share cells at their origin ÷ all events, pooled over origins, " +
	"tied cells at the cut counted by their expected share, shares of km²; reliability: pooled"

// Origins returns the origins from from to to (inclusive) by step (0: a
// calendar month).
func Origins(from, to time.Time, step time.Duration) []time.Time {
	var out []time.Time
	for k := 0; ; k++ {
		var o time.Time
		if step == 0 {
			o = from.AddDate(0, k, 0)
		} else {
			o = from.Add(time.Duration(k) * step)
		}
		if o.After(to) {
			return out
		}
		out = append(out, o)
	}
}

// Backtest runs the rolling-origin backtest of models on events.
func Backtest(events []Event, cfg BacktestConfig, models []Model) (*Report, error) {
	if len(models) == 0 {
		return nil, errors.New("forecast: backtest: no model")
	}
	if cfg.Grid == nil || cfg.Grid.Len() == 0 {
		return nil, errors.New("forecast: backtest: empty grid")
	}
	if cfg.Target.Horizon <= 0 {
		return nil, errors.New("forecast: backtest: the horizon must be positive")
	}
	if cfg.Step < 0 {
		return nil, errors.New("forecast: backtest: the step must not be negative")
	}
	if cfg.From.IsZero() || cfg.To.IsZero() || cfg.To.Before(cfg.From) {
		return nil, fmt.Errorf("forecast: backtest: want from ≤ to, got %s and %s", dateOf(cfg.From), dateOf(cfg.To))
	}
	if !cfg.ValidationFrom.IsZero() && !cfg.ValidationFrom.Before(cfg.From) {
		return nil, fmt.Errorf("forecast: backtest: the validation period must start before from (%s), got %s", dateOf(cfg.From), dateOf(cfg.ValidationFrom))
	}
	shares := cfg.Shares
	if shares == nil {
		shares = []float64{0.01, 0.05, 0.10}
	}
	for _, s := range shares {
		if !(s > 0 && s <= 1) {
			return nil, fmt.Errorf("forecast: backtest: area share %v is not in (0, 1]", s)
		}
	}
	edges := cfg.Bins
	if edges == nil {
		edges = DefaultReliabilityEdges
	}
	if len(edges) == 0 || edges[len(edges)-1] != 1 || !slices.IsSorted(edges) {
		return nil, errors.New("forecast: backtest: reliability edges must increase to 1")
	}

	// The events any model may ever see: precise enough, inside the grid,
	// sorted by time so that a history is a prefix.
	var kept []Event
	for _, e := range events {
		if !cfg.Precision.Keeps(e) {
			continue
		}
		if _, ok := cfg.Grid.Cell(e.Point); !ok {
			continue
		}
		kept = append(kept, e)
	}
	slices.SortStableFunc(kept, func(a, b Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmpInt64(a.ID, b.ID)
	})
	if len(kept) == 0 {
		return nil, errors.New("forecast: backtest: no event is precise enough and inside the grid")
	}
	// The outcome of the last window must be known: the data must reach its
	// end. The day after the last event is taken as the end of the data (a
	// file does not say when its coverage stops).
	dataEnd := kept[len(kept)-1].Time.Truncate(24 * time.Hour).Add(24 * time.Hour)
	origins := Origins(cfg.From, cfg.To, cfg.Step)
	if len(origins) == 0 {
		return nil, errors.New("forecast: backtest: no origin between from and to")
	}
	if last := origins[len(origins)-1]; last.Add(cfg.Target.Horizon).After(dataEnd) {
		return nil, fmt.Errorf("forecast: backtest: the last origin %s's window ends %s, after the data (last event %s): its outcome is unknown; end the origins by %s",
			dateOf(last), dateOf(last.Add(cfg.Target.Horizon)), dateOf(kept[len(kept)-1].Time), dateOf(dataEnd.Add(-cfg.Target.Horizon)))
	}
	first := origins[0]
	if !cfg.ValidationFrom.IsZero() {
		first = cfg.ValidationFrom
	}
	if !kept[0].Time.Before(first) {
		return nil, fmt.Errorf("forecast: backtest: no event before the first origin %s: nothing to fit on", dateOf(first))
	}

	rep, err := runOrigins(kept, origins, cfg, shares, edges, models)
	if err != nil {
		return nil, err
	}
	if !cfg.ValidationFrom.IsZero() {
		var vo []time.Time
		for _, o := range Origins(cfg.ValidationFrom, cfg.From, cfg.Step) {
			// A validation window must end by the first reported origin, so
			// tuning never sees the reported period's outcomes.
			if o.Add(cfg.Target.Horizon).After(cfg.From) {
				break
			}
			vo = append(vo, o)
		}
		if len(vo) == 0 {
			return nil, fmt.Errorf("forecast: backtest: the validation period %s–%s holds no whole window of the horizon", dateOf(cfg.ValidationFrom), dateOf(cfg.From))
		}
		if rep.Validation, err = runOrigins(kept, vo, cfg, shares, edges, models); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func dateOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// originOutcome is what happened after one origin.
type originOutcome struct {
	counts []int  // target events per cell in the window
	y      []bool // counts > 0
	n      int    // target events in the window
}

// runOrigins scores every model at the given origins.
func runOrigins(kept []Event, origins []time.Time, cfg BacktestConfig, shares, edges []float64, models []Model) (*Report, error) {
	g := cfg.Grid
	target := cfg.Target
	rep := &Report{
		Target:  TargetInfo{Categories: target.Categories, HorizonDays: target.Horizon.Hours() / 24},
		Cells:   g.Len(),
		Events:  len(kept),
		Origins: origins, Averaging: Averaging,
	}
	// Shares of the area are shares of km² (a 0.5° cell shrinks away from the
	// equator); cells of a km grid are equal.
	var areas []float64
	if g.degree {
		areas = make([]float64, g.Len())
	}
	for i := 0; i < g.Len(); i++ {
		a := g.AreaKm2(i)
		rep.AreaKm2 += a
		if areas != nil {
			areas[i] = a
		}
	}
	outcomes := make([]originOutcome, len(origins))
	histories := make([]int, len(origins)) // kept[:histories[k]] is before origin k
	for k, o := range origins {
		h := countBefore(kept, o)
		histories[k] = h
		window := kept[h:countBefore(kept, o.Add(target.Horizon))]
		oc := originOutcome{counts: make([]int, g.Len()), y: make([]bool, g.Len())}
		for _, e := range window {
			if len(target.Categories) > 0 && !slices.Contains(target.Categories, e.Category) {
				continue
			}
			i, _ := g.Cell(e.Point) // every kept event is inside the grid
			oc.counts[i]++
			oc.y[i] = true
			oc.n++
		}
		for _, y := range oc.y {
			if y {
				rep.Positives++
			}
		}
		rep.Scored += oc.n
		outcomes[k] = oc
	}

	for _, m := range models {
		mr := ModelReport{Name: m.Name()}
		var (
			aurocSum, apSum, brierSum float64
			allP                      []float64
			allY                      []bool
			hitSum                    = make([]float64, len(shares))
			events                    int
		)
		for k, o := range origins {
			// A copy of exactly its length, not a prefix of kept: a prefix's
			// capacity would let a model reslice into the future, and a model
			// that sorts or edits its history in place must not change the
			// next model's.
			hist := make([]Event, histories[k])
			copy(hist, kept)
			start := time.Now()
			f, err := m.Fit(hist, o, g, target)
			if err != nil {
				return nil, fmt.Errorf("forecast: backtest: %s at %s: %w", m.Name(), dateOf(o), err)
			}
			p := make([]float64, g.Len())
			for i := range p {
				v := f.Probability(i)
				if !(v >= 0 && v <= 1) {
					return nil, fmt.Errorf("forecast: backtest: %s at %s: cell %d has probability %v, not in [0, 1]", m.Name(), dateOf(o), i, v)
				}
				p[i] = v
			}
			mr.FitTime += time.Since(start)
			oc := outcomes[k]
			// The metrics are the same for any order of the cells; handing
			// them the cells already in descending p makes their stable sorts
			// nearly linear (5 sorts of every forecast otherwise dominate a
			// backtest's time).
			ps, ys, cs, as := byDescendingP(p, oc.y, oc.counts, areas)
			if a := AUROC(ps, ys); !math.IsNaN(a) {
				aurocSum += a
				apSum += AveragePrecision(ps, ys)
				mr.DefinedOrigins++
			}
			brierSum += Brier(ps, ys)
			for j, s := range shares {
				if oc.n > 0 {
					hitSum[j] += HitRate(ps, cs, as, s) * float64(oc.n)
				}
			}
			events += oc.n
			allP = append(allP, p...)
			allY = append(allY, oc.y...)
		}
		if mr.DefinedOrigins > 0 {
			mr.AUROC = ptr(aurocSum / float64(mr.DefinedOrigins))
			mr.AP = ptr(apSum / float64(mr.DefinedOrigins))
		}
		mr.Brier = brierSum / float64(len(origins))
		if ps, ys, _, _ := byDescendingP(allP, allY, nil, nil); !math.IsNaN(AUROC(ps, ys)) {
			mr.PooledAUROC = ptr(AUROC(ps, ys))
			mr.PooledAP = ptr(AveragePrecision(ps, ys))
		}
		for j, s := range shares {
			h := AreaHit{Share: s}
			if events > 0 {
				h.HitRate = hitSum[j] / float64(events)
				h.PAI = h.HitRate / s
			}
			mr.Hits = append(mr.Hits, h)
		}
		mr.Reliability, mr.ECE, mr.MeanP, mr.Observed = btReliability(allP, allY, edges)
		rep.Models = append(rep.Models, mr)
	}
	return rep, nil
}

func ptr(v float64) *float64 { return &v }

// byDescendingP returns p, y, counts and areas (nil ones stay nil) permuted so
// that p is descending, ties in cell order.
func byDescendingP(p []float64, y []bool, counts []int, areas []float64) ([]float64, []bool, []int, []float64) {
	order := make([]int32, len(p))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return int(a - b)
	})
	ps, ys := make([]float64, len(p)), make([]bool, len(p))
	var cs []int
	var as []float64
	if counts != nil {
		cs = make([]int, len(p))
	}
	if areas != nil {
		as = make([]float64, len(p))
	}
	for k, i := range order {
		ps[k], ys[k] = p[i], y[i]
		if cs != nil {
			cs[k] = counts[i]
		}
		if as != nil {
			as[k] = areas[i]
		}
	}
	return ps, ys, cs, as
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// countBefore is the number of time-sorted events strictly before t.
func countBefore(events []Event, t time.Time) int {
	n, _ := slices.BinarySearchFunc(events, t, func(e Event, t time.Time) int {
		if e.Time.Before(t) {
			return -1
		}
		return 1
	})
	return n
}

// btReliability is Reliability with bins [Lo, Hi) between the given upper
// edges (the last bin closed at 1), rather than tenths: almost every cell's
// chance of an event in 30 days is below 10 %, where tenths see one bin.
// Empty bins are left out. It also returns the expected calibration error,
// the mean forecast and the observed rate.
func btReliability(p []float64, y []bool, edges []float64) (out []ReliabilityBin, ece, meanP, observed float64) {
	bins := make([]ReliabilityBin, len(edges))
	sumP := make([]float64, len(edges))
	sumY := make([]float64, len(edges))
	lo := 0.0
	for b, hi := range edges {
		bins[b] = ReliabilityBin{Lo: lo, Hi: hi}
		lo = hi
	}
	for i, v := range p {
		b, _ := slices.BinarySearchFunc(edges, v, func(e, v float64) int {
			if e <= v {
				return -1
			}
			return 1
		}) // first edge > v
		b = min(b, len(edges)-1)
		bins[b].N++
		sumP[b] += v
		meanP += v
		if y[i] {
			sumY[b]++
			observed++
		}
	}
	n := float64(len(p))
	for b := range bins {
		if bins[b].N == 0 {
			continue
		}
		bins[b].MeanP = sumP[b] / float64(bins[b].N)
		bins[b].Observed = sumY[b] / float64(bins[b].N)
		ece += float64(bins[b].N) / n * math.Abs(bins[b].MeanP-bins[b].Observed)
		out = append(out, bins[b])
	}
	return out, ece, meanP / n, observed / n
}

// GridSpec says how BacktestGrid lays out and masks the cells.
type GridSpec struct {
	CellKm  float64 // square cells of this size (NewGrid), or
	CellDeg float64 // PRIO-GRID-aligned cells of this size (NewDegreeGrid); exactly one is set
	// MaskKm keeps the cells whose centre is within this distance of an
	// event, and every cell holding one; 0 means DefaultMaskKm, a negative
	// value keeps the whole box.
	MaskKm float64
}

// DefaultMaskKm is the default mask radius: GED's where_prec 2 places an
// event within ~25 km of the named point, so a cell that close to a recorded
// event is where events of this kind are recorded at all.
const DefaultMaskKm = 25

// BacktestGrid is the scoring grid of a backtest over events: the box of the
// events padded by the mask radius, cut into cells, and restricted to the
// cells near an event (GridSpec.MaskKm).
//
// The mask is the study area, the same cells for every model and origin. It
// is drawn from the events passed (the CLI passes every precise event of the
// file, of every category and period), because a box around a country is
// mostly cells where nothing is ever recorded (deserts, parks, other
// countries), which any model ranks last. It makes every metric harder, not
// easier: AUROC loses those easy negatives, and PAI is the hit rate divided by
// the share of the mask flagged, so it is smaller than PAI over the whole
// country by the ratio of the mask's area to the country's. It uses where
// events happened over the whole file, later ones included; it is not a model
// input (all cells are forecast and scored alike), but a model cannot gain
// from it beyond ignoring cells where nothing ever happens.
func BacktestGrid(events []Event, spec GridSpec) (*Grid, error) {
	if len(events) == 0 {
		return nil, errors.New("forecast: no event to lay a grid over")
	}
	if (spec.CellKm > 0) == (spec.CellDeg > 0) {
		return nil, errors.New("forecast: set exactly one of the cell size in km and in degrees")
	}
	mask := spec.MaskKm
	if mask == 0 {
		mask = DefaultMaskKm
	}
	box := bluehelm.BBox{MinLon: math.Inf(1), MinLat: math.Inf(1), MaxLon: math.Inf(-1), MaxLat: math.Inf(-1)}
	for _, e := range events {
		box.MinLon, box.MaxLon = math.Min(box.MinLon, e.Point.Lon), math.Max(box.MaxLon, e.Point.Lon)
		box.MinLat, box.MaxLat = math.Min(box.MinLat, e.Point.Lat), math.Max(box.MaxLat, e.Point.Lat)
	}
	if mask > 0 {
		const kmPerDeg = earthRadiusKm * math.Pi / 180
		midLat := (box.MinLat + box.MaxLat) / 2
		dLat := mask / kmPerDeg
		dLon := mask / (kmPerDeg * math.Max(math.Cos(midLat*math.Pi/180), 0.01))
		box = bluehelm.BBox{
			MinLon: math.Max(box.MinLon-dLon, -180), MaxLon: math.Min(box.MaxLon+dLon, 180),
			MinLat: math.Max(box.MinLat-dLat, -90), MaxLat: math.Min(box.MaxLat+dLat, 90),
		}
	}
	var g *Grid
	var err error
	if spec.CellKm > 0 {
		g, err = NewGrid(box, spec.CellKm)
	} else {
		g, err = NewDegreeGrid(box, spec.CellDeg)
	}
	if err != nil || mask < 0 {
		return g, err
	}
	keep := make([]bool, g.Len())
	ox, oy := g.originXY()
	cw, ch := g.cellW(), g.cellH()
	for _, e := range events {
		if i, ok := g.Cell(e.Point); ok {
			keep[i] = true
		}
		x, y := g.xy(e.Point)
		c0, c1 := span(x-mask, x+mask, ox, cw, g.nx)
		r0, r1 := span(y-mask, y+mask, oy, ch, g.ny)
		for r := r0; r <= r1; r++ {
			cy := oy + (float64(r)+0.5)*ch
			for c := c0; c <= c1; c++ {
				cx := ox + (float64(c)+0.5)*cw
				if math.Hypot(cx-x, cy-y) <= mask {
					keep[r*g.nx+c] = true
				}
			}
		}
	}
	return g.Restrict(func(i int) bool { return keep[i] }), nil
}
