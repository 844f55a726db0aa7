package ged

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// gedColumns is the standard GED header (a subset is enough for the reader; the
// real-data tests cover the full one).
var gedColumns = []string{
	"id", "relid", "year", "type_of_violence", "conflict_name", "dyad_name", "side_a", "side_b",
	"number_of_sources", "source_article", "source_office", "source_date", "source_headline", "source_original",
	"where_prec", "where_coordinates", "where_description", "adm_1", "adm_2", "latitude", "longitude",
	"priogrid_gid", "country", "event_clarity", "date_prec", "date_start", "date_end",
	"deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown", "best", "high", "low",
}

// baseRow is a valid synthetic state-based event; tests override fields.
func baseRow() map[string]string {
	return map[string]string{
		"id": "1001", "relid": "XYZ-2015-1-1-1", "year": "2015", "type_of_violence": "1",
		"conflict_name": "Testland: Government", "dyad_name": "Government of Testland - TLA",
		"side_a": "Government of Testland", "side_b": "TLA", "number_of_sources": "2",
		"source_article": `"Agency A,2015-03-02,Clash near Alpha";"Agency B,2015-03-04,Fighting in Alpha"`,
		"source_office":  "Agency A;Agency B", "source_date": "2015-03-02;2015-03-04",
		"source_headline": "Clash near Alpha;Fighting in Alpha", "source_original": "local official",
		"where_prec": "1", "where_coordinates": "Alpha town", "where_description": "in Alpha",
		"adm_1": "North province", "adm_2": "Alpha district", "latitude": "7.5", "longitude": "30.25",
		"priogrid_gid": "123", "country": "Testland", "event_clarity": "1", "date_prec": "1",
		"date_start": "2015-03-01 00:00:00.000", "date_end": "2015-03-01 00:00:00.000",
		"deaths_a": "2", "deaths_b": "5", "deaths_civilians": "1", "deaths_unknown": "0",
		"best": "8", "high": "8", "low": "8",
	}
}

// with returns baseRow with some fields replaced.
func with(kv ...string) map[string]string {
	r := baseRow()
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = kv[i+1]
	}
	return r
}

// makeCSV writes rows under header with encoding/csv, so fixtures are quoted like
// real exports.
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

func readOne(t *testing.T, r map[string]string) *bluehelm.Incident {
	t.Helper()
	incs, rowErrs := readAll(t, makeCSV(t, gedColumns, r))
	if len(rowErrs) != 0 || len(incs) != 1 {
		t.Fatalf("got %d incidents, row errors %v; want 1 incident", len(incs), rowErrs)
	}
	return incs[0]
}

func TestBaseRowMapping(t *testing.T) {
	inc := readOne(t, baseRow())
	if err := inc.Validate(testNow); err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("ExternalID", inc.ExternalID, "ucdp:1001")
	check("Category", inc.Category, bluehelm.CatArmedClash)
	check("Subcategory", inc.Subcategory, "armed_clash")
	check("Status", inc.Status, bluehelm.StatusApproved)
	check("Classification", inc.Classification, bluehelm.Unclassified)
	check("Component", inc.Component, bluehelm.Civilian)
	check("OccurredStart", inc.OccurredStart, time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC))
	check("OccurredEnd", inc.OccurredEnd == nil, true)
	check("TimePrecision", inc.TimePrecision, bluehelm.TimeDay)
	check("Location", inc.Location, bluehelm.Point{Lon: 30.25, Lat: 7.5})
	check("GeoPrecision", inc.GeoPrecision, bluehelm.GeoExact)
	check("Country", inc.Country, "Testland")
	check("Admin1", inc.Admin1, "North province")
	check("Admin2", inc.Admin2, "Alpha district")
	check("PlaceName", inc.PlaceName, "Alpha town")
	check("Title", inc.Title, "Armed clash between groups — Alpha town, North province")
	check("ReportedAt", inc.ReportedAt, time.Date(2015, 3, 4, 0, 0, 0, 0, time.UTC))
	if len(inc.Actors) != 2 ||
		inc.Actors[0] != (bluehelm.Actor{Name: "Government of Testland", Type: "state_forces", Side: "a"}) ||
		inc.Actors[1] != (bluehelm.Actor{Name: "TLA", Type: "rebel_group", Side: "b"}) {
		t.Errorf("Actors = %+v", inc.Actors)
	}
	wantCas := []bluehelm.Casualty{
		{Group: "civilians", Kind: "killed", Low: 1, Best: 1, High: 1},
		{Group: "host_forces", Kind: "killed", Low: 2, Best: 2, High: 2},
		{Group: "armed_groups", Kind: "killed", Low: 5, Best: 5, High: 5},
	}
	if !equalCas(inc.Casualties, wantCas) {
		t.Errorf("Casualties = %+v, want %+v", inc.Casualties, wantCas)
	}
	wantSrc := []bluehelm.Source{{Name: "Agency A", Reference: "2015-03-02: Clash near Alpha"}, {Name: "Agency B", Reference: "2015-03-04: Fighting in Alpha"}}
	if len(inc.Sources) != 2 || inc.Sources[0] != wantSrc[0] || inc.Sources[1] != wantSrc[1] {
		t.Errorf("Sources = %+v, want %+v", inc.Sources, wantSrc)
	}
	for _, want := range []string{"Government of Testland - TLA", "state-based", "best 8, low 8, high 8", "Sources (2):", "relid XYZ-2015-1-1-1", "local official"} {
		if !strings.Contains(inc.Narrative, want) {
			t.Errorf("narrative lacks %q:\n%s", want, inc.Narrative)
		}
	}
}

