package http

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestAreas(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()

	var a bluehelm.Area
	r := e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: squareArea("Bor market", 31.5, 6.2, 0.1)}, http.StatusCreated, &a)
	if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != fmt.Sprintf("/api/v1/areas/%d", a.ID) || a.CreatedBy != "ops1" {
		t.Fatalf("created %+v %v", a, r.Header)
	}
	path := fmt.Sprintf("/api/v1/areas/%d", a.ID)
	secret := squareArea("Source meeting point", 31.0, 4.0, 0.1)
	secret["classification"] = "STRICTLY CONFIDENTIAL"
	var sa bluehelm.Area
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: secret}, http.StatusCreated, &sa)

	var list struct{ Areas []bluehelm.Area }
	e.ok(req{method: "GET", path: "/api/v1/areas", as: "ops1"}, http.StatusOK, &list)
	if len(list.Areas) != 2 {
		t.Fatalf("ops1 sees %d areas", len(list.Areas))
	}
	e.ok(req{method: "GET", path: "/api/v1/areas", as: "viewer"}, http.StatusOK, &list)
	if len(list.Areas) != 1 || list.Areas[0].ID != a.ID {
		t.Fatalf("viewer sees %+v", list.Areas)
	}
	e.ok(req{method: "GET", path: "/api/v1/areas?bbox=30,3,31.05,4.05", as: "ops1"}, http.StatusOK, &list)
	if len(list.Areas) != 1 || list.Areas[0].ID != sa.ID {
		t.Fatalf("bbox %+v", list.Areas)
	}
	e.ok(req{method: "GET", path: "/api/v1/areas?kind=camp", as: "ops1"}, http.StatusOK, &list)
	if len(list.Areas) != 0 {
		t.Fatalf("kind %+v", list.Areas)
	}
	e.problem(req{method: "GET", path: "/api/v1/areas?kind=lake", as: "ops1"}, http.StatusBadRequest, "kind")
	e.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/areas/%d", sa.ID), as: "viewer"}, http.StatusNotFound, "")
	e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, nil)

	edit := squareArea("Bor market (extended)", 31.5, 6.2, 0.2)
	before := e.counts()
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: map[string]string{"If-Match": `"3"`}}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "viewer", body: edit, header: map[string]string{"If-Match": `"1"`}}, http.StatusForbidden, "")
	e.problem(req{method: "DELETE", path: path, as: "ops1"}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "DELETE", path: path, as: "ops1", header: map[string]string{"If-Match": `"2"`}}, http.StatusPreconditionFailed, "If-Match")
	e.sameCounts(before, "refused area changes")

	r = e.ok(req{method: "PUT", path: path, as: "ops1", body: edit, header: map[string]string{"If-Match": `"1"`}}, http.StatusOK, &a)
	if a.Name != "Bor market (extended)" || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("updated %+v", a)
	}
	e.problem(req{method: "DELETE", path: path, as: "ops1", header: map[string]string{"If-Match": `"1"`}}, http.StatusPreconditionFailed, "If-Match")
	e.ok(req{method: "DELETE", path: path, as: "ops1", header: map[string]string{"If-Match": `"2"`}}, http.StatusNoContent, nil)
	e.problem(req{method: "GET", path: path, as: "ops1"}, http.StatusNotFound, "")
}

func TestAreaBadInput(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	mod := func(f func(m map[string]any)) map[string]any {
		m := squareArea("Zone", 31, 4, 0.1)
		f(m)
		return m
	}
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"open ring", mod(func(m map[string]any) {
			m["geometry"] = map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{31, 4}, {31.1, 4}, {31.1, 4.1}, {31, 4.1}}}}
		}), 400, "geometry.coordinates[0]"},
		{"vertex out of range", mod(func(m map[string]any) {
			m["geometry"] = map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{31, 4}, {31.1, 95}, {31.1, 4.1}, {31, 4}}}}
		}), 400, "geometry.coordinates[0][1].lat"},
		{"point geometry", mod(func(m map[string]any) {
			m["geometry"] = map[string]any{"type": "Point", "coordinates": []float64{31, 4}}
		}), 400, "geometry.type"},
		{"unknown kind", mod(func(m map[string]any) { m["kind"] = "lake" }), 400, "kind"},
		{"bad rule trigger", mod(func(m map[string]any) {
			m["rules"] = []map[string]any{{"trigger": "fly_over", "severity": "warning"}}
		}), 400, "rules[0].trigger"},
		{"rule of wrong type", mod(func(m map[string]any) {
			m["rules"] = []map[string]any{{"trigger": "dwell", "severity": "warning", "dwell_seconds": "ten"}}
		}), 400, "rules[0].dwell_seconds"},
		{"unknown field", mod(func(m map[string]any) { m["colour"] = "red" }), 400, "colour"},
		{"missing name", mod(func(m map[string]any) { delete(m, "name") }), 400, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			e.problem(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: c.body}, c.status, c.field)
			e.sameCounts(before, c.name)
		})
	}
	e.problem(req{method: "POST", path: "/api/v1/areas", as: "reporter", body: squareArea("Zone", 31, 4, 0.1)}, http.StatusForbidden, "")
}

