package ogcapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/ogcapi"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/paulmach/orb"
)

// The viewers of the tests. Both are cleared CONFIDENTIAL; they differ by
// component, which is what need-to-know turns on.
var (
	system   = bluehelm.SystemPrincipal("test")
	military = bluehelm.Principal{UserID: 1, Username: "mil", Role: bluehelm.RoleAnalyst, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	police   = bluehelm.Principal{UserID: 2, Username: "pol", Role: bluehelm.RoleAnalyst, Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	viewers  = map[string]bluehelm.Principal{"mil": military, "pol": police}
)

// now is the fixed clock of the handler: responses carry it as timeStamp.
var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const base = "http://bluehelm.test/ogc"

// env is a handler over a real SQLite store and a real live picture, mounted the
// way the http package mounts it (StripPrefix "/ogc", both "/ogc" and "/ogc/").
type env struct {
	t       *testing.T
	db      *sqlite.DB
	picture *live.Picture
	mux     *http.ServeMux
}

// viewerHeader names the test viewer of a request; the http package would
// authenticate a token instead.
const viewerHeader = "X-Test-Viewer"

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, picture: live.NewPicture(), mux: http.NewServeMux()}
	h := ogcapi.New(ogcapi.Config{
		Store:   db,
		Picture: e.picture,
		Principal: func(r *http.Request) (bluehelm.Principal, bool) {
			p, ok := viewers[r.Header.Get(viewerHeader)]
			return p, ok
		},
		BaseURL: func(r *http.Request) string { return "http://" + r.Host + "/ogc" },
		Now:     func() time.Time { return now },
	})
	mount(e.mux, h)
	return e
}

func mount(mux *http.ServeMux, h http.Handler) {
	ogc := http.StripPrefix("/ogc", h)
	mux.Handle("/ogc/", ogc)
	mux.Handle("/ogc", ogc)
}

