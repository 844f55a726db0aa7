package acled

import (
	"fmt"
	"github.com/bluehelm/bluehelm/internal/csvtable"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// mapRow turns one ACLED row into an incident. It checks what it parses; the
// caller runs Incident.Validate on the result.
func mapRow(r csvtable.Row, opts Options) (*bluehelm.Incident, error) {
	id := r.Line("event_id_cnty")
	if id == "" {
		return nil, bluehelm.Invalid("event_id_cnty", "is required")
	}
	inc := &bluehelm.Incident{
		ExternalID: "acled:" + id,
		Status:     bluehelm.StatusApproved,
		Marking:    bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Civilian},
		ReportedBy: opts.ReportedBy,
	}

	fatalities, hasFatalities, err := count(r.Line("fatalities"))
	if err != nil {
		return nil, err
	}
	eventType, subType := r.Line("event_type"), r.Line("sub_event_type")
	cat, sub, ok := classify(eventType, subType, fatalities)
	if !ok {
		return nil, bluehelm.Invalid("event_type", "unknown ACLED event type %q", eventType)
	}
	actor2, assoc2 := r.Line("actor2"), csvtable.SplitList(r.Text(assocCol(r, 2)))
	if isUN(actor2) && (cat == bluehelm.CatArmedClash || cat == bluehelm.CatExplosive) {
		if cat == bluehelm.CatArmedClash {
			cat, sub = bluehelm.CatAttackOnUN, "direct_fire"
		} else {
			cat, sub = bluehelm.CatAttackOnUN, ""
		}
	}
	inc.Category, inc.Subcategory = cat, sub

	if inc.OccurredStart, err = parseDate(r.Line("event_date")); err != nil {
		return nil, err
	}
	if y := r.Line("year"); y != "" && !strings.HasPrefix(y, "#") {
		// A cross-check that catches two-digit years read into the wrong century and
		// columns that do not hold what their header says.
		if n, err := strconv.Atoi(y); err == nil && n != inc.OccurredStart.Year() {
			return nil, bluehelm.Invalid("event_date", "%q is in %d but the year column says %d", r.Line("event_date"), inc.OccurredStart.Year(), n)
		}
	}
	if inc.TimePrecision, err = timePrec(r.Line("time_precision")); err != nil {
		return nil, err
	}
	if inc.Location, err = parsePoint(r.Line("latitude"), r.Line("longitude")); err != nil {
		return nil, err
	}
	if inc.GeoPrecision, err = geoPrec(r.Line("geo_precision")); err != nil {
		return nil, err
	}
	inc.Country = csvtable.Clip(r.Line("country"), 200)
	inc.Admin1 = csvtable.Clip(r.Line("admin1"), 200)
	inc.Admin2 = csvtable.Clip(r.Line("admin2"), 200)
	inc.Admin3 = csvtable.Clip(r.Line("admin3"), 200)
	inc.PlaceName = csvtable.Clip(r.Line("location"), 200)

	inter1, err := interType("inter1", r.Line("inter1"))
	if err != nil {
		return nil, err
	}
	inter2, err := interType("inter2", r.Line("inter2"))
	if err != nil {
		return nil, err
	}
	inc.Actors = actors(r.Line("actor1"), inter1, csvtable.SplitList(r.Text(assocCol(r, 1))), actor2, inter2, assoc2)
	inc.TargetType = targetType(actor2, assoc2, inter2)

	if hasFatalities && fatalities > 0 {
		group := "unknown"
		if civilianTargeting(r, eventType, inter2) {
			group = "civilians"
		}
		inc.Casualties = []bluehelm.Casualty{{Group: group, Kind: "killed", Low: fatalities, Best: fatalities, High: fatalities}}
	}

	for _, s := range csvtable.SplitList(r.Text("source")) {
		if len(inc.Sources) < bluehelm.MaxListItems {
			inc.Sources = append(inc.Sources, bluehelm.Source{Name: csvtable.Clip(s, 200)})
		}
	}
	if len(inc.Sources) == 0 {
		inc.Sources = []bluehelm.Source{{Name: "ACLED"}}
	}
	if ts := r.Line("timestamp"); ts != "" {
		// Metadata only: a bad timestamp leaves ReportedAt to the importer rather
		// than losing the event.
		if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n > 0 && n < 1<<40 {
			inc.ReportedAt = time.Unix(n, 0).UTC()
		}
	}
	inc.Narrative = narrative(r, eventType, subType, fatalities, hasFatalities)
	inc.Title = csvtable.Title(inc.Category, inc.Subcategory, csvtable.PlaceLabel(inc.PlaceName, inc.Admin1, inc.Country))
	return inc, nil
}

