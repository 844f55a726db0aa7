package forecast

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ged"
)

// The performance target: fit + forecast for a country-sized grid from
// 10 years of events (up to 100,000) in ≤ 2 s per model. Timings are reported
// in BENCHMARKS.md, never asserted here. Run:
//
//	go test ./forecast -run '^$' -bench Fit -benchtime 3x

// benchArea is the Central African Republic's box: 290 × 196 cells of 5 km.
var benchArea = carBBox

// syntheticCountry is ~100,000 events over 10 years on the CAR box: a
// self-exciting process whose background sits around 60 hotspots.
func syntheticCountry(g *Grid) []Event {
	sim := hawkesSim{Nu: 14, Kappa: 0.5, DecayDays: 10, SigmaKm: 3, L: 900, Days: 3650, Seed: 5, Hotspots: 60, HotspotKm: 25}
	return eventsOf(sim.simulate(plane{g}))
}

// gedRepeated is the real UCDP GED file for the CAR, precise events only,
// repeated with jitter (±5 km, ±15 days, the copies spread over the same 10
// years) up to n events: real spatial structure at the benchmark's volume.
func gedRepeated(b *testing.B, n int) []Event {
	p := filepath.Join("..", "..", "shared", "data", "ucdp_ged_v23_1_central_african_republic.csv")
	f, err := os.Open(p)
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("real test data %s is missing (CI=true, so this fails instead of skipping): %v", p, err)
		}
		b.Skipf("real test data %s not found; skipping (set CI=true to fail instead)", p)
	}
	defer f.Close()
	incs, _, err := ged.Read(f)
	if err != nil {
		b.Fatal(err)
	}
	var base []Event
	for _, inc := range incs {
		e := EventOf(inc)
		if e.GeoPrecision == bluehelm.GeoExact || e.GeoPrecision == bluehelm.GeoNear {
			base = append(base, e)
		}
	}
	if len(base) == 0 {
		b.Fatal("no precise event in the GED file")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	out := make([]Event, 0, n)
	for len(out) < n {
		e := base[rng.IntN(len(base))]
		e.ID = int64(len(out) + 1)
		// Place every copy somewhere in the 10 years before the origin, keeping
		// the event's place (jittered) and category.
		e.Time = testOrigin.Add(-time.Duration(rng.Float64() * 3650 * float64(day)))
		e.Point.Lon += rng.NormFloat64() * 5 / (111.195 * math.Cos(e.Point.Lat*math.Pi/180))
		e.Point.Lat += rng.NormFloat64() * 5 / 111.195
		out = append(out, e)
	}
	return out
}

func BenchmarkFit(b *testing.B) {
	g, err := NewGrid(benchArea, 5)
	if err != nil {
		b.Fatal(err)
	}
	target := Target{Horizon: 30 * day}
	for _, data := range []struct {
		name   string
		events func(b *testing.B) []Event
	}{
		{"synthetic", func(*testing.B) []Event { return beforeOrigin(syntheticCountry(g)) }},
		{"ged-car-x55", func(b *testing.B) []Event { return gedRepeated(b, 100000) }},
	} {
		b.Run(data.name, func(b *testing.B) {
			ev := data.events(b)
			for _, m := range models() {
				b.Run(m.Name(), func(b *testing.B) {
					for b.Loop() {
						f, err := m.Fit(ev, testOrigin, g, target)
						if err != nil {
							b.Fatal(err)
						}
						if hf, ok := f.(*HawkesForecast); ok {
							b.ReportMetric(float64(hf.Params.Pairs), "pairs")
							b.ReportMetric(float64(hf.Params.Iterations), "iterations")
						}
					}
					b.ReportMetric(float64(len(ev)), "events")
					b.ReportMetric(float64(g.Len()), "cells")
				})
			}
		})
	}
}
