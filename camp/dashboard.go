package camp

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// This file assembles the camp dashboard from what the store holds: pure
// functions over sensors, roll-ups, alerts, assets and the stock book, so that
// the figures are tested without a database. Multi-day series come from hourly
// roll-ups only: a month of minute buckets of 200 sensors is 8.6 million rows.

// RunningHours counts the hourly buckets starting at or after since in which
// the generator's output was above zero. An hour the set ran part of counts
// whole: the hourly roll-up cannot tell how much of it, and a service brought
// forward by minutes is the safe error.
func RunningHours(hourly []bluehelm.SensorRollup, since time.Time) float64 {
	n := 0
	for _, r := range hourly {
		if !r.Start.Before(since) && r.Max > 0 {
			n++
		}
	}
	return float64(n)
}

// MeterAt is an asset's hour meter: its base reading plus the running hours of
// its generator sensors since the base was read. A set with several power
// sensors (one per phase) counts the hours any of them shows output.
func MeterAt(a *bluehelm.Asset, hourly []bluehelm.SensorRollup) float64 {
	since := a.MeterSince()
	hours := map[int64]bool{}
	for _, r := range hourly {
		if !r.Start.Before(since) && r.Max > 0 {
			hours[r.Start.Unix()] = true
		}
	}
	return a.HourMeterBase + float64(len(hours))
}

// HoursPerDay is the recent running rate: running hours over the last week
// (or since the meter base if later) per day.
func HoursPerDay(a *bluehelm.Asset, hourly []bluehelm.SensorRollup, now time.Time) float64 {
	from := now.Add(-7 * 24 * time.Hour)
	if s := a.MeterSince(); s.After(from) {
		from = s
	}
	days := now.Sub(from).Hours() / 24
	if days <= 0 {
		return 0
	}
	hours := map[int64]bool{}
	for _, r := range hourly {
		if !r.Start.Before(from) && r.Max > 0 {
			hours[r.Start.Unix()] = true
		}
	}
	return float64(len(hours)) / days
}

