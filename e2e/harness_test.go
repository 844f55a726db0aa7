// Package e2e drives the web app in a real headless Chromium against the whole
// server started in-process: SQLite store, ingest pipeline, auth, live hub and
// picture, HTTP server with the embedded web app. It holds tests and browser
// benchmarks only.
//
//	go test ./e2e/                                   # the end-to-end tests
//	go test -run '^$' -bench FirstPaint -benchtime=3x ./e2e/   # see bench_test.go
//
// The browser is found through BLUEHELM_CHROMIUM, else `chromium` or
// `chromium-browser` on PATH. Without one the tests skip, except under CI=true,
// where they fail: a test that needs a real component must not pass by skipping.
// On failure each browser leaves a full-page screenshot, its console log and its
// request log in BLUEHELM_ARTIFACTS (default: a directory under the system
// temporary directory, printed in the test log).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/http"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/mbtiles"
	"github.com/bluehelm/bluehelm/ogcapi"
	"github.com/bluehelm/bluehelm/plan"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/bluehelm/bluehelm/warn"
	"github.com/bluehelm/bluehelm/web"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Deadlines are generous on purpose: the tests wait for things to happen and never
// judge how fast they happen (that is the benchmark's job). A loaded two-core CI
// machine running the race detector next door can be slow.
const (
	stepTimeout  = 60 * time.Second  // one interaction: a click, a form, a view
	readyTimeout = 120 * time.Second // the map's first idle with data drawn
)

// password is every test user's password.
const password = "correct horse battery staple"

// passwordHash is computed once: argon2id is deliberately slow.
var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(password)
	if err != nil {
		panic(err)
	}
	return h
})

// The cast of the tests: who files, who reads, with which clearance.
var cast = []bluehelm.User{
	{Username: "ops", Name: "JOC duty officer", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.Confidential},
	{Username: "joc", Name: "Chief JOC", Role: bluehelm.RoleCommander, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential},
	{Username: "reporter", Name: "UNPOL patrol leader", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Unclassified},
	// An analyst without clearance: may read and export, but only what is unclassified
	// or released to the civilian component.
	{Username: "analyst", Name: "JMAC analyst (unclassified)", Role: bluehelm.RoleAnalyst, Component: bluehelm.Civilian, Clearance: bluehelm.Unclassified},
}

// chromiumPath finds the browser, or skips the test (fails it under CI=true).
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("BLUEHELM_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("BLUEHELM_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH and BLUEHELM_CHROMIUM unset; CI=true, so this fails instead of skipping (.ci/run installs it)")
	}
	t.Skip("no chromium on PATH (set BLUEHELM_CHROMIUM); skipping the browser tests")
	return ""
}

// server is one whole bluehelm on 127.0.0.1:0.
type server struct {
	t        testing.TB
	URL      string // http://127.0.0.1:port, the page's origin
	store    *sqlite.DB
	picture  *live.Picture
	hub      *live.Hub
	pipeline *ingest.Pipeline
	// warn is the early-warning service behind /api/v1/forecast. It is not run:
	// a test calls Refresh and CheckNearRepeat when its history is in place, so
	// that nothing depends on a timer.
	warn  *warn.Service
	auth  *auth.Service
	users map[string]*bluehelm.User
	logs  *syncBuffer

	mu       sync.Mutex
	lastTime map[string]time.Time // per track uid: positions must move forward in time
}

type serverOptions struct {
	// demo lays out the South Sudan scenario (areas, an alert, a month of incidents,
	// two dozen patrolling units) so that every layer of the page has something in it.
	demo bool
	// basemap is an offline tile file served at /basemap/ (as --basemap gives);
	// places serves /api/v1/places (as serve and demo do). Both are off otherwise:
	// the gazetteer takes a moment to load that most tests need not spend.
	basemap *mbtiles.Tileset
	places  http.Gazetteer
	// warn tunes the early-warning service (zero: serve's defaults).
	warn warn.Config
	// community builds the community alert intake on the pipeline (community_test.go).
	community func(*ingest.Pipeline) *http.CommunityOptions
}

