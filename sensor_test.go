package bluehelm_test

import (
	"math"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

var unclassified = bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}

func fuelSensor() *bluehelm.Sensor {
	return &bluehelm.Sensor{ID: 7, Code: "CAMP1-FUEL-1", Kind: bluehelm.SensorFuelLevel, CampID: 1, ZoneID: 3,
		Position: bluehelm.Point{Lon: 31.58, Lat: 4.85}, Unit: "%", IntervalSeconds: 60, CapacityLitres: 50000, Marking: unclassified}
}

func TestSensorValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.Sensor)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.Sensor) {}, ""},
		{"bad code", func(s *bluehelm.Sensor) { s.Code = "has space" }, "code"},
		{"unknown kind", func(s *bluehelm.Sensor) { s.Kind = "radar" }, "kind"},
		{"no camp", func(s *bluehelm.Sensor) { s.CampID = 0 }, "camp_id"},
		{"wrong unit for the kind", func(s *bluehelm.Sensor) { s.Unit = "L" }, "unit"},
		{"interval zero", func(s *bluehelm.Sensor) { s.IntervalSeconds = 0 }, "interval_seconds"},
		{"interval over a day", func(s *bluehelm.Sensor) { s.IntervalSeconds = 86401 }, "interval_seconds"},
		{"position off Earth", func(s *bluehelm.Sensor) { s.Position.Lat = 91 }, "position.lat"},
		{"negative capacity", func(s *bluehelm.Sensor) { s.CapacityLitres = -1 }, "capacity_litres"},
		{"capacity on a non-tank", func(s *bluehelm.Sensor) { s.Kind, s.Unit = bluehelm.SensorSolarKW, "kW" }, "capacity_litres"},
		{"perimeter sensor without zone", func(s *bluehelm.Sensor) {
			s.Kind, s.Unit, s.CapacityLitres, s.ZoneID = bluehelm.SensorPIR, "count", 0, 0
		}, "zone_id"},
		{"camera in degrees", func(s *bluehelm.Sensor) { s.Kind, s.Unit, s.CapacityLitres = bluehelm.SensorCamera, "deg", 0 }, ""},
		{"bad marking", func(s *bluehelm.Sensor) { s.Component = "navy" }, "component"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fuelSensor()
			tc.change(s)
			checkField(t, s.Validate(), tc.field)
		})
	}
}

func TestReadingValidate(t *testing.T) {
	s := fuelSensor()
	tests := []struct {
		name   string
		change func(*bluehelm.Reading, *bluehelm.Sensor)
		field  string
	}{
		{"valid", func(*bluehelm.Reading, *bluehelm.Sensor) {}, ""},
		{"full tank", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Value = 100 }, ""},
		{"unknown sensor", func(r *bluehelm.Reading, s *bluehelm.Sensor) { *s = bluehelm.Sensor{} }, "sensor_id"},
		{"another sensor's reading", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.SensorID = 8 }, "sensor_id"},
		{"another sensor's code", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.SensorCode = "X" }, "sensor_code"},
		{"disabled sensor", func(_ *bluehelm.Reading, s *bluehelm.Sensor) { s.Disabled = true }, "sensor_id"},
		{"unknown unit", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Unit = "furlong" }, "unit"},
		{"litres for a percent sensor", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Unit = "L" }, "unit"},
		{"NaN", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Value = math.NaN() }, "value"},
		{"Inf", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Value = math.Inf(1) }, "value"},
		{"tank at 300 %", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Value = 300 }, "value"},
		{"tank below empty", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Value = -0.5 }, "value"},
		{"no time", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Time = time.Time{} }, "time"},
		{"far future", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Time = now.Add(time.Hour) }, "time"},
		{"small clock skew", func(r *bluehelm.Reading, _ *bluehelm.Sensor) { r.Time = now.Add(time.Minute) }, ""},
		{"a week and a second old", func(r *bluehelm.Reading, _ *bluehelm.Sensor) {
			r.Time = now.Add(-bluehelm.MaxReadingAge - time.Second)
		}, "time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := *s
			r := bluehelm.Reading{SensorID: 7, SensorCode: "CAMP1-FUEL-1", Time: now, Value: 42.5, Unit: "%"}
			tc.change(&r, &sc)
			if sc.ID == 0 {
				checkField(t, r.Validate(nil, now), tc.field)
				return
			}
			checkField(t, r.Validate(&sc, now), tc.field)
		})
	}
	// the age limit is the caller's
	r := bluehelm.Reading{SensorID: 7, Time: now.Add(-2 * time.Hour), Value: 1, Unit: "%"}
	checkField(t, r.ValidateAge(s, now, time.Hour), "time")
}