// assocCol is the associated-actor column: assoc_actor_N, or ally_actor_N in
// legacy exports.
func assocCol(r csvtable.Row, n int) string {
	c := "assoc_actor_" + strconv.Itoa(n)
	if !r.Cols.Has(c) {
		return "ally_actor_" + strconv.Itoa(n)
	}
	return c
}

// norm makes ACLED labels comparable across versions: lower case, single spaces,
// no spaces around '-' and '/' ("Battle - No change of territory", "Explosions /
// Remote violence").
func norm(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	for _, sep := range []string{"-", "/"} {
		s = strings.ReplaceAll(s, " "+sep, sep)
		s = strings.ReplaceAll(s, sep+" ", sep)
	}
	return s
}

// classify maps ACLED's event type and sub-event type onto the taxonomy. ok is
// false for an event type it does not know.
func classify(eventType, subType string, fatalities int) (cat bluehelm.Category, sub string, ok bool) {
	killedOr := func(otherwise string) string {
		if fatalities > 0 {
			return "killing"
		}
		return otherwise
	}
	st := norm(subType)
	switch norm(eventType) {
	// Current types (since 2019).
	case "battles":
		cat = bluehelm.CatArmedClash
		sub = map[string]string{"armed clash": "armed_clash", "government regains territory": "government_regains",
			"non-state actor overtakes territory": "non_state_takes"}[st]
	case "explosions/remote violence":
		cat = bluehelm.CatExplosive
		sub = map[string]string{"shelling/artillery/missile attack": "indirect_fire", "remote explosive/landmine/ied": "ied",
			"air/drone strike": "air_strike", "suicide bomb": "suicide_bomb", "grenade": "grenade"}[st]
	case "violence against civilians": // current and legacy
		cat = bluehelm.CatViolenceCivs
		switch st {
		case "attack":
			sub = killedOr("attack")
		case "abduction/forced disappearance":
			sub = "abduction"
		case "sexual violence":
			sub = "sexual_violence"
		default: // legacy: no sub-event types; a death at least tells us it was a killing
			sub = killedOr("")
		}
	case "protests":
		cat = bluehelm.CatProtest
		sub = map[string]string{"peaceful protest": "peaceful_protest", "protest with intervention": "protest_with_intervention",
			"excessive force against protesters": "excessive_force"}[st]
	case "riots":
		cat = bluehelm.CatProtest
		sub = map[string]string{"mob violence": "mob_violence", "violent demonstration": "violent_demonstration"}[st]
	case "strategic developments":
		switch st {
		case "agreement":
			cat, sub = bluehelm.CatMovement, "agreement"
		case "arrests":
			cat, sub = bluehelm.CatArrest, "arrest"
		case "change to group/activity": // mergers, splits, relocations, recruitment drives
			cat = bluehelm.CatMovement
		case "disrupted weapons use": // defused or intercepted explosives, seized caches
			cat, sub = bluehelm.CatExplosive, "ied_found"
		case "headquarters or base established":
			cat, sub = bluehelm.CatMovement, "headquarters_established"
		case "looting/property destruction":
			cat, sub = bluehelm.CatViolenceCivs, "looting"
		case "non-violent transfer of territory":
			cat, sub = bluehelm.CatMovement, "transfer_of_territory"
		case "other":
			cat, sub = bluehelm.CatOther, "other"
		default:
			cat = bluehelm.CatOther
		}

	// Legacy types (before 2019), which have no sub-event type.
	case "battle-no change of territory":
		cat, sub = bluehelm.CatArmedClash, "armed_clash"
	case "battle-government regains territory":
		cat, sub = bluehelm.CatArmedClash, "government_regains"
	case "battle-non-state actor overtakes territory":
		cat, sub = bluehelm.CatArmedClash, "non_state_takes"
	case "remote violence":
		cat = bluehelm.CatExplosive
	case "riots/protests":
		cat = bluehelm.CatProtest
	case "non-violent transfer of territory":
		cat, sub = bluehelm.CatMovement, "transfer_of_territory"
	case "headquarters or base established":
		cat, sub = bluehelm.CatMovement, "headquarters_established"
	case "strategic development":
		cat = bluehelm.CatOther
	default:
		return "", "", false
	}
	return cat, sub, true
}

