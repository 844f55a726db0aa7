package bluehelm_test

import (
	"testing"

	"github.com/bluehelm/bluehelm"
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
