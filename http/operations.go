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
// patrols, response tasks and proximity rules. Reads go to the store with the
// caller as viewer; writes go through the pipeline. The records share one shape
// (an id, a version for If-Match, a marking), so their get, create, update,
// action and delete handlers are one generic resource each.

// resource describes a versioned, marked record type E served under base.
type resource[E any] struct {
	kind  string // in messages: "unit", "medical facility"
	base  string // "/api/v1/units/"
	limit int64  // the largest body a create or update may send
	load  func(ctx context.Context, id int64) (*E, error)
	meta  func(*E) (id int64, version int, m bluehelm.Marking)
}

// visible loads a record and hides it (ENOTFOUND) from whoever may not see it,
// so that its existence does not leak.
func (rs resource[E]) visible(r *http.Request, id int64) (*E, error) {
	v, err := rs.load(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if _, _, m := rs.meta(v); !principal(r).CanSee(m) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "%s %d not found", rs.kind, id)
	}
	return v, nil
}

func (rs resource[E]) write(w http.ResponseWriter, status int, v *E) error {
	_, version, _ := rs.meta(v)
	w.Header().Set("ETag", etag(version))
	return writeJSON(w, status, v)
}

// conflict answers a write that failed with ECONFLICT: if the stored version is
// no longer the one the client named, it is a 412 telling them to reload;
// otherwise the conflict was about something else (a workflow step, a duplicate)
// and stays a 409.
func (rs resource[E]) conflict(r *http.Request, id int64, want int, err error) error {
	if bluehelm.ErrorCode(err) != bluehelm.ECONFLICT || want == 0 {
		return err
	}
	cur, gerr := rs.visible(r, id)
	if gerr != nil {
		return err
	}
	if _, have, _ := rs.meta(cur); have != want {
		return stale(rs.kind, id, have, want)
	}
	return err
}

func (rs resource[E]) get() handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, err := rs.visible(r, id)
		if err != nil {
			return err
		}
		return rs.write(w, http.StatusOK, v)
	}
}

func (rs resource[E]) create(do func(ctx context.Context, by bluehelm.Principal, v *E) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v := new(E)
		if err := decodeJSON(w, r, rs.limit, v); err != nil {
			return err
		}
		if err := do(r.Context(), principal(r), v); err != nil {
			return err
		}
		id, _, _ := rs.meta(v)
		w.Header().Set("Location", rs.base+strconv.FormatInt(id, 10))
		return rs.write(w, http.StatusCreated, v)
	}
}

// update replaces a record; If-Match is required, so that a concurrent change
// is not silently overwritten.
func (rs resource[E]) update(do func(ctx context.Context, by bluehelm.Principal, id int64, want int, next *E) (*E, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		want, err := requireIfMatch(r)
		if err != nil {
			return err
		}
		next := new(E)
		if err := decodeJSON(w, r, rs.limit, next); err != nil {
			return err
		}
		v, err := do(r.Context(), principal(r), id, want, next)
		if err != nil {
			return rs.conflict(r, id, want, err)
		}
		return rs.write(w, http.StatusOK, v)
	}
}

// action applies a workflow step named by the path's {action}, with an optional
// body carrying a reason or note. If-Match is optional: a patrol leader pressing
// "start" should not fail because the JOC just corrected the purpose; the
// workflow rules apply to the stored state either way.
func (rs resource[E]) action(do func(ctx context.Context, by bluehelm.Principal, id int64, want int, action, text string) (*E, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		want, _, err := ifMatch(r)
		if err != nil {
			return err
		}
		var req struct {
			Reason string `json:"reason"`
			Note   string `json:"note"`
		}
		if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
			return err
		}
		text := req.Reason
		if text == "" {
			text = req.Note
		}
		v, err := do(r.Context(), principal(r), id, want, r.PathValue("action"), text)
		if err != nil {
			return rs.conflict(r, id, want, err)
		}
		return rs.write(w, http.StatusOK, v)
	}
}

