package forecast

import (
	"math"
	"testing"

	"github.com/bluehelm/bluehelm"
)

// Central African Republic, roughly: the bbox the benchmarks use too.
var carBBox = bluehelm.BBox{MinLon: 14.4, MinLat: 2.2, MaxLon: 27.5, MaxLat: 11.0}

func TestNewGridSizes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		area   bluehelm.BBox
		km     float64
		nx, ny int
	}{
		// 1° of latitude is 111.195 km; at the equator 1° of longitude too.
		{"equator 1°×1° at 10 km", bluehelm.BBox{MinLon: 0, MinLat: -0.5, MaxLon: 1, MaxLat: 0.5}, 10, 12, 12},
		{"exact multiple has no sliver", bluehelm.BBox{MinLon: 0, MinLat: -0.5, MaxLon: 1, MaxLat: 0.5}, earthRadiusKm * math.Pi / 180, 1, 1},
		{"a point area is one cell", bluehelm.BBox{MinLon: 5, MinLat: 5, MaxLon: 5, MaxLat: 5}, 5, 1, 1},
		// CAR: 13.1° × 111.195 × cos(6.6°) = 1446.9 km → 290 cells of 5 km; 8.8° → 979 km → 196.
		{"CAR at 5 km", carBBox, 5, 290, 196},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGrid(tc.area, tc.km)
			if err != nil {
				t.Fatal(err)
			}
			if g.nx != tc.nx || g.ny != tc.ny || g.Len() != tc.nx*tc.ny {
				t.Fatalf("got %d×%d (len %d), want %d×%d", g.nx, g.ny, g.Len(), tc.nx, tc.ny)
			}
			if w, h := g.cellW(), g.cellH(); math.Abs(w-tc.km) > 1e-9 || math.Abs(h-tc.km) > 1e-9 {
				t.Fatalf("cell is %v×%v km, want %v", w, h, tc.km)
			}
		})
	}
}

func TestGridErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() (*Grid, error)
	}{
		{"zero km", func() (*Grid, error) { return NewGrid(carBBox, 0) }},
		{"NaN km", func() (*Grid, error) { return NewGrid(carBBox, math.NaN()) }},
		{"negative deg", func() (*Grid, error) { return NewDegreeGrid(carBBox, -0.5) }},
		{"bad bbox", func() (*Grid, error) { return NewGrid(bluehelm.BBox{MinLon: 10, MaxLon: 5}, 5) }},
		{"too many cells", func() (*Grid, error) { return NewGrid(carBBox, 0.05) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.f(); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestDegreeGridIsPrioGridAligned(t *testing.T) {
	g, err := NewDegreeGrid(carBBox, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// 14.4 → edge 14.0; 27.5 is an edge, so the last column is 27.0–27.5: 27 columns.
	// 2.2 → 2.0; 11.0 is an edge: 18 rows.
	if g.nx != 27 || g.ny != 18 {
		t.Fatalf("got %d×%d, want 27×18", g.nx, g.ny)
	}
	for _, tc := range []struct {
		p    bluehelm.Point
		want bluehelm.BBox
	}{
		{bluehelm.Point{Lon: 18.55, Lat: 4.36}, bluehelm.BBox{MinLon: 18.5, MinLat: 4, MaxLon: 19, MaxLat: 4.5}}, // Bangui
		{bluehelm.Point{Lon: 14.4, Lat: 2.2}, bluehelm.BBox{MinLon: 14, MinLat: 2, MaxLon: 14.5, MaxLat: 2.5}},
		{bluehelm.Point{Lon: 27.5, Lat: 11}, bluehelm.BBox{MinLon: 27, MinLat: 10.5, MaxLon: 27.5, MaxLat: 11}}, // closed NE edge
		{bluehelm.Point{Lon: 15, Lat: 3}, bluehelm.BBox{MinLon: 15, MinLat: 3, MaxLon: 15.5, MaxLat: 3.5}},      // half-open W/S edges
	} {
		i, ok := g.Cell(tc.p)
		if !ok {
			t.Fatalf("%v: not in grid", tc.p)
		}
		if b := g.Bounds(i); b != tc.want {
			t.Errorf("%v: cell %d bounds %v, want %v", tc.p, i, b, tc.want)
		}
		c := g.Center(i)
		if want := (bluehelm.Point{Lon: (tc.want.MinLon + tc.want.MaxLon) / 2, Lat: (tc.want.MinLat + tc.want.MaxLat) / 2}); c != want {
			t.Errorf("centre %v, want %v", c, want)
		}
	}
	// A PRIO-GRID cell at the equator is 55.6 × 55.6 km ≈ 3091 km².
	eq, _ := NewDegreeGrid(bluehelm.BBox{MinLon: 0, MinLat: 0, MaxLon: 0.5, MaxLat: 0.5}, 0.5)
	if a := eq.AreaKm2(0); math.Abs(a-3091) > 2 {
		t.Errorf("area %v km², want ≈3091", a)
	}
}

func TestCellCenterRoundTripAndOutside(t *testing.T) {
	g, err := NewGrid(carBBox, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < g.Len(); i += 997 {
		if j, ok := g.Cell(g.Center(i)); !ok || j != i {
			t.Fatalf("Cell(Center(%d)) = %d, %v", i, j, ok)
		}
		x0, y0, x1, y1 := g.rect(i)
		cx, cy := g.xy(g.Center(i))
		if math.Abs((x0+x1)/2-cx) > 1e-6 || math.Abs((y0+y1)/2-cy) > 1e-6 {
			t.Fatalf("rect of %d not centred on its centre", i)
		}
	}
	for _, p := range []bluehelm.Point{{Lon: 14.3, Lat: 5}, {Lon: 20, Lat: 2.1}, {Lon: 40, Lat: 5}, {Lon: math.NaN(), Lat: 5}} {
		if _, ok := g.Cell(p); ok {
			t.Errorf("%v is outside but got a cell", p)
		}
	}
}

func TestRestrict(t *testing.T) {
	g, _ := NewDegreeGrid(bluehelm.BBox{MinLon: 0, MinLat: 0, MaxLon: 2, MaxLat: 1}, 0.5) // 4×2
	// Keep the odd cells: lattice cells 1, 3, 5, 7 become cells 0..3.
	r := g.Restrict(func(i int) bool { return i%2 == 1 })
	if r.Len() != 4 {
		t.Fatalf("len %d", r.Len())
	}
	for i := 0; i < r.Len(); i++ {
		if r.Bounds(i) != g.Bounds(2*i+1) {
			t.Errorf("cell %d: %v, want %v", i, r.Bounds(i), g.Bounds(2*i+1))
		}
		if j, ok := r.Cell(r.Center(i)); !ok || j != i {
			t.Errorf("Cell(Center(%d)) = %d, %v", i, j, ok)
		}
	}
	if _, ok := r.Cell(g.Center(0)); ok {
		t.Error("a dropped cell's point maps to a cell")
	}
	// Restricting again renumbers relative to the restricted grid.
	rr := r.Restrict(func(i int) bool { return i >= 2 })
	if rr.Len() != 2 || rr.Bounds(0) != g.Bounds(5) {
		t.Fatalf("second restrict: len %d, first %v", rr.Len(), rr.Bounds(0))
	}
	if g.Len() != 8 {
		t.Fatal("Restrict changed the original")
	}
}
