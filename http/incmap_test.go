package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// seedDashboard stores a small, varied set of incidents and areas through the
// pipeline: what the map and dashboard tests count.
func (e *testEnv) seedDashboard(t *testing.T) map[string]*bluehelm.Incident {
	t.Helper()
	sys := bluehelm.SystemPrincipal("seed")
	may := time.Date(2026, 5, 10, 8, 0, 0, 0, time.UTC)
	june := time.Date(2026, 6, 2, 8, 0, 0, 0, time.UTC)
	mk := func(title string, cat bluehelm.Category, at time.Time, lon, lat float64, m bluehelm.Marking, cas ...bluehelm.Casualty) *bluehelm.Incident {
		inc := &bluehelm.Incident{Title: title, Category: cat, OccurredStart: at, Location: bluehelm.Point{Lon: lon, Lat: lat},
			Marking: m, Casualties: cas, Admin1: "Central Equatoria"}
		if lat > 6 {
			inc.Admin1 = "Jonglei"
		}
		if err := e.pipeline.CreateIncident(e.ctx, sys, inc); err != nil {
			t.Fatal(err)
		}
		return inc
	}
	open := bluehelm.Marking{Component: bluehelm.Military}
	secret := bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}
	out := map[string]*bluehelm.Incident{
		"clash": mk("Clash at Bor market", bluehelm.CatArmedClash, may, 31.56, 6.21, open,
			bluehelm.Casualty{Group: "civilians", Kind: "killed", Low: 2, Best: 3, High: 5},
			bluehelm.Casualty{Group: "armed_groups", Kind: "killed", Low: 1, Best: 1, High: 2},
			bluehelm.Casualty{Group: "civilians", Kind: "injured", Low: 4, Best: 6, High: 9}),
		"protest": mk("Protest in Juba", bluehelm.CatProtest, may.Add(24*time.Hour), 31.58, 4.85, open),
		"ied": mk("IED on the Juba road", bluehelm.CatExplosive, june, 31.60, 4.90, open,
			bluehelm.Casualty{Group: "un_military", Kind: "injured", Low: 2, Best: 2, High: 2}),
		"secret": mk("Confidential source report", bluehelm.CatArmedClash, june, 31.57, 4.86, secret,
			bluehelm.Casualty{Group: "civilians", Kind: "killed", Low: 10, Best: 12, High: 15}),
	}
	// Submitted, so that the statuses differ.
	if _, err := e.pipeline.TransitionIncident(e.ctx, sys, out["ied"].ID, 0, bluehelm.WfSubmit, ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range []map[string]any{
		squareArea("Juba sector", 31.5, 4.8, 0.2),
		squareArea("Bor sector", 31.5, 6.1, 0.2),
		func() map[string]any {
			m := squareArea("Safe house", 31.565, 4.855, 0.01)
			m["classification"] = "CONFIDENTIAL"
			return m
		}(),
		{"name": "MSR", "kind": "route", "geometry": map[string]any{"type": "LineString", "coordinates": [][]float64{{31.5, 4.8}, {31.7, 5.0}}}},
	} {
		e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: a}, http.StatusCreated, nil)
	}
	return out
}

type mapResult struct {
	Count      int
	Truncated  bool
	Categories []string
	Statuses   []string
	ID         []int64
	Lon, Lat   []float64
	Occurred   []int64
	Category   []int
	Status     []int
	Killed     []int
	Injured    []int
	Version    []int
	Title      []string
}

// rows checks that every column has count entries and that the indexes point
// into the dictionaries, and gives the rows back one by one.
func (m *mapResult) rows(t *testing.T) []mapRow {
	t.Helper()
	for name, n := range map[string]int{"id": len(m.ID), "lon": len(m.Lon), "lat": len(m.Lat), "occurred": len(m.Occurred),
		"category": len(m.Category), "status": len(m.Status), "killed": len(m.Killed), "injured": len(m.Injured),
		"version": len(m.Version), "title": len(m.Title)} {
		if n != m.Count {
			t.Fatalf("column %s has %d entries, count is %d", name, n, m.Count)
		}
	}
	out := make([]mapRow, m.Count)
	for i := range out {
		if m.Category[i] < 0 || m.Category[i] >= len(m.Categories) || m.Status[i] < 0 || m.Status[i] >= len(m.Statuses) {
			t.Fatalf("row %d: category %d of %q, status %d of %q", i, m.Category[i], m.Categories, m.Status[i], m.Statuses)
		}
		out[i] = mapRow{ID: m.ID[i], Lon: m.Lon[i], Lat: m.Lat[i], Occurred: time.UnixMilli(m.Occurred[i]).UTC(),
			Category: m.Categories[m.Category[i]], Status: m.Statuses[m.Status[i]], Killed: m.Killed[i], Injured: m.Injured[i],
			Version: m.Version[i], Title: m.Title[i]}
	}
	return out
}

type mapRow struct {
	ID               int64
	Lon, Lat         float64
	Occurred         time.Time
	Category, Status string
	Killed, Injured  int
	Version          int
	Title            string
}

