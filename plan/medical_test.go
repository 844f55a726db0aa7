package plan

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// km north and km east of the origin, on the equator where a degree is the
// same length both ways (orb's sphere: 111,319.49 m), so distances are exact.
func north(km float64) bluehelm.Point { return bluehelm.Point{Lat: km * 1000 / metresPerDegree} }
func east(km float64) bluehelm.Point  { return bluehelm.Point{Lon: km * 1000 / metresPerDegree} }

var (
	noon     = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	midnight = time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)
)

// workedConfig is the configuration of the worked example: road 40 km/h,
// detour 1.5, 10 min to set off; air 200 km/h, 30 min to launch.
func workedConfig() Config {
	c := DefaultConfig()
	c.RoadSpeedKmh, c.Detour, c.RoadLaunchMinutes = 40, 1.5, 10
	c.AirSpeedKmh, c.AirLaunchMinutes = 200, 30
	return c
}

func facility(id int64, level bluehelm.MedicalLevel, at bluehelm.Point, hls bool) *bluehelm.MedicalFacility {
	f := &bluehelm.MedicalFacility{ID: id, Name: "F", Level: level, Location: at}
	if hls {
		f.HelicopterLandingSites = []bluehelm.Point{at}
	}
	return f
}

// TestReachWorkedExample checks 10-1-2 reachability against answers worked by
// hand. The casualty is at the origin.
//
//	Level 1 clinic 30 km north, with a landing site:
//	  road 10 + 30 × 1.5 / 40 × 60 = 10 + 67.5 = 77.5 min (estimate)
//	  air  30 + 30 / 200 × 60      = 30 + 9    = 39 min
//	Level 2 hospital 90 km east, with a landing site:
//	  road 10 + 90 × 1.5 / 40 × 60 = 10 + 202.5 = 212.5 min
//	  air  30 + 90 / 200 × 60      = 30 + 27    = 57 min
//	By day: Level 1 within 1 h by air (39), Level 2 within 2 h by air (57). The
//	hospital also gives Level 1 care but is further (57 > 39 by air, 212.5 >
//	77.5 by road), so the clinic is the Level 1 answer.
//	At night without night flying: air −1; Level 1 77.5 > 60, Level 2 212.5 >
//	120: neither target is met.
func TestReachWorkedExample(t *testing.T) {
	clinic := facility(1, "1", north(30), true)
	hospital := facility(2, "2", east(90), true)
	fs := []*bluehelm.MedicalFacility{hospital, clinic}
	cases := []struct {
		name  string
		night bool
		fly   bool
		want  bluehelm.MedicalReach
	}{
		{"day", false, false, bluehelm.MedicalReach{Level1RoadMinutes: 77.5, Level1AirMinutes: 39, Level2RoadMinutes: 212.5, Level2AirMinutes: 57,
			Level1FacilityID: 1, Level2FacilityID: 2, RoadEstimated: true, Within1h: true, Within2h: true}},
		{"night, no night flying", true, false, bluehelm.MedicalReach{Level1RoadMinutes: 77.5, Level1AirMinutes: -1, Level2RoadMinutes: 212.5, Level2AirMinutes: -1,
			Level1FacilityID: 1, Level2FacilityID: 2, RoadEstimated: true}},
		{"night with night flying", true, true, bluehelm.MedicalReach{Level1RoadMinutes: 77.5, Level1AirMinutes: 39, Level2RoadMinutes: 212.5, Level2AirMinutes: 57,
			Level1FacilityID: 1, Level2FacilityID: 2, RoadEstimated: true, Within1h: true, Within2h: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := workedConfig()
			cfg.NightFlying = c.fly
			at := noon
			if c.night {
				at = midnight
			}
			got := Reach(bluehelm.Point{}, fs, cfg, at)
			if !reachClose(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func reachClose(a, b bluehelm.MedicalReach) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-6 }
	return near(a.Level1RoadMinutes, b.Level1RoadMinutes) && near(a.Level1AirMinutes, b.Level1AirMinutes) &&
		near(a.Level2RoadMinutes, b.Level2RoadMinutes) && near(a.Level2AirMinutes, b.Level2AirMinutes) &&
		a.Level1FacilityID == b.Level1FacilityID && a.Level2FacilityID == b.Level2FacilityID &&
		a.RoadEstimated == b.RoadEstimated && a.Within1h == b.Within1h && a.Within2h == b.Within2h
}

// TestReachFacilities checks which facilities count.
func TestReachFacilities(t *testing.T) {
	out := facility(9, "2+", north(1), true)
	out.OutOfService = true
	cases := []struct {
		name       string
		fs         []*bluehelm.MedicalFacility
		l1Road     float64 // minutes, −1 none
		l1Air      float64
		l2Road     float64
		l1ID, l2ID int64
	}{
		// A Level 2 10 km away gives Level 1 care: 10 + 10 × 1.5 / 40 × 60 = 32.5.
		{"level 2 satisfies level 1", []*bluehelm.MedicalFacility{facility(3, "2", north(10), false)}, 32.5, -1, 32.5, 3, 3},
		// The out-of-service hospital 1 km away is ignored; the clinic 30 km away counts.
		{"out of service ignored", []*bluehelm.MedicalFacility{out, facility(1, "1", north(30), false)}, 77.5, -1, -1, 1, 0},
		// No landing site, no air: a Level 1+ (counts as Level 1, not 2).
		{"level 1+ is not level 2", []*bluehelm.MedicalFacility{facility(4, "1+", north(20), false)}, 10 + 20*1.5/40*60, -1, -1, 4, 0},
		{"none", nil, -1, -1, -1, 0, 0},
		// Two Level 1s: the nearer wins whatever the order; by air 30 + 40/200×60 = 42
		// beats the nearer clinic's road 10 + 20×1.5/40×60 = 55.
		{"fastest by any means", []*bluehelm.MedicalFacility{facility(6, "1", north(20), false), facility(5, "1", east(40), true)}, 55, 42, -1, 5, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Reach(bluehelm.Point{}, c.fs, workedConfig(), noon)
			got := []float64{r.Level1RoadMinutes, r.Level1AirMinutes, r.Level2RoadMinutes}
			want := []float64{c.l1Road, c.l1Air, c.l2Road}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-6 {
					t.Errorf("minutes %d: got %v, want %v", i, got[i], want[i])
				}
			}
			if r.Level1FacilityID != c.l1ID || r.Level2FacilityID != c.l2ID {
				t.Errorf("facilities %d/%d, want %d/%d", r.Level1FacilityID, r.Level2FacilityID, c.l1ID, c.l2ID)
			}
			if !r.RoadEstimated {
				t.Error("road times must be labelled estimates")
			}
		})
	}
}

func TestIsNight(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
	cases := []struct {
		at     time.Time
		offset time.Duration
		night  bool
	}{
		{day(17, 59), 0, false},
		{day(18, 0), 0, true},
		{day(23, 30), 0, true},
		{day(5, 59), 0, true},
		{day(6, 0), 0, false},
		{day(16, 30), 2 * time.Hour, true},  // 18:30 local
		{day(4, 30), 2 * time.Hour, false},  // 06:30 local
		{day(20, 0), -3 * time.Hour, false}, // 17:00 local
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.UTCOffset = c.offset
		if got := cfg.IsNight(c.at); got != c.night {
			t.Errorf("%s offset %s: night %v, want %v", c.at.Format("15:04"), c.offset, got, c.night)
		}
	}
}

func TestAirAllowedDuring(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	cases := []struct {
		from, until time.Time
		ok          bool
	}{
		{day(10, 8), day(10, 17), true},
		{day(10, 8), day(10, 18), false}, // ends at nightfall
		{day(10, 16), day(10, 20), false},
		{day(10, 7), day(11, 7), false}, // a whole day has a night
		{day(10, 22), day(10, 23), false},
		{day(10, 6), day(10, 6), true},
	}
	for _, c := range cases {
		cfg := DefaultConfig().withDefaults()
		if got := cfg.airAllowedDuring(c.from, c.until); got != c.ok {
			t.Errorf("%s–%s: %v, want %v", c.from, c.until, got, c.ok)
		}
		cfg.NightFlying = true
		if !cfg.airAllowedDuring(c.from, c.until) {
			t.Errorf("%s–%s: night flying allowed yet no air", c.from, c.until)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"zero is defaults", func(*Config) {}, ""},
		{"detour below 1", func(c *Config) { c.Detour = 0.5 }, "detour"},
		{"negative speed", func(c *Config) { c.RoadSpeedKmh = -1 }, "road_speed_kmh"},
		{"segments too short", func(c *Config) { c.SegmentKm = 0.01 }, "segment_km"},
		{"unknown category", func(c *Config) { c.CategoryWeights = map[bluehelm.Category]float64{"bogus": 1} }, "category_weights"},
		{"night start", func(c *Config) { c.NightStart = 25 * time.Hour }, "night_start"},
	}
	for _, c := range cases {
		var cfg Config
		c.edit(&cfg)
		err := cfg.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || bluehelm.ErrorField(err) != c.field {
			t.Errorf("%s: got %v, want an error on %s", c.name, err, c.field)
		}
		if err != nil && !strings.Contains(bluehelm.ErrorCode(err), "invalid") {
			t.Errorf("%s: code %q", c.name, bluehelm.ErrorCode(err))
		}
	}
}