// startServer wires the server as cmd/bluehelm's openApp and serve do. That code is
// in package main and cannot be imported, so the wiring is repeated here; it is a
// dozen lines and the pieces are the same types. Differences, each for a reason:
// the login rate limit is lifted (every test signs in several times from one
// address) and the pipeline accepts larger batches (the benchmark posts thousands
// of positions at once).
func startServer(t testing.TB, o serverOptions) *server {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	s := &server{
		t: t, store: store, logs: logs,
		picture: live.NewPicture(), hub: live.NewHub(live.HubOptions{}),
		auth:     &auth.Service{Store: store},
		users:    map[string]*bluehelm.User{},
		lastTime: map[string]time.Time{},
	}
	s.pipeline = ingest.New(store, s.picture, live.NewGeofencer(), s.hub, ingest.Options{Logger: logger, Registerer: reg, MaxBatch: 5000,
		// As serve wires it: route risk weighs the early-warning surface once there is one.
		Surface: func() plan.Surface { return s.warn.Surface() }})
	s.warn = warn.New(store, s.pipeline, o.warn, nil, logger)
	if err := s.pipeline.Load(ctx); err != nil {
		t.Fatal(err)
	}
	srv := http.New(http.Config{
		Pipeline: s.pipeline, Store: store, Auth: s.auth, Hub: s.hub, Picture: s.picture,
		Logger: logger, Registry: reg, WebFS: web.FS(),
		Ready:     func() error { return store.Ping(context.Background()) },
		LoginRate: rate.Inf, LoginBurst: 1000,
		Basemap: o.basemap, Places: o.places, Forecasts: s.warn,
		Community: o.communityOptions(s.pipeline),
	})
	srv.SetOGC(ogcapi.New(ogcapi.Config{Store: store, Picture: s.picture, Principal: srv.PrincipalOf}))
	hs := &nethttp.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "http://" + ln.Addr().String()

	runCtx, cancel := context.WithCancel(ctx)
	pipelineDone := make(chan struct{})
	go func() { s.pipeline.Run(runCtx); close(pipelineDone) }()
	// The camp reading path's clock, as serve runs it: stale sensors, and closed
	// roll-up buckets stored (every second here, so that pages show them soon).
	sensorsDone := make(chan struct{})
	go func() {
		s.pipeline.RunSensors(runCtx, ingest.SensorRunOptions{TickEvery: time.Second, FlushEvery: time.Second})
		close(sensorsDone)
	}()
	serveDone := make(chan struct{})
	go func() { _ = hs.Serve(ln); close(serveDone) }()
	t.Cleanup(func() {
		// Close, not Shutdown: the browsers are gone by now (their cleanups ran
		// first) and a hijacked WebSocket would not count for Shutdown anyway.
		hs.Close()
		<-serveDone
		cancel()
		<-pipelineDone
		<-sensorsDone
		s.hub.Close()
		if t.Failed() {
			if dir := artifactDir(t); dir != "" {
				writeArtifact(t, dir, "server.log", logs.Bytes())
			}
		}
		store.Close()
	})

	for _, u := range cast {
		s.addUser(u)
	}
	if o.demo {
		scen := sim.SouthSudan(1)
		now := time.Now()
		if err := scen.Seed(ctx, s.pipeline, now); err != nil {
			t.Fatal(err)
		}
		if err := s.pipeline.Positions(ctx, bluehelm.SystemPrincipal("sim"), scen.Positions(now)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *server) addUser(u bluehelm.User) *bluehelm.User {
	s.t.Helper()
	u.PasswordHash = passwordHash()
	u.CreatedAt = time.Now().UTC()
	if err := s.store.CreateUser(context.Background(), &u, bluehelm.NewAudit(bluehelm.SystemPrincipal("e2e"), "user.create", "", nil)); err != nil {
		s.t.Fatal(err)
	}
	s.users[u.Username] = &u
	return &u
}

// principal returns the access rule of a cast member, to ask the store what they may see.
func (s *server) principal(username string) bluehelm.Principal {
	u, ok := s.users[username]
	if !ok {
		s.t.Fatalf("no user %q", username)
	}
	return u.Principal()
}

// The demo track: one friendly unit in Juba that the tests move by hand.
const demoUID = "e2e-demo-1"

var demoTrack = bluehelm.Track{UID: demoUID, Callsign: "E2E DEMO", Kind: bluehelm.KindUnit, CoTType: "a-f-G-U-C-I",
	SIDC: "SFGPUCI----D", Unit: "RWABATT", Nationality: "RWA",
	Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}}

// report posts one position through the pipeline, as a device would. Times are kept
// strictly increasing per track: the live picture ignores a report older than the
// one it holds.
func (s *server) report(tr bluehelm.Track, lon, lat, course float64) {
	s.t.Helper()
	s.mu.Lock()
	now := time.Now().UTC()
	if last := s.lastTime[tr.UID]; !now.After(last) {
		now = last.Add(time.Millisecond)
	}
	s.lastTime[tr.UID] = now
	s.mu.Unlock()
	err := s.pipeline.Positions(context.Background(), bluehelm.SystemPrincipal("e2e"), []ingest.Report{{
		Track:    tr,
		Position: bluehelm.Position{UID: tr.UID, Time: now, Lon: lon, Lat: lat, Course: course, Speed: 8, CE: 10, Source: "e2e"},
	}})
	if err != nil {
		s.t.Fatal(err)
	}
}

// incident files an incident through the pipeline as the system (a seeded report).
func (s *server) incident(title string, cat bluehelm.Category, m bluehelm.Marking, lon, lat float64) *bluehelm.Incident {
	s.t.Helper()
	inc := &bluehelm.Incident{
		Title: title, Category: cat, Status: bluehelm.StatusSubmitted,
		OccurredStart: time.Now().UTC().Add(-time.Hour).Truncate(time.Minute),
		Location:      bluehelm.Point{Lon: lon, Lat: lat}, Country: "South Sudan",
		Narrative: "Seeded by the end-to-end test.", Marking: m,
	}
	if err := s.pipeline.CreateIncident(context.Background(), bluehelm.SystemPrincipal("e2e"), inc); err != nil {
		s.t.Fatal(err)
	}
	return inc
}

// visibleIncidents counts what a user may see, as the store answers it.
func (s *server) visibleIncidents(username string) []*bluehelm.Incident {
	s.t.Helper()
	var out []*bluehelm.Incident
	f := bluehelm.IncidentFilter{Viewer: s.principal(username), Limit: 1000}
	for {
		page, err := s.store.FindIncidents(context.Background(), f)
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, page.Incidents...)
		if page.NextCursor == "" {
			return out
		}
		f.Cursor = page.NextCursor
	}
}

