package export

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// casualtyGroups and casualtyKinds fix the per-group casualty columns. They are
// spelled out instead of taken from bluehelm.CasualtyGroups so that the column order
// only changes on purpose; a test fails when the domain gains a group or kind that
// is missing here. (Functions, not variables, so no caller can change them.)
func casualtyGroups() []string {
	return []string{"civilians", "un_military", "un_police", "un_civilian", "host_forces", "armed_groups", "unknown"}
}

func casualtyKinds() []string { return []string{"killed", "injured", "abducted"} }

// Columns returns the CSV header in its stable order. Numeric columns: id,
// version, lon, lat and the casualty counts; time columns are RFC 3339 in UTC;
// every other column is text (see the package comment on formula injection).
func Columns() []string {
	cols := []string{
		"id", "external_id", "version", "title", "category", "subcategory", "status",
		"occurred_start", "occurred_end", "time_precision", "reported_at", "updated_at",
		"lon", "lat", "geo_precision", "country", "admin1", "admin2", "admin3", "place_name", "mgrs",
		"actor1", "actor1_type", "assoc_actors_1", "actor2", "actor2_type", "assoc_actors_2", "target_type",
	}
	for _, k := range casualtyKinds() {
		cols = append(cols, k+"_low", k+"_best", k+"_high")
	}
	for _, g := range casualtyGroups() {
		for _, k := range casualtyKinds() {
			cols = append(cols, g+"_"+k+"_best")
		}
	}
	return append(cols,
		"sources", "narrative", "links",
		"classification", "component", "releasable_to",
		"reporting_unit", "reported_by", "verified_by", "approved_by", "rejected_by", "reject_reason",
	)
}

type csvEncoder struct {
	w   *csv.Writer
	row []string
}

func newCSVEncoder(w io.Writer) *csvEncoder {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	return &csvEncoder{w: cw}
}

func (e *csvEncoder) begin() error {
	e.w.Write(Columns())
	return e.w.Error()
}

// text defuses a cell a spreadsheet would read as a formula.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (e *csvEncoder) write(inc *bluehelm.Incident) error {
	r := e.row[:0]
	num := func(n int) { r = append(r, strconv.Itoa(n)) }
	txt := func(s string) { r = append(r, text(s)) }

	r = append(r, strconv.FormatInt(inc.ID, 10))
	txt(inc.ExternalID)
	num(inc.Version)
	txt(inc.Title)
	txt(string(inc.Category))
	txt(inc.Subcategory)
	txt(string(inc.Status))
	r = append(r, csvTime(inc.OccurredStart))
	if inc.OccurredEnd != nil {
		r = append(r, csvTime(*inc.OccurredEnd))
	} else {
		r = append(r, "")
	}
	txt(string(inc.TimePrecision))
	r = append(r, csvTime(inc.ReportedAt), csvTime(inc.UpdatedAt))
	r = append(r, formatFloat(inc.Location.Lon), formatFloat(inc.Location.Lat))
	txt(string(inc.GeoPrecision))
	for _, s := range []string{inc.Country, inc.Admin1, inc.Admin2, inc.Admin3, inc.PlaceName, inc.MGRS} {
		txt(s)
	}

	a, b := sides(inc.Actors)
	for _, side := range [][]bluehelm.Actor{a, b} {
		if len(side) == 0 {
			r = append(r, "", "", "")
			continue
		}
		txt(side[0].Name)
		txt(side[0].Type)
		names := make([]string, 0, len(side)-1)
		for _, x := range side[1:] {
			names = append(names, x.Name)
		}
		txt(strings.Join(names, "; "))
	}
	txt(inc.TargetType)

	for _, k := range casualtyKinds() {
		lo, be, hi := totals(inc.Casualties, k)
		num(lo)
		num(be)
		num(hi)
	}
	for _, g := range casualtyGroups() {
		for _, k := range casualtyKinds() {
			n := 0
			for _, c := range inc.Casualties {
				if c.Group == g && c.Kind == k {
					n += c.Best
				}
			}
			num(n)
		}
	}

	txt(sourceList(inc.Sources))
	txt(inc.Narrative)
	links := make([]string, 0, len(inc.Links))
	for _, l := range inc.Links {
		links = append(links, l.Kind+":"+l.Ref)
	}
	txt(strings.Join(links, "; "))
	txt(inc.Classification.String())
	txt(string(inc.Component))
	rel := make([]string, 0, len(inc.Releasability))
	for _, c := range inc.Releasability {
		rel = append(rel, string(c))
	}
	txt(strings.Join(rel, "; "))
	for _, s := range []string{inc.ReportingUnit, inc.ReportedBy, inc.VerifiedBy, inc.ApprovedBy, inc.RejectedBy, inc.RejectReason} {
		txt(s)
	}
	e.row = r
	return e.w.Write(r)
}

func (e *csvEncoder) end() error {
	e.w.Flush()
	return e.w.Error()
}
