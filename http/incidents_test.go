package http

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestIncidentLifecycle(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()

	var inc bluehelm.Incident
	r := e.ok(req{method: "POST", path: "/api/v1/incidents", as: "reporter", body: e.incidentBody(func(m map[string]any) {
		// An offset time comes back as the same instant in UTC.
		m["occurred_start"] = e.now.Add(-2 * time.Hour).In(time.FixedZone("EAT", 3*3600)).Format(time.RFC3339)
	})}, http.StatusCreated, &inc)
	if loc := r.Header.Get("Location"); loc != fmt.Sprintf("/api/v1/incidents/%d", inc.ID) {
		t.Errorf("Location %q", loc)
	}
	if r.Header.Get("ETag") != `"1"` || inc.Version != 1 || inc.Status != bluehelm.StatusDraft || inc.ReportedBy != "reporter" {
		t.Fatalf("created: etag %s, %+v", r.Header.Get("ETag"), inc)
	}
	if !strings.Contains(string(r.body), `"occurred_start":"`+e.now.Add(-2*time.Hour).Format(time.RFC3339)+`"`) {
		t.Errorf("times not in UTC: %s", r.body)
	}
	if inc.Component != bluehelm.Military {
		t.Errorf("component %q: want the reporter's", inc.Component)
	}
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)

	var got bluehelm.Incident
	r = e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &got)
	if r.Header.Get("ETag") != `"1"` || got.Title != inc.Title {
		t.Fatalf("get: %s %+v", r.Header.Get("ETag"), got)
	}
	e.ok(req{method: "GET", path: path, as: "viewer", header: map[string]string{"If-None-Match": `"1"`}}, http.StatusNotModified, nil)

	edit := e.incidentBody(func(m map[string]any) { m["title"] = "Exchange of fire north of Bor" })
	before := e.counts()
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit, header: map[string]string{"If-Match": `"7"`}}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit, header: map[string]string{"If-Match": `*`}}, http.StatusBadRequest, "If-Match")
	e.sameCounts(before, "refused edits")

	r = e.ok(req{method: "PUT", path: path, as: "reporter", body: edit, header: map[string]string{"If-Match": `"1"`}}, http.StatusOK, &got)
	if r.Header.Get("ETag") != `"2"` || got.Title != "Exchange of fire north of Bor" || got.Version != 2 {
		t.Fatalf("edit: %s %+v", r.Header.Get("ETag"), got)
	}
	// The first editor's version is now stale.
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: map[string]string{"If-Match": `"1"`}}, http.StatusPreconditionFailed, "If-Match")

	action := func(as, act string, body any, status int) bluehelm.Incident {
		t.Helper()
		var out bluehelm.Incident
		e.ok(req{method: "POST", path: path + "/actions/" + act, as: as, body: body}, status, &out)
		return out
	}
	if got := action("reporter", "submit", nil, http.StatusOK); got.Status != bluehelm.StatusSubmitted {
		t.Fatalf("submit: %+v", got)
	}
	// If-Match on an action is optional but, when sent, checked.
	e.problem(req{method: "POST", path: path + "/actions/verify", as: "ops1", header: map[string]string{"If-Match": `"2"`}}, http.StatusPreconditionFailed, "If-Match")
	if got := action("ops1", "verify", map[string]string{}, http.StatusOK); got.Status != bluehelm.StatusVerified || got.VerifiedBy != "ops1" {
		t.Fatalf("verify: %+v", got)
	}
	// NOTICAS: the verifier may not approve.
	before = e.counts()
	p := e.problem(req{method: "POST", path: path + "/actions/approve", as: "ops1"}, http.StatusConflict, "")
	if !strings.Contains(p.Detail, "second person") {
		t.Errorf("NOTICAS detail: %q", p.Detail)
	}
	e.sameCounts(before, "approval by the verifier")
	if got := action("ops2", "approve", nil, http.StatusOK); got.Status != bluehelm.StatusApproved || got.ApprovedBy != "ops2" || got.VerifiedBy != "ops1" {
		t.Fatalf("approve: %+v", got)
	}
	// Approved reports are locked.
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: map[string]string{"If-Match": `"5"`}}, http.StatusConflict, "")

	var revs struct{ Revisions []bluehelm.Revision }
	e.ok(req{method: "GET", path: path + "/revisions", as: "viewer"}, http.StatusOK, &revs)
	var actions []string
	for _, rv := range revs.Revisions {
		actions = append(actions, rv.Action)
	}
	if want := []string{"create", "edit", "submit", "verify", "approve"}; !slices.Equal(actions, want) {
		t.Errorf("revisions %v, want %v", actions, want)
	}
}

