// Package ged reads UCDP Georeferenced Event Dataset (GED) CSV exports into
// bluehelm incidents.
//
// It accepts the UCDP download (dates "2011-09-17 00:00:00.000"), exports converted
// from the GeoJSON release (dates "2009-02-20T00:00:00", relid empty) and the HDX
// export, whose second row is an HXL hashtag row ("#date+year", "#geo+lat", …).
// Columns are found by header name, case-insensitively, so column order and extra
// columns (geom_wkt, iso3, …) do not matter.
//
// # Mapping
//
//   - ExternalID "ucdp:"+id. Status approved (GED is a curated, published dataset),
//     marking UNCLASSIFIED, component civilian (open-source data).
//   - type_of_violence 1 (state-based) and 2 (non-state) → armed_clash/armed_clash;
//     3 (one-sided) → violence_against_civilians/killing with target type civilians.
//     The taxonomy has no state-based/non-state distinction; it is kept in the
//     actor types and the narrative.
//   - date_start/date_end → OccurredStart/OccurredEnd (End only when it differs).
//     date_prec follows the GED codebook: 1 exact day → day, 2 (2–6 day range) and
//     3 (week known) → week, 4 (8–30 days or month known) → month, 5 (more than a
//     month, or only the year) → year.
//   - where_prec 1 → exact, 2 (within ~25 km of a known point) → near, 3 → admin2,
//     4 → admin1, 5 (linear feature or larger area), 6 (country) and 7 (waters or
//     airspace) → country.
//   - where_coordinates → PlaceName (where_description when it is empty), adm_1 →
//     Admin1, adm_2 → Admin2, country → Country.
//   - side_a/side_b → actors with Side "a"/"b". Note that GED's side A is not the
//     initiator: in state-based conflict it is always the government. Actor types:
//     "Civilians" → civilians; "Government of X" → state_forces when X is the
//     event's country, external_forces otherwise (ACLED codes foreign state forces
//     the same way, so both readers agree); in state-based conflict the other side
//     is by UCDP's definition a formally organised rebel group → rebel_group;
//     otherwise a heuristic: a name with an acronym outside parentheses ("SPLM/A -
//     IO", "FPRC", "3R") or a word such as "forces", "army", "movement", "front" →
//     rebel_group, any other name ("Lou Nuer", "Murle", "Christians (CAR)") →
//     communal_militia. UCDP's actor list (organisation level) would be the
//     authoritative source; GED exports do not carry it.
//   - casualties: see distribute in casualty.go. In short: every group's best is
//     the GED per-side count, so Σbest = best; the unknown group carries the spread
//     (Σhigh = high, Σlow = low); inconsistent source estimates (low > best or
//     high < best, which GED contains) are clamped to best and the original
//     figures are kept in the narrative.
//   - sources: one Source per office in source_office (";"-separated), with
//     Reference "date: headline" when source_date and source_headline split into
//     the same number of parts; "UCDP GED" with source_article as Reference when
//     there is no office. All text is trimmed to the domain limits.
//   - narrative: dyad and conflict, where, fatality estimates, headline, original
//     source, the full source_article and the GED bookkeeping fields.
//   - ReportedAt: the latest source_date, so that re-importing the same file gives
//     the same incidents; zero when there is none (the importer fills it).
//
// Rows that cannot be mapped or that fail Incident.Validate are returned as
// RowError and skipped; they never stop the import.
package ged

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Options configure a Reader. The zero value is ready to use.
type Options struct {
	// Now is the reference time for Incident.Validate (no event in the future);
	// zero means time.Now() when the Reader is made.
	Now time.Time
	// ReportedBy is copied to every incident; empty leaves it to the importer.
	ReportedBy string
}

// RowError is a data row that was skipped.
type RowError struct {
	Line int    // line of the input where the row starts (1 is the header)
	ID   string // the row's GED id, when it could be read
	Err  error  // usually a *bluehelm.Error naming the bad field
}

func (e RowError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("line %d (ucdp:%s): %v", e.Line, e.ID, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e RowError) Unwrap() error { return e.Err }

// required are the columns without which no incident can be made.
var required = []string{"id", "type_of_violence", "date_start", "latitude", "longitude"}

// Reader reads incidents one row at a time, so a large export need not be held in
// memory.
type Reader struct {
	csv  *csv.Reader
	cols columns
	opts Options
}

// NewReader reads the header and checks that the required columns are present.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long row is one bad row, not the end of the file
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, bluehelm.Invalid("header", "the input is empty: want a UCDP GED CSV with a header row")
	}
	if err != nil {
		return nil, bluehelm.Invalid("header", "cannot read the header row: %v", err)
	}
	cols := indexHeader(header)
	for _, c := range required {
		if !cols.Has(c) {
			return nil, bluehelm.Invalid("header", "missing column %q: is this a UCDP GED export?", c)
		}
	}
	return &Reader{csv: cr, cols: cols, opts: opts}, nil
}

// Next returns the next incident. At the end of the input it returns io.EOF. A row
// that was skipped is returned as a RowError (test with errors.As) and the caller
// may go on calling Next; any other error is fatal.
func (r *Reader) Next() (*bluehelm.Incident, error) {
	for {
		rec, err := r.csv.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, RowError{Line: pe.StartLine, Err: bluehelm.Invalid("", "malformed CSV: %v", pe.Err)}
			}
			return nil, err
		}
		line, _ := r.csv.FieldPos(0)
		if isHXL(rec) || strings.HasPrefix(strings.TrimSpace(r.cols.Get(rec, "year")), "#") {
			continue // the HDX hashtag row describes the columns; it is not an event
		}
		id := clip(oneLine(r.cols.Get(rec, "id")), 100)
		if len(rec) != len(r.cols.Header) {
			return nil, RowError{Line: line, ID: id, Err: bluehelm.Invalid("", "row has %d fields, the header has %d", len(rec), len(r.cols.Header))}
		}
		inc, err := mapRow(row{Rec: rec, Cols: r.cols}, r.opts)
		if err == nil {
			err = inc.Validate(r.opts.Now)
		}
		if err != nil {
			return nil, RowError{Line: line, ID: id, Err: err}
		}
		return inc, nil
	}
}

// Read reads a whole GED export with default options. Skipped rows are returned
// in rowErrs; err is set only when the input cannot be read at all.
func Read(r io.Reader) (incs []*bluehelm.Incident, rowErrs []RowError, err error) {
	rd, err := NewReader(r, Options{})
	if err != nil {
		return nil, nil, err
	}
	return rd.ReadAll()
}

// ReadAll reads the remaining rows.
func (r *Reader) ReadAll() (incs []*bluehelm.Incident, rowErrs []RowError, err error) {
	for {
		inc, err := r.Next()
		if err == io.EOF {
			return incs, rowErrs, nil
		}
		var re RowError
		if errors.As(err, &re) {
			rowErrs = append(rowErrs, re)
			continue
		}
		if err != nil {
			return incs, rowErrs, err
		}
		incs = append(incs, inc)
	}
}
