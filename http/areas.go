package http

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/bluehelm/bluehelm"
)

func writeArea(w http.ResponseWriter, status int, a *bluehelm.Area) error {
	w.Header().Set("ETag", etag(a.Version))
	return writeJSON(w, status, utcArea(a))
}

func (s *Server) visibleArea(r *http.Request, id int64) (*bluehelm.Area, error) {
	a, err := s.cfg.Store.Area(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !principal(r).CanSee(a.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "area %d not found", id)
	}
	return a, nil
}

// areaPrecondition is incidentPrecondition for areas.
func (s *Server) areaPrecondition(r *http.Request, id int64, want int, err error) error {
	if bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		return err
	}
	cur, gerr := s.visibleArea(r, id)
	if gerr != nil || cur.Version == want {
		return err
	}
	return stale("area", id, cur.Version, want)
}

func (s *Server) listAreas(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	bbox, err := q.bbox("bbox")
	if err != nil {
		return err
	}
	kinds := q.list("kind")
	for _, k := range kinds {
		if !slices.Contains(bluehelm.AreaKinds, bluehelm.AreaKind(k)) {
			return invalid("kind", "unknown area kind %q", k)
		}
	}
	if err := q.done(); err != nil {
		return err
	}
	all, err := s.cfg.Store.Areas(r.Context())
	if err != nil {
		return err
	}
	p := principal(r)
	out := make([]*bluehelm.Area, 0, len(all))
	for _, a := range all {
		if !p.CanSee(a.Marking) {
			continue
		}
		if bbox != nil && !bbox.Intersects(a.Geometry.Bound()) {
			continue
		}
		if len(kinds) > 0 && !slices.Contains(kinds, string(a.Kind)) {
			continue
		}
		out = append(out, utcArea(a))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"areas": out})
}

func (s *Server) createArea(w http.ResponseWriter, r *http.Request) error {
	var a bluehelm.Area
	if err := decodeJSON(w, r, limitArea, &a); err != nil {
		return err
	}
	if err := s.cfg.Pipeline.CreateArea(r.Context(), principal(r), &a); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/areas/"+strconv.FormatInt(a.ID, 10))
	return writeArea(w, http.StatusCreated, &a)
}

func (s *Server) getArea(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := s.visibleArea(r, id)
	if err != nil {
		return err
	}
	return writeArea(w, http.StatusOK, a)
}

func (s *Server) updateArea(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var next bluehelm.Area
	if err := decodeJSON(w, r, limitArea, &next); err != nil {
		return err
	}
	a, err := s.cfg.Pipeline.UpdateArea(r.Context(), principal(r), id, want, &next)
	if err != nil {
		return s.areaPrecondition(r, id, want, err)
	}
	return writeArea(w, http.StatusOK, a)
}

// deleteArea needs If-Match too: deleting a camp perimeter someone just redrew
// would drop their work and its geofence rules without anyone noticing.
func (s *Server) deleteArea(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Pipeline.DeleteArea(r.Context(), principal(r), id, want); err != nil {
		return s.areaPrecondition(r, id, want, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
