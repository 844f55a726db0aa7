package plan

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/acled"
	"github.com/bluehelm/bluehelm/ged"
	"github.com/paulmach/orb"
)

// The target: route risk for a 200 km route against 100,000 incidents
// in at most 100 ms. Run with
//
//	go test -run '^$' -bench . -benchtime 20x ./plan/

const benchIncidents = 100_000

var benchAt = time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC)

// benchRoute is Yei → Juba → Terekeka in South Sudan, about 200 km in three
// waypoints, through the country's most reported-on corridor.
var benchRoute = orb.LineString{{30.678, 4.091}, {31.582, 4.859}, {31.75, 5.44}}

// benchInputs are what a mission registers besides incidents: Level 1 clinics
// and a Level 2 hospital along the corridor, and 20 restricted areas of 64
// corners near it.
func benchInputs(idx *Index) Inputs {
	fac := func(id int64, lvl bluehelm.MedicalLevel, lon, lat float64, hls bool) *bluehelm.MedicalFacility {
		f := &bluehelm.MedicalFacility{ID: id, Name: "F", Level: lvl, Location: bluehelm.Point{Lon: lon, Lat: lat}}
		if hls {
			f.HelicopterLandingSites = []bluehelm.Point{f.Location}
		}
		return f
	}
	in := Inputs{Incidents: idx, Facilities: []*bluehelm.MedicalFacility{
		fac(1, "2", 31.58, 4.86, true), fac(2, "1", 30.68, 4.09, true), fac(3, "1", 31.56, 6.21, false),
		fac(4, "1+", 32.5, 4.5, true), fac(5, "3", 32.6, 9.5, true),
	}}
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range 20 {
		lon, lat := 30.6+rng.Float64()*1.3, 4+rng.Float64()*1.5
		var ring orb.Ring
		for k := range 64 {
			a := 2 * math.Pi * float64(k) / 64
			r := 0.02 + 0.01*rng.Float64()
			ring = append(ring, orb.Point{lon + r*math.Cos(a), lat + r*math.Sin(a)})
		}
		ring = append(ring, ring[0])
		in.Areas = append(in.Areas, &bluehelm.Area{ID: int64(i + 1), Name: fmt.Sprint("no-go ", i+1), Kind: bluehelm.AreaRestricted,
			Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}}})
	}
	return in
}

// realBase reads the real South Sudan incidents of the team's test corpus
// (UCDP GED and ACLED), which lives outside the repository.
func realBase(b *testing.B) []*bluehelm.Incident {
	var all []*bluehelm.Incident
	for _, f := range []struct {
		name string
		read func(io.Reader) ([]*bluehelm.Incident, error)
	}{
		{"ucdp_ged_south_sudan_2011-2021_hdx.csv", func(r io.Reader) ([]*bluehelm.Incident, error) {
			incs, _, err := ged.Read(r)
			return incs, err
		}},
		{"acled_south_sudan_2020-07_2021-07.csv", func(r io.Reader) ([]*bluehelm.Incident, error) {
			incs, _, err := acled.Read(r)
			return incs, err
		}},
	} {
		p := filepath.Join("..", "..", "shared", "data", f.name)
		fh, err := os.Open(p)
		if err != nil {
			if os.Getenv("CI") == "true" {
				b.Fatalf("real test data %s is missing (CI=true, so this fails instead of skipping): %v", p, err)
			}
			b.Skipf("real test data %s not found; skipping (set CI=true to fail instead)", p)
		}
		incs, err := f.read(fh)
		fh.Close()
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, incs...)
	}
	return all
}

// BenchmarkAssessReal100k: the real incidents' places, categories and
// casualties, each repeated with up to ±0.02° (≈ 2 km) of jitter until there
// are 100,000, their dates spread over the two years before the assessment
// (the corpus is years old; a year's lookback would otherwise see nothing).
func BenchmarkAssessReal100k(b *testing.B) {
	base := realBase(b)
	rng := rand.New(rand.NewPCG(1, 1))
	incs := make([]Incident, benchIncidents)
	for i := range incs {
		src := IncidentOf(base[i%len(base)].Summary())
		src.ID = int64(i + 1)
		src.Location.Lon += (rng.Float64() - 0.5) * 0.04
		src.Location.Lat += (rng.Float64() - 0.5) * 0.04
		src.At = benchAt.Add(-time.Duration(rng.Int64N(int64(730 * 24 * time.Hour))))
		incs[i] = src
	}
	benchAssess(b, incs, fmt.Sprintf("%d real incidents repeated", len(base)))
}