// browser is one headless Chromium with its own profile, signed in as one user at a
// time. It records every console message, exception, browser log entry and request.
type browser struct {
	t         testing.TB
	name      string
	origin    string
	ctx       context.Context // the tab; lives until the test's cleanup
	output    *syncBuffer     // the browser process's stdout and stderr
	stop      func()
	closeOnce sync.Once

	mu       sync.Mutex
	console  []string // everything, for the artifact
	errs     []string // console errors, exceptions, browser log errors
	requests []string // every URL the page asked for
	foreign  []string // requests to another origin
	allowed  []*regexp.Regexp
	reqURL   map[network.RequestID]string
	bytes    float64 // encoded bytes received, basemap tiles excluded
	tileReqs int
	apiReqs  []network.RequestID // finished /api/ requests, whose bodies leak checks read
	watch    []string            // strings that must never reach this browser
	leaks    []string            // stream frames that carried one
}

// newBrowser starts a fresh browser (its own process and profile, so two of them
// are two independent sessions) and opens a blank tab.
func newBrowser(t testing.TB, s *server, name string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	b := &browser{t: t, name: name, origin: s.URL, output: &syncBuffer{}, reqURL: map[network.RequestID]string{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,  // CI runs as root
		chromedp.DisableGPU, // also --enable-unsafe-swiftshader: WebGL2 on the CPU (never --use-gl=swiftshader)
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-component-update", true),
		// Nothing may leave the machine even if the page tried: every host but the
		// test server's fails to resolve. The request is still recorded and fails
		// the test.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.CombinedOutput(b.output),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.onEvent))
	b.ctx = ctx
	// The first action starts the browser and opens the tab; it runs on the tab's own
	// context so that the tab lives as long as the test, not as long as one step.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("%s: starting chromium: %v\n%s", name, err, b.output.Bytes())
	}
	b.stop = func() {
		b.checkClean()
		if t.Failed() {
			b.saveArtifacts()
		}
		cancelTab()
		cancelAlloc()
	}
	t.Cleanup(b.close)
	return b
}

// close checks the browser's record, keeps artifacts if the test failed and ends the
// browser. The test's cleanup calls it; a benchmark calls it after each iteration so
// that idle pages do not compete with the next one.
func (b *browser) close() { b.closeOnce.Do(b.stop) }

// allow exempts console errors matching re from the "no console errors" rule.
// Use it only for errors the browser itself logs for an expected response.
func (b *browser) allow(re string) {
	b.mu.Lock()
	b.allowed = append(b.allowed, regexp.MustCompile(re))
	b.mu.Unlock()
}

// onEvent runs on the tab's reader goroutine: it must only record.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, remoteText(a))
		}
		line := fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
		if e.StackTrace != nil && len(e.StackTrace.CallFrames) > 0 {
			f := e.StackTrace.CallFrames[0]
			line += fmt.Sprintf(" (%s:%d)", f.URL, f.LineNumber+1)
		}
		b.console = append(b.console, line)
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			b.errs = append(b.errs, line)
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		line := "exception: " + d.Text
		if d.Exception != nil {
			line += " " + remoteText(d.Exception)
		}
		if d.URL != "" {
			line += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		}
		b.console = append(b.console, line)
		b.errs = append(b.errs, line)
	case *log.EventEntryAdded:
		en := e.Entry
		line := fmt.Sprintf("%s: %s [%s]", en.Source, en.Text, en.URL)
		b.console = append(b.console, "log."+string(en.Level)+" "+line)
		if en.Level == log.EntryLevelError && !b.isAllowed(line) {
			b.errs = append(b.errs, line)
		}
	case *network.EventRequestWillBeSent:
		u := e.Request.URL
		b.requests = append(b.requests, e.Request.Method+" "+u)
		b.reqURL[e.RequestID] = u
		if !b.sameOrigin(u) {
			b.foreign = append(b.foreign, u)
		}
	case *network.EventWebSocketCreated:
		b.requests = append(b.requests, "WS "+e.URL)
		if !b.sameOrigin(e.URL) {
			b.foreign = append(b.foreign, e.URL)
		}
	case *network.EventLoadingFinished:
		u := b.reqURL[e.RequestID]
		if strings.Contains(u, "/basemap/") {
			b.tileReqs++
		} else {
			b.bytes += e.EncodedDataLength
		}
		if strings.Contains(u, "/api/") && len(b.watch) > 0 {
			b.apiReqs = append(b.apiReqs, e.RequestID)
		}
	case *network.EventWebSocketFrameReceived:
		if e.Response != nil {
			for _, w := range b.watch {
				if bytes.Contains(e.Response.PayloadData, []byte(w)) {
					b.leaks = append(b.leaks, "stream frame: "+short(string(e.Response.PayloadData)))
				}
			}
		}
	case *page.EventJavascriptDialogOpening:
		// A dialog would block the page for ever. Record it; the test fails.
		line := fmt.Sprintf("dialog %s: %s", e.Type, e.Message)
		b.console = append(b.console, line)
		b.errs = append(b.errs, line+" (a modal dialog blocks the page; use an in-page confirmation)")
		go chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck // best effort
	}
}

