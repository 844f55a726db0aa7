package http

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm"
)

// Caps on the whole-set incident reads. The map draws every incident in view,
// clustered, so it needs all of them, not a page; past 50,000 points a browser
// map is no longer readable nor quick, and the answer says it was cut. The
// dashboard's counts need no documents on the wire, so they go further.
const (
	maxMapIncidents   = 50000
	maxStatsIncidents = 200000
)

// summaryPage is how many summaries one store query returns while the map or the
// statistics read every matching incident.
const summaryPage = 5000

// eachIncident calls fn for the summary of every incident matching f that
// f.Viewer may see, newest first, reading the store a page at a time so that
// memory stays flat. It stops after max incidents and then reports truncated.
func (s *Server) eachIncident(ctx context.Context, f bluehelm.IncidentFilter, max int, fn func(*bluehelm.IncidentSummary)) (truncated bool, err error) {
	f.Limit, f.Cursor = summaryPage, ""
	n := 0
	for {
		page, err := s.cfg.Store.FindIncidentSummaries(ctx, f)
		if err != nil {
			return false, err
		}
		for _, inc := range page.Summaries {
			// The store applied the access rule; asking again keeps a store bug
			// from becoming a leak (as search does).
			if !f.Viewer.CanSee(inc.Marking) {
				continue
			}
			if n == max {
				return true, nil
			}
			fn(inc)
			n++
		}
		if page.NextCursor == "" {
			return false, nil
		}
		f.Cursor = page.NextCursor
	}
}

// appendJSONString writes s as a JSON string. Plain text is copied; anything
// that needs escaping goes through encoding/json, so the rules are its rules.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// casualtyBest sums the best estimates of one kind over every group.
func casualtyBest(inc *bluehelm.IncidentSummary, kind string) int {
	n := 0
	for _, c := range inc.Casualties {
		if c.Kind == kind {
			n += c.Best
		}
	}
	return n
}

// mapColumns builds the map's answer one column at a time: a JSON array per
// field rather than a GeoJSON feature per incident. At 20,000 incidents the
// feature form was 6.6 MB of JSON that the page parsed only to take apart again
// (its map builds its own features, with what its style reads), and the repeated
// keys were most of the bytes the server wrote and gzipped. Categories and
// statuses are sent as indexes into small dictionaries.
type mapColumns struct {
	n                                   int
	id, lon, lat, occurred, cat, status []byte
	killed, injured, version, title     []byte
	cats, statuses                      []string
}

func newMapColumns() *mapColumns {
	c := &mapColumns{}
	for _, b := range []*[]byte{&c.id, &c.lon, &c.lat, &c.occurred, &c.cat, &c.status, &c.killed, &c.injured, &c.version, &c.title} {
		*b = make([]byte, 0, 16<<10)
	}
	return c
}

// add appends one incident to every column: what the symbol, its colour, its
// badge, the cluster counts, the time filter and the hover text need, and no more
// (the detail panel fetches the whole incident).
func (c *mapColumns) add(inc *bluehelm.IncidentSummary) {
	sep := func(b []byte) []byte {
		if c.n > 0 {
			return append(b, ',')
		}
		return b
	}
	c.id = strconv.AppendInt(sep(c.id), inc.ID, 10)
	c.lon = strconv.AppendFloat(sep(c.lon), inc.Location.Lon, 'f', -1, 64)
	c.lat = strconv.AppendFloat(sep(c.lat), inc.Location.Lat, 'f', -1, 64)
	c.occurred = strconv.AppendInt(sep(c.occurred), inc.OccurredStart.UnixMilli(), 10)
	c.cat = strconv.AppendInt(sep(c.cat), int64(dictIndex(&c.cats, string(inc.Category))), 10)
	c.status = strconv.AppendInt(sep(c.status), int64(dictIndex(&c.statuses, string(inc.Status))), 10)
	c.killed = strconv.AppendInt(sep(c.killed), int64(casualtyBest(inc, "killed")), 10)
	c.injured = strconv.AppendInt(sep(c.injured), int64(casualtyBest(inc, "injured")), 10)
	c.version = strconv.AppendInt(sep(c.version), int64(inc.Version), 10)
	c.title = appendJSONString(sep(c.title), inc.Title)
	c.n++
}

