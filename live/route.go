package live

import (
	"math"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// plane is a local equirectangular projection to metres about a reference point:
// good to well under 1 % over a few hundred kilometres, which is all a patrol
// route or a proximity distance spans.
type plane struct{ lon0, lat0, kx float64 }

func newPlane(lon0, lat0 float64) plane {
	return plane{lon0, lat0, metresPerDegree * math.Cos(lat0*math.Pi/180)}
}

func (p plane) project(pt bluehelm.Point) vec {
	return vec{(pt.Lon - p.lon0) * p.kx, (pt.Lat - p.lat0) * metresPerDegree}
}

func (p plane) unproject(v vec) bluehelm.Point {
	return bluehelm.Point{Lon: p.lon0 + v.x/p.kx, Lat: p.lat0 + v.y/metresPerDegree}
}

// metres returns the distance between two points in metres (equirectangular about
// their middle).
func metres(a, b bluehelm.Point) float64 {
	pl := newPlane((a.Lon+b.Lon)/2, (a.Lat+b.Lat)/2)
	va, vb := pl.project(a), pl.project(b)
	return math.Hypot(va.x-vb.x, va.y-vb.y)
}

// routeIndex answers "how far is this point from the route" for a route of up to
// 10,000 points with an R-tree of its segments' boxes, in metres.
type routeIndex struct {
	pl    plane
	pts   []vec
	index rtree.RTreeG[int32] // segment i runs from pts[i] to pts[i+1]
}

func newRouteIndex(ls orb.LineString) *routeIndex {
	if len(ls) == 0 {
		return nil
	}
	b := ls.Bound()
	r := &routeIndex{pl: newPlane((b.Min[0]+b.Max[0])/2, (b.Min[1]+b.Max[1])/2)}
	for _, p := range ls {
		r.pts = append(r.pts, r.pl.project(bluehelm.Point{Lon: p[0], Lat: p[1]}))
	}
	if len(r.pts) == 1 {
		r.pts = append(r.pts, r.pts[0])
	}
	for i := 0; i+1 < len(r.pts); i++ {
		a, c := r.pts[i], r.pts[i+1]
		r.index.Insert([2]float64{math.Min(a.x, c.x), math.Min(a.y, c.y)}, [2]float64{math.Max(a.x, c.x), math.Max(a.y, c.y)}, int32(i))
	}
	return r
}

// distance returns the distance in metres from p to the route if it is at most
// within, and +Inf otherwise: looking only within a box keeps it to the few
// segments nearby.
func (r *routeIndex) distance(p bluehelm.Point, within float64) float64 {
	v := r.pl.project(p)
	best := math.Inf(1)
	r.index.Search([2]float64{v.x - within, v.y - within}, [2]float64{v.x + within, v.y + within},
		func(_, _ [2]float64, i int32) bool {
			best = math.Min(best, distSq(v, r.pts[i], r.pts[i+1]))
			return true
		})
	if d := math.Sqrt(best); d <= within {
		return d
	}
	return math.Inf(1)
}

// firstWithin returns the first fraction t of segment a→b at which it comes within
// r metres of c, if it does.
func firstWithin(a, b, c bluehelm.Point, r float64) (float64, bool) {
	pl := newPlane(c.Lon, c.Lat)
	va, vb := pl.project(a), pl.project(b)
	// |va + t(vb-va)|² = r², smallest t in [0, 1].
	dx, dy := vb.x-va.x, vb.y-va.y
	qa := dx*dx + dy*dy
	qb := 2 * (va.x*dx + va.y*dy)
	qc := va.x*va.x + va.y*va.y - r*r
	if qc <= 0 {
		return 0, true // already within at a
	}
	if qa == 0 {
		return 0, false
	}
	disc := qb*qb - 4*qa*qc
	if disc < 0 {
		return 0, false
	}
	t := (-qb - math.Sqrt(disc)) / (2 * qa)
	if t < 0 || t > 1 {
		return 0, false
	}
	return t, true
}
