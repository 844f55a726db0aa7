package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// TestResponseReopen checks that units, patrols, tasks, facilities and
// proximity rules written before Close are there after Open, on a database
// created at schema 3 (before they existed) and upgraded: the storetest suite
// opens a new store each time, so it can check neither.
func TestResponseReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), raw, migrations[:3]); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatalf("upgrade from schema 3: %v", err)
	}
	ctx := t.Context()
	audit := func(action string) bluehelm.AuditEntry { return bluehelm.NewAudit(sys, action, "", nil) }
	m := bluehelm.Marking{Component: bluehelm.Military}
	u := &bluehelm.Unit{Code: "BANBATT-2/B", Name: "B company", Mobility: bluehelm.MobilityFoot, Marking: m, UpdatedAt: t0}
	p := &bluehelm.Patrol{Name: "LRP 14", Type: bluehelm.PatrolFoot, Units: []string{u.Code}, Strength: 12,
		Route:        bluehelm.Geometry{Geometry: orb.LineString{{31.5, 4.8}, {31.6, 4.9}}},
		PlannedStart: t0, PlannedEnd: t0.Add(6 * time.Hour), CheckInMinutes: 30, Status: bluehelm.PatrolApproved,
		Risk: &bluehelm.RiskReport{ComputedAt: t0, Level: bluehelm.RiskModerate, Score: 30}, Marking: m}
	task := &bluehelm.Task{Title: "Respond", Location: bluehelm.Point{Lon: 31.6, Lat: 4.9}, Unit: u.Code, IncidentID: 7,
		Status: bluehelm.TaskAssigned, AssignedAt: t0, Marking: m}
	f := &bluehelm.MedicalFacility{Name: "Bor clinic", Level: "1", Location: bluehelm.Point{Lon: 31.55, Lat: 6.2}, Marking: m}
	rules := []*bluehelm.ProximityRule{
		{Name: "deleted", A: bluehelm.TrackSelector{Units: []string{"A"}}, B: bluehelm.TrackSelector{Units: []string{"B"}}, DistanceMeters: 100, Severity: bluehelm.SevInfo, Marking: m},
		{Name: "kept", A: bluehelm.TrackSelector{Units: []string{"A"}}, B: bluehelm.TrackSelector{Units: []string{"C"}}, DistanceMeters: 100, Severity: bluehelm.SevInfo, Marking: m},
	}
	for _, step := range []struct {
		name string
		err  error
	}{
		{"CreateUnit", db.CreateUnit(ctx, u, audit("unit.create"))},
		{"CreatePatrol", db.CreatePatrol(ctx, p, audit("patrol.create"))},
		{"CreateTask", db.CreateTask(ctx, task, audit("task.dispatch"))},
		{"CreateFacility", db.CreateFacility(ctx, f, audit("facility.create"))},
		{"CreateProximityRule", db.CreateProximityRule(ctx, rules[0], audit("proximity.create"))},
		{"CreateProximityRule", db.CreateProximityRule(ctx, rules[1], audit("proximity.create"))},
		{"DeleteProximityRule", db.DeleteProximityRule(ctx, rules[1].ID, 1, audit("proximity.delete"))},
	} {
		if step.err != nil {
			t.Fatalf("%s: %v", step.name, step.err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if got, err := db.UnitByCode(ctx, u.Code); err != nil || got.ID != u.ID {
		t.Errorf("unit after reopen: %+v, %v", got, err)
	}
	ps, err := db.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, Unit: u.Code, From: t0.Add(time.Hour)})
	if err != nil || len(ps) != 1 || ps[0].ID != p.ID || ps[0].Risk == nil || ps[0].Risk.Level != bluehelm.RiskModerate || len(ps[0].RouteLine()) != 2 {
		t.Errorf("patrols after reopen: %v, %v; want patrol %d with its route and risk", ps, err, p.ID)
	}
	ts, err := db.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys, IncidentID: 7})
	if err != nil || len(ts) != 1 || ts[0].ID != task.ID {
		t.Errorf("tasks after reopen: %v, %v; want task %d", ts, err, task.ID)
	}
	if fs, err := db.Facilities(ctx); err != nil || len(fs) != 1 || fs[0].ID != f.ID {
		t.Errorf("facilities after reopen: %v, %v", fs, err)
	}
	// The deleted rule had the largest id: a new rule does not take it, after
	// a reopen either.
	again := *rules[0]
	if err := db.CreateProximityRule(ctx, &again, audit("proximity.create")); err != nil || again.ID == rules[1].ID {
		t.Errorf("rule created after reopen: id %d, %v; the deleted rule had id %d", again.ID, err, rules[1].ID)
	}
	if rs, err := db.ProximityRules(ctx); err != nil || len(rs) != 2 || rs[0].ID != rules[0].ID {
		t.Errorf("proximity rules after reopen: %v, %v", rs, err)
	}
	if n, err := db.VerifyAudit(ctx); n != 8 || err != nil {
		t.Errorf("VerifyAudit after reopen = %d, %v; want 8, nil", n, err)
	}
}

