package live

import (
	"math"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// metresPerDegree is the length of a degree of latitude on a sphere of the Earth's
// mean radius (6,371,008.8 m).
const metresPerDegree = 6371008.8 * math.Pi / 180

// vec is a point in a shape's local plane, in metres.
type vec struct{ x, y float64 }

// shape is an area's polygon prepared for the geofencer's three questions — is a
// point inside, where does a segment cross the outline, is a point within r metres
// of the outline — at a cost that does not grow with the number of corners.
//
// Coordinates are projected once to a local plane in metres (equirectangular about
// the shape's centre): the projection is affine in lon/lat, so insideness and the
// fraction at which a segment crosses an edge are exactly those of lon/lat, and
// distances are metres to within the cosine's change across the shape (under 1 %
// for an area 100 km tall near the equator).
//
// The edges of every ring (shells and holes of all parts alike: the even-odd rule
// gives the inside of a valid polygon) are bucketed by horizontal bands of equal
// height, about one band per two edges, and each band lists the edges whose
// latitude range overlaps it. A point test looks at one band; a segment or a
// distance test at the bands its latitude range covers. For the rings of real
// areas (short edges) a band holds a handful of edges, so a 2,000-corner camp
// outline costs about what a square does.
type shape struct {
	lon0, lat0, kx float64 // projection: x = (lon-lon0)*kx, y = (lat-lat0)*metresPerDegree
	edges          []edge
	minX, maxX     float64
	minY, maxY     float64
	bandH          float64
	start          []int32 // band b's edges are list[start[b]:start[b+1]]
	list           []int32
	// thick is twice the area over the perimeter: the radius of a disc, half the
	// width of a long strip. It bounds the hysteresis margin of small areas.
	thick float64
}

type edge struct{ a, b vec }

func newShape(g bluehelm.Geometry) *shape {
	var polys []orb.Polygon
	switch v := g.Geometry.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{v}
	case orb.MultiPolygon:
		polys = v
	}
	bb := g.Bound()
	s := &shape{lon0: (bb.MinLon + bb.MaxLon) / 2, lat0: (bb.MinLat + bb.MaxLat) / 2}
	s.kx = metresPerDegree * math.Cos(s.lat0*math.Pi/180)
	s.minX, s.minY, s.maxX, s.maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	var area, perimeter float64
	for _, poly := range polys {
		for ri, ring := range poly {
			var signed float64
			for i := 0; i+1 < len(ring); i++ {
				a := s.project(ring[i][0], ring[i][1])
				b := s.project(ring[i+1][0], ring[i+1][1])
				if a == b {
					continue
				}
				s.edges = append(s.edges, edge{a, b})
				signed += a.x*b.y - b.x*a.y
				perimeter += math.Hypot(b.x-a.x, b.y-a.y)
				s.minX, s.maxX = math.Min(s.minX, math.Min(a.x, b.x)), math.Max(s.maxX, math.Max(a.x, b.x))
				s.minY, s.maxY = math.Min(s.minY, math.Min(a.y, b.y)), math.Max(s.maxY, math.Max(a.y, b.y))
			}
			if ri == 0 {
				area += math.Abs(signed) / 2
			} else {
				area -= math.Abs(signed) / 2
			}
		}
	}
	if perimeter > 0 {
		s.thick = 2 * area / perimeter
	}
	nb := max(1, min(len(s.edges)/2, 1<<16))
	s.bandH = (s.maxY - s.minY) / float64(nb)
	if s.bandH <= 0 || math.IsNaN(s.bandH) {
		nb, s.bandH = 1, 1
	}
	s.start = make([]int32, nb+1)
	for _, e := range s.edges {
		b0, b1 := s.bands(math.Min(e.a.y, e.b.y), math.Max(e.a.y, e.b.y))
		for b := b0; b <= b1; b++ {
			s.start[b+1]++
		}
	}
	for b := 1; b <= nb; b++ {
		s.start[b] += s.start[b-1]
	}
	s.list = make([]int32, s.start[nb])
	fill := append([]int32(nil), s.start[:nb]...)
	for i, e := range s.edges {
		b0, b1 := s.bands(math.Min(e.a.y, e.b.y), math.Max(e.a.y, e.b.y))
		for b := b0; b <= b1; b++ {
			s.list[fill[b]] = int32(i)
			fill[b]++
		}
	}
	return s
}

