package bluehelm

import (
	"math"
	"regexp"
	"slices"
	"time"
)

// SensorKind says what a camp sensor measures.
type SensorKind string

const (
	SensorPIR            SensorKind = "perimeter_pir"     // passive infrared detector
	SensorSeismic        SensorKind = "perimeter_seismic" // ground (footstep, vehicle) sensor
	SensorFence          SensorKind = "perimeter_fence"   // fence vibration
	SensorCamera         SensorKind = "perimeter_camera"  // camera detection; the value is its bearing
	SensorSolarKW        SensorKind = "solar_kw"
	SensorGeneratorKW    SensorKind = "generator_kw"
	SensorGeneratorFuel  SensorKind = "generator_fuel_rate"
	SensorBatterySoC     SensorKind = "battery_soc"
	SensorLoadKW         SensorKind = "load_kw"
	SensorWaterLevel     SensorKind = "water_tank_level"
	SensorWaterFlow      SensorKind = "water_flow"
	SensorWaterQuality   SensorKind = "water_quality" // free residual chlorine
	SensorFuelLevel      SensorKind = "fuel_tank_level"
	SensorColdStoreTemp  SensorKind = "cold_store_temp"
	SensorWasteFillLevel SensorKind = "waste_fill_level"
)

// SensorSpec is what every sensor of a kind has in common: the one unit its
// readings must carry and the range a working sensor can report. A value outside
// the range is a broken sensor or a corrupted message, never a fact about the camp.
type SensorSpec struct {
	Unit      string
	Min, Max  float64
	Perimeter bool // a detector: a value above zero is a trigger
}

// SensorSpecs lists the valid kinds with their unit and range. Units are fixed
// per kind so that a rule written in litres never meets a reading in gallons.
var SensorSpecs = map[SensorKind]SensorSpec{
	SensorPIR:            {Unit: "count", Min: 0, Max: 1000, Perimeter: true},
	SensorSeismic:        {Unit: "count", Min: 0, Max: 1000, Perimeter: true},
	SensorFence:          {Unit: "count", Min: 0, Max: 1000, Perimeter: true},
	SensorCamera:         {Unit: "deg", Min: 0, Max: 360, Perimeter: true},
	SensorSolarKW:        {Unit: "kW", Min: 0, Max: 100000},
	SensorGeneratorKW:    {Unit: "kW", Min: 0, Max: 100000},
	SensorGeneratorFuel:  {Unit: "L/h", Min: 0, Max: 10000},
	SensorBatterySoC:     {Unit: "%", Min: 0, Max: 100},
	SensorLoadKW:         {Unit: "kW", Min: 0, Max: 100000},
	SensorWaterLevel:     {Unit: "%", Min: 0, Max: 100},
	SensorWaterFlow:      {Unit: "L/min", Min: 0, Max: 100000},
	SensorWaterQuality:   {Unit: "mg/L", Min: 0, Max: 20},
	SensorFuelLevel:      {Unit: "%", Min: 0, Max: 100},
	SensorColdStoreTemp:  {Unit: "degC", Min: -60, Max: 60},
	SensorWasteFillLevel: {Unit: "%", Min: 0, Max: 100},
}

// SensorKinds lists the valid kinds in display order.
var SensorKinds = []SensorKind{SensorPIR, SensorSeismic, SensorFence, SensorCamera,
	SensorSolarKW, SensorGeneratorKW, SensorGeneratorFuel, SensorBatterySoC, SensorLoadKW,
	SensorWaterLevel, SensorWaterFlow, SensorWaterQuality, SensorFuelLevel,
	SensorColdStoreTemp, SensorWasteFillLevel}

func (k SensorKind) Valid() bool { _, ok := SensorSpecs[k]; return ok }

// Spec returns the kind's unit and range (zero for an unknown kind).
func (k SensorKind) Spec() SensorSpec { return SensorSpecs[k] }

