package plan

import (
	"math"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// CoverageConfig tunes PatrolCoverage.
type CoverageConfig struct {
	// CellMeters is the side of a grid cell; 0 means 1000.
	CellMeters float64
	// BufferMeters is how far from a trace a cell's centre may be and still
	// count as patrolled (what a patrol sees and is seen from); 0 means 500.
	BufferMeters float64
	// Since leaves out fixes before it (the start of the last 7 or 30 days).
	Since time.Time
	// MaxGap is the longest time between two fixes of a trace that are joined
	// by a line; fixes further apart count only as points, since where the
	// patrol went between them is unknown. 0 means 30 minutes. Fixes without a
	// time (a planned route) are always joined.
	MaxGap time.Duration
}

// maxCoverageCells bounds the grid (4 million cells is a 2,000 km square at
// 1 km): beyond it the call asks for larger cells.
const maxCoverageCells = 4_000_000

// Coverage is the share of an area of responsibility that was patrolled.
type Coverage struct {
	Covered int     `json:"covered_cells"`
	Total   int     `json:"total_cells"` // cells whose centre is in the area
	Share   float64 `json:"share"`       // Covered / Total, 0 when Total is 0
	// CellMeters is the grid's cell side, for the figure's caption.
	CellMeters float64 `json:"cell_meters"`
}

// PatrolCoverage grids the area (a Polygon or MultiPolygon) into square cells
// and counts the cells, of those whose centre is in the area, whose centre is
// within the buffer of a trace: the line between consecutive fixes, or a fix
// alone. Each trace is one track's fixes in time order.
func PatrolCoverage(area bluehelm.Geometry, traces [][]Fix, cfg CoverageConfig) (Coverage, error) {
	if cfg.CellMeters == 0 {
		cfg.CellMeters = 1000
	}
	if cfg.BufferMeters == 0 {
		cfg.BufferMeters = 500
	}
	if cfg.MaxGap == 0 {
		cfg.MaxGap = 30 * time.Minute
	}
	if !(cfg.CellMeters >= 10) || !(cfg.BufferMeters >= 0) || math.IsInf(cfg.CellMeters, 0) {
		return Coverage{}, bluehelm.Invalid("cell_meters", "must be at least 10 metres")
	}
	var polys []orb.Polygon
	switch g := area.Geometry.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		return Coverage{}, bluehelm.Invalid("geometry", "coverage needs a Polygon or MultiPolygon area")
	}
	if err := area.Validate(); err != nil {
		return Coverage{}, err
	}
	b := area.Bound()
	fr := newFrame(b.MinLon, (b.MinLat+b.MaxLat)/2)
	x0, _ := fr.xy(b.MinLon, b.MinLat)
	x1, _ := fr.xy(b.MaxLon, b.MaxLat)
	_, y0 := fr.xy(b.MinLon, b.MinLat)
	_, y1 := fr.xy(b.MaxLon, b.MaxLat)
	cell := cfg.CellMeters
	nx, ny := int(math.Ceil((x1-x0)/cell)), int(math.Ceil((y1-y0)/cell))
	nx, ny = max(nx, 1), max(ny, 1)
	if nx*ny > maxCoverageCells {
		return Coverage{}, bluehelm.Invalid("cell_meters", "the area needs %d cells of %g m; use larger cells", nx*ny, cell)
	}
	// 0 outside, 1 inside, 2 inside and patrolled.
	grid := make([]uint8, nx*ny)

	// Project the rings once, then fill each row between edge crossings of
	// the row's centre line (even-odd, so holes stay empty): one pass over the
	// edges per row rather than a point-in-polygon test per cell.
	type edge struct{ ax, ay, bx, by float64 }
	var edges []edge
	for _, p := range polys {
		for _, r := range p {
			for i := 1; i < len(r); i++ {
				ax, ay := fr.xy(r[i-1][0], r[i-1][1])
				bx, by := fr.xy(r[i][0], r[i][1])
				edges = append(edges, edge{ax - x0, ay - y0, bx - x0, by - y0})
			}
		}
	}
	total := 0
	var xs []float64
	for j := 0; j < ny; j++ {
		cy := (float64(j) + 0.5) * cell
		xs = xs[:0]
		for _, e := range edges {
			if (e.ay > cy) != (e.by > cy) {
				xs = append(xs, e.ax+(cy-e.ay)*(e.bx-e.ax)/(e.by-e.ay))
			}
		}
		slices.Sort(xs)
		for k := 0; k+1 < len(xs); k += 2 {
			// Cells whose centre x = (i+0.5)·cell lies in [xs[k], xs[k+1]).
			i0 := max(0, int(math.Ceil(xs[k]/cell-0.5)))
			i1 := min(nx-1, int(math.Ceil(xs[k+1]/cell-0.5))-1)
			for i := i0; i <= i1; i++ {
				if grid[j*nx+i] == 0 {
					grid[j*nx+i] = 1
					total++
				}
			}
		}
	}

	covered := 0
	buf := cfg.BufferMeters
	mark := func(ax, ay, bx, by float64) {
		i0 := max(0, int(math.Floor((math.Min(ax, bx)-buf)/cell)))
		i1 := min(nx-1, int(math.Floor((math.Max(ax, bx)+buf)/cell)))
		j0 := max(0, int(math.Floor((math.Min(ay, by)-buf)/cell)))
		j1 := min(ny-1, int(math.Floor((math.Max(ay, by)+buf)/cell)))
		for j := j0; j <= j1; j++ {
			cy := (float64(j) + 0.5) * cell
			for i := i0; i <= i1; i++ {
				k := j*nx + i
				if grid[k] != 1 {
					continue
				}
				if segDist((float64(i)+0.5)*cell, cy, ax, ay, bx, by) <= buf {
					grid[k] = 2
					covered++
				}
			}
		}
	}
	for _, tr := range traces {
		var prev *Fix
		var px, py float64
		for i := range tr {
			f := &tr[i]
			if f.Point.Validate() != nil || (!f.At.IsZero() && f.At.Before(cfg.Since)) {
				continue
			}
			x, y := fr.xy(f.Point.Lon, f.Point.Lat)
			x, y = x-x0, y-y0
			joined := prev != nil && (f.At.IsZero() && prev.At.IsZero() ||
				!f.At.IsZero() && !prev.At.IsZero() && f.At.Sub(prev.At) <= cfg.MaxGap && !f.At.Before(prev.At))
			if joined {
				mark(px, py, x, y)
			} else {
				mark(x, y, x, y)
			}
			prev, px, py = f, x, y
		}
	}
	c := Coverage{Covered: covered, Total: total, CellMeters: cell}
	if total > 0 {
		c.Share = float64(covered) / float64(total)
	}
	return c, nil
}
