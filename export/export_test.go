package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// samples are valid incidents chosen to stress each format: formula-looking text,
// markup, quotes, commas, newlines, a control character, negative coordinates,
// time spans, several casualty groups and kinds.
func samples() []*bluehelm.Incident {
	end := day(2021, 7, 30)
	return []*bluehelm.Incident{
		{
			ID: 12, Version: 3, ExternalID: "acled:TST1", Title: "=HYPERLINK(\"http://evil\",\"click\")",
			Category: bluehelm.CatViolenceCivs, Subcategory: "killing", Status: bluehelm.StatusApproved,
			OccurredStart: day(2021, 7, 28), OccurredEnd: &end, TimePrecision: bluehelm.TimeWeek,
			ReportedAt: time.Date(2021, 8, 2, 20, 4, 19, 0, time.UTC), UpdatedAt: time.Date(2021, 8, 3, 1, 2, 3, 0, time.UTC),
			Location: bluehelm.Point{Lon: 30.6772, Lat: 4.0947}, GeoPrecision: bluehelm.GeoNear,
			Country: "Testland", Admin1: "Central, \"Equatoria\"", Admin2: "Yei", PlaceName: "Yei town",
			Actors: []bluehelm.Actor{
				{Name: "Militia A", Type: "communal_militia", Side: "a"},
				{Name: "Civilians (Testland)", Type: "civilians", Side: "b"},
				{Name: "Militia B", Side: "a"},
				{Name: "Aid Workers (Testland)", Type: "civilians", Side: "b"},
			},
			TargetType: "civilians",
			Casualties: []bluehelm.Casualty{
				{Group: "civilians", Kind: "killed", Low: 2, Best: 3, High: 4},
				{Group: "unknown", Kind: "killed", Low: 0, Best: 1, High: 5},
				{Group: "civilians", Kind: "injured", Low: 1, Best: 1, High: 1},
				{Group: "un_civilian", Kind: "abducted", Low: 2, Best: 2, High: 2},
			},
			Sources:       []bluehelm.Source{{Name: "Radio One", Reliability: "B", Credibility: 2}, {Name: "@handle"}},
			Narrative:     "Line one, with <script>alert(1)</script> & \"quotes\".\nLine two\x01 after a control character.",
			Links:         []bluehelm.Link{{Kind: "sitrep", Ref: "SITREP-7"}},
			Marking:       bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police, bluehelm.Civilian}},
			ReportingUnit: "-SECTOR WEST", ReportedBy: "+alice", VerifiedBy: "bob", ApprovedBy: "carol",
		},
		{
			ExternalID: "ucdp:30367", Title: "-5 killed near Raga", Category: bluehelm.CatArmedClash, Subcategory: "armed_clash",
			Status: bluehelm.StatusApproved, OccurredStart: day(2011, 9, 17), TimePrecision: bluehelm.TimeDay,
			Location: bluehelm.Point{Lon: -12.25, Lat: -8.466667}, GeoPrecision: bluehelm.GeoExact, PlaceName: "Bambari — M'Baïki",
			Casualties: []bluehelm.Casualty{{Group: "armed_groups", Kind: "killed", Low: 4, Best: 4, High: 4}},
			Marking:    bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Civilian},
		},
		{
			ID: 14, Title: "Plain", Category: bluehelm.CatOther, Status: bluehelm.StatusDraft, OccurredStart: day(2020, 1, 1),
			Location: bluehelm.Point{Lon: 0, Lat: 0},
			Marking:  bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Civilian},
		},
	}
}

// from returns a next function over incs.
func from(incs []*bluehelm.Incident) func() (*bluehelm.Incident, error) {
	i := 0
	return func() (*bluehelm.Incident, error) {
		if i == len(incs) {
			return nil, io.EOF
		}
		i++
		return incs[i-1], nil
	}
}

func write(t testing.TB, f Format, incs []*bluehelm.Incident) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f, from(incs)); err != nil {
		t.Fatalf("Write %s: %v", f, err)
	}
	return b.Bytes()
}

