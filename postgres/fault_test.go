package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// PostgreSQL crashes (an immediate stop: no checkpoint, recovery from the WAL)
// while writers append positions and create incidents, and comes back. Every
// write the store acknowledged is there afterwards, exactly once; writes fail
// while the server is down (they were not acknowledged) and succeed again once
// it is back, without reopening the store.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL server")
	}
	srv := pgtest.StartServer(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, srv.URL(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	type ack struct {
		uid string
		t   time.Time
	}
	var (
		mu          sync.Mutex
		posAcked    []ack
		incAcked    []int64
		failures    atomic.Int64
		afterAcks   atomic.Int64
		restarted   atomic.Bool
		stop        = make(chan struct{})
		wg          sync.WaitGroup
		base        = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
		sys         = bluehelm.SystemPrincipal("fault-test")
		unclassfied = bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var tracks []bluehelm.Track
				var ps []bluehelm.Position
				at := base.Add(time.Duration(i) * time.Second)
				for k := range 20 {
					uid := fmt.Sprintf("w%d-t%d", w, k)
					tracks = append(tracks, bluehelm.Track{UID: uid, Callsign: uid, Marking: unclassfied, UpdatedAt: at})
					ps = append(ps, bluehelm.Position{UID: uid, Time: at, Lat: 4.85 + float64(k)/100, Lon: 31.6 + float64(i%100)/1000, Source: "test"})
				}
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := db.AppendPositions(actx, tracks, ps)
				cancel()
				if err != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				for _, p := range ps {
					posAcked = append(posAcked, ack{p.UID, p.Time})
				}
				mu.Unlock()
				if restarted.Load() {
					afterAcks.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			inc := &bluehelm.Incident{
				Title: fmt.Sprintf("fault %d", i), Category: bluehelm.CatArmedClash, Status: bluehelm.StatusDraft,
				OccurredStart: base.Add(time.Duration(i) * time.Minute), TimePrecision: bluehelm.TimeExact,
				ReportedAt: base, UpdatedAt: base, Location: bluehelm.Point{Lon: 31.6, Lat: 4.85},
				GeoPrecision: bluehelm.GeoExact, Country: "South Sudan", Marking: unclassfied, ReportedBy: "fault",
			}
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := db.CreateIncident(actx, inc, bluehelm.NewAudit(sys, "incident.create", "", nil))
			cancel()
			if err != nil {
				failures.Add(1)
				time.Sleep(20 * time.Millisecond)
				continue
			}
			mu.Lock()
			incAcked = append(incAcked, inc.ID)
			mu.Unlock()
		}
	}()

	time.Sleep(700 * time.Millisecond)
	srv.Restart("immediate")
	restarted.Store(true)
	deadline := time.Now().Add(30 * time.Second)
	for afterAcks.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if afterAcks.Load() < 5 {
		t.Fatalf("writes did not resume after the restart (%d failures)", failures.Load())
	}
	t.Logf("%d positions and %d incidents acknowledged, %d writes failed during the restart", len(posAcked), len(incAcked), failures.Load())

	byUID := map[string][]time.Time{}
	for _, a := range posAcked {
		byUID[a.uid] = append(byUID[a.uid], a.t)
	}
	for uid, times := range byUID {
		got, err := db.Positions(ctx, bluehelm.PositionQuery{UID: uid, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[time.Time]int{}
		for _, p := range got {
			stored[p.Time.UTC()]++
		}
		for _, at := range times {
			if stored[at] != 1 {
				t.Errorf("%s at %s: stored %d times, want once (acknowledged)", uid, at, stored[at])
			}
		}
	}
	for _, id := range incAcked {
		if _, err := db.Incident(ctx, id); err != nil {
			t.Errorf("acknowledged incident %d: %v", id, err)
		}
	}
	if n, err := db.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after the crash: %d entries verified, %v", n, err)
	}
}
