package sim_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sender"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sqlite"
)

func TestSeedCommunity(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p := ingest.New(store, live.NewPicture(), live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{})
	keys, _ := sender.New(bytes.Repeat([]byte{1}, sender.KeySize))
	places := bluehelm.NewPlaceMatcher(sim.CommunityPlaces())
	c := ingest.NewCommunity(p, ingest.CommunityConfig{Keys: keys, Places: func() *bluehelm.PlaceMatcher { return places }, NoAck: true})
	ctx := context.Background()
	if err := sim.SeedCommunity(ctx, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	all, err := store.FindCommunityAlerts(ctx, bluehelm.CommunityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	langs, groups, placed := map[string]int{}, map[int64]int{}, 0
	for _, a := range all {
		langs[a.Language]++
		groups[a.GroupID]++
		if a.Place != nil {
			placed++
		}
	}
	if len(all) != len(sim.CommunityMessages) || langs["fr"] != 1 || langs["ar"] != 1 || len(groups) != len(all)-1 || placed != len(all) {
		t.Errorf("demo alerts: %d, languages %v, %d groups, %d placed", len(all), langs, len(groups), placed)
	}
}
