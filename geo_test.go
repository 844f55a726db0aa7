package bluehelm_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

func TestRing(t *testing.T) {
	bad := []struct{ name, in string }{
		{"odd count", "31,4,32,5,33"},
		{"not a number", "31,4,32,x,33,5"},
		{"two corners", "31,4,32,5"},
		{"three corners, two the same", "31,4,32,5,31,4"},
		{"off the Earth", "31,4,32,5,200,5"},
		{"empty", ""},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := bluehelm.ParseRing(c.in); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
				t.Errorf("ParseRing(%q) = %v, want an invalid-input error", c.in, err)
			}
		})
	}

	// An L, open (the closing edge is implied): concave, so its bounding box
	// holds points it does not.
	ell, err := bluehelm.ParseRing("27,6,31,6,31,7,28,7,28,9,27,9")
	if err != nil {
		t.Fatal(err)
	}
	if b := ell.Bound(); b != (bluehelm.BBox{MinLon: 27, MinLat: 6, MaxLon: 31, MaxLat: 9}) {
		t.Errorf("Bound = %+v", b)
	}
	if c := ell.Closed(); len(c) != 7 || c[6] != c[0] || len(ell) != 6 {
		t.Errorf("Closed = %v (ring now %v)", c, ell)
	}
	points := []struct {
		name string
		p    bluehelm.Point
		in   bool
	}{
		{"in the foot", bluehelm.Point{Lon: 30, Lat: 6.5}, true},
		{"in the stem", bluehelm.Point{Lon: 27.5, Lat: 8.5}, true},
		{"in the notch", bluehelm.Point{Lon: 30, Lat: 8.5}, false},
		{"outside the box", bluehelm.Point{Lon: 32, Lat: 6.5}, false},
	}
	for _, c := range points {
		if got := ell.Contains(c.p); got != c.in {
			t.Errorf("%s: Contains(%v) = %v", c.name, c.p, got)
		}
	}
}

// circle returns a closed ring of n corners around lon,lat.
func circle(lon, lat, r float64, n int) orb.Ring {
	ring := make(orb.Ring, 0, n+1)
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		ring = append(ring, orb.Point{lon + r*math.Cos(a), lat + r*math.Sin(a)})
	}
	return append(ring, ring[0])
}

func TestGeometryValidateRings(t *testing.T) {
	sq := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	big := circle(30, 7, 1, 99999) // 100,000 positions: the most a ring may have
	crossedBig := slices.Clone(big)
	// Swap two neighbouring corners far into the ring: their edges now cross.
	crossedBig[60000], crossedBig[60001] = crossedBig[60001], crossedBig[60000]
	tests := []struct {
		name  string
		g     orb.Geometry
		field string // "" means valid
		msg   []string
	}{
		{"square", orb.Polygon{sq}, "", nil},
		{"square with repeated corners", orb.Polygon{{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}, "", nil},
		{"concave L", orb.Polygon{{{0, 0}, {4, 0}, {4, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}, "", nil},
		{"square with a hole", orb.Polygon{sq, {{0.2, 0.2}, {0.2, 0.8}, {0.8, 0.8}, {0.8, 0.2}, {0.2, 0.2}}}, "", nil},
		{"100,000 positions", orb.Polygon{big}, "", nil},
		{"bow tie", orb.Polygon{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}, "geometry.coordinates[0]",
			[]string{"crosses itself", "position 0 to 1", "position 2 to 3", "near 0.5,0.5"}},
		{"two loops touching at a corner", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {2, 1}, {2, 2}, {1, 2}, {1, 1}, {0, 1}, {0, 0}}},
			"geometry.coordinates[0]", []string{"crosses itself", "near 1,1"}},
		{"corner on another edge", orb.Polygon{{{0, 0}, {4, 0}, {4, 2}, {2, 0}, {0, 2}, {0, 0}}}, "geometry.coordinates[0]",
			[]string{"crosses itself", "near 2,0"}},
		{"spike folding back", orb.Polygon{{{0, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 0}}}, "geometry.coordinates[0]",
			[]string{"crosses itself", "position 0 to 1", "position 1 to 2"}},
		{"edges overlapping along a line", orb.Polygon{{{0, 0}, {3, 0}, {3, 1}, {2, 1}, {2, 0}, {1, 0}, {1, 2}, {0, 2}, {0, 0}}}, "geometry.coordinates[0]",
			[]string{"crosses itself"}},
		{"two distinct positions", orb.Polygon{{{0, 0}, {1, 1}, {0, 0}, {0, 0}}}, "geometry.coordinates[0]", []string{"three distinct"}},
		{"crossing in the hole", orb.Polygon{sq, {{0.2, 0.2}, {0.8, 0.8}, {0.8, 0.2}, {0.2, 0.8}, {0.2, 0.2}}}, "geometry.coordinates[1]",
			[]string{"crosses itself"}},
		{"crossing in a large ring", orb.Polygon{crossedBig}, "geometry.coordinates[0]", []string{"position 59999 to 60000", "position 60001 to 60002"}},
		{"crossing in the second polygon", orb.MultiPolygon{{sq}, {{{5, 5}, {6, 6}, {6, 5}, {5, 6}, {5, 5}}}}, "geometry.coordinates[1][0]",
			[]string{"crosses itself"}},
		{"a route may cross itself", orb.LineString{{0, 0}, {1, 1}, {1, 0}, {0, 1}}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := bluehelm.Geometry{Geometry: tc.g}.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			if bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != tc.field {
				t.Fatalf("Validate = %v, want invalid %s", err, tc.field)
			}
			for _, m := range tc.msg {
				if !strings.Contains(bluehelm.ErrorMessage(err), m) {
					t.Errorf("message %q does not say %q", bluehelm.ErrorMessage(err), m)
				}
			}
		})
	}
}
