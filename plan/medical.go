package plan

import (
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Level1 and Level2 are the levels of the 10-1-2 targets: advanced care within
// 1 hour (Level 1 or better), damage-control surgery within 2 (Level 2 or better).
const (
	Level1 bluehelm.MedicalLevel = "1"
	Level2 bluehelm.MedicalLevel = "2"
)

// Reach is the time from p to the nearest Level 1 and Level 2 care by road and
// by air, at time at (which decides whether helicopters fly). A facility of a
// higher level counts for the lower (a Level 2 hospital gives Level 1 care);
// facilities out of service, or with an unknown level, do not count. Minutes
// are −1 when no means reaches such a facility. Road times are straight-line
// estimates, so RoadEstimated is always true.
//
// The facility ID of each level is the one reached soonest by any means; on a
// tie the lower ID, so the answer does not depend on the order of facilities.
func Reach(p bluehelm.Point, facilities []*bluehelm.MedicalFacility, cfg Config, at time.Time) bluehelm.MedicalReach {
	cfg = cfg.withDefaults()
	return reach(p, facilities, cfg, cfg.airAllowed(at))
}

// reach is Reach with defaults applied and the night rule decided.
func reach(p bluehelm.Point, facilities []*bluehelm.MedicalFacility, cfg Config, airOK bool) bluehelm.MedicalReach {
	type best struct {
		road, air, any float64
		id             int64
	}
	inf := math.Inf(1)
	l1 := best{inf, inf, inf, 0}
	l2 := best{inf, inf, inf, 0}
	for _, f := range facilities {
		if f == nil || f.OutOfService || !f.Level.Valid() {
			continue
		}
		road := cfg.RoadLaunchMinutes + distanceKm(p, f.Location)*cfg.Detour/cfg.RoadSpeedKmh*60
		air := inf
		if airOK {
			for _, h := range f.HelicopterLandingSites {
				air = math.Min(air, cfg.AirLaunchMinutes+distanceKm(p, h)/cfg.AirSpeedKmh*60)
			}
		}
		fastest := math.Min(road, air)
		for _, lv := range []struct {
			b   *best
			min bluehelm.MedicalLevel
		}{{&l1, Level1}, {&l2, Level2}} {
			if !f.Level.AtLeast(lv.min) {
				continue
			}
			b := lv.b
			b.road, b.air = math.Min(b.road, road), math.Min(b.air, air)
			if fastest < b.any || (fastest == b.any && f.ID < b.id) {
				b.any, b.id = fastest, f.ID
			}
		}
	}
	minutes := func(v float64) float64 {
		if math.IsInf(v, 1) {
			return -1
		}
		return v
	}
	return bluehelm.MedicalReach{
		Level1RoadMinutes: minutes(l1.road),
		Level1AirMinutes:  minutes(l1.air),
		Level2RoadMinutes: minutes(l2.road),
		Level2AirMinutes:  minutes(l2.air),
		Level1FacilityID:  l1.id,
		Level2FacilityID:  l2.id,
		RoadEstimated:     true,
		Within1h:          l1.any <= 60,
		Within2h:          l2.any <= 120,
	}
}

// bestMinutes is the soonest of a road and an air time, −1 meaning none.
func bestMinutes(road, air float64) float64 {
	switch {
	case road < 0:
		return air
	case air < 0:
		return road
	}
	return math.Min(road, air)
}

// level1Minutes and level2Minutes are the soonest times to each level, +Inf
// when unreachable, for comparing points.
func level1Minutes(r bluehelm.MedicalReach) float64 {
	return orInf(bestMinutes(r.Level1RoadMinutes, r.Level1AirMinutes))
}

func level2Minutes(r bluehelm.MedicalReach) float64 {
	return orInf(bestMinutes(r.Level2RoadMinutes, r.Level2AirMinutes))
}

func orInf(v float64) float64 {
	if v < 0 {
		return math.Inf(1)
	}
	return v
}