func TestAlarmRuleValidate(t *testing.T) {
	s := fuelSensor()
	base := func() bluehelm.AlarmRule {
		return bluehelm.AlarmRule{Name: "fuel low", Kind: bluehelm.AlarmThreshold, CampID: 1, SensorID: 7,
			Side: bluehelm.SideLow, Level: 20, Hysteresis: 5, Severity: bluehelm.SevWarning}
	}
	tests := []struct {
		name   string
		change func(*bluehelm.AlarmRule)
		field  string
	}{
		{"valid threshold", func(*bluehelm.AlarmRule) {}, ""},
		{"unknown kind", func(r *bluehelm.AlarmRule) { r.Kind = "vibes" }, "kind"},
		{"no camp", func(r *bluehelm.AlarmRule) { r.CampID = 0 }, "camp_id"},
		{"another camp", func(r *bluehelm.AlarmRule) { r.CampID = 2 }, "sensor_id"},
		{"bad severity", func(r *bluehelm.AlarmRule) { r.Severity = "meh" }, "severity"},
		{"unknown sensor", func(r *bluehelm.AlarmRule) { r.SensorID = 9 }, "sensor_id"},
		{"no side", func(r *bluehelm.AlarmRule) { r.Side = "" }, "side"},
		{"level at 300 %", func(r *bluehelm.AlarmRule) { r.Level = 300 }, "level"},
		{"NaN level", func(r *bluehelm.AlarmRule) { r.Level = math.NaN() }, "level"},
		{"negative hysteresis", func(r *bluehelm.AlarmRule) { r.Hysteresis = -1 }, "hysteresis"},
		{"valid rate", func(r *bluehelm.AlarmRule) {
			r.Kind, r.Level, r.Hysteresis, r.WindowSeconds = bluehelm.AlarmRate, 5, 1, 1800
		}, ""},
		{"rate without window", func(r *bluehelm.AlarmRule) {
			r.Kind, r.Level, r.Hysteresis, r.WindowSeconds = bluehelm.AlarmRate, 5, 1, 0
		}, "window_seconds"},
		{"rate that never clears", func(r *bluehelm.AlarmRule) {
			r.Kind, r.Level, r.Hysteresis, r.WindowSeconds = bluehelm.AlarmRate, 5, 5, 1800
		}, "hysteresis"},
		{"valid stale", func(r *bluehelm.AlarmRule) { r.Kind, r.StaleFactor = bluehelm.AlarmStale, 2 }, ""},
		{"stale factor below 1", func(r *bluehelm.AlarmRule) { r.Kind, r.StaleFactor = bluehelm.AlarmStale, 0.5 }, "stale_factor"},
		{"valid perimeter", func(r *bluehelm.AlarmRule) { r.Kind, r.SensorID, r.WindowSeconds = bluehelm.AlarmPerimeter, 0, 60 }, ""},
		{"perimeter on a sensor", func(r *bluehelm.AlarmRule) { r.Kind, r.WindowSeconds = bluehelm.AlarmPerimeter, 60 }, "sensor_id"},
		{"perimeter without window", func(r *bluehelm.AlarmRule) { r.Kind, r.SensorID = bluehelm.AlarmPerimeter, 0 }, "window_seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.change(&r)
			checkField(t, r.Validate(s), tc.field)
		})
	}
}