func (s *shape) project(lon, lat float64) vec {
	return vec{(lon - s.lon0) * s.kx, (lat - s.lat0) * metresPerDegree}
}

// unproject is project's inverse.
func (s *shape) unproject(v vec) bluehelm.Point {
	return bluehelm.Point{Lon: s.lon0 + v.x/s.kx, Lat: s.lat0 + v.y/metresPerDegree}
}

// bands returns the range of bands that the latitude range y0..y1 overlaps,
// clamped to the shape's.
func (s *shape) bands(y0, y1 float64) (int, int) {
	nb := len(s.start) - 1
	b0 := int((y0 - s.minY) / s.bandH)
	b1 := int((y1 - s.minY) / s.bandH)
	return max(0, min(b0, nb-1)), max(0, min(b1, nb-1))
}

func (s *shape) band(b int) []int32 { return s.list[s.start[b]:s.start[b+1]] }

// contains reports whether p is inside (even-odd rule; a point on an edge may go
// either way, which the hysteresis margin makes irrelevant).
func (s *shape) contains(p vec) bool {
	if p.x < s.minX || p.x > s.maxX || p.y < s.minY || p.y > s.maxY {
		return false
	}
	b, _ := s.bands(p.y, p.y)
	in := false
	for _, i := range s.band(b) {
		e := &s.edges[i]
		if (e.a.y > p.y) != (e.b.y > p.y) &&
			p.x < e.a.x+(p.y-e.a.y)*(e.b.x-e.a.x)/(e.b.y-e.a.y) {
			in = !in
		}
	}
	return in
}

// crossings appends to ts the fractions t in [0, 1] of segment a→b at which it
// meets an edge, unsorted. Edges parallel to the segment are skipped: where the
// segment runs along the outline, the classification of the pieces around it
// (by their midpoints) still says what happened.
func (s *shape) crossings(a, b vec, ts []float64) []float64 {
	lx, hx := math.Min(a.x, b.x), math.Max(a.x, b.x)
	ly, hy := math.Min(a.y, b.y), math.Max(a.y, b.y)
	if hx < s.minX || lx > s.maxX || hy < s.minY || ly > s.maxY {
		return ts
	}
	b0, b1 := s.bands(ly, hy)
	r := vec{b.x - a.x, b.y - a.y}
	for band := b0; band <= b1; band++ {
		for _, i := range s.band(band) {
			e := &s.edges[i]
			ey0, ey1 := math.Min(e.a.y, e.b.y), math.Max(e.a.y, e.b.y)
			// An edge spanning several of the bands is looked at in the first only.
			if first, _ := s.bands(ey0, ey0); max(first, b0) != band {
				continue
			}
			if ey1 < ly || ey0 > hy || math.Max(e.a.x, e.b.x) < lx || math.Min(e.a.x, e.b.x) > hx {
				continue
			}
			sv := vec{e.b.x - e.a.x, e.b.y - e.a.y}
			den := r.x*sv.y - r.y*sv.x
			if den == 0 {
				continue
			}
			q := vec{e.a.x - a.x, e.a.y - a.y}
			t := (q.x*sv.y - q.y*sv.x) / den
			u := (q.x*r.y - q.y*r.x) / den
			if t >= 0 && t <= 1 && u >= 0 && u <= 1 {
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// near reports whether p is within r metres of an edge.
func (s *shape) near(p vec, r float64) bool {
	if p.x < s.minX-r || p.x > s.maxX+r || p.y < s.minY-r || p.y > s.maxY+r {
		return false
	}
	b0, b1 := s.bands(p.y-r, p.y+r)
	r2 := r * r
	for band := b0; band <= b1; band++ {
		for _, i := range s.band(band) {
			e := &s.edges[i]
			if math.Max(e.a.x, e.b.x) < p.x-r || math.Min(e.a.x, e.b.x) > p.x+r {
				continue
			}
			if distSq(p, e.a, e.b) <= r2 {
				return true
			}
		}
	}
	return false
}

// distSq is the squared distance from p to the segment a-b.
func distSq(p, a, b vec) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/l))
	}
	ex, ey := a.x+t*dx-p.x, a.y+t*dy-p.y
	return ex*ex + ey*ey
}
