package bluehelm

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Fatality is one death of UN peacekeeping personnel as the UN publishes it
// (the DPPA-DPO fatalities file): who (personnel type, nationality), in which
// mission, when and of what kind of incident. It carries no location, so it is
// not an incident: it feeds the dashboard's "fatalities by mission and incident
// type", not the map.
type Fatality struct {
	// CasualtyID is the UN's id of the person ("UNMIK-2003-05-03589"); it is
	// stable across exports, unlike the file's row number, so it keys imports.
	CasualtyID   string    `json:"casualty_id"`
	IncidentDate time.Time `json:"incident_date"` // a day, UTC midnight
	Mission      string    `json:"mission"`       // acronym: MINUSCA, UNMISS …
	IncidentType string    `json:"incident_type"` // one of FatalityIncidentTypes
	// PersonnelType is the UN's wording: Military, Police, Military Observer,
	// International Civilian, Local, Other.
	PersonnelType   string `json:"personnel_type,omitempty"`
	Gender          string `json:"gender,omitempty"` // "M", "F" or "" when not published
	Nationality     string `json:"nationality,omitempty"`
	NationalityISO3 string `json:"nationality_iso3,omitempty"`
}

// FatalityIncidentTypes are the UN's types of incident, the dashboard's groups.
var FatalityIncidentTypes = []string{"Malicious Act", "Accident", "Illness", "Self-Inflicted", "To Be Determined", "Unknown"}

// The first UN peacekeeping fatality (UNTSO) was in 1948; an earlier date is a
// shifted or mistyped column.
var firstPeacekeepingYear = time.Date(1948, 1, 1, 0, 0, 0, 0, time.UTC)

// Validate checks a fatality; now bounds the incident date (no deaths in the future).
func (f *Fatality) Validate(now time.Time) error {
	for _, c := range []struct {
		name, v string
		max     int
		req     bool
	}{
		{"casualty_id", f.CasualtyID, 100, true},
		{"mission", f.Mission, 50, true},
		{"personnel_type", f.PersonnelType, 100, false},
		{"nationality", f.Nationality, 200, false},
	} {
		if strings.TrimSpace(c.v) == "" {
			if c.req {
				return Invalid(c.name, "is required")
			}
			continue
		}
		if utf8.RuneCountInString(c.v) > c.max {
			return Invalid(c.name, "longer than %d characters", c.max)
		}
	}
	if f.IncidentDate.IsZero() {
		return Invalid("incident_date", "is required")
	}
	if f.IncidentDate.Before(firstPeacekeepingYear) {
		return Invalid("incident_date", "%s is before the first peacekeeping mission (1948)", f.IncidentDate.Format(time.DateOnly))
	}
	if f.IncidentDate.After(now) {
		return Invalid("incident_date", "%s is in the future", f.IncidentDate.Format(time.DateOnly))
	}
	if !slices.Contains(FatalityIncidentTypes, f.IncidentType) {
		return Invalid("incident_type", "unknown type %q (want one of %s)", f.IncidentType, strings.Join(FatalityIncidentTypes, ", "))
	}
	if f.Gender != "" && f.Gender != "M" && f.Gender != "F" {
		return Invalid("gender", "%q is not M, F or empty", f.Gender)
	}
	if f.NationalityISO3 != "" && (len(f.NationalityISO3) != 3 || strings.ToUpper(f.NationalityISO3) != f.NationalityISO3) {
		return Invalid("nationality_iso3", "%q is not an ISO 3166 alpha-3 code", f.NationalityISO3)
	}
	return nil
}

// FatalityCount is the number of fatalities of one mission, year and type of
// incident.
type FatalityCount struct {
	Mission      string `json:"mission"`
	Year         int    `json:"year"`
	IncidentType string `json:"incident_type"`
	Count        int    `json:"count"`
}

// FatalityStore holds imported UN peacekeeping fatalities. They are public UN
// data, so they carry no marking and no access rule applies.
type FatalityStore interface {
	// ImportFatalities inserts or replaces fatalities keyed by CasualtyID in one
	// transaction and appends a (single) audit entry even when nothing changed;
	// re-importing the same rows changes nothing.
	ImportFatalities(ctx context.Context, fs []*Fatality, a AuditEntry) (created, updated int, err error)
	// FatalityCounts returns the counts by mission, year and incident type,
	// ordered by mission, year, then type; groups without a death are absent.
	FatalityCounts(ctx context.Context) ([]FatalityCount, error)
}