// TestResponseQueryPlans pins the indexes the patrol planner and the task
// board use: a week's plans are a range of patrols_start (the longest window
// read from the end of patrols_length, not by a scan), a unit's plans come
// from patrol_units, and task pages walk an index in page order.
func TestResponseQueryPlans(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	explain := func(q string, args []any) string {
		t.Helper()
		rows, err := db.r.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	viewer := bluehelm.Principal{Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	patrol := func(f bluehelm.PatrolFilter) string {
		f.Viewer = viewer
		q, args := patrolQuery(f, 500)
		return explain(q, args)
	}
	task := func(f bluehelm.TaskFilter) string {
		f.Viewer = viewer
		q, args := taskQuery(f, 500)
		return explain(q, args)
	}
	week := t0.Add(7 * 24 * time.Hour)
	for _, tc := range []struct {
		name    string
		plan    string
		want    []string
		wantNot []string
	}{
		{"patrols in a week", patrol(bluehelm.PatrolFilter{From: t0, To: week}),
			[]string{"SEARCH p USING INDEX patrols_start (planned_start>? AND planned_start<?)", "SEARCH patrols USING COVERING INDEX patrols_length"},
			[]string{"TEMP B-TREE", "SCAN"}},
		{"patrols of a unit", patrol(bluehelm.PatrolFilter{Unit: "A", From: t0, To: week}),
			[]string{"SEARCH patrol_units USING PRIMARY KEY (unit=?)"}, []string{"SCAN"}},
		{"tasks", task(bluehelm.TaskFilter{}), []string{"SCAN t USING INDEX tasks_assigned"}, []string{"TEMP B-TREE"}},
		{"tasks since", task(bluehelm.TaskFilter{Since: t0}), []string{"SEARCH t USING INDEX tasks_assigned (assigned_at>?)"}, []string{"TEMP B-TREE"}},
		{"tasks of a unit", task(bluehelm.TaskFilter{Unit: "A", Since: t0}), []string{"SEARCH t USING INDEX tasks_unit (unit=? AND assigned_at>?)"}, []string{"TEMP B-TREE"}},
		{"tasks of an incident", task(bluehelm.TaskFilter{IncidentID: 3}), []string{"SEARCH t USING INDEX tasks_incident (incident_id=?)"}, []string{"TEMP B-TREE"}},
		{"unit by code", explain(`SELECT id, version, doc FROM units WHERE code = ?`, []any{"A"}), []string{"SEARCH units USING INDEX sqlite_autoindex_units_1 (code=?)"}, nil},
		{"units by code", explain(`SELECT id, version, doc FROM units ORDER BY code`, nil), nil, []string{"TEMP B-TREE"}},
		{"facilities by name", explain(`SELECT id, version, doc FROM medical_facilities ORDER BY name, id`, nil), nil, []string{"TEMP B-TREE"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.plan, w) {
				t.Errorf("%s plan lacks %q:\n%s", tc.name, w, tc.plan)
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(tc.plan, w) {
				t.Errorf("%s plan has %q:\n%s", tc.name, w, tc.plan)
			}
		}
	}
}
