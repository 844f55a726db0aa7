package http

import (
	"net/http"
	"slices"
	"strings"

	"github.com/bluehelm/bluehelm"
)

// fatalitySummary is the dashboard's "UN peacekeeping fatalities by mission and
// type of incident": the store's counts as they are (mission, year, type) and
// the totals the chart and the table read, so the page does no arithmetic that
// could disagree with a CSV export of the same counts.
type fatalitySummary struct {
	Total         int                      `json:"total"`
	FirstYear     int                      `json:"first_year,omitempty"`
	LastYear      int                      `json:"last_year,omitempty"`
	IncidentTypes []string                 `json:"incident_types"`
	ByMission     []missionFatalities      `json:"by_mission"`
	Counts        []bluehelm.FatalityCount `json:"counts"`
	// Hint says how to fill an empty summary: fatalities come only from an
	// import, and an empty chart with no explanation reads as "nobody died".
	Hint string `json:"hint,omitempty"`
}

type missionFatalities struct {
	Mission string         `json:"mission"`
	Total   int            `json:"total"`
	ByType  map[string]int `json:"by_type"`
}

// fatalitiesSummary answers GET /api/v1/fatalities/summary. Fatalities are
// public UN data without a marking: every signed-in user sees the same answer.
func (s *Server) fatalitiesSummary(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).done(); err != nil {
		return err
	}
	counts, err := s.cfg.Store.FatalityCounts(r.Context())
	if err != nil {
		return err
	}
	out := fatalitySummary{IncidentTypes: slices.Clone(bluehelm.FatalityIncidentTypes), ByMission: []missionFatalities{}, Counts: counts}
	if out.Counts == nil {
		out.Counts = []bluehelm.FatalityCount{}
	}
	byMission := map[string]*missionFatalities{}
	for _, c := range counts {
		out.Total += c.Count
		if out.FirstYear == 0 || c.Year < out.FirstYear {
			out.FirstYear = c.Year
		}
		out.LastYear = max(out.LastYear, c.Year)
		m := byMission[c.Mission]
		if m == nil {
			m = &missionFatalities{Mission: c.Mission, ByType: map[string]int{}}
			byMission[c.Mission] = m
		}
		m.Total += c.Count
		m.ByType[c.IncidentType] += c.Count
	}
	for _, m := range byMission {
		out.ByMission = append(out.ByMission, *m)
	}
	// Most first; a tie by name, so that the order does not change between calls.
	slices.SortFunc(out.ByMission, func(a, b missionFatalities) int {
		if a.Total != b.Total {
			return b.Total - a.Total
		}
		return strings.Compare(a.Mission, b.Mission)
	})
	if out.Total == 0 {
		out.Hint = "No fatalities imported yet: run `bluehelm import fatalities FILE.csv` with the UN peacekeeping fatalities CSV."
	}
	return writeJSON(w, http.StatusOK, out)
}
