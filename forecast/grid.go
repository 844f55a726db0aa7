package forecast

import (
	"fmt"
	"math"

	"github.com/bluehelm/bluehelm"
)

// earthRadiusKm is the mean Earth radius (IUGG), used for the local projection
// and for cell areas.
const earthRadiusKm = 6371.0088

// maxLatticeCells bounds a grid so that a mistyped cell size (0.05 km over a
// country) fails fast instead of allocating gigabytes.
const maxLatticeCells = 4 << 20

// Grid is a set of cells over an area: a rectangular lattice of lon/lat boxes,
// possibly restricted to a subset (a country's cells). Cells are numbered
// 0..Len()-1 in lattice order (south to north, then west to east).
//
// Both kinds of grid are lattices in longitude and latitude, so one local
// projection serves the models' distances for both: an equirectangular plane
// centred on the area (x = R·Δlon·cos(lat0), y = R·Δlat). Over a country near the
// equator this is close to equal-area: for South Sudan (3.5–12.2°N) the east–west
// scale is off by at most ≈1.5 % at the northern and southern edges (cos 12.2° /
// cos 7.9°), and distances by as much; kernels of a few km do not notice.
//
// A km grid (NewGrid) has cells of cellKm × cellKm in that plane, so on the
// ground a cell at the edge of the area is up to that 1.5 % narrower or wider.
// A degree grid (NewDegreeGrid) has cells aligned on multiples of cellDeg from
// (-180°, -90°) like PRIO-GRID; its cells are equal in degrees, not in km²
// (AreaKm2 gives the true area of each).
type Grid struct {
	area           bluehelm.BBox
	refLon, refLat float64 // centre of the projection
	kx, ky         float64 // km per degree of longitude / latitude at refLat
	lon0, lat0     float64 // south-west corner of the lattice
	dLon, dLat     float64 // cell size in degrees
	nx, ny         int     // lattice columns and rows
	degree         bool
	cells          []int32 // lattice index of each cell; nil when every lattice cell is kept
	index          []int32 // lattice index → cell (-1 dropped); nil with cells
}

// NewGrid covers area with square cells of cellKm in the local projection
// (see Grid), starting at the area's south-west corner.
func NewGrid(area bluehelm.BBox, cellKm float64) (*Grid, error) {
	if err := area.Validate(); err != nil {
		return nil, err
	}
	if !(cellKm > 0) || math.IsInf(cellKm, 0) {
		return nil, fmt.Errorf("forecast: cell size %v km must be positive", cellKm)
	}
	g := newProjected(area)
	g.dLon, g.dLat = cellKm/g.kx, cellKm/g.ky
	g.lon0, g.lat0 = area.MinLon, area.MinLat
	g.nx = spanCells(area.MaxLon-area.MinLon, g.dLon)
	g.ny = spanCells(area.MaxLat-area.MinLat, g.dLat)
	return g, g.checkSize()
}

// NewDegreeGrid covers area with cells of cellDeg degrees aligned like
// PRIO-GRID (edges at -180 + k·cellDeg and -90 + k·cellDeg; 0.5 is PRIO-GRID
// itself). Every cell that meets the area is included, so the grid may reach
// a little beyond it.
func NewDegreeGrid(area bluehelm.BBox, cellDeg float64) (*Grid, error) {
	if err := area.Validate(); err != nil {
		return nil, err
	}
	if !(cellDeg > 0) || cellDeg > 180 {
		return nil, fmt.Errorf("forecast: cell size %v° must be in (0, 180]", cellDeg)
	}
	g := newProjected(area)
	g.degree = true
	g.dLon, g.dLat = cellDeg, cellDeg
	c0 := math.Floor((area.MinLon + 180) / cellDeg)
	r0 := math.Floor((area.MinLat + 90) / cellDeg)
	g.lon0, g.lat0 = -180+c0*cellDeg, -90+r0*cellDeg
	g.nx = spanCells(area.MaxLon-g.lon0, cellDeg)
	g.ny = spanCells(area.MaxLat-g.lat0, cellDeg)
	return g, g.checkSize()
}

func newProjected(area bluehelm.BBox) *Grid {
	refLat := (area.MinLat + area.MaxLat) / 2
	kmPerDeg := earthRadiusKm * math.Pi / 180
	kx := kmPerDeg * math.Cos(refLat*math.Pi/180)
	if kx < 1e-6 { // an area centred on a pole: keep the plane finite
		kx = 1e-6
	}
	return &Grid{area: area, refLon: (area.MinLon + area.MaxLon) / 2, refLat: refLat, kx: kx, ky: kmPerDeg}
}

// spanCells is the number of cells of size d that cover a span w (at least one);
// a span that is a whole number of cells up to rounding gets no extra sliver.
func spanCells(w, d float64) int {
	n := int(math.Ceil(w/d - 1e-9))
	if n < 1 {
		n = 1
	}
	return n
}

func (g *Grid) checkSize() error {
	if float64(g.nx)*float64(g.ny) > maxLatticeCells {
		return fmt.Errorf("forecast: %d × %d cells is more than %d; use larger cells", g.nx, g.ny, maxLatticeCells)
	}
	return nil
}