// dictIndex is s's place in *dict, added at the end when it is new. The
// dictionaries hold a handful of entries, so a scan beats a map.
func dictIndex(dict *[]string, s string) int {
	for i, d := range *dict {
		if d == s {
			return i
		}
	}
	*dict = append(*dict, s)
	return len(*dict) - 1
}

// encode writes the whole answer.
func (c *mapColumns) encode(truncated bool) []byte {
	size := 256
	for _, b := range [][]byte{c.id, c.lon, c.lat, c.occurred, c.cat, c.status, c.killed, c.injured, c.version, c.title} {
		size += len(b) + 16
	}
	b := make([]byte, 0, size)
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(c.n), 10)
	b = append(b, `,"truncated":`...)
	b = strconv.AppendBool(b, truncated)
	b = append(b, `,"categories":`...)
	b = appendJSONStrings(b, c.cats)
	b = append(b, `,"statuses":`...)
	b = appendJSONStrings(b, c.statuses)
	for _, col := range []struct {
		name string
		b    []byte
	}{
		{"id", c.id}, {"lon", c.lon}, {"lat", c.lat}, {"occurred", c.occurred}, {"category", c.cat}, {"status", c.status},
		{"killed", c.killed}, {"injured", c.injured}, {"version", c.version}, {"title", c.title},
	} {
		b = append(b, `,"`...)
		b = append(b, col.name...)
		b = append(b, `":[`...)
		b = append(b, col.b...)
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// incidentsMap is every visible incident matching the search filters, unpaged and
// in columns (see mapColumns), for a clustered map layer.
func (s *Server) incidentsMap(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f, err := incidentFilter(q, principal(r))
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	cols := newMapColumns()
	truncated, err := s.eachIncident(r.Context(), f, maxMapIncidents, cols.add)
	if err != nil {
		return err
	}
	b := cols.encode(truncated)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

type categoryMonthCount struct {
	Category bluehelm.Category `json:"category"`
	Month    string            `json:"month"` // "2026-05", UTC
	Count    int               `json:"count"`
}

// regionMonthCount counts by the report's region (admin1; "" when it names
// none) and month: the mission's own areas do not cover every region, and
// trends are read by the regions people know.
type regionMonthCount struct {
	Region string `json:"region"`
	Month  string `json:"month"`
	Count  int    `json:"count"`
}

type areaCount struct {
	AreaID int64             `json:"area_id"`
	Name   string            `json:"name"`
	Kind   bluehelm.AreaKind `json:"kind"`
	Count  int               `json:"count"`
}

type statusCount struct {
	Status bluehelm.Status `json:"status"`
	Count  int             `json:"count"`
}

type casualtySum struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Low   int    `json:"low"`
	Best  int    `json:"best"`
	High  int    `json:"high"`
}

type incidentStats struct {
	Total           int                  `json:"total"`
	ByCategoryMonth []categoryMonthCount `json:"by_category_month"`
	ByArea          []areaCount          `json:"by_area"`
	ByRegionMonth   []regionMonthCount   `json:"by_region_month"`
	ByStatus        []statusCount        `json:"by_status"`
	Casualties      []casualtySum        `json:"casualties"`
	Truncated       bool                 `json:"truncated"`
}

// statsArea is an area the caller may see, ready for point tests.
type statsArea struct {
	area  *bluehelm.Area
	bound bluehelm.BBox
	count int
}

// incidentStatsHandler counts the visible incidents matching the search filters
// for the dashboard: by category and month, by area, by status, and casualties by
// group and kind. Everything is counted from what the caller may see, so the
// numbers themselves reveal nothing more.
func (s *Server) incidentStatsHandler(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	q := newQuery(r)
	f, err := incidentFilter(q, p)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	all, err := s.cfg.Store.Areas(r.Context())
	if err != nil {
		return err
	}
	// Areas carry markings too: a confidential no-go zone is not named to a
	// viewer who may not see it, not even as a row of zeros. Lines (routes)
	// contain no incidents.
	var areas []*statsArea
	for _, a := range all {
		if p.CanSee(a.Marking) && a.Geometry.Geometry != nil && a.Geometry.GeoJSONType() != "LineString" {
			areas = append(areas, &statsArea{area: a, bound: a.Geometry.Bound()})
		}
	}

	type catMonth struct {
		cat   bluehelm.Category
		month string
	}
	type groupKind struct{ group, kind string }
	type regionMonth struct{ region, month string }
	var (
		total    int
		byCM     = map[catMonth]int{}
		byRM     = map[regionMonth]int{}
		byStatus = map[bluehelm.Status]int{}
		cas      = map[groupKind]*casualtySum{}
	)
	truncated, err := s.eachIncident(r.Context(), f, maxStatsIncidents, func(inc *bluehelm.IncidentSummary) {
		total++
		month := inc.OccurredStart.UTC().Format("2006-01")
		byCM[catMonth{inc.Category, month}]++
		byRM[regionMonth{strings.TrimSpace(inc.Admin1), month}]++
		byStatus[inc.Status]++
		for _, c := range inc.Casualties {
			k := groupKind{c.Group, c.Kind}
			sum := cas[k]
			if sum == nil {
				sum = &casualtySum{Group: c.Group, Kind: c.Kind}
				cas[k] = sum
			}
			sum.Low += c.Low
			sum.Best += c.Best
			sum.High += c.High
		}
		for _, a := range areas {
			if a.bound.Contains(inc.Location) && a.area.Geometry.Contains(inc.Location) {
				a.count++
			}
		}
	})
	if err != nil {
		return err
	}

	out := incidentStats{Total: total, Truncated: truncated,
		ByCategoryMonth: make([]categoryMonthCount, 0, len(byCM)), ByArea: make([]areaCount, 0, len(areas)),
		ByRegionMonth: make([]regionMonthCount, 0, len(byRM)),
		ByStatus:      []statusCount{}, Casualties: make([]casualtySum, 0, len(cas))}
	for k, n := range byCM {
		out.ByCategoryMonth = append(out.ByCategoryMonth, categoryMonthCount{Category: k.cat, Month: k.month, Count: n})
	}
	// Month, then the taxonomy's order: what a stacked chart by month reads.
	slices.SortFunc(out.ByCategoryMonth, func(a, b categoryMonthCount) int {
		if c := strings.Compare(a.Month, b.Month); c != 0 {
			return c
		}
		return categoryRank(a.Category) - categoryRank(b.Category)
	})
	for k, n := range byRM {
		out.ByRegionMonth = append(out.ByRegionMonth, regionMonthCount{Region: k.region, Month: k.month, Count: n})
	}
	slices.SortFunc(out.ByRegionMonth, func(a, b regionMonthCount) int {
		if c := strings.Compare(a.Month, b.Month); c != 0 {
			return c
		}
		return strings.Compare(a.Region, b.Region)
	})
	for _, a := range areas {
		out.ByArea = append(out.ByArea, areaCount{AreaID: a.area.ID, Name: a.area.Name, Kind: a.area.Kind, Count: a.count})
	}
	slices.SortStableFunc(out.ByArea, func(a, b areaCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, st := range bluehelm.Statuses {
		if n := byStatus[st]; n > 0 {
			out.ByStatus = append(out.ByStatus, statusCount{Status: st, Count: n})
		}
	}
	for _, g := range bluehelm.CasualtyGroups {
		for _, k := range bluehelm.CasualtyKinds {
			if sum := cas[groupKind{g, k}]; sum != nil {
				out.Casualties = append(out.Casualties, *sum)
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// categoryRank is a category's place in the taxonomy, for a stable order.
func categoryRank(c bluehelm.Category) int {
	for i, tc := range bluehelm.Taxonomy {
		if tc.Code == c {
			return i
		}
	}
	return len(bluehelm.Taxonomy)
}
