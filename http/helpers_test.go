package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// testEnv is a whole server on real parts: a SQLite store in a temporary
// directory, the ingest pipeline, the live picture and hub, and auth.
type testEnv struct {
	t        testing.TB
	ctx      context.Context
	now      time.Time
	db       *sqlite.DB
	pipeline *ingest.Pipeline
	picture  *live.Picture
	hub      *live.Hub
	auth     *auth.Service
	srv      *Server
	ts       *httptest.Server
	registry *prometheus.Registry
	tokens   map[string]string // username → bearer token
	users    map[string]*bluehelm.User
}

// testPassword is every test user's password. Users are created with one hash
// computed once: argon2id is deliberately slow and the access matrix needs ~100.
const testPassword = "correct horse battery"

var testHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

type envOption func(*Config)

func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	// The clock is fixed so that rate limits and "in the future" checks do not
	// depend on how fast the test runs.
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &testEnv{
		t: t, ctx: context.Background(), now: now, db: db,
		picture: live.NewPicture(), hub: live.NewHub(live.HubOptions{}),
		registry: prometheus.NewRegistry(),
		tokens:   map[string]string{}, users: map[string]*bluehelm.User{},
	}
	e.auth = &auth.Service{Store: db, Now: clock}
	e.pipeline = ingest.New(db, e.picture, live.NewGeofencer(), e.hub, ingest.Options{Now: clock, Logger: log, MaxBatch: 1000})
	cfg := Config{
		Pipeline: e.pipeline, Store: db, Auth: e.auth, Hub: e.hub, Picture: e.picture,
		Logger: log, Registry: e.registry, Now: clock,
		Ready: func() error { return nil },
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = New(cfg)
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(func() {
		e.hub.Close()
		e.ts.Close()
		db.Close()
	})
	return e
}

// user creates an account with a bearer token; the token is kept under the username.
func (e *testEnv) user(name string, role bluehelm.Role, comp bluehelm.Component, clearance bluehelm.Classification) *bluehelm.User {
	e.t.Helper()
	u := &bluehelm.User{Username: name, Name: strings.ToUpper(name[:1]) + name[1:], Role: role, Component: comp,
		Clearance: clearance, CreatedAt: e.now, PasswordHash: testHash()}
	if err := e.db.CreateUser(e.ctx, u, bluehelm.NewAudit(bluehelm.SystemPrincipal("test"), "user.create", "", nil)); err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.auth.IssueToken(e.ctx, bluehelm.SystemPrincipal("test"), u.ID, "test", 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name], e.users[name] = secret, u
	return u
}

// standardUsers creates the cast most tests use.
func (e *testEnv) standardUsers() {
	e.user("admin", bluehelm.RoleAdmin, bluehelm.Military, bluehelm.StrictlyConfidential)
	e.user("reporter", bluehelm.RoleReporter, bluehelm.Military, bluehelm.Confidential)
	e.user("ops1", bluehelm.RoleOperations, bluehelm.Military, bluehelm.StrictlyConfidential)
	e.user("ops2", bluehelm.RoleOperations, bluehelm.Military, bluehelm.StrictlyConfidential)
	e.user("analyst", bluehelm.RoleAnalyst, bluehelm.Civilian, bluehelm.Confidential)
	e.user("viewer", bluehelm.RoleViewer, bluehelm.Police, bluehelm.Unclassified)
	e.user("police", bluehelm.RoleOperations, bluehelm.Police, bluehelm.StrictlyConfidential)
}

// req describes one request.
type req struct {
	method, path string
	as           string // username whose bearer token to send; "" sends none
	body         any    // marshalled to JSON unless it is a string or []byte
	ctype        string // Content-Type; defaults to application/json when there is a body
	header       map[string]string
	cookies      []*http.Cookie
}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v\n%s", r.Request.URL.Path, err, r.body)
	}
}