func equalCas(a, b []bluehelm.Casualty) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDateFormats(t *testing.T) {
	want := time.Date(2011, 9, 17, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2011-09-17 00:00:00.000", "2011-09-17T00:00:00", "2011-09-17", "2011-09-17T00:00:00.000", "2011-09-17T00:00:00Z"} {
		t.Run(s, func(t *testing.T) {
			inc := readOne(t, with("date_start", s, "date_end", s))
			if !inc.OccurredStart.Equal(want) || inc.OccurredEnd != nil {
				t.Errorf("start %v end %v, want %v and no end", inc.OccurredStart, inc.OccurredEnd, want)
			}
		})
	}
	inc := readOne(t, with("date_start", "2011-09-17", "date_end", "2011-09-20T00:00:00", "date_prec", "2"))
	if inc.OccurredEnd == nil || !inc.OccurredEnd.Equal(want.AddDate(0, 0, 3)) {
		t.Errorf("OccurredEnd = %v", inc.OccurredEnd)
	}
}

func TestHXLRowAndHeaderVariants(t *testing.T) {
	hxl := map[string]string{"year": "#date+year", "side_a": "#group+name+first", "latitude": "#geo+lat", "longitude": "#geo+lon"}
	in := makeCSV(t, gedColumns, hxl, baseRow(), with("id", "1002", "relid", ""))
	incs, rowErrs := readAll(t, in)
	if len(incs) != 2 || len(rowErrs) != 0 {
		t.Fatalf("got %d incidents and %v, want 2 and no row errors (HXL row skipped)", len(incs), rowErrs)
	}
	if !strings.Contains(incs[1].Narrative, "UCDP GED id 1002, event clarity") {
		t.Errorf("empty relid should be left out of the narrative:\n%s", incs[1].Narrative)
	}

	// Columns found by name: reversed order, upper-case names, a BOM and CRLF.
	rev := make([]string, len(gedColumns))
	for i, c := range gedColumns {
		rev[len(rev)-1-i] = strings.ToUpper(c)
	}
	r := map[string]string{}
	for k, v := range baseRow() {
		r[strings.ToUpper(k)] = v
	}
	in = "\ufeff" + strings.ReplaceAll(makeCSV(t, rev, r), "\n", "\r\n")
	incs, rowErrs = readAll(t, in)
	if len(incs) != 1 || len(rowErrs) != 0 {
		t.Fatalf("reordered header: got %d incidents, %v", len(incs), rowErrs)
	}
	if incs[0].ExternalID != "ucdp:1001" || incs[0].Location != (bluehelm.Point{Lon: 30.25, Lat: 7.5}) {
		t.Errorf("reordered header read wrongly: %s %+v", incs[0].ExternalID, incs[0].Location)
	}
}

func TestHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": "id,year,type_of_violence,date_start,latitude\n1,2015,1,2015-01-01,1\n",
		"not csv":        "\"unterminated\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewReader(strings.NewReader(in), Options{}); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
				t.Errorf("err = %v, want an invalid-input error", err)
			}
			if _, _, err := Read(strings.NewReader(in)); err == nil {
				t.Error("Read: want an error")
			}
		})
	}
}

