package http

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// Tests of the operations endpoints (issue 5): units, medical facilities,
// patrols and their workflow, route risk and import, responders, tasks, figures
// and proximity rules, against the real store and pipeline.

// im is an If-Match header naming version v.
func im(v int) map[string]string { return map[string]string{"If-Match": fmt.Sprintf(`"%d"`, v)} }

// opsCounts is how many operations records are stored, with the shared counts
// (whose audit count alone shows any write).
type opsCounts struct {
	counts
	units, facilities, patrols, tasks, rules int
	versions                                 map[string]int
}

func (e *testEnv) opsCounts() opsCounts {
	e.t.Helper()
	sys := bluehelm.SystemPrincipal("test")
	c := opsCounts{counts: e.counts(), versions: map[string]int{}}
	units, err := e.db.Units(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range units {
		c.versions["unit "+u.Code] = u.Version
	}
	fs, err := e.db.Facilities(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	ps, err := e.db.FindPatrols(e.ctx, bluehelm.PatrolFilter{Viewer: sys, Limit: 5000})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ps {
		c.versions[fmt.Sprint("patrol ", p.ID)] = p.Version
	}
	ts, err := e.db.FindTasks(e.ctx, bluehelm.TaskFilter{Viewer: sys, Limit: 5000})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range ts {
		c.versions[fmt.Sprint("task ", t.ID)] = t.Version
	}
	rules, err := e.db.ProximityRules(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	c.units, c.facilities, c.patrols, c.tasks, c.rules = len(units), len(fs), len(ps), len(ts), len(rules)
	return c
}

func (e *testEnv) sameOpsCounts(before opsCounts, what string) {
	e.t.Helper()
	if after := e.opsCounts(); fmt.Sprint(before) != fmt.Sprint(after) {
		e.t.Fatalf("%s wrote something:\nbefore %+v\nafter  %+v", what, before, after)
	}
}

// opsEnv is the standard cast plus a medical officer and three units near Bor:
// two enabled (with one track each) and one disabled.
func opsEnv(t *testing.T) *testEnv {
	e := newEnv(t)
	e.standardUsers()
	e.user("medic", bluehelm.RoleMedical, bluehelm.Military, bluehelm.Confidential)
	e.user("commander", bluehelm.RoleCommander, bluehelm.Military, bluehelm.StrictlyConfidential)
	for _, u := range []map[string]any{
		{"code": "BANBATT-2/A", "name": "A Company", "mobility": "mounted", "track_uids": []string{"BAN-A-1"}},
		{"code": "BANBATT-2/B", "name": "B Company", "mobility": "mounted", "track_uids": []string{"BAN-B-1"}},
		{"code": "OLD-COY", "name": "Rotated out", "mobility": "foot", "disabled": true},
	} {
		e.ok(req{method: "POST", path: "/api/v1/units", as: "ops1", body: u}, http.StatusCreated, nil)
	}
	return e
}

// lineString is a GeoJSON LineString of lon,lat pairs.
func lineString(coords ...[2]float64) map[string]any {
	return map[string]any{"type": "LineString", "coordinates": coords}
}

// patrolBody is a valid patrol plan near Bor, starting in two hours.
func (e *testEnv) patrolBody(mods ...func(map[string]any)) map[string]any {
	m := map[string]any{
		"name": "BANBATT-2 LRP 14", "type": "mobile", "units": []string{"BANBATT-2/A"},
		"strength": 24, "women": 4,
		"route":            lineString([2]float64{31.55, 4.85}, [2]float64{31.60, 4.86}, [2]float64{31.65, 4.87}),
		"planned_start":    e.now.Add(2 * time.Hour).Format(time.RFC3339),
		"planned_end":      e.now.Add(8 * time.Hour).Format(time.RFC3339),
		"check_in_minutes": 30, "purpose": "Area domination, market day",
	}
	for _, f := range mods {
		f(m)
	}
	return m
}

// createPatrol files a patrol as user and returns it.
func (e *testEnv) createPatrol(as string, mods ...func(map[string]any)) *bluehelm.Patrol {
	e.t.Helper()
	var pt bluehelm.Patrol
	e.ok(req{method: "POST", path: "/api/v1/patrols", as: as, body: e.patrolBody(mods...)}, http.StatusCreated, &pt)
	return &pt
}

// patrolStep takes a workflow action and returns the patrol.
func (e *testEnv) patrolStep(id int64, action, as, reason string) *bluehelm.Patrol {
	e.t.Helper()
	var body any
	if reason != "" {
		body = map[string]any{"reason": reason}
	}
	var pt bluehelm.Patrol
	e.ok(req{method: "POST", path: fmt.Sprintf("/api/v1/patrols/%d/actions/%s", id, action), as: as, body: body}, http.StatusOK, &pt)
	return &pt
}

// post sends positions for tracks as the reporter, a minute ago.
func (e *testEnv) postFixes(fixes map[string][2]float64) {
	e.t.Helper()
	var ps []map[string]any
	for uid, p := range fixes {
		ps = append(ps, map[string]any{"uid": uid, "time": e.now.Add(-time.Minute).Format(time.RFC3339),
			"lon": p[0], "lat": p[1], "kind": "vehicle"})
	}
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: map[string]any{"positions": ps}}, http.StatusOK, nil)
}

func TestUnits(t *testing.T) {
	e := opsEnv(t)

	var u bluehelm.Unit
	r := e.ok(req{method: "POST", path: "/api/v1/units", as: "ops1", body: map[string]any{
		"code": "NEPBATT/C", "name": "C Company", "mobility": "foot", "nationality": "NPL", "track_uids": []string{"NEP-C-1"},
	}}, http.StatusCreated, &u)
	path := fmt.Sprintf("/api/v1/units/%d", u.ID)
	if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path || u.UpdatedBy != "ops1" || u.Component != bluehelm.Military {
		t.Fatalf("created %+v %v", u, r.Header)
	}
	r = e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &u)
	if r.Header.Get("ETag") != `"1"` || u.Code != "NEPBATT/C" {
		t.Fatalf("got %+v", u)
	}

	var list struct{ Units []bluehelm.Unit }
	e.ok(req{method: "GET", path: "/api/v1/units", as: "reporter"}, http.StatusOK, &list)
	if len(list.Units) != 3 {
		t.Fatalf("enabled units: %+v", list.Units)
	}
	e.ok(req{method: "GET", path: "/api/v1/units?all=true", as: "reporter"}, http.StatusOK, &list)
	if len(list.Units) != 4 {
		t.Fatalf("all units: %d", len(list.Units))
	}
	e.problem(req{method: "GET", path: "/api/v1/units?colour=red", as: "reporter"}, http.StatusBadRequest, "colour")

	edit := map[string]any{"code": "NEPBATT/C", "name": "C Company (mech)", "mobility": "mounted", "track_uids": []string{"NEP-C-1", "NEP-C-2"}}
	before := e.opsCounts()
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: im(2)}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit, header: im(1)}, http.StatusForbidden, "")
	renamed := map[string]any{"code": "NEPBATT/D", "name": "C Company", "mobility": "foot"}
	e.problem(req{method: "PUT", path: path, as: "ops1", body: renamed, header: im(1)}, http.StatusBadRequest, "code")
	e.sameOpsCounts(before, "refused unit changes")

	r = e.ok(req{method: "PUT", path: path, as: "ops1", body: edit, header: im(1)}, http.StatusOK, &u)
	if r.Header.Get("ETag") != `"2"` || u.Mobility != bluehelm.MobilityMounted || len(u.TrackUIDs) != 2 {
		t.Fatalf("updated %+v", u)
	}
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: im(1)}, http.StatusPreconditionFailed, "If-Match")

	// A confidential unit of the military is not for the police viewer.
	var secret bluehelm.Unit
	e.ok(req{method: "POST", path: "/api/v1/units", as: "ops1", body: map[string]any{
		"code": "SOF-1", "name": "Special", "mobility": "air", "classification": "CONFIDENTIAL"}}, http.StatusCreated, &secret)
	e.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/units/%d", secret.ID), as: "police"}, http.StatusNotFound, "")
	e.ok(req{method: "GET", path: "/api/v1/units", as: "police"}, http.StatusOK, &list)
	if slices.ContainsFunc(list.Units, func(u bluehelm.Unit) bool { return u.Code == "SOF-1" }) {
		t.Fatal("police lists the confidential military unit")
	}
}

func TestUnitBadInput(t *testing.T) {
	e := opsEnv(t)
	unit := func(f func(map[string]any)) map[string]any {
		m := map[string]any{"code": "ZAMBATT/A", "name": "A Company", "mobility": "mounted"}
		f(m)
		return m
	}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"bad code", unit(func(m map[string]any) { m["code"] = "-A" }), "code"},
		{"missing name", unit(func(m map[string]any) { delete(m, "name") }), "name"},
		{"unknown mobility", unit(func(m map[string]any) { m["mobility"] = "bicycle" }), "mobility"},
		{"bad nationality", unit(func(m map[string]any) { m["nationality"] = "zm" }), "nationality"},
		{"track listed twice", unit(func(m map[string]any) { m["track_uids"] = []string{"Z-1", "Z-1"} }), "track_uids[1]"},
		{"unknown field", unit(func(m map[string]any) { m["colour"] = "blue" }), "colour"},
		{"unknown component", unit(func(m map[string]any) { m["component"] = "navy" }), "component"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.opsCounts()
			e.problem(req{method: "POST", path: "/api/v1/units", as: "ops1", body: c.body}, http.StatusBadRequest, c.field)
			e.sameOpsCounts(before, c.name)
		})
	}
	before := e.opsCounts()
	e.problem(req{method: "POST", path: "/api/v1/units", as: "reporter", body: unit(func(map[string]any) {})}, http.StatusForbidden, "")
	e.problem(req{method: "POST", path: "/api/v1/units", as: "ops1", body: unit(func(m map[string]any) { m["code"] = "BANBATT-2/A" })}, http.StatusConflict, "")
	e.sameOpsCounts(before, "refused units")
}

