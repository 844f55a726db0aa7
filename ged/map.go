package ged

import (
	"fmt"
	"github.com/bluehelm/bluehelm/internal/csvtable"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bluehelm/bluehelm"
)

// mapRow turns one GED row into an incident. It checks what it parses; the caller
// runs Incident.Validate on the result.
func mapRow(r csvtable.Row, opts Options) (*bluehelm.Incident, error) {
	id := r.Line("id")
	if id == "" {
		return nil, bluehelm.Invalid("id", "is required")
	}
	inc := &bluehelm.Incident{
		ExternalID: "ucdp:" + id,
		Status:     bluehelm.StatusApproved,
		Marking:    bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Civilian},
		ReportedBy: opts.ReportedBy,
	}

	tov := r.Line("type_of_violence")
	switch tov {
	case "1", "2":
		inc.Category, inc.Subcategory = bluehelm.CatArmedClash, "armed_clash"
	case "3":
		inc.Category, inc.Subcategory, inc.TargetType = bluehelm.CatViolenceCivs, "killing", "civilians"
	default:
		return nil, bluehelm.Invalid("type_of_violence", "%q is not 1 (state-based), 2 (non-state) or 3 (one-sided)", tov)
	}

	start, err := parseDate("date_start", r.Line("date_start"))
	if err != nil {
		return nil, err
	}
	inc.OccurredStart = start
	if s := r.Line("date_end"); s != "" {
		end, err := parseDate("date_end", s)
		if err != nil {
			return nil, err
		}
		if !end.Equal(start) {
			inc.OccurredEnd = &end
		}
	}
	if inc.TimePrecision, err = datePrec(r.Line("date_prec")); err != nil {
		return nil, err
	}

	if inc.Location, err = parsePoint(r.Line("latitude"), r.Line("longitude")); err != nil {
		return nil, err
	}
	if inc.GeoPrecision, err = wherePrec(r.Line("where_prec")); err != nil {
		return nil, err
	}
	inc.Country = csvtable.Clip(r.Line("country"), 200)
	inc.Admin1 = csvtable.Clip(r.Line("adm_1"), 200)
	inc.Admin2 = csvtable.Clip(r.Line("adm_2"), 200)
	inc.PlaceName = r.Line("where_coordinates")
	if inc.PlaceName == "" {
		inc.PlaceName = r.Line("where_description")
	}
	inc.PlaceName = csvtable.Clip(inc.PlaceName, 200)

	sideA, sideB := r.Line("side_a"), r.Line("side_b")
	for _, s := range []struct{ name, side string }{{sideA, "a"}, {sideB, "b"}} {
		if s.name != "" {
			inc.Actors = append(inc.Actors, bluehelm.Actor{Name: csvtable.Clip(s.name, 200), Type: actorType(s.name, inc.Country, tov), Side: s.side})
		}
	}

	cas, note, err := casualties(r, sideA, sideB, inc.Country)
	if err != nil {
		return nil, err
	}
	inc.Casualties = cas
	inc.Sources, inc.ReportedAt = sources(r)
	inc.Narrative = narrative(r, tov, note)
	inc.Title = csvtable.Title(inc.Category, inc.Subcategory, csvtable.PlaceLabel(inc.PlaceName, inc.Admin1, inc.Country))
	return inc, nil
}

