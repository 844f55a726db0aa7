package ogcapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ogcapi"
	"github.com/paulmach/orb"
)

func TestLandingPage(t *testing.T) {
	e := newEnv(t)
	// GDAL opens the bare mount ("/ogc"); browsers and QGIS use "/ogc/".
	for _, path := range []string{"http://bluehelm.test/ogc", "/", "/?f=json"} {
		t.Run(path, func(t *testing.T) {
			var doc struct {
				Title string `json:"title"`
				Links []link `json:"links"`
			}
			e.getJSON("mil", path, "application/json", &doc)
			if doc.Title == "" {
				t.Error("no title")
			}
			for rel, want := range map[string]struct{ href, typ string }{
				"self":         {base + "/", "application/json"},
				"service-desc": {base + "/api", "application/vnd.oai.openapi+json;version=3.0"},
				"conformance":  {base + "/conformance", "application/json"},
				"data":         {base + "/collections", "application/json"},
				"http://www.opengis.net/def/rel/ogc/1.0/conformance": {base + "/conformance", "application/json"},
				"http://www.opengis.net/def/rel/ogc/1.0/data":        {base + "/collections", "application/json"},
			} {
				l := findLink(t, doc.Links, rel)
				if l.Href != want.href || l.Type != want.typ {
					t.Errorf("rel %s: %+v, want href %s type %s", rel, l, want.href, want.typ)
				}
			}
		})
	}
}

// TestDefaultBaseURL: without Config.BaseURL, links use the connection's scheme,
// the Host header and the /ogc mount.
func TestDefaultBaseURL(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mount(mux, ogcapi.New(ogcapi.Config{Store: e.db, Principal: func(*http.Request) (bluehelm.Principal, bool) { return military, true }}))
	for url, want := range map[string]string{
		"http://hq.example.org:8080/ogc": "http://hq.example.org:8080/ogc/collections",
		"https://hq.example.org/ogc/":    "https://hq.example.org/ogc/collections",
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, url, nil))
		var doc struct{ Links []link }
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", url, err, w.Body)
		}
		if got := findLink(t, doc.Links, "data").Href; got != want {
			t.Errorf("%s: data link %s, want %s", url, got, want)
		}
	}
	// Without a picture there is no tracks collection rather than an empty one.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://x/ogc/collections/tracks", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("tracks without a picture: %d", w.Code)
	}
}

func TestConformance(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		ConformsTo []string `json:"conformsTo"`
	}
	e.getJSON("mil", "/conformance", "application/json", &doc)
	want := []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	}
	slices.Sort(doc.ConformsTo)
	if !slices.Equal(doc.ConformsTo, want) {
		t.Errorf("conformsTo %v, want %v (no html: it is not served)", doc.ConformsTo, want)
	}
}

// TestOpenAPI checks the service description documents every parameter the
// handler accepts: a parameter missing there is refused with 400 by the server,
// so the document and the handler must agree.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	e.getJSON("mil", "/api", "application/vnd.oai.openapi+json;version=3.0", &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != base {
		t.Errorf("servers %+v, want %s", doc.Servers, base)
	}
	params := func(path string) []string {
		op, ok := doc.Paths[path]["get"]
		if !ok {
			t.Fatalf("no GET %s in the API document", path)
		}
		if _, ok := op.Responses["200"]; !ok {
			t.Errorf("GET %s: no 200 response", path)
		}
		var names []string
		for _, p := range op.Parameters {
			name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
			c, found := doc.Components.Parameters[name]
			if !ok || !found {
				t.Fatalf("GET %s: dangling parameter %q", path, p.Ref)
			}
			names = append(names, c.Name)
		}
		slices.Sort(names)
		return names
	}
	for path, want := range map[string][]string{
		"/":                                 {"f"},
		"/api":                              {"f"},
		"/conformance":                      {"f"},
		"/collections":                      {"f"},
		"/collections/{collectionId}":       {"collectionId", "f"},
		"/collections/{collectionId}/items": {"bbox", "bbox-crs", "collectionId", "cursor", "datetime", "f", "limit"},
		"/collections/{collectionId}/items/{featureId}": {"collectionId", "f", "featureId"},
	} {
		if got := params(path); !slices.Equal(got, want) {
			t.Errorf("GET %s parameters %v, want %v", path, got, want)
		}
	}
	// Every $ref must resolve, or tools that validate the document refuse it.
	res := e.get("mil", "/api")
	var raw any
	json.Unmarshal(res.body, &raw)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				var cur any = raw
				for _, part := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
					m, _ := cur.(map[string]any)
					cur = m[part]
				}
				if cur == nil {
					t.Errorf("dangling $ref %s", r)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(raw)
}

