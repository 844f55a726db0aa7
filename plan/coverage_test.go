package plan

import (
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

func ringKm(w, s, e, n float64) orb.Ring {
	a, b, c, d := pt(w, s), pt(e, s), pt(e, n), pt(w, n)
	return orb.Ring{{a.Lon, a.Lat}, {b.Lon, b.Lat}, {c.Lon, c.Lat}, {d.Lon, d.Lat}, {a.Lon, a.Lat}}
}

// TestPatrolCoverage checks coverage on a 10 km square AOR at the equator,
// gridded in 1 km cells (100 cells, centres at 0.5, 1.5, … 9.5 km), buffer 500 m
// unless said otherwise.
func TestPatrolCoverage(t *testing.T) {
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return since.Add(time.Duration(min) * time.Minute) }
	square := bluehelm.Geometry{Geometry: orb.Polygon{ringKm(0, 0, 10, 10)}}
	holed := bluehelm.Geometry{Geometry: orb.Polygon{ringKm(0, 0, 10, 10), ringKm(3, 3, 5, 5)}}
	two := bluehelm.Geometry{Geometry: orb.MultiPolygon{{ringKm(0, 0, 10, 10)}, {ringKm(20, 0, 22, 2)}}}
	f := func(eastKm, northKm float64, t time.Time) Fix { return Fix{Point: pt(eastKm, northKm), At: t} }
	cases := []struct {
		name    string
		area    bluehelm.Geometry
		traces  [][]Fix
		buffer  float64
		covered int
		total   int
	}{
		{"nothing patrolled", square, nil, 0, 0, 100},
		// Along the centre line of the bottom row: its 10 cells (the next row's
		// centres are 1 km away, beyond the 500 m buffer).
		{"one row driven", square, [][]Fix{{f(0, 0.5, at(0)), f(10, 0.5, at(20))}}, 0, 10, 100},
		// The same with a 1 km buffer reaches the second row's centres too.
		{"one row, wide buffer", square, [][]Fix{{f(0, 0.5, at(0)), f(10, 0.5, at(20))}}, 1000, 20, 100},
		// Two fixes two hours apart are not joined: only their own cells.
		{"gap too long", square, [][]Fix{{f(0.5, 0.5, at(0)), f(9.5, 0.5, at(120))}}, 0, 2, 100},
		// A fix before Since is left out; one outside the AOR covers nothing.
		{"old and outside fixes", square, [][]Fix{{f(5.5, 5.5, since.Add(-time.Hour))}, {f(15, 5, at(1))}}, 0, 0, 100},
		// A planned route (no times) is joined: a diagonal from corner to corner
		// passes through the centres of the 10 diagonal cells; the off-diagonal
		// neighbours' centres are 0.707 km away, beyond the buffer.
		{"planned diagonal", square, [][]Fix{{{Point: pt(0, 0)}, {Point: pt(10, 10)}}}, 0, 10, 100},
		// The 2 × 2 km hole has no cells; driving through it covers only the
		// rest of row 3 (10 − 2 = 8 cells).
		{"hole", holed, [][]Fix{{f(0, 3.5, at(0)), f(10, 3.5, at(20))}}, 0, 8, 96},
		{"multipolygon", two, [][]Fix{{f(21.5, 1.5, at(0))}}, 0, 1, 104},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PatrolCoverage(c.area, c.traces, CoverageConfig{Since: since, BufferMeters: c.buffer})
			if err != nil {
				t.Fatal(err)
			}
			if got.Covered != c.covered || got.Total != c.total {
				t.Errorf("covered %d of %d, want %d of %d", got.Covered, got.Total, c.covered, c.total)
			}
			if want := float64(c.covered) / float64(c.total); got.Share != want {
				t.Errorf("share %v, want %v", got.Share, want)
			}
		})
	}
}

func TestPatrolCoverageBad(t *testing.T) {
	cases := []struct {
		name string
		area bluehelm.Geometry
		cfg  CoverageConfig
	}{
		{"a line", bluehelm.Geometry{Geometry: orb.LineString{{0, 0}, {1, 1}}}, CoverageConfig{}},
		{"no geometry", bluehelm.Geometry{}, CoverageConfig{}},
		{"tiny cells", bluehelm.Geometry{Geometry: orb.Polygon{ringKm(0, 0, 10, 10)}}, CoverageConfig{CellMeters: 1}},
		{"too many cells", bluehelm.Geometry{Geometry: orb.Polygon{ringKm(0, 0, 1000, 1000)}}, CoverageConfig{CellMeters: 100}},
	}
	for _, c := range cases {
		if _, err := PatrolCoverage(c.area, nil, c.cfg); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