func TestIncidentsMap(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	incs := e.seedDashboard(t)
	cases := []struct {
		name, as, query string
		want            []string // titles, newest first
	}{
		{"all, cleared", "ops1", "", []string{"Confidential source report", "IED on the Juba road", "Protest in Juba", "Clash at Bor market"}},
		{"unclassified viewer", "viewer", "", []string{"IED on the Juba road", "Protest in Juba", "Clash at Bor market"}},
		{"category", "ops1", "category=armed_clash", []string{"Confidential source report", "Clash at Bor market"}},
		{"status", "ops1", "status=submitted", []string{"IED on the Juba road"}},
		{"box", "viewer", "bbox=31.5,4.8,31.7,5", []string{"IED on the Juba road", "Protest in Juba"}},
		{"time", "ops1", "from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z", []string{"Protest in Juba", "Clash at Bor market"}},
		{"text", "ops1", "q=juba", []string{"IED on the Juba road", "Protest in Juba"}},
		{"nothing", "ops1", "q=nowhere", []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res mapResult
			r := e.ok(req{method: "GET", path: "/api/v1/incidents/map?" + c.query, as: c.as}, http.StatusOK, &res)
			if res.Truncated || !strings.Contains(string(r.body), `"id":[`) {
				t.Fatalf("%s", r.body)
			}
			titles := []string{}
			for _, row := range res.rows(t) {
				titles = append(titles, row.Title)
				var inc *bluehelm.Incident
				for _, x := range incs {
					if x.ID == row.ID {
						inc = x
					}
				}
				if inc == nil {
					t.Fatalf("row %+v: no such incident", row)
				}
				killed, injured := 0, 0
				for _, k := range inc.Casualties {
					if k.Kind == "killed" {
						killed += k.Best
					} else if k.Kind == "injured" {
						injured += k.Best
					}
				}
				want := mapRow{ID: inc.ID, Lon: inc.Location.Lon, Lat: inc.Location.Lat, Occurred: inc.OccurredStart.UTC(),
					Category: string(inc.Category), Status: row.Status, Killed: killed, Injured: injured, Version: row.Version, Title: inc.Title}
				if inc.ID == incs["ied"].ID {
					want.Status, want.Version = string(bluehelm.StatusSubmitted), 2
				} else {
					want.Status, want.Version = string(bluehelm.StatusDraft), 1
				}
				if row != want {
					t.Errorf("row %+v\nwant %+v", row, want)
				}
			}
			if fmt.Sprint(titles) != fmt.Sprint(c.want) {
				t.Fatalf("titles %q, want %q", titles, c.want)
			}
		})
	}
	t.Run("properties", func(t *testing.T) {
		r := e.ok(req{method: "GET", path: "/api/v1/incidents/map?category=armed_clash&bbox=31,6,32,7", as: "viewer"}, http.StatusOK, nil)
		clash := incs["clash"]
		want := fmt.Sprintf(`{"count":1,"truncated":false,"categories":["armed_clash"],"statuses":["draft"],"id":[%d],"lon":[31.56],"lat":[6.21],`+
			`"occurred":[%d],"category":[0],"status":[0],"killed":[4],"injured":[6],"version":[1],"title":["Clash at Bor market"]}`,
			clash.ID, clash.OccurredStart.UnixMilli())
		if got := strings.TrimSpace(string(r.body)); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	for _, c := range []struct{ query, field string }{
		{"category=nonsense", "category"}, {"bbox=1,2", "bbox"}, {"limit=10", "limit"}, {"cursor=abc", "cursor"},
	} {
		t.Run(c.query, func(t *testing.T) {
			e.problem(req{method: "GET", path: "/api/v1/incidents/map?" + c.query, as: "viewer"}, http.StatusBadRequest, c.field)
		})
	}
	e.problem(req{method: "GET", path: "/api/v1/incidents/map"}, http.StatusUnauthorized, "")
}

// TestEachIncidentCap checks the cap that bounds the map and the statistics: it
// stops at max visible incidents across pages and says so.
func TestEachIncidentCap(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	for i := range 5 {
		e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, fmt.Sprintf("open %d", i))
		e.seedIncident(bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}, fmt.Sprintf("secret %d", i))
	}
	viewer := e.users["viewer"].Principal()
	for _, c := range []struct {
		max       int
		viewer    bluehelm.Principal
		n         int
		truncated bool
	}{
		{3, viewer, 3, true}, {5, viewer, 5, false}, {6, viewer, 5, false},
		{9, bluehelm.SystemPrincipal("t"), 9, true}, {10, bluehelm.SystemPrincipal("t"), 10, false},
	} {
		n := 0
		trunc, err := e.srv.eachIncident(e.ctx, bluehelm.IncidentFilter{Viewer: c.viewer}, c.max, func(inc *bluehelm.IncidentSummary) {
			if !c.viewer.CanSee(inc.Marking) {
				t.Errorf("%q is not visible", inc.Title)
			}
			n++
		})
		if err != nil || n != c.n || trunc != c.truncated {
			t.Errorf("max %d: %d incidents, truncated %v, err %v; want %d, %v", c.max, n, trunc, err, c.n, c.truncated)
		}
	}
}

