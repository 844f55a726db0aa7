package http

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// This file serves the operations records of issue 5: units, medical facilities,
// patrols and response tasks. Reads go to the store with the caller as viewer;
// writes go through the pipeline.

// versioned answers a write that failed with ECONFLICT: if the stored version is
// no longer the one the client named, it is a 412 telling them to reload;
// otherwise the conflict was about something else (a workflow step, a duplicate)
// and stays a 409.
func versioned(kind string, id int64, want int, err error, current func() (int, error)) error {
	if bluehelm.ErrorCode(err) != bluehelm.ECONFLICT || want == 0 {
		return err
	}
	have, gerr := current()
	if gerr != nil || have == want {
		return err
	}
	return stale(kind, id, have, want)
}

func writeVersioned(w http.ResponseWriter, status int, version int, v any) error {
	w.Header().Set("ETag", etag(version))
	return writeJSON(w, status, v)
}

// visible loads a record and hides it from whoever may not see it.
func visible[T any](ctx context.Context, r *http.Request, kind string, id int64, load func(context.Context, int64) (T, error), marking func(T) bluehelm.Marking) (T, error) {
	v, err := load(ctx, id)
	if err != nil {
		return v, err
	}
	if !principal(r).CanSee(marking(v)) {
		var zero T
		return zero, bluehelm.Errorf(bluehelm.ENOTFOUND, "%s %d not found", kind, id)
	}
	return v, nil
}

// ---- units

func unitMarking(u *bluehelm.Unit) bluehelm.Marking { return u.Marking }

func (s *Server) listUnits(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	all := q.get("all") == "true" // disabled units too
	if err := q.done(); err != nil {
		return err
	}
	units, err := s.cfg.Store.Units(r.Context())
	if err != nil {
		return err
	}
	p := principal(r)
	out := make([]*bluehelm.Unit, 0, len(units))
	for _, u := range units {
		if p.CanSee(u.Marking) && (all || !u.Disabled) {
			out = append(out, u)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"units": out})
}

func (s *Server) getUnit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	u, err := visible(r.Context(), r, "unit", id, s.cfg.Store.Unit, unitMarking)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, u.Version, u)
}

func (s *Server) createUnit(w http.ResponseWriter, r *http.Request) error {
	var u bluehelm.Unit
	if err := decodeJSON(w, r, limitSmall, &u); err != nil {
		return err
	}
	if err := s.cfg.Pipeline.CreateUnit(r.Context(), principal(r), &u); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/units/"+strconv.FormatInt(u.ID, 10))
	return writeVersioned(w, http.StatusCreated, u.Version, &u)
}

func (s *Server) updateUnit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var next bluehelm.Unit
	if err := decodeJSON(w, r, limitSmall, &next); err != nil {
		return err
	}
	u, err := s.cfg.Pipeline.UpdateUnit(r.Context(), principal(r), id, want, &next)
	if err != nil {
		return versioned("unit", id, want, err, func() (int, error) {
			u, err := visible(r.Context(), r, "unit", id, s.cfg.Store.Unit, unitMarking)
			if err != nil {
				return 0, err
			}
			return u.Version, nil
		})
	}
	return writeVersioned(w, http.StatusOK, u.Version, u)
}

// ---- medical facilities

func facilityMarking(f *bluehelm.MedicalFacility) bluehelm.Marking { return f.Marking }

func (s *Server) listFacilities(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).done(); err != nil {
		return err
	}
	fs, err := s.cfg.Store.Facilities(r.Context())
	if err != nil {
		return err
	}
	p := principal(r)
	out := make([]*bluehelm.MedicalFacility, 0, len(fs))
	for _, f := range fs {
		if p.CanSee(f.Marking) {
			out = append(out, f)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"facilities": out})
}

func (s *Server) getFacility(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := visible(r.Context(), r, "medical facility", id, s.cfg.Store.Facility, facilityMarking)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, f.Version, f)
}

