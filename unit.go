package bluehelm

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Mobility is how a unit moves when it is sent somewhere; it picks the speed used
// for an estimated time of arrival.
type Mobility string

const (
	MobilityFoot    Mobility = "foot"
	MobilityMounted Mobility = "mounted" // wheeled or tracked vehicles
	MobilityRiver   Mobility = "river"
	MobilityAir     Mobility = "air" // helicopter
)

// Mobilities lists the valid mobilities.
var Mobilities = []Mobility{MobilityFoot, MobilityMounted, MobilityRiver, MobilityAir}

func (m Mobility) Valid() bool { return slices.Contains(Mobilities, m) }

// Unit is a formed unit or sub-unit that can be tasked: a company, a platoon, a
// formed police unit, a joint protection team. Patrols and response tasks name
// units by Code; the unit's position is that of its tracks.
type Unit struct {
	ID          int64    `json:"id"`
	Version     int      `json:"version"`
	Code        string   `json:"code"` // stable designation, e.g. "BANBATT-2/B"
	Name        string   `json:"name"`
	Mobility    Mobility `json:"mobility"`
	Nationality string   `json:"nationality,omitempty"` // TCC/PCC, ISO 3166 alpha-3
	// TrackUIDs are the devices and vehicles that report the unit's position.
	TrackUIDs []string `json:"track_uids,omitempty"`
	// Medevac marks an evacuation asset: a road ambulance or a medevac
	// helicopter with its crew. Once a mission has marked any, only those are
	// offered for casualty evacuation; until then every mounted or air unit is.
	Medevac bool `json:"medevac,omitempty"`
	// Disabled units (rotated out, disbanded, not operational) cannot be assigned
	// to patrols or tasks; they stay for the history that names them.
	Disabled bool `json:"disabled,omitempty"`
	Marking
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

var unitCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._/\-]{0,63}$`)
var nationalityRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks a unit.
func (u *Unit) Validate() error {
	if !unitCodeRE.MatchString(u.Code) {
		return Invalid("code", "must be 1 to 64 letters, digits, spaces or . _ / - (e.g. \"BANBATT-2/B\")")
	}
	if strings.TrimSpace(u.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(u.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if !u.Mobility.Valid() {
		return Invalid("mobility", "unknown mobility %q (want foot, mounted, river or air)", u.Mobility)
	}
	if u.Nationality != "" && !nationalityRE.MatchString(u.Nationality) {
		return Invalid("nationality", "must be an ISO 3166 alpha-3 code such as \"BGD\"")
	}
	if err := validUIDs("track_uids", u.TrackUIDs); err != nil {
		return err
	}
	return u.Marking.Validate()
}

// validUIDs checks a list of track uids: well formed, no repeats, at most 50.
func validUIDs(field string, uids []string) error {
	if len(uids) > 50 {
		return Invalid(field, "at most 50 tracks")
	}
	for i, uid := range uids {
		if !uidRE.MatchString(uid) {
			return Invalid(field+"["+strconv.Itoa(i)+"]", "is not a track uid")
		}
		if slices.Contains(uids[:i], uid) {
			return Invalid(field+"["+strconv.Itoa(i)+"]", "track %q is listed twice", uid)
		}
	}
	return nil
}