// remove deletes a record; If-Match is required.
func (rs resource[E]) remove(do func(ctx context.Context, by bluehelm.Principal, id int64, want int) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		want, err := requireIfMatch(r)
		if err != nil {
			return err
		}
		if err := do(r.Context(), principal(r), id, want); err != nil {
			return rs.conflict(r, id, want, err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// list answers every record of all that the caller may see, under the JSON key
// name. params, if not nil, reads the list's query parameters and returns which
// records to keep.
func (rs resource[E]) list(name string, all func(context.Context) ([]*E, error), params func(q *query) func(*E) bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r)
		keep := func(*E) bool { return true }
		if params != nil {
			keep = params(q)
		}
		if err := q.done(); err != nil {
			return err
		}
		vs, err := all(r.Context())
		if err != nil {
			return err
		}
		p := principal(r)
		out := make([]*E, 0, len(vs))
		for _, v := range vs {
			if _, _, m := rs.meta(v); p.CanSee(m) && keep(v) {
				out = append(out, v)
			}
		}
		return writeJSON(w, http.StatusOK, map[string]any{name: out})
	}
}

func (s *Server) units() resource[bluehelm.Unit] {
	return resource[bluehelm.Unit]{kind: "unit", base: "/api/v1/units/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.Unit, error) { return s.cfg.Store.Unit(ctx, id) },
		meta: func(u *bluehelm.Unit) (int64, int, bluehelm.Marking) { return u.ID, u.Version, u.Marking }}
}

func (s *Server) facilities() resource[bluehelm.MedicalFacility] {
	return resource[bluehelm.MedicalFacility]{kind: "medical facility", base: "/api/v1/medical-facilities/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.MedicalFacility, error) {
		return s.cfg.Store.Facility(ctx, id)
	},
		meta: func(f *bluehelm.MedicalFacility) (int64, int, bluehelm.Marking) { return f.ID, f.Version, f.Marking }}
}

func (s *Server) patrols() resource[bluehelm.Patrol] {
	return resource[bluehelm.Patrol]{kind: "patrol", base: "/api/v1/patrols/", limit: limitArea, load: func(ctx context.Context, id int64) (*bluehelm.Patrol, error) { return s.cfg.Store.Patrol(ctx, id) },
		meta: func(p *bluehelm.Patrol) (int64, int, bluehelm.Marking) { return p.ID, p.Version, p.Marking }}
}

func (s *Server) tasks() resource[bluehelm.Task] {
	return resource[bluehelm.Task]{kind: "task", base: "/api/v1/tasks/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.Task, error) { return s.cfg.Store.Task(ctx, id) },
		meta: func(t *bluehelm.Task) (int64, int, bluehelm.Marking) { return t.ID, t.Version, t.Marking }}
}

func (s *Server) proximityRules() resource[bluehelm.ProximityRule] {
	return resource[bluehelm.ProximityRule]{kind: "proximity rule", base: "/api/v1/proximity-rules/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.ProximityRule, error) {
		return s.cfg.Store.ProximityRule(ctx, id)
	},
		meta: func(p *bluehelm.ProximityRule) (int64, int, bluehelm.Marking) { return p.ID, p.Version, p.Marking }}
}

