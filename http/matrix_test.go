package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// TestAccessMatrix checks that every read path shows exactly what
// Principal.CanSee allows: GET one incident, search, export and the live stream
// (snapshot and live events), for every role × component × clearance, over
// incidents of every classification × component plus releasability cases.
func TestAccessMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the full matrix opens ~100 accounts and streams")
	}
	e := newEnv(t)
	classes := []bluehelm.Classification{bluehelm.Unclassified, bluehelm.Confidential, bluehelm.StrictlyConfidential}
	var markings []bluehelm.Marking
	for _, cl := range classes {
		for _, co := range bluehelm.Components {
			markings = append(markings, bluehelm.Marking{Classification: cl, Component: co})
		}
	}
	markings = append(markings,
		bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police}},
		bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Civilian, Releasability: []bluehelm.Component{bluehelm.Police, bluehelm.Support}},
	)
	incidents := map[int64]bluehelm.Marking{}
	for i, m := range markings {
		inc := e.seedIncident(m, fmt.Sprintf("incident %d %s %s %v", i, m.Classification, m.Component, m.Releasability))
		incidents[inc.ID] = m
	}

	type viewer struct {
		name string
		p    bluehelm.Principal
	}
	var viewers []viewer
	for _, role := range bluehelm.Roles {
		for _, co := range bluehelm.Components {
			for _, cl := range classes {
				name := fmt.Sprintf("%s-%s-%d", role, co, cl)
				u := e.user(name, role, co, cl)
				viewers = append(viewers, viewer{name, u.Principal()})
			}
		}
	}
	expected := func(p bluehelm.Principal) []int64 {
		var ids []int64
		for id, m := range incidents {
			if p.CanSee(m) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	// The oracle itself, on two hand-checked cases: UNCLASSIFIED police sees the 4
	// unclassified incidents; CONFIDENTIAL police adds its own C incident and the
	// military one released to police.
	if n := len(expected(bluehelm.Principal{Component: bluehelm.Police, Clearance: bluehelm.Unclassified})); n != 4 {
		t.Fatalf("oracle: U police sees %d", n)
	}
	if n := len(expected(bluehelm.Principal{Component: bluehelm.Police, Clearance: bluehelm.Confidential})); n != 6 {
		t.Fatalf("oracle: C police sees %d", n)
	}

	streams := map[string]*wsClient{}
	for _, v := range viewers {
		t.Run(v.name, func(t *testing.T) {
			want := expected(v.p)

			for id, m := range incidents {
				r := e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/incidents/%d", id), as: v.name})
				if wantStatus := map[bool]int{true: 200, false: 404}[v.p.CanSee(m)]; r.StatusCode != wantStatus {
					t.Errorf("GET incident %d (%+v): %d, want %d", id, m, r.StatusCode, wantStatus)
				}
			}

			var page bluehelm.IncidentPage
			e.ok(req{method: "GET", path: "/api/v1/incidents?limit=1000", as: v.name}, http.StatusOK, &page)
			if got := incidentIDs(page.Incidents); !slices.Equal(got, want) {
				t.Errorf("search: %v, want %v", got, want)
			}

			r := e.do(req{method: "GET", path: "/api/v1/incidents/export?format=geojson", as: v.name})
			if !v.p.Can(bluehelm.ActExport) {
				if r.StatusCode != http.StatusForbidden {
					t.Errorf("export by %s: %d, want 403", v.p.Role, r.StatusCode)
				}
			} else {
				var fc struct {
					Features []struct{ ID int64 }
				}
				if r.StatusCode != http.StatusOK {
					t.Fatalf("export: %d %s", r.StatusCode, r.body)
				}
				r.json(t, &fc)
				var got []int64
				for _, f := range fc.Features {
					got = append(got, f.ID)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("export: %v, want %v", got, want)
				}
			}

			c := e.dialAs(v.name)
			c.send(map[string]any{"type": "subscribe", "layers": []string{"incidents"}})
			var got []int64
			for _, m := range c.snapshot()["incident"] {
				got = append(got, m.id())
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("stream snapshot: %v, want %v", got, want)
			}
			streams[v.name] = c
		})
	}

	// Live events: new incidents of every marking, then an UNCLASSIFIED sentinel
	// that everyone sees. The hub delivers in publish order, so what a viewer got
	// before the sentinel is all it will ever get of the batch.
	live := map[int64]bluehelm.Marking{}
	for i, m := range markings {
		inc := e.seedIncident(m, fmt.Sprintf("live %d", i))
		live[inc.ID] = m
	}
	sentinel := e.seedIncident(bluehelm.Marking{Component: bluehelm.Support}, "sentinel")
	for _, v := range viewers {
		t.Run("live/"+v.name, func(t *testing.T) {
			var want []int64
			for id, m := range live {
				if v.p.CanSee(m) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			var got []int64
			c := streams[v.name]
			for {
				m := c.next()
				if m.Type != "incident" {
					t.Fatalf("unexpected %s", m.Type)
				}
				if m.id() == sentinel.ID {
					break
				}
				got = append(got, m.id())
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("live: %v, want %v", got, want)
			}
			c.c.CloseNow()
		})
	}
}

func incidentIDs(incs []*bluehelm.Incident) []int64 {
	ids := make([]int64, 0, len(incs))
	for _, inc := range incs {
		ids = append(ids, inc.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestExport(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	// More than two store pages: the export must follow the cursor. Imported, as
	// a bulk load would be, to keep the test quick.
	var batch []*bluehelm.Incident
	for i := range 2500 {
		batch = append(batch, &bluehelm.Incident{Title: fmt.Sprintf("report %d", i), Category: bluehelm.CatProtest,
			OccurredStart: e.now.Add(-time.Duration(i+1) * time.Minute), Location: bluehelm.Point{Lon: 31.5, Lat: 4.8},
			Marking: bluehelm.Marking{Component: bluehelm.Military}, ExternalID: fmt.Sprintf("test:%d", i)})
	}
	if _, _, err := e.pipeline.ImportIncidents(e.ctx, bluehelm.SystemPrincipal("test"), "test", batch); err != nil {
		t.Fatal(err)
	}
	e.seedIncident(bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}, "secret")

	before := e.counts()
	r := e.ok(req{method: "GET", path: "/api/v1/incidents/export?format=geojson", as: "analyst"}, http.StatusOK, nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/geo+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename="bluehelm-incidents-\d{8}T\d{6}Z\.geojson"$`).MatchString(cd) {
		t.Errorf("Content-Disposition %q", cd)
	}
	var fc struct {
		Type     string
		Features []json.RawMessage
	}
	r.json(t, &fc)
	if fc.Type != "FeatureCollection" || len(fc.Features) != 2500 {
		t.Fatalf("%s with %d features (analyst may not see the secret one)", fc.Type, len(fc.Features))
	}
	after := e.counts()
	if after.audit != before.audit+1 {
		t.Fatalf("export audited %d entries", after.audit-before.audit)
	}
	log, _ := e.db.AuditLog(e.ctx, int64(before.audit), 1)
	if log[0].Action != "export" || log[0].Actor != "analyst" {
		t.Fatalf("audit %+v", log[0])
	}

	r = e.ok(req{method: "GET", path: "/api/v1/incidents/export?format=csv&q=report+12&category=protest", as: "ops1"}, http.StatusOK, nil)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8; header=present" {
		t.Errorf("csv Content-Type %q", ct)
	}
	r = e.ok(req{method: "GET", path: "/api/v1/incidents/export?format=kml&bbox=31,4,32,5", as: "ops1"}, http.StatusOK, nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/vnd.google-earth.kml+xml" {
		t.Errorf("kml Content-Type %q", ct)
	}

	before = e.counts()
	e.problem(req{method: "GET", path: "/api/v1/incidents/export?format=shapefile", as: "ops1"}, http.StatusBadRequest, "format")
	e.problem(req{method: "GET", path: "/api/v1/incidents/export?bbox=1,2", as: "ops1"}, http.StatusBadRequest, "bbox")
	e.problem(req{method: "GET", path: "/api/v1/incidents/export?cursor=x", as: "ops1"}, http.StatusBadRequest, "cursor")
	e.problem(req{method: "GET", path: "/api/v1/incidents/export", as: "reporter"}, http.StatusForbidden, "")
	e.sameCounts(before, "refused exports")
}
