package plan

import (
	"math"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Incident is what route risk needs of an incident: a light record, so that an
// index of a mission's whole history stays small.
type Incident struct {
	ID       int64
	Category bluehelm.Category
	At       time.Time // when it occurred (its start)
	Location bluehelm.Point
	// Casualties is the best estimate of people killed or injured.
	Casualties int
}

// IncidentOf returns the light record of an incident summary.
func IncidentOf(s *bluehelm.IncidentSummary) Incident {
	n := 0
	for _, c := range s.Casualties {
		if c.Kind == "killed" || c.Kind == "injured" {
			n += c.Best
		}
	}
	return Incident{ID: s.ID, Category: s.Category, At: s.OccurredStart, Location: s.Location, Casualties: n}
}

// indexCellDeg is the side of an index cell, in degrees (about 5.5 km at the
// equator): near the usual search radius, so that a segment's search touches a
// handful of cells.
const indexCellDeg = 0.05

// Index is a spatial index of incidents, built once and shared by many
// assessments (it is read-only after NewIndex, so safe for concurrent use).
type Index struct {
	// Incidents sorted by cell, then time, then ID: a cell is a contiguous run,
	// and the order (so every sum) does not depend on the input order.
	lon, lat []float64
	unix     []int64
	id       []int64
	cat      []uint8 // index into categories
	casualty []float32
	cells    map[uint64][2]int32 // cell key → [start, end)
}

// categories numbers the taxonomy for the index; unknown categories are
// numbered after the list.
var categories = func() map[bluehelm.Category]uint8 {
	m := map[bluehelm.Category]uint8{}
	for i, c := range bluehelm.Taxonomy {
		m[c.Code] = uint8(i)
	}
	return m
}()

var unknownCategory = uint8(len(bluehelm.Taxonomy))

func cellOf(lon, lat float64) (int32, int32) {
	return int32(math.Floor(lon / indexCellDeg)), int32(math.Floor(lat / indexCellDeg))
}

func cellKey(ix, iy int32) uint64 { return uint64(uint32(iy))<<32 | uint64(uint32(ix)) }

// NewIndex indexes incidents. Incidents with an invalid location are left out.
func NewIndex(incidents []Incident) *Index {
	type rec struct {
		key uint64
		inc *Incident
	}
	recs := make([]rec, 0, len(incidents))
	for i := range incidents {
		in := &incidents[i]
		if in.Location.Validate() != nil {
			continue
		}
		ix, iy := cellOf(in.Location.Lon, in.Location.Lat)
		recs = append(recs, rec{cellKey(ix, iy), in})
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		if c := a.inc.At.Compare(b.inc.At); c != 0 {
			return c
		}
		if a.inc.ID != b.inc.ID {
			if a.inc.ID < b.inc.ID {
				return -1
			}
			return 1
		}
		return 0
	})
	n := len(recs)
	x := &Index{
		lon: make([]float64, n), lat: make([]float64, n), unix: make([]int64, n), id: make([]int64, n),
		cat: make([]uint8, n), casualty: make([]float32, n), cells: map[uint64][2]int32{},
	}
	for i, r := range recs {
		x.lon[i], x.lat[i], x.unix[i], x.id[i] = r.inc.Location.Lon, r.inc.Location.Lat, r.inc.At.Unix(), r.inc.ID
		c, ok := categories[r.inc.Category]
		if !ok {
			c = unknownCategory
		}
		x.cat[i], x.casualty[i] = c, float32(max(0, r.inc.Casualties))
		span := x.cells[r.key]
		if span[1] == 0 {
			span[0] = int32(i)
		}
		span[1] = int32(i + 1)
		x.cells[r.key] = span
	}
	return x
}

// IndexSummaries indexes incident summaries, leaving out rejected reports
// (drafts and unverified reports count: a fresh IED report matters before it
// is verified).
func IndexSummaries(summaries []*bluehelm.IncidentSummary) *Index {
	incs := make([]Incident, 0, len(summaries))
	for _, s := range summaries {
		if s == nil || s.Status == bluehelm.StatusRejected {
			continue
		}
		incs = append(incs, IncidentOf(s))
	}
	return NewIndex(incs)
}

// Len is the number of incidents indexed.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return len(x.id)
}

// search calls fn with the position of every incident whose cell meets the
// box, cell by cell in a fixed order.
func (x *Index) search(minLon, minLat, maxLon, maxLat float64, fn func(i int)) {
	if x == nil || len(x.id) == 0 {
		return
	}
	x0, y0 := cellOf(minLon, minLat)
	x1, y1 := cellOf(maxLon, maxLat)
	for iy := y0; iy <= y1; iy++ {
		for ix := x0; ix <= x1; ix++ {
			span, ok := x.cells[cellKey(ix, iy)]
			if !ok {
				continue
			}
			for i := span[0]; i < span[1]; i++ {
				fn(int(i))
			}
		}
	}
}
