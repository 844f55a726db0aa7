package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bluehelm/bluehelm"
)

func TestHealthReadyMetrics(t *testing.T) {
	ready := error(nil)
	e := newEnv(t, func(c *Config) { c.Ready = func() error { return ready } })
	e.standardUsers()
	e.ok(req{method: "GET", path: "/healthz"}, http.StatusOK, nil)
	e.ok(req{method: "GET", path: "/readyz"}, http.StatusOK, nil)
	ready = errors.New("disk I/O error at /var/lib/secret.db")
	p := e.problem(req{method: "GET", path: "/readyz"}, http.StatusServiceUnavailable, "")
	if strings.Contains(p.Detail, "secret.db") {
		t.Errorf("readiness leaks the cause: %q", p.Detail)
	}

	c := e.dialAs("viewer")
	c.send(map[string]any{"type": "subscribe"})
	c.snapshot()
	e.ok(req{method: "GET", path: "/api/v1/incidents/42", as: "viewer"}, http.StatusNotFound, nil)
	r := e.ok(req{method: "GET", path: "/metrics"}, http.StatusOK, nil)
	body := string(r.body)
	for _, want := range []string{
		`bluehelm_http_request_duration_seconds_count{code="404",route="GET /api/v1/incidents/{id}"} 1`,
		`bluehelm_hub_subscribers 1`,
		`bluehelm_stream_connections 1`,
		`bluehelm_hub_events_published_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestUnmatchedRoutesAreProblems(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.WebFS = fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>bluehelm</title>")}}
	})
	e.standardUsers()
	// An unknown API path is a problem, not the web app's index.
	e.problem(req{method: "GET", path: "/api/v1/nothing", as: "viewer"}, http.StatusNotFound, "")
	e.problem(req{method: "GET", path: "/api/v1/nothing"}, http.StatusNotFound, "")
	r := e.do(req{method: "DELETE", path: "/api/v1/incidents", as: "viewer"})
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(r.Header.Get("Allow"), "POST") || !strings.Contains(string(r.body), "method_not_allowed") {
		t.Fatalf("405: %d %v %s", r.StatusCode, r.Header, r.body)
	}
	r = e.ok(req{method: "GET", path: "/"}, http.StatusOK, nil)
	if !strings.Contains(string(r.body), "<title>bluehelm</title>") {
		t.Fatalf("web app: %s", r.body)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("security headers missing: %v", r.Header)
	}
}

func TestOGCMount(t *testing.T) {
	var s *Server
	ogc := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.PrincipalOf(r)
		fmt.Fprintf(w, "%s %v %s %s", r.URL.Path, ok, p.Username, s.OGCBaseURL(r))
	})
	e := newEnv(t)
	s = e.srv
	e.standardUsers()
	e.problem(req{method: "GET", path: "/ogc/collections", as: "viewer"}, http.StatusNotFound, "")
	s.SetOGC(ogc)
	e.problem(req{method: "GET", path: "/ogc/collections"}, http.StatusUnauthorized, "")
	r := e.ok(req{method: "GET", path: "/ogc/collections/incidents/items", as: "viewer"}, http.StatusOK, nil)
	if want := "/collections/incidents/items true viewer " + e.ts.URL + "/ogc"; string(r.body) != want {
		t.Fatalf("OGC saw %q, want %q", r.body, want)
	}
	r = e.ok(req{method: "GET", path: "/ogc", as: "viewer"}, http.StatusOK, nil)
	if !strings.HasPrefix(string(r.body), " true viewer") {
		t.Fatalf("bare mount: %q", r.body)
	}
}

func TestProblemHidesInternalErrors(t *testing.T) {
	r := httptest.NewRequest("GET", "/api/v1/incidents/1", nil)
	p := problemOf(r, fmt.Errorf("sqlite: open /data/bluehelm.db: %w", errors.New("disk full")))
	if p.Status != 500 || p.Code != bluehelm.EINTERNAL || strings.Contains(p.Detail, "disk") || p.Instance != "/api/v1/incidents/1" {
		t.Fatalf("%+v", p)
	}
	for code, status := range map[string]int{
		bluehelm.EINVALID: 400, bluehelm.EUNAUTHENTICATED: 401, bluehelm.EFORBIDDEN: 403, bluehelm.ENOTFOUND: 404,
		bluehelm.ECONFLICT: 409, bluehelm.ETOOLARGE: 413, bluehelm.ERATELIMIT: 429, bluehelm.EUNAVAILABLE: 503, bluehelm.EINTERNAL: 500,
	} {
		p := problemOf(r, fmt.Errorf("wrapped: %w", bluehelm.Errorf(code, "x")))
		if p.Status != status || p.Code != code || p.Title == "" {
			t.Errorf("%s: %+v", code, p)
		}
	}
}

func TestJSONPaths(t *testing.T) {
	doc := []byte(`{"a": 1, "list": [{"x": 1}, {"x": "bad", "y": [1, 2, {"z": true}]}], "tail": null}`)
	cases := []struct {
		off  int64
		want string
	}{
		{int64(strings.Index(string(doc), `"bad"`) + 5), "list[1].x"},
		{int64(strings.Index(string(doc), `true`) + 4), "list[1].y[2].z"},
		{int64(strings.Index(string(doc), `[1, 2`) + 2), "list[1].y[0]"},
		{int64(strings.Index(string(doc), `1,`) + 1), "a"},
	}
	for _, c := range cases {
		if got := pathAt(doc, c.off); got != c.want {
			t.Errorf("pathAt %d = %q, want %q", c.off, got, c.want)
		}
	}
	if got := keyPath(doc, "z"); got != "list[1].y[2].z" {
		t.Errorf("keyPath z = %q", got)
	}
	if l, c := lineCol([]byte("{\n  \"a\": x\n}"), 9); l != 2 || c != 7 {
		t.Errorf("lineCol = %d,%d", l, c)
	}
}