func TestMedicalFacilities(t *testing.T) {
	e := opsEnv(t)
	body := func(f func(map[string]any)) map[string]any {
		m := map[string]any{"name": "Bor Level 2 hospital", "level": "2",
			"location":     map[string]any{"type": "Point", "coordinates": []float64{31.56, 6.21}},
			"capabilities": []string{"surgery", "blood"}, "beds": 20,
			"helicopter_landing_sites": []map[string]any{{"type": "Point", "coordinates": []float64{31.565, 6.212}}},
			"operator":                 "BANMED"}
		f(m)
		return m
	}
	var f bluehelm.MedicalFacility
	r := e.ok(req{method: "POST", path: "/api/v1/medical-facilities", as: "medic", body: body(func(map[string]any) {})}, http.StatusCreated, &f)
	path := fmt.Sprintf("/api/v1/medical-facilities/%d", f.ID)
	if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path || f.Level != "2" || len(f.HelicopterLandingSites) != 1 {
		t.Fatalf("created %+v", f)
	}
	e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &f)
	var list struct{ Facilities []bluehelm.MedicalFacility }
	e.ok(req{method: "GET", path: "/api/v1/medical-facilities", as: "reporter"}, http.StatusOK, &list)
	if len(list.Facilities) != 1 || list.Facilities[0].Name != "Bor Level 2 hospital" {
		t.Fatalf("list %+v", list)
	}

	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown level", body(func(m map[string]any) { m["level"] = "5" }), "level"},
		{"unknown capability", body(func(m map[string]any) { m["capabilities"] = []string{"surgery", "spa"} }), "capabilities[1]"},
		{"latitude out of range", body(func(m map[string]any) {
			m["location"] = map[string]any{"type": "Point", "coordinates": []float64{31, 95}}
		}), "location.lat"},
		{"negative beds", body(func(m map[string]any) { m["beds"] = -1 }), "beds"},
		{"missing name", body(func(m map[string]any) { m["name"] = " " }), "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.opsCounts()
			e.problem(req{method: "POST", path: "/api/v1/medical-facilities", as: "medic", body: c.body}, http.StatusBadRequest, c.field)
			e.sameOpsCounts(before, c.name)
		})
	}

	edit := body(func(m map[string]any) { m["out_of_service"] = true })
	before := e.opsCounts()
	e.problem(req{method: "POST", path: "/api/v1/medical-facilities", as: "ops1", body: edit}, http.StatusForbidden, "")
	e.problem(req{method: "PUT", path: path, as: "medic", body: edit}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "medic", body: edit, header: im(7)}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: im(1)}, http.StatusForbidden, "")
	e.sameOpsCounts(before, "refused facility changes")
	r = e.ok(req{method: "PUT", path: path, as: "medic", body: edit, header: im(1)}, http.StatusOK, &f)
	if !f.OutOfService || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("updated %+v", f)
	}
}

func TestPatrolRoundTrip(t *testing.T) {
	e := opsEnv(t)

	var pt bluehelm.Patrol
	r := e.ok(req{method: "POST", path: "/api/v1/patrols", as: "reporter", body: e.patrolBody()}, http.StatusCreated, &pt)
	path := fmt.Sprintf("/api/v1/patrols/%d", pt.ID)
	if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path {
		t.Fatalf("headers %v", r.Header)
	}
	if pt.Status != bluehelm.PatrolDraft || pt.PlannedBy != "reporter" || pt.Component != bluehelm.Military ||
		pt.Risk == nil || len(pt.Risk.Segments) == 0 || !pt.PlannedStart.Equal(e.now.Add(2*time.Hour)) {
		t.Fatalf("created %+v", pt)
	}
	r = e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &pt)
	if r.Header.Get("ETag") != `"1"` || pt.Name != "BANBATT-2 LRP 14" || len(pt.RouteLine()) != 3 {
		t.Fatalf("got %+v", pt)
	}

	e.createPatrol("ops1", func(m map[string]any) {
		m["name"], m["units"] = "BANBATT-2 FP 3", []string{"BANBATT-2/B"}
		m["planned_start"], m["planned_end"] = e.now.Add(50*time.Hour).Format(time.RFC3339), e.now.Add(52*time.Hour).Format(time.RFC3339)
	})
	var list struct{ Patrols []bluehelm.Patrol }
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"BANBATT-2 LRP 14", "BANBATT-2 FP 3"}},
		{"?unit=BANBATT-2/B", []string{"BANBATT-2 FP 3"}},
		{"?status=draft,submitted", []string{"BANBATT-2 LRP 14", "BANBATT-2 FP 3"}},
		{"?status=approved", nil},
		{"?from=" + e.now.Add(24*time.Hour).Format(time.RFC3339), []string{"BANBATT-2 FP 3"}},
		{"?to=" + e.now.Add(24*time.Hour).Format(time.RFC3339), []string{"BANBATT-2 LRP 14"}},
	} {
		e.ok(req{method: "GET", path: "/api/v1/patrols" + strings.ReplaceAll(c.query, "+", "%2B"), as: "ops2"}, http.StatusOK, &list)
		var got []string
		for _, p := range list.Patrols {
			got = append(got, p.Name)
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("list%s: %v, want %v", c.query, got, c.want)
		}
	}
	e.problem(req{method: "GET", path: "/api/v1/patrols?status=lost", as: "ops2"}, http.StatusBadRequest, "status")
	e.problem(req{method: "GET", path: "/api/v1/patrols?limit=0", as: "ops2"}, http.StatusBadRequest, "limit")

	edit := e.patrolBody(func(m map[string]any) { m["strength"], m["women"] = 30, 8 })
	before := e.opsCounts()
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit, header: im(2)}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "viewer", body: edit, header: im(1)}, http.StatusForbidden, "")
	bad := e.patrolBody(func(m map[string]any) { m["planned_end"] = e.now.Format(time.RFC3339) })
	e.problem(req{method: "PUT", path: path, as: "reporter", body: bad, header: im(1)}, http.StatusBadRequest, "planned_end")
	bad = e.patrolBody(func(m map[string]any) { m["units"] = []string{"BANBATT-2/A", "OLD-COY"} })
	e.problem(req{method: "PUT", path: path, as: "reporter", body: bad, header: im(1)}, http.StatusBadRequest, "units[1]")
	e.sameOpsCounts(before, "refused patrol changes")

	r = e.ok(req{method: "PUT", path: path, as: "reporter", body: edit, header: im(1)}, http.StatusOK, &pt)
	if r.Header.Get("ETag") != `"2"` || pt.Strength != 30 || pt.Women != 8 || pt.PlannedBy != "reporter" || pt.Risk == nil {
		t.Fatalf("updated %+v", pt)
	}
	// Another planner may not change it; an operations officer may.
	e.user("reporter2", bluehelm.RoleReporter, bluehelm.Military, bluehelm.Confidential)
	e.problem(req{method: "PUT", path: path, as: "reporter2", body: edit, header: im(2)}, http.StatusForbidden, "")
	e.ok(req{method: "PUT", path: path, as: "ops2", body: edit, header: im(2)}, http.StatusOK, &pt)
	if pt.Version != 3 || pt.PlannedBy != "reporter" {
		t.Fatalf("edited by ops2: %+v", pt)
	}
}

