package bluehelm

import (
	"math"
	"regexp"
	"slices"
	"time"
)

// TrackKind says what a track is.
type TrackKind string

const (
	KindUnit     TrackKind = "unit"
	KindVehicle  TrackKind = "vehicle"
	KindAircraft TrackKind = "aircraft"
	KindUAV      TrackKind = "uav"
	KindPerson   TrackKind = "person"
	KindSensor   TrackKind = "sensor"
)

// TrackKinds lists the valid kinds.
var TrackKinds = []TrackKind{KindUnit, KindVehicle, KindAircraft, KindUAV, KindPerson, KindSensor}

func (k TrackKind) Valid() bool { return slices.Contains(TrackKinds, k) }

// Track is something that reports its position: a unit, a vehicle, a device.
type Track struct {
	UID         string    `json:"uid"`
	Callsign    string    `json:"callsign,omitempty"`
	Kind        TrackKind `json:"kind,omitempty"`
	CoTType     string    `json:"cot_type,omitempty"` // e.g. a-f-G-U-C
	SIDC        string    `json:"sidc,omitempty"`     // APP-6 / MIL-STD-2525 symbol code
	Unit        string    `json:"unit,omitempty"`
	Nationality string    `json:"nationality,omitempty"` // TCC, ISO 3166 alpha-3
	Marking
	UpdatedAt time.Time `json:"updated_at"`
}

// Position is one report of where a track was.
type Position struct {
	UID     string    `json:"uid"`
	Time    time.Time `json:"time"`
	Lat     float64   `json:"lat"`
	Lon     float64   `json:"lon"`
	HAE     float64   `json:"hae,omitempty"`    // height above ellipsoid, m
	CE      float64   `json:"ce,omitempty"`     // circular error, m
	LE      float64   `json:"le,omitempty"`     // linear error, m
	Course  float64   `json:"course,omitempty"` // degrees true
	Speed   float64   `json:"speed,omitempty"`  // m/s
	Battery int       `json:"battery,omitempty"`
	Source  string    `json:"source,omitempty"` // api, cot, sim, …
}

// Point returns the position's point.
func (p Position) Point() Point { return Point{Lon: p.Lon, Lat: p.Lat} }

var uidRE = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)

// MaxClockSkew is how far in the future a report's time may be before it is refused:
// device clocks drift, but a report from next week is a broken device.
const MaxClockSkew = 5 * time.Minute

// Validate checks a position report against now.
func (p *Position) Validate(now time.Time) error {
	if !uidRE.MatchString(p.UID) {
		return Invalid("uid", "must be 1-128 printable ASCII characters without spaces")
	}
	if p.Time.IsZero() {
		return Invalid("time", "is required")
	}
	if p.Time.After(now.Add(MaxClockSkew)) {
		return Invalid("time", "%s is in the future", p.Time.UTC().Format(time.RFC3339))
	}
	if p.Time.Year() < 2000 {
		return Invalid("time", "%s is before 2000", p.Time.UTC().Format(time.RFC3339))
	}
	if err := p.Point().Validate(); err != nil {
		return err
	}
	for _, f := range []struct {
		name     string
		v        float64
		min, max float64
	}{
		{"hae", p.HAE, -12000, 100000},
		{"ce", p.CE, 0, 1e7},
		{"le", p.LE, 0, 1e7},
		{"course", p.Course, 0, 360},
		{"speed", p.Speed, 0, 3000},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < f.min || f.v > f.max {
			return Invalid(f.name, "%v is outside %v..%v", f.v, f.min, f.max)
		}
	}
	if p.Battery < 0 || p.Battery > 100 {
		return Invalid("battery", "%d is outside 0..100", p.Battery)
	}
	if len(p.Source) > 32 {
		return Invalid("source", "longer than 32 characters")
	}
	return nil
}

// Validate checks a track's descriptive fields.
func (t *Track) Validate() error {
	if !uidRE.MatchString(t.UID) {
		return Invalid("uid", "must be 1-128 printable ASCII characters without spaces")
	}
	if t.Kind != "" && !t.Kind.Valid() {
		return Invalid("kind", "unknown track kind %q", t.Kind)
	}
	for _, f := range []struct{ name, v string }{{"callsign", t.Callsign}, {"cot_type", t.CoTType}, {"sidc", t.SIDC}, {"unit", t.Unit}, {"nationality", t.Nationality}} {
		if len(f.v) > 100 {
			return Invalid(f.name, "longer than 100 characters")
		}
	}
	return t.Marking.Validate()
}

// TrackState is a track with its latest position: one entry of the live picture.
type TrackState struct {
	Track
	Position Position `json:"position"`
}