// parseDate accepts the date forms GED is published in. GED dates carry no time of
// day; they are taken as UTC midnight.
func parseDate(field, s string) (time.Time, error) {
	for _, layout := range []string{
		"2006-01-02 15:04:05.000", // UCDP download
		"2006-01-02T15:04:05",     // converted from the GeoJSON release
		"2006-01-02",
		"2006-01-02T15:04:05.000",
		"2006-01-02 15:04:05",
		time.RFC3339,
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if s == "" {
		return time.Time{}, bluehelm.Invalid(field, "is required")
	}
	return time.Time{}, bluehelm.Invalid(field, "%q is not a date (want YYYY-MM-DD, optionally with a time)", s)
}

// datePrec maps GED date_prec to the domain's time precision (see the package
// comment for why 3 is a week and 4 a month).
func datePrec(s string) (bluehelm.TimePrecision, error) {
	switch s {
	case "":
		return "", nil
	case "1":
		return bluehelm.TimeDay, nil
	case "2", "3":
		return bluehelm.TimeWeek, nil
	case "4":
		return bluehelm.TimeMonth, nil
	case "5":
		return bluehelm.TimeYear, nil
	}
	// An unknown code more likely means a shifted column than a new codebook entry.
	return "", bluehelm.Invalid("date_prec", "%q is not a GED date precision (1-5)", s)
}

func wherePrec(s string) (bluehelm.GeoPrecision, error) {
	switch s {
	case "":
		return "", nil
	case "1":
		return bluehelm.GeoExact, nil
	case "2":
		return bluehelm.GeoNear, nil
	case "3":
		return bluehelm.GeoAdmin2, nil
	case "4":
		return bluehelm.GeoAdmin1, nil
	case "5", "6", "7":
		return bluehelm.GeoCountry, nil
	}
	return "", bluehelm.Invalid("where_prec", "%q is not a GED location precision (1-7)", s)
}

// parsePoint reads the coordinates. A missing coordinate is an error rather than
// 0, because (0, 0) is a valid point in the Gulf of Guinea.
func parsePoint(lat, lon string) (bluehelm.Point, error) {
	if lat == "" {
		return bluehelm.Point{}, bluehelm.Invalid("latitude", "is required")
	}
	if lon == "" {
		return bluehelm.Point{}, bluehelm.Invalid("longitude", "is required")
	}
	y, err := strconv.ParseFloat(lat, 64)
	if err != nil {
		return bluehelm.Point{}, bluehelm.Invalid("latitude", "%q is not a number", lat)
	}
	x, err := strconv.ParseFloat(lon, 64)
	if err != nil {
		return bluehelm.Point{}, bluehelm.Invalid("longitude", "%q is not a number", lon)
	}
	p := bluehelm.Point{Lon: x, Lat: y}
	return p, bluehelm.PrefixField("location", p.Validate())
}

// governmentOf returns X for a side named "Government of X".
func governmentOf(name string) (string, bool) {
	return strings.CutPrefix(name, "Government of ")
}

// actorType classifies a GED side; see the package comment.
func actorType(name, country, tov string) string {
	if name == "Civilians" {
		return "civilians"
	}
	if state, ok := governmentOf(name); ok {
		if country == "" || strings.EqualFold(state, country) {
			return "state_forces"
		}
		return "external_forces"
	}
	if tov == "1" || looksOrganised(name) {
		return "rebel_group"
	}
	return "communal_militia"
}

// looksOrganised is the rebel-group heuristic: an acronym ("SPLM/A", "FPRC", "3R")
// or an organisational word outside parentheses. Parentheses are ignored because
// GED writes the country there ("Christians (CAR)").
func looksOrganised(name string) bool {
	var b strings.Builder
	depth := 0
	for _, r := range name {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth = max(depth-1, 0)
		case depth == 0:
			b.WriteRune(r)
		}
	}
	for _, w := range strings.FieldsFunc(b.String(), func(r rune) bool { return r == ' ' || r == ',' || r == '-' || r == '/' }) {
		upper, letters := 0, 0
		for _, r := range w {
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			}
		}
		// An acronym: "NAS", "3R", "FPRC" — all letters upper case, at least two
		// characters (a lone "A" from "SPLM/A" does not count; "SPLM" does).
		if letters > 0 && upper == letters && len([]rune(w)) >= 2 {
			return true
		}
		switch strings.ToLower(w) {
		case "forces", "army", "movement", "front", "faction", "rebels", "coalition", "alliance", "liberation":
			return true
		}
	}
	return false
}

// casualtyGroup is the group whose deaths deaths_a / deaths_b count. Foreign
// government forces have no group of their own in the domain; they are counted
// with armed_groups ("combatants other than the host state's forces").
func casualtyGroup(side, country string) string {
	if side == "Civilians" {
		return "civilians"
	}
	if state, ok := governmentOf(side); ok && (country == "" || strings.EqualFold(state, country)) {
		return "host_forces"
	}
	return "armed_groups"
}

// count reads a non-negative integer column; an empty field is 0.
func count(r csvtable.Row, name string) (int, bool, error) {
	s := r.Line(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false, bluehelm.Invalid(name, "%q is not a count", s)
	}
	return n, true, nil
}