func TestPatrolBadInput(t *testing.T) {
	e := opsEnv(t)
	mod := func(f func(m map[string]any)) map[string]any { return e.patrolBody(f) }
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"route of one point", mod(func(m map[string]any) { m["route"] = lineString([2]float64{31.55, 4.85}) }), "route.coordinates"},
		{"route without points", mod(func(m map[string]any) { m["route"] = lineString() }), "route.coordinates"},
		{"no route", mod(func(m map[string]any) { delete(m, "route") }), "route"},
		{"route as a polygon", mod(func(m map[string]any) {
			m["route"] = map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{31, 4}, {31.1, 4}, {31.1, 4.1}, {31, 4}}}}
		}), "route.type"},
		{"route point out of range", mod(func(m map[string]any) {
			m["route"] = lineString([2]float64{31.55, 4.85}, [2]float64{31.6, 94})
		}), "route.coordinates[1].lat"},
		{"window ends before it starts", mod(func(m map[string]any) {
			m["planned_end"] = e.now.Add(time.Hour).Format(time.RFC3339)
		}), "planned_end"},
		{"window of no time", mod(func(m map[string]any) { m["planned_end"] = m["planned_start"] }), "planned_end"},
		{"window of three weeks", mod(func(m map[string]any) {
			m["planned_end"] = e.now.Add(21 * 24 * time.Hour).Format(time.RFC3339)
		}), "planned_end"},
		{"no start", mod(func(m map[string]any) { delete(m, "planned_start") }), "planned_start"},
		{"check-in of zero", mod(func(m map[string]any) { m["check_in_minutes"] = 0 }), "check_in_minutes"},
		{"check-in missing", mod(func(m map[string]any) { delete(m, "check_in_minutes") }), "check_in_minutes"},
		{"unknown unit", mod(func(m map[string]any) { m["units"] = []string{"NOBATT"} }), "units[0]"},
		{"disabled unit", mod(func(m map[string]any) { m["units"] = []string{"BANBATT-2/A", "OLD-COY"} }), "units[1]"},
		{"unit twice", mod(func(m map[string]any) { m["units"] = []string{"BANBATT-2/A", "BANBATT-2/A"} }), "units[1]"},
		{"no units", mod(func(m map[string]any) { m["units"] = []string{} }), "units"},
		{"more women than strength", mod(func(m map[string]any) { m["women"] = 25 }), "women"},
		{"unknown type", mod(func(m map[string]any) { m["type"] = "submarine" }), "type"},
		{"strength of zero", mod(func(m map[string]any) { m["strength"] = 0 }), "strength"},
		{"deviation too small", mod(func(m map[string]any) { m["deviation_meters"] = 5 }), "deviation_meters"},
		{"bad track uid", mod(func(m map[string]any) { m["track_uids"] = []string{"ok-1", "no spaces here"} }), "track_uids[1]"},
		{"start of wrong type", mod(func(m map[string]any) { m["planned_start"] = "tomorrow" }), "planned_start"},
		{"unknown field", mod(func(m map[string]any) { m["leader"] = "Maj X" }), "leader"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.opsCounts()
			e.problem(req{method: "POST", path: "/api/v1/patrols", as: "reporter", body: c.body}, http.StatusBadRequest, c.field)
			e.sameOpsCounts(before, c.name)
		})
	}
	before := e.opsCounts()
	e.problem(req{method: "POST", path: "/api/v1/patrols", as: "viewer", body: e.patrolBody()}, http.StatusForbidden, "")
	e.problem(req{method: "POST", path: "/api/v1/patrols", as: "analyst", body: e.patrolBody()}, http.StatusForbidden, "")
	// A marking the planner could not read back.
	e.problem(req{method: "POST", path: "/api/v1/patrols", as: "reporter", body: mod(func(m map[string]any) {
		m["classification"] = "STRICTLY CONFIDENTIAL"
	})}, http.StatusForbidden, "")
	e.sameOpsCounts(before, "refused planners")
}

// TestAreaSelfIntersecting: the bad polygons, through the areas API.
func TestAreaSelfIntersecting(t *testing.T) {
	e := opsEnv(t)
	for _, c := range []struct {
		name  string
		ring  [][]float64
		field string
	}{
		{"bow tie", [][]float64{{31, 4}, {31.1, 4.1}, {31.1, 4}, {31, 4.1}, {31, 4}}, "geometry.coordinates[0]"},
		{"spike back along an edge", [][]float64{{31, 4}, {31.2, 4}, {31.1, 4}, {31.1, 4.1}, {31, 4}}, "geometry.coordinates[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := squareArea("No-go", 31, 4, 0.1)
			body["geometry"] = map[string]any{"type": "Polygon", "coordinates": [][][]float64{c.ring}}
			before := e.opsCounts()
			p := e.problem(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: body}, http.StatusBadRequest, c.field)
			if !strings.Contains(p.Detail, "crosses itself") {
				t.Errorf("detail %q does not say the ring crosses itself", p.Detail)
			}
			e.sameOpsCounts(before, c.name)
		})
	}
}

// TestPatrolWorkflow walks two patrols through every transition, with the
// permission refusals on the way.
func TestPatrolWorkflow(t *testing.T) {
	e := opsEnv(t)
	pt := e.createPatrol("reporter")
	other := e.createPatrol("ops1", func(m map[string]any) { m["name"], m["units"] = "BANBATT-2 FP 3", []string{"BANBATT-2/B"} })

	steps := []struct {
		patrol         *bluehelm.Patrol
		as, action, re string
		status         int
		field          string
		want           bluehelm.PatrolStatus // after a success
	}{
		{pt, "viewer", "submit", "", 403, "", ""},
		{pt, "analyst", "submit", "", 403, "", ""},
		{pt, "reporter", "approve", "", 403, "", ""},
		{pt, "ops1", "approve", "", 409, "", ""}, // not yet submitted
		{pt, "reporter", "fly", "", 400, "action", ""},
		{pt, "reporter", "submit", "", 200, "", bluehelm.PatrolSubmitted},
		{pt, "reporter", "submit", "", 409, "", ""},
		{pt, "reporter", "approve", "", 403, "", ""}, // a planner does not approve
		{pt, "ops1", "reject", "", 400, "reason", ""},
		{pt, "ops1", "reject", "Route crosses the market on market day", 200, "", bluehelm.PatrolDraft},
		{pt, "reporter", "submit", "", 200, "", bluehelm.PatrolSubmitted},
		{pt, "ops1", "approve", "", 200, "", bluehelm.PatrolApproved},
		{pt, "viewer", "start", "", 403, "", ""},
		{pt, "analyst", "start", "", 403, "", ""},
		{pt, "reporter", "complete", "", 409, "", ""}, // not started
		{pt, "reporter", "start", "", 200, "", bluehelm.PatrolUnderway},
		{pt, "reporter", "submit", "", 409, "", ""},
		{pt, "reporter", "complete", "", 200, "", bluehelm.PatrolCompleted},
		{pt, "reporter", "abort", "too late", 409, "", ""},

		{other, "ops1", "submit", "", 200, "", bluehelm.PatrolSubmitted},
		{other, "ops1", "approve", "", 409, "", ""}, // approval by the planner themself
		{other, "ops2", "approve", "", 200, "", bluehelm.PatrolApproved},
		{other, "reporter", "start", "", 403, "", ""}, // a planner, but not this patrol's
		{other, "ops1", "abort", "", 400, "reason", ""},
		{other, "ops1", "start", "", 200, "", bluehelm.PatrolUnderway},
		{other, "ops1", "abort", "Vehicle broke down", 200, "", bluehelm.PatrolAborted},
	}
	for i, s := range steps {
		var body any
		if s.re != "" {
			body = map[string]any{"reason": s.re}
		}
		rq := req{method: "POST", path: fmt.Sprintf("/api/v1/patrols/%d/actions/%s", s.patrol.ID, s.action), as: s.as, body: body}
		if s.status != 200 {
			before := e.opsCounts()
			e.problem(rq, s.status, s.field)
			e.sameOpsCounts(before, fmt.Sprintf("step %d (%s %s)", i, s.as, s.action))
			continue
		}
		var got bluehelm.Patrol
		r := e.ok(rq, http.StatusOK, &got)
		if got.Status != s.want || r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, got.Version) {
			t.Fatalf("step %d (%s %s): %s v%d, want %s", i, s.as, s.action, got.Status, got.Version, s.want)
		}
	}

	var done bluehelm.Patrol
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/patrols/%d", pt.ID), as: "ops2"}, http.StatusOK, &done)
	if done.ApprovedBy != "ops1" || done.ApprovedAt.IsZero() || done.StartedAt.IsZero() || done.EndedAt.IsZero() ||
		done.RejectReason != "" || done.Risk == nil {
		t.Fatalf("completed patrol %+v", done)
	}
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/patrols/%d", other.ID), as: "ops2"}, http.StatusOK, &done)
	if done.AbortReason != "Vehicle broke down" || done.ApprovedBy != "ops2" {
		t.Fatalf("aborted patrol %+v", done)
	}
	// A finished patrol's plan does not change.
	e.problem(req{method: "PUT", path: fmt.Sprintf("/api/v1/patrols/%d", other.ID), as: "ops1", body: e.patrolBody(),
		header: im(done.Version)}, http.StatusConflict, "")

	// If-Match on an action is optional, but a stale one is refused; a commander
	// approves as an operations officer does.
	third := e.createPatrol("reporter", func(m map[string]any) { m["name"] = "Third" })
	third = e.patrolStep(third.ID, "submit", "reporter", "")
	path := fmt.Sprintf("/api/v1/patrols/%d/actions/approve", third.ID)
	e.problem(req{method: "POST", path: path, as: "commander", header: im(third.Version - 1)}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "POST", path: path, as: "commander", header: map[string]string{"If-Match": "yesterday"}}, http.StatusBadRequest, "If-Match")
	e.ok(req{method: "POST", path: path, as: "commander", header: im(third.Version)}, http.StatusOK, nil)

	// A unit disabled after approval keeps the patrol from starting.
	var unit struct{ Units []bluehelm.Unit }
	e.ok(req{method: "GET", path: "/api/v1/units", as: "ops1"}, http.StatusOK, &unit)
	for _, u := range unit.Units {
		if u.Code == "BANBATT-2/A" {
			e.ok(req{method: "PUT", path: fmt.Sprintf("/api/v1/units/%d", u.ID), as: "ops1", header: im(u.Version), body: map[string]any{
				"code": u.Code, "name": u.Name, "mobility": u.Mobility, "track_uids": u.TrackUIDs, "disabled": true}}, http.StatusOK, nil)
		}
	}
	before := e.opsCounts()
	e.problem(req{method: "POST", path: fmt.Sprintf("/api/v1/patrols/%d/actions/start", third.ID), as: "reporter"}, http.StatusBadRequest, "units[0]")
	e.sameOpsCounts(before, "starting with a disabled unit")
}

