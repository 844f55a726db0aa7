package acled

// All fixtures here are synthetic: ACLED rows may not be redistributed, so none is
// copied into the repository.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// currentColumns is the column set of a 2019–2022 ACLED export.
var currentColumns = []string{
	"data_id", "iso", "event_id_cnty", "event_id_no_cnty", "event_date", "year", "time_precision",
	"event_type", "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
	"interaction", "region", "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude",
	"geo_precision", "source", "source_scale", "notes", "fatalities", "timestamp", "iso3",
}

func baseRow() map[string]string {
	return map[string]string{
		"data_id": "1", "iso": "999", "event_id_cnty": "TST100", "event_id_no_cnty": "100",
		"event_date": "28-Jul-21", "year": "2021", "time_precision": "1",
		"event_type": "Battles", "sub_event_type": "Armed clash",
		"actor1": "Military Forces of Testland (2011-)", "assoc_actor_1": "", "inter1": "1",
		"actor2": "TLA: Testland Liberation Army", "assoc_actor_2": "", "inter2": "2", "interaction": "12",
		"region": "Eastern Africa", "country": "Testland", "admin1": "North", "admin2": "Alpha", "admin3": "Alpha West",
		"location": "Alpha", "latitude": "7.5", "longitude": "30.25", "geo_precision": "1",
		"source": "Radio One; Daily Two", "source_scale": "National", "notes": "On 28 July 2021, soldiers clashed with TLA fighters near Alpha.",
		"fatalities": "3", "timestamp": "1627934659", "iso3": "TST",
	}
}

func with(kv ...string) map[string]string {
	r := baseRow()
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = kv[i+1]
	}
	return r
}