func (b *browser) isAllowed(line string) bool {
	for _, re := range b.allowed {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// sameOrigin accepts the server's origin (http and its WebSocket) and the in-page
// schemes data: and blob:.
func (b *browser) sameOrigin(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob":
		return true
	case "http", "ws":
		return "http://"+u.Host == b.origin
	}
	return false
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Description != "" {
		return o.Description
	}
	if len(o.Value) > 0 {
		v := string(o.Value)
		if len(v) >= 2 && v[0] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return string(o.Type)
}

// checkClean fails the test for any console error or request off the origin. It
// runs when the test ends, so every test checks both.
func (b *browser) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		b.t.Errorf("%s: %d console error(s):\n  %s", b.name, len(b.errs), strings.Join(b.errs, "\n  "))
	}
	if len(b.foreign) > 0 {
		b.t.Errorf("%s: %d request(s) left the origin %s:\n  %s", b.name, len(b.foreign), b.origin, strings.Join(b.foreign, "\n  "))
	}
	if len(b.requests) == 0 {
		b.t.Logf("%s: the page made no request at all", b.name)
	}
}

// saveArtifacts keeps what a person needs to see why the test failed.
func (b *browser) saveArtifacts() {
	dir := artifactDir(b.t)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		writeArtifact(b.t, dir, b.name+"-screenshot.png", png)
	} else {
		b.t.Logf("%s: no screenshot: %v", b.name, err)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		writeArtifact(b.t, dir, b.name+"-dom.html", []byte(html))
	}
	b.mu.Lock()
	console := strings.Join(b.console, "\n") + "\n"
	requests := strings.Join(b.requests, "\n") + "\n"
	b.mu.Unlock()
	writeArtifact(b.t, dir, b.name+"-console.log", []byte(console))
	writeArtifact(b.t, dir, b.name+"-requests.log", []byte(requests))
	writeArtifact(b.t, dir, b.name+"-chromium.log", b.output.Bytes())
}

