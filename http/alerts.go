package http

import (
	"net/http"
	"strconv"

	"github.com/bluehelm/bluehelm"
)

func writeAlert(w http.ResponseWriter, status int, a *bluehelm.Alert) error {
	w.Header().Set("ETag", etag(a.Version))
	return writeJSON(w, status, utcAlert(a))
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := bluehelm.AlertFilter{Viewer: principal(r)}
	for _, st := range q.list("state") {
		switch bluehelm.AlertState(st) {
		case bluehelm.AlertOpen, bluehelm.AlertAcknowledged, bluehelm.AlertResolved:
			f.States = append(f.States, bluehelm.AlertState(st))
		default:
			return invalid("state", "unknown state %q (want open, acknowledged or resolved)", st)
		}
	}
	var err error
	if f.Since, err = q.time("since"); err != nil {
		return err
	}
	if f.Limit, err = q.int("limit", 500, 1, 1000); err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	alerts, err := s.cfg.Store.Alerts(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]*bluehelm.Alert, 0, len(alerts))
	for _, a := range alerts {
		if f.Viewer.CanSee(a.Marking) {
			out = append(out, utcAlert(a))
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

// getAlert answers one alert, so that a client that lost an acknowledge race can
// show who handled it. An alert the caller may not see is "not found", as for
// incidents and areas: its existence is not for them to learn.
func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.cfg.Store.Alert(r.Context(), id)
	if err != nil {
		return err
	}
	if !principal(r).CanSee(a.Marking) {
		return bluehelm.Errorf(bluehelm.ENOTFOUND, "alert %d not found", id)
	}
	return writeAlert(w, http.StatusOK, a)
}

// raiseAlert is a person raising an alert: a manual one or an emergency ("troops in
// contact"). Other sources (geofence, sensor, forecast, …) are raised by the rules
// that own them, so the API refuses them rather than let a client impersonate one.
func (s *Server) raiseAlert(w http.ResponseWriter, r *http.Request) error {
	var a bluehelm.Alert
	if err := decodeJSON(w, r, limitSmall, &a); err != nil {
		return err
	}
	switch a.Source {
	case "":
		a.Source = bluehelm.AlertManual
	case bluehelm.AlertManual, bluehelm.AlertEmergency:
	default:
		return invalid("source", "an alert raised through the API is manual or emergency, not %q", a.Source)
	}
	if a.Rule != "" || a.Key != "" {
		return invalid("rule", "rule and key are set by the rule that raises an alert, not by a person")
	}
	if a.PatrolID != 0 {
		// A person's alert about a patrol names it in its text: a patrol link here
		// would need the same checks as the monitor's, for no gain.
		return invalid("patrol_id", "is set by patrol monitoring, not by a person")
	}
	if err := s.cfg.Pipeline.RaiseAlert(r.Context(), principal(r), &a); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/alerts/"+strconv.FormatInt(a.ID, 10))
	return writeAlert(w, http.StatusCreated, &a)
}

type resolveRequest struct {
	Resolution string `json:"resolution"`
}

func (s *Server) acknowledgeAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	var none struct{}
	if err := decodeOptionalJSON(w, r, limitSmall, &none); err != nil {
		return err
	}
	a, err := s.cfg.Pipeline.AcknowledgeAlert(r.Context(), principal(r), id, want)
	if err != nil {
		return s.alertPrecondition(r, id, want, err)
	}
	return writeAlert(w, http.StatusOK, a)
}

func (s *Server) resolveAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req resolveRequest
	if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	a, err := s.cfg.Pipeline.ResolveAlert(r.Context(), principal(r), id, want, req.Resolution)
	if err != nil {
		return s.alertPrecondition(r, id, want, err)
	}
	return writeAlert(w, http.StatusOK, a)
}

func (s *Server) alertPrecondition(r *http.Request, id int64, want int, err error) error {
	if want == 0 || bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		return err
	}
	cur, gerr := s.cfg.Store.Alert(r.Context(), id)
	if gerr != nil || !principal(r).CanSee(cur.Marking) || cur.Version == want {
		return err
	}
	return stale("alert", id, cur.Version, want)
}