type collectionDoc struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	ItemType string   `json:"itemType"`
	CRS      []string `json:"crs"`
	Extent   *struct {
		Spatial *struct {
			BBox [][]float64 `json:"bbox"`
			CRS  string      `json:"crs"`
		} `json:"spatial"`
		Temporal *struct {
			Interval [][]*string `json:"interval"`
		} `json:"temporal"`
	} `json:"extent"`
	Links []link `json:"links"`
}

func TestCollections(t *testing.T) {
	e := newEnv(t)
	e.createArea("Sector West", bluehelm.AreaSector, box(31.0, 4.0, 0.5), unclassified)
	e.createArea("Camp", bluehelm.AreaCamp, box(32.0, 5.0, 0.1), unclassified)
	// A police area the military viewer may not see must not widen its extent.
	e.createArea("Police post", bluehelm.AreaRestricted, box(40.0, 10.0, 1), policeConf)
	t0 := time.Date(2025, 2, 28, 10, 0, 0, 0, time.UTC)
	e.addTrack("t1", "ALPHA", 31.2, 4.1, t0, unclassified)
	e.addTrack("t2", "BRAVO", 31.6, 4.9, t0.Add(time.Hour), unclassified)
	e.addTrack("p1", "POLICE", 45, 12, t0.Add(5*time.Hour), policeConf)

	var doc struct {
		Links       []link          `json:"links"`
		Collections []collectionDoc `json:"collections"`
	}
	e.getJSON("mil", "/collections", "application/json", &doc)
	if l := findLink(t, doc.Links, "self"); l.Href != base+"/collections" {
		t.Errorf("self %s", l.Href)
	}
	var ids []string
	for _, c := range doc.Collections {
		ids = append(ids, c.ID)
		if c.ItemType != "feature" || c.Title == "" || !slices.Equal(c.CRS, []string{"http://www.opengis.net/def/crs/OGC/1.3/CRS84"}) {
			t.Errorf("collection %s: %+v", c.ID, c)
		}
		if l := findLink(t, c.Links, "self"); l.Href != base+"/collections/"+c.ID || l.Type != "application/json" {
			t.Errorf("collection %s self %+v", c.ID, l)
		}
		if l := findLink(t, c.Links, "items"); l.Href != base+"/collections/"+c.ID+"/items" || l.Type != "application/geo+json" {
			t.Errorf("collection %s items %+v", c.ID, l)
		}
		var one collectionDoc
		e.getJSON("mil", "/collections/"+c.ID, "application/json", &one)
		if one.ID != c.ID || len(one.Links) != len(c.Links) {
			t.Errorf("/collections/%s differs from its entry in /collections: %+v", c.ID, one)
		}
	}
	if !slices.Equal(ids, []string{"incidents", "areas", "tracks"}) {
		t.Errorf("collections %v", ids)
	}

	var areas, tracks collectionDoc
	e.getJSON("mil", "/collections/areas", "application/json", &areas)
	if areas.Extent == nil || areas.Extent.Spatial == nil || !slices.Equal(areas.Extent.Spatial.BBox[0], []float64{30.5, 3.5, 32.1, 5.1}) {
		t.Errorf("areas extent %+v, want the visible areas' [30.5 3.5 32.1 5.1]", areas.Extent)
	}
	if areas.Extent.Temporal != nil {
		t.Errorf("areas have no time of validity, yet a temporal extent %+v", areas.Extent.Temporal)
	}
	e.getJSON("mil", "/collections/tracks", "application/json", &tracks)
	if tracks.Extent == nil || !slices.Equal(tracks.Extent.Spatial.BBox[0], []float64{31.2, 4.1, 31.6, 4.9}) {
		t.Errorf("tracks extent %+v", tracks.Extent)
	}
	if iv := tracks.Extent.Temporal.Interval[0]; *iv[0] != "2025-02-28T10:00:00Z" || *iv[1] != "2025-02-28T11:00:00Z" {
		t.Errorf("tracks temporal extent %v", iv)
	}

	p := e.wantProblem("mil", "/collections/units", http.StatusNotFound)
	if p.Code != bluehelm.ENOTFOUND {
		t.Errorf("unknown collection: code %q", p.Code)
	}
}