// parseDate accepts the event_date forms of ACLED exports. Two-digit years follow
// Go's rule (69–99 → 19xx, 00–68 → 20xx), which covers ACLED's 1997 onwards; the
// year column cross-checks it.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, bluehelm.Invalid("event_date", "is required")
	}
	for _, layout := range []string{
		"2-Jan-06",       // "28-Jul-21", spreadsheet-saved exports
		"2006-01-02",     // API and current website exports
		"2 January 2006", // "28 July 2021", older website exports
		"2-Jan-2006",
		"2 Jan 2006",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, bluehelm.Invalid("event_date", "%q is not a date (want 28-Jul-21, 2021-07-28 or 28 July 2021)", s)
}

func timePrec(s string) (bluehelm.TimePrecision, error) {
	switch s {
	case "":
		return "", nil
	case "1":
		return bluehelm.TimeDay, nil
	case "2":
		return bluehelm.TimeWeek, nil
	case "3":
		return bluehelm.TimeMonth, nil
	}
	// An unknown code more likely means a shifted column than a new codebook entry.
	return "", bluehelm.Invalid("time_precision", "%q is not an ACLED time precision (1-3)", s)
}

func geoPrec(s string) (bluehelm.GeoPrecision, error) {
	switch s {
	case "":
		return "", nil
	case "1":
		return bluehelm.GeoExact, nil
	case "2":
		return bluehelm.GeoNear, nil
	case "3":
		return bluehelm.GeoAdmin1, nil
	}
	return "", bluehelm.Invalid("geo_precision", "%q is not an ACLED geo precision (1-3)", s)
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

// count reads fatalities: a non-negative integer; empty means not reported.
func count(s string) (int, bool, error) {
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false, bluehelm.Invalid("fatalities", "%q is not a count", s)
	}
	return n, true, nil
}

// interType maps an ACLED actor code, numeric or (since 2023) text, to an actor
// type. 0 and empty mean "no such actor" and give "".
func interType(field, s string) (string, error) {
	switch norm(s) {
	case "", "0":
		return "", nil
	case "1", "state forces":
		return "state_forces", nil
	case "2", "rebel group", "rebel groups":
		return "rebel_group", nil
	case "3", "political militia", "political militias":
		return "political_militia", nil
	case "4", "identity militia", "identity militias", "communal militia", "communal militias", "ethnic militia", "ethnic militias":
		return "communal_militia", nil
	case "5", "rioters":
		return "rioters", nil
	case "6", "protesters":
		return "protesters", nil
	case "7", "civilians":
		return "civilians", nil
	case "8", "external/other forces", "other forces", "external forces":
		return "external_forces", nil
	}
	return "", bluehelm.Invalid(field, "%q is not an ACLED actor code (0-8 or its name)", s)
}

func isUN(name string) bool { return strings.Contains(strings.ToLower(name), "united nations") }

func isAidWorkers(name string) bool { return strings.HasPrefix(strings.ToLower(name), "aid workers") }