func TestWorkflowErrors(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	inc := e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, "Checkpoint dispute")
	path := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	cases := []struct {
		name, as, action string
		body             any
		status           int
		field            string
	}{
		{"approve a draft", "ops1", "approve", nil, http.StatusConflict, ""},
		{"verify a draft", "ops1", "verify", nil, http.StatusConflict, ""},
		{"reopen a draft", "ops1", "reopen", nil, http.StatusConflict, ""},
		{"unknown action", "ops1", "publish", nil, http.StatusBadRequest, "action"},
		{"viewer may not verify", "viewer", "verify", nil, http.StatusForbidden, ""},
		{"unknown field in body", "ops1", "submit", map[string]string{"why": "x"}, http.StatusBadRequest, "why"},
		{"reason of wrong type", "ops1", "reject", map[string]int{"reason": 3}, http.StatusBadRequest, "reason"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			e.problem(req{method: "POST", path: path + "/actions/" + c.action, as: c.as, body: c.body}, c.status, c.field)
			e.sameCounts(before, c.name)
		})
	}
	t.Run("reject needs a reason", func(t *testing.T) {
		e.ok(req{method: "POST", path: path + "/actions/submit", as: "ops1"}, http.StatusOK, nil)
		before := e.counts()
		e.problem(req{method: "POST", path: path + "/actions/reject", as: "ops1", body: map[string]string{"reason": " "}}, http.StatusBadRequest, "reason")
		e.sameCounts(before, "reject without reason")
		var got bluehelm.Incident
		e.ok(req{method: "POST", path: path + "/actions/reject", as: "ops1", body: map[string]string{"reason": "duplicate of #12"}}, http.StatusOK, &got)
		if got.Status != bluehelm.StatusRejected || got.RejectReason != "duplicate of #12" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("reporter cannot verify own report", func(t *testing.T) {
		var own bluehelm.Incident
		e.ok(req{method: "POST", path: "/api/v1/incidents", as: "ops1", body: e.incidentBody(func(m map[string]any) { m["status"] = "submitted" })}, http.StatusCreated, &own)
		e.problem(req{method: "POST", path: fmt.Sprintf("/api/v1/incidents/%d/actions/verify", own.ID), as: "ops1"}, http.StatusConflict, "")
	})
}

func TestCreateIncidentRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	mod := func(f func(m map[string]any)) map[string]any { return e.incidentBody(f) }
	cases := []struct {
		name   string
		as     string
		body   any
		ctype  string
		status int
		field  string
		detail string // a fragment the detail must contain
	}{
		{"unknown field", "reporter", mod(func(m map[string]any) { m["colour"] = "red" }), "", 400, "colour", "unknown field"},
		{"unknown nested field", "reporter", mod(func(m map[string]any) {
			m["casualties"] = []map[string]any{{"group": "civilians", "kind": "killed", "best": 1, "high": 1}, {"group": "civilians", "kind": "injured", "wounded": 2}}
		}), "", 400, "casualties[1].wounded", "unknown field"},
		{"wrong type", "reporter", mod(func(m map[string]any) { m["title"] = 42 }), "", 400, "title", "must be a string"},
		{"wrong nested type", "reporter", mod(func(m map[string]any) {
			m["casualties"] = []map[string]any{{"group": "civilians", "kind": "killed"}, {"group": "civilians", "kind": "injured", "low": "two"}}
		}), "", 400, "casualties[1].low", "must be an integer"},
		{"latitude out of range", "reporter", mod(func(m map[string]any) {
			m["location"] = map[string]any{"type": "Point", "coordinates": []float64{31.5, 91}}
		}), "", 400, "location.lat", "outside -90..90"},
		{"longitude out of range", "reporter", mod(func(m map[string]any) {
			m["location"] = map[string]any{"type": "Point", "coordinates": []float64{-181, 4}}
		}), "", 400, "location.lon", "outside -180..180"},
		{"location not a point", "reporter", mod(func(m map[string]any) {
			m["location"] = map[string]any{"type": "LineString", "coordinates": [][]float64{{1, 2}, {3, 4}}}
		}), "", 400, "location", "GeoJSON Point"},
		{"far-future time", "reporter", mod(func(m map[string]any) {
			m["occurred_start"] = e.now.Add(48 * time.Hour).Format(time.RFC3339)
		}), "", 400, "occurred_start", "in the future"},
		{"not an RFC 3339 time", "reporter", mod(func(m map[string]any) { m["occurred_start"] = "yesterday" }), "", 400, "occurred_start", "RFC 3339"},
		{"unknown category", "reporter", mod(func(m map[string]any) { m["category"] = "alien_landing" }), "", 400, "category", "unknown category"},
		{"foreign subcategory", "reporter", mod(func(m map[string]any) { m["subcategory"] = "flood" }), "", 400, "subcategory", "not a subcategory"},
		{"unknown classification", "reporter", mod(func(m map[string]any) { m["classification"] = "TOP SECRET" }), "", 400, "classification", "unknown classification"},
		{"missing title", "reporter", mod(func(m map[string]any) { delete(m, "title") }), "", 400, "title", "required"},
		{"bad casualty estimate", "reporter", mod(func(m map[string]any) {
			m["casualties"] = []map[string]any{{"group": "civilians", "kind": "killed", "low": 5, "best": 2, "high": 9}}
		}), "", 400, "casualties[0]", "low <= best"},
		{"malformed JSON", "reporter", `{"title": "x",}`, "", 400, "", "malformed JSON at line 1"},
		{"truncated JSON", "reporter", `{"title": "x"`, "", 400, "", "malformed JSON"},
		{"trailing data", "reporter", `{"title": "x"} {"title": "y"}`, "", 400, "", "after the JSON value"},
		{"not an object", "reporter", `[1,2]`, "", 400, "", "must be an object"},
		{"empty body", "reporter", ``, "", 400, "", "empty"},
		{"oversized body", "reporter", mod(func(m map[string]any) { m["narrative"] = strings.Repeat("x", 1<<20) }), "", 413, "", "larger than"},
		{"form body", "reporter", "title=x", "application/x-www-form-urlencoded", 415, "Content-Type", "application/json"},
		{"no content type", "reporter", `{}`, "-", 415, "Content-Type", "application/json"},
		{"viewer may not report", "viewer", mod(nil), "", 403, "", "may not"},
		{"marking above clearance", "reporter", mod(func(m map[string]any) { m["classification"] = "STRICTLY CONFIDENTIAL" }), "", 403, "", "clearance"},
		{"status approved", "reporter", mod(func(m map[string]any) { m["status"] = "approved" }), "", 400, "status", "draft or submitted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			p := e.problem(req{method: "POST", path: "/api/v1/incidents", as: c.as, body: c.body, ctype: c.ctype}, c.status, c.field)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not mention %q", p.Detail, c.detail)
			}
			e.sameCounts(before, c.name)
		})
	}
}

