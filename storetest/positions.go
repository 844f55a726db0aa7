package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// pos returns a track's position at minute i of a straight patrol.
func pos(uid string, i int, lon, lat float64) bluehelm.Position {
	return bluehelm.Position{
		UID: uid, Time: t0.Add(time.Duration(i) * time.Minute),
		Lon: lon + float64(i)*0.01, Lat: lat + float64(i)*0.005,
		HAE: 420.5, CE: 10, LE: 15, Course: 45, Speed: 8.5, Battery: 80 - i%50, Source: "storetest",
	}
}

// patrols returns n positions for each uid, one a minute.
func patrols(uids []string, n int) []bluehelm.Position {
	var out []bluehelm.Position
	for k, uid := range uids {
		for i := range n {
			out = append(out, pos(uid, i, 28+float64(k), 6+float64(k)*0.5))
		}
	}
	return out
}

// sortPositions orders positions by time, then uid: a total order for
// comparing results whose ties the contract leaves open.
func sortPositions(ps []bluehelm.Position) []bluehelm.Position {
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b bluehelm.Position) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		switch {
		case a.UID < b.UID:
			return -1
		case a.UID > b.UID:
			return 1
		}
		return 0
	})
	return ps
}

// checkPositions compares a Positions result with the expected set: time order,
// and the same positions.
func checkPositions(t *testing.T, got, want []bluehelm.Position, what string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			t.Errorf("%s: not in time order at %d (%v after %v)", what, i, got[i].Time, got[i-1].Time)
			break
		}
	}
	// nil and empty are the same answer.
	got, want = append([]bluehelm.Position{}, got...), append([]bluehelm.Position{}, want...)
	sameJSON(t, sortPositions(got), sortPositions(want), what)
}

