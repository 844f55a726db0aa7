// Package plan holds the pure computations of patrol planning and incident
// response: route risk, medical reachability under the UN 10-1-2 casualty care
// timelines, the ranking of responders by estimated time of arrival, and the
// share of an area of responsibility that patrols covered.
//
// Nothing here reads a store, a clock or the network: callers pass the
// incidents, areas, facilities, positions and the time of interest, and the
// same inputs always give the same answer.
package plan

import (
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Config tunes route risk and medical reachability. Zero fields take the
// values of DefaultConfig, so a partial configuration is enough; NightFlying and
// UTCOffset are taken as given (false and UTC are their meaningful zero values).
type Config struct {
	// SegmentKm is the longest stretch a route is cut into, so that a long
	// route with few waypoints still gets a picture along its length.
	SegmentKm float64

	// Incident history. An incident weighs category × casualties × recency ×
	// distance: recency halves every RecencyHalfLife and incidents older than
	// Lookback (or after the time of the assessment) are not counted; distance
	// from the segment halves every DistanceHalfKm and stops at RadiusKm.
	RadiusKm        float64
	DistanceHalfKm  float64
	RecencyHalfLife time.Duration
	Lookback        time.Duration
	// CategoryWeights weighs a category from 0 to 1; nil takes
	// DefaultCategoryWeights, and a category missing from the map weighs 0.1.
	CategoryWeights map[bluehelm.Category]float64
	// HeatScale is the summed weight at which the incident part of a segment's
	// score reaches 63 of 100 (1 − 1/e): the score saturates rather than grows
	// without bound.
	HeatScale float64

	// Near repeat: an IED, explosive or attack on UN personnel within
	// NearRepeatKm of a segment and NearRepeatWindow before the assessment makes
	// the segment at least NearRepeatFloor (near-repeat risk is highest within
	// about 1 km and a few days of an attack).
	NearRepeatKm     float64
	NearRepeatWindow time.Duration
	NearRepeatFloor  float64

	// RestrictedFloor is the least score of a segment that crosses a restricted
	// (no-go) area.
	RestrictedFloor float64

	// ForecastReasonMin is the early-warning probability from which a segment
	// names the forecast as a reason (the probability counts in the score in any
	// case).
	ForecastReasonMin float64

	// Medical reachability. Road time = RoadLaunchMinutes + straight-line
	// distance × Detour / RoadSpeedKmh (an estimate: there is no road network
	// yet). Air time = AirLaunchMinutes + straight-line distance to the
	// facility's nearest helicopter landing site / AirSpeedKmh; a facility without
	// a landing site is not reachable by air, and at night nothing flies unless
	// NightFlying.
	RoadSpeedKmh      float64
	Detour            float64
	RoadLaunchMinutes float64
	AirSpeedKmh       float64
	AirLaunchMinutes  float64
	NightFlying       bool
	// Night is from NightStart to NightEnd after local midnight (wrapping past
	// midnight when NightStart > NightEnd); local time is UTC + UTCOffset.
	NightStart, NightEnd time.Duration
	UTCOffset            time.Duration
	// Points added to a segment's score when Level 1 care is beyond 1 hour and
	// when Level 2 care is beyond 2 hours at its worst point.
	Beyond1hPoints, Beyond2hPoints float64
}

// DefaultCategoryWeights weighs incident categories for route risk: IEDs and
// other explosives and attacks on UN personnel weigh most, then armed violence,
// then what signals tension, then what says little about an armed threat.
var DefaultCategoryWeights = map[bluehelm.Category]float64{
	bluehelm.CatExplosive:     1,
	bluehelm.CatAttackOnUN:    1,
	bluehelm.CatArmedClash:    0.6,
	bluehelm.CatKidnapping:    0.6,
	bluehelm.CatRobbery:       0.5,
	bluehelm.CatDrone:         0.5,
	bluehelm.CatViolenceCivs:  0.4,
	bluehelm.CatHumanitarian:  0.3,
	bluehelm.CatMovement:      0.25,
	bluehelm.CatThreat:        0.2,
	bluehelm.CatProtest:       0.1,
	bluehelm.CatOther:         0.1,
	bluehelm.CatArrest:        0.05,
	bluehelm.CatDisplacement:  0.05,
	bluehelm.CatAccident:      0.05,
	bluehelm.CatNaturalHazard: 0.05,
}

// DefaultConfig returns the defaults: 2 km segments; incidents within 5 km,
// distance half 1 km, recency half-life 90 days, one year of history; near repeat
// within 1 km and 3 days; road 40 km/h × 1.4 detour + 10 min launch; air 200 km/h
// + 30 min launch, no night flying between 18:00 and 06:00 UTC.
func DefaultConfig() Config {
	return Config{
		SegmentKm:         2,
		RadiusKm:          5,
		DistanceHalfKm:    1,
		RecencyHalfLife:   90 * 24 * time.Hour,
		Lookback:          365 * 24 * time.Hour,
		CategoryWeights:   DefaultCategoryWeights,
		HeatScale:         2,
		NearRepeatKm:      1,
		NearRepeatWindow:  72 * time.Hour,
		NearRepeatFloor:   80,
		RestrictedFloor:   75,
		ForecastReasonMin: 0.1,
		RoadSpeedKmh:      40,
		Detour:            1.4,
		RoadLaunchMinutes: 10,
		AirSpeedKmh:       200,
		AirLaunchMinutes:  30,
		NightStart:        18 * time.Hour,
		NightEnd:          6 * time.Hour,
		Beyond1hPoints:    10,
		Beyond2hPoints:    15,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	fill := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	fillD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&c.SegmentKm, d.SegmentKm)
	fill(&c.RadiusKm, d.RadiusKm)
	fill(&c.DistanceHalfKm, d.DistanceHalfKm)
	fillD(&c.RecencyHalfLife, d.RecencyHalfLife)
	fillD(&c.Lookback, d.Lookback)
	if c.CategoryWeights == nil {
		c.CategoryWeights = d.CategoryWeights
	}
	fill(&c.HeatScale, d.HeatScale)
	fill(&c.NearRepeatKm, d.NearRepeatKm)
	fillD(&c.NearRepeatWindow, d.NearRepeatWindow)
	fill(&c.NearRepeatFloor, d.NearRepeatFloor)
	fill(&c.RestrictedFloor, d.RestrictedFloor)
	fill(&c.ForecastReasonMin, d.ForecastReasonMin)
	fill(&c.RoadSpeedKmh, d.RoadSpeedKmh)
	fill(&c.Detour, d.Detour)
	fill(&c.RoadLaunchMinutes, d.RoadLaunchMinutes)
	fill(&c.AirSpeedKmh, d.AirSpeedKmh)
	fill(&c.AirLaunchMinutes, d.AirLaunchMinutes)
	if c.NightStart == 0 && c.NightEnd == 0 {
		c.NightStart, c.NightEnd = d.NightStart, d.NightEnd
	}
	fill(&c.Beyond1hPoints, d.Beyond1hPoints)
	fill(&c.Beyond2hPoints, d.Beyond2hPoints)
	return c
}

// Validate checks a configuration after defaults are applied (a mission's
// settings file may set any field).
func (c Config) Validate() error {
	c = c.withDefaults()
	pos := []struct {
		field string
		v     float64
	}{
		{"segment_km", c.SegmentKm}, {"radius_km", c.RadiusKm}, {"distance_half_km", c.DistanceHalfKm},
		{"heat_scale", c.HeatScale}, {"near_repeat_km", c.NearRepeatKm},
		{"road_speed_kmh", c.RoadSpeedKmh}, {"air_speed_kmh", c.AirSpeedKmh},
		{"road_launch_minutes", c.RoadLaunchMinutes}, {"air_launch_minutes", c.AirLaunchMinutes},
		{"near_repeat_floor", c.NearRepeatFloor}, {"restricted_floor", c.RestrictedFloor},
		{"forecast_reason_min", c.ForecastReasonMin},
		{"beyond_1h_points", c.Beyond1hPoints}, {"beyond_2h_points", c.Beyond2hPoints},
	}
	for _, p := range pos {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) || p.v < 0 {
			return bluehelm.Invalid(p.field, "must be a positive number")
		}
	}
	if c.SegmentKm < 0.1 || c.SegmentKm > 50 {
		return bluehelm.Invalid("segment_km", "must be between 0.1 and 50 km")
	}
	if c.RadiusKm > 100 {
		return bluehelm.Invalid("radius_km", "at most 100 km")
	}
	if c.Detour < 1 || c.Detour > 5 {
		return bluehelm.Invalid("detour", "must be between 1 and 5")
	}
	for _, f := range []struct {
		field string
		v     float64
	}{{"near_repeat_floor", c.NearRepeatFloor}, {"restricted_floor", c.RestrictedFloor}, {"beyond_1h_points", c.Beyond1hPoints}, {"beyond_2h_points", c.Beyond2hPoints}} {
		if f.v > 100 {
			return bluehelm.Invalid(f.field, "at most 100")
		}
	}
	if c.ForecastReasonMin > 1 {
		return bluehelm.Invalid("forecast_reason_min", "is a probability, at most 1")
	}
	for cat, w := range c.CategoryWeights {
		if !cat.Valid() {
			return bluehelm.Invalid("category_weights", "unknown category %q", cat)
		}
		if math.IsNaN(w) || w < 0 || w > 1 {
			return bluehelm.Invalid("category_weights", "weight of %s must be between 0 and 1", cat)
		}
	}
	if c.RecencyHalfLife < 0 || c.Lookback < 0 || c.NearRepeatWindow < 0 {
		return bluehelm.Invalid("lookback", "durations must be positive")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"night_start", c.NightStart}, {"night_end", c.NightEnd}} {
		if d.v < 0 || d.v >= 24*time.Hour {
			return bluehelm.Invalid(d.field, "must be a time of day between 00:00 and 23:59")
		}
	}
	if c.UTCOffset < -14*time.Hour || c.UTCOffset > 14*time.Hour {
		return bluehelm.Invalid("utc_offset", "must be between -14 and +14 hours")
	}
	return nil
}

