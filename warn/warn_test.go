package warn_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/bluehelm/bluehelm/warn"
	"github.com/paulmach/orb"
)

type env struct {
	ctx   context.Context
	store *sqlite.DB
	p     *ingest.Pipeline
	now   time.Time
	sys   bluehelm.Principal
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{ctx: context.Background(), store: store, now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), sys: bluehelm.SystemPrincipal("test")}
	e.p = ingest.New(store, live.NewPicture(), live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{Now: func() time.Time { return e.now }})
	return e
}

func (e *env) incident(t *testing.T, cat bluehelm.Category, at time.Time, p bluehelm.Point, class bluehelm.Classification) *bluehelm.Incident {
	t.Helper()
	inc := &bluehelm.Incident{Title: string(cat) + " test", Category: cat, OccurredStart: at, Location: p, Status: bluehelm.StatusSubmitted,
		TimePrecision: bluehelm.TimeDay, GeoPrecision: bluehelm.GeoExact, Marking: bluehelm.Marking{Classification: class, Component: bluehelm.Military}}
	if err := e.p.CreateIncident(e.ctx, e.sys, inc); err != nil {
		t.Fatal(err)
	}
	return inc
}

func (e *env) patrol(t *testing.T, name string, route orb.LineString, start time.Time) *bluehelm.Patrol {
	t.Helper()
	u := &bluehelm.Unit{Code: name, Name: name, Mobility: bluehelm.MobilityMounted, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.CreateUnit(e.ctx, e.sys, u); err != nil {
		t.Fatal(err)
	}
	pt := &bluehelm.Patrol{Name: name, Type: bluehelm.PatrolMobile, Units: []string{name}, Strength: 10, Route: bluehelm.Geometry{Geometry: route},
		PlannedStart: start, PlannedEnd: start.Add(6 * time.Hour), CheckInMinutes: 30, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.CreatePatrol(e.ctx, e.sys, pt); err != nil {
		t.Fatal(err)
	}
	for _, a := range []bluehelm.PatrolAction{bluehelm.PatrolSubmit, bluehelm.PatrolApprove} {
		if _, err := e.p.PatrolAction(e.ctx, e.sys, pt.ID, 0, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	return pt
}

func (e *env) alerts(t *testing.T, rule string) []*bluehelm.Alert {
	t.Helper()
	all, err := e.store.Alerts(e.ctx, bluehelm.AlertFilter{Viewer: e.sys, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*bluehelm.Alert
	for _, a := range all {
		if a.Source == bluehelm.AlertForecast && a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// TestNearRepeat: an IED within a kilometre of a planned route, in the last three
// days, alerts that patrol once; a patrol 5 km away, an IED of last month and a
// clash do not.
func TestNearRepeat(t *testing.T) {
	e := newEnv(t)
	// A road along the equator-ish at lat 6.2, 0.05° ≈ 5.5 km long.
	near := e.patrol(t, "NEAR", orb.LineString{{31.50, 6.20}, {31.55, 6.20}}, e.now.Add(2*time.Hour))
	e.patrol(t, "FAR", orb.LineString{{31.50, 6.25}, {31.55, 6.25}}, e.now.Add(2*time.Hour))                                             // 5.5 km north
	ied := e.incident(t, bluehelm.CatExplosive, e.now.Add(-20*time.Hour), bluehelm.Point{Lon: 31.52, Lat: 6.205}, bluehelm.Unclassified) // ~550 m off
	e.incident(t, bluehelm.CatExplosive, e.now.Add(-30*24*time.Hour), bluehelm.Point{Lon: 31.52, Lat: 6.20}, bluehelm.Unclassified)
	e.incident(t, bluehelm.CatArmedClash, e.now.Add(-2*time.Hour), bluehelm.Point{Lon: 31.53, Lat: 6.20}, bluehelm.Unclassified)

	s := warn.New(e.store, e.p, warn.Config{}, func() time.Time { return e.now }, nil)
	for range 2 { // the second check finds the alert open and raises nothing
		if err := s.CheckNearRepeat(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := e.alerts(t, "near_repeat")
	if len(got) != 1 || got[0].PatrolID != near.ID || got[0].IncidentID != ied.ID || got[0].Severity != bluehelm.SevCritical {
		t.Fatalf("near-repeat alerts %+v, want one for patrol %d and incident %d", got, near.ID, ied.ID)
	}
	if !strings.Contains(got[0].Title, "NEAR") {
		t.Errorf("title %q does not name the patrol", got[0].Title)
	}
	// Three days later the window has closed: resolved alerts are not raised again.
	if _, err := e.p.ResolveAlert(e.ctx, e.sys, got[0].ID, 0, "route cleared"); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(60 * time.Hour)
	if err := s.CheckNearRepeat(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.alerts(t, "near_repeat")); n != 1 {
		t.Errorf("%d near-repeat alerts after the window closed, want still 1", n)
	}
}

// TestRefresh: the surface is built from unclassified incidents only, is hot
// where the history is, and a cell at or above the threshold raises one alert.
func TestRefresh(t *testing.T) {
	e := newEnv(t)
	hot := bluehelm.Point{Lon: 31.6, Lat: 6.2}
	secret := bluehelm.Point{Lon: 33.1, Lat: 6.8}
	for i := range 120 {
		at := e.now.Add(-time.Duration(1+i%90) * 24 * time.Hour)
		e.incident(t, bluehelm.CatArmedClash, at, bluehelm.Point{Lon: hot.Lon + float64(i%5)*0.002, Lat: hot.Lat}, bluehelm.Unclassified)
		e.incident(t, bluehelm.CatArmedClash, at, secret, bluehelm.Confidential)
	}
	// A few scattered events so the grid has cold cells too.
	for i := range 10 {
		e.incident(t, bluehelm.CatProtest, e.now.Add(-time.Duration(100+i)*24*time.Hour), bluehelm.Point{Lon: 31 + float64(i)*0.1, Lat: 5.5}, bluehelm.Unclassified)
	}
	s := warn.New(e.store, e.p, warn.Config{Threshold: 0.5}, func() time.Time { return e.now }, nil)
	if s.Surface() != nil {
		t.Fatal("a surface before the first forecast")
	}
	if err := s.Refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	sf := s.Surface()
	if sf == nil {
		t.Fatal("no surface")
	}
	ph, ok := sf.Probability(hot, e.now)
	if !ok || ph < 0.5 {
		t.Fatalf("hot cell probability %v %v, want ≥ 0.5", ph, ok)
	}
	if pc, ok := sf.Probability(bluehelm.Point{Lon: 31.3, Lat: 5.5}, e.now); ok && pc >= ph {
		t.Errorf("a cold cell (%v) is not below the hot one (%v)", pc, ph)
	}
	if _, ok := sf.Probability(secret, e.now); ok {
		t.Error("the surface covers the place known only from confidential reports")
	}
	if _, ok := sf.Probability(hot, e.now.Add(90*24*time.Hour)); ok {
		t.Error("a forecast answered for a time beyond its horizon")
	}
	n := len(e.alerts(t, "threshold"))
	if n == 0 {
		t.Fatal("no threshold alert for the hot cell")
	}
	if err := s.Refresh(e.ctx); err != nil { // the same cells stay hot: no new alerts
		t.Fatal(err)
	}
	if m := len(e.alerts(t, "threshold")); m != n {
		t.Errorf("%d threshold alerts after a second forecast, want %d", m, n)
	}
}

// TestImported: an import after the service has read the audit chain asks for a
// new forecast; imports before it, and other writes, do not.
func TestImported(t *testing.T) {
	e := newEnv(t)
	rows := func(id string) []*bluehelm.Incident {
		return []*bluehelm.Incident{{ExternalID: "ucdp:" + id, Title: "clash", Category: bluehelm.CatArmedClash, OccurredStart: e.now.Add(-time.Hour),
			Location: bluehelm.Point{Lon: 31, Lat: 6}, Marking: bluehelm.Marking{Component: bluehelm.Military}}}
	}
	if _, _, err := e.p.ImportIncidents(e.ctx, e.sys, "ucdp:test", rows("1")); err != nil {
		t.Fatal(err)
	}
	s := warn.New(e.store, e.p, warn.Config{}, func() time.Time { return e.now }, nil)
	if yes, err := s.Imported(e.ctx); err != nil || yes {
		t.Fatalf("first read: %v %v, want false (it only finds the chain's end)", yes, err)
	}
	e.incident(t, bluehelm.CatProtest, e.now.Add(-time.Hour), bluehelm.Point{Lon: 31, Lat: 6}, bluehelm.Unclassified)
	if yes, err := s.Imported(e.ctx); err != nil || yes {
		t.Fatalf("after a report: %v %v, want false", yes, err)
	}
	if _, _, err := e.p.ImportIncidents(e.ctx, e.sys, "ucdp:test", rows("2")); err != nil {
		t.Fatal(err)
	}
	if yes, err := s.Imported(e.ctx); err != nil || !yes {
		t.Fatalf("after an import: %v %v, want true", yes, err)
	}
	if yes, _ := s.Imported(e.ctx); yes {
		t.Fatal("the same import found twice")
	}
}
