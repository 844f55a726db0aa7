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

// Validate checks type, ring closure, minimum sizes and coordinate ranges.
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