func (s *Server) createFacility(w http.ResponseWriter, r *http.Request) error {
	var f bluehelm.MedicalFacility
	if err := decodeJSON(w, r, limitSmall, &f); err != nil {
		return err
	}
	if err := s.cfg.Pipeline.CreateFacility(r.Context(), principal(r), &f); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/medical-facilities/"+strconv.FormatInt(f.ID, 10))
	return writeVersioned(w, http.StatusCreated, f.Version, &f)
}

func (s *Server) updateFacility(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var next bluehelm.MedicalFacility
	if err := decodeJSON(w, r, limitSmall, &next); err != nil {
		return err
	}
	f, err := s.cfg.Pipeline.UpdateFacility(r.Context(), principal(r), id, want, &next)
	if err != nil {
		return versioned("medical facility", id, want, err, func() (int, error) {
			f, err := visible(r.Context(), r, "medical facility", id, s.cfg.Store.Facility, facilityMarking)
			if err != nil {
				return 0, err
			}
			return f.Version, nil
		})
	}
	return writeVersioned(w, http.StatusOK, f.Version, f)
}

// ---- patrols

func patrolMarking(p *bluehelm.Patrol) bluehelm.Marking { return p.Marking }

// patrolFilter reads the list parameters shared by the list and its exports.
func patrolFilter(r *http.Request, q *query) (bluehelm.PatrolFilter, error) {
	f := bluehelm.PatrolFilter{Viewer: principal(r), Unit: q.get("unit")}
	for _, st := range q.list("status") {
		if !bluehelm.PatrolStatus(st).Valid() {
			return f, invalid("status", "unknown patrol status %q", st)
		}
		f.Statuses = append(f.Statuses, bluehelm.PatrolStatus(st))
	}
	var err error
	if f.From, err = q.time("from"); err != nil {
		return f, err
	}
	if f.To, err = q.time("to"); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, invalid("to", "must be after from")
	}
	if f.Limit, err = q.int("limit", 500, 1, 5000); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) listPatrols(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f, err := patrolFilter(r, q)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	ps, err := s.cfg.Store.FindPatrols(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"patrols": ps})
}

func (s *Server) getPatrol(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pt, err := visible(r.Context(), r, "patrol", id, s.cfg.Store.Patrol, patrolMarking)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, pt.Version, pt)
}

func (s *Server) createPatrol(w http.ResponseWriter, r *http.Request) error {
	var pt bluehelm.Patrol
	if err := decodeJSON(w, r, limitArea, &pt); err != nil {
		return err
	}
	if err := s.cfg.Pipeline.CreatePatrol(r.Context(), principal(r), &pt); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/patrols/"+strconv.FormatInt(pt.ID, 10))
	return writeVersioned(w, http.StatusCreated, pt.Version, &pt)
}

func (s *Server) patrolVersion(r *http.Request, id int64) func() (int, error) {
	return func() (int, error) {
		pt, err := visible(r.Context(), r, "patrol", id, s.cfg.Store.Patrol, patrolMarking)
		if err != nil {
			return 0, err
		}
		return pt.Version, nil
	}
}

func (s *Server) updatePatrol(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var next bluehelm.Patrol
	if err := decodeJSON(w, r, limitArea, &next); err != nil {
		return err
	}
	pt, err := s.cfg.Pipeline.UpdatePatrol(r.Context(), principal(r), id, want, &next)
	if err != nil {
		return versioned("patrol", id, want, err, s.patrolVersion(r, id))
	}
	return writeVersioned(w, http.StatusOK, pt.Version, pt)
}

func (s *Server) patrolAction(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req actionRequest
	if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	pt, err := s.cfg.Pipeline.PatrolAction(r.Context(), principal(r), id, want, bluehelm.PatrolAction(r.PathValue("action")), req.Reason)
	if err != nil {
		return versioned("patrol", id, want, err, s.patrolVersion(r, id))
	}
	return writeVersioned(w, http.StatusOK, pt.Version, pt)
}

// ---- tasks

