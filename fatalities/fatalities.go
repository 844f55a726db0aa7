// Package fatalities reads the UN peacekeeping fatalities CSV (the DPPA-DPO Peace
// and Security data hub export) into bluehelm fatalities.
//
// Columns are found by header name, case-insensitively; an HXL hashtag row is
// skipped. The export's columns are id, incident_date, casualty_id,
// mission_acronym, type_of_casualty, gender, casualty_nationality,
// casualty_personnel_type, type_of_incident, m49_code, isocode3 and last_update.
//
// # Mapping
//
//   - casualty_id → CasualtyID, the import key. The file's id is a row number
//     that an export may renumber, so it only names rows in errors.
//   - incident_date (YYYY-MM-DD) → IncidentDate at UTC midnight.
//   - mission_acronym → Mission; type_of_incident → IncidentType (the UN's six
//     types; another value is a row error, so that the dashboard's groups stay
//     the UN's); casualty_personnel_type → PersonnelType (trimmed: the export
//     writes "Local "); gender, casualty_nationality, isocode3 as they are.
//   - type_of_casualty must be "Fatality" when present: the hub publishes only
//     fatalities, and an injury counted as a death would be worse than a
//     skipped row.
//   - A casualty_id seen earlier in the same file is skipped as a row error:
//     the 2025 export lists six UNMIK local staff twice, once as "Montenegro"
//     and once as "Serbia and Montenegro" (the state changed, the person did
//     not), and one person is one fatality. The first row wins.
//   - m49_code and last_update are not kept.
package fatalities

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/internal/csvtable"
)

// RowError is a data row that was skipped (Source "fatalities").
type RowError = csvtable.RowError

const source = "fatalities"

// required are the columns without which no fatality can be made.
var required = []string{"casualty_id", "incident_date", "mission_acronym", "type_of_incident"}

// Read reads a whole fatalities export. now bounds the incident dates (zero:
// time.Now()). Skipped rows are returned in rowErrs; err is set only when the
// input cannot be read at all (not a CSV, no header, a missing column).
func Read(r io.Reader, now time.Time) (fs []*bluehelm.Fatality, rowErrs []RowError, err error) {
	if now.IsZero() {
		now = time.Now()
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long row is one bad row, not the end of the file
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, bluehelm.Invalid("header", "the input is empty: want the UN peacekeeping fatalities CSV with a header row")
	}
	if err != nil {
		return nil, nil, bluehelm.Invalid("header", "cannot read the header row: %v", err)
	}
	cols := csvtable.IndexHeader(header)
	for _, c := range required {
		if !cols.Has(c) {
			return nil, nil, bluehelm.Invalid("header", "missing column %q: is this the UN peacekeeping fatalities export?", c)
		}
	}
	seen := map[string]int{} // casualty_id → line
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return fs, rowErrs, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rowErrs = append(rowErrs, RowError{Line: pe.StartLine, Source: source, Err: bluehelm.Invalid("", "malformed CSV: %v", pe.Err)})
				continue
			}
			return fs, rowErrs, err
		}
		line, _ := cr.FieldPos(0)
		if csvtable.IsHXL(rec) {
			continue
		}
		row := csvtable.Row{Rec: rec, Cols: cols}
		id := csvtable.Clip(row.Line("casualty_id"), 100)
		if id == "" {
			id = csvtable.Clip(row.Line("id"), 100)
		}
		fail := func(err error) { rowErrs = append(rowErrs, RowError{Line: line, Source: source, ID: id, Err: err}) }
		if len(rec) != len(header) {
			fail(bluehelm.Invalid("", "row has %d fields, the header has %d", len(rec), len(header)))
			continue
		}
		f, err := mapRow(row, now)
		if err != nil {
			fail(err)
			continue
		}
		if first, dup := seen[f.CasualtyID]; dup {
			fail(bluehelm.Invalid("casualty_id", "already on line %d: one person is counted once (the first row is kept)", first))
			continue
		}
		seen[f.CasualtyID] = line
		fs = append(fs, f)
	}
}

func mapRow(r csvtable.Row, now time.Time) (*bluehelm.Fatality, error) {
	if t := r.Line("type_of_casualty"); t != "" && !strings.EqualFold(t, "Fatality") {
		return nil, bluehelm.Invalid("type_of_casualty", "%q is not a fatality", t)
	}
	f := &bluehelm.Fatality{
		CasualtyID:      r.Line("casualty_id"),
		Mission:         r.Line("mission_acronym"),
		IncidentType:    incidentType(r.Line("type_of_incident")),
		PersonnelType:   r.Line("casualty_personnel_type"),
		Gender:          strings.ToUpper(r.Line("gender")),
		Nationality:     r.Line("casualty_nationality"),
		NationalityISO3: strings.ToUpper(r.Line("isocode3")),
	}
	d := r.Line("incident_date")
	if d == "" {
		return nil, bluehelm.Invalid("incident_date", "is required")
	}
	t, err := parseDate(d)
	if err != nil {
		return nil, err
	}
	f.IncidentDate = t
	if err := f.Validate(now); err != nil {
		return nil, err
	}
	return f, nil
}

// parseDate accepts the hub's ISO date, with a time of day as spreadsheet tools
// re-save it.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.DateOnly, "2006-01-02 15:04:05", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, bluehelm.Invalid("incident_date", "%q is not a date (want YYYY-MM-DD)", s)
}

// incidentType returns the UN's spelling of a type written in another case
// ("malicious act"), and s itself otherwise (Validate then refuses it).
func incidentType(s string) string {
	for _, t := range bluehelm.FatalityIncidentTypes {
		if strings.EqualFold(s, t) {
			return t
		}
	}
	return s
}