// IsNight reports whether at falls in the configured night (local time).
func (c Config) IsNight(at time.Time) bool {
	c = c.withDefaults()
	if c.NightStart == c.NightEnd {
		return false
	}
	local := at.UTC().Add(c.UTCOffset)
	tod := local.Sub(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC))
	if c.NightStart < c.NightEnd {
		return tod >= c.NightStart && tod < c.NightEnd
	}
	return tod >= c.NightStart || tod < c.NightEnd
}

// airAllowed reports whether helicopters fly at some time.
func (c Config) airAllowed(at time.Time) bool { return c.NightFlying || !c.IsNight(at) }

// airAllowedDuring reports whether helicopters may fly for the whole of
// [from, until]: a patrol that is out at night cannot count on air evacuation.
func (c Config) airAllowedDuring(from, until time.Time) bool {
	if c.NightFlying {
		return true
	}
	if c.IsNight(from) {
		return false
	}
	if !until.After(from) || c.NightStart == c.NightEnd {
		return true
	}
	// Not night at the start: the window meets the night only if the next
	// nightfall comes before it ends.
	local := from.UTC().Add(c.UTCOffset)
	dusk := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).Add(c.NightStart)
	if !dusk.After(local) {
		dusk = dusk.Add(24 * time.Hour)
	}
	return dusk.Sub(local) > until.Sub(from)
}
