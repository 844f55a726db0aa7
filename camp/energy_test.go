package camp

import (
	"math"
	"testing"
	"time"
)

// TestEnergy on a day worked by hand, defaults (0.3 L/kWh, 2.68 kg/L, 30 %,
// 80 L/person/day):
//
//	solar 400 kWh, generator 1,200 kWh → renewable share 400 / 1,600 = 0.25
//	generator 20 h × 200 kW rated = 4,000 kWh possible → load factor 0.30, not under
//	fuel saved 400 × 0.3 = 120 L → CO2 avoided 120 × 2.68 = 321.6 kg
//	water 60,000 L for 800 persons over 1 day → 75 L/person/day < 80
func TestEnergy(t *testing.T) {
	cfg := DefaultEnergyConfig()
	tests := []struct {
		name string
		in   EnergyInput
		want EnergyFigures
	}{
		{"worked day", EnergyInput{SolarKWh: 400, GeneratorKWh: 1200, GeneratorHours: 20, GeneratorRatedKW: 200, WaterLitres: 60000, Persons: 800, Days: 1},
			EnergyFigures{RenewableShare: 0.25, LoadFactor: 0.30, FuelSavedLitres: 120, CO2AvoidedKg: 321.6, WaterLPD: 75, WaterBelowStd: true}},
		{"underloaded set", EnergyInput{GeneratorKWh: 1000, GeneratorHours: 20, GeneratorRatedKW: 200, WaterLitres: 240000, Persons: 1000, Days: 3},
			EnergyFigures{RenewableShare: 0, LoadFactor: 0.25, Underloaded: true, WaterLPD: 80}},
		{"nothing measured", EnergyInput{},
			EnergyFigures{RenewableShare: math.NaN(), LoadFactor: math.NaN(), WaterLPD: math.NaN()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Energy(tc.in, cfg)
			same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || near(a, b) }
			if !same(got.RenewableShare, tc.want.RenewableShare) || !same(got.LoadFactor, tc.want.LoadFactor) ||
				got.Underloaded != tc.want.Underloaded || !same(got.FuelSavedLitres, tc.want.FuelSavedLitres) ||
				!same(got.CO2AvoidedKg, tc.want.CO2AvoidedKg) || !same(got.WaterLPD, tc.want.WaterLPD) || got.WaterBelowStd != tc.want.WaterBelowStd {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestIntegrate: samples every 15 min at 100, 0, 80 kW, then a 3 h gap capped
// at 30 min, then 60 kW (the last sample has no duration):
//
//	kWh = 100 × 0.25 + 0 × 0.25 + 80 × 0.5 = 65; running (≥ 5 kW) 0.25 + 0.5 = 0.75 h
func TestIntegrate(t *testing.T) {
	s := []Sample{{t0, 100}, {t0.Add(15 * time.Minute), 0}, {t0.Add(30 * time.Minute), 80}, {t0.Add(210 * time.Minute), 60}}
	kwh, h := Integrate(s, 5, 30*time.Minute)
	if !near(kwh, 65) || !near(h, 0.75) {
		t.Fatalf("got %v kWh %v h", kwh, h)
	}
}

// TestServiceDue: service every 250 h, last at 1,000 h, lead 24 h → due at
// 1,250 h; raised from 1,226 h on. At 1,230 h with 10 h/day: 20 h to go → 2
// days.
func TestServiceDue(t *testing.T) {
	p := ServicePlan{AssetID: 3, Task: "oil and filters", EveryHours: 250, LastDoneAtHours: 1000, LeadHours: 24}
	tests := []struct {
		name     string
		meter    float64
		ok       bool
		overdue  bool
		expected time.Time
	}{
		{"far off", 1100, false, false, time.Time{}},
		{"just outside the lead", 1225.9, false, false, time.Time{}},
		{"within the lead", 1230, true, false, t0.Add(48 * time.Hour)},
		{"overdue", 1260, true, true, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := p.Due(tc.meter, 10, t0)
			if ok != tc.ok || w.Overdue != tc.overdue || !w.Expected.Equal(tc.expected) {
				t.Fatalf("got %+v %v", w, ok)
			}
			if ok && (w.DueAt != 1250 || !near(w.HoursTo, 1250-tc.meter)) {
				t.Fatalf("got %+v", w)
			}
		})
	}
	if _, ok := (ServicePlan{}).Due(5000, 10, t0); ok {
		t.Fatal("a plan without an interval is never due")
	}
}