func TestIncidentInvisibleIsNotFound(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	secret := e.seedIncident(bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}, "Source report")
	path := fmt.Sprintf("/api/v1/incidents/%d", secret.ID)
	missing := "/api/v1/incidents/999999"
	for _, p := range []string{path, missing} {
		// The same answer for "exists but above you" and "does not exist".
		pr := e.problem(req{method: "GET", path: p, as: "analyst"}, http.StatusNotFound, "")
		if pr.Code != bluehelm.ENOTFOUND {
			t.Errorf("code %q", pr.Code)
		}
		e.problem(req{method: "GET", path: p + "/revisions", as: "analyst"}, http.StatusNotFound, "")
		e.problem(req{method: "PUT", path: p, as: "analyst", body: e.incidentBody(), header: map[string]string{"If-Match": `"1"`}}, http.StatusNotFound, "")
		e.problem(req{method: "POST", path: p + "/actions/submit", as: "analyst"}, http.StatusNotFound, "")
	}
	e.problem(req{method: "GET", path: "/api/v1/incidents/abc", as: "analyst"}, http.StatusBadRequest, "id")
	e.ok(req{method: "GET", path: path, as: "ops1"}, http.StatusOK, nil)
}

func TestSearchIncidents(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	mk := func(title string, cat bluehelm.Category, lon, lat float64, ago time.Duration, m bluehelm.Marking) *bluehelm.Incident {
		inc := &bluehelm.Incident{Title: title, Category: cat, OccurredStart: e.now.Add(-ago),
			Location: bluehelm.Point{Lon: lon, Lat: lat}, Marking: m, Narrative: title + " narrative"}
		if err := e.pipeline.CreateIncident(e.ctx, bluehelm.SystemPrincipal("seed"), inc); err != nil {
			t.Fatal(err)
		}
		return inc
	}
	u := bluehelm.Marking{Component: bluehelm.Military}
	juba := mk("Protest at Juba market", bluehelm.CatProtest, 31.57, 4.86, time.Hour, u)
	bor := mk("Cattle raid near Bor", bluehelm.CatRobbery, 31.56, 6.21, 2*time.Hour, u)
	malakal := mk("Shelling in Malakal", bluehelm.CatExplosive, 31.66, 9.53, 30*24*time.Hour, u)
	secret := mk("Armed group movement", bluehelm.CatMovement, 31.6, 4.9, 3*time.Hour,
		bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military})

	search := func(as, qs string) []int64 {
		t.Helper()
		var page bluehelm.IncidentPage
		e.ok(req{method: "GET", path: "/api/v1/incidents?" + qs, as: as}, http.StatusOK, &page)
		var ids []int64
		for _, inc := range page.Incidents {
			ids = append(ids, inc.ID)
		}
		return ids
	}
	cases := []struct {
		name, as, q string
		want        []int64
	}{
		{"everything, newest first", "ops1", "", []int64{juba.ID, bor.ID, secret.ID, malakal.ID}},
		{"invisible filtered", "viewer", "", []int64{juba.ID, bor.ID, malakal.ID}},
		{"bbox", "ops1", "bbox=31,4,32,5", []int64{juba.ID, secret.ID}},
		// A triangle whose bounding box holds both Juba incidents but whose
		// diagonal leaves the armed group movement outside.
		{"within drawn area", "ops1", "within=31.5,4.8,31.65,4.8,31.5,5.0", []int64{juba.ID}},
		{"within and bbox disjoint", "ops1", "within=31.5,4.8,31.65,4.8,31.5,5.0&bbox=20,0,21,1", nil},
		{"category comma list", "ops1", "category=protest,armed_robbery", []int64{juba.ID, bor.ID}},
		{"category repeated", "ops1", "category=protest&category=explosive", []int64{juba.ID, malakal.ID}},
		{"time window", "ops1", "from=" + url.QueryEscape(e.now.Add(-90*time.Minute).Format(time.RFC3339)) + "&to=" + url.QueryEscape(e.now.Format(time.RFC3339)), []int64{juba.ID}},
		{"status", "ops1", "status=draft", []int64{juba.ID, bor.ID, secret.ID, malakal.ID}},
		{"status none", "ops1", "status=approved", nil},
		{"text", "ops1", "q=cattle", []int64{bor.ID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := search(c.as, c.q); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		var all []int64
		cursor := ""
		for range 10 {
			var page bluehelm.IncidentPage
			e.ok(req{method: "GET", path: "/api/v1/incidents?limit=1&cursor=" + url.QueryEscape(cursor), as: "ops1"}, http.StatusOK, &page)
			for _, inc := range page.Incidents {
				all = append(all, inc.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if want := []int64{juba.ID, bor.ID, secret.ID, malakal.ID}; !slices.Equal(all, want) {
			t.Errorf("paged %v, want %v", all, want)
		}
	})
	bad := []struct{ name, q, field string }{
		{"bbox not numbers", "bbox=a,b,c,d", "bbox"},
		{"bbox out of range", "bbox=0,0,200,10", "bbox"},
		{"bbox inverted", "bbox=10,10,0,0", "bbox"},
		{"within odd count", "within=31,4,32,5,33", "within"},
		{"within two corners", "within=31,4,32,5,31,4", "within"},
		{"within off the Earth", "within=31,4,32,5,200,5", "within"},
		{"from not RFC 3339", "from=2026-01-01", "from"},
		{"to before from", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
		{"unknown category", "category=protest,alien_landing", "category"},
		{"unknown status", "status=published", "status"},
		{"limit zero", "limit=0", "limit"},
		{"limit too large", "limit=1001", "limit"},
		{"unknown parameter", "categroy=protest", "categroy"},
		{"bad cursor", "cursor=zzz", "cursor"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			e.problem(req{method: "GET", path: "/api/v1/incidents?" + c.q, as: "ops1"}, http.StatusBadRequest, c.field)
		})
	}
}

func TestTaxonomy(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	var tax struct {
		Version    string
		Categories []bluehelm.CategoryInfo
	}
	e.ok(req{method: "GET", path: "/api/v1/taxonomy", as: "viewer"}, http.StatusOK, &tax)
	if tax.Version != bluehelm.TaxonomyVersion || len(tax.Categories) != len(bluehelm.Taxonomy) {
		t.Fatalf("%+v", tax)
	}
}
