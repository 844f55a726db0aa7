package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/export"
	"github.com/bluehelm/bluehelm/plan"
	"github.com/bluehelm/bluehelm/routefile"
)

// assessRoute answers the planner's "how risky is this route?" before a patrol
// is filed: the same assessment a patrol gets, for a route drawn or imported.
func (s *Server) assessRoute(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(bluehelm.ActPlanPatrol); err != nil {
		return err
	}
	var req struct {
		Route        bluehelm.Geometry `json:"route"`
		PlannedStart time.Time         `json:"planned_start"`
		PlannedEnd   time.Time         `json:"planned_end"`
	}
	if err := decodeJSON(w, r, limitArea, &req); err != nil {
		return err
	}
	if err := bluehelm.ValidateRoute(req.Route); err != nil {
		return err
	}
	probe := bluehelm.Patrol{Route: req.Route}
	at := req.PlannedStart
	if at.IsZero() {
		at = s.now().UTC()
	}
	if !req.PlannedEnd.IsZero() && !req.PlannedEnd.After(at) {
		return invalid("planned_end", "must be after planned_start")
	}
	rep, err := s.cfg.Pipeline.AssessRoute(r.Context(), p, probe.RouteLine(), at, req.PlannedEnd)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// importRoute turns a GPX, KML or TAK route file into a GeoJSON LineString for
// the planner; nothing is stored.
func (s *Server) importRoute(w http.ResponseWriter, r *http.Request) error {
	if err := principal(r).Require(bluehelm.ActPlanPatrol); err != nil {
		return err
	}
	rt, err := routefile.Parse(http.MaxBytesReader(w, r.Body, routefile.MaxSize+1))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"name": rt.Name, "format": rt.Format, "points": len(rt.Line),
		"route": bluehelm.Geometry{Geometry: rt.Line},
	})
}

// rankedJSON is a responder as the dispatcher's list shows it.
type rankedJSON struct {
	Unit           *bluehelm.Unit  `json:"unit"`
	Busy           bool            `json:"busy"`
	HasETA         bool            `json:"has_eta"`
	TrackUID       string          `json:"track_uid,omitempty"`
	From           *bluehelm.Point `json:"from,omitempty"`
	PositionAt     *time.Time      `json:"position_at,omitempty"`
	ETASeconds     int             `json:"eta_seconds,omitempty"`
	DistanceMeters int             `json:"distance_meters,omitempty"`
	ETAEstimated   bool            `json:"eta_estimated"`
}

// responders ranks units by estimated time of arrival at a place or at an
// incident's or alert's place.
func (s *Server) responders(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(bluehelm.ActDispatch); err != nil {
		return err
	}
	q := newQuery(r)
	var scene *bluehelm.Point
	if v := q.get("incident_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return invalid("incident_id", "%q is not a record id", v)
		}
		inc, err := s.visibleIncident(r, id)
		if err != nil {
			return bluehelm.PrefixField("incident_id", err)
		}
		scene = &inc.Location
	}
	if v := q.get("alert_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return invalid("alert_id", "%q is not a record id", v)
		}
		a, err := s.cfg.Store.Alert(r.Context(), id)
		if err == nil && !p.CanSee(a.Marking) {
			err = bluehelm.Errorf(bluehelm.ENOTFOUND, "alert %d not found", id)
		}
		if err != nil {
			return bluehelm.PrefixField("alert_id", err)
		}
		if a.Location == nil {
			return invalid("alert_id", "alert %d has no place: give lon and lat", id)
		}
		scene = a.Location
	}
	lon, lat := q.get("lon"), q.get("lat")
	if lon != "" || lat != "" {
		x, err1 := strconv.ParseFloat(lon, 64)
		y, err2 := strconv.ParseFloat(lat, 64)
		if err1 != nil || err2 != nil {
			return invalid("lon", "lon and lat must both be decimal degrees")
		}
		scene = &bluehelm.Point{Lon: x, Lat: y}
	}
	if err := q.done(); err != nil {
		return err
	}
	if scene == nil {
		return invalid("lon", "give lon and lat, incident_id or alert_id")
	}
	ranked, err := s.cfg.Pipeline.Responders(r.Context(), p, *scene)
	if err != nil {
		return err
	}
	out := make([]rankedJSON, len(ranked))
	for i, rk := range ranked {
		out[i] = responderJSON(rk)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"scene": scene, "responders": out})
}

