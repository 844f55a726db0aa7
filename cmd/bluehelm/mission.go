package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/plan"
)

// missionFlags are the mission's planning settings: local time (for the night
// limits of helicopter evacuation), whether helicopters fly at night, and the
// speeds and launch times that medical reachability and dispatch estimate with.
type missionFlags struct {
	utcOffset   time.Duration
	nightFlying bool
	roadKmh     float64
	airKmh      float64
	detour      float64
	roadLaunch  time.Duration
	airLaunch   time.Duration
}

// register adds the flags; utcOffset is the default local time offset (the
// demo's scenario has its own).
func (m *missionFlags) register(fs *flag.FlagSet, utcOffset time.Duration) {
	d := plan.DefaultConfig()
	dur := func(name string, def time.Duration) time.Duration {
		if v, err := time.ParseDuration(env(name, "")); err == nil {
			return v
		}
		return def
	}
	num := func(name string, def float64) float64 {
		if v, err := strconv.ParseFloat(env(name, ""), 64); err == nil {
			return v
		}
		return def
	}
	fs.DurationVar(&m.utcOffset, "utc-offset", dur("utc-offset", utcOffset), "mission local time minus UTC, e.g. 2h, for night hours [BLUEHELM_UTC_OFFSET]")
	fs.BoolVar(&m.nightFlying, "night-flying", env("night-flying", "") == "true", "helicopters evacuate at night [BLUEHELM_NIGHT_FLYING]")
	fs.Float64Var(&m.roadKmh, "road-kmh", num("road-kmh", d.RoadSpeedKmh), "road evacuation and mounted speed, km/h [BLUEHELM_ROAD_KMH]")
	fs.Float64Var(&m.airKmh, "air-kmh", num("air-kmh", d.AirSpeedKmh), "helicopter speed, km/h [BLUEHELM_AIR_KMH]")
	fs.Float64Var(&m.detour, "detour", num("detour", d.Detour), "road distance over straight-line distance, without a road network [BLUEHELM_DETOUR]")
	fs.DurationVar(&m.roadLaunch, "road-launch", dur("road-launch", time.Duration(d.RoadLaunchMinutes*float64(time.Minute))), "time to launch a road evacuation [BLUEHELM_ROAD_LAUNCH]")
	fs.DurationVar(&m.airLaunch, "air-launch", dur("air-launch", time.Duration(d.AirLaunchMinutes*float64(time.Minute))), "time to launch a helicopter [BLUEHELM_AIR_LAUNCH]")
}

// config returns the planning configuration, or an error naming the bad flag.
func (m missionFlags) config() (plan.Config, error) {
	c := plan.DefaultConfig()
	c.UTCOffset, c.NightFlying = m.utcOffset, m.nightFlying
	c.RoadSpeedKmh, c.AirSpeedKmh, c.Detour = m.roadKmh, m.airKmh, m.detour
	c.RoadLaunchMinutes, c.AirLaunchMinutes = m.roadLaunch.Minutes(), m.airLaunch.Minutes()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("mission settings: %w", err)
	}
	return c, nil
}

// eta is the dispatch estimator that goes with the configuration: mounted units
// and helicopters at the configured speeds, the rest at the defaults.
func (m missionFlags) eta() plan.StraightLine {
	s := plan.DefaultStraightLine()
	if m.roadKmh > 0 {
		s.SpeedKmh[bluehelm.MobilityMounted] = m.roadKmh
	}
	if m.airKmh > 0 {
		s.SpeedKmh[bluehelm.MobilityAir] = m.airKmh
	}
	if m.detour > 0 {
		s.Detour = m.detour
	}
	return s
}