func (e *testEnv) do(rq req) resp {
	e.t.Helper()
	var body io.Reader
	hasBody := rq.body != nil
	switch b := rq.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(rq.method, e.ts.URL+rq.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if hasBody {
		ct := rq.ctype
		if ct == "" {
			ct = "application/json"
		}
		if ct != "-" {
			hr.Header.Set("Content-Type", ct)
		}
	}
	if rq.as != "" {
		tok, ok := e.tokens[rq.as]
		if !ok {
			e.t.Fatalf("no user %q", rq.as)
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	for _, c := range rq.cookies {
		hr.AddCookie(c)
	}
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{Response: res, body: b}
}

// ok asserts a success status and decodes the body into v (if not nil).
func (e *testEnv) ok(rq req, status int, v any) resp {
	e.t.Helper()
	r := e.do(rq)
	if r.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", rq.method, rq.path, r.StatusCode, status, r.body)
	}
	if v != nil {
		r.json(e.t, v)
	}
	return r
}

// problem asserts an error response: its status, problem+json body and field.
func (e *testEnv) problem(rq req, status int, field string) Problem {
	e.t.Helper()
	r := e.do(rq)
	if r.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", rq.method, rq.path, r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Fatalf("%s %s: Content-Type %q, want application/problem+json\n%s", rq.method, rq.path, ct, r.body)
	}
	var p Problem
	r.json(e.t, &p)
	if p.Status != status || p.Title == "" || !strings.HasPrefix(p.Type, "urn:bluehelm:problem:") || p.Code == "" {
		e.t.Fatalf("%s %s: malformed problem %+v", rq.method, rq.path, p)
	}
	if p.Field != field {
		e.t.Fatalf("%s %s: problem field %q, want %q (detail %q)", rq.method, rq.path, p.Field, field, p.Detail)
	}
	if p.Detail == "" {
		e.t.Fatalf("%s %s: problem without detail", rq.method, rq.path)
	}
	return p
}

// counts is how much is stored; tests compare it before and after a refused
// request to prove that nothing was written.
type counts struct {
	incidents, areas, alerts, users, tracks, audit int
	revisions                                      map[int64]int
}

func (e *testEnv) counts() counts {
	e.t.Helper()
	sys := bluehelm.SystemPrincipal("test")
	var c counts
	page, err := e.db.FindIncidents(e.ctx, bluehelm.IncidentFilter{Viewer: sys, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	c.incidents = len(page.Incidents)
	c.revisions = map[int64]int{}
	for _, inc := range page.Incidents {
		c.revisions[inc.ID] = inc.Version
	}
	areas, err := e.db.Areas(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	c.areas = len(areas)
	alerts, err := e.db.Alerts(e.ctx, bluehelm.AlertFilter{Viewer: sys, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	c.alerts = len(alerts)
	users, err := e.db.Users(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	c.users = len(users)
	tracks, err := e.db.Tracks(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	c.tracks = len(tracks)
	var seq int64
	for {
		log, err := e.db.AuditLog(e.ctx, seq, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(log) == 0 {
			break
		}
		c.audit += len(log)
		seq = log[len(log)-1].Seq
	}
	return c
}

func (e *testEnv) sameCounts(before counts, what string) {
	e.t.Helper()
	after := e.counts()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		e.t.Fatalf("%s wrote something: before %+v, after %+v", what, before, after)
	}
}

// incidentBody is a valid new incident as a client would send it.
func (e *testEnv) incidentBody(mods ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"title":          "Exchange of fire near Bor",
		"category":       "armed_clash",
		"subcategory":    "exchange_of_fire",
		"occurred_start": e.now.Add(-2 * time.Hour).Format(time.RFC3339),
		"location":       map[string]any{"type": "Point", "coordinates": []float64{31.559, 6.207}},
		"classification": "UNCLASSIFIED",
		"narrative":      "Small arms fire heard for 20 minutes.",
	}
	for _, f := range mods {
		if f != nil {
			f(m)
		}
	}
	return m
}

// seedIncident stores an incident through the pipeline as the system.
func (e *testEnv) seedIncident(m bluehelm.Marking, title string) *bluehelm.Incident {
	e.t.Helper()
	inc := &bluehelm.Incident{
		Title: title, Category: bluehelm.CatProtest, OccurredStart: e.now.Add(-time.Hour),
		Location: bluehelm.Point{Lon: 31.6, Lat: 4.86}, Marking: m,
	}
	if err := e.pipeline.CreateIncident(e.ctx, bluehelm.SystemPrincipal("seed"), inc); err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func squareArea(name string, lon, lat, d float64) map[string]any {
	return map[string]any{
		"name": name, "kind": "restricted",
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{
			{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}},
		"rules": []map[string]any{{"trigger": "enter", "severity": "warning"}},
	}
}
