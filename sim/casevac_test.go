package sim_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sqlite"
)

// TestSeedCasevac: the demo casualty is filed from its incident, approved to a
// Level 2 facility by helicopter, launched, with its clocks running.
func TestSeedCasevac(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC) // by day: the helicopter flies
	p := ingest.New(db, live.NewPicture(), live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{Now: func() time.Time { return now }})
	scen := sim.SouthSudan(1)
	if err := scen.Seed(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	if err := scen.SeedOperations(ctx, p, now); err != nil {
		t.Fatal(err)
	}
	c, err := scen.SeedCasevac(ctx, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != bluehelm.CasevacLaunched || c.IncidentID == 0 || c.Means != "air" || c.AssetUnit != sim.CasevacHeliUnit || c.FacilityID == 0 {
		t.Fatalf("demo casevac %+v", c)
	}
	f, err := db.Facility(ctx, c.FacilityID)
	if err != nil || !f.Level.AtLeast("2") {
		t.Fatalf("destination %+v %v", f, err)
	}
	k := c.Clocks(now)
	if k[0].State != bluehelm.ClockMet || k[1].State != bluehelm.ClockRunning || k[2].State != bluehelm.ClockRunning {
		t.Fatalf("clocks %+v", k)
	}
}
