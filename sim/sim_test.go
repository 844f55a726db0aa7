package sim_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sqlite"
)

// TestScenarioDrivesThePipeline seeds the South Sudan scenario through the real
// pipeline and checks that units move, stay in the country's box and that patrols
// driving through the no-go area raise geofence alerts.
func TestScenarioDrivesThePipeline(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pic := live.NewPicture()
	p := ingest.New(store, pic, live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{})
	s := sim.SouthSudan(1)
	s.Speedup = 30 // an hour of steps is 30 hours of patrolling
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.Seed(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	page, err := store.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: bluehelm.SystemPrincipal("t"), Limit: 1000})
	if err != nil || len(page.Incidents) != 60 {
		t.Fatalf("seeded incidents: %v %v", page, err)
	}
	ssd := bluehelm.BBox{MinLon: 24, MinLat: 3.4, MaxLon: 36, MaxLat: 12.3}
	// Play an hour of scenario time in one-minute steps.
	first := s.Positions(now.Add(-time.Hour))
	for i := 60; i >= 0; i-- {
		rs := s.Positions(now.Add(-time.Duration(i) * time.Minute))
		for _, r := range rs {
			if !ssd.Contains(r.Position.Point()) {
				t.Fatalf("%s left South Sudan: %+v", r.Track.UID, r.Position)
			}
		}
		if err := p.Positions(ctx, bluehelm.SystemPrincipal("sim"), rs); err != nil {
			t.Fatal(err)
		}
	}
	moved := 0
	for _, r := range first {
		st, _ := pic.Get(r.Track.UID)
		if st.Position.Point() != r.Position.Point() {
			moved++
		}
	}
	if moved < len(first)/2 {
		t.Fatalf("only %d of %d units moved in an hour", moved, len(first))
	}
	alerts, err := store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("t"), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	nogo := 0
	for _, a := range alerts {
		if a.Source == bluehelm.AlertGeofence && strings.Contains(a.Title, "IED belt") {
			nogo++
		}
	}
	if nogo == 0 {
		t.Fatalf("no patrol entered the Bor–Pibor no-go area in 30 scenario hours (%d alerts)", len(alerts))
	}
	again := sim.SouthSudan(1)
	again.Speedup = 30
	for i, r := range s.Positions(now) {
		if r.Position != again.Positions(now)[i].Position {
			t.Fatalf("positions are not a pure function of time: %+v", r.Position)
		}
	}
}

// TestScenarioOperations seeds the demo's units, facilities and patrols and plays
// a few minutes: the silent, off-route and late patrols must each raise their
// alert, and the unit sent to the opening alert must have a task with an ETA.
func TestScenarioOperations(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pic := live.NewPicture()
	// A fixed clock: positions are a function of time, so every run plays the same
	// minutes of the scenario.
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	p := ingest.New(store, pic, live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{Now: now})
	s := sim.SouthSudan(1)
	// Positions first, as the demo does: units are somewhere when they are sent.
	if err := p.Positions(ctx, bluehelm.SystemPrincipal("sim"), s.Positions(clock)); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(ctx, p, clock); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedOperations(ctx, p, clock); err != nil {
		t.Fatal(err)
	}
	sys := bluehelm.SystemPrincipal("t")
	tasks, err := store.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys})
	if err != nil || len(tasks) != 1 || tasks[0].ETASeconds <= 0 || tasks[0].TrackUID == "" {
		t.Fatalf("dispatched tasks %+v %v", tasks, err)
	}
	underway, err := store.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolUnderway}})
	if err != nil || len(underway) < 10 {
		t.Fatalf("%d patrols underway, %v", len(underway), err)
	}
	for _, pt := range underway {
		if pt.Risk == nil || pt.ApprovedBy == "" || pt.Risk.LengthKm <= 0 {
			t.Fatalf("underway patrol %q without the risk report of its approval: %+v", pt.Name, pt.Risk)
		}
	}
	// Five minutes in one-minute steps, with the monitor's clock checks.
	for i := 1; i <= 5; i++ {
		clock = clock.Add(time.Minute)
		if err := p.Positions(ctx, bluehelm.SystemPrincipal("sim"), s.Positions(clock)); err != nil {
			t.Fatal(err)
		}
		p.CheckNow(ctx)
	}
	alerts, err := store.Alerts(ctx, bluehelm.AlertFilter{Viewer: sys, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{sim.SilentPatrol: false, sim.OffRoutePatrol: false, sim.LatePatrol: false}
	for _, a := range alerts {
		for name := range want {
			if a.Source == bluehelm.AlertPatrol && strings.Contains(a.Title, name) {
				want[name] = true
			}
		}
	}
	for name, seen := range want {
		if !seen {
			var titles []string
			for _, a := range alerts {
				titles = append(titles, a.Source+": "+a.Title)
			}
			t.Errorf("no patrol alert for %q; alerts: %q", name, titles)
		}
	}
}