func TestSamplesAreValid(t *testing.T) {
	for _, inc := range samples() {
		if err := inc.Validate(time.Now()); err != nil {
			t.Errorf("sample %q: %v", inc.Title, err)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"geojson": GeoJSON, "GeoJSON": GeoJSON, " csv ": CSV, "KML": KML} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "json", "xlsx", "kmz", "geo json"} {
		if _, err := ParseFormat(in); bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != "format" {
			t.Errorf("ParseFormat(%q): err %v, want an invalid format error", in, err)
		}
	}
	for f, want := range map[Format][2]string{
		GeoJSON: {"application/geo+json", ".geojson"},
		CSV:     {"text/csv; charset=utf-8; header=present", ".csv"},
		KML:     {"application/vnd.google-earth.kml+xml", ".kml"},
		"xlsx":  {"", ""},
	} {
		if ContentType(f) != want[0] || Extension(f) != want[1] {
			t.Errorf("%s: %q %q, want %q %q", f, ContentType(f), Extension(f), want[0], want[1])
		}
	}
}

type featureCollection struct {
	Type     string `json:"type"`
	Features []struct {
		Type     string          `json:"type"`
		ID       any             `json:"id"`
		Geometry json.RawMessage `json:"geometry"`
		// Properties decode into an Incident: they are its fields minus location.
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"features"`
}

func TestGeoJSONRoundTrip(t *testing.T) {
	incs := samples()
	out := write(t, GeoJSON, incs)
	var fc featureCollection
	if err := json.Unmarshal(out, &fc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != len(incs) {
		t.Fatalf("type %q with %d features, want a FeatureCollection of %d", fc.Type, len(fc.Features), len(incs))
	}
	wantIDs := []any{float64(12), "ucdp:30367", float64(14)}
	for i, f := range fc.Features {
		if f.Type != "Feature" || f.ID != wantIDs[i] {
			t.Errorf("feature %d: type %q id %v, want Feature with id %v", i, f.Type, f.ID, wantIDs[i])
		}
		var geom struct {
			Type        string    `json:"type"`
			Coordinates []float64 `json:"coordinates"`
		}
		if err := json.Unmarshal(f.Geometry, &geom); err != nil || geom.Type != "Point" || len(geom.Coordinates) != 2 {
			t.Fatalf("feature %d geometry %s", i, f.Geometry)
		}
		if geom.Coordinates[0] != incs[i].Location.Lon || geom.Coordinates[1] != incs[i].Location.Lat {
			t.Errorf("feature %d coordinates %v, want [lon lat] of %+v", i, geom.Coordinates, incs[i].Location)
		}
		if _, ok := f.Properties["location"]; ok {
			t.Errorf("feature %d repeats the location in its properties", i)
		}
		// Properties plus geometry give back the incident, field for field.
		props, _ := json.Marshal(f.Properties)
		var back bluehelm.Incident
		if err := json.Unmarshal(props, &back); err != nil {
			t.Fatalf("feature %d properties do not decode as an incident: %v", i, err)
		}
		back.Location = bluehelm.Point{Lon: geom.Coordinates[0], Lat: geom.Coordinates[1]}
		if !reflect.DeepEqual(&back, incs[i]) {
			t.Errorf("feature %d round trip differs:\n got %+v\nwant %+v", i, back, *incs[i])
		}
	}
}

func TestCSV(t *testing.T) {
	incs := samples()
	out := write(t, CSV, incs)
	if !bytes.Contains(out, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("want CRLF line ends throughout (RFC 4180)")
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v", err)
	}
	if !slices.Equal(recs[0], Columns()) {
		t.Fatalf("header %v\nwant %v", recs[0], Columns())
	}
	if len(recs) != len(incs)+1 {
		t.Fatalf("%d rows, want %d", len(recs)-1, len(incs))
	}
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	get := func(row int, name string) string {
		t.Helper()
		i, ok := col[name]
		if !ok {
			t.Fatalf("no column %q", name)
		}
		return recs[row+1][i]
	}
	want := []map[string]string{
		{
			"id": "12", "external_id": "acled:TST1", "version": "3",
			"title":          "'=HYPERLINK(\"http://evil\",\"click\")",
			"occurred_start": "2021-07-28T00:00:00Z", "occurred_end": "2021-07-30T00:00:00Z", "reported_at": "2021-08-02T20:04:19Z",
			"lon": "30.6772", "lat": "4.0947", "admin1": "Central, \"Equatoria\"",
			"actor1": "Militia A", "actor1_type": "communal_militia", "assoc_actors_1": "Militia B",
			"actor2": "Civilians (Testland)", "actor2_type": "civilians", "assoc_actors_2": "Aid Workers (Testland)",
			"killed_low": "2", "killed_best": "4", "killed_high": "9", "injured_best": "1", "abducted_high": "2",
			"civilians_killed_best": "3", "unknown_killed_best": "1", "civilians_injured_best": "1", "un_civilian_abducted_best": "2",
			"armed_groups_killed_best": "0",
			// Text, but it starts with "R": only a cell starting with '@' is prefixed.
			"sources":        "Radio One [B2]; @handle",
			"narrative":      "Line one, with <script>alert(1)</script> & \"quotes\".\nLine two\x01 after a control character.",
			"links":          "sitrep:SITREP-7",
			"classification": "CONFIDENTIAL", "component": "military", "releasable_to": "police; civilian",
			"reporting_unit": "'-SECTOR WEST", "reported_by": "'+alice", "approved_by": "carol",
		},
		{
			"id": "0", "external_id": "ucdp:30367", "title": "'-5 killed near Raga", "occurred_end": "", "reported_at": "",
			"lon": "-12.25", "lat": "-8.466667", "place_name": "Bambari — M'Baïki", "actor1": "", "armed_groups_killed_best": "4",
			"killed_best": "4", "classification": "UNCLASSIFIED", "releasable_to": "",
		},
		{"id": "14", "external_id": "", "lon": "0", "lat": "0", "killed_best": "0", "status": "draft"},
	}
	for row, fields := range want {
		for name, v := range fields {
			if got := get(row, name); got != v {
				t.Errorf("row %d %s = %q, want %q", row, name, got, v)
			}
		}
	}
}

func TestFormulaDefence(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+SUM(A1)": "'+SUM(A1)", "-2": "'-2", "@cmd": "'@cmd", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "plain": "plain", " =1": " =1", "'=1": "'=1", "a=b": "a=b",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestColumnsCoverDomain(t *testing.T) {
	cols := Columns()
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			t.Errorf("duplicate column %q", c)
		}
		seen[c] = true
	}
	for _, g := range bluehelm.CasualtyGroups {
		for _, k := range bluehelm.CasualtyKinds {
			if !seen[g+"_"+k+"_best"] {
				t.Errorf("domain casualty %s/%s has no CSV column: add it to casualtyGroups/casualtyKinds", g, k)
			}
		}
	}
	for _, k := range bluehelm.CasualtyKinds {
		if !seen[k+"_best"] {
			t.Errorf("no total column for %s", k)
		}
	}
}

// kmlDoc mirrors what a KML reader sees.
type kmlDoc struct {
	XMLName  xml.Name `xml:"kml"`
	Document struct {
		Name       string `xml:"name"`
		Placemarks []struct {
			ID          string `xml:"id,attr"`
			Name        string `xml:"name"`
			Description string `xml:"description"`
			TimeStamp   *struct {
				When string `xml:"when"`
			} `xml:"TimeStamp"`
			TimeSpan *struct {
				Begin string `xml:"begin"`
				End   string `xml:"end"`
			} `xml:"TimeSpan"`
			Data []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value"`
			} `xml:"ExtendedData>Data"`
			Coordinates string `xml:"Point>coordinates"`
		} `xml:"Placemark"`
	} `xml:"Document"`
}