// operationsRoutes are the routes of units, facilities, patrols, tasks and
// proximity rules. The store and pipeline are reached through closures and
// method values on a pointer, so that the route table can be built (for the
// OpenAPI test) without them.
func (s *Server) operationsRoutes(v1 string) []route {
	units, facilities, patrols, tasks, rules := s.units(), s.facilities(), s.patrols(), s.tasks(), s.proximityRules()
	pl := s.cfg.Pipeline
	return []route{
		// Enabled units, or all of them with ?all=true.
		{method: "GET", path: v1 + "/units", h: units.list("units", func(ctx context.Context) ([]*bluehelm.Unit, error) { return s.cfg.Store.Units(ctx) },
			func(q *query) func(*bluehelm.Unit) bool {
				all := q.get("all") == "true"
				return func(u *bluehelm.Unit) bool { return all || !u.Disabled }
			})},
		{method: "POST", path: v1 + "/units", h: units.create(pl.CreateUnit)},
		{method: "GET", path: v1 + "/units/{id}", h: units.get()},
		{method: "PUT", path: v1 + "/units/{id}", h: units.update(pl.UpdateUnit)},

		{method: "GET", path: v1 + "/medical-facilities", h: facilities.list("facilities", func(ctx context.Context) ([]*bluehelm.MedicalFacility, error) { return s.cfg.Store.Facilities(ctx) }, nil)},
		{method: "POST", path: v1 + "/medical-facilities", h: facilities.create(pl.CreateFacility)},
		{method: "GET", path: v1 + "/medical-facilities/{id}", h: facilities.get()},
		{method: "PUT", path: v1 + "/medical-facilities/{id}", h: facilities.update(pl.UpdateFacility)},

		{method: "GET", path: v1 + "/patrols", h: s.listPatrols},
		{method: "POST", path: v1 + "/patrols", h: patrols.create(pl.CreatePatrol)},
		{method: "GET", path: v1 + "/patrols/export", h: s.exportPatrols},
		{method: "GET", path: v1 + "/patrols/figures", h: s.patrolFigures},
		{method: "GET", path: v1 + "/patrols/{id}", h: patrols.get()},
		{method: "PUT", path: v1 + "/patrols/{id}", h: patrols.update(pl.UpdatePatrol)},
		{method: "POST", path: v1 + "/patrols/{id}/actions/{action}", h: patrols.action(
			func(ctx context.Context, by bluehelm.Principal, id int64, want int, action, reason string) (*bluehelm.Patrol, error) {
				return pl.PatrolAction(ctx, by, id, want, bluehelm.PatrolAction(action), reason)
			})},

		{method: "POST", path: v1 + "/routes/risk", h: s.assessRoute},
		{method: "POST", path: v1 + "/routes/import", h: s.importRoute},
		{method: "GET", path: v1 + "/responders", h: s.responders},

		{method: "GET", path: v1 + "/tasks", h: s.listTasks},
		{method: "POST", path: v1 + "/tasks", h: s.createTask},
		{method: "GET", path: v1 + "/tasks/{id}", h: tasks.get()},
		{method: "POST", path: v1 + "/tasks/{id}/actions/{action}", h: tasks.action(
			func(ctx context.Context, by bluehelm.Principal, id int64, want int, action, note string) (*bluehelm.Task, error) {
				a := bluehelm.TaskAction(action)
				if !slices.Contains([]bluehelm.TaskAction{bluehelm.TaskDepart, bluehelm.TaskArrive, bluehelm.TaskClose, bluehelm.TaskCancel}, a) {
					return nil, invalid("action", "unknown task action %q (want en_route, on_scene, close or cancel)", action)
				}
				return pl.TaskAction(ctx, by, id, want, a, note)
			})},

		{method: "GET", path: v1 + "/proximity-rules", h: rules.list("rules", func(ctx context.Context) ([]*bluehelm.ProximityRule, error) { return s.cfg.Store.ProximityRules(ctx) }, nil)},
		{method: "POST", path: v1 + "/proximity-rules", h: rules.create(pl.CreateProximityRule)},
		{method: "GET", path: v1 + "/proximity-rules/{id}", h: rules.get()},
		{method: "PUT", path: v1 + "/proximity-rules/{id}", h: rules.update(pl.UpdateProximityRule)},
		{method: "DELETE", path: v1 + "/proximity-rules/{id}", h: rules.remove(pl.DeleteProximityRule)},
	}
}

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

// createTask dispatches a unit: the body names an incident, an alert or a place.
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
	return s.tasks().write(w, http.StatusCreated, t)
}
