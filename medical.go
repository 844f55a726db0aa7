package bluehelm

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MedicalLevel is a UN medical support level: 1 (primary care, resuscitation), 2
// (damage-control surgery), 3 (specialist care), 4 (definitive care, usually out
// of the mission area); the "+" levels add capabilities to the one below.
type MedicalLevel string

// MedicalLevels lists the levels in increasing order of care.
var MedicalLevels = []MedicalLevel{"1", "1+", "2", "2+", "3", "4"}

func (l MedicalLevel) Valid() bool { return slices.Contains(MedicalLevels, l) }

// AtLeast reports whether l gives at least the care of level m: a Level 2
// hospital also provides Level 1 care. An unknown level on either side is
// false, so that a requirement that is not a level is met by no facility.
func (l MedicalLevel) AtLeast(m MedicalLevel) bool {
	i, j := slices.Index(MedicalLevels, l), slices.Index(MedicalLevels, m)
	return i >= 0 && j >= 0 && i >= j
}

// Medical capabilities a facility may declare.
const (
	CapSurgery     = "surgery" // damage-control surgery
	CapBlood       = "blood"
	CapICU         = "icu"
	CapAeromedical = "aeromedical" // an aeromedical evacuation team
	CapLab         = "lab"
	CapImaging     = "imaging"
	CapDental      = "dental"
)

// Capabilities lists the capabilities a facility may declare.
var Capabilities = []string{CapSurgery, CapBlood, CapICU, CapAeromedical, CapLab, CapImaging, CapDental}

// MedicalFacility is a place that gives care: a Level 1 clinic in a company
// base, a Level 2 hospital, a host-nation hospital. Patrol risk and CASEVAC use
// the same registry.
type MedicalFacility struct {
	ID           int64        `json:"id"`
	Version      int          `json:"version"`
	Name         string       `json:"name"`
	Level        MedicalLevel `json:"level"`
	Location     Point        `json:"location"`
	Capabilities []string     `json:"capabilities,omitempty"`
	Beds         int          `json:"beds,omitempty"`
	// BedsAvailable and ICUBeds are the free beds as last reported (issue 8):
	// CASEVAC does not send a casualty to a facility that reports none free.
	BedsAvailable *int `json:"beds_available,omitempty"` // nil: not reported
	ICUBeds       int  `json:"icu_beds,omitempty"`
	// AeromedicalTeam says the facility fields an aeromedical evacuation team.
	AeromedicalTeam bool `json:"aeromedical_team,omitempty"`
	// Hours are the opening hours in local time; nil means always open.
	Hours *OpeningHours `json:"hours,omitempty"`
	// HelicopterLandingSites are where a helicopter can set down: the facility is
	// reachable by air only if it has one.
	HelicopterLandingSites []Point `json:"helicopter_landing_sites,omitempty"`
	Operator               string  `json:"operator,omitempty"` // contingent or organisation
	// OutOfService facilities are kept but not counted on.
	OutOfService bool `json:"out_of_service,omitempty"`
	Marking
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a facility.
func (f *MedicalFacility) Validate() error {
	if strings.TrimSpace(f.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(f.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if !f.Level.Valid() {
		return Invalid("level", "unknown medical level %q (want 1, 1+, 2, 2+, 3 or 4)", f.Level)
	}
	if err := f.Location.Validate(); err != nil {
		return PrefixField("location", err)
	}
	for i, c := range f.Capabilities {
		if !slices.Contains(Capabilities, c) {
			return Invalid("capabilities["+strconv.Itoa(i)+"]", "unknown capability %q (want one of %s)", c, strings.Join(Capabilities, ", "))
		}
	}
	if f.Beds < 0 || f.Beds > 10000 {
		return Invalid("beds", "must be between 0 and 10000")
	}
	if f.BedsAvailable != nil && (*f.BedsAvailable < 0 || (f.Beds > 0 && *f.BedsAvailable > f.Beds)) {
		return Invalid("beds_available", "must be between 0 and the number of beds")
	}
	if f.ICUBeds < 0 || f.ICUBeds > 1000 {
		return Invalid("icu_beds", "must be between 0 and 1000")
	}
	if f.Hours != nil {
		if err := f.Hours.Validate(); err != nil {
			return PrefixField("hours", err)
		}
	}
	if len(f.HelicopterLandingSites) > 10 {
		return Invalid("helicopter_landing_sites", "at most 10")
	}
	for i, p := range f.HelicopterLandingSites {
		if err := p.Validate(); err != nil {
			return PrefixField("helicopter_landing_sites["+strconv.Itoa(i)+"]", err)
		}
	}
	if utf8.RuneCountInString(f.Operator) > 200 {
		return Invalid("operator", "longer than 200 characters")
	}
	return f.Marking.Validate()
}

// OpeningHours are a facility's daily opening hours, "HH:MM" in local time
// (UTC + the mission's offset); Close before Open wraps past midnight.
type OpeningHours struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// minutesOfDay parses "HH:MM".
func minutesOfDay(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// Validate checks the hours.
func (h *OpeningHours) Validate() error {
	if _, ok := minutesOfDay(h.Open); !ok {
		return Invalid("open", "must be HH:MM")
	}
	if _, ok := minutesOfDay(h.Close); !ok {
		return Invalid("close", "must be HH:MM")
	}
	return nil
}

// OpenAt reports whether the facility is open at t (offset: the mission's
// local time minus UTC). Equal open and close mean always open.
func (f *MedicalFacility) OpenAt(t time.Time, offset time.Duration) bool {
	if f.Hours == nil {
		return true
	}
	o, ok1 := minutesOfDay(f.Hours.Open)
	c, ok2 := minutesOfDay(f.Hours.Close)
	if !ok1 || !ok2 || o == c {
		return true
	}
	l := t.UTC().Add(offset)
	m := l.Hour()*60 + l.Minute()
	if o < c {
		return m >= o && m < c
	}
	return m >= o || m < c
}

// HasBeds reports whether the facility can take n more patients, as far as is
// known (an unreported count does not refuse).
func (f *MedicalFacility) HasBeds(n int) bool {
	return f.BedsAvailable == nil || *f.BedsAvailable >= n
}