// response is a recorded response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get requests url (absolute, under base, or a path below it) as viewer ("" for
// an unauthenticated request).
func (e *env) get(viewer, url string) response {
	e.t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = base + url
	}
	r := httptest.NewRequest(http.MethodGet, url, nil)
	if viewer != "" {
		r.Header.Set(viewerHeader, viewer)
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// getJSON requests url, wants 200 with the given media type and decodes the body.
func (e *env) getJSON(viewer, url, mediaType string, v any) {
	e.t.Helper()
	res := e.get(viewer, url)
	if res.status != http.StatusOK {
		e.t.Fatalf("GET %s: status %d, want 200\n%s", url, res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != mediaType {
		e.t.Fatalf("GET %s: Content-Type %q, want %q", url, ct, mediaType)
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		e.t.Fatalf("GET %s: %v\n%s", url, err, res.body)
	}
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

// wantProblem asserts a problem+json response with status and returns it.
func (e *env) wantProblem(viewer, url string, status int) problem {
	e.t.Helper()
	res := e.get(viewer, url)
	if res.status != status {
		e.t.Fatalf("GET %s: status %d, want %d\n%s", url, res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Fatalf("GET %s: Content-Type %q, want application/problem+json", url, ct)
	}
	var p problem
	if err := json.Unmarshal(res.body, &p); err != nil {
		e.t.Fatalf("GET %s: %v\n%s", url, err, res.body)
	}
	if p.Status != status || p.Title == "" || p.Code == "" || p.Detail == "" || !strings.HasPrefix(p.Type, "urn:bluehelm:problem:") {
		e.t.Fatalf("GET %s: malformed problem %+v", url, p)
	}
	return p
}

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type"`
	Title string `json:"title"`
}

// find returns the link with rel, failing when there is none or more than one.
func findLink(t *testing.T, links []link, rel string) link {
	t.Helper()
	var found []link
	for _, l := range links {
		if l.Rel == rel {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d links with rel %q in %+v, want 1", len(found), rel, links)
	}
	return found[0]
}

func hasLink(links []link, rel string) bool {
	for _, l := range links {
		if l.Rel == rel {
			return true
		}
	}
	return false
}

type featureCollection struct {
	Type           string    `json:"type"`
	Features       []feature `json:"features"`
	Links          []link    `json:"links"`
	TimeStamp      string    `json:"timeStamp"`
	NumberMatched  *int      `json:"numberMatched"`
	NumberReturned *int      `json:"numberReturned"`
}

type feature struct {
	Type       string          `json:"type"`
	ID         any             `json:"id"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
	Links      []link          `json:"links"`
}

// items fetches one page of a collection's items.
func (e *env) items(viewer, url string) featureCollection {
	e.t.Helper()
	var fc featureCollection
	e.getJSON(viewer, url, "application/geo+json", &fc)
	if fc.Type != "FeatureCollection" || fc.NumberReturned == nil || *fc.NumberReturned != len(fc.Features) {
		e.t.Fatalf("GET %s: malformed feature collection (type %q, numberReturned %v, %d features)",
			url, fc.Type, fc.NumberReturned, len(fc.Features))
	}
	if fc.TimeStamp != now.Format(time.RFC3339) {
		e.t.Fatalf("GET %s: timeStamp %q, want %q", url, fc.TimeStamp, now.Format(time.RFC3339))
	}
	return fc
}

// all follows next links from url and returns every feature id in order.
func (e *env) all(viewer, url string) (ids []string, pages int) {
	e.t.Helper()
	for url != "" {
		fc := e.items(viewer, url)
		pages++
		for _, f := range fc.Features {
			ids = append(ids, idString(f.ID))
		}
		url = ""
		for _, l := range fc.Links {
			if l.Rel == "next" {
				url = l.Href
			}
		}
		if pages > 10000 {
			e.t.Fatal("paging does not end")
		}
	}
	return ids, pages
}

func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

var ctx = context.Background()

// incident returns a valid incident at lon, lat, occurring at t.
func incident(title string, lon, lat float64, t time.Time, m bluehelm.Marking) *bluehelm.Incident {
	return &bluehelm.Incident{
		Title: title, Category: bluehelm.CatArmedClash, Subcategory: "exchange_of_fire", Status: bluehelm.StatusApproved,
		OccurredStart: t, ReportedAt: t.Add(time.Hour), UpdatedAt: t.Add(time.Hour),
		Location: bluehelm.Point{Lon: lon, Lat: lat}, GeoPrecision: bluehelm.GeoExact,
		Country: "South Sudan", Admin1: "Central Equatoria", Admin2: "Juba", PlaceName: "Juba",
		Actors:     []bluehelm.Actor{{Name: "SSPDF", Type: "state_forces", Side: "a"}, {Name: "NAS", Type: "rebel_group", Side: "b"}},
		Casualties: []bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 1, Best: 2, High: 3}, {Group: "un_military", Kind: "killed", Low: 1, Best: 1, High: 1}, {Group: "civilians", Kind: "injured", Low: 4, Best: 5, High: 6}},
		Sources:    []bluehelm.Source{{Name: "UNMISS patrol", Reliability: "B", Credibility: 2}},
		Marking:    m, ReportedBy: "reporter1",
	}
}

func (e *env) createIncident(inc *bluehelm.Incident) int64 {
	e.t.Helper()
	if err := e.db.CreateIncident(ctx, inc, bluehelm.NewAudit(system, "incident.create", "incident", nil)); err != nil {
		e.t.Fatal(err)
	}
	return inc.ID
}

func (e *env) createArea(name string, kind bluehelm.AreaKind, g orb.Geometry, m bluehelm.Marking) int64 {
	e.t.Helper()
	a := &bluehelm.Area{Name: name, Kind: kind, Geometry: bluehelm.Geometry{Geometry: g}, Marking: m, CreatedBy: "admin",
		CreatedAt: now.Add(-24 * time.Hour), UpdatedAt: now.Add(-time.Hour)}
	if err := a.Validate(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.CreateArea(ctx, a, bluehelm.NewAudit(system, "area.create", "area", nil)); err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

// box returns a closed square polygon ring around lon, lat.
func box(lon, lat, d float64) orb.Polygon {
	return orb.Polygon{{{lon - d, lat - d}, {lon + d, lat - d}, {lon + d, lat + d}, {lon - d, lat + d}, {lon - d, lat - d}}}
}

func (e *env) addTrack(uid, callsign string, lon, lat float64, t time.Time, m bluehelm.Marking) {
	tr := bluehelm.Track{UID: uid, Callsign: callsign, Kind: bluehelm.KindVehicle, CoTType: "a-f-G-U-C", Unit: "BANBAT-1",
		Nationality: "BGD", Marking: m, UpdatedAt: t}
	e.picture.Apply(tr, bluehelm.Position{Time: t, Lon: lon, Lat: lat, Speed: 12, Course: 90, HAE: 500, Source: "test"})
}

var (
	unclassified = bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	policeConf   = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police}
	policeToMil  = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police, Releasability: []bluehelm.Component{bluehelm.Military}}
)

func httptestRequest(method, url string) *http.Request {
	r := httptest.NewRequest(method, url, nil)
	r.Header.Set(viewerHeader, "mil")
	return r
}

func record(e *env, r *http.Request) response {
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}