func TestKML(t *testing.T) {
	incs := samples()
	out := write(t, KML, incs)
	var doc kmlDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not XML: %v\n%s", err, out)
	}
	if doc.XMLName.Space != kmlNamespace {
		t.Errorf("root namespace %q, want %q", doc.XMLName.Space, kmlNamespace)
	}
	if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Error("missing XML declaration")
	}
	pms := doc.Document.Placemarks
	if len(pms) != len(incs) {
		t.Fatalf("%d placemarks, want %d", len(pms), len(incs))
	}
	for i, pm := range pms {
		inc := incs[i]
		if pm.Name != inc.Title {
			t.Errorf("placemark %d name %q, want %q", i, pm.Name, inc.Title)
		}
		if want := formatFloat(inc.Location.Lon) + "," + formatFloat(inc.Location.Lat); pm.Coordinates != want {
			t.Errorf("placemark %d coordinates %q, want %q", i, pm.Coordinates, want)
		}
		if (inc.ID != 0) != (pm.ID == "incident-"+strconv.FormatInt(inc.ID, 10)) {
			t.Errorf("placemark %d id %q for incident %d", i, pm.ID, inc.ID)
		}
	}
	if s := pms[0].TimeSpan; pms[0].TimeStamp != nil || s == nil || s.Begin != "2021-07-28T00:00:00Z" || s.End != "2021-07-30T00:00:00Z" {
		t.Errorf("placemark 0 time: %+v %+v, want a TimeSpan", pms[0].TimeStamp, s)
	}
	if ts := pms[1].TimeStamp; pms[1].TimeSpan != nil || ts == nil || ts.When != "2011-09-17T00:00:00Z" {
		t.Errorf("placemark 1 time: %+v, want a TimeStamp", ts)
	}
	d := pms[0].Description
	if strings.Contains(d, "<script") || !strings.Contains(d, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;") {
		t.Errorf("description must carry the narrative HTML-escaped:\n%s", d)
	}
	if !strings.Contains(d, "\uFFFD after a control character") {
		t.Errorf("a control character must not reach the XML:\n%s", d)
	}
	if !strings.HasPrefix(d, "<b>Classification:</b> CONFIDENTIAL<br>") {
		t.Errorf("description should open with the marking:\n%s", d)
	}
	data := map[string]string{}
	for _, x := range pms[0].Data {
		data[x.Name] = x.Value
	}
	if data["external_id"] != "acled:TST1" || data["killed_best"] != "4" || data["classification"] != "CONFIDENTIAL" {
		t.Errorf("ExtendedData %v", data)
	}
}

