package camp

import (
	"math"
	"time"
)

// EnergyConfig holds the conversion factors, which differ between missions and
// generator fleets; the defaults are stated so that reports can quote them.
type EnergyConfig struct {
	// LitresPerKWh is the diesel a camp generator burns per kWh it produces, and
	// so the diesel saved by each kWh of solar (default 0.3 L/kWh, a mid-sized
	// set at a reasonable load).
	LitresPerKWh float64
	// KgCO2PerLitre is the CO2 emitted burning a litre of diesel (default 2.68).
	KgCO2PerLitre float64
	// MinLoadFactor is the load below which a generator is flagged underloaded
	// (default 0.30): a diesel set run light burns more per kWh and glazes.
	MinLoadFactor float64
	// WaterStandardLPD is the camp's water standard in litres per person per
	// day (default 80; set the mission's own figure).
	WaterStandardLPD float64
}

// DefaultEnergyConfig returns the defaults above.
func DefaultEnergyConfig() EnergyConfig {
	return EnergyConfig{LitresPerKWh: 0.3, KgCO2PerLitre: 2.68, MinLoadFactor: 0.30, WaterStandardLPD: 80}
}

// EnergyInput is what a camp measured over a period.
type EnergyInput struct {
	SolarKWh         float64
	GeneratorKWh     float64
	GeneratorHours   float64 // running hours
	GeneratorRatedKW float64 // rated power of the running set(s)
	WaterLitres      float64 // potable water consumed
	Persons          int     // camp population
	Days             float64 // length of the period
}

// EnergyFigures are the camp's energy and water figures over a period. A ratio
// with nothing to divide by is NaN, so that a dashboard shows "no data" rather
// than a misleading zero.
type EnergyFigures struct {
	RenewableShare  float64 `json:"renewable_share"` // solar / (solar + generator)
	LoadFactor      float64 `json:"load_factor"`     // generator kWh / (hours × rated kW)
	Underloaded     bool    `json:"underloaded"`
	FuelSavedLitres float64 `json:"fuel_saved_litres"`
	CO2AvoidedKg    float64 `json:"co2_avoided_kg"`
	WaterLPD        float64 `json:"water_lpd"` // litres per person per day
	WaterBelowStd   bool    `json:"water_below_standard"`
}

// Energy computes the figures.
func Energy(in EnergyInput, cfg EnergyConfig) EnergyFigures {
	f := EnergyFigures{RenewableShare: math.NaN(), LoadFactor: math.NaN(), WaterLPD: math.NaN()}
	if tot := in.SolarKWh + in.GeneratorKWh; tot > 0 {
		f.RenewableShare = in.SolarKWh / tot
	}
	if capacity := in.GeneratorHours * in.GeneratorRatedKW; capacity > 0 {
		f.LoadFactor = in.GeneratorKWh / capacity
		f.Underloaded = f.LoadFactor < cfg.MinLoadFactor
	}
	f.FuelSavedLitres = in.SolarKWh * cfg.LitresPerKWh
	f.CO2AvoidedKg = f.FuelSavedLitres * cfg.KgCO2PerLitre
	if pd := float64(in.Persons) * in.Days; pd > 0 {
		f.WaterLPD = in.WaterLitres / pd
		f.WaterBelowStd = f.WaterLPD < cfg.WaterStandardLPD
	}
	return f
}

// Sample is one timed value of a power sensor.
type Sample struct {
	Time  time.Time
	Value float64 // kW
}

// Integrate returns the energy (kWh) and the running hours (time at or above
// onKW) of time-ordered power samples. Each sample's value holds until the next
// one, but never for longer than maxGap: across a gap in the data the set may
// have stopped, and counting the gap would invent hours.
func Integrate(samples []Sample, onKW float64, maxGap time.Duration) (kwh, hours float64) {
	for i := 0; i+1 < len(samples); i++ {
		dt := samples[i+1].Time.Sub(samples[i].Time)
		if dt <= 0 {
			continue
		}
		dt = min(dt, maxGap)
		h := dt.Hours()
		kwh += samples[i].Value * h
		if samples[i].Value >= onKW {
			hours += h
		}
	}
	return kwh, hours
}