// TestPatrolApprovalStoresRisk: the report stored with an approval is the one
// assessed at approval, not the draft's.
func TestPatrolApprovalStoresRisk(t *testing.T) {
	e := opsEnv(t)
	pt := e.createPatrol("reporter")
	if pt.Risk == nil || pt.Risk.IncidentsConsidered != 0 {
		t.Fatalf("draft risk %+v", pt.Risk)
	}
	pt = e.patrolStep(pt.ID, "submit", "reporter", "")
	// An attack reported beside the route after the plan was filed.
	inc := &bluehelm.Incident{Title: "IED strike", Category: bluehelm.CatExplosive, OccurredStart: e.now.Add(-3 * time.Hour),
		Location: bluehelm.Point{Lon: 31.601, Lat: 4.861}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.pipeline.CreateIncident(e.ctx, bluehelm.SystemPrincipal("seed"), inc); err != nil {
		t.Fatal(err)
	}
	approved := e.patrolStep(pt.ID, "approve", "ops1", "")
	if approved.Risk == nil || approved.Risk.IncidentsConsidered != 1 || approved.Risk.Score <= pt.Risk.Score {
		t.Fatalf("approved with risk %+v (draft %+v)", approved.Risk, pt.Risk)
	}
	stored, err := e.db.Patrol(e.ctx, pt.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Risk == nil || stored.Risk.IncidentsConsidered != 1 || !stored.Risk.ComputedAt.Equal(approved.Risk.ComputedAt) ||
		len(stored.Risk.Segments) != len(approved.Risk.Segments) {
		t.Fatalf("stored risk %+v", stored.Risk)
	}
	var reasons []string
	for _, r := range stored.Risk.Reasons {
		reasons = append(reasons, r.Code)
	}
	if !slices.Contains(reasons, "incidents_nearby") && !slices.Contains(reasons, "near_repeat") {
		t.Fatalf("stored reasons %v", reasons)
	}
}

// TestPatrolAccess: a confidential military patrol is for the military (and
// those it is released to) only, on every path.
func TestPatrolAccess(t *testing.T) {
	e := opsEnv(t)
	secret := e.createPatrol("ops1", func(m map[string]any) { m["name"], m["classification"] = "Secret patrol", "CONFIDENTIAL" })
	released := e.createPatrol("ops1", func(m map[string]any) {
		m["name"], m["classification"], m["releasable_to"] = "Joint patrol", "CONFIDENTIAL", []string{"police"}
	})
	open := e.createPatrol("ops1", func(m map[string]any) { m["name"] = "Open patrol" })

	names := func(as string) []string {
		var list struct{ Patrols []bluehelm.Patrol }
		e.ok(req{method: "GET", path: "/api/v1/patrols", as: as}, http.StatusOK, &list)
		var out []string
		for _, p := range list.Patrols {
			out = append(out, p.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		as   string
		want []string
	}{
		{"ops2", []string{"Joint patrol", "Open patrol", "Secret patrol"}},
		{"police", []string{"Joint patrol", "Open patrol"}},
		{"viewer", []string{"Open patrol"}}, // police, UNCLASSIFIED clearance
		{"analyst", []string{"Open patrol"}},
	} {
		if got := names(c.as); !slices.Equal(got, c.want) {
			t.Errorf("%s lists %v, want %v", c.as, got, c.want)
		}
	}
	path := fmt.Sprintf("/api/v1/patrols/%d", secret.ID)
	before := e.opsCounts()
	e.problem(req{method: "GET", path: path, as: "police"}, http.StatusNotFound, "")
	e.problem(req{method: "GET", path: path, as: "viewer"}, http.StatusNotFound, "")
	e.problem(req{method: "PUT", path: path, as: "police", body: e.patrolBody(), header: im(1)}, http.StatusNotFound, "")
	e.problem(req{method: "POST", path: path + "/actions/submit", as: "police"}, http.StatusNotFound, "")
	e.sameOpsCounts(before, "police on a military patrol")
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/patrols/%d", released.ID), as: "police"}, http.StatusOK, nil)
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/patrols/%d", open.ID), as: "viewer"}, http.StatusOK, nil)

	r := e.ok(req{method: "GET", path: "/api/v1/patrols/export?format=csv", as: "police"}, http.StatusOK, nil)
	if strings.Contains(string(r.body), "Secret patrol") || !strings.Contains(string(r.body), "Joint patrol") {
		t.Fatalf("police export:\n%s", r.body)
	}
}

func TestPatrolExport(t *testing.T) {
	e := opsEnv(t)
	pt := e.createPatrol("reporter", func(m map[string]any) { m["purpose"] = "Market, then the river, \"quickly\"" })

	before := e.counts()
	r := e.ok(req{method: "GET", path: "/api/v1/patrols/export", as: "ops1"}, http.StatusOK, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="bluehelm-patrols-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, r.body)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows:\n%s", len(rows), r.body)
	}
	head, row := rows[0], rows[1]
	col := func(name string) string {
		i := slices.Index(head, name)
		if i < 0 {
			t.Fatalf("no column %q in %v", name, head)
		}
		return row[i]
	}
	if col("id") != fmt.Sprint(pt.ID) || col("name") != pt.Name || col("status") != "draft" || col("purpose") != "Market, then the river, \"quickly\"" {
		t.Fatalf("row %v (header %v)", row, head)
	}
	if after := e.counts(); after.audit != before.audit+1 {
		t.Fatalf("export audited %d entries", after.audit-before.audit)
	}

	r = e.ok(req{method: "GET", path: "/api/v1/patrols/export?format=geojson&status=draft", as: "ops1"}, http.StatusOK, nil)
	var fc struct {
		Type     string
		Features []json.RawMessage
	}
	r.json(t, &fc)
	if fc.Type != "FeatureCollection" || len(fc.Features) != 1 {
		t.Fatalf("geojson %s", r.body)
	}
	r = e.ok(req{method: "GET", path: "/api/v1/patrols/export?format=csv&status=approved", as: "ops1"}, http.StatusOK, nil)
	if n := strings.Count(strings.TrimSpace(string(r.body)), "\n"); n != 0 {
		t.Fatalf("filtered export has %d rows:\n%s", n, r.body)
	}

	before = e.counts()
	e.problem(req{method: "GET", path: "/api/v1/patrols/export", as: "reporter"}, http.StatusForbidden, "")
	e.problem(req{method: "GET", path: "/api/v1/patrols/export?format=xlsx", as: "ops1"}, http.StatusBadRequest, "format")
	e.problem(req{method: "GET", path: "/api/v1/patrols/export?status=gone", as: "ops1"}, http.StatusBadRequest, "status")
	e.sameCounts(before, "refused exports")
}

func TestPatrolFigures(t *testing.T) {
	e := opsEnv(t)
	done := e.createPatrol("reporter")
	for _, s := range []struct{ action, as string }{{"submit", "reporter"}, {"approve", "ops1"}, {"start", "reporter"}, {"complete", "reporter"}} {
		e.patrolStep(done.ID, s.action, s.as, "")
	}
	// A second approved patrol of the same unit, all men, not yet done; and a
	// draft, which is not counted.
	men := e.createPatrol("reporter", func(m map[string]any) { m["name"], m["women"] = "Second", 0 })
	e.patrolStep(men.ID, "submit", "reporter", "")
	e.patrolStep(men.ID, "approve", "ops1", "")
	e.createPatrol("reporter", func(m map[string]any) { m["name"] = "Draft" })

	from, to := e.now.Add(-24*time.Hour).Format(time.RFC3339), e.now.Add(7*24*time.Hour).Format(time.RFC3339)
	var f bluehelm.PatrolFigures
	e.ok(req{method: "GET", path: "/api/v1/patrols/figures?from=" + from + "&to=" + to, as: "ops2"}, http.StatusOK, &f)
	week := bluehelm.ISOWeek(e.now.Add(2 * time.Hour))
	if f.Planned != 2 || f.Completed != 1 || f.Aborted != 0 || f.WithWomen != 1 || f.Coverage7d != nil {
		t.Fatalf("figures %+v", f)
	}
	if want := (bluehelm.UnitWeek{Unit: "BANBATT-2/A", Week: week, Planned: 2, Completed: 1, WithWomen: 1}); len(f.ByUnitWeek) != 1 || f.ByUnitWeek[0] != want {
		t.Fatalf("by unit and week %+v, want %+v", f.ByUnitWeek, want)
	}
	if want := 4.0 / 48; f.WomenShare != want {
		t.Fatalf("women share %v, want %v", f.WomenShare, want)
	}
	// The default period ends now: patrols planned later are not in it.
	e.ok(req{method: "GET", path: "/api/v1/patrols/figures", as: "ops2"}, http.StatusOK, &f)
	if f.Planned != 0 || !f.To.Equal(e.now) || !f.From.Equal(e.now.Add(-28*24*time.Hour)) {
		t.Fatalf("default period %+v", f)
	}

	// Coverage of an AOR patrolled by a unit's track.
	var aor bluehelm.Area
	body := squareArea("Bor AOR", 31.5, 4.8, 0.2)
	body["kind"], body["rules"] = "aor", []any{}
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: body}, http.StatusCreated, &aor)
	e.postFixes(map[string][2]float64{"BAN-A-1": {31.55, 4.85}})
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/patrols/figures?aor=%d", aor.ID), as: "ops2"}, http.StatusOK, &f)
	if f.Coverage7d == nil || f.Coverage30d == nil || *f.Coverage7d <= 0 || *f.Coverage7d > 1 || *f.Coverage30d < *f.Coverage7d {
		t.Fatalf("coverage %v %v", f.Coverage7d, f.Coverage30d)
	}

	for _, c := range []struct{ query, field string }{
		{"?from=" + to + "&to=" + from, "to"},
		{"?from=" + e.now.Add(-400*24*time.Hour).Format(time.RFC3339), "from"},
		{"?aor=x", "aor"},
		{"?week=1", "week"},
	} {
		e.problem(req{method: "GET", path: "/api/v1/patrols/figures" + c.query, as: "ops2"}, http.StatusBadRequest, c.field)
	}
	e.problem(req{method: "GET", path: "/api/v1/patrols/figures?aor=999", as: "ops2"}, http.StatusNotFound, "aor")
}

func TestRouteRiskPreview(t *testing.T) {
	e := opsEnv(t)
	e.ok(req{method: "POST", path: "/api/v1/medical-facilities", as: "medic", body: map[string]any{
		"name": "Bor Level 1", "level": "1", "location": map[string]any{"type": "Point", "coordinates": []float64{31.6, 4.9}}}}, http.StatusCreated, nil)
	route := lineString([2]float64{31.55, 4.85}, [2]float64{31.65, 4.87})

	before := e.opsCounts()
	var rep bluehelm.RiskReport
	e.ok(req{method: "POST", path: "/api/v1/routes/risk", as: "reporter", body: map[string]any{"route": route,
		"planned_start": e.now.Add(time.Hour).Format(time.RFC3339)}}, http.StatusOK, &rep)
	if len(rep.Segments) == 0 || rep.LengthKm < 10 || rep.LengthKm > 13 || rep.Level == "" || !rep.At.Equal(e.now.Add(time.Hour)) ||
		rep.Medical.Level1FacilityID == 0 || !rep.Medical.RoadEstimated {
		t.Fatalf("report %+v", rep)
	}
	e.sameOpsCounts(before, "a risk preview")

	for _, c := range []struct {
		name   string
		as     string
		body   any
		status int
		field  string
	}{
		{"one point", "reporter", map[string]any{"route": lineString([2]float64{31.55, 4.85})}, 400, "route.coordinates"},
		{"no route", "reporter", map[string]any{}, 400, "route"},
		{"window reversed", "reporter", map[string]any{"route": route, "planned_start": e.now.Add(time.Hour).Format(time.RFC3339),
			"planned_end": e.now.Format(time.RFC3339)}, 400, "planned_end"},
		{"viewer", "viewer", map[string]any{"route": route}, 403, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.problem(req{method: "POST", path: "/api/v1/routes/risk", as: c.as, body: c.body}, c.status, c.field)
		})
	}
}