// casualties builds the killed entries and a narrative note on the estimates.
func casualties(r csvtable.Row, sideA, sideB, country string) ([]bluehelm.Casualty, string, error) {
	byGroup := map[string]int{}
	sum, haveSides := 0, false
	for _, c := range []struct{ col, group string }{
		{"deaths_a", casualtyGroup(sideA, country)},
		{"deaths_b", casualtyGroup(sideB, country)},
		{"deaths_civilians", "civilians"},
		{"deaths_unknown", "unknown"},
	} {
		n, _, err := count(r, c.col)
		if err != nil {
			return nil, "", err
		}
		byGroup[c.group] += n
		sum += n
		haveSides = haveSides || r.Cols.Has(c.col)
	}
	var est estimate
	var hasBest bool
	var err error
	if est.best, hasBest, err = count(r, "best"); err != nil {
		return nil, "", err
	}
	switch {
	case !hasBest:
		est.best = sum
	case !haveSides:
		byGroup["unknown"] = est.best // an export without the per-side columns
	case sum != est.best:
		// GED guarantees the per-side counts add up to best; if they do not, the
		// row is corrupt and any split we made would be invented.
		return nil, "", bluehelm.Invalid("best", "is %d but deaths_a, deaths_b, deaths_civilians and deaths_unknown add up to %d", est.best, sum)
	}
	var ok bool
	if est.low, ok, err = count(r, "low"); err != nil {
		return nil, "", err
	} else if !ok {
		est.low = est.best
	}
	if est.high, ok, err = count(r, "high"); err != nil {
		return nil, "", err
	} else if !ok {
		est.high = est.best
	}
	norm, changed := normalise(est)
	note := fmt.Sprintf("Fatalities (UCDP estimates): best %d, low %d, high %d", est.best, est.low, est.high)
	if haveSides {
		note += fmt.Sprintf("; side A %s, side B %s, civilians %s, unknown %s",
			orZero(r.Line("deaths_a")), orZero(r.Line("deaths_b")), orZero(r.Line("deaths_civilians")), orZero(r.Line("deaths_unknown")))
	}
	note += "."
	if changed {
		note += fmt.Sprintf(" The source's low/high are not on both sides of best; stored as low %d, high %d.", norm.low, norm.high)
	}
	return distribute(byGroup, norm), note, nil
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// sources lists the source offices and returns the latest source date as the time
// the event was reported.
func sources(r csvtable.Row) ([]bluehelm.Source, time.Time) {
	offices := csvtable.SplitList(r.Text("source_office"))
	dates := csvtable.SplitList(r.Text("source_date"))
	heads := csvtable.SplitList(r.Text("source_headline"))
	aligned := len(dates) == len(offices) && len(heads) == len(offices)
	var out []bluehelm.Source
	seen := map[string]bool{}
	for i, o := range offices {
		ref := ""
		if aligned {
			ref = csvtable.Clip(dates[i]+": "+heads[i], 500)
		}
		name := csvtable.Clip(o, 200)
		if seen[name+"\x00"+ref] || len(out) == bluehelm.MaxListItems {
			continue
		}
		seen[name+"\x00"+ref] = true
		out = append(out, bluehelm.Source{Name: name, Reference: ref})
	}
	if len(out) == 0 {
		out = append(out, bluehelm.Source{Name: "UCDP GED", Reference: csvtable.Clip(r.Line("source_article"), 500)})
	}
	var reported time.Time
	for _, d := range dates {
		if t, err := parseDate("source_date", d); err == nil && t.After(reported) {
			reported = t
		}
	}
	return out, reported
}

func violenceName(tov string) string {
	switch tov {
	case "1":
		return "state-based"
	case "2":
		return "non-state"
	}
	return "one-sided"
}

// narrative keeps what GED says about the event in words, within MaxNarrative.
func narrative(r csvtable.Row, tov, fatalities string) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if d := r.Line("dyad_name"); d != "" {
		if c := r.Line("conflict_name"); c != "" && c != d {
			add("%s (conflict: %s).", d, c)
		} else {
			add("%s.", d)
		}
	}
	add("UCDP type of violence: %s.", violenceName(tov))
	if w := r.Line("where_description"); w != "" {
		add("Where: %s.", w)
	}
	add("%s", fatalities)
	if h := r.Text("source_headline"); h != "" {
		add("Headline: %s", h)
	}
	if o := r.Text("source_original"); o != "" {
		add("Original source: %s", o)
	}
	if a := r.Text("source_article"); a != "" {
		n := r.Line("number_of_sources")
		if n == "" || n == "-1" { // GED writes -1 when the count was not recorded
			add("Sources: %s", a)
		} else {
			add("Sources (%s): %s", n, a)
		}
	}
	var book []string
	for _, f := range []struct{ col, label string }{
		{"id", "UCDP GED id"}, {"relid", "relid"}, {"event_clarity", "event clarity"}, {"code_status", "code status"},
		{"where_prec", "where_prec"}, {"date_prec", "date_prec"}, {"priogrid_gid", "PRIO-GRID cell"},
	} {
		if v := r.Line(f.col); v != "" {
			book = append(book, f.label+" "+v)
		}
	}
	add("%s.", strings.Join(book, ", "))
	return csvtable.Clip(strings.Join(parts, "\n"), bluehelm.MaxNarrative)
}