func TestIncidentStats(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	e.seedDashboard(t)
	cases := []struct {
		name, as, query string
		want            string
	}{
		{"unclassified viewer", "viewer", "", `{"total":3,` +
			`"by_category_month":[{"category":"armed_clash","month":"2026-05","count":1},{"category":"protest","month":"2026-05","count":1},{"category":"explosive","month":"2026-06","count":1}],` +
			`"by_area":[{"area_id":0,"name":"Juba sector","kind":"restricted","count":2},{"area_id":1,"name":"Bor sector","kind":"restricted","count":1}],` +
			`"by_region_month":[{"region":"Central Equatoria","month":"2026-05","count":1},{"region":"Jonglei","month":"2026-05","count":1},{"region":"Central Equatoria","month":"2026-06","count":1}],` +
			`"by_status":[{"status":"draft","count":2},{"status":"submitted","count":1}],` +
			`"casualties":[{"group":"civilians","kind":"killed","low":2,"best":3,"high":5},{"group":"civilians","kind":"injured","low":4,"best":6,"high":9},` +
			`{"group":"un_military","kind":"injured","low":2,"best":2,"high":2},{"group":"armed_groups","kind":"killed","low":1,"best":1,"high":2}],"truncated":false}`},
		{"cleared military officer", "ops1", "", `{"total":4,` +
			`"by_category_month":[{"category":"armed_clash","month":"2026-05","count":1},{"category":"protest","month":"2026-05","count":1},{"category":"armed_clash","month":"2026-06","count":1},{"category":"explosive","month":"2026-06","count":1}],` +
			`"by_area":[{"area_id":0,"name":"Juba sector","kind":"restricted","count":3},{"area_id":1,"name":"Bor sector","kind":"restricted","count":1},{"area_id":2,"name":"Safe house","kind":"restricted","count":1}],` +
			`"by_region_month":[{"region":"Central Equatoria","month":"2026-05","count":1},{"region":"Jonglei","month":"2026-05","count":1},{"region":"Central Equatoria","month":"2026-06","count":2}],` +
			`"by_status":[{"status":"draft","count":3},{"status":"submitted","count":1}],` +
			`"casualties":[{"group":"civilians","kind":"killed","low":12,"best":15,"high":20},{"group":"civilians","kind":"injured","low":4,"best":6,"high":9},` +
			`{"group":"un_military","kind":"injured","low":2,"best":2,"high":2},{"group":"armed_groups","kind":"killed","low":1,"best":1,"high":2}],"truncated":false}`},
		{"filtered", "viewer", "category=protest", `{"total":1,"by_category_month":[{"category":"protest","month":"2026-05","count":1}],` +
			`"by_area":[{"area_id":0,"name":"Juba sector","kind":"restricted","count":1},{"area_id":1,"name":"Bor sector","kind":"restricted","count":0}],` +
			`"by_region_month":[{"region":"Central Equatoria","month":"2026-05","count":1}],` +
			`"by_status":[{"status":"draft","count":1}],"casualties":[],"truncated":false}`},
		{"nothing", "viewer", "q=nowhere", `{"total":0,"by_category_month":[],` +
			`"by_area":[{"area_id":1,"name":"Bor sector","kind":"restricted","count":0},{"area_id":0,"name":"Juba sector","kind":"restricted","count":0}],` +
			`"by_region_month":[],"by_status":[],"casualties":[],"truncated":false}`},
	}
	// Area ids are assigned by the store: name them in the expectations.
	areas, err := e.db.Areas(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, a := range areas {
		ids[a.Name] = a.ID
	}
	fix := func(s string) string {
		for i, name := range []string{"Juba sector", "Bor sector", "Safe house"} {
			s = strings.ReplaceAll(s, fmt.Sprintf(`"area_id":%d,"name":%q`, i, name), fmt.Sprintf(`"area_id":%d,"name":%q`, ids[name], name))
		}
		return s
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.ok(req{method: "GET", path: "/api/v1/incidents/stats?" + c.query, as: c.as}, http.StatusOK, nil)
			if got, want := strings.TrimSpace(string(r.body)), fix(c.want); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
	t.Run("a confidential incident leaves no trace for the viewer", func(t *testing.T) {
		r := e.ok(req{method: "GET", path: "/api/v1/incidents/stats", as: "viewer"}, http.StatusOK, nil)
		for _, leak := range []string{"Safe house", `"best":15`, `"month":"2026-06","count":2`} {
			if strings.Contains(string(r.body), leak) {
				t.Errorf("stats show %q to an unclassified viewer: %s", leak, r.body)
			}
		}
	})
	e.problem(req{method: "GET", path: "/api/v1/incidents/stats?status=lost", as: "viewer"}, http.StatusBadRequest, "status")
	e.problem(req{method: "GET", path: "/api/v1/incidents/stats"}, http.StatusUnauthorized, "")
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "Clash at Bor market", `say "no"`, `back\slash`, "tab\there", "Kadugli – Abyei", "<script>&", "\u2028", "\x00\x1f", "Ça va"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("appendJSONString(%q) = %s, want x%s", s, got, want)
		}
	}
}