func TestAlerts(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()

	var a bluehelm.Alert
	r := e.ok(req{method: "POST", path: "/api/v1/alerts", as: "reporter", body: map[string]any{
		"source": "emergency", "severity": "critical", "title": "Troops in contact",
		"location": map[string]any{"type": "Point", "coordinates": []float64{31.6, 4.9}},
	}}, http.StatusCreated, &a)
	if a.State != bluehelm.AlertOpen || a.RaisedBy != "reporter" || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("raised %+v", a)
	}
	var secret bluehelm.Alert
	e.ok(req{method: "POST", path: "/api/v1/alerts", as: "ops1", body: map[string]any{
		"severity": "warning", "title": "Informant reports ambush plan", "classification": "CONFIDENTIAL",
	}}, http.StatusCreated, &secret)
	if secret.Source != bluehelm.AlertManual {
		t.Errorf("default source %q", secret.Source)
	}

	var list struct{ Alerts []bluehelm.Alert }
	e.ok(req{method: "GET", path: "/api/v1/alerts?state=open", as: "ops1"}, http.StatusOK, &list)
	if len(list.Alerts) != 2 {
		t.Fatalf("ops1 sees %d", len(list.Alerts))
	}
	e.ok(req{method: "GET", path: "/api/v1/alerts", as: "viewer"}, http.StatusOK, &list)
	if len(list.Alerts) != 1 || list.Alerts[0].ID != a.ID {
		t.Fatalf("viewer sees %+v", list.Alerts)
	}

	path := fmt.Sprintf("/api/v1/alerts/%d", a.ID)
	e.problem(req{method: "POST", path: path + "/acknowledge", as: "viewer"}, http.StatusForbidden, "")
	e.problem(req{method: "POST", path: path + "/acknowledge", as: "ops1", header: map[string]string{"If-Match": `"4"`}}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/acknowledge", secret.ID), as: "viewer"}, http.StatusNotFound, "")
	// An empty body labelled as JSON is an absent body, as many clients send it.
	e.ok(req{method: "POST", path: path + "/acknowledge", as: "ops1", body: "", header: map[string]string{"If-Match": `"1"`}}, http.StatusOK, &a)
	if a.State != bluehelm.AlertAcknowledged || a.AckBy != "ops1" {
		t.Fatalf("acknowledged %+v", a)
	}
	e.problem(req{method: "POST", path: path + "/acknowledge", as: "ops2"}, http.StatusConflict, "")
	e.problem(req{method: "POST", path: path + "/resolve", as: "ops2", body: map[string]any{"resolution": strings.Repeat("x", 2001)}}, http.StatusBadRequest, "resolution")
	e.problem(req{method: "POST", path: path + "/resolve", as: "ops2", body: map[string]any{"outcome": "x"}}, http.StatusBadRequest, "outcome")
	e.ok(req{method: "POST", path: path + "/resolve", as: "ops2", body: map[string]any{"resolution": "QRF on site, contact broken"}}, http.StatusOK, &a)
	if a.State != bluehelm.AlertResolved || a.ResolvedBy != "ops2" {
		t.Fatalf("resolved %+v", a)
	}
	e.ok(req{method: "GET", path: "/api/v1/alerts?state=open,acknowledged", as: "ops1"}, http.StatusOK, &list)
	if len(list.Alerts) != 1 || list.Alerts[0].ID != secret.ID {
		t.Fatalf("open/acknowledged %+v", list.Alerts)
	}
	e.ok(req{method: "GET", path: "/api/v1/alerts?since=" + e.now.Add(time.Minute).Format("2006-01-02T15:04:05Z"), as: "ops1"}, http.StatusOK, &list)
	if len(list.Alerts) != 0 {
		t.Fatalf("since %+v", list.Alerts)
	}
	e.problem(req{method: "GET", path: "/api/v1/alerts?state=closed", as: "ops1"}, http.StatusBadRequest, "state")

	// One alert: who handled it, for a client that lost a race; a marking the
	// caller may not see is not found, like a missing id.
	var one bluehelm.Alert
	r = e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &one)
	if one.ID != a.ID || one.ResolvedBy != "ops2" || r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, one.Version) {
		t.Fatalf("GET one alert: %+v, ETag %s", one, r.Header.Get("ETag"))
	}
	e.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", secret.ID), as: "viewer"}, http.StatusNotFound, "")
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", secret.ID), as: "ops1"}, http.StatusOK, &one)
	e.problem(req{method: "GET", path: "/api/v1/alerts/999999", as: "ops1"}, http.StatusNotFound, "")
}

