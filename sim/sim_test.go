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