func TestAuthenticationAndMethods(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/conformance", "/api", "/collections", "/collections/incidents/items", "/collections/incidents/items/1"} {
		p := e.wantProblem("", path, http.StatusUnauthorized)
		if p.Code != bluehelm.EUNAUTHENTICATED {
			t.Errorf("%s: code %q", path, p.Code)
		}
	}
	res := e.get("", "/collections")
	if res.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without a challenge")
	}
	r := httptestRequest(http.MethodPost, base+"/collections/incidents/items")
	w := record(e, r)
	if w.status != http.StatusMethodNotAllowed || w.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", w.status, w.header.Get("Allow"))
	}
	r = httptestRequest(http.MethodHead, base+"/collections")
	if w := record(e, r); w.status != http.StatusOK || len(w.body) != 0 {
		t.Errorf("HEAD: %d with %d bytes", w.status, len(w.body))
	}
	for _, path := range []string{"/nope", "/collections/incidents/nope", "/collections/incidents/items/1/x", "/conformance/x"} {
		e.wantProblem("mil", path, http.StatusNotFound)
	}
}

// TestItemsParameters is the table of query parameters, good and bad. Every bad
// one must be a 400 problem naming the parameter, never a silently unfiltered page.
func TestItemsParameters(t *testing.T) {
	e := newEnv(t)
	d := func(day, hour int) time.Time { return time.Date(2024, 5, day, hour, 0, 0, 0, time.UTC) }
	id := map[string]int64{
		"juba-1":   e.createIncident(incident("Juba 1", 31.58, 4.85, d(1, 0), unclassified)),
		"juba-2":   e.createIncident(incident("Juba 2", 31.60, 4.86, d(2, 12), unclassified)),
		"malakal":  e.createIncident(incident("Malakal", 31.65, 9.53, d(3, 6), unclassified)),
		"bor":      e.createIncident(incident("Bor", 31.56, 6.21, d(4, 0), unclassified)),
		"wau-edge": e.createIncident(incident("Wau", 28.0, 7.7, d(5, 0), unclassified)),
	}
	ids := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, strconv.FormatInt(id[n], 10))
		}
		slices.Sort(out)
		return out
	}
	good := []struct {
		query string
		want  []string
	}{
		{"", ids("juba-1", "juba-2", "malakal", "bor", "wau-edge")},
		{"bbox=31,4,32,5", ids("juba-1", "juba-2")},
		{"bbox=31.58,4.85,31.58,4.85", ids("juba-1")},        // a point box, edges included
		{"bbox=28,7.7,29,8", ids("wau-edge")},                // on the corner
		{"bbox=31,4,-100,32,5,100", ids("juba-1", "juba-2")}, // heights ignored
		{"bbox=%2031%20,4,32,5", ids("juba-1", "juba-2")},    // spaces tolerated
		{"bbox=31,4,32,5&bbox-crs=" + url.QueryEscape("http://www.opengis.net/def/crs/OGC/1.3/CRS84"), ids("juba-1", "juba-2")},
		{"datetime=2024-05-02T12:00:00Z", ids("juba-2")},                                        // an instant
		{"datetime=2024-05-02T14:00:00%2B02:00", ids("juba-2")},                                 // the same instant elsewhere
		{"datetime=2024-05-02T12:00:00Z/2024-05-04T00:00:00Z", ids("juba-2", "malakal", "bor")}, // closed: both ends in
		{"datetime=../2024-05-02T12:00:00Z", ids("juba-1", "juba-2")},
		{"datetime=2024-05-04T00:00:00Z/..", ids("bor", "wau-edge")},
		{"datetime=/2024-05-01T00:00:00Z", ids("juba-1")},
		{"datetime=2024-05-04T00:00:00Z/", ids("bor", "wau-edge")},
		{"datetime=../..", ids("juba-1", "juba-2", "malakal", "bor", "wau-edge")},
		{"datetime=2024-05-02t12:00:00z", ids("juba-2")}, // RFC 3339 allows lower case
		{"datetime=2024-05-01T00:00:00.001Z/2024-05-03T06:00:00Z&bbox=31,4,32,10", ids("juba-2", "malakal")},
		{"limit=1000", ids("juba-1", "juba-2", "malakal", "bor", "wau-edge")},
		{"limit=5000", ids("juba-1", "juba-2", "malakal", "bor", "wau-edge")}, // above the maximum: served as the maximum
		{"f=json", ids("juba-1", "juba-2", "malakal", "bor", "wau-edge")},
	}
	for _, tc := range good {
		t.Run("ok/"+tc.query, func(t *testing.T) {
			got, _ := e.all("mil", "/collections/incidents/items?"+tc.query)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	bad := []struct{ query, field string }{
		{"bbox=31,4,32", "bbox"},
		{"bbox=31,4,32,5,6", "bbox"},
		{"bbox=a,4,32,5", "bbox"},
		{"bbox=", "bbox"},
		{"bbox=NaN,4,32,5", "bbox"},
		{"bbox=31,4,32,Inf", "bbox"},
		{"bbox=31,-91,32,5", "bbox"},
		{"bbox=31,5,32,4", "bbox"},          // min lat above max lat
		{"bbox=170,4,-170,5", "bbox"},       // crossing the antimeridian
		{"bbox=31,4,100,32,5,-100", "bbox"}, // heights upside down
		{"bbox=31,4,32,5&bbox-crs=EPSG:4326", "bbox-crs"},
		{"bbox-crs=" + url.QueryEscape("http://www.opengis.net/def/crs/OGC/1.3/CRS84"), "bbox-crs"}, // without bbox
		{"datetime=yesterday", "datetime"},
		{"datetime=2024-05-02", "datetime"},                                // a date is not a date-time
		{"datetime=2024-05-02T12:00:00", "datetime"},                       // no offset
		{"datetime=2024-05-04T00:00:00Z/2024-05-02T00:00:00Z", "datetime"}, // ends before it starts
		{"datetime=2024-05-01T00:00:00Z/2024-05-02T00:00:00Z/2024-05-03T00:00:00Z", "datetime"},
		{"datetime=", "datetime"},
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=abc", "limit"},
		{"limit=1.5", "limit"},
		{"limit=", "limit"},
		{"limit=1&limit=2", "limit"},
		{"limit=99999999999999999999999", ""}, // too big is not junk: served as the maximum
		{"cursor=garbage", "cursor"},
		{"cursor=", "cursor"},
		{"f=html", "f"},
		{"filter=title='x'", "filter"}, // Part 3 (filtering) is not offered, so the parameter is refused
		{"crs=" + url.QueryEscape("http://www.opengis.net/def/crs/EPSG/0/4326"), "crs"},
		{"Limit=10", "Limit"},
	}
	for _, tc := range bad {
		t.Run("bad/"+tc.query, func(t *testing.T) {
			if tc.field == "" {
				e.items("mil", "/collections/incidents/items?"+tc.query)
				return
			}
			p := e.wantProblem("mil", "/collections/incidents/items?"+tc.query, http.StatusBadRequest)
			if p.Field != tc.field || p.Code != bluehelm.EINVALID {
				t.Errorf("field %q code %q, want field %q (detail %q)", p.Field, p.Code, tc.field, p.Detail)
			}
		})
	}
	// The other collections parse the same parameters the same way.
	for _, c := range []string{"areas", "tracks"} {
		for _, q := range []string{"bbox=1,2,3", "datetime=x", "limit=0", "nope=1"} {
			e.wantProblem("mil", "/collections/"+c+"/items?"+q, http.StatusBadRequest)
		}
	}
	e.wantProblem("mil", "/collections/areas/items?cursor=x", http.StatusBadRequest)
	// Other endpoints accept only f.
	for _, path := range []string{"/?limit=1", "/conformance?bbox=1,2,3,4", "/collections?x=1", "/collections/incidents?limit=5", "/api?f=yaml"} {
		e.wantProblem("mil", path, http.StatusBadRequest)
	}
}

// TestIncidentProperties checks the flattened properties GIS users see.
func TestIncidentProperties(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2024, 5, 1, 6, 30, 0, 0, time.UTC)
	inc := incident("Clash near Juba", 31.58, 4.85, at, policeToMil)
	inc.ExternalID = "ucdp:42"
	id := e.createIncident(inc)
	empty := &bluehelm.Incident{Title: "Bare", Category: bluehelm.CatOther, Status: bluehelm.StatusDraft,
		OccurredStart: at.Add(-time.Hour), Location: bluehelm.Point{Lon: 30, Lat: 5}, Marking: unclassified, ReportedBy: "x"}
	e.createIncident(empty)

	var f feature
	e.getJSON("mil", fmt.Sprintf("/collections/incidents/items/%d", id), "application/geo+json", &f)
	if f.Type != "Feature" || idString(f.ID) != strconv.FormatInt(id, 10) {
		t.Errorf("feature type %q id %v", f.Type, f.ID)
	}
	var geom struct {
		Type        string    `json:"type"`
		Coordinates []float64 `json:"coordinates"`
	}
	json.Unmarshal(f.Geometry, &geom)
	if geom.Type != "Point" || !slices.Equal(geom.Coordinates, []float64{31.58, 4.85}) {
		t.Errorf("geometry %s", f.Geometry)
	}
	want := map[string]any{
		"id": float64(id), "title": "Clash near Juba", "category": "armed_clash", "category_label": "Armed clash",
		"subcategory": "exchange_of_fire", "subcategory_label": "Exchange of fire", "status": "approved",
		"occurred_start": "2024-05-01T06:30:00Z", "place_name": "Juba", "admin1": "Central Equatoria", "admin2": "Juba",
		"killed_best": float64(3), "killed_low": float64(2), "killed_high": float64(4), "civilians_killed_best": float64(2),
		"un_killed_best": float64(1), "injured_best": float64(5), "abducted_best": float64(0),
		"classification": "CONFIDENTIAL", "component": "police", "releasable_to": "military",
		"actors": "SSPDF; NAS", "sources": "UNMISS patrol", "external_id": "ucdp:42", "occurred_end": nil,
	}
	for k, v := range want {
		if got, ok := f.Properties[k]; !ok || got != v {
			t.Errorf("property %s = %#v, want %#v", k, got, v)
		}
	}
	for k, v := range f.Properties {
		switch v.(type) {
		case map[string]any, []any:
			t.Errorf("property %s is nested (%T): GIS columns must be flat", k, v)
		}
	}
	self := findLink(t, f.Links, "self")
	if self.Href != fmt.Sprintf("%s/collections/incidents/items/%d", base, id) || self.Type != "application/geo+json" {
		t.Errorf("self %+v", self)
	}
	if findLink(t, f.Links, "collection").Href != base+"/collections/incidents" {
		t.Error("collection link")
	}
	// Every feature carries every property, so a tool that reads the columns off
	// the first page sees them all.
	fc := e.items("mil", "/collections/incidents/items")
	if len(fc.Features) != 2 || len(fc.Features[0].Properties) != len(fc.Features[1].Properties) {
		t.Fatalf("features with different property sets: %d vs %d", len(fc.Features[0].Properties), len(fc.Features[1].Properties))
	}
	for _, ft := range fc.Features {
		if ft.Properties["title"] == "Bare" && (ft.Properties["place_name"] != nil || ft.Properties["subcategory"] != nil) {
			t.Errorf("unknown values must be null: %v", ft.Properties)
		}
	}
	if fc.NumberMatched != nil {
		t.Errorf("numberMatched %d for incidents: the store does not count, so it must be absent", *fc.NumberMatched)
	}
	for _, bad := range []string{"0", "-1", "abc", "99999999999999999999", strconv.FormatInt(id+100, 10)} {
		e.wantProblem("mil", "/collections/incidents/items/"+bad, http.StatusNotFound)
	}
}

// TestPagingIncidents walks every page and wants each visible incident exactly
// once, including incidents that share an occurred_start (the cursor must break
// ties) and with filters that the next link must carry.
func TestPagingIncidents(t *testing.T) {
	e := newEnv(t)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := map[string]bool{}
	wantFiltered := map[string]bool{}
	for i := range 53 {
		// Groups of three share a time.
		at := start.Add(time.Duration(i/3) * time.Hour)
		lon := 30 + float64(i%10)*0.1
		m, hidden := unclassified, i%7 == 0
		if hidden {
			m = policeConf // invisible to the military viewer
		}
		id := strconv.FormatInt(e.createIncident(incident(fmt.Sprintf("inc %d", i), lon, 5, at, m)), 10)
		if hidden {
			continue
		}
		want[id] = true
		if lon <= 30.45 && at.Before(start.Add(12*time.Hour)) {
			wantFiltered[id] = true
		}
	}
	for _, tc := range []struct {
		query string
		want  map[string]bool
	}{
		{"limit=7", want},
		{"limit=1", want},
		{"limit=1000", want},
		{"limit=4&bbox=29,4,30.45,6&datetime=../2024-01-01T11:59:59Z", wantFiltered},
	} {
		t.Run(tc.query, func(t *testing.T) {
			ids, pages := e.all("mil", "/collections/incidents/items?"+tc.query)
			seen := map[string]int{}
			for _, id := range ids {
				seen[id]++
				if !tc.want[id] {
					t.Errorf("incident %s served but not expected", id)
				}
			}
			for id := range tc.want {
				if seen[id] != 1 {
					t.Errorf("incident %s served %d times, want once", id, seen[id])
				}
			}
			if limit, _ := strconv.Atoi(strings.TrimPrefix(strings.Split(tc.query, "&")[0], "limit=")); pages < len(tc.want)/limit {
				t.Errorf("%d pages for %d incidents at limit %d", pages, len(tc.want), limit)
			}
		})
	}
	// The next link keeps the filters and the effective limit.
	fc := e.items("mil", "/collections/incidents/items?limit=5000&bbox=29,4,30.45,6")
	if hasLink(fc.Links, "next") {
		t.Error("a next link after the last page")
	}
	fc = e.items("mil", "/collections/incidents/items?limit=2&bbox=29,4,30.45,6&datetime=../2024-01-01T11:59:59Z")
	next, err := url.Parse(findLink(t, fc.Links, "next").Href)
	if err != nil {
		t.Fatal(err)
	}
	q := next.Query()
	if q.Get("limit") != "2" || q.Get("bbox") != "29,4,30.45,6" || q.Get("datetime") != "../2024-01-01T11:59:59Z" || q.Get("cursor") == "" {
		t.Errorf("next link %s lost a filter", next)
	}
	if self := findLink(t, fc.Links, "self"); !strings.HasPrefix(self.Href, base+"/collections/incidents/items?") {
		t.Errorf("self %s", self.Href)
	}
}

// TestAccess: a CONFIDENTIAL police incident (area, track) is invisible to a
// military viewer without release — absent from items and 404 by id, the same
// answer as for an id that does not exist — and visible once released.
func TestAccess(t *testing.T) {
	e := newEnv(t)
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	open := e.createIncident(incident("open", 31.5, 4.8, at, unclassified))
	secret := e.createIncident(incident("police only", 31.5, 4.8, at.Add(time.Hour), policeConf))
	released := e.createIncident(incident("released", 31.5, 4.8, at.Add(2*time.Hour), policeToMil))
	stricter := e.createIncident(incident("strictly", 31.5, 4.8, at.Add(3*time.Hour),
		bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}))
	areaOpen := e.createArea("open", bluehelm.AreaSector, box(31, 4, 1), unclassified)
	areaSecret := e.createArea("police", bluehelm.AreaRestricted, box(31, 4, 1), policeConf)
	e.addTrack("open-1", "OPEN", 31.5, 4.8, at, unclassified)
	e.addTrack("police-1", "POL", 31.5, 4.8, at, policeConf)

	s := func(id int64) string { return strconv.FormatInt(id, 10) }
	for _, tc := range []struct {
		viewer, coll string
		visible      []string
		hidden       []string
	}{
		{"mil", "incidents", []string{s(open), s(released)}, []string{s(secret), s(stricter)}},
		{"pol", "incidents", []string{s(open), s(secret), s(released)}, []string{s(stricter)}},
		{"mil", "areas", []string{s(areaOpen)}, []string{s(areaSecret)}},
		{"pol", "areas", []string{s(areaOpen), s(areaSecret)}, nil},
		{"mil", "tracks", []string{"open-1"}, []string{"police-1"}},
		{"pol", "tracks", []string{"open-1", "police-1"}, nil},
	} {
		t.Run(tc.viewer+"/"+tc.coll, func(t *testing.T) {
			for _, q := range []string{"", "?bbox=30,3,33,6", "?limit=1"} {
				got, _ := e.all(tc.viewer, "/collections/"+tc.coll+"/items"+q)
				slices.Sort(got)
				want := slices.Clone(tc.visible)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("items%s: %v, want %v", q, got, want)
				}
			}
			for _, id := range tc.visible {
				var f feature
				e.getJSON(tc.viewer, "/collections/"+tc.coll+"/items/"+url.PathEscape(id), "application/geo+json", &f)
			}
			missing := e.wantProblem(tc.viewer, "/collections/"+tc.coll+"/items/999999", http.StatusNotFound)
			for _, id := range tc.hidden {
				p := e.wantProblem(tc.viewer, "/collections/"+tc.coll+"/items/"+url.PathEscape(id), http.StatusNotFound)
				// Same words as for a feature that does not exist, bar the id.
				if strings.ReplaceAll(p.Detail, id, "999999") != missing.Detail || p.Code != missing.Code {
					t.Errorf("hidden %s answered %+v, a missing one %+v", id, p, missing)
				}
			}
		})
	}
	var coll collectionDoc
	e.getJSON("pol", "/collections/areas", "application/json", &coll)
	if coll.Extent == nil {
		t.Fatal("no extent")
	}
}

