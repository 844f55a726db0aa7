package camp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func hourRollup(id int64, start time.Time, mean, max float64) bluehelm.SensorRollup {
	return bluehelm.SensorRollup{SensorID: id, Resolution: bluehelm.RollupHour, Start: start, Count: 60, Min: 0, Max: max, Sum: mean * 60, Last: mean, LastTime: start.Add(59 * time.Minute)}
}

func TestMeterAndDueServices(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a := &bluehelm.Asset{ID: 9, Kind: bluehelm.AssetGenerator, HourMeterBase: 1200, HourMeterAt: &base, SensorIDs: []int64{4},
		ServicePlans: []bluehelm.ServicePlan{
			{Task: "oil change", EveryHours: 250, LeadHours: 25, LastDoneAtHours: 1000},  // due at 1250
			{Task: "injectors", EveryHours: 1000, LeadHours: 50, LastDoneAtHours: 1000},  // due at 2000
			{Task: "air filter", EveryHours: 100, LeadHours: 30, LastDoneAtHours: 1150}}} // due at 1250 too
	var hourly []bluehelm.SensorRollup
	// 40 hours before the base (not counted), then 30 running and 10 stopped
	// hours, with a second phase sensor on the same hours (counted once).
	for h := -40; h < 40; h++ {
		max := 120.0
		if h >= 30 {
			max = 0
		}
		start := base.Add(time.Duration(h) * time.Hour)
		hourly = append(hourly, hourRollup(4, start, max/2, max), hourRollup(5, start, max/2, max))
	}
	now := base.Add(40 * time.Hour)
	meter := MeterAt(a, hourly)
	if meter != 1230 {
		t.Fatalf("meter %v, want 1200 + 30", meter)
	}
	if RunningHours(hourly, base) != 60 {
		t.Errorf("running hours of two sensors %v", RunningHours(hourly, base))
	}
	due := DueServices(a, meter, HoursPerDay(a, hourly, now), now)
	if len(due) != 2 || due[0].Task != "oil change" || due[0].DueAt != 1250 || due[0].HoursTo != 20 || due[1].Task != "air filter" {
		t.Fatalf("due %+v", due)
	}
	if due[0].Expected.IsZero() {
		t.Error("no expected date at a known running rate")
	}
	if got := DueServices(a, 1100, 0, now); len(got) != 0 {
		t.Errorf("due far from the lead: %+v", got)
	}
}

func TestEnergyWater(t *testing.T) {
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	to := from.Add(48 * time.Hour)
	sensors := map[int64]*bluehelm.Sensor{
		1: {ID: 1, Kind: bluehelm.SensorSolarKW}, 2: {ID: 2, Kind: bluehelm.SensorGeneratorKW},
		3: {ID: 3, Kind: bluehelm.SensorLoadKW}, 4: {ID: 4, Kind: bluehelm.SensorWaterFlow},
	}
	var hourly []bluehelm.SensorRollup
	for h := range 48 {
		start := from.Add(time.Duration(h) * time.Hour)
		if h%24 >= 6 && h%24 < 18 { // 12 sunny hours a day at 50 kW
			hourly = append(hourly, hourRollup(1, start, 50, 60))
		} else { // the generator at 100 kW the other 12
			hourly = append(hourly, hourRollup(2, start, 100, 110))
		}
		hourly = append(hourly, hourRollup(3, start, 100, 120), hourRollup(4, start, 50, 80)) // 50 L/min = 3000 L/h
	}
	hourly = append(hourly, hourRollup(1, to, 999, 999)) // outside the period
	p := &bluehelm.CampProfile{CampID: 1, Population: 1000, WaterStandardLPD: 84}
	e, w := EnergyWater(sensors, hourly, map[int64]float64{2: 250}, p, from, to)
	// Two days: solar 2×12×50 = 1200 kWh, generator 2×12×100 = 2400 kWh, load 4800.
	if e.SolarKWh != 1200 || e.GeneratorKWh != 2400 || e.LoadKWh != 4800 || e.GeneratorHours != 24 {
		t.Fatalf("energy %+v", e)
	}
	if *e.RenewableShare != 0.3333 || *e.LoadFactor != 0.4 || e.Underloaded {
		t.Errorf("share %v load factor %v underloaded %v", *e.RenewableShare, *e.LoadFactor, e.Underloaded)
	}
	// No fuel-rate sensor: 2400 kWh × 0.3 L/kWh; saved 1200 × 0.3 = 360 L, × 2.68 kg.
	if e.FuelLitres != 720 || e.FuelMeasured || e.FuelSavedLitres != 360 || e.CO2AvoidedKg != 964.8 {
		t.Errorf("fuel %+v", e)
	}
	if len(e.Series) != 48 || *e.Series[0][0] != float64(from.Unix()) || e.Series[0][1] != nil || *e.Series[0][2] != 100 || *e.Series[6][1] != 50 {
		t.Errorf("series row 0 %v row 6 %v", e.Series[0], e.Series[6])
	}
	// 3000 L/h × 24 h = 72,000 L a day for 1000 people: 72 L/p/d, below 84.
	if w.LitresPerPersonDay == nil || *w.LitresPerPersonDay != 72 || !w.BelowStandard || len(w.Series) != 2 || w.Series[1] != [2]float64{float64(from.Unix() + 86400), 72000} {
		t.Errorf("water %+v", w)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Errorf("energy does not encode: %v", err)
	}
	// A meter that came on line on the second day: the first day is not a day
	// without water, it is a day without data, and is left out of both.
	var late []bluehelm.SensorRollup
	for h := 24; h < 48; h++ {
		late = append(late, hourRollup(4, from.Add(time.Duration(h)*time.Hour), 50, 80))
	}
	if _, w := EnergyWater(sensors, late, nil, p, from, to); w.LitresPerPersonDay == nil || *w.LitresPerPersonDay != 72 || len(w.Series) != 1 {
		t.Errorf("water with a day of data: %+v", w)
	}
	// Without data every ratio is null, never a misleading zero or a NaN.
	e, w = EnergyWater(sensors, nil, nil, nil, from, to)
	if e.RenewableShare != nil || e.LoadFactor != nil || w.LitresPerPersonDay != nil || w.Standard != bluehelm.DefaultWaterStandardLPD {
		t.Errorf("empty: %+v %+v", e, w)
	}
}