// The KML 2.2 schema fixes the order of a Placemark's children.
func TestKMLElementOrder(t *testing.T) {
	dec := xml.NewDecoder(bytes.NewReader(write(t, KML, samples())))
	depth, inPlacemark := 0, false
	var children []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if el.Name.Local == "Placemark" {
				inPlacemark, children = true, nil
			} else if inPlacemark && depth == 4 { // kml > Document > Placemark > child
				children = append(children, el.Name.Local)
			}
		case xml.EndElement:
			depth--
			if el.Name.Local == "Placemark" {
				inPlacemark = false
				order := map[string]int{"name": 0, "description": 1, "TimeStamp": 2, "TimeSpan": 2, "ExtendedData": 3, "Point": 4}
				if !slices.IsSortedFunc(children, func(a, b string) int { return order[a] - order[b] }) || len(children) != 5 {
					t.Errorf("placemark children %v are not name, description, time, ExtendedData, Point", children)
				}
			}
		}
	}
}

func TestEmptyExports(t *testing.T) {
	var fc featureCollection
	if err := json.Unmarshal(write(t, GeoJSON, nil), &fc); err != nil || fc.Type != "FeatureCollection" || fc.Features == nil || len(fc.Features) != 0 {
		t.Errorf("empty GeoJSON: %+v %v (want an empty features array)", fc, err)
	}
	recs, err := csv.NewReader(bytes.NewReader(write(t, CSV, nil))).ReadAll()
	if err != nil || len(recs) != 1 {
		t.Errorf("empty CSV: %d records, %v; want the header only", len(recs), err)
	}
	var doc kmlDoc
	if err := xml.Unmarshal(write(t, KML, nil), &doc); err != nil || len(doc.Document.Placemarks) != 0 {
		t.Errorf("empty KML: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	boom := errors.New("store failed")
	for _, f := range []Format{GeoJSON, CSV, KML} {
		calls := 0
		err := Write(io.Discard, f, func() (*bluehelm.Incident, error) {
			calls++
			if calls == 2 {
				return nil, boom
			}
			return samples()[0], nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("%s: err %v, want the error from next", f, err)
		}
		if err := Write(io.Discard, f, from([]*bluehelm.Incident{nil})); err == nil {
			t.Errorf("%s: a nil incident must be an error", f)
		}
		bad := samples()[2]
		bad.Location.Lat = 91
		if err := Write(io.Discard, f, from([]*bluehelm.Incident{bad})); bluehelm.ErrorField(err) != "incident 14 location.lat" {
			t.Errorf("%s: invalid location: %v", f, err)
		}
	}
	if err := Write(io.Discard, "xlsx", from(nil)); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Errorf("unknown format: %v", err)
	}
}

// firstWrite records how many incidents had been pulled when output first
// reached the underlying writer.
type firstWrite struct {
	pulled *int
	at     int
	n      int64
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.n == 0 {
		w.at = *w.pulled
	}
	w.n += int64(len(p))
	return len(p), nil
}

func TestWriteStreams(t *testing.T) {
	const total = 1000
	for _, f := range []Format{GeoJSON, CSV, KML} {
		pulled := 0
		inc := samples()[0]
		w := &firstWrite{pulled: &pulled}
		err := Write(w, f, func() (*bluehelm.Incident, error) {
			if pulled == total {
				return nil, io.EOF
			}
			pulled++
			return inc, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if w.at == 0 || w.at > 100 {
			t.Errorf("%s: first output after %d of %d incidents; want output to flow while reading", f, w.at, total)
		}
	}
}