func responderJSON(rk plan.Ranked) rankedJSON {
	j := rankedJSON{Unit: rk.Unit, Busy: rk.Busy, HasETA: rk.HasETA, TrackUID: rk.TrackUID,
		ETASeconds: rk.ETASeconds, DistanceMeters: rk.DistanceMeters, ETAEstimated: rk.ETAEstimated}
	if rk.HasETA {
		from, at := rk.From, rk.PositionAt.UTC()
		j.From, j.PositionAt = &from, &at
	}
	return j
}

// patrolFigures answers the commander's figures for a period (default: the last
// 28 days), with the coverage of an AOR when aor names one.
func (s *Server) patrolFigures(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	from, err := q.time("from")
	if err != nil {
		return err
	}
	to, err := q.time("to")
	if err != nil {
		return err
	}
	var aor int64
	if v := q.get("aor"); v != "" {
		if aor, err = strconv.ParseInt(v, 10, 64); err != nil || aor <= 0 {
			return invalid("aor", "%q is not an area id", v)
		}
	}
	format := q.get("format")
	if format != "" && format != "json" && format != "csv" {
		return invalid("format", "unknown format %q (want json or csv)", format)
	}
	if err := q.done(); err != nil {
		return err
	}
	if to.IsZero() {
		to = s.now().UTC()
	}
	if from.IsZero() {
		from = to.Add(-28 * 24 * time.Hour)
	}
	if !to.After(from) {
		return invalid("to", "must be after from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return invalid("from", "the period is at most a year")
	}
	p := principal(r)
	if format == "csv" {
		if err := p.Require(bluehelm.ActExport); err != nil {
			return err
		}
	}
	f, err := s.cfg.Pipeline.Figures(r.Context(), p, from, to, aor)
	if err != nil {
		return err
	}
	if format != "csv" {
		return writeJSON(w, http.StatusOK, f)
	}
	e := bluehelm.NewAudit(p, "export", "patrol_figures", map[string]any{"query": r.URL.RawQuery})
	e.At = s.now()
	if err := s.cfg.Store.AppendAudit(r.Context(), e); err != nil {
		return err
	}
	w.Header().Set("Content-Type", export.ContentType(export.CSV))
	w.Header().Set("Content-Disposition", `attachment; filename="bluehelm-patrol-figures-`+from.Format("20060102")+"-"+to.Format("20060102")+`.csv"`)
	return export.WriteFigures(w, f)
}

// maxPatrolExport is the most patrols one export holds (FindPatrols' ceiling is
// 5000; a mission plans a few hundred a week).
const maxPatrolExport = 4999

// exportPatrols writes the patrol plan (the list's filter) as CSV, GeoJSON or
// KML, and records the export in the audit chain.
func (s *Server) exportPatrols(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(bluehelm.ActExport); err != nil {
		return err
	}
	q := newQuery(r)
	f, err := patrolFilter(r, q)
	if err != nil {
		return err
	}
	name := q.get("format")
	if name == "" {
		name = "csv"
	}
	format, err := export.ParseFormat(name)
	if err != nil {
		return bluehelm.PrefixField("format", clearField(err))
	}
	if err := q.done(); err != nil {
		return err
	}
	// An export is the whole plan asked for or nothing: a file cut at the list's
	// limit would look complete.
	f.Limit = maxPatrolExport + 1
	patrols, err := s.cfg.Store.FindPatrols(r.Context(), f)
	if err != nil {
		return err
	}
	if len(patrols) > maxPatrolExport {
		return invalid("from", "more than %d patrols match: export a shorter period (from, to) or one unit", maxPatrolExport)
	}
	e := bluehelm.NewAudit(p, "export", "patrols", map[string]any{"format": name, "query": r.URL.RawQuery, "count": len(patrols)})
	e.At = s.now()
	if err := s.cfg.Store.AppendAudit(r.Context(), e); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", export.ContentType(format))
	h.Set("Content-Disposition", `attachment; filename="bluehelm-patrols-`+s.now().UTC().Format("20060102T150405Z")+export.Extension(format)+`"`)
	return export.WritePatrols(w, format, patrols)
}