func filterPositions(ps []bluehelm.Position, keep func(bluehelm.Position) bool) []bluehelm.Position {
	var out []bluehelm.Position
	for _, p := range ps {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func testPositions(t *testing.T, o Opener) {
	uids := []string{"unit-alpha", "unit-bravo", "uav-7"}

	t.Run("Query", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		all := patrols(uids, 60)
		// A lone report on the far corner of the big box below.
		corner := bluehelm.Position{UID: "sensor-9", Time: t0.Add(30 * time.Minute), Lon: 35, Lat: 12, Source: "storetest"}
		all = append(all, corner)
		must(t, s.AppendPositions(ctx, nil, all), "AppendPositions")
		bigBox := &bluehelm.BBox{MinLon: 24, MinLat: 3.5, MaxLon: 35, MaxLat: 12}
		from, to := t0.Add(10*time.Minute), t0.Add(20*time.Minute)
		box := &bluehelm.BBox{MinLon: 28.1, MinLat: 6.0, MaxLon: 29.3, MaxLat: 6.9}
		inBox := func(p bluehelm.Position) bool { return box.Contains(p.Point()) }
		inTime := func(p bluehelm.Position) bool { return !p.Time.Before(from) && p.Time.Before(to) }
		cases := []struct {
			name string
			q    bluehelm.PositionQuery
			keep func(bluehelm.Position) bool
		}{
			{"uid", bluehelm.PositionQuery{UID: "unit-bravo"}, func(p bluehelm.Position) bool { return p.UID == "unit-bravo" }},
			{"uid time", bluehelm.PositionQuery{UID: "unit-bravo", From: from, To: to}, func(p bluehelm.Position) bool { return p.UID == "unit-bravo" && inTime(p) }},
			{"uid from", bluehelm.PositionQuery{UID: "uav-7", From: from}, func(p bluehelm.Position) bool { return p.UID == "uav-7" && !p.Time.Before(from) }},
			{"uid unknown", bluehelm.PositionQuery{UID: "nobody"}, func(bluehelm.Position) bool { return false }},
			{"bbox", bluehelm.PositionQuery{BBox: box}, inBox},
			{"bbox time", bluehelm.PositionQuery{BBox: box, From: from, To: to}, func(p bluehelm.Position) bool { return inBox(p) && inTime(p) }},
			{"bbox world", bluehelm.PositionQuery{BBox: &bluehelm.World}, func(bluehelm.Position) bool { return true }},
			{"uid bbox", bluehelm.PositionQuery{UID: "unit-alpha", BBox: box}, func(p bluehelm.Position) bool { return p.UID == "unit-alpha" && inBox(p) }},
			{"big bbox", bluehelm.PositionQuery{BBox: bigBox, From: from}, func(p bluehelm.Position) bool { return bigBox.Contains(p.Point()) && !p.Time.Before(from) }},
			{"bbox corner", bluehelm.PositionQuery{BBox: &bluehelm.BBox{MinLon: 34, MinLat: 11, MaxLon: 35, MaxLat: 12}}, func(p bluehelm.Position) bool { return p.UID == "sensor-9" }},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				want := filterPositions(all, tc.keep)
				if tc.name != "uid unknown" && (len(want) == 0 || len(want) == len(all)) != (tc.name == "bbox world") {
					t.Fatalf("test data: %d of %d positions selected", len(want), len(all))
				}
				got, err := s.Positions(ctx, tc.q)
				must(t, err, "Positions")
				checkPositions(t, got, want, tc.name)
			})
		}
		t.Run("limit keeps the earliest", func(t *testing.T) {
			got, err := s.Positions(ctx, bluehelm.PositionQuery{UID: "unit-alpha", Limit: 5})
			must(t, err, "Positions")
			checkPositions(t, got, patrols(uids[:1], 5), "first five")
		})
	})

	t.Run("Sample", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		all := patrols(uids, 60)
		all = append(all, bluehelm.Position{UID: "sensor-9", Time: t0.Add(30*time.Minute + 20*time.Second), Lon: 35, Lat: 12, Source: "storetest"})
		// Stored out of order: the second half first, as after a device
		// reconnects and sends its backlog late.
		must(t, s.AppendPositions(ctx, nil, all[len(all)/2:]), "AppendPositions")
		must(t, s.AppendPositions(ctx, nil, all[:len(all)/2]), "AppendPositions")
		// A changed copy of a stored report: the first copy stays.
		moved := all[5]
		moved.Lon, moved.Lat = 1, 1
		must(t, s.AppendPositions(ctx, nil, []bluehelm.Position{moved}), "AppendPositions of a changed duplicate")

		box := &bluehelm.BBox{MinLon: 28.1, MinLat: 6.0, MaxLon: 29.3, MaxLat: 6.9}
		cases := []struct {
			name string
			q    bluehelm.PositionQuery
			step time.Duration
			keep func(bluehelm.Position) bool
		}{
			{"world 5 min", bluehelm.PositionQuery{BBox: &bluehelm.World, From: t0}, 5 * time.Minute, nil},
			{"world from an odd start", bluehelm.PositionQuery{BBox: &bluehelm.World, From: t0.Add(90 * time.Second), To: t0.Add(50 * time.Minute)}, 7 * time.Minute, nil},
			{"box", bluehelm.PositionQuery{BBox: box, From: t0.Add(10 * time.Minute), To: t0.Add(40 * time.Minute)}, 3 * time.Minute,
				func(p bluehelm.Position) bool { return box.Contains(p.Point()) }},
			{"uid", bluehelm.PositionQuery{UID: "uav-7", From: t0}, 10 * time.Minute, func(p bluehelm.Position) bool { return p.UID == "uav-7" }},
			{"step below the report interval", bluehelm.PositionQuery{BBox: &bluehelm.World, From: t0}, 30 * time.Second, nil},
			{"limit keeps the earliest", bluehelm.PositionQuery{BBox: &bluehelm.World, From: t0, Limit: 4}, 10 * time.Minute, nil},
			{"empty window", bluehelm.PositionQuery{BBox: &bluehelm.World, From: t0.Add(-time.Hour), To: t0}, time.Minute, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// The reference: every report of the query, first per uid and
				// interval, in time order (ties by uid).
				seen := map[string]bool{}
				var want []bluehelm.Position
				for _, p := range sortPositions(all) {
					if p.Time.Before(tc.q.From) || (!tc.q.To.IsZero() && !p.Time.Before(tc.q.To)) || (tc.keep != nil && !tc.keep(p)) {
						continue
					}
					k := fmt.Sprint(p.UID, "/", p.Time.Sub(tc.q.From)/tc.step)
					if !seen[k] {
						seen[k] = true
						want = append(want, p)
					}
				}
				if tc.q.Limit > 0 && len(want) > tc.q.Limit {
					want = want[:tc.q.Limit]
				}
				got, err := s.SamplePositions(ctx, tc.q, tc.step)
				must(t, err, "SamplePositions")
				checkPositions(t, got, want, tc.name)
				if tc.name != "empty window" && len(want) == 0 {
					t.Fatal("test data: nothing selected")
				}
			})
		}
		for _, tc := range []struct {
			name string
			q    bluehelm.PositionQuery
			step time.Duration
		}{
			{"no step", bluehelm.PositionQuery{BBox: &bluehelm.World, From: t0}, 0},
			{"no start", bluehelm.PositionQuery{BBox: &bluehelm.World}, time.Minute},
			{"neither uid nor box", bluehelm.PositionQuery{From: t0}, time.Minute},
		} {
			_, err := s.SamplePositions(ctx, tc.q, tc.step)
			wantCode(t, err, bluehelm.EINVALID, "SamplePositions with "+tc.name)
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		batch := patrols(uids, 10)
		must(t, s.AppendPositions(ctx, nil, batch), "AppendPositions")
		// A replay (the ingest retried after a timeout), and a batch that
		// overlaps it by half.
		must(t, s.AppendPositions(ctx, nil, batch), "replayed AppendPositions")
		more := patrols(uids, 15)
		must(t, s.AppendPositions(ctx, nil, more[len(more)/2:]), "overlapping AppendPositions")
		// A report for a stored (uid, time) with other values: the stored one
		// stays, so replays can never rewrite history.
		moved := batch[0]
		moved.Lat, moved.Lon = 1, 1
		must(t, s.AppendPositions(ctx, nil, []bluehelm.Position{moved}), "AppendPositions of a changed duplicate")
		got, err := s.Positions(ctx, bluehelm.PositionQuery{BBox: &bluehelm.World})
		must(t, err, "Positions")
		want := append(patrols(uids, 10), filterPositions(more[len(more)/2:], func(p bluehelm.Position) bool {
			return !p.Time.Before(t0.Add(10 * time.Minute))
		})...)
		checkPositions(t, got, want, "after replays")
	})

	t.Run("LatestStates", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		ps := patrols(uids, 20)
		newer := filterPositions(ps, func(p bluehelm.Position) bool { return !p.Time.Before(t0.Add(10 * time.Minute)) })
		older := filterPositions(ps, func(p bluehelm.Position) bool { return p.Time.Before(t0.Add(10 * time.Minute)) })
		tracks := []bluehelm.Track{
			{UID: "unit-alpha", Callsign: "Alpha", Kind: bluehelm.KindUnit, Unit: "BANBAT-1", Nationality: "BGD", UpdatedAt: t0,
				Marking: bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police}}},
		}
		// The newer half arrives first, then the older (a device's backlog),
		// each newest first.
		slices.Reverse(newer)
		slices.Reverse(older)
		must(t, s.AppendPositions(ctx, tracks, newer), "AppendPositions newer")
		must(t, s.AppendPositions(ctx, nil, older), "AppendPositions older")
		states, err := s.LatestStates(ctx)
		must(t, err, "LatestStates")
		if len(states) != len(uids) {
			t.Fatalf("%d states, want %d", len(states), len(uids))
		}
		for _, st := range states {
			k := slices.Index(uids, st.UID)
			if k < 0 {
				t.Fatalf("state of unknown uid %q", st.UID)
			}
			want := pos(st.UID, 19, 28+float64(k), 6+float64(k)*0.5)
			sameJSON(t, st.Position, want, "latest position of "+st.UID)
			if st.UID == "unit-alpha" {
				sameJSON(t, st.Track, tracks[0], "track of unit-alpha")
			}
		}
		// A newer report moves the latest forward.
		next := pos("uav-7", 30, 30, 7)
		must(t, s.AppendPositions(ctx, nil, []bluehelm.Position{next}), "AppendPositions next")
		states, err = s.LatestStates(ctx)
		must(t, err, "LatestStates")
		for _, st := range states {
			if st.UID == "uav-7" {
				sameJSON(t, st.Position, next, "latest of uav-7 after a newer report")
			}
		}
	})

	t.Run("Tracks", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		alpha := bluehelm.Track{UID: "unit-alpha", Callsign: "Alpha", Kind: bluehelm.KindVehicle, CoTType: "a-f-G-U-C", SIDC: "SFGPUCI----K",
			Unit: "BANBAT-1", Nationality: "BGD", UpdatedAt: t0, Marking: unclassified}
		must(t, s.AppendPositions(ctx, []bluehelm.Track{alpha}, patrols(uids, 2)), "AppendPositions")
		got, err := s.Tracks(ctx)
		must(t, err, "Tracks")
		if len(got) != len(uids) {
			t.Fatalf("%d tracks, want %d (a position of an unknown uid creates its track)", len(got), len(uids))
		}
		byUID := map[string]bluehelm.Track{}
		for _, tr := range got {
			byUID[tr.UID] = tr
		}
		sameJSON(t, byUID["unit-alpha"], alpha, "track metadata")

		// Metadata changes: the new callsign replaces the old, and the latest
		// position is kept.
		renamed := alpha
		renamed.Callsign, renamed.UpdatedAt = "Alpha-2", t0.Add(time.Hour)
		must(t, s.AppendPositions(ctx, []bluehelm.Track{renamed}, nil), "AppendPositions with tracks only")
		got, err = s.Tracks(ctx)
		must(t, err, "Tracks")
		for _, tr := range got {
			if tr.UID == "unit-alpha" {
				sameJSON(t, tr, renamed, "renamed track")
			}
		}
		states, err := s.LatestStates(ctx)
		must(t, err, "LatestStates")
		for _, st := range states {
			if st.UID == "unit-alpha" {
				sameJSON(t, st.Position, pos("unit-alpha", 1, 28, 6), "latest position after a metadata change")
			}
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		const writers, batches, per = 8, 10, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches)
		for w := range writers {
			wg.Go(func() {
				uid := fmt.Sprintf("dev-%d", w)
				for b := range batches {
					ps := make([]bluehelm.Position, per)
					for i := range ps {
						ps[i] = pos(uid, b*per+i, 30, 7)
					}
					if err := s.AppendPositions(ctx, nil, ps); err != nil {
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
		// Every call returned, so every row must be there now.
		for w := range writers {
			uid := fmt.Sprintf("dev-%d", w)
			got, err := s.Positions(ctx, bluehelm.PositionQuery{UID: uid})
			must(t, err, "Positions")
			if len(got) != batches*per {
				t.Errorf("%s: %d positions stored, want %d", uid, len(got), batches*per)
			}
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := o.store(t)
		ctx, cancel := context.WithCancel(ctxOf(t))
		cancel()
		err := s.AppendPositions(ctx, nil, patrols(uids, 3))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("AppendPositions with a cancelled context: %v, want context.Canceled", err)
		}
		got, err := s.Positions(ctxOf(t), bluehelm.PositionQuery{BBox: &bluehelm.World})
		must(t, err, "Positions")
		if len(got) != 0 {
			t.Errorf("%d positions stored by a call that reported failure", len(got))
		}
	})
}
