package plan

import (
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Bits of a MedicalCoverage cell.
const (
	CellInside = 1 << iota // the cell's centre is in the mission area
	CellRoad1h             // a road ambulance reaches it within 1 hour
	CellRoad2h             // … and brings the casualty to Level 2 care within 2 hours
	CellAir1h              // a helicopter reaches it within 1 hour
	CellAir2h              // … and brings the casualty to Level 2 care within 2 hours
)

// MedicalCoverage is where the 1-hour and 2-hour standards can be met from the
// current facilities and evacuation assets, on a grid over the mission area.
// Times are counted from a wounding at the time asked (no reporting delay),
// with Recommend's model: the nearest asset of a means launches, goes to the
// cell and on to the nearest Level 2 facility.
type MedicalCoverage struct {
	At     time.Time     `json:"at"`
	BBox   bluehelm.BBox `json:"bbox"`
	CellKm float64       `json:"cell_km"`
	// Cols × Rows cells of LonStep × LatStep degrees, row by row from the
	// south-west corner of BBox.
	Cols    int     `json:"cols"`
	Rows    int     `json:"rows"`
	LonStep float64 `json:"lon_step"`
	LatStep float64 `json:"lat_step"`
	// Cells holds one byte of Cell* bits per cell (base64 in JSON).
	Cells []byte `json:"cells"`
	// Inside is the number of cells in the mission area; Outside1h and
	// Outside2h those of them where the standard cannot be met by any means.
	Inside      int     `json:"inside"`
	Outside1h   int     `json:"outside_1h"`
	Outside2h   int     `json:"outside_2h"`
	ShareOut1h  float64 `json:"share_outside_1h"`
	ShareOut2h  float64 `json:"share_outside_2h"`
	AirGrounded bool    `json:"air_grounded,omitempty"` // helicopters do not fly at that time
}

// Cell returns the bits of the cell holding p (0 outside the grid).
func (c *MedicalCoverage) Cell(p bluehelm.Point) byte {
	if c.Cols == 0 || !c.BBox.Contains(p) {
		return 0
	}
	i := min(int((p.Lon-c.BBox.MinLon)/c.LonStep), c.Cols-1)
	j := min(int((p.Lat-c.BBox.MinLat)/c.LatStep), c.Rows-1)
	return c.Cells[j*c.Cols+i]
}

// Within reports whether the 1-hour and the 2-hour standards can be met at p
// by any means: what patrol route risk asks of a point on a route.
func (c *MedicalCoverage) Within(p bluehelm.Point) (oneHour, twoHours bool) {
	b := c.Cell(p)
	return b&(CellRoad1h|CellAir1h) != 0, b&(CellRoad2h|CellAir2h) != 0
}

// maxMedicalCells bounds the grid (a 1,000 km square at 1 km).
const maxMedicalCells = 1_000_000

// CasevacCoverage computes the coverage grid over the mission area (the union
// of the given geometries) with cells of cellKm (0 means 1 km) at time at.
// Distances are on a flat projection per row (equirectangular), within a
// fraction of a percent of Recommend's great-circle distances at mission scale.
func CasevacCoverage(mission []bluehelm.Geometry, facilities []*bluehelm.MedicalFacility, assets []EvacAsset, cfg Config, at time.Time, cellKm float64) (*MedicalCoverage, error) {
	cfg = cfg.withDefaults()
	if cellKm == 0 {
		cellKm = 1
	}
	if math.IsNaN(cellKm) || cellKm < 0.1 || cellKm > 50 {
		return nil, bluehelm.Invalid("cell_km", "must be between 0.1 and 50")
	}
	if len(mission) == 0 {
		return nil, bluehelm.Invalid("area", "the mission has no area of responsibility")
	}
	box := mission[0].Bound()
	for _, g := range mission[1:] {
		b := g.Bound()
		box.MinLon, box.MinLat = math.Min(box.MinLon, b.MinLon), math.Min(box.MinLat, b.MinLat)
		box.MaxLon, box.MaxLat = math.Max(box.MaxLon, b.MaxLon), math.Max(box.MaxLat, b.MaxLat)
	}
	midLat := (box.MinLat + box.MaxLat) / 2
	kmPerDeg := metresPerDegree / 1000
	c := &MedicalCoverage{At: at, BBox: box, CellKm: cellKm,
		LatStep: cellKm / kmPerDeg, LonStep: cellKm / (kmPerDeg * math.Cos(midLat*math.Pi/180))}
	c.Cols = max(1, int(math.Ceil((box.MaxLon-box.MinLon)/c.LonStep)))
	c.Rows = max(1, int(math.Ceil((box.MaxLat-box.MinLat)/c.LatStep)))
	if c.Cols*c.Rows > maxMedicalCells {
		return nil, bluehelm.Invalid("cell_km", "the grid would have %d cells (at most %d): use larger cells", c.Cols*c.Rows, maxMedicalCells)
	}
	c.Cells = make([]byte, c.Cols*c.Rows)
	airOK := cfg.airAllowed(at)
	c.AirGrounded = !airOK

	// Points of each means: where its assets are, where its Level 2 care is.
	type pts struct{ lon, lat []float64 }
	var roadAssets, airAssets, roadCare, airCare pts
	add := func(p *pts, q bluehelm.Point) { p.lon, p.lat = append(p.lon, q.Lon), append(p.lat, q.Lat) }
	for _, a := range assets {
		switch means(a.Mobility) {
		case MeansRoad:
			add(&roadAssets, a.Position)
		case MeansAir:
			if airOK {
				add(&airAssets, a.Position)
			}
		}
	}
	for _, f := range facilities {
		if f == nil || f.OutOfService || !f.Level.AtLeast(Level2) || !f.OpenAt(at, cfg.UTCOffset) || !f.HasBeds(1) {
			continue
		}
		add(&roadCare, f.Location)
		if airOK {
			for _, h := range f.HelicopterLandingSites {
				add(&airCare, h)
			}
		}
	}
	// nearest is the least flat distance in km from (lon, lat) to p, +Inf for none.
	nearest := func(p *pts, lon, lat, kx float64) float64 {
		best := math.Inf(1)
		for i := range p.lon {
			dx, dy := (p.lon[i]-lon)*kx, (p.lat[i]-lat)*kmPerDeg
			if d := dx*dx + dy*dy; d < best {
				best = d
			}
		}
		return math.Sqrt(best)
	}
	road := cfg.Detour / cfg.RoadSpeedKmh * 60 // minutes per straight-line km
	air := 60 / cfg.AirSpeedKmh
	for j := range c.Rows {
		lat := box.MinLat + (float64(j)+0.5)*c.LatStep
		kx := kmPerDeg * math.Cos(lat*math.Pi/180)
		for i := range c.Cols {
			lon := box.MinLon + (float64(i)+0.5)*c.LonStep
			p := bluehelm.Point{Lon: lon, Lat: lat}
			inside := false
			for _, g := range mission {
				if g.Contains(p) {
					inside = true
					break
				}
			}
			if !inside {
				continue
			}
			var b byte = CellInside
			if len(roadAssets.lon) > 0 {
				pick := cfg.RoadLaunchMinutes + nearest(&roadAssets, lon, lat, kx)*road
				if pick <= 60 {
					b |= CellRoad1h
				}
				if pick+nearest(&roadCare, lon, lat, kx)*road <= 120 {
					b |= CellRoad2h
				}
			}
			if len(airAssets.lon) > 0 {
				pick := cfg.AirLaunchMinutes + nearest(&airAssets, lon, lat, kx)*air
				if pick <= 60 {
					b |= CellAir1h
				}
				if pick+nearest(&airCare, lon, lat, kx)*air <= 120 {
					b |= CellAir2h
				}
			}
			c.Cells[j*c.Cols+i] = b
			c.Inside++
			if b&(CellRoad1h|CellAir1h) == 0 {
				c.Outside1h++
			}
			if b&(CellRoad2h|CellAir2h) == 0 {
				c.Outside2h++
			}
		}
	}
	if c.Inside > 0 {
		c.ShareOut1h = float64(c.Outside1h) / float64(c.Inside)
		c.ShareOut2h = float64(c.Outside2h) / float64(c.Inside)
	}
	return c, nil
}
