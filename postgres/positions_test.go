package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func track(callsign string, updated time.Time) bluehelm.Track {
	return bluehelm.Track{UID: "veh-1", Callsign: callsign, Kind: bluehelm.KindVehicle, UpdatedAt: updated,
		Marking: bluehelm.Marking{Component: bluehelm.Military}}
}

func report(uid string, t time.Time, lon float64, source string) bluehelm.Position {
	return bluehelm.Position{UID: uid, Time: t, Lon: lon, Lat: 4.85, Source: source}
}

func storedTrack(t *testing.T, db *postgres.DB) bluehelm.Track {
	t.Helper()
	tracks, err := db.Tracks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(tracks) != 1 {
		t.Fatalf("%d tracks, want 1", len(tracks))
	}
	return tracks[0]
}

// The pipeline sends every report with its track; a newer UpdatedAt alone is
// deferred in memory, and the newer-wins rule must hold across that: metadata
// older than a deferred refresh is still ignored.
func TestTrackMetadataRules(t *testing.T) {
	type step struct {
		tracks []bluehelm.Track
		min    int // the report's minute
	}
	for _, tc := range []struct {
		name    string
		refresh time.Duration
		steps   []step
		want    bluehelm.Track
	}{
		{"older metadata after a deferred refresh", 10 * time.Second, []step{
			{[]bluehelm.Track{track("Alpha", at(1))}, 1},
			{[]bluehelm.Track{track("Alpha", at(3))}, 3},
			{[]bluehelm.Track{track("Bravo", at(2))}, 2},
		}, track("Alpha", at(1))}, // the refresh to at(3) is still in memory
		{"older metadata, refreshes written at once", 0, []step{
			{[]bluehelm.Track{track("Alpha", at(1))}, 1},
			{[]bluehelm.Track{track("Alpha", at(3))}, 3},
			{[]bluehelm.Track{track("Bravo", at(2))}, 2},
		}, track("Alpha", at(3))},
		{"newer metadata after a deferred refresh", 10 * time.Second, []step{
			{[]bluehelm.Track{track("Alpha", at(1))}, 1},
			{[]bluehelm.Track{track("Alpha", at(3))}, 3},
			{[]bluehelm.Track{track("Charlie", at(4))}, 4},
		}, track("Charlie", at(4))},
		{"undated metadata keeps the newest time", 10 * time.Second, []step{
			{[]bluehelm.Track{track("Alpha", at(1))}, 1},
			{[]bluehelm.Track{track("Alpha", at(3))}, 3},
			{[]bluehelm.Track{track("Delta", time.Time{})}, 5},
		}, track("Delta", at(3))},
		{"older copy later in one batch", 10 * time.Second, []step{
			{[]bluehelm.Track{track("Echo", at(2)), track("Alpha", at(1))}, 1},
		}, track("Echo", at(2))},
		{"replay of the first write", 10 * time.Second, []step{
			{[]bluehelm.Track{track("Alpha", at(1))}, 1},
			{[]bluehelm.Track{track("Alpha", at(1))}, 1},
		}, track("Alpha", at(1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.Open(t)
			postgres.SetTrackRefresh(db, tc.refresh)
			for i, s := range tc.steps {
				if err := db.AppendPositions(t.Context(), s.tracks, []bluehelm.Position{report("veh-1", at(s.min), 31.6, "test")}); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if got := storedTrack(t, db); got.Callsign != tc.want.Callsign || !got.UpdatedAt.Equal(tc.want.UpdatedAt) {
				t.Errorf("stored track %s at %v, want %s at %v", got.Callsign, got.UpdatedAt, tc.want.Callsign, tc.want.UpdatedAt)
			}
		})
	}
}

// Copies of one (uid, time) in one batch: the first is stored.
func TestDuplicateInBatch(t *testing.T) {
	db := pgtest.Open(t)
	ps := []bluehelm.Position{report("veh-1", at(1), 31.6, "first"), report("veh-1", at(2), 31.7, "test"), report("veh-1", at(1), 30, "second")}
	if err := db.AppendPositions(t.Context(), nil, ps); err != nil {
		t.Fatal(err)
	}
	got, err := db.Positions(t.Context(), bluehelm.PositionQuery{UID: "veh-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source != "first" || got[0].Lon != 31.6 {
		t.Errorf("stored %+v, want the first copy of minute 1 and minute 2", got)
	}
}

// Two nodes (two stores on one database) write overlapping batches of the same
// tracks at once, in opposite orders, as after a reconnect both receive a
// device's backlog: no deadlock surfaces as an error, and every (uid, time) is
// stored once.
func TestTwoNodes(t *testing.T) {
	schema := pgtest.Schema()
	nodes := []*postgres.DB{pgtest.OpenSchema(t, schema), pgtest.OpenSchema(t, schema)}
	const tracks, rounds, per = 50, 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*rounds)
	for n, db := range nodes {
		wg.Go(func() {
			for r := range rounds {
				var ts []bluehelm.Track
				var ps []bluehelm.Position
				for k := range tracks {
					if n == 1 {
						k = tracks - 1 - k
					}
					uid := fmt.Sprintf("dev-%02d", k)
					ts = append(ts, bluehelm.Track{UID: uid, Callsign: fmt.Sprintf("node %d", n), UpdatedAt: at(r)})
					for i := range per {
						ps = append(ps, report(uid, at(r).Add(time.Duration(i)*time.Second), 31+float64(k)*0.01, fmt.Sprint("node ", n)))
					}
				}
				if err := db.AppendPositions(context.Background(), ts, ps); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AppendPositions: %v", err)
	}
	for _, db := range nodes {
		got, err := db.Positions(t.Context(), bluehelm.PositionQuery{BBox: &bluehelm.World, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tracks*rounds*per {
			t.Errorf("%d positions, want %d", len(got), tracks*rounds*per)
		}
		states, err := db.LatestStates(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != tracks {
			t.Errorf("%d states, want %d", len(states), tracks)
		}
	}
}

// A refresh deferred when writes stop is written by the writer's timer.
func TestDeferredRefreshWrittenWhenIdle(t *testing.T) {
	db := pgtest.Open(t)
	postgres.SetTrackRefresh(db, 50*time.Millisecond)
	for _, m := range []int{1, 3} {
		if err := db.AppendPositions(t.Context(), []bluehelm.Track{track("Alpha", at(m))}, []bluehelm.Position{report("veh-1", at(m), 31.6, "test")}); err != nil {
			t.Fatal(err)
		}
	}
	// Not a timing assertion: the refresh must arrive, however slow the machine.
	deadline := time.Now().Add(30 * time.Second)
	for got := storedTrack(t, db); !got.UpdatedAt.Equal(at(3)); got = storedTrack(t, db) {
		if time.Now().After(deadline) {
			t.Fatalf("track still updated at %v, want %v", got.UpdatedAt, at(3))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