func TestStockStatus(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	item := &bluehelm.StockItem{ID: 1, Kind: bluehelm.StockDiesel, Unit: "L", MinDaysOfSupply: 14, TankSensorIDs: []int64{7}}
	var movs []bluehelm.StockMovement
	for d := 1; d <= ForecastHistoryDays; d++ {
		movs = append(movs, bluehelm.StockMovement{ItemID: 1, Kind: bluehelm.MoveIssue, Quantity: 1000, Time: now.AddDate(0, 0, -d)})
	}
	tank := TankLitres(item, map[int64]*bluehelm.Sensor{7: {ID: 7, CapacityLitres: 20000}}, map[int64]bluehelm.Reading{7: {Value: 50}})
	st := Status(item, 12000, movs, tank, now)
	// 1000 L a day: 12 days of supply, out on Dec 10 (its 12th day), below the 14-day minimum;
	// the tank holds 10,000 L, 2,000 fewer than the book.
	if st.DailyUse != 1000 || *st.DaysOfSupply != 12 || *st.StockOut != "2026-12-10" || !st.BelowMinimum || *st.TankLevel != 10000 || *st.Discrepancy != -2000 {
		t.Errorf("status %+v dos %v out %v", st, *st.DaysOfSupply, *st.StockOut)
	}
	st = Status(item, 12000, nil, nil, now)
	if st.DaysOfSupply != nil || st.StockOut != nil || st.BelowMinimum || st.TankLevel != nil {
		t.Errorf("no consumption: %+v", st)
	}
}

func TestSensorState(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	s := &bluehelm.Sensor{IntervalSeconds: 60}
	fresh := &bluehelm.Reading{Time: now.Add(-time.Minute)}
	old := &bluehelm.Reading{Time: now.Add(-4 * time.Minute)}
	for _, c := range []struct {
		name          string
		disabled      bool
		last          *bluehelm.Reading
		alarm, staleA bool
		want          string
	}{
		{"ok", false, fresh, false, false, "ok"},
		{"alarm", false, fresh, true, false, "alarm"},
		{"silent beyond three intervals", false, old, false, false, "stale"},
		{"never reported", false, nil, false, false, "stale"},
		{"stale alarm", false, fresh, false, true, "stale"},
		{"disabled wins", true, fresh, true, false, "disabled"},
	} {
		s.Disabled = c.disabled
		if got := SensorState(s, c.last, c.alarm, c.staleA, now); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	id, stale, ok := AlarmSensor(&bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: "stale", Key: "3/stale/42"})
	if id != 42 || !stale || !ok {
		t.Errorf("AlarmSensor: %d %v %v", id, stale, ok)
	}
}
