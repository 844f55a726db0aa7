package camp

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Balance returns the book balance after the movements, applied in time order
// (ties in the order given). An issue that would make the stock negative is
// refused with the movement's index in the field, because a book that went
// negative once is wrong from then on.
func Balance(movs []bluehelm.StockMovement) (float64, error) {
	order := make([]int, len(movs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return movs[a].Time.Compare(movs[b].Time) })
	bal := 0.0
	for _, i := range order {
		var err error
		if bal, err = movs[i].Apply(bal); err != nil {
			return 0, bluehelm.PrefixField("movements["+strconv.Itoa(i)+"]", err)
		}
	}
	return bal, nil
}

// DailyIssues sums the issues per day for the days days starting at the day of
// from, in loc (nil means UTC): the history the forecast is fitted on. Days are
// the camp's local days because that is when its consumption follows a week.
func DailyIssues(movs []bluehelm.StockMovement, from time.Time, days int, loc *time.Location) []float64 {
	first := dayStart(from, loc)
	out := make([]float64, days)
	for _, m := range movs {
		if m.Kind != bluehelm.MoveIssue {
			continue
		}
		d := dayIndex(first, m.Time, loc)
		if d >= 0 && d < days {
			out[d] += m.Quantity
		}
	}
	return out
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// dayIndex counts calendar days, not 24-hour periods, so a daylight-saving
// change does not shift a day.
func dayIndex(first, t time.Time, loc *time.Location) int {
	d := dayStart(t, loc)
	a := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	b := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// Consumption is a daily consumption model: a linear trend plus a weekday
// pattern,
//
//	issues(day i) = Level[weekday(i)] + Slope × i    (never below 0)
//
// fitted by least squares with one level per weekday (weekday fixed effects).
// The slope is then the within-weekday slope: Mondays against Mondays, Sundays
// against Sundays. Fitting the trend on the raw series instead would read a
// quiet weekend at the end of the history as a falling trend. The weekday
// pattern is additive, which is as good as multiplicative factors while the
// trend is small against the level, and keeps the fit closed-form.
//
// With at most one value per weekday (a week of history or less) the slope is 0.
// A weekday with no history takes the mean level of the others. The trend is
// extrapolated at most as far ahead as the history is long and held flat beyond:
// a fortnight's trend says little about next quarter.
type Consumption struct {
	First time.Time `json:"first"` // the day of index 0
	Days  int       `json:"days"`  // history length
	Slope float64   `json:"slope"` // per day, per day
	// Level is the intercept of each weekday, indexed by time.Weekday.
	Level [7]float64 `json:"level"`
	loc   *time.Location
}

// FitConsumption fits the model to daily totals starting on first's day in loc.
func FitConsumption(daily []float64, first time.Time, loc *time.Location) Consumption {
	m := Consumption{First: dayStart(first, loc), Days: len(daily), loc: loc}
	var n [7]int
	var si, sy [7]float64
	wd := func(i int) time.Weekday { return m.First.AddDate(0, 0, i).Weekday() }
	for i, y := range daily {
		w := wd(i)
		n[w]++
		si[w] += float64(i)
		sy[w] += y
	}
	var num, den float64
	for i, y := range daily {
		w := wd(i)
		di := float64(i) - si[w]/float64(n[w])
		num += di * (y - sy[w]/float64(n[w]))
		den += di * di
	}
	if den > 0 {
		m.Slope = num / den
	}
	seen, sum := 0, 0.0
	for w := range 7 {
		if n[w] > 0 {
			m.Level[w] = sy[w]/float64(n[w]) - m.Slope*si[w]/float64(n[w])
			seen++
			sum += m.Level[w]
		}
	}
	for w := range 7 {
		if n[w] == 0 && seen > 0 {
			m.Level[w] = sum / float64(seen)
		}
	}
	return m
}

// Predict returns the forecast consumption on day's date.
func (m Consumption) Predict(day time.Time) float64 {
	i := dayIndex(m.First, day, m.loc)
	if lim := 2*m.Days - 1; i > lim && m.Days > 0 {
		i = lim
	}
	w := dayStart(day, m.loc).Weekday()
	return math.Max(0, m.Level[w]+m.Slope*float64(i))
}

// DefaultHorizonDays bounds the stock-out search: beyond a year the answer is
// "not in the foreseeable future".
const DefaultHorizonDays = 365

// Supply is an item's cover at a moment.
type Supply struct {
	Balance float64 `json:"balance"`
	// DaysOfSupply is how many days the balance lasts at the forecast, with the
	// last day counted in part; +Inf when it outlasts the horizon.
	DaysOfSupply float64 `json:"days_of_supply"`
	// StockOut is the day the stock runs out (zero when not within the horizon).
	StockOut time.Time `json:"stock_out,omitzero"`
	// Reorder is set when the cover is below the item's minimum days of supply.
	Reorder bool `json:"reorder"`
}

// ProjectSupply runs the balance, held at the start of asOf's day, down by the
// forecast one day at a time.
func ProjectSupply(item *bluehelm.StockItem, balance float64, m Consumption, asOf time.Time, horizonDays int) Supply {
	if horizonDays <= 0 {
		horizonDays = DefaultHorizonDays
	}
	s := Supply{Balance: balance, DaysOfSupply: math.Inf(1)}
	day := dayStart(asOf, m.loc)
	left := balance
	for d := range horizonDays {
		need := m.Predict(day)
		if need > 0 && need >= left {
			s.DaysOfSupply = float64(d) + left/need
			s.StockOut = day
			break
		}
		left -= need
		day = day.AddDate(0, 0, 1)
	}
	s.Reorder = s.DaysOfSupply < item.MinDaysOfSupply
	return s
}

// Reconciliation compares a tank's measured contents with the stock book.
type Reconciliation struct {
	BookLitres   float64 `json:"book_litres"`
	SensorLitres float64 `json:"sensor_litres"`
	// Difference is sensor − book: negative means fuel is missing from the tank.
	Difference float64 `json:"difference"`
	Alarm      bool    `json:"alarm"`
}

// Reconcile compares the book with the tanks' levels (percent, with their
// capacities in litres). The tolerance is a fraction of the total capacity,
// because level sensors err by a share of the tank's height, not of its contents.
func Reconcile(book float64, levels, capacities []float64, tolerance float64) Reconciliation {
	r := Reconciliation{BookLitres: book}
	total := 0.0
	for i, l := range levels {
		r.SensorLitres += l / 100 * capacities[i]
		total += capacities[i]
	}
	r.Difference = r.SensorLitres - book
	r.Alarm = math.Abs(r.Difference) > tolerance*total
	return r
}