func TestViolenceTypesAndActors(t *testing.T) {
	cases := []struct {
		tov, a, b, country string
		cat                bluehelm.Category
		sub, target        string
		ta, tb             string
	}{
		{"1", "Government of Testland", "TLA", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "state_forces", "rebel_group"},
		{"1", "Government of Testland", "Seleka", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "state_forces", "rebel_group"},
		{"1", "Government of Uganda", "LRA", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "external_forces", "rebel_group"},
		{"2", "Lou Nuer", "Murle", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "communal_militia", "communal_militia"},
		{"2", "SPLM/A - IO", "Christians (CAR)", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "rebel_group", "communal_militia"},
		{"2", "anti-Balaka, FPRC-AK", "Peuhl militia (Zemio)", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "rebel_group", "communal_militia"},
		{"2", "3R", "Military faction (forces of X)", "Testland", bluehelm.CatArmedClash, "armed_clash", "", "rebel_group", "rebel_group"},
		{"3", "Government of Testland", "Civilians", "Testland", bluehelm.CatViolenceCivs, "killing", "civilians", "state_forces", "civilians"},
		{"3", "anti-Balaka", "Civilians", "Testland", bluehelm.CatViolenceCivs, "killing", "civilians", "communal_militia", "civilians"},
	}
	for _, c := range cases {
		t.Run(c.tov+"/"+c.a+"/"+c.b, func(t *testing.T) {
			inc := readOne(t, with("type_of_violence", c.tov, "side_a", c.a, "side_b", c.b, "country", c.country))
			if inc.Category != c.cat || inc.Subcategory != c.sub || inc.TargetType != c.target {
				t.Errorf("got %s/%s target %q, want %s/%s target %q", inc.Category, inc.Subcategory, inc.TargetType, c.cat, c.sub, c.target)
			}
			if inc.Actors[0].Type != c.ta || inc.Actors[1].Type != c.tb {
				t.Errorf("actor types %q, %q; want %q, %q", inc.Actors[0].Type, inc.Actors[1].Type, c.ta, c.tb)
			}
		})
	}
}

func TestCasualtyGroupsBySide(t *testing.T) {
	cases := []struct {
		name string
		row  map[string]string
		want []bluehelm.Casualty
	}{
		{"foreign government counted with armed groups", with("side_a", "Government of Uganda", "side_b", "LRA", "deaths_a", "2", "deaths_b", "3", "deaths_civilians", "0", "best", "5", "low", "5", "high", "5"),
			[]bluehelm.Casualty{{Group: "armed_groups", Kind: "killed", Low: 5, Best: 5, High: 5}}},
		{"one-sided: side B deaths are civilians", with("type_of_violence", "3", "side_b", "Civilians", "deaths_a", "0", "deaths_b", "2", "deaths_civilians", "3", "best", "5", "low", "5", "high", "5"),
			[]bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 5, Best: 5, High: 5}}},
		{"interstate: both governments", with("side_b", "Government of Sudan", "deaths_a", "1", "deaths_b", "1", "deaths_civilians", "0", "best", "2", "low", "2", "high", "2"),
			[]bluehelm.Casualty{{Group: "host_forces", Kind: "killed", Low: 1, Best: 1, High: 1}, {Group: "armed_groups", Kind: "killed", Low: 1, Best: 1, High: 1}}},
		{"spread goes to unknown", with("deaths_unknown", "0", "best", "8", "low", "8", "high", "12"),
			[]bluehelm.Casualty{
				{Group: "civilians", Kind: "killed", Low: 1, Best: 1, High: 1},
				{Group: "host_forces", Kind: "killed", Low: 2, Best: 2, High: 2},
				{Group: "armed_groups", Kind: "killed", Low: 5, Best: 5, High: 5},
				{Group: "unknown", Kind: "killed", Low: 0, Best: 0, High: 4}}},
		{"no deaths at all", with("deaths_a", "0", "deaths_b", "0", "deaths_civilians", "0", "best", "0", "low", "0", "high", "0"), nil},
		{"high below best is clamped", with("best", "8", "low", "8", "high", "6"),
			[]bluehelm.Casualty{
				{Group: "civilians", Kind: "killed", Low: 1, Best: 1, High: 1},
				{Group: "host_forces", Kind: "killed", Low: 2, Best: 2, High: 2},
				{Group: "armed_groups", Kind: "killed", Low: 5, Best: 5, High: 5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc := readOne(t, c.row)
			if !equalCas(inc.Casualties, c.want) {
				t.Errorf("Casualties = %+v\nwant %+v", inc.Casualties, c.want)
			}
		})
	}
	inc := readOne(t, with("best", "8", "low", "9", "high", "6"))
	if !strings.Contains(inc.Narrative, "best 8, low 9, high 6") || !strings.Contains(inc.Narrative, "stored as low 8, high 8") {
		t.Errorf("narrative should keep the source's inconsistent estimates:\n%s", inc.Narrative)
	}
}

