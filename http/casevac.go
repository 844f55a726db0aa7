package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/plan"
)

// This file serves casualty evacuation (issue 8): the 9-line requests, their
// steps, the recommended destination and means, the 10-1-2 clocks, the
// two-step casualty notification, and the medical coverage grid.

// CasevacRequest is the body that files a request: the 9-line, the time of
// wounding and, optionally, the incident and first aid already given.
type CasevacRequest struct {
	IncidentID int64 `json:"incident_id,omitempty"`
	bluehelm.NineLine
	WoundedAt  time.Time `json:"wounded_at"`
	FirstAidAt time.Time `json:"first_aid_at,omitzero"`
	Note       string    `json:"note,omitempty"`
	Source     string    `json:"source,omitempty"` // "web" or "api"
	bluehelm.Marking
}

// CasevacView is a request with its clocks and the steps allowed now.
type CasevacView struct {
	bluehelm.Casevac
	Clocks  []bluehelm.CasevacClock  `json:"clocks"`
	Allowed []bluehelm.CasevacAction `json:"allowed"`
	Now     time.Time                `json:"now"`
}

// CasevacStepRequest is the body of a step.
type CasevacStepRequest struct {
	Note       string `json:"note,omitempty"`
	FacilityID int64  `json:"facility_id,omitempty"`
	Means      string `json:"means,omitempty"`
	AssetUnit  string `json:"asset_unit,omitempty"`
}

func (s *Server) casevacView(c *bluehelm.Casevac) CasevacView {
	now := s.casevacNow()
	return CasevacView{Casevac: *c, Clocks: c.Clocks(now), Allowed: c.Allowed(), Now: now}
}

func (s *Server) writeCasevac(w http.ResponseWriter, status int, c *bluehelm.Casevac) error {
	w.Header().Set("ETag", etag(c.Version))
	return writeJSON(w, status, s.casevacView(c))
}

// now is the pipeline's clock: the clocks shown agree with the alerts raised.
func (s *Server) casevacNow() time.Time { return s.cfg.Pipeline.CasevacNow() }

func (s *Server) casevacRoutes(v1 string) []route {
	return []route{
		{method: "GET", path: v1 + "/casevac", h: s.listCasevacs},
		{method: "POST", path: v1 + "/casevac", h: s.createCasevac},
		{method: "GET", path: v1 + "/casevac/{id}", h: s.getCasevac},
		{method: "POST", path: v1 + "/casevac/{id}/actions/{action}", h: s.casevacAction},
		{method: "GET", path: v1 + "/casevac/{id}/recommendation", h: s.casevacRecommendation},
		{method: "GET", path: v1 + "/casevac/{id}/clocks", h: s.casevacClocks},
		{method: "POST", path: v1 + "/casevac/{id}/notification/verify", h: s.casevacNotify(true)},
		{method: "POST", path: v1 + "/casevac/{id}/notification/confirm", h: s.casevacNotify(false)},
		{method: "GET", path: v1 + "/coverage", h: s.coverage},
	}
}

func (s *Server) listCasevacs(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := bluehelm.CasevacFilter{Viewer: principal(r)}
	for _, st := range q.list("status") {
		ok := st == string(bluehelm.CasevacCancelled)
		for _, fl := range bluehelm.CasevacFlow {
			ok = ok || st == string(fl)
		}
		if !ok {
			return invalid("status", "unknown casevac status %q", st)
		}
		f.Statuses = append(f.Statuses, bluehelm.CasevacStatus(st))
	}
	if v := q.get("incident_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return invalid("incident_id", "%q is not a record id", v)
		}
		f.IncidentID = id
	}
	var err error
	if f.Limit, err = q.int("limit", 500, 1, 5000); err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	cs, err := s.cfg.Pipeline.FindCasevacs(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]CasevacView, len(cs))
	for i, c := range cs {
		out[i] = s.casevacView(c)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"casevacs": out})
}

