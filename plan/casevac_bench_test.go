package plan

import (
	"math/rand/v2"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// casevacFixture: 200 facilities of every level (half with a landing site)
// and 50 assets (one in three a helicopter) spread over a side × side km area.
func casevacFixture(side float64) ([]*bluehelm.MedicalFacility, []EvacAsset) {
	rng := rand.New(rand.NewPCG(8, 8))
	var fs []*bluehelm.MedicalFacility
	for i := range 200 {
		fs = append(fs, facility(int64(i+1), bluehelm.MedicalLevels[i%6], pt(rng.Float64()*side, rng.Float64()*side), i%2 == 0))
	}
	var as []EvacAsset
	for i := range 50 {
		m := bluehelm.MobilityMounted
		if i%3 == 0 {
			m = bluehelm.MobilityAir
		}
		as = append(as, EvacAsset{Unit: "A" + string(rune('A'+i%26)) + string(rune('0'+i/26)), Mobility: m, Position: pt(rng.Float64()*side, rng.Float64()*side)})
	}
	return fs, as
}

// BenchmarkCasevacRecommend: one request against 200 facilities and 50 assets
// (target ≤ 50 ms).
func BenchmarkCasevacRecommend(b *testing.B) {
	fs, as := casevacFixture(300)
	q := CasevacQuery{Pickup: pt(150, 150), WoundedAt: benchAt.Add(-10 * 60e9), Now: benchAt, Patients: 2, Surgical: true}
	cfg := DefaultConfig()
	for b.Loop() {
		Recommend(q, fs, as, cfg)
	}
}

// BenchmarkCasevacCoverage: a 300 × 300 km mission area on a 1 km grid (90,000
// cells), 200 facilities and 50 assets (target ≤ 2 s).
func BenchmarkCasevacCoverage(b *testing.B) {
	fs, as := casevacFixture(300)
	area := []bluehelm.Geometry{{Geometry: orb.Polygon{ringKm(0, 0, 300, 300)}}}
	cfg := DefaultConfig()
	for b.Loop() {
		if _, err := CasevacCoverage(area, fs, as, cfg, benchAt, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCasevacCoverageCountry: a country-sized mission area, 1,000 × 800 km
// on a 1 km grid (800,000 cells, near the largest grid allowed), with the same
// 200 facilities and 50 assets spread over it.
func BenchmarkCasevacCoverageCountry(b *testing.B) {
	fs, as := casevacFixture(800)
	area := []bluehelm.Geometry{{Geometry: orb.Polygon{ringKm(0, 0, 1000, 800)}}}
	cfg := DefaultConfig()
	for b.Loop() {
		if _, err := CasevacCoverage(area, fs, as, cfg, benchAt, 1); err != nil {
			b.Fatal(err)
		}
	}
}