// DueServices returns the services of an asset's plans that are due (within
// their lead) at meter hours, most urgent first.
func DueServices(a *bluehelm.Asset, meter, hoursPerDay float64, now time.Time) []WorkOrderSuggestion {
	var out []WorkOrderSuggestion
	for _, p := range a.ServicePlans {
		sp := ServicePlan{AssetID: a.ID, Task: p.Task, EveryHours: p.EveryHours, LastDoneAtHours: p.LastDoneAtHours, LeadHours: p.LeadHours}
		if w, ok := sp.Due(meter, hoursPerDay, now); ok {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(x, y WorkOrderSuggestion) int { return cmpFloat(x.HoursTo, y.HoursTo) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// GeneratorSensors returns the ids of an asset's generator power sensors.
func GeneratorSensors(a *bluehelm.Asset, sensors map[int64]*bluehelm.Sensor) []int64 {
	var ids []int64
	for _, id := range a.SensorIDs {
		if s := sensors[id]; s != nil && s.Kind == bluehelm.SensorGeneratorKW {
			ids = append(ids, id)
		}
	}
	return ids
}

// ForecastHistoryDays is how much issue history a stock forecast is fitted
// on: four weeks, so that each weekday is seen four times.
const ForecastHistoryDays = 28

// StockStatus is one item's line on the dashboard.
type StockStatus struct {
	Item         *bluehelm.StockItem `json:"item"`
	Balance      float64             `json:"balance"`
	Unit         string              `json:"unit"`
	DailyUse     float64             `json:"daily_use"`
	DaysOfSupply *float64            `json:"days_of_supply"` // null: lasts beyond the forecast horizon
	StockOut     *string             `json:"stock_out"`      // YYYY-MM-DD, null when not within the horizon
	BelowMinimum bool                `json:"below_minimum"`
	// TankLevel is what the item's tank sensors measure (litres), and
	// Discrepancy that minus the book: null without tank sensors.
	TankLevel   *float64 `json:"tank_level"`
	Discrepancy *float64 `json:"discrepancy"`
}

// StockForecast fits the consumption model on the issues of the
// ForecastHistoryDays days before now's day and projects the balance.
func StockForecast(item *bluehelm.StockItem, balance float64, movs []bluehelm.StockMovement, now time.Time) (Consumption, Supply) {
	from := dayStart(now, nil).AddDate(0, 0, -ForecastHistoryDays)
	m := FitConsumption(DailyIssues(movs, from, ForecastHistoryDays, nil), from, nil)
	return m, ProjectSupply(item, balance, m, now, 0)
}

// Status assembles an item's line. tankLitres is nil when the item has no tank
// sensor with a last reading.
func Status(item *bluehelm.StockItem, balance float64, movs []bluehelm.StockMovement, tankLitres *float64, now time.Time) StockStatus {
	m, s := StockForecast(item, balance, movs, now)
	st := StockStatus{Item: item, Balance: balance, Unit: item.Unit, DailyUse: round(m.Predict(now), 2), BelowMinimum: s.Reorder}
	if !math.IsInf(s.DaysOfSupply, 0) {
		d := round(s.DaysOfSupply, 1)
		st.DaysOfSupply = &d
	}
	if !s.StockOut.IsZero() {
		d := s.StockOut.Format(time.DateOnly)
		st.StockOut = &d
	}
	if tankLitres != nil {
		lv := round(*tankLitres, 1)
		diff := round(*tankLitres-balance, 1)
		st.TankLevel, st.Discrepancy = &lv, &diff
	}
	return st
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// TankLitres converts the last levels (percent) of an item's tank sensors to
// litres; nil when none of them has a capacity and a reading.
func TankLitres(item *bluehelm.StockItem, sensors map[int64]*bluehelm.Sensor, last map[int64]bluehelm.Reading) *float64 {
	total, seen := 0.0, false
	for _, id := range item.TankSensorIDs {
		s := sensors[id]
		r, ok := last[id]
		if s == nil || !ok || s.CapacityLitres <= 0 {
			continue
		}
		total += r.Value / 100 * s.CapacityLitres
		seen = true
	}
	if !seen {
		return nil
	}
	return &total
}

// SensorState is what the camp map shows of a sensor: "disabled", "alarm"
// (an open or acknowledged alarm other than silence), "stale" (no reading for
// DefaultStaleFactor intervals, or a stale alarm) or "ok".
func SensorState(s *bluehelm.Sensor, last *bluehelm.Reading, alarm, staleAlarm bool, now time.Time) string {
	switch {
	case s.Disabled:
		return "disabled"
	case alarm:
		return "alarm"
	case staleAlarm || last == nil || now.Sub(last.Time) > time.Duration(float64(s.Interval())*bluehelm.DefaultStaleFactor):
		return "stale"
	}
	return "ok"
}

// AlarmSensor returns the sensor an alarm alert is about, from its key
// ("rule/kind/sensor", see Alarm.Key), and whether it is a stale alarm.
func AlarmSensor(a *bluehelm.Alert) (id int64, stale bool, ok bool) {
	if a.Source != bluehelm.AlertSensor {
		return 0, false, false
	}
	i := strings.LastIndexByte(a.Key, '/')
	if i < 0 {
		return 0, false, false
	}
	id, err := strconv.ParseInt(a.Key[i+1:], 10, 64)
	if err != nil || id <= 0 {
		return 0, false, false
	}
	return id, a.Rule == string(bluehelm.AlarmStale), true
}

// EnergySummary is the dashboard's energy block.
type EnergySummary struct {
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	SolarKWh        float64   `json:"solar_kwh"`
	GeneratorKWh    float64   `json:"generator_kwh"`
	LoadKWh         float64   `json:"load_kwh"`
	RenewableShare  *float64  `json:"renewable_share"` // null without any production
	GeneratorHours  float64   `json:"generator_hours"`
	LoadFactor      *float64  `json:"load_factor"` // null without a running set of known rating
	Underloaded     bool      `json:"underloaded"`
	FuelLitres      float64   `json:"fuel_litres"`
	FuelMeasured    bool      `json:"fuel_measured"` // from fuel-rate sensors; otherwise estimated from kWh
	FuelSavedLitres float64   `json:"fuel_saved_litres"`
	CO2AvoidedKg    float64   `json:"co2_avoided_kg"`
	// Series is one row an hour: [unix seconds, solar kW, generator kW, load
	// kW], each the hour's mean summed over the camp's sensors, null when no
	// sensor of the kind reported in the hour.
	Series [][4]*float64 `json:"series"`
}

// WaterSummary is the dashboard's water block.
type WaterSummary struct {
	LitresPerPersonDay *float64 `json:"litres_per_person_day"` // null without flow data or population
	Standard           float64  `json:"standard"`
	BelowStandard      bool     `json:"below_standard"`
	// Series is one row a UTC day: [unix seconds of the day's start, litres].
	Series [][2]float64 `json:"series"`
}

// EnergyWater computes the energy and water blocks over [from, to) from hourly
// roll-ups of the camp's sensors (any order). ratedKW gives each generator
// sensor's set rating (0 or missing: unknown, left out of the load factor).
func EnergyWater(sensors map[int64]*bluehelm.Sensor, hourly []bluehelm.SensorRollup, ratedKW map[int64]float64, profile *bluehelm.CampProfile, from, to time.Time) (EnergySummary, WaterSummary) {
	e := EnergySummary{From: from, To: to, Series: [][4]*float64{}}
	w := WaterSummary{Standard: profile.WaterStandard(), Series: [][2]float64{}}
	from, to = from.Truncate(time.Hour), to.Truncate(time.Hour)
	hours := int(to.Sub(from) / time.Hour)
	if hours <= 0 {
		return e, w
	}
	col := map[bluehelm.SensorKind]int{bluehelm.SensorSolarKW: 1, bluehelm.SensorGeneratorKW: 2, bluehelm.SensorLoadKW: 3}
	rows := make([][4]*float64, hours)
	firstDay := from.Truncate(24 * time.Hour)
	days := int(to.Sub(firstDay)/(24*time.Hour)) + 1
	water := make([]float64, days)
	// Hours and days with flow data: a water meter that came on line mid-period,
	// or a week with a dead one, must not read as people going without water.
	flowHours, flowDays := make([]bool, hours), make([]bool, days)
	var lfKWh, lfCapacity, fuelMeasured float64
	for _, r := range hourly {
		s := sensors[r.SensorID]
		if s == nil || r.Count == 0 || r.Start.Before(from) || !r.Start.Before(to) {
			continue
		}
		mean := r.Sum / float64(r.Count)
		h := int(r.Start.Sub(from) / time.Hour)
		if c, ok := col[s.Kind]; ok {
			if rows[h][c] == nil {
				rows[h][c] = new(float64)
			}
			*rows[h][c] += mean
			switch s.Kind {
			case bluehelm.SensorSolarKW:
				e.SolarKWh += mean
			case bluehelm.SensorLoadKW:
				e.LoadKWh += mean
			case bluehelm.SensorGeneratorKW:
				e.GeneratorKWh += mean
				if r.Max > 0 {
					e.GeneratorHours++
					if kw := ratedKW[s.ID]; kw > 0 {
						lfKWh += mean
						lfCapacity += kw
					}
				}
			}
			continue
		}
		switch s.Kind {
		case bluehelm.SensorGeneratorFuel:
			fuelMeasured += mean // L/h over one hour
			e.FuelMeasured = true
		case bluehelm.SensorWaterFlow:
			d := int(r.Start.Sub(firstDay) / (24 * time.Hour))
			water[d] += mean * 60 // L/min over one hour
			flowHours[h], flowDays[d] = true, true
		}
	}
	for h := range rows {
		t := float64(from.Add(time.Duration(h) * time.Hour).Unix())
		rows[h][0] = &t
		for c := 1; c < 4; c++ {
			if rows[h][c] != nil {
				*rows[h][c] = round(*rows[h][c], 3)
			}
		}
	}
	e.Series = rows
	f := Energy(EnergyInput{SolarKWh: e.SolarKWh, GeneratorKWh: lfKWh, GeneratorHours: 1, GeneratorRatedKW: lfCapacity},
		EnergyConfig{LitresPerKWh: profile.LitresPerKWh(), KgCO2PerLitre: profile.KgCO2PerLitre(), MinLoadFactor: DefaultEnergyConfig().MinLoadFactor})
	if tot := e.SolarKWh + e.GeneratorKWh; tot > 0 {
		v := round(e.SolarKWh/tot, 4)
		e.RenewableShare = &v
	}
	if !math.IsNaN(f.LoadFactor) {
		v := round(f.LoadFactor, 4)
		e.LoadFactor, e.Underloaded = &v, f.Underloaded
	}
	e.FuelLitres = fuelMeasured
	if !e.FuelMeasured {
		e.FuelLitres = e.GeneratorKWh * profile.LitresPerKWh()
	}
	e.FuelSavedLitres, e.CO2AvoidedKg = round(f.FuelSavedLitres, 1), round(f.CO2AvoidedKg, 1)
	e.SolarKWh, e.GeneratorKWh, e.LoadKWh, e.FuelLitres = round(e.SolarKWh, 1), round(e.GeneratorKWh, 1), round(e.LoadKWh, 1), round(e.FuelLitres, 1)

	total, covered := 0.0, 0
	for d, l := range water {
		day := firstDay.Add(time.Duration(d) * 24 * time.Hour)
		if !day.Before(to) {
			break
		}
		if flowDays[d] {
			w.Series = append(w.Series, [2]float64{float64(day.Unix()), round(l, 1)})
			total += l
		}
	}
	for _, ok := range flowHours {
		if ok {
			covered++
		}
	}
	pop := 0
	if profile != nil {
		pop = profile.Population
	}
	if covered > 0 && pop > 0 {
		v := round(total/(float64(pop)*float64(covered)/24), 1)
		w.LitresPerPersonDay, w.BelowStandard = &v, v < w.Standard
	}
	return e, w
}