func TestRouteImport(t *testing.T) {
	e := opsEnv(t)
	const gpx = `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <rte><name>Bor - Jalle</name>
  <rtept lat="6.207" lon="31.559"/><rtept lat="6.30" lon="31.60"/><rtept lat="6.45" lon="31.70"/>
 </rte>
</gpx>`
	const cot = `<?xml version="1.0" encoding="UTF-8"?>
<event version="2.0" uid="route-1" type="b-m-r" how="h-e" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-28T10:00:00Z">
 <point lat="6.2" lon="31.5" hae="0" ce="9999999" le="9999999"/>
 <detail>
  <contact callsign="MSR 1"/>
  <link uid="w1" type="b-m-p-w" point="6.2,31.5" callsign="SP" relation="c"/>
  <link uid="c1" type="b-m-p-c" point="6.25,31.55" callsign="CP1" relation="c"/>
  <link uid="w2" type="b-m-p-w" point="6.3,31.6" callsign="VDO" relation="c"/>
  <link uid="ANDROID-1" type="a-f-G-U-C" relation="p-p"/>
 </detail>
</event>`
	type answer struct {
		Name   string
		Format string
		Points int
		Route  bluehelm.Geometry
	}
	for _, c := range []struct {
		name, body, ctype, format string
		first, last               [2]float64
		points                    int
	}{
		{"gpx", gpx, "application/gpx+xml", "gpx", [2]float64{31.559, 6.207}, [2]float64{31.70, 6.45}, 3},
		{"tak route", cot, "application/xml", "cot", [2]float64{31.5, 6.2}, [2]float64{31.6, 6.3}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.opsCounts()
			var a answer
			e.ok(req{method: "POST", path: "/api/v1/routes/import", as: "reporter", body: c.body, ctype: c.ctype}, http.StatusOK, &a)
			e.sameOpsCounts(before, "an import")
			if a.Format != c.format || a.Points != c.points || a.Route.GeoJSONType() != "LineString" {
				t.Fatalf("imported %+v", a)
			}
			line := (&bluehelm.Patrol{Route: a.Route}).RouteLine()
			if len(line) != c.points || [2]float64(line[0]) != c.first || [2]float64(line[len(line)-1]) != c.last {
				t.Fatalf("line %v", line)
			}
			// The answer is a route a patrol can be filed with.
			e.createPatrol("reporter", func(m map[string]any) { m["route"], m["name"] = a.Route, "Imported "+c.name })
		})
	}
	for _, c := range []struct {
		name, as, body string
		status         int
		field          string
	}{
		{"one point", "reporter", `<gpx version="1.1"><rte><rtept lat="6.2" lon="31.5"/></rte></gpx>`, 400, "file"},
		{"not xml", "reporter", `{"type":"LineString"}`, 400, "file"},
		{"not a route event", "reporter", `<event type="a-f-G-U-C"><detail/></event>`, 400, "file"},
		{"viewer", "viewer", gpx, 403, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.problem(req{method: "POST", path: "/api/v1/routes/import", as: c.as, body: c.body, ctype: "application/xml"}, c.status, c.field)
		})
	}
}

// TestResponders: free units by ETA, then the busy one however near, then the
// unit without a position; disabled units not at all.
func TestResponders(t *testing.T) {
	e := opsEnv(t)
	for _, u := range []map[string]any{
		{"code": "BANBATT-2/C", "name": "C Company", "mobility": "mounted", "track_uids": []string{"BAN-C-1"}},
		{"code": "QRF", "name": "Quick reaction force", "mobility": "mounted", "track_uids": []string{"QRF-1"}},
	} {
		e.ok(req{method: "POST", path: "/api/v1/units", as: "ops1", body: u}, http.StatusCreated, nil)
	}
	scene := [2]float64{31.6, 4.86}
	// A is about 11 km from the scene, B about 2 km, QRF 500 m but busy on a task;
	// C has not reported.
	e.postFixes(map[string][2]float64{
		"BAN-A-1": {31.6, 4.96},
		"BAN-B-1": {31.6, 4.878},
		"QRF-1":   {31.6, 4.8645},
	})
	e.ok(req{method: "POST", path: "/api/v1/tasks", as: "ops1", body: map[string]any{
		"unit": "QRF", "title": "Escort", "location": map[string]any{"type": "Point", "coordinates": []float64{31.7, 4.9}}}}, http.StatusCreated, nil)

	var res struct {
		Scene      bluehelm.Point
		Responders []rankedJSON
	}
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/responders?lon=%v&lat=%v", scene[0], scene[1]), as: "ops2"}, http.StatusOK, &res)
	var order []string
	for _, r := range res.Responders {
		order = append(order, r.Unit.Code)
	}
	if want := []string{"BANBATT-2/B", "BANBATT-2/A", "QRF", "BANBATT-2/C"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	// Straight line times the default detour of 1.4 for mounted units, at 40
	// km/h after a 10-minute launch: B is 2.0 km away, so 2.8 km and 600 + 252 s.
	near := func(got, want, tol int) bool { return got >= want-tol && got <= want+tol }
	b, a, q, c := res.Responders[0], res.Responders[1], res.Responders[2], res.Responders[3]
	if b.Busy || !b.HasETA || b.TrackUID != "BAN-B-1" || !near(b.DistanceMeters, 2803, 20) || !near(b.ETASeconds, 852, 3) || !b.ETAEstimated ||
		b.PositionAt == nil || !b.PositionAt.Equal(e.now.Add(-time.Minute)) || b.From == nil || b.From.Lat != 4.878 {
		t.Errorf("B %+v", b)
	}
	// A: 11.1 km, so 15.6 km and 600 + 1403 s.
	if a.Busy || !near(a.DistanceMeters, 15585, 50) || !near(a.ETASeconds, 2003, 5) {
		t.Errorf("A %+v", a)
	}
	// QRF: 500 m, so 700 m and 600 + 63 s: the nearest, listed after the free units.
	if !q.Busy || !q.HasETA || !near(q.DistanceMeters, 701, 10) || q.ETASeconds >= b.ETASeconds {
		t.Errorf("QRF %+v", q)
	}
	if c.HasETA || c.From != nil || c.ETASeconds != 0 {
		t.Errorf("C %+v", c)
	}
	if res.Scene.Lon != scene[0] || res.Scene.Lat != scene[1] {
		t.Errorf("scene %+v", res.Scene)
	}

	// The scene of an incident is its location.
	inc := e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, "Cattle raid")
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/responders?incident_id=%d", inc.ID), as: "ops2"}, http.StatusOK, &res)
	if res.Scene != inc.Location || len(res.Responders) != 4 {
		t.Fatalf("incident scene %+v, %d responders", res.Scene, len(res.Responders))
	}

	for _, c := range []struct {
		query  string
		as     string
		status int
		field  string
	}{
		{"?lon=31.6&lat=4.86", "reporter", 403, ""},
		{"?lon=31.6&lat=4.86", "viewer", 403, ""},
		{"", "ops2", 400, "lon"},
		{"?lon=31.6", "ops2", 400, "lon"},
		{"?lon=east&lat=4", "ops2", 400, "lon"},
		{"?lon=31.6&lat=94", "ops2", 400, "lat"},
		{"?incident_id=x", "ops2", 400, "incident_id"},
		{"?incident_id=999", "ops2", 404, "incident_id"},
		{"?alert_id=0", "ops2", 400, "alert_id"},
		{"?lon=31.6&lat=4.86&radius=5", "ops2", 400, "radius"},
	} {
		e.problem(req{method: "GET", path: "/api/v1/responders" + c.query, as: c.as}, c.status, c.field)
	}
}