func (s *Server) createCasevac(w http.ResponseWriter, r *http.Request) error {
	var req CasevacRequest
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	switch req.Source {
	case "":
		req.Source = "api"
	case "web", "api":
	default:
		return invalid("source", "want web or api")
	}
	c := &bluehelm.Casevac{IncidentID: req.IncidentID, NineLine: req.NineLine, WoundedAt: req.WoundedAt,
		FirstAidAt: req.FirstAidAt, Note: req.Note, Source: req.Source, Marking: req.Marking}
	c, err := s.cfg.Pipeline.RequestCasevac(r.Context(), principal(r), c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/casevac/"+strconv.FormatInt(c.ID, 10))
	return s.writeCasevac(w, http.StatusCreated, c)
}

func (s *Server) getCasevac(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.cfg.Pipeline.Casevac(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	return s.writeCasevac(w, http.StatusOK, c)
}

func (s *Server) casevacAction(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req CasevacStepRequest
	if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	c, err := s.cfg.Pipeline.CasevacStep(r.Context(), principal(r), id, ingest.CasevacStepInput{
		Action: bluehelm.CasevacAction(r.PathValue("action")), Note: req.Note, FacilityID: req.FacilityID,
		Means: req.Means, AssetUnit: req.AssetUnit, Version: want})
	if err != nil {
		return err
	}
	return s.writeCasevac(w, http.StatusOK, c)
}

func (s *Server) casevacRecommendation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rec, err := s.cfg.Pipeline.RecommendCasevac(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

func (s *Server) casevacClocks(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.cfg.Pipeline.Casevac(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	now := s.casevacNow()
	return writeJSON(w, http.StatusOK, map[string]any{"now": now, "wounded_at": c.WoundedAt, "clocks": c.Clocks(now)})
}

func (s *Server) casevacNotify(verify bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var req struct {
			Note string `json:"note"`
		}
		if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
			return err
		}
		var c *bluehelm.Casevac
		if verify {
			c, err = s.cfg.Pipeline.VerifyCasualty(r.Context(), principal(r), id, req.Note)
		} else {
			c, err = s.cfg.Pipeline.ConfirmCasualty(r.Context(), principal(r), id)
		}
		if err != nil {
			return err
		}
		return s.writeCasevac(w, http.StatusOK, c)
	}
}

// coverage answers the medical coverage grid: compact (one byte of bits per
// cell, base64) by default, or GeoJSON with ?format=geojson, where each
// feature is a run of cells along a row with the same bits.
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	cellKm := 1.0
	if v := q.get("cell_km"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return invalid("cell_km", "%q is not a number", v)
		}
		cellKm = f
	}
	format := q.get("format")
	if format != "" && format != "grid" && format != "geojson" {
		return invalid("format", "want grid or geojson")
	}
	if err := q.done(); err != nil {
		return err
	}
	g, err := s.cfg.Pipeline.CasevacCoverage(r.Context(), principal(r), cellKm)
	if err != nil {
		return err
	}
	if format != "geojson" {
		return writeJSON(w, http.StatusOK, g)
	}
	return writeJSON(w, http.StatusOK, coverageGeoJSON(g))
}

func coverageGeoJSON(g *plan.MedicalCoverage) map[string]any {
	features := []any{}
	for j := range g.Rows {
		lat0 := g.BBox.MinLat + float64(j)*g.LatStep
		lat1 := lat0 + g.LatStep
		for i := 0; i < g.Cols; {
			b := g.Cells[j*g.Cols+i]
			k := i + 1
			for k < g.Cols && g.Cells[j*g.Cols+k] == b {
				k++
			}
			if b&plan.CellInside != 0 {
				lon0 := g.BBox.MinLon + float64(i)*g.LonStep
				lon1 := g.BBox.MinLon + float64(k)*g.LonStep
				features = append(features, map[string]any{
					"type": "Feature",
					"geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{
						{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1}, {lon0, lat0}}}},
					"properties": map[string]any{
						"road_1h": b&plan.CellRoad1h != 0, "road_2h": b&plan.CellRoad2h != 0,
						"air_1h": b&plan.CellAir1h != 0, "air_2h": b&plan.CellAir2h != 0,
						"within_1h": b&(plan.CellRoad1h|plan.CellAir1h) != 0, "within_2h": b&(plan.CellRoad2h|plan.CellAir2h) != 0,
					},
				})
			}
			i = k
		}
	}
	return map[string]any{"type": "FeatureCollection", "features": features,
		"share_outside_1h": g.ShareOut1h, "share_outside_2h": g.ShareOut2h, "cell_km": g.CellKm, "at": g.At}
}
