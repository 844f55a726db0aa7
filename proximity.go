package bluehelm

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TrackSelector picks tracks for a proximity rule. A track matches when it matches
// every list that is not empty, and a list when any of its entries does: {CoTTypes:
// ["a-h"], Kinds: ["vehicle"]} is a hostile vehicle. A selector must say something:
// one that matched every track would pair every track with every other.
type TrackSelector struct {
	// CoTTypes are CoT type prefixes, matched on whole dash-separated parts: "a-h"
	// (hostile) matches "a-h-G-U-C" but not "a-hx"; "a-f-G" friendly ground tracks.
	CoTTypes []string    `json:"cot_types,omitempty"`
	Kinds    []TrackKind `json:"kinds,omitempty"`
	// Units are unit codes, matched against the registered unit whose tracks
	// include the track, or else the unit the device reports (Track.Unit).
	Units []string `json:"units,omitempty"`
}

// Empty reports whether the selector names nothing.
func (s TrackSelector) Empty() bool {
	return len(s.CoTTypes) == 0 && len(s.Kinds) == 0 && len(s.Units) == 0
}

// Matches reports whether track t is selected, by what the track itself says.
// The empty selector matches nothing.
func (s TrackSelector) Matches(t Track) bool { return s.MatchesIn(t, "") }

// MatchesIn is Matches for a track of the registered unit unitCode ("" for
// none): a device reports whatever unit string it was set up with (often the
// contingent), while a rule names the unit codes the mission registered.
func (s TrackSelector) MatchesIn(t Track, unitCode string) bool {
	if s.Empty() {
		return false
	}
	if len(s.Kinds) > 0 && !slices.Contains(s.Kinds, t.Kind) {
		return false
	}
	if len(s.Units) > 0 && !slices.Contains(s.Units, t.Unit) && (unitCode == "" || !slices.Contains(s.Units, unitCode)) {
		return false
	}
	if len(s.CoTTypes) > 0 && !slices.ContainsFunc(s.CoTTypes, func(p string) bool {
		return t.CoTType == p || strings.HasPrefix(t.CoTType, p+"-")
	}) {
		return false
	}
	return true
}

var cotPrefixRE = regexp.MustCompile(`^[a-zA-Z](-[A-Za-z0-9_]+)*$`)

func (s TrackSelector) validate(field string) error {
	if s.Empty() {
		return Invalid(field, "select tracks by cot_types, kinds or units (a selector that names nothing would match no track)")
	}
	for name, n := range map[string]int{"cot_types": len(s.CoTTypes), "kinds": len(s.Kinds), "units": len(s.Units)} {
		if n > 50 {
			return Invalid(field+"."+name, "at most 50 entries")
		}
	}
	for i, p := range s.CoTTypes {
		if len(p) > 64 || !cotPrefixRE.MatchString(p) {
			return Invalid(field+".cot_types["+strconv.Itoa(i)+"]", "%q is not a CoT type prefix such as \"a-h\" or \"a-f-G\"", p)
		}
	}
	for i, k := range s.Kinds {
		if !k.Valid() {
			return Invalid(field+".kinds["+strconv.Itoa(i)+"]", "unknown track kind %q", k)
		}
	}
	for i, u := range s.Units {
		if !unitCodeRE.MatchString(u) {
			return Invalid(field+".units["+strconv.Itoa(i)+"]", "%q is not a unit code", u)
		}
	}
	return nil
}

// Proximity rule limits.
const (
	MinProximityMeters = 10
	MaxProximityMeters = 100000
)

// ProximityRule raises an alert when a track selected by A comes within
// DistanceMeters of a track selected by B: a hostile group near a patrol, two
// convoys that should not meet, a UAV over a camp's people (roaming geofences). It
// fires once when a pair comes within the distance and again only after the pair
// has been farther apart than the distance by the live monitor's re-arm factor.
type ProximityRule struct {
	ID             int64         `json:"id"`
	Version        int           `json:"version"`
	Name           string        `json:"name"`
	Description    string        `json:"description,omitempty"`
	A              TrackSelector `json:"a"`
	B              TrackSelector `json:"b"`
	DistanceMeters int           `json:"distance_meters"`
	Severity       Severity      `json:"severity"`
	// Disabled rules are kept but not evaluated.
	Disabled bool `json:"disabled,omitempty"`
	Marking
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a proximity rule.
func (r *ProximityRule) Validate() error {
	if strings.TrimSpace(r.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(r.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if utf8.RuneCountInString(r.Description) > 5000 {
		return Invalid("description", "longer than 5000 characters")
	}
	if err := r.A.validate("a"); err != nil {
		return err
	}
	if err := r.B.validate("b"); err != nil {
		return err
	}
	if r.DistanceMeters < MinProximityMeters || r.DistanceMeters > MaxProximityMeters {
		return Invalid("distance_meters", "must be between %d and %d metres", MinProximityMeters, MaxProximityMeters)
	}
	if !r.Severity.Valid() {
		return Invalid("severity", "unknown severity %q (want info, warning or critical)", r.Severity)
	}
	return r.Marking.Validate()
}