func TestTasks(t *testing.T) {
	e := opsEnv(t)
	e.postFixes(map[string][2]float64{"BAN-A-1": {31.6, 4.9}})
	// An incident confidential to the military, released to the police.
	inc := e.seedIncident(bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military,
		Releasability: []bluehelm.Component{bluehelm.Police}}, "Armed men at the water point")

	var tk bluehelm.Task
	r := e.ok(req{method: "POST", path: "/api/v1/tasks", as: "ops1", body: map[string]any{
		"incident_id": inc.ID, "unit": "BANBATT-2/A", "note": "Report numbers"}}, http.StatusCreated, &tk)
	path := fmt.Sprintf("/api/v1/tasks/%d", tk.ID)
	if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path {
		t.Fatalf("headers %v", r.Header)
	}
	if tk.Location != inc.Location || tk.Title != inc.Title || tk.IncidentID != inc.ID || tk.Status != bluehelm.TaskAssigned ||
		tk.Classification != bluehelm.Confidential || tk.Component != bluehelm.Military || !slices.Equal(tk.Releasability, inc.Releasability) ||
		!tk.ReportedAt.Equal(inc.ReportedAt) || tk.AssignedBy != "ops1" || tk.TrackUID != "BAN-A-1" || tk.ETASeconds == 0 || !tk.ETAEstimated {
		t.Fatalf("task %+v (incident %+v)", tk, inc)
	}
	e.ok(req{method: "GET", path: path, as: "police"}, http.StatusOK, nil)
	e.problem(req{method: "GET", path: path, as: "viewer"}, http.StatusNotFound, "")
	e.problem(req{method: "GET", path: path, as: "analyst"}, http.StatusNotFound, "")

	var list struct{ Tasks []bluehelm.Task }
	for _, c := range []struct {
		as, query string
		n         int
	}{
		{"ops2", "", 1},
		{"ops2", fmt.Sprintf("?incident_id=%d", inc.ID), 1},
		{"ops2", "?incident_id=99", 0},
		{"ops2", "?status=assigned&unit=BANBATT-2/A", 1},
		{"ops2", "?status=closed", 0},
		{"viewer", "", 0},
	} {
		e.ok(req{method: "GET", path: "/api/v1/tasks" + c.query, as: c.as}, http.StatusOK, &list)
		if len(list.Tasks) != c.n {
			t.Errorf("%s tasks%s: %d, want %d", c.as, c.query, len(list.Tasks), c.n)
		}
	}
	e.problem(req{method: "GET", path: "/api/v1/tasks?status=lost", as: "ops2"}, http.StatusBadRequest, "status")

	// An unclassified task sent to a place, for the permission steps.
	var open bluehelm.Task
	e.ok(req{method: "POST", path: "/api/v1/tasks", as: "commander", body: map[string]any{
		"unit": "BANBATT-2/B", "title": "Check the bridge", "location": map[string]any{"type": "Point", "coordinates": []float64{31.7, 4.9}}}},
		http.StatusCreated, &open)
	if open.Classification != bluehelm.Unclassified || open.TrackUID != "" || open.ETASeconds != 0 {
		t.Fatalf("task to a place %+v", open)
	}
	steps := []struct {
		task       *bluehelm.Task
		as, action string
		note       string
		header     map[string]string
		status     int
		field      string
		want       bluehelm.TaskStatus
	}{
		{&open, "viewer", "en_route", "", nil, 403, "", ""},
		{&open, "analyst", "en_route", "", nil, 403, "", ""},
		{&open, "reporter", "teleport", "", nil, 400, "action", ""},
		{&open, "reporter", "en_route", "", im(2), 412, "If-Match", ""},
		{&open, "reporter", "en_route", "", im(1), 200, "", bluehelm.TaskEnRoute},
		{&open, "reporter", "en_route", "", nil, 409, "", ""},
		{&open, "reporter", "close", "", nil, 403, "", ""}, // a field user does not close
		{&open, "reporter", "cancel", "not needed", nil, 403, "", ""},
		{&open, "reporter", "on_scene", "", nil, 200, "", bluehelm.TaskOnScene},
		{&open, "ops2", "on_scene", "", nil, 409, "", ""},
		{&open, "ops2", "close", "Bridge intact", nil, 200, "", bluehelm.TaskClosed},
		{&open, "ops2", "close", "", nil, 409, "", ""},
		{&tk, "ops2", "cancel", "", nil, 400, "note", ""},
		{&tk, "police", "on_scene", "", nil, 200, "", bluehelm.TaskOnScene}, // skips en route
		{&tk, "police", "cancel", "Dispersed before arrival", nil, 200, "", bluehelm.TaskCancelled},
	}
	for i, s := range steps {
		var body any
		if s.note != "" {
			body = map[string]any{"note": s.note}
		}
		rq := req{method: "POST", path: fmt.Sprintf("/api/v1/tasks/%d/actions/%s", s.task.ID, s.action), as: s.as, body: body, header: s.header}
		if s.status != 200 {
			before := e.opsCounts()
			e.problem(rq, s.status, s.field)
			e.sameOpsCounts(before, fmt.Sprintf("step %d", i))
			continue
		}
		var got bluehelm.Task
		e.ok(rq, http.StatusOK, &got)
		if got.Status != s.want {
			t.Fatalf("step %d (%s %s): %s, want %s", i, s.as, s.action, got.Status, s.want)
		}
	}
	e.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/tasks/%d", open.ID), as: "ops2"}, http.StatusOK, &open)
	if open.EnRouteAt.IsZero() || open.OnSceneAt.IsZero() || open.ClosedAt.IsZero() || open.CloseNote != "Bridge intact" {
		t.Fatalf("closed task %+v", open)
	}
	e.ok(req{method: "GET", path: path, as: "ops2"}, http.StatusOK, &tk)
	if !tk.EnRouteAt.IsZero() || tk.OnSceneAt.IsZero() || tk.CloseNote != "Dispersed before arrival" {
		t.Fatalf("cancelled task %+v", tk)
	}
}

func TestDispatchBadInput(t *testing.T) {
	e := opsEnv(t)
	inc := e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, "Shots fired")
	secret := e.seedIncident(bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}, "Source report")
	var alert bluehelm.Alert
	e.ok(req{method: "POST", path: "/api/v1/alerts", as: "ops1", body: map[string]any{"severity": "warning", "title": "Radio call, no place"}}, http.StatusCreated, &alert)
	here := map[string]any{"type": "Point", "coordinates": []float64{31.6, 4.9}}
	cases := []struct {
		name   string
		as     string
		body   map[string]any
		status int
		field  string
	}{
		{"unknown unit", "ops1", map[string]any{"incident_id": inc.ID, "unit": "NOBATT"}, 400, "unit"},
		{"disabled unit", "ops1", map[string]any{"incident_id": inc.ID, "unit": "OLD-COY"}, 400, "unit"},
		{"no unit", "ops1", map[string]any{"incident_id": inc.ID}, 400, "unit"},
		{"nowhere", "ops1", map[string]any{"unit": "BANBATT-2/A", "title": "Go"}, 400, "location"},
		{"alert without a place", "ops1", map[string]any{"alert_id": alert.ID, "unit": "BANBATT-2/A"}, 400, "location"},
		{"incident and alert", "ops1", map[string]any{"incident_id": inc.ID, "alert_id": alert.ID, "unit": "BANBATT-2/A"}, 400, "alert_id"},
		{"no title", "ops1", map[string]any{"location": here, "unit": "BANBATT-2/A"}, 400, "title"},
		{"unknown incident", "ops1", map[string]any{"incident_id": 999, "unit": "BANBATT-2/A"}, 404, "incident_id"},
		{"incident above the dispatcher", "police", map[string]any{"incident_id": secret.ID, "unit": "BANBATT-2/A"}, 404, "incident_id"},
		{"reporter may not dispatch", "reporter", map[string]any{"incident_id": inc.ID, "unit": "BANBATT-2/A"}, 403, ""},
		{"unknown field", "ops1", map[string]any{"incident_id": inc.ID, "unit": "BANBATT-2/A", "priority": 1}, 400, "priority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.opsCounts()
			e.problem(req{method: "POST", path: "/api/v1/tasks", as: c.as, body: c.body}, c.status, c.field)
			e.sameOpsCounts(before, c.name)
		})
	}
	// The alert's missing place may be given.
	var tk bluehelm.Task
	e.ok(req{method: "POST", path: "/api/v1/tasks", as: "ops1", body: map[string]any{"alert_id": alert.ID, "unit": "BANBATT-2/A", "location": here}}, http.StatusCreated, &tk)
	if tk.AlertID != alert.ID || tk.Title != alert.Title || tk.Location.Lon != 31.6 {
		t.Fatalf("task from alert %+v", tk)
	}
}