// Perimeter reports whether the kind is an intrusion detector.
func (k SensorKind) Perimeter() bool { return SensorSpecs[k].Perimeter }

// Sensor limits.
const (
	MinSensorInterval = time.Second
	MaxSensorInterval = 24 * time.Hour
	// MaxReadingAge is how old a reading may be when it arrives. Devices buffer
	// while the camp network is down; beyond a week the roll-ups it belongs to are
	// long closed and the reading would only rewrite history.
	MaxReadingAge = 7 * 24 * time.Hour
)

// Sensor is one registered device on a camp network.
type Sensor struct {
	ID      int64      `json:"id"`
	Version int        `json:"version"`
	Code    string     `json:"code"` // what the device calls itself, e.g. "CAMP1-PIR-07"
	Kind    SensorKind `json:"kind"`
	CampID  int64      `json:"camp_id"`           // the camp perimeter area
	ZoneID  int64      `json:"zone_id,omitempty"` // a camp zone area; perimeter correlation needs it
	// Position is where the sensor is on the camp map.
	Position Point `json:"position"`
	// Unit is repeated from the kind so that a registration made with the wrong
	// unit in mind is refused rather than silently reinterpreted.
	Unit            string `json:"unit"`
	IntervalSeconds int    `json:"interval_seconds"` // expected reporting interval
	// CapacityLitres is what a tank holds at 100 %, for reconciling its level with
	// the stock book (tank kinds only; 0 when unknown).
	CapacityLitres float64 `json:"capacity_litres,omitempty"`
	Disabled       bool    `json:"disabled,omitempty"`
	Marking
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var sensorCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$`)

// Interval returns the expected reporting interval.
func (s *Sensor) Interval() time.Duration { return time.Duration(s.IntervalSeconds) * time.Second }

// Validate checks a sensor's registration.
func (s *Sensor) Validate() error {
	if !sensorCodeRE.MatchString(s.Code) {
		return Invalid("code", "must be 1-64 letters, digits or ._:/- starting with a letter or digit")
	}
	spec, ok := SensorSpecs[s.Kind]
	if !ok {
		return Invalid("kind", "unknown sensor kind %q", s.Kind)
	}
	if s.CampID <= 0 {
		return Invalid("camp_id", "is required")
	}
	if s.ZoneID < 0 {
		return Invalid("zone_id", "must not be negative")
	}
	if spec.Perimeter && s.ZoneID == 0 {
		return Invalid("zone_id", "a perimeter sensor needs its zone, or its triggers cannot be correlated")
	}
	if err := s.Position.Validate(); err != nil {
		return PrefixField("position", err)
	}
	if s.Unit != spec.Unit {
		return Invalid("unit", "a %s sensor reports in %q, not %q", s.Kind, spec.Unit, s.Unit)
	}
	iv := s.Interval()
	if iv < MinSensorInterval || iv > MaxSensorInterval {
		return Invalid("interval_seconds", "must be between 1 and 86400")
	}
	tank := s.Kind == SensorWaterLevel || s.Kind == SensorFuelLevel
	if math.IsNaN(s.CapacityLitres) || s.CapacityLitres < 0 || s.CapacityLitres > 1e8 {
		return Invalid("capacity_litres", "must be between 0 and 100,000,000")
	}
	if s.CapacityLitres != 0 && !tank {
		return Invalid("capacity_litres", "only a tank level sensor has a capacity")
	}
	return s.Marking.Validate()
}

// Reading is one value reported by a sensor.
type Reading struct {
	SensorID   int64     `json:"sensor_id,omitempty"`
	SensorCode string    `json:"sensor_code,omitempty"`
	Time       time.Time `json:"time"`
	Value      float64   `json:"value"`
	Unit       string    `json:"unit"`
}

// Validate checks a reading from sensor s against now, refusing readings older
// than MaxReadingAge.
func (r *Reading) Validate(s *Sensor, now time.Time) error {
	return r.ValidateAge(s, now, MaxReadingAge)
}

// ValidateAge is Validate with the caller's limit on how old a reading may be.
func (r *Reading) ValidateAge(s *Sensor, now time.Time, maxAge time.Duration) error {
	if s == nil {
		return Invalid("sensor_id", "unknown sensor")
	}
	if r.SensorID != 0 && r.SensorID != s.ID {
		return Invalid("sensor_id", "reading for sensor %d checked against sensor %d", r.SensorID, s.ID)
	}
	if r.SensorCode != "" && r.SensorCode != s.Code {
		return Invalid("sensor_code", "reading for %q checked against %q", r.SensorCode, s.Code)
	}
	if s.Disabled {
		return Invalid("sensor_id", "sensor %s is disabled", s.Code)
	}
	if r.Time.IsZero() {
		return Invalid("time", "is required")
	}
	if r.Time.After(now.Add(MaxClockSkew)) {
		return Invalid("time", "%s is in the future", r.Time.UTC().Format(time.RFC3339))
	}
	if r.Time.Before(now.Add(-maxAge)) {
		return Invalid("time", "%s is older than %s", r.Time.UTC().Format(time.RFC3339), maxAge)
	}
	spec := s.Kind.Spec()
	if r.Unit != spec.Unit {
		return Invalid("unit", "sensor %s reports in %q, not %q", s.Code, spec.Unit, r.Unit)
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return Invalid("value", "is not a number")
	}
	if r.Value < spec.Min || r.Value > spec.Max {
		return Invalid("value", "%v %s is outside %v..%v for a %s sensor", r.Value, r.Unit, spec.Min, spec.Max, s.Kind)
	}
	return nil
}

// AlarmKind says how an alarm rule looks at readings.
type AlarmKind string

const (
	// AlarmThreshold fires when a value crosses a level and clears only once it is
	// back beyond the level by the hysteresis, so noise around the level does not
	// raise and clear an alarm every few seconds.
	AlarmThreshold AlarmKind = "threshold"
	// AlarmRate fires when a value falls (or rises) faster than a rate per hour
	// over a window: a fuel level dropping faster than the generators burn is
	// theft or a leak.
	AlarmRate AlarmKind = "rate"
	// AlarmStale fires when a sensor has not reported for its interval × factor.
	AlarmStale AlarmKind = "stale"
	// AlarmPerimeter correlates perimeter triggers: two sensors in the same or
	// adjacent zones within the window are a confirmed intrusion (critical); a lone
	// trigger raises an alarm of the rule's severity.
	AlarmPerimeter AlarmKind = "perimeter"
)

// AlarmKinds lists the valid kinds.
var AlarmKinds = []AlarmKind{AlarmThreshold, AlarmRate, AlarmStale, AlarmPerimeter}

func (k AlarmKind) Valid() bool { return slices.Contains(AlarmKinds, k) }

// Side says which way a threshold or rate rule looks.
type Side string

const (
	SideHigh Side = "high" // fire at or above the level; for a rate, rising faster
	SideLow  Side = "low"  // fire at or below the level; for a rate, falling faster
)

// AlarmRule is one camp alarm rule. A rule is about one sensor, except a
// perimeter rule, which is about every perimeter sensor of its camp.
type AlarmRule struct {
	ID       int64     `json:"id"`
	Version  int       `json:"version"`
	Name     string    `json:"name"`
	Kind     AlarmKind `json:"kind"`
	CampID   int64     `json:"camp_id"`
	SensorID int64     `json:"sensor_id,omitempty"` // not for perimeter rules
	Side     Side      `json:"side,omitempty"`      // threshold and rate
	// Level is the threshold in the sensor's unit, or for a rate rule the largest
	// allowed change in the sensor's unit per hour (positive).
	Level float64 `json:"level,omitempty"`
	// Hysteresis is how far back past Level the value (or rate) must go to clear.
	Hysteresis float64 `json:"hysteresis,omitempty"`
	// WindowSeconds is the rate rule's look-back, or the perimeter rule's
	// correlation window.
	WindowSeconds int `json:"window_seconds,omitempty"`
	// StaleFactor multiplies the sensor's interval before it is stale (stale rules;
	// 0 means DefaultStaleFactor).
	StaleFactor float64  `json:"stale_factor,omitempty"`
	Severity    Severity `json:"severity"`
	Disabled    bool     `json:"disabled,omitempty"`
}

// DefaultStaleFactor allows two missed reports before a sensor is stale: one lost
// packet on a camp radio link is normal.
const DefaultStaleFactor = 3

// Window returns the rule's window.
func (r *AlarmRule) Window() time.Duration { return time.Duration(r.WindowSeconds) * time.Second }

// Factor returns the stale factor in force.
func (r *AlarmRule) Factor() float64 {
	if r.StaleFactor == 0 {
		return DefaultStaleFactor
	}
	return r.StaleFactor
}

// Validate checks a rule on its own. For rules about a sensor, s is that sensor
// (nil is refused), so that the rule and the sensor agree on kind and camp.
func (r *AlarmRule) Validate(s *Sensor) error {
	if len(r.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if !r.Kind.Valid() {
		return Invalid("kind", "unknown alarm kind %q (want threshold, rate, stale or perimeter)", r.Kind)
	}
	if r.CampID <= 0 {
		return Invalid("camp_id", "is required")
	}
	if !r.Severity.Valid() {
		return Invalid("severity", "unknown severity %q", r.Severity)
	}
	finite := func(field string, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Invalid(field, "is not a number")
		}
		return nil
	}
	if err := finite("level", r.Level); err != nil {
		return err
	}
	if err := finite("hysteresis", r.Hysteresis); err != nil {
		return err
	}
	if r.Kind == AlarmPerimeter {
		if r.SensorID != 0 {
			return Invalid("sensor_id", "a perimeter rule covers every perimeter sensor of its camp")
		}
		if r.WindowSeconds < 1 || r.WindowSeconds > 3600 {
			return Invalid("window_seconds", "must be between 1 and 3600")
		}
		return nil
	}
	if s == nil || r.SensorID == 0 || s.ID != r.SensorID {
		return Invalid("sensor_id", "unknown sensor")
	}
	if s.CampID != r.CampID {
		return Invalid("sensor_id", "sensor %s is not in camp %d", s.Code, r.CampID)
	}
	switch r.Kind {
	case AlarmThreshold, AlarmRate:
		if r.Side != SideHigh && r.Side != SideLow {
			return Invalid("side", "unknown side %q (want high or low)", r.Side)
		}
		if s.Kind.Perimeter() {
			return Invalid("kind", "a perimeter sensor is watched by the camp's perimeter rule")
		}
		if r.Hysteresis < 0 {
			return Invalid("hysteresis", "must not be negative")
		}
		spec := s.Kind.Spec()
		if r.Kind == AlarmThreshold {
			if r.Level < spec.Min || r.Level > spec.Max {
				return Invalid("level", "%v is outside %v..%v %s", r.Level, spec.Min, spec.Max, spec.Unit)
			}
			if r.Hysteresis > spec.Max-spec.Min {
				return Invalid("hysteresis", "larger than the sensor's range")
			}
			return nil
		}
		if r.Level <= 0 {
			return Invalid("level", "a rate rule needs a positive rate per hour")
		}
		if r.Hysteresis >= r.Level {
			return Invalid("hysteresis", "must be below the rate, or the alarm could never clear")
		}
		if r.WindowSeconds < 60 || r.WindowSeconds > 7*24*3600 {
			return Invalid("window_seconds", "must be between 60 and 604800")
		}
	case AlarmStale:
		if r.StaleFactor != 0 && (math.IsNaN(r.StaleFactor) || r.StaleFactor < 1 || r.StaleFactor > 100) {
			return Invalid("stale_factor", "must be between 1 and 100")
		}
	}
	return nil
}
