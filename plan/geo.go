package plan

import (
	"math"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
)

// metresPerDegree is the length of a degree of latitude on the sphere orb uses.
const metresPerDegree = orb.EarthRadius * math.Pi / 180

// distanceKm is the great-circle distance between two points.
func distanceKm(a, b bluehelm.Point) float64 {
	return geo.DistanceHaversine(orb.Point{a.Lon, a.Lat}, orb.Point{b.Lon, b.Lat}) / 1000
}

// frame is a local flat projection (equirectangular about a reference
// latitude), in metres. Over the few kilometres around a segment it is within a
// fraction of a percent of the great-circle distance, and it keeps distance
// tests to multiplications.
type frame struct {
	lon0, lat0 float64
	kx, ky     float64 // metres per degree of longitude, latitude
}

func newFrame(lon0, lat0 float64) frame {
	return frame{lon0: lon0, lat0: lat0, kx: metresPerDegree * math.Cos(lat0*math.Pi/180), ky: metresPerDegree}
}

func (f frame) xy(lon, lat float64) (x, y float64) {
	return (lon - f.lon0) * f.kx, (lat - f.lat0) * f.ky
}

// segDist is the distance from (px, py) to the segment (ax, ay)–(bx, by).
func segDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((px-ax)*dx + (py-ay)*dy) / l2
		t = max(0, min(1, t))
	}
	ex, ey := px-(ax+t*dx), py-(ay+t*dy)
	return math.Hypot(ex, ey)
}

// degreesFor returns the longitude and latitude spans of d metres at latitude
// lat, for the boxes that pre-select candidates.
func degreesFor(d, lat float64) (dlon, dlat float64) {
	c := math.Cos(math.Min(89, math.Abs(lat)) * math.Pi / 180)
	return d / (metresPerDegree * c), d / metresPerDegree
}

// segmentsCross reports whether segments p1–p2 and q1–q2 share a point
// (touching counts).
func segmentsCross(p1, p2, q1, q2 orb.Point) bool {
	d1 := orient(q1, q2, p1)
	d2 := orient(q1, q2, p2)
	d3 := orient(p1, p2, q1)
	d4 := orient(p1, p2, q2)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(q1, q2, p1)) || (d2 == 0 && onSegment(q1, q2, p2)) ||
		(d3 == 0 && onSegment(p1, p2, q1)) || (d4 == 0 && onSegment(p1, p2, q2))
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// onSegment reports whether c, collinear with a–b, lies within its box.
func onSegment(a, b, c orb.Point) bool {
	return c[0] >= math.Min(a[0], b[0]) && c[0] <= math.Max(a[0], b[0]) &&
		c[1] >= math.Min(a[1], b[1]) && c[1] <= math.Max(a[1], b[1])
}

// polygonMeetsSegment reports whether the segment a–b has any point in the
// polygon: an end inside, or a crossing of any ring (so a segment passing
// through a small area with both ends outside is caught). Coordinates are
// lon/lat taken as planar, which is what the areas are drawn in.
func polygonMeetsSegment(poly orb.Polygon, a, b orb.Point) bool {
	if planar.PolygonContains(poly, a) || planar.PolygonContains(poly, b) {
		return true
	}
	for _, ring := range poly {
		for i := 1; i < len(ring); i++ {
			if segmentsCross(a, b, ring[i-1], ring[i]) {
				return true
			}
		}
	}
	return false
}

// geometryMeetsSegment is polygonMeetsSegment over a Polygon or MultiPolygon;
// other geometries have no inside.
func geometryMeetsSegment(g orb.Geometry, a, b orb.Point) bool {
	switch v := g.(type) {
	case orb.Polygon:
		return polygonMeetsSegment(v, a, b)
	case orb.MultiPolygon:
		for _, p := range v {
			if polygonMeetsSegment(p, a, b) {
				return true
			}
		}
	}
	return false
}