func TestProximityRules(t *testing.T) {
	e := opsEnv(t)
	rule := func(f func(m map[string]any)) map[string]any {
		m := map[string]any{"name": "Hostiles near a patrol", "a": map[string]any{"cot_types": []string{"a-h"}},
			"b":               map[string]any{"units": []string{"BANBATT-2/A"}, "kinds": []string{"vehicle", "unit"}},
			"distance_meters": 2000, "severity": "critical"}
		f(m)
		return m
	}
	var rl bluehelm.ProximityRule
	r := e.ok(req{method: "POST", path: "/api/v1/proximity-rules", as: "ops1", body: rule(func(map[string]any) {})}, http.StatusCreated, &rl)
	path := fmt.Sprintf("/api/v1/proximity-rules/%d", rl.ID)
	if r.Header.Get("ETag") != `"1"` || r.Header.Get("Location") != path || rl.CreatedBy != "ops1" || rl.A.CoTTypes[0] != "a-h" {
		t.Fatalf("created %+v %v", rl, r.Header)
	}
	e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &rl)
	var secret bluehelm.ProximityRule
	e.ok(req{method: "POST", path: "/api/v1/proximity-rules", as: "ops1", body: rule(func(m map[string]any) {
		m["name"], m["classification"] = "Source near camp", "CONFIDENTIAL"
	})}, http.StatusCreated, &secret)
	var list struct{ Rules []bluehelm.ProximityRule }
	e.ok(req{method: "GET", path: "/api/v1/proximity-rules", as: "ops2"}, http.StatusOK, &list)
	if len(list.Rules) != 2 {
		t.Fatalf("ops2 lists %d rules", len(list.Rules))
	}
	e.ok(req{method: "GET", path: "/api/v1/proximity-rules", as: "police"}, http.StatusOK, &list)
	if len(list.Rules) != 1 || list.Rules[0].ID != rl.ID {
		t.Fatalf("police lists %+v", list.Rules)
	}
	e.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/proximity-rules/%d", secret.ID), as: "police"}, http.StatusNotFound, "")

	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"empty selector", rule(func(m map[string]any) { m["a"] = map[string]any{} }), "a"},
		{"bad cot prefix", rule(func(m map[string]any) { m["b"] = map[string]any{"cot_types": []string{"a-f", "a--x"}} }), "b.cot_types[1]"},
		{"unknown kind", rule(func(m map[string]any) { m["a"] = map[string]any{"kinds": []string{"ship"}} }), "a.kinds[0]"},
		{"too near", rule(func(m map[string]any) { m["distance_meters"] = 5 }), "distance_meters"},
		{"too far", rule(func(m map[string]any) { m["distance_meters"] = 200000 }), "distance_meters"},
		{"unknown severity", rule(func(m map[string]any) { m["severity"] = "urgent" }), "severity"},
		{"no name", rule(func(m map[string]any) { m["name"] = "" }), "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.opsCounts()
			e.problem(req{method: "POST", path: "/api/v1/proximity-rules", as: "ops1", body: c.body}, http.StatusBadRequest, c.field)
			e.sameOpsCounts(before, c.name)
		})
	}

	edit := rule(func(m map[string]any) { m["distance_meters"], m["disabled"] = 5000, true })
	before := e.opsCounts()
	e.problem(req{method: "POST", path: "/api/v1/proximity-rules", as: "reporter", body: edit}, http.StatusForbidden, "")
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit}, http.StatusPreconditionRequired, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "ops1", body: edit, header: im(2)}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "PUT", path: path, as: "reporter", body: edit, header: im(1)}, http.StatusForbidden, "")
	e.problem(req{method: "PUT", path: path, as: "ops1", body: rule(func(m map[string]any) { m["severity"] = "" }), header: im(1)}, http.StatusBadRequest, "severity")
	e.problem(req{method: "DELETE", path: path, as: "ops1"}, http.StatusPreconditionRequired, "If-Match")
	e.sameOpsCounts(before, "refused rule changes")

	r = e.ok(req{method: "PUT", path: path, as: "ops1", body: edit, header: im(1)}, http.StatusOK, &rl)
	if r.Header.Get("ETag") != `"2"` || rl.DistanceMeters != 5000 || !rl.Disabled || rl.CreatedBy != "ops1" {
		t.Fatalf("updated %+v", rl)
	}
	e.problem(req{method: "DELETE", path: path, as: "ops1", header: im(1)}, http.StatusPreconditionFailed, "If-Match")
	e.problem(req{method: "DELETE", path: path, as: "reporter", header: im(2)}, http.StatusForbidden, "")
	e.ok(req{method: "DELETE", path: path, as: "ops1", header: im(2)}, http.StatusNoContent, nil)
	e.problem(req{method: "GET", path: path, as: "ops1"}, http.StatusNotFound, "")
	e.problem(req{method: "DELETE", path: path, as: "ops1", header: im(2)}, http.StatusNotFound, "")
}

// TestOperationsPermissions asks each new write and planning endpoint, as every
// role, for what the role's permissions say: refused (403) exactly when the role
// lacks the action.
func TestOperationsPermissions(t *testing.T) {
	e := opsEnv(t)
	e.postFixes(map[string][2]float64{"BAN-A-1": {31.6, 4.9}})
	gpx := `<gpx version="1.1"><rte><rtept lat="6.2" lon="31.5"/><rtept lat="6.3" lon="31.6"/></rte></gpx>`
	place := map[string]any{"type": "Point", "coordinates": []float64{31.6, 4.86}}
	for i, role := range bluehelm.Roles {
		name := "perm-" + string(role)
		p := e.user(name, role, bluehelm.Military, bluehelm.StrictlyConfidential).Principal()
		for _, c := range []struct {
			what   string
			action bluehelm.Action
			rq     req
		}{
			{"create unit", bluehelm.ActManageUnits, req{method: "POST", path: "/api/v1/units",
				body: map[string]any{"code": fmt.Sprintf("UNIT-%d", i), "name": "U", "mobility": "foot"}}},
			{"create facility", bluehelm.ActManageMedical, req{method: "POST", path: "/api/v1/medical-facilities",
				body: map[string]any{"name": "Clinic", "level": "1", "location": place}}},
			{"plan patrol", bluehelm.ActPlanPatrol, req{method: "POST", path: "/api/v1/patrols", body: e.patrolBody()}},
			{"assess route", bluehelm.ActPlanPatrol, req{method: "POST", path: "/api/v1/routes/risk",
				body: map[string]any{"route": lineString([2]float64{31.5, 4.8}, [2]float64{31.6, 4.9})}}},
			{"import route", bluehelm.ActPlanPatrol, req{method: "POST", path: "/api/v1/routes/import", body: gpx, ctype: "application/gpx+xml"}},
			{"rank responders", bluehelm.ActDispatch, req{method: "GET", path: "/api/v1/responders?lon=31.6&lat=4.86"}},
			{"dispatch", bluehelm.ActDispatch, req{method: "POST", path: "/api/v1/tasks",
				body: map[string]any{"unit": "BANBATT-2/A", "title": "Go", "location": place}}},
			{"create proximity rule", bluehelm.ActWriteArea, req{method: "POST", path: "/api/v1/proximity-rules",
				body: map[string]any{"name": "R", "a": map[string]any{"kinds": []string{"uav"}}, "b": map[string]any{"kinds": []string{"person"}},
					"distance_meters": 500, "severity": "warning"}}},
			{"export patrols", bluehelm.ActExport, req{method: "GET", path: "/api/v1/patrols/export"}},
		} {
			c.rq.as = name
			r := e.do(c.rq)
			if p.Can(c.action) != (r.StatusCode != http.StatusForbidden) || r.StatusCode >= 300 && r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %s → %d (may %s: %v)\n%s", role, c.what, r.StatusCode, c.action, p.Can(c.action), r.body)
			}
		}
	}
}

// TestOpenAPISchemasMatchTypes keeps the documented schemas of the operations
// records and the Go types' JSON names in step, both ways.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"Unit": bluehelm.Unit{}, "MedicalFacility": bluehelm.MedicalFacility{}, "Patrol": bluehelm.Patrol{},
		"RiskReport": bluehelm.RiskReport{}, "SegmentRisk": bluehelm.SegmentRisk{}, "MedicalReach": bluehelm.MedicalReach{},
		"RiskReason": bluehelm.RiskReason{}, "Task": bluehelm.Task{}, "Dispatch": ingest.Dispatch{}, "Responder": rankedJSON{},
		"PatrolFigures": bluehelm.PatrolFigures{}, "UnitWeek": bluehelm.UnitWeek{}, "ProximityRule": bluehelm.ProximityRule{},
		"TrackSelector": bluehelm.TrackSelector{}, "Alert": bluehelm.Alert{}, "Area": bluehelm.Area{}, "AreaRule": bluehelm.AreaRule{},
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		var documented []string
		for k := range s.Properties {
			documented = append(documented, k)
		}
		slices.Sort(documented)
		if got := jsonNames(reflect.TypeOf(v)); !slices.Equal(got, documented) {
			t.Errorf("%s: Go has %v,\ndocumented %v", name, got, documented)
		}
	}
}