func makeCSV(t testing.TB, header []string, rows ...map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, r := range rows {
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = r[h]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func readAll(t testing.TB, in string) ([]*bluehelm.Incident, []RowError) {
	t.Helper()
	rd, err := NewReader(strings.NewReader(in), Options{Now: testNow})
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	incs, rowErrs, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return incs, rowErrs
}

func readOneWith(t *testing.T, header []string, r map[string]string) *bluehelm.Incident {
	t.Helper()
	incs, rowErrs := readAll(t, makeCSV(t, header, r))
	if len(rowErrs) != 0 || len(incs) != 1 {
		t.Fatalf("got %d incidents, row errors %v; want 1 incident", len(incs), rowErrs)
	}
	return incs[0]
}

func readOne(t *testing.T, r map[string]string) *bluehelm.Incident {
	t.Helper()
	return readOneWith(t, currentColumns, r)
}

func TestBaseRowMapping(t *testing.T) {
	inc := readOne(t, baseRow())
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("ExternalID", inc.ExternalID, "acled:TST100")
	check("Category", inc.Category, bluehelm.CatArmedClash)
	check("Subcategory", inc.Subcategory, "armed_clash")
	check("Status", inc.Status, bluehelm.StatusApproved)
	check("Classification", inc.Classification, bluehelm.Unclassified)
	check("Component", inc.Component, bluehelm.Civilian)
	check("OccurredStart", inc.OccurredStart, time.Date(2021, 7, 28, 0, 0, 0, 0, time.UTC))
	check("OccurredEnd", inc.OccurredEnd == nil, true)
	check("TimePrecision", inc.TimePrecision, bluehelm.TimeDay)
	check("ReportedAt", inc.ReportedAt, time.Unix(1627934659, 0).UTC())
	check("Location", inc.Location, bluehelm.Point{Lon: 30.25, Lat: 7.5})
	check("GeoPrecision", inc.GeoPrecision, bluehelm.GeoExact)
	check("Country", inc.Country, "Testland")
	check("Admin3", inc.Admin3, "Alpha West")
	check("PlaceName", inc.PlaceName, "Alpha")
	check("TargetType", inc.TargetType, "armed_group")
	check("Title", inc.Title, "Armed clash between groups — Alpha, North")
	wantActors := []bluehelm.Actor{
		{Name: "Military Forces of Testland (2011-)", Type: "state_forces", Side: "a"},
		{Name: "TLA: Testland Liberation Army", Type: "rebel_group", Side: "b"},
	}
	if len(inc.Actors) != 2 || inc.Actors[0] != wantActors[0] || inc.Actors[1] != wantActors[1] {
		t.Errorf("Actors = %+v", inc.Actors)
	}
	if len(inc.Casualties) != 1 || inc.Casualties[0] != (bluehelm.Casualty{Group: "unknown", Kind: "killed", Low: 3, Best: 3, High: 3}) {
		t.Errorf("Casualties = %+v", inc.Casualties)
	}
	if len(inc.Sources) != 2 || inc.Sources[0].Name != "Radio One" || inc.Sources[1].Name != "Daily Two" {
		t.Errorf("Sources = %+v", inc.Sources)
	}
	for _, want := range []string{"soldiers clashed", "ACLED event type: Battles / Armed clash.", "interaction: 12", "source scale National", "Fatalities (ACLED, a conservative single figure): 3."} {
		if !strings.Contains(inc.Narrative, want) {
			t.Errorf("narrative lacks %q:\n%s", want, inc.Narrative)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		event, sub string
		fatalities int
		cat        bluehelm.Category
		subcat     string
	}{
		// Current types.
		{"Battles", "Armed clash", 0, bluehelm.CatArmedClash, "armed_clash"},
		{"Battles", "Government regains territory", 0, bluehelm.CatArmedClash, "government_regains"},
		{"Battles", "Non-state actor overtakes territory", 0, bluehelm.CatArmedClash, "non_state_takes"},
		{"Explosions/Remote violence", "Shelling/artillery/missile attack", 0, bluehelm.CatExplosive, "indirect_fire"},
		{"Explosions/Remote violence", "Remote explosive/landmine/IED", 0, bluehelm.CatExplosive, "ied"},
		{"Explosions/Remote violence", "Air/drone strike", 0, bluehelm.CatExplosive, "air_strike"},
		{"Explosions/Remote violence", "Suicide bomb", 0, bluehelm.CatExplosive, "suicide_bomb"},
		{"Explosions/Remote violence", "Grenade", 0, bluehelm.CatExplosive, "grenade"},
		{"Violence against civilians", "Attack", 0, bluehelm.CatViolenceCivs, "attack"},
		{"Violence against civilians", "Attack", 2, bluehelm.CatViolenceCivs, "killing"},
		{"Violence against civilians", "Abduction/forced disappearance", 0, bluehelm.CatViolenceCivs, "abduction"},
		{"Violence against civilians", "Sexual violence", 0, bluehelm.CatViolenceCivs, "sexual_violence"},
		{"Protests", "Peaceful protest", 0, bluehelm.CatProtest, "peaceful_protest"},
		{"Protests", "Protest with intervention", 0, bluehelm.CatProtest, "protest_with_intervention"},
		{"Protests", "Excessive force against protesters", 1, bluehelm.CatProtest, "excessive_force"},
		{"Riots", "Mob violence", 0, bluehelm.CatProtest, "mob_violence"},
		{"Riots", "Violent demonstration", 0, bluehelm.CatProtest, "violent_demonstration"},
		{"Strategic developments", "Agreement", 0, bluehelm.CatMovement, "agreement"},
		{"Strategic developments", "Arrests", 0, bluehelm.CatArrest, "arrest"},
		{"Strategic developments", "Change to group/activity", 0, bluehelm.CatMovement, ""},
		{"Strategic developments", "Disrupted weapons use", 0, bluehelm.CatExplosive, "ied_found"},
		{"Strategic developments", "Headquarters or base established", 0, bluehelm.CatMovement, "headquarters_established"},
		{"Strategic developments", "Looting/property destruction", 0, bluehelm.CatViolenceCivs, "looting"},
		{"Strategic developments", "Non-violent transfer of territory", 0, bluehelm.CatMovement, "transfer_of_territory"},
		{"Strategic developments", "Other", 0, bluehelm.CatOther, "other"},
		// Unknown sub-event types keep the event type's category.
		{"Battles", "Something new", 0, bluehelm.CatArmedClash, ""},
		{"Explosions/Remote violence", "", 0, bluehelm.CatExplosive, ""},
		{"Strategic developments", "Something new", 0, bluehelm.CatOther, ""},
		// Legacy types (before 2019), no sub-event type.
		{"Battle-No change of territory", "", 0, bluehelm.CatArmedClash, "armed_clash"},
		{"Battle-Government regains territory", "", 0, bluehelm.CatArmedClash, "government_regains"},
		{"Battle-Non-state actor overtakes territory", "", 0, bluehelm.CatArmedClash, "non_state_takes"},
		{"Violence against civilians", "", 0, bluehelm.CatViolenceCivs, ""},
		{"Violence against civilians", "", 5, bluehelm.CatViolenceCivs, "killing"},
		{"Riots/Protests", "", 0, bluehelm.CatProtest, ""},
		{"Remote violence", "", 4, bluehelm.CatExplosive, ""},
		{"Non-violent transfer of territory", "", 0, bluehelm.CatMovement, "transfer_of_territory"},
		{"Headquarters or base established", "", 0, bluehelm.CatMovement, "headquarters_established"},
		{"Strategic development", "", 0, bluehelm.CatOther, ""},
		// Spelling variants seen across exports.
		{"Battle - No change of territory", "", 0, bluehelm.CatArmedClash, "armed_clash"},
		{"BATTLE-GOVERNMENT REGAINS TERRITORY", "", 0, bluehelm.CatArmedClash, "government_regains"},
		{"Explosions / Remote violence", "Remote explosive / landmine / IED", 0, bluehelm.CatExplosive, "ied"},
		{" riots ", " mob  violence ", 0, bluehelm.CatProtest, "mob_violence"},
	}
	for _, c := range cases {
		cat, sub, ok := classify(c.event, c.sub, c.fatalities)
		if !ok || cat != c.cat || sub != c.subcat {
			t.Errorf("classify(%q, %q, %d) = %s/%s %v, want %s/%s", c.event, c.sub, c.fatalities, cat, sub, ok, c.cat, c.subcat)
		}
		if !cat.Valid() || !cat.ValidSubcategory(sub) {
			t.Errorf("classify(%q, %q) gives %s/%s, not in the taxonomy", c.event, c.sub, cat, sub)
		}
	}
	for _, bad := range []string{"", "Battle", "Shooting", "Kidnapping"} {
		if _, _, ok := classify(bad, "", 0); ok {
			t.Errorf("classify(%q) should not know this event type", bad)
		}
	}
}

func TestLegacyExport(t *testing.T) {
	// Pre-2019 column set: upper-case names, ALLY_ACTOR_*, no SUB_EVENT_TYPE,
	// SOURCE_SCALE or TIMESTAMP.
	header := []string{"GWNO", "EVENT_ID_CNTY", "EVENT_ID_NO_CNTY", "EVENT_DATE", "YEAR", "TIME_PRECISION", "EVENT_TYPE",
		"ACTOR1", "ALLY_ACTOR_1", "INTER1", "ACTOR2", "ALLY_ACTOR_2", "INTER2", "INTERACTION", "COUNTRY",
		"ADMIN1", "ADMIN2", "ADMIN3", "LOCATION", "LATITUDE", "LONGITUDE", "GEO_PRECISION", "SOURCE", "NOTES", "FATALITIES"}
	row := func(id, date, year, event, fat string) map[string]string {
		return map[string]string{"GWNO": "999", "EVENT_ID_CNTY": id, "EVENT_ID_NO_CNTY": "1", "EVENT_DATE": date, "YEAR": year,
			"TIME_PRECISION": "2", "EVENT_TYPE": event, "ACTOR1": "Militia (Testland)", "ALLY_ACTOR_1": "Military Forces of Testland (1990-)",
			"INTER1": "3", "ACTOR2": "Civilians (Testland)", "ALLY_ACTOR_2": "", "INTER2": "7", "INTERACTION": "37",
			"COUNTRY": "Testland", "ADMIN1": "North", "LOCATION": "Beta", "LATITUDE": "-1.25", "LONGITUDE": "29.5",
			"GEO_PRECISION": "3", "SOURCE": "Agency", "NOTES": "Synthetic legacy event.", "FATALITIES": fat}
	}
	in := makeCSV(t, header,
		row("TST1", "05-Jan-97", "1997", "Violence against civilians", "4"),
		row("TST2", "1998-03-02", "1998", "Battle-Non-state actor overtakes territory", "0"),
		row("TST3", "2 March 1999", "1999", "Remote violence", "1"),
		row("TST4", "02-Mar-2000", "2000", "Riots/Protests", "0"),
		row("TST5", "02-Mar-01", "2001", "Headquarters or base established", "0"),
	)
	incs, rowErrs := readAll(t, in)
	if len(incs) != 5 || len(rowErrs) != 0 {
		t.Fatalf("got %d incidents, %v", len(incs), rowErrs)
	}
	want := []struct {
		day string
		cat bluehelm.Category
		sub string
	}{
		{"1997-01-05", bluehelm.CatViolenceCivs, "killing"},
		{"1998-03-02", bluehelm.CatArmedClash, "non_state_takes"},
		{"1999-03-02", bluehelm.CatExplosive, ""},
		{"2000-03-02", bluehelm.CatProtest, ""},
		{"2001-03-02", bluehelm.CatMovement, "headquarters_established"},
	}
	for i, w := range want {
		inc := incs[i]
		if d := inc.OccurredStart.Format(time.DateOnly); d != w.day || inc.Category != w.cat || inc.Subcategory != w.sub {
			t.Errorf("%s: %s %s/%s, want %s %s/%s", inc.ExternalID, d, inc.Category, inc.Subcategory, w.day, w.cat, w.sub)
		}
		if inc.TimePrecision != bluehelm.TimeWeek || inc.GeoPrecision != bluehelm.GeoAdmin1 {
			t.Errorf("%s: precisions %s/%s", inc.ExternalID, inc.TimePrecision, inc.GeoPrecision)
		}
		if len(inc.Actors) != 3 || inc.Actors[2] != (bluehelm.Actor{Name: "Military Forces of Testland (1990-)", Type: "state_forces", Side: "a"}) {
			t.Errorf("%s: ally actor not read: %+v", inc.ExternalID, inc.Actors)
		}
	}
	// Without a civilian_targeting column, deaths in violence against civilians and
	// in events against civilians (inter2 7) are civilians.
	if c := incs[0].Casualties; len(c) != 1 || c[0].Group != "civilians" || c[0].Best != 4 {
		t.Errorf("legacy VAC casualties %+v", c)
	}
	if c := incs[2].Casualties; len(c) != 1 || c[0].Group != "civilians" || c[0].Best != 1 {
		t.Errorf("legacy remote violence against civilians: casualties %+v", c)
	}
}

func TestDates(t *testing.T) {
	want := time.Date(2021, 7, 28, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"28-Jul-21", "2021-07-28", "28 July 2021", "28-Jul-2021", "28 Jul 2021", "28 july 2021"} {
		if got := readOne(t, with("event_date", s)).OccurredStart; !got.Equal(want) {
			t.Errorf("%q → %v, want %v", s, got, want)
		}
	}
	if got := readOne(t, with("event_date", "2-Jul-21")).OccurredStart; !got.Equal(time.Date(2021, 7, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("one-digit day → %v", got)
	}
}

func TestInterCodes(t *testing.T) {
	cases := []struct{ code, want string }{
		{"1", "state_forces"}, {"2", "rebel_group"}, {"3", "political_militia"}, {"4", "communal_militia"},
		{"5", "rioters"}, {"6", "protesters"}, {"7", "civilians"}, {"8", "external_forces"},
		{"State forces", "state_forces"}, {"Rebel group", "rebel_group"}, {"Political militia", "political_militia"},
		{"Identity militia", "communal_militia"}, {"Rioters", "rioters"}, {"Protesters", "protesters"},
		{"Civilians", "civilians"}, {"External/Other forces", "external_forces"},
	}
	for _, c := range cases {
		inc := readOne(t, with("inter1", c.code))
		if inc.Actors[0].Type != c.want {
			t.Errorf("inter1 %q → %q, want %q", c.code, inc.Actors[0].Type, c.want)
		}
	}
	// No actor 2 (inter2 0): one actor only.
	inc := readOne(t, with("event_type", "Protests", "sub_event_type", "Peaceful protest", "actor1", "Protesters (Testland)", "inter1", "6", "actor2", "", "inter2", "0", "fatalities", "0"))
	if len(inc.Actors) != 1 || inc.TargetType != "" || inc.Casualties != nil {
		t.Errorf("protest without actor 2: actors %+v target %q casualties %+v", inc.Actors, inc.TargetType, inc.Casualties)
	}
}

func TestCasualtyGroup(t *testing.T) {
	withCT := append(append([]string(nil), currentColumns...), "civilian_targeting", "disorder_type", "tags")
	cases := []struct {
		name   string
		header []string
		row    map[string]string
		want   []bluehelm.Casualty
	}{
		{"battle: side unknown", currentColumns, baseRow(), []bluehelm.Casualty{{Group: "unknown", Kind: "killed", Low: 3, Best: 3, High: 3}}},
		{"violence against civilians", currentColumns, with("event_type", "Violence against civilians", "sub_event_type", "Attack", "actor2", "Civilians (Testland)", "inter2", "7"),
			[]bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 3, Best: 3, High: 3}}},
		{"explosion against civilians, no flag column", currentColumns, with("event_type", "Explosions/Remote violence", "sub_event_type", "Grenade", "actor2", "Civilians (Testland)", "inter2", "7"),
			[]bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 3, Best: 3, High: 3}}},
		{"flag column says civilian targeting", withCT, with("civilian_targeting", "Civilian targeting", "actor2", "", "inter2", "0"),
			[]bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 3, Best: 3, High: 3}}},
		{"flag column empty wins over inter2 7", withCT, with("event_type", "Explosions/Remote violence", "sub_event_type", "Grenade", "actor2", "Civilians (Testland)", "inter2", "7", "civilian_targeting", ""),
			[]bluehelm.Casualty{{Group: "unknown", Kind: "killed", Low: 3, Best: 3, High: 3}}},
		{"no fatalities", currentColumns, with("fatalities", "0"), nil},
		{"fatalities not reported", currentColumns, with("fatalities", ""), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc := readOneWith(t, c.header, c.row)
			if len(inc.Casualties) != len(c.want) || (len(c.want) == 1 && inc.Casualties[0] != c.want[0]) {
				t.Errorf("Casualties = %+v, want %+v", inc.Casualties, c.want)
			}
		})
	}
	inc := readOneWith(t, withCT, with("disorder_type", "Political violence", "tags", "crowd size=no report"))
	for _, want := range []string{"(Political violence)", "Tags: crowd size=no report."} {
		if !strings.Contains(inc.Narrative, want) {
			t.Errorf("narrative lacks %q:\n%s", want, inc.Narrative)
		}
	}
}