func taskMarking(t *bluehelm.Task) bluehelm.Marking { return t.Marking }

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := bluehelm.TaskFilter{Viewer: principal(r), Unit: q.get("unit")}
	for _, st := range q.list("status") {
		if !bluehelm.TaskStatus(st).Valid() {
			return invalid("status", "unknown task status %q", st)
		}
		f.Statuses = append(f.Statuses, bluehelm.TaskStatus(st))
	}
	if v := q.get("incident_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return invalid("incident_id", "%q is not a record id", v)
		}
		f.IncidentID = id
	}
	var err error
	if f.Since, err = q.time("since"); err != nil {
		return err
	}
	if f.Limit, err = q.int("limit", 500, 1, 5000); err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	ts, err := s.cfg.Store.FindTasks(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tasks": ts})
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := visible(r.Context(), r, "task", id, s.cfg.Store.Task, taskMarking)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, t.Version, t)
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) error {
	var d ingest.Dispatch
	if err := decodeJSON(w, r, limitSmall, &d); err != nil {
		return err
	}
	t, err := s.cfg.Pipeline.DispatchUnit(r.Context(), principal(r), d)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tasks/"+strconv.FormatInt(t.ID, 10))
	return writeVersioned(w, http.StatusCreated, t.Version, t)
}

func (s *Server) taskAction(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req struct {
		Note string `json:"note"`
	}
	if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	action := bluehelm.TaskAction(r.PathValue("action"))
	if !slices.Contains([]bluehelm.TaskAction{bluehelm.TaskDepart, bluehelm.TaskArrive, bluehelm.TaskClose, bluehelm.TaskCancel}, action) {
		return invalid("action", "unknown task action %q (want en_route, on_scene, close or cancel)", action)
	}
	t, err := s.cfg.Pipeline.TaskAction(r.Context(), principal(r), id, want, action, req.Note)
	if err != nil {
		return versioned("task", id, want, err, func() (int, error) {
			t, err := visible(r.Context(), r, "task", id, s.cfg.Store.Task, taskMarking)
			if err != nil {
				return 0, err
			}
			return t.Version, nil
		})
	}
	return writeVersioned(w, http.StatusOK, t.Version, t)
}

// ---- proximity rules

func ruleMarking(r *bluehelm.ProximityRule) bluehelm.Marking { return r.Marking }

func (s *Server) ruleVersion(r *http.Request, id int64) func() (int, error) {
	return func() (int, error) {
		v, err := visible(r.Context(), r, "proximity rule", id, s.cfg.Store.ProximityRule, ruleMarking)
		if err != nil {
			return 0, err
		}
		return v.Version, nil
	}
}

func (s *Server) listProximityRules(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).done(); err != nil {
		return err
	}
	rules, err := s.cfg.Store.ProximityRules(r.Context())
	if err != nil {
		return err
	}
	p := principal(r)
	out := make([]*bluehelm.ProximityRule, 0, len(rules))
	for _, rl := range rules {
		if p.CanSee(rl.Marking) {
			out = append(out, rl)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rules": out})
}

func (s *Server) getProximityRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rl, err := visible(r.Context(), r, "proximity rule", id, s.cfg.Store.ProximityRule, ruleMarking)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, rl.Version, rl)
}

func (s *Server) createProximityRule(w http.ResponseWriter, r *http.Request) error {
	var rl bluehelm.ProximityRule
	if err := decodeJSON(w, r, limitSmall, &rl); err != nil {
		return err
	}
	if err := s.cfg.Pipeline.CreateProximityRule(r.Context(), principal(r), &rl); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/proximity-rules/"+strconv.FormatInt(rl.ID, 10))
	return writeVersioned(w, http.StatusCreated, rl.Version, &rl)
}

func (s *Server) updateProximityRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var next bluehelm.ProximityRule
	if err := decodeJSON(w, r, limitSmall, &next); err != nil {
		return err
	}
	rl, err := s.cfg.Pipeline.UpdateProximityRule(r.Context(), principal(r), id, want, &next)
	if err != nil {
		return versioned("proximity rule", id, want, err, s.ruleVersion(r, id))
	}
	return writeVersioned(w, http.StatusOK, rl.Version, rl)
}

func (s *Server) deleteProximityRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Pipeline.DeleteProximityRule(r.Context(), principal(r), id, want); err != nil {
		return versioned("proximity rule", id, want, err, s.ruleVersion(r, id))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
