package ogcapi

import (
	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// intersectsBox reports whether an area's geometry meets box b (edges included).
// OGC API – Features asks for features whose geometry intersects the box, not
// whose bounding box does: an L-shaped sector or a bent route can have a bounding
// box over the query while staying well away from it.
func intersectsBox(g bluehelm.Geometry, b bluehelm.BBox) bool {
	if g.Geometry == nil || !g.Bound().Intersects(b) {
		return false
	}
	var lines []orb.LineString
	switch v := g.Geometry.(type) {
	case orb.LineString:
		lines = []orb.LineString{v}
	case orb.Polygon:
		for _, r := range v {
			lines = append(lines, orb.LineString(r))
		}
	case orb.MultiPolygon:
		for _, poly := range v {
			for _, r := range poly {
				lines = append(lines, orb.LineString(r))
			}
		}
	default:
		// Validation admits nothing else; the bounding box is the safe answer.
		return true
	}
	for _, l := range lines {
		for i := 1; i < len(l); i++ {
			if segmentMeetsBox(l[i-1], l[i], b) {
				return true
			}
		}
	}
	// No boundary meets the box, so the box is wholly inside a polygon or wholly
	// outside the geometry: one corner tells which (a line contains nothing).
	return g.Contains(bluehelm.Point{Lon: b.MinLon, Lat: b.MinLat})
}

// segmentMeetsBox clips the segment p→q to b (Liang–Barsky) and reports whether
// anything is left.
func segmentMeetsBox(p, q orb.Point, b bluehelm.BBox) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := q[0]-p[0], q[1]-p[1]
	for _, c := range [4]struct{ num, den float64 }{
		{p[0] - b.MinLon, -dx}, // left:   x >= MinLon
		{b.MaxLon - p[0], dx},  // right:  x <= MaxLon
		{p[1] - b.MinLat, -dy}, // bottom: y >= MinLat
		{b.MaxLat - p[1], dy},  // top:    y <= MaxLat
	} {
		// Inequality: den*t <= num.
		switch {
		case c.den == 0:
			if c.num < 0 {
				return false // parallel to this edge and outside it
			}
		case c.den > 0:
			if t := c.num / c.den; t < t1 {
				t1 = t
			}
		default:
			if t := c.num / c.den; t > t0 {
				t0 = t
			}
		}
		if t0 > t1 {
			return false
		}
	}
	return true
}