func TestDistributeInvariants(t *testing.T) {
	// Exhaustive over small counts: every split keeps the sums and the order.
	for a := 0; a <= 3; a++ {
		for b := 0; b <= 3; b++ {
			for civ := 0; civ <= 3; civ++ {
				for unk := 0; unk <= 3; unk++ {
					best := a + b + civ + unk
					for low := 0; low <= best; low++ {
						for high := best; high <= best+3; high++ {
							byGroup := map[string]int{"host_forces": a, "armed_groups": b, "civilians": civ, "unknown": unk}
							cas := distribute(maps.Clone(byGroup), estimate{low, best, high})
							var sl, sb, sh int
							seen := map[string]bool{}
							for _, c := range cas {
								if c.Low < 0 || c.Low > c.Best || c.Best > c.High || c.Kind != "killed" || seen[c.Group] {
									t.Fatalf("%v low %d high %d: bad entry %+v in %+v", byGroup, low, high, c, cas)
								}
								seen[c.Group] = true
								if c.Best != byGroup[c.Group] {
									t.Fatalf("%v: group %s best %d", byGroup, c.Group, c.Best)
								}
								sl, sb, sh = sl+c.Low, sb+c.Best, sh+c.High
							}
							if sl != low || sb != best || sh != high {
								t.Fatalf("%v low %d best %d high %d: sums %d/%d/%d in %+v", byGroup, low, best, high, sl, sb, sh, cas)
							}
						}
					}
				}
			}
		}
	}
}