var artifactDirs sync.Map // test name → directory (announced once)

// artifactDir is where a failed test leaves its files: BLUEHELM_ARTIFACTS/<test>, or
// a directory under the system temporary directory that outlives the test.
func artifactDir(t testing.TB) string {
	root := os.Getenv("BLUEHELM_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "bluehelm-e2e-artifacts")
	}
	dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if _, loaded := artifactDirs.LoadOrStore(t.Name(), dir); !loaded {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Logf("artifacts: %v", err)
			return ""
		}
		t.Logf("artifacts (screenshot, console, requests, server log): %s", dir)
	}
	return dir
}

func writeArtifact(t testing.TB, dir, name string, data []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Logf("artifact %s: %v", name, err)
	}
}

// do runs steps with a deadline and fails the test with what was being done.
func (b *browser) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := tryEval[T](b, expr, stepTimeout)
	if err != nil {
		b.t.Fatalf("%s: evaluating %s: %v", b.name, short(expr), err)
	}
	return v
}

func tryEval[T any](b *browser, expr string, timeout time.Duration) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitFor evaluates cond (a JavaScript expression, may be a promise) until it is
// true, or fails the test after timeout with the last value of explain.
func (b *browser) waitFor(what string, timeout time.Duration, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := tryEval[bool](b, "(async () => !!("+cond+"))()", 10*time.Second)
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: waited %s for %s; it did not happen (last error: %v)", b.name, timeout, what, lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitUntil polls a Go condition (the store's state) until it holds.
func waitUntil(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// open loads the app's page (the login form when signed out).
func (b *browser) open() {
	b.t.Helper()
	b.do("opening the app", stepTimeout, chromedp.Navigate(b.origin+"/"))
}

// login signs in through form#login and waits for the app shell.
func (b *browser) login(username string) {
	b.t.Helper()
	b.open()
	b.submitLogin(username, stepTimeout)
}

func (b *browser) submitLogin(username string, timeout time.Duration) {
	b.t.Helper()
	b.do("signing in as "+username, timeout,
		chromedp.WaitVisible(chromedp.CSS(`form#login input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`form#login input[name=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`form#login input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`button#login-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#app`)),
		chromedp.WaitNotVisible(chromedp.CSS(`form#login`)),
	)
}

// waitMapReady waits for the map's first idle with tracks and incidents drawn.
func (b *browser) waitMapReady() {
	b.t.Helper()
	b.waitFor("window.bluehelmMapReady", readyTimeout, `window.bluehelmMapReady !== undefined`)
	if _, err := tryEval[chromedp.Void](b, `window.bluehelmMapReady.then(() => true)`, readyTimeout); err != nil {
		b.t.Fatalf("%s: window.bluehelmMapReady: %v", b.name, err)
	}
}

// waitLive waits for the stream to be connected.
func (b *browser) waitLive() {
	b.t.Helper()
	b.waitFor(`#conn-status[data-state=live]`, stepTimeout, `document.querySelector('#conn-status[data-state="live"]')`)
}

// feature is what the tests read of a map feature.
type feature struct {
	ID     any       `json:"id"` // incident id (number); absent for tracks
	UID    string    `json:"uid"`
	Coords []float64 `json:"coords"`
}

// featuresJS lists the features of a GeoJSON source as the page holds them: the
// source's data (not what is drawn, which clustering and the viewport change).
const featuresJS = `(async (id) => {
	const m = window.bluehelmMap;
	const src = m && m.getSource(id);
	if (!src) return null;
	const data = src.getData ? await src.getData() : null;
	const fs = data && data.features ? data.features : m.querySourceFeatures(id);
	return fs.map(f => ({
		id: f.properties ? f.properties.id : undefined,
		uid: f.properties && f.properties.uid ? String(f.properties.uid) : "",
		coords: f.geometry && f.geometry.type === "Point" ? f.geometry.coordinates : null,
	}));
})`

func (b *browser) features(source string) []feature {
	b.t.Helper()
	return eval[[]feature](b, featuresJS+"("+jsString(source)+")")
}

// listIDs returns the data-id of every li in a list (ul#incident-list, ul#alert-list).
func (b *browser) listIDs(list string) []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll(`+jsString(list+` li[data-id]`)+`), li => li.dataset.id)`)
}

// fetchText fetches a URL from within the page (with the page's session) and returns
// the body; a failed status fails the test.
func (b *browser) fetchText(u string) string {
	b.t.Helper()
	type res struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	r := eval[res](b, `fetch(`+jsString(u)+`, {credentials: "same-origin"}).then(async r => ({status: r.status, body: await r.text()}))`)
	if r.Status != 200 {
		b.t.Fatalf("%s: GET %s from the page: status %d\n%s", b.name, u, r.Status, short(r.Body))
	}
	return r.Body
}

// setField sets a form control's value as a person would and tells the page.
func (b *browser) setField(sel, value string) {
	b.t.Helper()
	b.do("waiting for "+sel, stepTimeout, chromedp.WaitVisible(chromedp.CSS(sel)))
	ok := eval[bool](b, `((sel, v) => {
		const el = document.querySelector(sel);
		if (!el) return false;
		if (el.tagName === "SELECT" && !Array.from(el.options).some(o => o.value === v)) return false;
		el.focus();
		el.value = v;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})(`+jsString(sel)+`, `+jsString(value)+`)`)
	if !ok {
		opts := eval[[]string](b, `Array.from(document.querySelectorAll(`+jsString(sel+` option`)+`), o => o.value)`)
		b.t.Fatalf("%s: cannot set %s to %q (options: %q)", b.name, sel, value, opts)
	}
}

func jsString(s string) string {
	var buf bytes.Buffer
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			buf.WriteByte('\\')
			buf.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&buf, `\u%04x`, r)
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
	return buf.String()
}

// syncBuffer is a bytes.Buffer safe for the browser's output and the server's log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

var _ io.Writer = (*syncBuffer)(nil)

// watchFor makes the browser look for s in every stream frame and every API response
// it receives from now on; assertNeverReceived then reports where it arrived.
func (b *browser) watchFor(s string) {
	b.mu.Lock()
	b.watch = append(b.watch, s)
	b.mu.Unlock()
}

// assertNeverReceived fails the test if a watched string reached the browser at all,
// shown or not: in a stream frame or in the body of an API response.
func (b *browser) assertNeverReceived() {
	b.t.Helper()
	b.mu.Lock()
	leaks := slices.Clone(b.leaks)
	reqs := slices.Clone(b.apiReqs)
	watch := slices.Clone(b.watch)
	b.mu.Unlock()
	read := 0
	for _, id := range reqs {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		cancel()
		if err != nil {
			continue // a body the browser no longer holds (e.g. a redirect)
		}
		read++
		for _, w := range watch {
			if bytes.Contains(res.Body, []byte(w)) {
				b.mu.Lock()
				u := b.reqURL[id]
				b.mu.Unlock()
				leaks = append(leaks, "response of "+u)
			}
		}
	}
	if len(leaks) > 0 {
		b.t.Errorf("%s: data it may not see reached the browser (%q):\n  %s", b.name, watch, strings.Join(leaks, "\n  "))
	}
	b.t.Logf("%s: %d API responses and every stream frame checked for %q", b.name, read, watch)
}
