package camp

import (
	"math"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func TestBalance(t *testing.T) {
	mv := func(k bluehelm.MovementKind, q float64, d int) bluehelm.StockMovement {
		return bluehelm.StockMovement{ItemID: 1, Kind: k, Quantity: q, Time: day(d)}
	}
	tests := []struct {
		name  string
		movs  []bluehelm.StockMovement
		want  float64
		field string
	}{
		{"receipts and issues", []bluehelm.StockMovement{mv(bluehelm.MoveReceipt, 1000, 1), mv(bluehelm.MoveIssue, 300, 2), mv(bluehelm.MoveIssue, 200, 3)}, 500, ""},
		{"applied in time order", []bluehelm.StockMovement{mv(bluehelm.MoveIssue, 300, 2), mv(bluehelm.MoveReceipt, 1000, 1)}, 700, ""},
		{"a count resets the book", []bluehelm.StockMovement{mv(bluehelm.MoveReceipt, 1000, 1), mv(bluehelm.MoveCount, 950, 2), mv(bluehelm.MoveIssue, 50, 3)}, 900, ""},
		{"an issue making stock negative", []bluehelm.StockMovement{mv(bluehelm.MoveReceipt, 100, 1), mv(bluehelm.MoveIssue, 101, 2)}, 0, "movements[1].quantity"},
		{"an issue before the receipt", []bluehelm.StockMovement{mv(bluehelm.MoveReceipt, 100, 2), mv(bluehelm.MoveIssue, 50, 1)}, 0, "movements[1].quantity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Balance(tc.movs)
			if tc.field != "" {
				if bluehelm.ErrorField(err) != tc.field || bluehelm.ErrorCode(err) != bluehelm.EINVALID {
					t.Fatalf("got %v, want invalid %q", err, tc.field)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v %v, want %v", got, err, tc.want)
			}
		})
	}
}

// workedIssues is a fortnight of diesel issues from Monday 2 November 2026:
// week 1 Mon–Fri 100 L, Sat–Sun 50 L; week 2 each day 7 L more (107 and 57).
//
// Fit (day i = 0 on Mon 2 Nov; each weekday seen at i and i + 7):
//
//	slope = Σ_w 3.5 × (y_{w+7} − y_w) / Σ_w 2 × 3.5² = 7 × 24.5 / (7 × 24.5) = 1 L/day per day
//	level(Mon) = mean y − slope × mean i = 103.5 − 3.5 = 100
//	level(Tue) = 103.5 − 4.5 = 99, … level(Fri) = 103.5 − 7.5 = 96
//	level(Sat) = 53.5 − 8.5 = 45, level(Sun) = 53.5 − 9.5 = 44
//
// Forecast: Mon 16 (i = 14) 100 + 14 = 114, … Fri 20 96 + 18 = 114, Sat 21
// 45 + 19 = 64, Sun 22 64; the week after 121 and 71.
//
// 1,000 L at the start of Mon 16 Nov: 5 × 114 + 2 × 64 = 698 → 302 left on
// Mon 23; −121 → 181; Tue 24 −121 → 60; Wed 25 needs 121 with 60 left → runs out
// on Wed 25 Nov 2026, days of supply 9 + 60/121 = 9.4959. Minimum 14 days →
// reorder.
func workedIssues() []bluehelm.StockMovement {
	var movs []bluehelm.StockMovement
	for i := range 14 {
		d := day(2 + i)
		q := 100.0
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			q = 50
		}
		if i >= 7 {
			q += 7
		}
		// two issues a day, in the morning and the afternoon, to check the daily sums
		movs = append(movs,
			bluehelm.StockMovement{ItemID: 1, Kind: bluehelm.MoveIssue, Quantity: q / 4, Time: d.Add(8 * time.Hour)},
			bluehelm.StockMovement{ItemID: 1, Kind: bluehelm.MoveIssue, Quantity: q * 3 / 4, Time: d.Add(15 * time.Hour)},
			bluehelm.StockMovement{ItemID: 1, Kind: bluehelm.MoveReceipt, Quantity: 999, Time: d.Add(9 * time.Hour)})
	}
	return movs
}