func TestUNAndAidWorkers(t *testing.T) {
	un := "UNMISS: United Nations Mission in the Republic of Testland (2011-)"
	cases := []struct {
		name   string
		row    map[string]string
		cat    bluehelm.Category
		sub    string
		target string
	}{
		{"clash with peacekeepers", with("actor2", un, "inter2", "8"), bluehelm.CatAttackOnUN, "direct_fire", "un_personnel"},
		{"IED on peacekeepers", with("event_type", "Explosions/Remote violence", "sub_event_type", "Remote explosive/landmine/IED", "actor2", un, "inter2", "8"), bluehelm.CatAttackOnUN, "", "un_personnel"},
		{"peacekeepers engage a militia", with("actor1", un, "inter1", "8"), bluehelm.CatArmedClash, "armed_clash", "armed_group"},
		{"UN agency among the victims", with("event_type", "Explosions/Remote violence", "sub_event_type", "Remote explosive/landmine/IED",
			"actor2", "Civilians (Testland)", "inter2", "7", "assoc_actor_2", "Aid Workers (Testland); UN: United Nations"), bluehelm.CatExplosive, "ied", "un_personnel"},
		{"aid workers attacked", with("event_type", "Violence against civilians", "sub_event_type", "Attack", "fatalities", "0",
			"actor2", "Civilians (Testland)", "inter2", "7", "assoc_actor_2", "Aid Workers (Testland)"), bluehelm.CatViolenceCivs, "attack", "aid_workers"},
		{"security forces attacked", with("actor1", "TLA", "inter1", "2", "actor2", "Police Forces of Testland (2011-)", "inter2", "1"), bluehelm.CatArmedClash, "armed_clash", "security_forces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc := readOne(t, c.row)
			if inc.Category != c.cat || inc.Subcategory != c.sub || inc.TargetType != c.target {
				t.Errorf("got %s/%s target %q, want %s/%s target %q", inc.Category, inc.Subcategory, inc.TargetType, c.cat, c.sub, c.target)
			}
			for _, a := range inc.Actors {
				if isUN(a.Name) && a.Type != "un" {
					t.Errorf("UN actor %q typed %q", a.Name, a.Type)
				}
			}
		})
	}
}

func TestPrecisions(t *testing.T) {
	for code, want := range map[string]bluehelm.TimePrecision{"1": bluehelm.TimeDay, "2": bluehelm.TimeWeek, "3": bluehelm.TimeMonth, "": ""} {
		if got := readOne(t, with("time_precision", code)).TimePrecision; got != want {
			t.Errorf("time_precision %q → %q, want %q", code, got, want)
		}
	}
	for code, want := range map[string]bluehelm.GeoPrecision{"1": bluehelm.GeoExact, "2": bluehelm.GeoNear, "3": bluehelm.GeoAdmin1, "": ""} {
		if got := readOne(t, with("geo_precision", code)).GeoPrecision; got != want {
			t.Errorf("geo_precision %q → %q, want %q", code, got, want)
		}
	}
}

func TestHXLRow(t *testing.T) {
	hxl := map[string]string{"event_id_cnty": "#event+code", "event_date": "#date+occurred", "year": "#date+year", "latitude": "#geo+lat", "longitude": "#geo+lon"}
	incs, rowErrs := readAll(t, makeCSV(t, currentColumns, hxl, baseRow()))
	if len(incs) != 1 || len(rowErrs) != 0 {
		t.Errorf("got %d incidents, %v; want the HXL row skipped silently", len(incs), rowErrs)
	}
}

func TestBadRowsAreSkipped(t *testing.T) {
	cases := []struct {
		name, field string
		row         map[string]string
	}{
		{"latitude out of range", "location.lat", with("latitude", "-91")},
		{"longitude out of range", "location.lon", with("longitude", "200")},
		{"latitude missing", "latitude", with("latitude", "")},
		{"longitude not a number", "longitude", with("longitude", "30,25")},
		{"no event id", "event_id_cnty", with("event_id_cnty", "")},
		{"unknown event type", "event_type", with("event_type", "Shooting")},
		{"date as month/day/year", "event_date", with("event_date", "07/28/2021")},
		{"date missing", "event_date", with("event_date", "")},
		{"impossible date", "event_date", with("event_date", "31-Feb-21")},
		{"two-digit year in the wrong century", "event_date", with("event_date", "05-Jan-68", "year", "1968")},
		{"in the future", "occurred_start", with("event_date", "2031-01-01", "year", "2031")},
		{"fatalities negative", "fatalities", with("fatalities", "-1")},
		{"fatalities not a number", "fatalities", with("fatalities", "several")},
		{"fatalities too many", "casualties[0]", with("fatalities", "2000000")},
		{"unknown inter code", "inter1", with("inter1", "9")},
		{"unknown time precision", "time_precision", with("time_precision", "4")},
		{"unknown geo precision", "geo_precision", with("geo_precision", "0")},
	}
	rows := []map[string]string{baseRow()}
	for i, c := range cases {
		if c.row["event_id_cnty"] != "" {
			c.row["event_id_cnty"] = "BAD" + strconv.Itoa(i)
		}
		rows = append(rows, c.row)
	}
	rows = append(rows, with("event_id_cnty", "TST101"))
	incs, rowErrs := readAll(t, makeCSV(t, currentColumns, rows...))
	if len(incs) != 2 || incs[0].ExternalID != "acled:TST100" || incs[1].ExternalID != "acled:TST101" {
		t.Fatalf("got %d incidents; want the two good rows around the bad ones", len(incs))
	}
	if len(rowErrs) != len(cases) {
		t.Fatalf("got %d row errors, want %d: %v", len(rowErrs), len(cases), rowErrs)
	}
	for i, c := range cases {
		re := rowErrs[i]
		if re.Line != i+3 {
			t.Errorf("%s: line %d, want %d", c.name, re.Line, i+3)
		}
		if got := bluehelm.ErrorField(re); got != c.field {
			t.Errorf("%s: field %q, want %q (%v)", c.name, got, c.field, re)
		}
	}
}

