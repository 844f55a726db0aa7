package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

var benchStart = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// BenchmarkAppendPositions feeds batches as the ingest pipeline produces them:
// every report comes with its track (metadata unchanged, UpdatedAt = report
// time, so the track row is rewritten), the tracks of a batch are distinct,
// and every report is new. It reports committed positions per second, each
// call having returned after its commit; the table grows from empty over the
// run, with its primary key, GiST and BRIN indexes live. Building a batch
// (about 0.1 ms) is inside the timed part, as it is in the pipeline.
//
// tracks=2000/batch=2000 is a picture of 2,000 tracks posted whole each tick;
// tracks=10000/batch=1000/callers=8 is the pipeline benchmark's workload
// (ingest/bench_test.go), where group commit gathers the callers' batches.
func BenchmarkAppendPositions(b *testing.B) {
	for _, w := range []struct{ tracks, batch, callers int }{
		{2000, 2000, 1},
		{2000, 2000, 4},
		{10000, 1000, 8},
		{2000, 100, 16},
	} {
		b.Run(fmt.Sprintf("tracks=%d/batch=%d/callers=%d", w.tracks, w.batch, w.callers), func(b *testing.B) {
			benchAppend(b, w.tracks, w.batch, w.callers)
		})
	}
}

func benchAppend(b *testing.B, tracks, batch, callers int) {
	db := pgtest.Open(b)
	uids := make([]string, tracks)
	for i := range uids {
		uids[i] = fmt.Sprintf("trk-%05d", i)
	}
	// Report n is (uid n % tracks, second n / tracks): every row is new, and a
	// track moves a little between its reports.
	mk := func(k int) ([]bluehelm.Track, []bluehelm.Position) {
		ts := make([]bluehelm.Track, batch)
		ps := make([]bluehelm.Position, batch)
		for i := range ps {
			n := k*batch + i
			at := benchStart.Add(time.Duration(n/tracks) * time.Second)
			u := n % tracks
			ts[i] = bluehelm.Track{UID: uids[u], Callsign: uids[u], Kind: bluehelm.KindVehicle, UpdatedAt: at,
				Marking: bluehelm.Marking{Component: bluehelm.Military}}
			ps[i] = bluehelm.Position{
				UID: uids[u], Time: at,
				Lon: 24 + float64(u%120)*0.1 + float64(n/tracks)*1e-4, Lat: 3.5 + float64(u/120)*0.1,
				HAE: 450, CE: 5, Course: 90, Speed: 10, Battery: 77, Source: "bench",
			}
		}
		return ts, ps
	}
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= b.N {
					return
				}
				ts, ps := mk(k)
				if err := db.AppendPositions(context.Background(), ts, ps); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "positions/s")
	b.ReportMetric(0, "ns/op")
}
