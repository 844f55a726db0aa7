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
	"io"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/internal/csvtable"
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
type RowError = csvtable.RowError

// Reader reads incidents one row at a time.
type Reader = csvtable.Reader

// NewReader reads the header and checks that the required columns are present.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	return csvtable.NewReader(r, csvtable.Format{
		Name: "UCDP GED", Source: "ucdp", IDColumn: "id",
		Required: []string{"id", "type_of_violence", "date_start", "latitude", "longitude"},
		Skip: func(c csvtable.Columns, rec []string) bool {
			// The HDX export's hashtag row may leave some cells empty; its year never is.
			return strings.HasPrefix(strings.TrimSpace(c.Get(rec, "year")), "#")
		},
		Map: func(r csvtable.Row) (*bluehelm.Incident, error) { return mapRow(r, opts) },
	}, opts.Now)
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
