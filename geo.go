package bluehelm

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Point is a WGS 84 position. On the wire it is a GeoJSON Point geometry.
type Point struct {
	Lon float64
	Lat float64
}

// Validate checks the point is on Earth.
func (p Point) Validate() error {
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		return Invalid("lat", "latitude %v is outside -90..90", p.Lat)
	}
	if math.IsNaN(p.Lon) || p.Lon < -180 || p.Lon > 180 {
		return Invalid("lon", "longitude %v is outside -180..180", p.Lon)
	}
	return nil
}

func (p Point) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = append(b, `{"type":"Point","coordinates":[`...)
	b = strconv.AppendFloat(b, p.Lon, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, p.Lat, 'f', -1, 64)
	return append(b, "]}"...), nil
}

func (p *Point) UnmarshalJSON(b []byte) error {
	var g struct {
		Type        string    `json:"type"`
		Coordinates []float64 `json:"coordinates"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		return Invalid("", "must be a GeoJSON Point")
	}
	if g.Type != "Point" || len(g.Coordinates) < 2 || len(g.Coordinates) > 3 {
		return Invalid("", "must be a GeoJSON Point with [lon, lat] coordinates")
	}
	*p = Point{Lon: g.Coordinates[0], Lat: g.Coordinates[1]}
	return p.Validate()
}

// BBox is a lon/lat box. It does not cross the antimeridian (no mission area does).
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// ParseBBox reads "minLon,minLat,maxLon,maxLat" as used by OGC API and our query strings.
func ParseBBox(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return BBox{}, Invalid("bbox", "want minLon,minLat,maxLon,maxLat")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return BBox{}, Invalid("bbox", "%q is not a number", p)
		}
		v[i] = f
	}
	b := BBox{v[0], v[1], v[2], v[3]}
	return b, b.Validate()
}

// Validate checks the box is ordered and on Earth.
func (b BBox) Validate() error {
	if err := (Point{b.MinLon, b.MinLat}).Validate(); err != nil {
		return Invalid("bbox", "%s", ErrorMessage(err))
	}
	if err := (Point{b.MaxLon, b.MaxLat}).Validate(); err != nil {
		return Invalid("bbox", "%s", ErrorMessage(err))
	}
	if b.MinLon > b.MaxLon || b.MinLat > b.MaxLat {
		return Invalid("bbox", "min must not exceed max")
	}
	return nil
}

// Contains reports whether p is inside or on the edge of b.
func (b BBox) Contains(p Point) bool {
	return p.Lon >= b.MinLon && p.Lon <= b.MaxLon && p.Lat >= b.MinLat && p.Lat <= b.MaxLat
}

// Intersects reports whether two boxes overlap.
func (b BBox) Intersects(o BBox) bool {
	return b.MinLon <= o.MaxLon && o.MinLon <= b.MaxLon && b.MinLat <= o.MaxLat && o.MinLat <= b.MaxLat
}

// Ring is an area a person draws to search in (on the map, around a town or a
// road): its corners in order, closed or not; the edge from the last corner back
// to the first is implied.
type Ring []Point

// MaxRingCorners bounds a drawn ring: enough for any hand-drawn outline, few
// enough that testing a point against it stays cheap.
const MaxRingCorners = 500

// ParseRing reads "lon,lat,lon,lat,…" (the bbox style of our query strings).
func ParseRing(s string) (Ring, error) {
	parts := strings.Split(s, ",")
	if len(parts)%2 != 0 {
		return nil, Invalid("", "want lon,lat pairs: an odd count of numbers")
	}
	r := make(Ring, 0, len(parts)/2)
	for i := 0; i < len(parts); i += 2 {
		var v [2]float64
		for j := range v {
			f, err := strconv.ParseFloat(strings.TrimSpace(parts[i+j]), 64)
			if err != nil {
				return nil, Invalid("", "%q is not a number", parts[i+j])
			}
			v[j] = f
		}
		r = append(r, Point{Lon: v[0], Lat: v[1]})
	}
	return r, r.Validate()
}

// Validate checks that the ring has at least three distinct corners on Earth
// and at most MaxRingCorners.
func (r Ring) Validate() error {
	if len(r) > MaxRingCorners+1 {
		return Invalid("", "more than %d corners", MaxRingCorners)
	}
	distinct := map[Point]bool{}
	for i, p := range r {
		if err := p.Validate(); err != nil {
			return Invalid("", "corner %d: %s", i+1, ErrorMessage(err))
		}
		distinct[p] = true
	}
	if len(distinct) < 3 {
		return Invalid("", "an area needs at least three distinct corners")
	}
	return nil
}

// Bound returns the ring's bounding box.
func (r Ring) Bound() BBox {
	b := BBox{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range r {
		b.MinLon, b.MaxLon = math.Min(b.MinLon, p.Lon), math.Max(b.MaxLon, p.Lon)
		b.MinLat, b.MaxLat = math.Min(b.MinLat, p.Lat), math.Max(b.MaxLat, p.Lat)
	}
	return b
}

// Closed returns the corners with the first repeated at the end, as GeoJSON and
// SQLite's geopoly want a ring.
func (r Ring) Closed() []Point {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		return append(r[:len(r):len(r)], r[0])
	}
	return r
}

// Contains reports whether p lies inside the ring or on its edge.
func (r Ring) Contains(p Point) bool {
	c := r.Closed()
	ring := make(orb.Ring, len(c))
	for i, q := range c {
		ring[i] = orb.Point{q.Lon, q.Lat}
	}
	return planar.RingContains(ring, orb.Point{p.Lon, p.Lat})
}

// World is the box of the whole Earth.
var World = BBox{-180, -90, 180, 90}

// Geometry is an area's shape: a GeoJSON Polygon, MultiPolygon or LineString (routes).
type Geometry struct {
	orb.Geometry
}

// Bound returns the geometry's bounding box.
func (g Geometry) Bound() BBox {
	if g.Geometry == nil {
		return BBox{}
	}
	b := g.Geometry.Bound()
	return BBox{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
}

// Contains reports whether p lies inside a polygonal geometry. Lines contain nothing.
func (g Geometry) Contains(p Point) bool {
	pt := orb.Point{p.Lon, p.Lat}
	switch v := g.Geometry.(type) {
	case orb.Polygon:
		return planar.PolygonContains(v, pt)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(v, pt)
	}
	return false
}

// Validate checks type, ring closure, minimum sizes and coordinate ranges, and that
// every polygon ring is simple: at least three distinct positions and no edge that
// crosses or touches another (see checkRing). Lines (routes) may cross themselves:
// a patrol may well come back through the same village.
func (g Geometry) Validate() error {
	checkLine := func(field string, ls []orb.Point, ring bool) error {
		min := 2
		if ring {
			min = 4
		}
		if len(ls) < min {
			return Invalid(field, "needs at least %d positions", min)
		}
		if len(ls) > 100000 {
			return Invalid(field, "more than 100000 positions")
		}
		for i, c := range ls {
			if err := (Point{c[0], c[1]}).Validate(); err != nil {
				return PrefixField(field+"["+strconv.Itoa(i)+"]", err)
			}
		}
		if ring && ls[0] != ls[len(ls)-1] {
			return Invalid(field, "linear ring is not closed (first and last positions differ)")
		}
		if ring {
			return checkRing(field, ls)
		}
		return nil
	}
	switch v := g.Geometry.(type) {
	case nil:
		return Invalid("geometry", "is required")
	case orb.LineString:
		return checkLine("geometry.coordinates", v, false)
	case orb.Polygon:
		if len(v) == 0 {
			return Invalid("geometry.coordinates", "polygon has no rings")
		}
		for i, r := range v {
			if err := checkLine("geometry.coordinates["+strconv.Itoa(i)+"]", r, true); err != nil {
				return err
			}
		}
		return nil
	case orb.MultiPolygon:
		if len(v) == 0 {
			return Invalid("geometry.coordinates", "multipolygon has no polygons")
		}
		for j, poly := range v {
			for i, r := range poly {
				if err := checkLine("geometry.coordinates["+strconv.Itoa(j)+"]["+strconv.Itoa(i)+"]", r, true); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return Invalid("geometry.type", "must be Polygon, MultiPolygon or LineString, not %s", g.Geometry.GeoJSONType())
}

func (g Geometry) MarshalJSON() ([]byte, error) {
	var coords any
	switch v := g.Geometry.(type) {
	case nil:
		return []byte("null"), nil
	case orb.LineString:
		coords = v
	case orb.Polygon:
		coords = v
	case orb.MultiPolygon:
		coords = v
	default:
		return nil, Invalid("geometry.type", "cannot encode %s", g.Geometry.GeoJSONType())
	}
	return json.Marshal(struct {
		Type        string `json:"type"`
		Coordinates any    `json:"coordinates"`
	}{g.Geometry.GeoJSONType(), coords})
}

// UnmarshalJSON reads a GeoJSON Polygon, MultiPolygon or LineString; other types are
// refused with a message naming them.
func (g *Geometry) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		g.Geometry = nil
		return nil
	}
	var raw struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Invalid("geometry", "not a GeoJSON geometry")
	}
	bad := func() error {
		return Invalid("geometry.coordinates", "do not match a GeoJSON %s", raw.Type)
	}
	switch raw.Type {
	case "LineString":
		var c orb.LineString
		if json.Unmarshal(raw.Coordinates, &c) != nil {
			return bad()
		}
		g.Geometry = c
	case "Polygon":
		var c orb.Polygon
		if json.Unmarshal(raw.Coordinates, &c) != nil {
			return bad()
		}
		g.Geometry = c
	case "MultiPolygon":
		var c orb.MultiPolygon
		if json.Unmarshal(raw.Coordinates, &c) != nil {
			return bad()
		}
		g.Geometry = c
	default:
		return Invalid("geometry.type", "must be Polygon, MultiPolygon or LineString, not %q", raw.Type)
	}
	return nil
}

// checkRing refuses a closed ring that has fewer than three distinct positions or
// that is not simple: two edges that cross or touch, other than consecutive edges
// meeting at their shared corner, and consecutive edges that fold back over each
// other (a spike). Point-in-polygon tests, areas and the geofences' edge index all
// assume simple rings; a bow-tie has no well-defined inside.
//
// Rings have up to 100,000 positions, so testing every pair of edges (5·10⁹ tests)
// is out of the question. The edges are bucketed into a uniform grid of about one
// cell per edge over the ring's box and only edges sharing a cell are compared,
// each pair once (in the first cell of the overlap of their boxes). For the rings
// people draw or import, which have short edges compared to their extent, that is
// linear; a ring of a few very long edges costs more cells but has few edges.
func checkRing(field string, ring []orb.Point) error {
	// Positions with their index in the input, consecutive repeats dropped (they
	// are harmless, and a zero-length edge would "touch" its neighbours).
	type corner struct {
		p orb.Point
		i int
	}
	pts := make([]corner, 0, len(ring))
	for i, p := range ring {
		if len(pts) == 0 || pts[len(pts)-1].p != p {
			pts = append(pts, corner{p, i})
		}
	}
	// The ring is closed, so pts ends on its first corner again (unless every
	// position is the same one).
	distinct := map[orb.Point]bool{}
	for _, c := range pts {
		if distinct[c.p] = true; len(distinct) >= 3 {
			break
		}
	}
	if len(distinct) < 3 {
		return Invalid(field, "a ring needs at least three distinct positions")
	}
	m := len(pts) - 1 // edges: k runs from pts[k] to pts[k+1]
	edge := func(k int) (orb.Point, orb.Point) { return pts[k].p, pts[k+1].p }
	describe := func(k int) string {
		return "the edge from position " + strconv.Itoa(pts[k].i) + " to " + strconv.Itoa(pts[k+1].i)
	}
	fail := func(a, b int, at orb.Point) error {
		return Invalid(field, "the ring crosses itself: %s meets %s near %s,%s (a polygon's outline must not cross or touch itself)",
			describe(a), describe(b), strconv.FormatFloat(at[0], 'f', -1, 64), strconv.FormatFloat(at[1], 'f', -1, 64))
	}

	// Consecutive edges share a corner; they are wrong only when they run back
	// along each other.
	for k := range m {
		next := (k + 1) % m
		a, p := edge(k)
		_, c := edge(next)
		if orient(a, p, c) == 0 && (a[0]-p[0])*(c[0]-p[0])+(a[1]-p[1])*(c[1]-p[1]) > 0 {
			return fail(k, next, p)
		}
	}
	if m <= 3 {
		return nil // a triangle's edges are all consecutive
	}

	// The grid: about m cells over the ring's box, square cells.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range pts {
		minX, maxX = math.Min(minX, c.p[0]), math.Max(maxX, c.p[0])
		minY, maxY = math.Min(minY, c.p[1]), math.Max(maxY, c.p[1])
	}
	w, h := maxX-minX, maxY-minY
	cell := math.Sqrt(w * h / float64(m))
	if cell == 0 || math.IsNaN(cell) {
		cell = math.Max(w, h) / float64(m) // a flat ring: all corners on one line
	}
	var nx, ny int
	var start, list []int32
	for {
		nx, ny = int(w/cell)+1, int(h/cell)+1
		// Count, then fill: one flat array of edge numbers by cell.
		start = make([]int32, nx*ny+1)
		total := 0
		for k := range m {
			p, q := edge(k)
			x0, y0, x1, y1 := cellBox(p, q, minX, minY, cell)
			n := (x1 - x0 + 1) * (y1 - y0 + 1)
			total += n
			if total > 32*m+1<<20 {
				break
			}
			for y := y0; y <= y1; y++ {
				for x := x0; x <= x1; x++ {
					start[y*nx+x+1]++
				}
			}
		}
		if total <= 32*m+1<<20 {
			break
		}
		cell *= 2 // a few long edges span too many cells: coarser cells
	}
	for c := 1; c < len(start); c++ {
		start[c] += start[c-1]
	}
	list = make([]int32, start[len(start)-1])
	fill := append([]int32(nil), start[:len(start)-1]...)
	for k := range m {
		p, q := edge(k)
		x0, y0, x1, y1 := cellBox(p, q, minX, minY, cell)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				list[fill[y*nx+x]] = int32(k)
				fill[y*nx+x]++
			}
		}
	}
	for c := 0; c < nx*ny; c++ {
		es := list[start[c]:start[c+1]]
		cx, cy := c%nx, c/nx
		for i, ka := range es {
			a0, a1 := edge(int(ka))
			ax0, ay0, _, _ := cellBox(a0, a1, minX, minY, cell)
			for _, kb := range es[i+1:] {
				a, b := int(ka), int(kb)
				if a > b {
					a, b = b, a
				}
				if b == a+1 || (a == 0 && b == m-1) {
					continue // consecutive: checked above
				}
				b0, b1 := edge(int(kb))
				bx0, by0, _, _ := cellBox(b0, b1, minX, minY, cell)
				// Compare each pair once: in the first cell both boxes cover.
				if max(ax0, bx0) != cx || max(ay0, by0) != cy {
					continue
				}
				if at, ok := segmentsMeet(a0, a1, b0, b1); ok {
					return fail(a, b, at)
				}
			}
		}
	}
	return nil
}

// cellBox returns the range of grid cells the box of segment p-q covers.
func cellBox(p, q orb.Point, minX, minY, cell float64) (x0, y0, x1, y1 int) {
	lx, hx := math.Min(p[0], q[0]), math.Max(p[0], q[0])
	ly, hy := math.Min(p[1], q[1]), math.Max(p[1], q[1])
	return int((lx - minX) / cell), int((ly - minY) / cell), int((hx - minX) / cell), int((hy - minY) / cell)
}

// orient is the sign of the turn a→b→c: 1 left, -1 right, 0 straight.
func orient(a, b, c orb.Point) int {
	v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// onSegment reports whether c, collinear with a-b, lies within the box of a-b.
func onSegment(a, b, c orb.Point) bool {
	return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
}

// segmentsMeet reports whether the closed segments p1-p2 and q1-q2 share a point,
// and one such point.
func segmentsMeet(p1, p2, q1, q2 orb.Point) (orb.Point, bool) {
	d1, d2 := orient(q1, q2, p1), orient(q1, q2, p2)
	d3, d4 := orient(p1, p2, q1), orient(p1, p2, q2)
	if d1 != d2 && d3 != d4 && d1 != 0 && d2 != 0 && d3 != 0 && d4 != 0 {
		// A proper crossing: where the lines meet.
		rx, ry := p2[0]-p1[0], p2[1]-p1[1]
		sx, sy := q2[0]-q1[0], q2[1]-q1[1]
		t := ((q1[0]-p1[0])*sy - (q1[1]-p1[1])*sx) / (rx*sy - ry*sx)
		return orb.Point{p1[0] + t*rx, p1[1] + t*ry}, true
	}
	switch {
	case d1 == 0 && onSegment(q1, q2, p1):
		return p1, true
	case d2 == 0 && onSegment(q1, q2, p2):
		return p2, true
	case d3 == 0 && onSegment(p1, p2, q1):
		return q1, true
	case d4 == 0 && onSegment(p1, p2, q2):
		return q2, true
	}
	return orb.Point{}, false
}