// jsonNames lists the JSON member names of a struct type, embedded structs
// flattened as encoding/json does.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// fix posts one position for uid as the reporter, ago before now.
func (e *testEnv) fix(uid string, lon, lat float64, ago time.Duration) {
	e.t.Helper()
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: map[string]any{
		"uid": uid, "time": e.now.Add(-ago).Format(time.RFC3339), "lon": lon, "lat": lat, "kind": "vehicle"}}, http.StatusOK, nil)
}

// patrolAlerts lists the open alerts about patrol id that user sees, by rule.
func (e *testEnv) patrolAlerts(as string, id int64) map[string]int {
	e.t.Helper()
	var list struct{ Alerts []bluehelm.Alert }
	e.ok(req{method: "GET", path: "/api/v1/alerts?state=open", as: as}, http.StatusOK, &list)
	out := map[string]int{}
	for _, a := range list.Alerts {
		if a.PatrolID == id {
			if a.Source != bluehelm.AlertPatrol {
				e.t.Fatalf("patrol alert from %q: %+v", a.Source, a)
			}
			out[a.Rule]++
		}
	}
	return out
}

// TestPatrolMonitorAlerts: an underway patrol that leaves its route and is out
// past its return raises one alert of each, seen through the API; a busy patrol's
// unit ranks after free ones.
func TestPatrolMonitorAlerts(t *testing.T) {
	e := opsEnv(t)
	// Out since three hours, due back an hour ago.
	pt := e.createPatrol("reporter", func(m map[string]any) {
		m["planned_start"], m["planned_end"] = e.now.Add(-3*time.Hour).Format(time.RFC3339), e.now.Add(-time.Hour).Format(time.RFC3339)
		m["check_in_minutes"] = 120
	})
	e.fix("BAN-A-1", 31.56, 4.852, 5*time.Minute) // on the route
	for _, s := range []struct{ action, as string }{{"submit", "reporter"}, {"approve", "ops1"}, {"start", "reporter"}} {
		e.patrolStep(pt.ID, s.action, s.as, "")
	}
	if got := e.patrolAlerts("ops2", pt.ID); len(got) != 0 {
		t.Fatalf("alerts before anything happened: %v", got)
	}
	// 5 km north of the route, twice: one alert.
	e.fix("BAN-A-1", 31.60, 4.905, 3*time.Minute)
	e.fix("BAN-A-1", 31.61, 4.906, 2*time.Minute)
	e.pipeline.CheckNow(e.ctx)
	e.pipeline.CheckNow(e.ctx)
	if got, want := e.patrolAlerts("ops2", pt.ID), map[string]int{"off_route": 1, "late_return": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	// The police viewer is not told about a military patrol's track... unless it
	// is unclassified, as this one is.
	if got := e.patrolAlerts("viewer", pt.ID); got["off_route"] != 1 {
		t.Fatalf("viewer alerts %v", got)
	}

	// A, out on the patrol, is busy: B ranks first though farther away.
	e.fix("BAN-B-1", 31.70, 4.95, time.Minute)
	var res struct{ Responders []rankedJSON }
	e.ok(req{method: "GET", path: "/api/v1/responders?lon=31.61&lat=4.906", as: "ops1"}, http.StatusOK, &res)
	if len(res.Responders) != 2 || res.Responders[0].Unit.Code != "BANBATT-2/B" || !res.Responders[1].Busy ||
		res.Responders[1].DistanceMeters >= res.Responders[0].DistanceMeters {
		t.Fatalf("responders %+v", res.Responders)
	}
}

// TestTaskFollowsPositions: the unit's positions move its task en route and on
// scene, at the times of the positions, but never before the dispatch: a
// report that arrives late (store and forward, a slow device clock) must not
// make a response time negative.
func TestTaskFollowsPositions(t *testing.T) {
	e := opsEnv(t)
	e.fix("BAN-B-1", 31.50, 4.80, 10*time.Minute)
	e.fix("BAN-A-1", 31.60, 4.90, 10*time.Minute)
	dispatch := func(unit string, lon, lat float64) string {
		var tk bluehelm.Task
		e.ok(req{method: "POST", path: "/api/v1/tasks", as: "ops1", body: map[string]any{"unit": unit, "title": "Water point",
			"location": map[string]any{"type": "Point", "coordinates": []float64{lon, lat}}}}, http.StatusCreated, &tk)
		if tk.TrackUID == "" || !tk.AssignedAt.Equal(e.now) {
			t.Fatalf("task %+v", tk)
		}
		return fmt.Sprintf("/api/v1/tasks/%d", tk.ID)
	}
	get := func(path string) *bluehelm.Task {
		var tk bluehelm.Task
		e.ok(req{method: "GET", path: path, as: "ops1"}, http.StatusOK, &tk)
		return &tk
	}

	// B leaves a minute after the dispatch and arrives two minutes later.
	b := dispatch("BANBATT-2/B", 31.55, 4.80)
	e.fix("BAN-B-1", 31.52, 4.80, -time.Minute) // 2.2 km on
	if tk := get(b); tk.Status != bluehelm.TaskEnRoute || !tk.EnRouteAt.Equal(e.now.Add(time.Minute)) {
		t.Fatalf("after leaving: %+v", tk)
	}
	e.fix("BAN-B-1", 31.5495, 4.80, -3*time.Minute) // 55 m from the scene
	tk := get(b)
	if tk.Status != bluehelm.TaskOnScene || !tk.OnSceneAt.After(tk.EnRouteAt) || tk.OnSceneAt.After(e.now.Add(3*time.Minute)) {
		t.Fatalf("after arriving: %+v", tk)
	}
	// A's arrival is reported late, dated before the dispatch.
	a := dispatch("BANBATT-2/A", 31.62, 4.90)
	e.fix("BAN-A-1", 31.6199, 4.90, 5*time.Minute)
	if tk := get(a); tk.Status != bluehelm.TaskOnScene || tk.OnSceneAt.Before(tk.AssignedAt) || tk.EnRouteAt.Before(tk.AssignedAt) && !tk.EnRouteAt.IsZero() {
		t.Fatalf("late report: %+v", tk)
	}

	var f bluehelm.PatrolFigures
	e.ok(req{method: "GET", path: "/api/v1/patrols/figures?to=" + e.now.Add(time.Hour).Format(time.RFC3339), as: "ops1"}, http.StatusOK, &f)
	if f.TasksArrived != 2 || f.MedianResponseSeconds <= 0 || f.MedianResponseSeconds > 180 {
		t.Fatalf("figures %+v", f)
	}
}

// TestStreamOperationsLayer: the operations layer's snapshot holds the patrols
// that are approved or underway and the open tasks the viewer may see.
func TestStreamOperationsLayer(t *testing.T) {
	e := opsEnv(t)
	draft := e.createPatrol("reporter", func(m map[string]any) { m["name"] = "Draft" })
	approved := e.createPatrol("reporter", func(m map[string]any) { m["name"] = "Approved" })
	secret := e.createPatrol("reporter", func(m map[string]any) { m["name"], m["classification"] = "Secret", "CONFIDENTIAL" })
	for _, p := range []*bluehelm.Patrol{approved, secret} {
		e.patrolStep(p.ID, "submit", "reporter", "")
		e.patrolStep(p.ID, "approve", "ops1", "")
	}
	var tk bluehelm.Task
	e.ok(req{method: "POST", path: "/api/v1/tasks", as: "ops1", body: map[string]any{"unit": "BANBATT-2/B", "title": "Check",
		"location": map[string]any{"type": "Point", "coordinates": []float64{31.55, 4.80}}}}, http.StatusCreated, &tk)

	ids := func(ms []wsMsg) []int64 {
		var out []int64
		for _, m := range ms {
			out = append(out, m.id())
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		as      string
		patrols []int64
	}{
		{"ops2", []int64{approved.ID, secret.ID}},
		{"police", []int64{approved.ID}},
	} {
		ws := e.dialAs(c.as)
		ws.send(map[string]any{"type": "subscribe", "layers": []string{"operations"}})
		snap := ws.snapshot()
		if got := ids(snap["patrol"]); !slices.Equal(got, c.patrols) || slices.Contains(got, draft.ID) {
			t.Errorf("%s: patrols %v, want %v", c.as, got, c.patrols)
		}
		if got := ids(snap["task"]); !slices.Equal(got, []int64{tk.ID}) {
			t.Errorf("%s: tasks %v", c.as, got)
		}
		if len(snap) != 2 {
			t.Errorf("%s: snapshot of %v", c.as, snapCounts(snap))
		}
		// Live: a step of the task reaches the subscriber.
		if c.as == "ops2" {
			e.ok(req{method: "POST", path: fmt.Sprintf("/api/v1/tasks/%d/actions/en_route", tk.ID), as: "reporter"}, http.StatusOK, nil)
			m := ws.next()
			var got bluehelm.Task
			json.Unmarshal(m.Data, &got)
			if m.Type != "task" || got.ID != tk.ID || got.Status != bluehelm.TaskEnRoute {
				t.Errorf("live %s %s", m.Type, m.Data)
			}
		}
	}
}