func TestRaiseAlertBadInput(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	cases := []struct {
		name   string
		as     string
		body   map[string]any
		status int
		field  string
	}{
		{"system source", "ops1", map[string]any{"source": "geofence", "severity": "info", "title": "x"}, 400, "source"},
		{"bad severity", "ops1", map[string]any{"severity": "apocalyptic", "title": "x"}, 400, "severity"},
		{"no title", "ops1", map[string]any{"severity": "info"}, 400, "title"},
		{"bad location", "ops1", map[string]any{"severity": "info", "title": "x", "location": map[string]any{"type": "Point", "coordinates": []float64{200, 0}}}, 400, "location.lon"},
		{"server field", "ops1", map[string]any{"severity": "info", "title": "x", "state": "resolved", "bogus": 1}, 400, "bogus"},
		{"viewer may not raise", "viewer", map[string]any{"severity": "info", "title": "x"}, 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			e.problem(req{method: "POST", path: "/api/v1/alerts", as: c.as, body: c.body}, c.status, c.field)
			e.sameCounts(before, c.name)
		})
	}
}

func TestUsersAndTokens(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()

	var u bluehelm.User
	newUser := map[string]any{"username": "duty.officer", "name": "Duty Officer", "role": "operations",
		"component": "police", "clearance": "CONFIDENTIAL", "password": "long enough password"}
	r := e.ok(req{method: "POST", path: "/api/v1/users", as: "admin", body: newUser}, http.StatusCreated, &u)
	if u.Username != "duty.officer" || u.Clearance != bluehelm.Confidential || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("created %s", r.body)
	}
	// The new user can sign in.
	e.ok(req{method: "POST", path: "/api/v1/login", body: map[string]string{"username": "duty.officer", "password": "long enough password"}}, http.StatusOK, nil)

	bad := []struct {
		name   string
		as     string
		body   map[string]any
		status int
		field  string
	}{
		{"not admin", "ops1", newUser, 403, ""},
		{"duplicate", "admin", newUser, 409, ""},
		{"short password", "admin", map[string]any{"username": "x1", "role": "viewer", "component": "police", "password": "short"}, 400, "password"},
		{"bad role", "admin", map[string]any{"username": "x2", "role": "king", "component": "police", "password": "long enough password"}, 400, "role"},
		{"bad clearance", "admin", map[string]any{"username": "x3", "role": "viewer", "component": "police", "clearance": "SECRET", "password": "long enough password"}, 400, "clearance"},
		{"bad username", "admin", map[string]any{"username": "Bad Name!", "role": "viewer", "component": "police", "password": "long enough password"}, 400, "username"},
		{"unknown field", "admin", map[string]any{"username": "x4", "role": "viewer", "component": "police", "password": "long enough password", "email": "x"}, 400, "email"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			e.problem(req{method: "POST", path: "/api/v1/users", as: c.as, body: c.body}, c.status, c.field)
			e.sameCounts(before, c.name)
		})
	}

	var list struct{ Users []bluehelm.User }
	e.ok(req{method: "GET", path: "/api/v1/users", as: "admin"}, http.StatusOK, &list)
	if len(list.Users) != len(e.users)+1 {
		t.Fatalf("%d users", len(list.Users))
	}
	e.problem(req{method: "GET", path: "/api/v1/users", as: "ops1"}, http.StatusForbidden, "")

	upath := fmt.Sprintf("/api/v1/users/%d", u.ID)
	e.ok(req{method: "PUT", path: upath, as: "admin", body: map[string]any{"clearance": "STRICTLY CONFIDENTIAL"}}, http.StatusOK, &u)
	if u.Clearance != bluehelm.StrictlyConfidential || u.Role != bluehelm.RoleOperations || u.Name != "Duty Officer" {
		t.Fatalf("partial update changed more than the clearance: %+v", u)
	}
	e.problem(req{method: "PUT", path: upath, as: "admin", body: map[string]any{"role": "king"}}, http.StatusBadRequest, "role")
	e.problem(req{method: "PUT", path: upath, as: "ops1", body: map[string]any{"disabled": true}}, http.StatusForbidden, "")
	e.problem(req{method: "PUT", path: "/api/v1/users/9999", as: "admin", body: map[string]any{"disabled": true}}, http.StatusNotFound, "")
	e.problem(req{method: "PUT", path: fmt.Sprintf("/api/v1/users/%d", e.users["admin"].ID), as: "admin", body: map[string]any{"disabled": true}}, http.StatusConflict, "")

	// Tokens: a user issues their own; an administrator anyone's.
	ops1 := e.users["ops1"]
	tpath := fmt.Sprintf("/api/v1/users/%d/tokens", ops1.ID)
	var issued struct {
		ID        int64
		Token     string
		Name      string
		ExpiresAt *time.Time `json:"expires_at"`
	}
	e.ok(req{method: "POST", path: tpath, as: "ops1", body: map[string]any{"name": "QGIS", "ttl_hours": 48}}, http.StatusCreated, &issued)
	if !strings.HasPrefix(issued.Token, "bh_") || issued.ExpiresAt == nil || !issued.ExpiresAt.Equal(e.now.Add(48*time.Hour)) {
		t.Fatalf("issued %+v", issued)
	}
	e.tokens["qgis"] = issued.Token
	var me meResponse
	e.ok(req{method: "GET", path: "/api/v1/me", as: "qgis"}, http.StatusOK, &me)
	if me.User.ID != ops1.ID || me.CSRFToken != "" {
		t.Fatalf("me with the new token %+v", me)
	}
	e.problem(req{method: "POST", path: tpath, as: "ops2", body: map[string]any{"name": "x"}}, http.StatusForbidden, "")
	e.problem(req{method: "POST", path: tpath, as: "ops1", body: map[string]any{"name": "x", "ttl_hours": 0}}, http.StatusBadRequest, "ttl_hours")
	e.problem(req{method: "POST", path: tpath, as: "ops1", body: map[string]any{"name": ""}}, http.StatusBadRequest, "name")
	e.ok(req{method: "POST", path: tpath, as: "admin", body: map[string]any{"name": "by admin"}}, http.StatusCreated, nil)

	var toks struct{ Tokens []bluehelm.Token }
	e.ok(req{method: "GET", path: tpath, as: "ops1"}, http.StatusOK, &toks)
	if len(toks.Tokens) != 3 || strings.Contains(fmt.Sprint(toks), issued.Token) {
		t.Fatalf("tokens %+v", toks)
	}
	e.problem(req{method: "GET", path: tpath, as: "ops2"}, http.StatusForbidden, "")

	// Someone else's token is not found, not forbidden: its id is not confirmed.
	e.problem(req{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", issued.ID), as: "ops2"}, http.StatusNotFound, "")
	e.ok(req{method: "DELETE", path: fmt.Sprintf("/api/v1/tokens/%d", issued.ID), as: "ops1"}, http.StatusNoContent, nil)
	e.problem(req{method: "GET", path: "/api/v1/me", as: "qgis"}, http.StatusUnauthorized, "")
	e.problem(req{method: "DELETE", path: "/api/v1/tokens/99999", as: "admin"}, http.StatusNotFound, "")

	// Disabling a user ends their access at once.
	e.ok(req{method: "PUT", path: fmt.Sprintf("/api/v1/users/%d", e.users["ops2"].ID), as: "admin", body: map[string]any{"disabled": true}}, http.StatusOK, nil)
	e.problem(req{method: "GET", path: "/api/v1/me", as: "ops2"}, http.StatusUnauthorized, "")
}