func TestAreas(t *testing.T) {
	e := newEnv(t)
	// An L-shaped sector whose bounding box covers (32.5, 4.5) while the sector
	// does not: a box there must not select it.
	l := orb.Polygon{{{31, 4}, {33, 4}, {33, 4.2}, {31.2, 4.2}, {31.2, 5}, {31, 5}, {31, 4}}}
	lID := e.createArea("L sector", bluehelm.AreaSector, l, unclassified)
	route := orb.LineString{{30, 3}, {30.5, 3.5}, {31, 3}}
	rID := e.createArea("MSR", bluehelm.AreaRoute, route, unclassified)
	big := e.createArea("AOR", bluehelm.AreaAOR, box(35, 8, 2), unclassified)
	var ids []int64
	for i := range 5 {
		ids = append(ids, e.createArea(fmt.Sprintf("zone %d", i), bluehelm.AreaCampZone, box(40+float64(i), 10, 0.1), unclassified))
	}
	s := func(ids ...int64) []string {
		var out []string
		for _, id := range ids {
			out = append(out, strconv.FormatInt(id, 10))
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"bbox=32.4,4.4,32.6,4.6", nil},                                                 // in the L's notch
		{"bbox=32.4,4.1,32.6,4.6", s(lID)},                                              // crosses its lower arm
		{"bbox=34.9,7.9,35.1,8.1", s(big)},                                              // wholly inside the AOR, no edge nearby
		{"bbox=30.45,3.2,30.55,3.35", nil},                                              // under the route's bend
		{"bbox=30.2,3.2,30.3,3.3", s(rID)},                                              // on the route
		{"bbox=41.1,10,41.5,10.5", s(ids[1])},                                           // touches zone 1's edge
		{"datetime=2000-01-01T00:00:00Z", s(append([]int64{lID, rID, big}, ids...)...)}, // areas ignore datetime
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, _ := e.all("mil", "/collections/areas/items?"+tc.query)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	fc := e.items("mil", "/collections/areas/items?limit=3")
	if fc.NumberMatched == nil || *fc.NumberMatched != 8 || len(fc.Features) != 3 {
		t.Errorf("numberMatched %v, %d features", fc.NumberMatched, len(fc.Features))
	}
	all, pages := e.all("mil", "/collections/areas/items?limit=3")
	if len(all) != 8 || pages != 3 {
		t.Errorf("%d areas in %d pages", len(all), pages)
	}
	var f feature
	e.getJSON("mil", "/collections/areas/items/"+strconv.FormatInt(rID, 10), "application/geo+json", &f)
	if !strings.Contains(string(f.Geometry), `"LineString"`) || f.Properties["kind"] != "route" || f.Properties["name"] != "MSR" {
		t.Errorf("route feature %s %v", f.Geometry, f.Properties)
	}
}

func TestTracks(t *testing.T) {
	e := newEnv(t)
	t0 := time.Date(2025, 2, 28, 10, 0, 0, 0, time.UTC)
	for i := range 12 {
		e.addTrack(fmt.Sprintf("veh-%02d", i), fmt.Sprintf("V%d", i), 31+float64(i)*0.1, 4.5, t0.Add(time.Duration(i)*time.Minute), unclassified)
	}
	// A uid with a slash, as some TAK clients send, must survive the path.
	e.addTrack("ANDROID/abc", "SLASH", 31.05, 4.5, t0, unclassified)

	fc := e.items("mil", "/collections/tracks/items?limit=5")
	if fc.NumberMatched == nil || *fc.NumberMatched != 13 {
		t.Errorf("numberMatched %v, want 13", fc.NumberMatched)
	}
	all, pages := e.all("mil", "/collections/tracks/items?limit=5")
	if len(all) != 13 || pages != 3 {
		t.Errorf("%d tracks in %d pages: %v", len(all), pages, all)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"bbox=31,4,31.25,5", 4},                                  // veh-00..02 and the slash uid
		{"bbox=0,0,0,0", 0},                                       // a zero box is a box, not "everywhere"
		{"datetime=2025-02-28T10:05:00Z", 1},                      // position time
		{"datetime=2025-02-28T10:05:00Z/2025-02-28T10:07:00Z", 3}, // closed
		{"datetime=../2025-02-28T10:00:00Z", 2},
	} {
		got, _ := e.all("mil", "/collections/tracks/items?"+tc.query)
		if len(got) != tc.want {
			t.Errorf("%s: %v, want %d tracks", tc.query, got, tc.want)
		}
	}
	var f feature
	e.getJSON("mil", "/collections/tracks/items/ANDROID%2Fabc", "application/geo+json", &f)
	if f.ID != "ANDROID/abc" || f.Properties["callsign"] != "SLASH" || f.Properties["time"] != "2025-02-28T10:00:00Z" {
		t.Errorf("track %v %v", f.ID, f.Properties)
	}
	if self := findLink(t, f.Links, "self"); self.Href != base+"/collections/tracks/items/ANDROID%2Fabc" {
		t.Errorf("self %s", self.Href)
	}
	// Whole numbers keep a decimal point so a GIS tool types the column as real.
	res := e.get("mil", "/collections/tracks/items/veh-00")
	if !strings.Contains(string(res.body), `"speed":12.0`) || !strings.Contains(string(res.body), `"hae":500.0`) {
		t.Errorf("reals encoded as integers: %s", res.body)
	}
	e.wantProblem("mil", "/collections/tracks/items/nope", http.StatusNotFound)
}