func TestMalformedLines(t *testing.T) {
	body := makeCSV(t, currentColumns, with("event_id_cnty", "TST101"))
	body = body[strings.Index(body, "\n")+1:]
	in := makeCSV(t, currentColumns, baseRow()) + "1,short\n" + "2,\"bad \"quote\",x\n" + body
	rd, err := NewReader(strings.NewReader(in), Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var lines []int
	for {
		inc, err := rd.Next()
		if err == io.EOF {
			break
		}
		var re RowError
		if errors.As(err, &re) {
			lines = append(lines, re.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inc.ExternalID)
	}
	if strings.Join(ids, " ") != "acled:TST100 acled:TST101" || len(lines) != 2 || lines[0] != 3 || lines[1] != 4 {
		t.Errorf("ids %v, row errors at lines %v; want TST100 and TST101, errors at 3 and 4", ids, lines)
	}
}

func TestHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": "event_id_cnty,event_date,latitude,longitude\nX1,2021-01-01,1,1\n",
		"GED file":       "id,year,type_of_violence,date_start,latitude,longitude\n",
	} {
		if _, err := NewReader(strings.NewReader(in), Options{}); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("%s: err = %v, want an invalid-input error", name, err)
		}
		if _, _, err := Read(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Read: want an error", name)
		}
	}
}

func TestLimits(t *testing.T) {
	many := strings.Repeat("Outlet; ", 80)
	inc := readOne(t, with("notes", strings.Repeat("Long notes. ", 3000), "source", many+strings.Repeat("S", 300),
		"location", strings.Repeat("L", 300), "actor1", strings.Repeat("A", 300), "admin1", "Bad \xfe byte"))
	if n := utf8.RuneCountInString(inc.Narrative); n > bluehelm.MaxNarrative {
		t.Errorf("narrative has %d runes", n)
	}
	if len(inc.Sources) != bluehelm.MaxListItems {
		t.Errorf("%d sources, want them capped at %d", len(inc.Sources), bluehelm.MaxListItems)
	}
	if n := utf8.RuneCountInString(inc.PlaceName); n != 200 {
		t.Errorf("place name has %d runes, want 200", n)
	}
	if inc.Admin1 != "Bad \uFFFD byte" {
		t.Errorf("Admin1 = %q", inc.Admin1)
	}
}