func TestForecastWorkedExample(t *testing.T) {
	daily := DailyIssues(workedIssues(), day(2), 14, nil)
	if daily[0] != 100 || daily[5] != 50 || daily[7] != 107 || daily[13] != 57 {
		t.Fatalf("daily issues %v", daily)
	}
	m := FitConsumption(daily, day(2), nil)
	if !near(m.Slope, 1) {
		t.Fatalf("slope %v, want 1", m.Slope)
	}
	wantLevel := map[time.Weekday]float64{time.Monday: 100, time.Tuesday: 99, time.Friday: 96, time.Saturday: 45, time.Sunday: 44}
	for w, v := range wantLevel {
		if !near(m.Level[w], v) {
			t.Errorf("level %s %v, want %v", w, m.Level[w], v)
		}
	}
	for _, c := range []struct {
		d    int
		want float64
	}{{16, 114}, {20, 114}, {21, 64}, {22, 64}, {23, 121}, {29, 71}} {
		if got := m.Predict(day(c.d)); !near(got, c.want) {
			t.Errorf("forecast %d Nov %v, want %v", c.d, got, c.want)
		}
	}
	item := &bluehelm.StockItem{ID: 1, Kind: bluehelm.StockDiesel, MinDaysOfSupply: 14}
	tests := []struct {
		name     string
		balance  float64
		days     float64
		stockOut time.Time
		reorder  bool
	}{
		{"worked example", 1000, 9 + 60.0/121, day(25), true},
		{"exactly a week", 698, 7, day(22), true},
		{"empty", 0, 0, day(16), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ProjectSupply(item, tc.balance, m, day(16).Add(6*time.Hour), 0)
			if !near(s.DaysOfSupply, tc.days) || !s.StockOut.Equal(tc.stockOut) || s.Reorder != tc.reorder {
				t.Fatalf("got %+v, want %v days, out %s, reorder %v", s, tc.days, tc.stockOut, tc.reorder)
			}
		})
	}
}

func TestForecastEdges(t *testing.T) {
	item := &bluehelm.StockItem{MinDaysOfSupply: 10}
	tests := []struct {
		name    string
		daily   []float64
		balance float64
		days    float64 // +Inf when no stock-out within the horizon
	}{
		// flat 50 L/day, 3 days only (no slope, missing weekdays take the mean):
		// 1,000 / 50 = 20 days
		{"three days of history", []float64{50, 50, 50}, 1000, 20},
		{"no issues at all", make([]float64, 14), 1000, math.Inf(1)},
		// falling 10 L/day from 140: forecast clamps at 0 and the stock lasts
		{"falling to nothing", []float64{140, 130, 120, 110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10}, 1000, math.Inf(1)},
		// rising 10 L/day from 10: the trend is held flat after 2 × 14 − 1 = 27
		// days, at 10 + 10 × 27 = 280 L/day; day 14 onwards 150, 160, …
		{"rising", []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140}, 150 + 160 + 170, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := FitConsumption(tc.daily, day(2), nil)
			s := ProjectSupply(item, tc.balance, m, day(2+len(tc.daily)), 0)
			if !(near(s.DaysOfSupply, tc.days) || math.IsInf(tc.days, 1) && math.IsInf(s.DaysOfSupply, 1)) {
				t.Fatalf("days of supply %v, want %v (model %+v)", s.DaysOfSupply, tc.days, m)
			}
			if math.IsInf(tc.days, 1) && (s.Reorder || !s.StockOut.IsZero()) {
				t.Fatalf("%+v", s)
			}
		})
	}
	held := FitConsumption([]float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140}, day(2), nil)
	if got := held.Predict(day(2).AddDate(0, 0, 100)); !near(got, 280) {
		t.Fatalf("trend not held flat: %v", got)
	}
}

// TestReconcile: two 20,000 L tanks at 40 % and 35 % hold 8,000 + 7,000 =
// 15,000 L; tolerance 2 % of 40,000 L = 800 L.
func TestReconcile(t *testing.T) {
	tests := []struct {
		name  string
		book  float64
		diff  float64
		alarm bool
	}{
		{"agrees", 15200, -200, false},
		{"at the tolerance", 15800, -800, false},
		{"fuel missing", 16000, -1000, true},
		{"more than booked (an unbooked receipt)", 14000, 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Reconcile(tc.book, []float64{40, 35}, []float64{20000, 20000}, 0.02)
			if r.SensorLitres != 15000 || !near(r.Difference, tc.diff) || r.Alarm != tc.alarm {
				t.Fatalf("got %+v", r)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }
