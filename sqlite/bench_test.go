package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Benchmarks. The big ones need a database of 1,000,000 incidents, generated
// once (a few minutes: the R*Tree and FTS inserts dominate) into a file under
// os.TempDir whose name carries the schema (version and hash) and generator
// versions, and reused by later runs. They are skipped with -short.
//
//	go test -run '^$' -bench . -benchtime 2000x ./sqlite/

// benchGenVersion changes whenever benchIncident changes, so a stale cached
// database is not reused.
const benchGenVersion = 1

const benchIncidents = 1_000_000

// The mission area of the benchmark: about South Sudan, over ten years.
var (
	benchArea  = bluehelm.BBox{MinLon: 24, MinLat: 3.5, MaxLon: 36, MaxLat: 12.5}
	benchStart = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)
	benchSpan  = 10 * 365 * 24 * time.Hour
)

var benchWords = []string{"ambush", "convoy", "cattle", "market", "checkpoint", "patrol", "river", "airstrip", "clinic", "school",
	"road", "village", "barracks", "protest", "raid", "shelling", "youth", "militia", "displaced", "harvest"}

// benchIncident returns incident i of the benchmark database: uniform in space
// and time, mostly UNCLASSIFIED, with a few hundred bytes of text.
func benchIncident(rng *rand.Rand, i int) *bluehelm.Incident {
	w := func() string { return benchWords[rng.IntN(len(benchWords))] }
	at := benchStart.Add(time.Duration(rng.Int64N(int64(benchSpan/time.Second))) * time.Second)
	m := bluehelm.Marking{Component: bluehelm.Components[rng.IntN(4)]}
	switch r := rng.IntN(10); {
	case r >= 9:
		m.Classification = bluehelm.StrictlyConfidential
	case r >= 6:
		m.Classification = bluehelm.Confidential
		m.Releasability = []bluehelm.Component{bluehelm.Components[rng.IntN(4)]}
	}
	return &bluehelm.Incident{
		ExternalID:    fmt.Sprintf("bench:%d", i),
		Title:         fmt.Sprintf("%s %s near %s", w(), w(), w()),
		Category:      bluehelm.Taxonomy[rng.IntN(len(bluehelm.Taxonomy))].Code,
		Status:        bluehelm.Statuses[rng.IntN(len(bluehelm.Statuses))],
		OccurredStart: at,
		TimePrecision: bluehelm.TimeDay,
		ReportedAt:    at.Add(2 * time.Hour),
		UpdatedAt:     at.Add(2 * time.Hour),
		Location: bluehelm.Point{
			Lon: benchArea.MinLon + rng.Float64()*(benchArea.MaxLon-benchArea.MinLon),
			Lat: benchArea.MinLat + rng.Float64()*(benchArea.MaxLat-benchArea.MinLat),
		},
		GeoPrecision: bluehelm.GeoNear,
		Country:      "South Sudan",
		Admin1:       "Unity",
		PlaceName:    "Place " + w(),
		Actors:       []bluehelm.Actor{{Name: "Group " + w(), Type: "unknown", Side: "a"}},
		Sources:      []bluehelm.Source{{Name: "UNMISS patrol", Reliability: "B", Credibility: 2}},
		Narrative:    fmt.Sprintf("Patrol reported %s and %s near the %s; %s %s observed. Situation %s.", w(), w(), w(), w(), w(), w()),
		Marking:      m,
		ReportedBy:   "bench",
	}
}

// bench1M returns the path of the cached 1,000,000-incident database, creating
// it if needed.
func bench1M(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("needs the 1M-incident database (slow to build once)")
	}
	// Keyed by a hash of the schema too: during development a migration's
	// text may change before it is released.
	h := sha256.New()
	for _, m := range migrations {
		fmt.Fprintf(h, "%d %s\n", m.version, m.sql)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("bluehelm-bench-%d-schema%d-%x-gen%d.db", benchIncidents, SchemaVersion(), h.Sum(nil)[:4], benchGenVersion))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	// Build under a temporary name and rename when complete, so an interrupted
	// build is never mistaken for a finished one.
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	start := time.Now()
	db, err := Open(tmp)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2016, 2026))
	ctx := context.Background()
	const chunk = 20000
	for lo := 0; lo < benchIncidents; lo += chunk {
		incs := make([]*bluehelm.Incident, 0, chunk)
		for i := lo; i < lo+chunk; i++ {
			incs = append(incs, benchIncident(rng, i))
		}
		created, _, err := db.ImportIncidents(ctx, incs, bluehelm.NewAudit(bluehelm.SystemPrincipal("bench"), "incident.import", "incidents", nil))
		if err != nil || created != chunk {
			b.Fatalf("import at %d: created %d, %v", lo, created, err)
		}
	}
	if _, err := db.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.Logf("built %s (%d incidents, %.0f MB) in %v", path, benchIncidents, float64(fi.Size())/1e6, time.Since(start).Round(time.Second))
	return path
}

// BenchmarkFindIncidentsBBoxTime asks for the first page of 100 incidents in a
// random box of 1.2°×0.9° (1 % of the mission area) and a random time window,
// over 1,000,000 incidents. It reports per-query p50 and p99 and the mean
// number of incidents returned.
func BenchmarkFindIncidentsBBoxTime(b *testing.B) {
	path := bench1M(b)
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	police := bluehelm.Principal{Username: "unpol", Role: bluehelm.RoleAnalyst, Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	for _, tc := range []struct {
		name   string
		window time.Duration
		viewer bluehelm.Principal
	}{
		{"window=90d", 90 * 24 * time.Hour, bluehelm.SystemPrincipal("bench")},
		{"window=1y", 365 * 24 * time.Hour, bluehelm.SystemPrincipal("bench")},
		{"window=90d/viewer=police-C", 90 * 24 * time.Hour, police},
		{"window=1y/viewer=police-C", 365 * 24 * time.Hour, police},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			filter := func() bluehelm.IncidentFilter {
				lon := benchArea.MinLon + rng.Float64()*(benchArea.MaxLon-benchArea.MinLon-1.2)
				lat := benchArea.MinLat + rng.Float64()*(benchArea.MaxLat-benchArea.MinLat-0.9)
				from := benchStart.Add(time.Duration(rng.Int64N(int64(benchSpan - tc.window))))
				return bluehelm.IncidentFilter{
					Viewer: tc.viewer, BBox: &bluehelm.BBox{MinLon: lon, MinLat: lat, MaxLon: lon + 1.2, MaxLat: lat + 0.9},
					From: from, To: from.Add(tc.window),
				}
			}
			ctx := context.Background()
			query := func() int {
				page, err := db.FindIncidents(ctx, filter())
				if err != nil {
					b.Fatal(err)
				}
				return len(page.Incidents)
			}
			// Warm the page cache: a server answers from a warm cache, and a
			// cold first query measures the disk, not the store.
			for range 200 {
				query()
			}
			durs := make([]time.Duration, 0, b.N)
			hits := 0
			for b.Loop() {
				start := time.Now()
				hits += query()
				durs = append(durs, time.Since(start))
			}
			reportPercentiles(b, durs)
			b.ReportMetric(float64(hits)/float64(len(durs)), "incidents/op")
		})
	}
}

// BenchmarkFindIncidentsOther times the other shapes of search over the
// 1,000,000 incidents, one query repeated per case (no target; for regressions):
// text alone (a common word is in ~38 % of the benchmark's documents), text in
// a box and window, a 1 % box over all time, and no filter.
func BenchmarkFindIncidentsOther(b *testing.B) {
	path := bench1M(b)
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	sys := bluehelm.SystemPrincipal("bench")
	from := benchStart.Add(5 * 365 * 24 * time.Hour)
	box := &bluehelm.BBox{MinLon: 30, MinLat: 6, MaxLon: 31.2, MaxLat: 6.9}
	for _, tc := range []struct {
		name string
		f    bluehelm.IncidentFilter
	}{
		{"none", bluehelm.IncidentFilter{Viewer: sys}},
		{"text=common-word", bluehelm.IncidentFilter{Viewer: sys, Text: "convoy"}},
		{"text=two-common-words", bluehelm.IncidentFilter{Viewer: sys, Text: "convoy ambush"}},
		{"text=absent-word", bluehelm.IncidentFilter{Viewer: sys, Text: "zebra"}},
		{"text=common-word/bbox/window=90d", bluehelm.IncidentFilter{Viewer: sys, Text: "convoy", BBox: box, From: from, To: from.Add(90 * 24 * time.Hour)}},
		{"bbox/all-time", bluehelm.IncidentFilter{Viewer: sys, BBox: box}},
		{"status=rejected", bluehelm.IncidentFilter{Viewer: sys, Statuses: []bluehelm.Status{bluehelm.StatusRejected}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := db.FindIncidents(ctx, tc.f); err != nil {
				b.Fatal(err)
			}
			var durs []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := db.FindIncidents(ctx, tc.f); err != nil {
					b.Fatal(err)
				}
				durs = append(durs, time.Since(start))
			}
			reportPercentiles(b, durs)
		})
	}
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	at := func(p float64) float64 {
		return float64(durs[min(len(durs)-1, int(p*float64(len(durs))))].Microseconds())
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkOpen1M measures Open of the 1,000,000-incident database until it has
// answered a first query.
func BenchmarkOpen1M(b *testing.B) {
	path := bench1M(b)
	var durs []time.Duration
	for b.Loop() {
		start := time.Now()
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.FindIncidents(context.Background(), bluehelm.IncidentFilter{Viewer: bluehelm.SystemPrincipal("bench"), Limit: 1}); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportPercentiles(b, durs)
}

// BenchmarkAppendPositions feeds batches as the ingest pipeline produces them:
// every report comes with its track (metadata unchanged, UpdatedAt = report
// time), and the tracks of a batch are distinct. It reports committed positions
// per second, including the compaction of everything written (the store is
// closed inside the timed part). The sync=NORMAL variants show what
// synchronous=FULL costs.
//
// The first workload is the pipeline benchmark's (ingest/bench_test.go): 10,000
// tracks, batches of 1,000, 8 concurrent posters.
func BenchmarkAppendPositions(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		for _, w := range []struct{ tracks, batch, callers int }{
			{10000, 1000, 8},
			{10000, 1000, 1},
			{2000, 100, 1},
			{2000, 100, 16},
		} {
			b.Run(fmt.Sprintf("sync=%s/tracks=%d/batch=%d/callers=%d", sync, w.tracks, w.batch, w.callers), func(b *testing.B) {
				benchAppend(b, sync, w.tracks, w.batch, w.callers)
			})
		}
	}
}

func benchAppend(b *testing.B, sync string, tracks, batch, callers int) {
	o := defaults()
	o.synchronous = sync
	db, err := open(filepath.Join(b.TempDir(), "db"), o)
	if err != nil {
		b.Fatal(err)
	}
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
	runCallers(b, callers, func() bool {
		k := int(next.Add(1)) - 1
		if k >= b.N {
			return false
		}
		ts, ps := mk(k)
		if err := db.AppendPositions(context.Background(), ts, ps); err != nil {
			b.Error(err)
			return false
		}
		return true
	}, func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "positions/s")
}

// runCallers runs step from n goroutines until it returns false, then end,
// timing only that.
func runCallers(b *testing.B, n int, step func() bool, end func()) {
	b.ResetTimer()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for step() {
			}
		})
	}
	wg.Wait()
	end()
	b.StopTimer()
}

// BenchmarkCreateIncident measures one audited single-incident write: one
// transaction and, with synchronous=FULL, one fsync of the WAL.
func BenchmarkCreateIncident(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) {
			o := defaults()
			o.synchronous = sync
			db, err := open(filepath.Join(b.TempDir(), "db"), o)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			rng := rand.New(rand.NewPCG(1, 1))
			ctx := context.Background()
			i := 0
			for b.Loop() {
				inc := benchIncident(rng, i)
				i++
				if err := db.CreateIncident(ctx, inc, bluehelm.NewAudit(bluehelm.SystemPrincipal("bench"), "incident.create", "", nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