// Len is the number of cells.
func (g *Grid) Len() int {
	if g.cells != nil {
		return len(g.cells)
	}
	return g.nx * g.ny
}

// Area is the area the grid was made for (before any Restrict).
func (g *Grid) Area() bluehelm.BBox { return g.area }

// Cell returns the cell containing p. Cells are half-open (west and south edges
// inside), except that the lattice's east and north edges belong to the last
// column and row; points outside every kept cell give false.
func (g *Grid) Cell(p bluehelm.Point) (int, bool) {
	c, ok := latticeIndex(p.Lon, g.lon0, g.dLon, g.nx)
	if !ok {
		return 0, false
	}
	r, ok := latticeIndex(p.Lat, g.lat0, g.dLat, g.ny)
	if !ok {
		return 0, false
	}
	return g.cellAt(c, r)
}

func latticeIndex(v, v0, d float64, n int) (int, bool) {
	f := (v - v0) / d
	if math.IsNaN(f) || f < -1e-9 || f > float64(n)+1e-9 {
		return 0, false
	}
	i := int(math.Floor(f))
	if i < 0 {
		i = 0
	}
	if i >= n {
		i = n - 1
	}
	return i, true
}

// cellAt maps a lattice column and row to a kept cell.
func (g *Grid) cellAt(c, r int) (int, bool) {
	if c < 0 || r < 0 || c >= g.nx || r >= g.ny {
		return 0, false
	}
	k := r*g.nx + c
	if g.index == nil {
		return k, true
	}
	i := g.index[k]
	return int(i), i >= 0
}

// lattice returns the column and row of cell i.
func (g *Grid) lattice(i int) (c, r int) {
	k := i
	if g.cells != nil {
		k = int(g.cells[i])
	}
	return k % g.nx, k / g.nx
}

// Center returns the centre of cell i (in lon/lat; it is also the centre in the
// projection, which is linear in both).
func (g *Grid) Center(i int) bluehelm.Point {
	c, r := g.lattice(i)
	return bluehelm.Point{Lon: g.lon0 + (float64(c)+0.5)*g.dLon, Lat: g.lat0 + (float64(r)+0.5)*g.dLat}
}

// Bounds returns the lon/lat box of cell i.
func (g *Grid) Bounds(i int) bluehelm.BBox {
	c, r := g.lattice(i)
	return bluehelm.BBox{
		MinLon: g.lon0 + float64(c)*g.dLon, MinLat: g.lat0 + float64(r)*g.dLat,
		MaxLon: g.lon0 + float64(c+1)*g.dLon, MaxLat: g.lat0 + float64(r+1)*g.dLat,
	}
}

// AreaKm2 is the true (spherical) area of cell i, for area shares that weigh
// cells of a degree grid by their size.
func (g *Grid) AreaKm2(i int) float64 {
	b := g.Bounds(i)
	rad := math.Pi / 180
	return earthRadiusKm * earthRadiusKm * (b.MaxLon - b.MinLon) * rad *
		math.Abs(math.Sin(b.MaxLat*rad)-math.Sin(b.MinLat*rad))
}

// Restrict returns a grid over the cells for which keep is true (e.g. the cells
// inside a country), numbered afresh in the same order; Cell maps points in
// dropped cells to false. keep sees this grid's cell numbers.
func (g *Grid) Restrict(keep func(i int) bool) *Grid {
	n := g.Len()
	out := *g
	out.cells = make([]int32, 0, n)
	out.index = make([]int32, g.nx*g.ny)
	for k := range out.index {
		out.index[k] = -1
	}
	for i := 0; i < n; i++ {
		if !keep(i) {
			continue
		}
		c, r := g.lattice(i)
		k := r*g.nx + c
		out.index[k] = int32(len(out.cells))
		out.cells = append(out.cells, int32(k))
	}
	return &out
}

// xy projects p onto the grid's plane, in km from the area's centre.
func (g *Grid) xy(p bluehelm.Point) (x, y float64) {
	return (p.Lon - g.refLon) * g.kx, (p.Lat - g.refLat) * g.ky
}

// cellW and cellH are the cell's width and height in the plane (km).
func (g *Grid) cellW() float64 { return g.dLon * g.kx }
func (g *Grid) cellH() float64 { return g.dLat * g.ky }

// originXY is the plane position of the lattice's south-west corner.
func (g *Grid) originXY() (x, y float64) {
	return (g.lon0 - g.refLon) * g.kx, (g.lat0 - g.refLat) * g.ky
}

// rect is cell i's rectangle in the plane.
func (g *Grid) rect(i int) (x0, y0, x1, y1 float64) {
	c, r := g.lattice(i)
	ox, oy := g.originXY()
	w, h := g.cellW(), g.cellH()
	return ox + float64(c)*w, oy + float64(r)*h, ox + float64(c+1)*w, oy + float64(r+1)*h
}

// span returns the lattice columns (or rows) whose cells meet [lo, hi] along
// one axis of the plane, clamped to the lattice; empty when lo > hi after clamping.
func span(lo, hi, origin, step float64, n int) (int, int) {
	a := int(math.Floor((lo - origin) / step))
	b := int(math.Floor((hi - origin) / step))
	if a < 0 {
		a = 0
	}
	if b > n-1 {
		b = n - 1
	}
	return a, b
}