func TestDistributeDeficitBeyondUnknown(t *testing.T) {
	// best 6 = civilians 3 + armed groups 1 + unknown 2; low 2 means a shortfall of 4:
	// 2 from unknown, the remaining 2 split 3:1 → 1.5/0.5, the tie on the
	// remainder broken in CasualtyGroups order (civilians first).
	got := distribute(map[string]int{"civilians": 3, "armed_groups": 1, "unknown": 2}, estimate{2, 6, 9})
	want := []bluehelm.Casualty{
		{Group: "civilians", Kind: "killed", Low: 1, Best: 3, High: 3},
		{Group: "armed_groups", Kind: "killed", Low: 1, Best: 1, High: 1},
		{Group: "unknown", Kind: "killed", Low: 0, Best: 2, High: 5},
	}
	if !equalCas(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestPrecisions(t *testing.T) {
	dates := map[string]bluehelm.TimePrecision{"1": bluehelm.TimeDay, "2": bluehelm.TimeWeek, "3": bluehelm.TimeWeek, "4": bluehelm.TimeMonth, "5": bluehelm.TimeYear, "": ""}
	for code, want := range dates {
		if got := readOne(t, with("date_prec", code)).TimePrecision; got != want {
			t.Errorf("date_prec %q → %q, want %q", code, got, want)
		}
	}
	places := map[string]bluehelm.GeoPrecision{"1": bluehelm.GeoExact, "2": bluehelm.GeoNear, "3": bluehelm.GeoAdmin2, "4": bluehelm.GeoAdmin1, "5": bluehelm.GeoCountry, "6": bluehelm.GeoCountry, "7": bluehelm.GeoCountry, "": ""}
	for code, want := range places {
		if got := readOne(t, with("where_prec", code)).GeoPrecision; got != want {
			t.Errorf("where_prec %q → %q, want %q", code, got, want)
		}
	}
}

func TestBadRowsAreSkipped(t *testing.T) {
	cases := []struct {
		name  string
		row   map[string]string
		field string // the field the error names
	}{
		{"latitude out of range", with("latitude", "95"), "location.lat"},
		{"longitude out of range", with("longitude", "-181"), "location.lon"},
		{"latitude NaN", with("latitude", "NaN"), "location.lat"},
		{"latitude missing", with("latitude", ""), "latitude"},
		{"longitude not a number", with("longitude", "east"), "longitude"},
		{"date not a date", with("date_start", "17/09/2011"), "date_start"},
		{"date missing", with("date_start", ""), "date_start"},
		{"end before start", with("date_end", "2015-02-01"), "occurred_end"},
		{"in the future", with("date_start", "2031-01-01", "date_end", "2031-01-01"), "occurred_start"},
		{"before 1945", with("date_start", "1900-01-01", "date_end", "1900-01-01"), "occurred_start"},
		{"unknown violence type", with("type_of_violence", "4"), "type_of_violence"},
		{"unknown date_prec", with("date_prec", "9"), "date_prec"},
		{"unknown where_prec", with("where_prec", "0"), "where_prec"},
		{"negative deaths", with("deaths_a", "-2"), "deaths_a"},
		{"deaths do not add up to best", with("best", "9"), "best"},
		{"no id", with("id", ""), "id"},
	}
	rows := []map[string]string{baseRow()}
	for i, c := range cases {
		if c.row["id"] != "" {
			c.row["id"] = "bad" + strconv.Itoa(i)
		}
		rows = append(rows, c.row)
	}
	rows = append(rows, with("id", "1002"))
	incs, rowErrs := readAll(t, makeCSV(t, gedColumns, rows...))
	if len(incs) != 2 || incs[0].ExternalID != "ucdp:1001" || incs[1].ExternalID != "ucdp:1002" {
		t.Fatalf("got %d incidents; want the two good rows around the bad ones", len(incs))
	}
	if len(rowErrs) != len(cases) {
		t.Fatalf("got %d row errors, want %d: %v", len(rowErrs), len(cases), rowErrs)
	}
	for i, c := range cases {
		re := rowErrs[i]
		if re.Line != i+3 { // header is line 1, the good row line 2
			t.Errorf("%s: line %d, want %d", c.name, re.Line, i+3)
		}
		if got := bluehelm.ErrorField(re); got != c.field {
			t.Errorf("%s: field %q, want %q (%v)", c.name, got, c.field, re)
		}
		if !strings.HasPrefix(re.Error(), "line ") {
			t.Errorf("%s: message %q", c.name, re.Error())
		}
	}
}

func TestMalformedLines(t *testing.T) {
	in := makeCSV(t, gedColumns, baseRow()) + "1003,short,row\n" + "1004,\"bad \"quote\",x\n" + makeCSV(t, gedColumns, with("id", "1005"))[len(strings.Join(gedColumns, ","))+1:]
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
	if strings.Join(ids, " ") != "ucdp:1001 ucdp:1005" || len(lines) != 2 || lines[0] != 3 || lines[1] != 4 {
		t.Errorf("ids %v, row errors at lines %v; want 1001 and 1005, errors at 3 and 4", ids, lines)
	}
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("Very long source article text. ", 2000) // 62,000 characters
	office := strings.Repeat("O", 300)
	inc := readOne(t, with("source_article", long, "source_office", office, "source_date", "", "source_headline", "",
		"where_coordinates", strings.Repeat("P", 250), "side_a", strings.Repeat("Q", 250)+" Forces", "adm_1", "Bad \xff byte"))
	if n := utf8.RuneCountInString(inc.Narrative); n > bluehelm.MaxNarrative {
		t.Errorf("narrative has %d runes", n)
	}
	if n := utf8.RuneCountInString(inc.Title); n > bluehelm.MaxTitle {
		t.Errorf("title has %d runes", n)
	}
	if len(inc.Sources) != 1 || utf8.RuneCountInString(inc.Sources[0].Name) != 200 || !strings.HasSuffix(inc.Sources[0].Name, "…") {
		t.Errorf("source name not clipped to 200: %d", utf8.RuneCountInString(inc.Sources[0].Name))
	}
	if inc.Admin1 != "Bad \uFFFD byte" {
		t.Errorf("Admin1 = %q: invalid UTF-8 should be replaced", inc.Admin1)
	}
	// No office: the article becomes the reference of a "UCDP GED" source.
	inc = readOne(t, with("source_article", long, "source_office", ""))
	if len(inc.Sources) != 1 || inc.Sources[0].Name != "UCDP GED" || utf8.RuneCountInString(inc.Sources[0].Reference) != 500 {
		t.Errorf("Sources = %d entries, first %q with a %d-rune reference", len(inc.Sources), inc.Sources[0].Name, utf8.RuneCountInString(inc.Sources[0].Reference))
	}
}

func TestReportedBy(t *testing.T) {
	rd, err := NewReader(strings.NewReader(makeCSV(t, gedColumns, baseRow())), Options{Now: testNow, ReportedBy: "importer"})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := rd.Next()
	if err != nil || inc.ReportedBy != "importer" {
		t.Fatalf("inc %+v, err %v", inc, err)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Errorf("after the last row: %v, want io.EOF", err)
	}
}
