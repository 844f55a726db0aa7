package bluehelm

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AreaKind says what an area is for.
type AreaKind string

const (
	AreaAOR        AreaKind = "aor"        // area of responsibility
	AreaCamp       AreaKind = "camp"       // camp perimeter
	AreaCampZone   AreaKind = "camp_zone"  // zone inside a camp
	AreaRestricted AreaKind = "restricted" // restricted / no-go area
	AreaSector     AreaKind = "patrol_sector"
	AreaRoute      AreaKind = "route" // a LineString
)

var AreaKinds = []AreaKind{AreaAOR, AreaCamp, AreaCampZone, AreaRestricted, AreaSector, AreaRoute}

// Trigger is what makes an area rule fire.
type Trigger string

const (
	TriggerEnter Trigger = "enter"
	TriggerExit  Trigger = "exit"
	TriggerDwell Trigger = "dwell"
)

// AreaRule raises an alert when a track of one of the kinds enters, leaves or stays
// longer than DwellSeconds in the area. No kinds means every kind.
type AreaRule struct {
	Trigger      Trigger     `json:"trigger"`
	TrackKinds   []TrackKind `json:"track_kinds,omitempty"`
	DwellSeconds int         `json:"dwell_seconds,omitempty"`
	Severity     Severity    `json:"severity"`
}

// Matches reports whether the rule applies to a track of kind k.
func (r AreaRule) Matches(k TrackKind) bool {
	return len(r.TrackKinds) == 0 || slices.Contains(r.TrackKinds, k)
}

// Area is a named polygon or line.
type Area struct {
	ID          int64      `json:"id"`
	Version     int        `json:"version"`
	Name        string     `json:"name"`
	Kind        AreaKind   `json:"kind"`
	Description string     `json:"description,omitempty"`
	Geometry    Geometry   `json:"geometry"`
	Rules       []AreaRule `json:"rules,omitempty"`
	Marking
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks an area.
func (a *Area) Validate() error {
	if strings.TrimSpace(a.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(a.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if utf8.RuneCountInString(a.Description) > 5000 {
		return Invalid("description", "longer than 5000 characters")
	}
	if !slices.Contains(AreaKinds, a.Kind) {
		return Invalid("kind", "unknown area kind %q", a.Kind)
	}
	if err := a.Geometry.Validate(); err != nil {
		return err
	}
	isLine := a.Geometry.GeoJSONType() == "LineString"
	if isLine != (a.Kind == AreaRoute) {
		return Invalid("geometry.type", "a route is a LineString and every other area a Polygon or MultiPolygon")
	}
	if len(a.Rules) > 20 {
		return Invalid("rules", "at most 20 rules")
	}
	for i, r := range a.Rules {
		f := "rules[" + strconv.Itoa(i) + "]"
		if isLine {
			return Invalid(f, "a route has no inside, so it cannot carry geofence rules")
		}
		switch r.Trigger {
		case TriggerEnter, TriggerExit:
		case TriggerDwell:
			if r.DwellSeconds < 60 || r.DwellSeconds > 7*24*3600 {
				return Invalid(f+".dwell_seconds", "must be between 60 and 604800")
			}
		default:
			return Invalid(f+".trigger", "unknown trigger %q (want enter, exit or dwell)", r.Trigger)
		}
		for j, k := range r.TrackKinds {
			if !k.Valid() {
				return Invalid(f+".track_kinds["+strconv.Itoa(j)+"]", "unknown track kind %q", k)
			}
		}
		if !r.Severity.Valid() {
			return Invalid(f+".severity", "unknown severity %q", r.Severity)
		}
	}
	return a.Marking.Validate()
}