// BenchmarkAssessUniform100k: 100,000 synthetic incidents spread evenly over
// a 4° square (≈ 440 km) around the route, over two years.
func BenchmarkAssessUniform100k(b *testing.B) {
	benchAssess(b, synthetic(func(rng *rand.Rand) (float64, float64) {
		return 29.2 + rng.Float64()*4, 2.8 + rng.Float64()*4
	}), "uniform")
}

// BenchmarkAssessDense100k is the worst case: all 100,000 incidents within
// about 20 km of the route.
func BenchmarkAssessDense100k(b *testing.B) {
	benchAssess(b, synthetic(func(rng *rand.Rand) (float64, float64) {
		leg := rng.IntN(2)
		t := rng.Float64()
		a, c := benchRoute[leg], benchRoute[leg+1]
		return a[0] + (c[0]-a[0])*t + (rng.Float64()-0.5)*0.36, a[1] + (c[1]-a[1])*t + (rng.Float64()-0.5)*0.36
	}), "dense")
}

func synthetic(place func(*rand.Rand) (float64, float64)) []Incident {
	rng := rand.New(rand.NewPCG(2, 2))
	cats := bluehelm.Taxonomy
	incs := make([]Incident, benchIncidents)
	for i := range incs {
		lon, lat := place(rng)
		incs[i] = Incident{ID: int64(i + 1), Category: cats[rng.IntN(len(cats))].Code,
			At:       benchAt.Add(-time.Duration(rng.Int64N(int64(730 * 24 * time.Hour)))),
			Location: bluehelm.Point{Lon: lon, Lat: lat}, Casualties: rng.IntN(4)}
	}
	return incs
}

func benchAssess(b *testing.B, incs []Incident, what string) {
	idx := NewIndex(incs)
	in := benchInputs(idx)
	in.Until = benchAt.Add(10 * time.Hour)
	rep, err := Assess(benchRoute, in, Config{}, benchAt)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %.1f km, %d segments, %d incidents considered, score %.1f (%s)", what, rep.LengthKm, len(rep.Segments), rep.IncidentsConsidered, rep.Score, rep.Level)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Assess(benchRoute, in, Config{}, benchAt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndex100k is the one-off cost of indexing 100,000 incidents.
func BenchmarkIndex100k(b *testing.B) {
	incs := synthetic(func(rng *rand.Rand) (float64, float64) { return 29.2 + rng.Float64()*4, 2.8 + rng.Float64()*4 })
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(incs)
	}
}

// BenchmarkReach is one point against 50 facilities.
func BenchmarkReach(b *testing.B) {
	var fs []*bluehelm.MedicalFacility
	for i := range 50 {
		fs = append(fs, facility(int64(i+1), bluehelm.MedicalLevels[i%6], pt(float64(i*7), float64(i*3)), i%2 == 0))
	}
	cfg := DefaultConfig()
	for b.Loop() {
		Reach(pt(100, 50), fs, cfg, benchAt)
	}
}

// BenchmarkCoverage30Days: a 100 × 100 km AOR in 1 km cells, 100 tracks of
// 30 days reporting every 5 minutes while out (4 hours a day): 144,000 fixes.
func BenchmarkCoverage30Days(b *testing.B) {
	area := bluehelm.Geometry{Geometry: orb.Polygon{ringKm(0, 0, 100, 100)}}
	rng := rand.New(rand.NewPCG(3, 3))
	since := benchAt.Add(-30 * 24 * time.Hour)
	var traces [][]Fix
	for range 100 {
		var tr []Fix
		for d := range 30 {
			x, y := rng.Float64()*100, rng.Float64()*100
			t := since.Add(time.Duration(d)*24*time.Hour + 6*time.Hour)
			for range 48 {
				x, y = x+rng.Float64()*0.8-0.4, y+rng.Float64()*0.8-0.4
				tr = append(tr, Fix{Point: pt(x, y), At: t})
				t = t.Add(5 * time.Minute)
			}
		}
		traces = append(traces, tr)
	}
	c, _ := PatrolCoverage(area, traces, CoverageConfig{Since: since})
	b.Logf("covered %d of %d cells (%.1f%%)", c.Covered, c.Total, 100*c.Share)
	b.ReportAllocs()
	for b.Loop() {
		PatrolCoverage(area, traces, CoverageConfig{Since: since})
	}
}
