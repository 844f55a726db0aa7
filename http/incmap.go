package http

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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

// appendMapFeature writes one incident as a map feature: what the symbol, its
// colour, its badge, the cluster counts and the hover text need, and no more (the
// detail panel fetches the whole incident). Written by hand rather than through
// reflection: at 20,000 features encoding/json was a fifth of the answer's time.
func appendMapFeature(b []byte, inc *bluehelm.IncidentSummary) []byte {
	id := strconv.AppendInt(nil, inc.ID, 10)
	b = append(b, `{"type":"Feature","id":`...)
	b = append(b, id...)
	b = append(b, `,"geometry":{"type":"Point","coordinates":[`...)
	b = strconv.AppendFloat(b, inc.Location.Lon, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, inc.Location.Lat, 'f', -1, 64)
	b = append(b, `]},"properties":{"id":`...)
	b = append(b, id...)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, string(inc.Category))
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(inc.Status))
	b = append(b, `,"title":`...)
	b = appendJSONString(b, inc.Title)
	b = append(b, `,"occurred":"`...)
	b = inc.OccurredStart.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","killed":`...)
	b = strconv.AppendInt(b, int64(casualtyBest(inc, "killed")), 10)
	b = append(b, `,"injured":`...)
	b = strconv.AppendInt(b, int64(casualtyBest(inc, "injured")), 10)
	b = append(b, `,"classification":"`...)
	b = append(b, inc.Classification.String()...)
	b = append(b, `","version":`...)
	b = strconv.AppendInt(b, int64(inc.Version), 10)
	return append(b, "}}"...)
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

// incidentsMap is every visible incident matching the search filters as a compact
// GeoJSON FeatureCollection, unpaged, for a clustered map layer.
func (s *Server) incidentsMap(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f, err := incidentFilter(q, principal(r))
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	b := make([]byte, 0, 64<<10)
	b = append(b, `{"type":"FeatureCollection","features":[`...)
	n := 0
	truncated, err := s.eachIncident(r.Context(), f, maxMapIncidents, func(inc *bluehelm.IncidentSummary) {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendMapFeature(b, inc)
		n++
	})
	if err != nil {
		return err
	}
	b = append(b, `],"truncated":`...)
	b = strconv.AppendBool(b, truncated)
	b = append(b, "}\n"...)
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
	var (
		total    int
		byCM     = map[catMonth]int{}
		byStatus = map[bluehelm.Status]int{}
		cas      = map[groupKind]*casualtySum{}
	)
	truncated, err := s.eachIncident(r.Context(), f, maxStatsIncidents, func(inc *bluehelm.IncidentSummary) {
		total++
		byCM[catMonth{inc.Category, inc.OccurredStart.UTC().Format("2006-01")}]++
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
		ByStatus: []statusCount{}, Casualties: make([]casualtySum, 0, len(cas))}
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