// nameType reads an associated actor's type from its name where the name says it
// unambiguously; it returns "" otherwise.
func nameType(name string) string {
	l := strings.ToLower(name)
	switch {
	case isUN(name):
		return "un"
	case strings.HasPrefix(l, "military forces of"), strings.HasPrefix(l, "police forces of"):
		return "state_forces"
	case strings.HasPrefix(l, "civilians"), isAidWorkers(name):
		return "civilians"
	case strings.HasPrefix(l, "protesters"):
		return "protesters"
	case strings.HasPrefix(l, "rioters"):
		return "rioters"
	}
	return ""
}

func actors(a1, t1 string, assoc1 []string, a2, t2 string, assoc2 []string) []bluehelm.Actor {
	var out []bluehelm.Actor
	add := func(name, typ, side string) {
		if name == "" || len(out) == bluehelm.MaxListItems {
			return
		}
		if isUN(name) {
			typ = "un"
		}
		out = append(out, bluehelm.Actor{Name: csvtable.Clip(name, 200), Type: typ, Side: side})
	}
	add(a1, t1, "a")
	add(a2, t2, "b")
	for _, n := range assoc1 {
		add(n, nameType(n), "a")
	}
	for _, n := range assoc2 {
		add(n, nameType(n), "b")
	}
	return out
}

// targetType is who was on the receiving end, from actor2 and its associates.
func targetType(actor2 string, assoc2 []string, inter2 string) string {
	all := append([]string{actor2}, assoc2...)
	for _, n := range all {
		if isUN(n) {
			return "un_personnel"
		}
	}
	for _, n := range all {
		if isAidWorkers(n) {
			return "aid_workers"
		}
	}
	switch inter2 {
	case "state_forces":
		return "security_forces"
	case "rebel_group", "political_militia", "communal_militia":
		return "armed_group"
	case "civilians":
		return "civilians"
	}
	return ""
}

// civilianTargeting decides whether the dead are counted as civilians; see the
// package comment.
func civilianTargeting(r csvtable.Row, eventType, inter2 string) bool {
	if r.Cols.Has("civilian_targeting") {
		return strings.Contains(strings.ToLower(r.Line("civilian_targeting")), "civilian targeting")
	}
	return norm(eventType) == "violence against civilians" || inter2 == "civilians"
}

// narrative keeps ACLED's notes and the codes that did not become fields.
func narrative(r csvtable.Row, eventType, subType string, fatalities int, hasFatalities bool) string {
	var parts []string
	if n := r.Text("notes"); n != "" {
		parts = append(parts, n)
	}
	kind := "ACLED event type: " + eventType
	if subType != "" {
		kind += " / " + subType
	}
	if d := r.Line("disorder_type"); d != "" {
		kind += " (" + d + ")"
	}
	parts = append(parts, kind+".")
	var facts []string
	for _, f := range []struct{ col, label string }{
		{"actor1", "actor 1"}, {assocCol(r, 1), "associated with actor 1"}, {"inter1", "inter1"},
		{"actor2", "actor 2"}, {assocCol(r, 2), "associated with actor 2"}, {"inter2", "inter2"},
		{"interaction", "interaction"}, {"civilian_targeting", "civilian targeting"},
	} {
		if v := r.Line(f.col); v != "" {
			facts = append(facts, f.label+": "+v)
		}
	}
	if len(facts) > 0 {
		parts = append(parts, strings.Join(facts, "; ")+".")
	}
	if hasFatalities {
		parts = append(parts, fmt.Sprintf("Fatalities (ACLED, a conservative single figure): %d.", fatalities))
	}
	if v := r.Line("tags"); v != "" {
		parts = append(parts, "Tags: "+v+".")
	}
	var book []string
	for _, f := range []struct{ col, label string }{
		{"source", "sources"}, {"source_scale", "source scale"}, {"event_id_cnty", "ACLED event"},
		{"time_precision", "time precision"}, {"geo_precision", "geo precision"},
	} {
		if v := r.Line(f.col); v != "" {
			book = append(book, f.label+" "+v)
		}
	}
	if len(book) > 0 {
		parts = append(parts, strings.Join(book, "; ")+".")
	}
	return csvtable.Clip(strings.Join(parts, "\n"), bluehelm.MaxNarrative)
}
