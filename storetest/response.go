package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// Units, patrols, response tasks, medical facilities and proximity rules.
// Beyond the rules in the package comment:
//
//   - A unit's code is unique (ECONFLICT on create or update, exact match).
//   - Units are listed by code, facilities by name then id, proximity rules
//     by id; a deleted proximity rule's id is never given to a new one.
//   - FindPatrols: a patrol matches a unit when any of its Units is it; its
//     planned window [PlannedStart, PlannedEnd) matches when it overlaps
//     [From, To) (a patrol ending exactly at From or starting exactly at To
//     does not); order is planned start, then id. FindTasks: newest AssignedAt
//     first, then id descending; Since is inclusive. Both apply the access rule
//     in the query; Limit 0 is the default (500), over 5000 is cut to 5000,
//     negative is EINVALID.

var (
	ops     = bluehelm.Principal{Username: "ops1", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	planner = bluehelm.Principal{Username: "planner1", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
)

func newUnit(code string) *bluehelm.Unit {
	return &bluehelm.Unit{
		Code: code, Name: "Bangladesh battalion, B company", Mobility: bluehelm.MobilityMounted, Nationality: "BGD",
		TrackUIDs: []string{"veh-" + code, "hh-" + code},
		Marking:   bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police}},
		UpdatedBy: "ops1", UpdatedAt: t0,
	}
}

func newFacility(name string, level bluehelm.MedicalLevel) *bluehelm.MedicalFacility {
	return &bluehelm.MedicalFacility{
		Name: name, Level: level, Location: bluehelm.Point{Lon: 31.58, Lat: 4.86},
		Capabilities:           []string{bluehelm.CapSurgery, bluehelm.CapBlood},
		Beds:                   20,
		HelicopterLandingSites: []bluehelm.Point{{Lon: 31.59, Lat: 4.87}, {Lon: 31.57, Lat: 4.85}},
		Operator:               "CHN Level 2 hospital", Marking: unclassified,
		UpdatedBy: "med1", UpdatedAt: t0,
	}
}

// newPatrol returns a valid draft patrol over [start, start+d).
func newPatrol(name string, units []string, start time.Time, d time.Duration, m bluehelm.Marking) *bluehelm.Patrol {
	return &bluehelm.Patrol{
		Name: name, Type: bluehelm.PatrolLongRange, Units: units, TrackUIDs: []string{"veh-1", "veh-2"},
		Strength: 24, Women: 6,
		Route:        bluehelm.Geometry{Geometry: orb.LineString{{31.58, 4.86}, {31.70, 4.95}, {31.95, 5.10}}},
		PlannedStart: start, PlannedEnd: start.Add(d),
		CheckInMinutes: 30, DeviationMeters: 1500, Purpose: "Area domination along the Bor road",
		Status: bluehelm.PatrolDraft, PlannedBy: planner.Username, Marking: m,
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func newRisk() *bluehelm.RiskReport {
	reach := bluehelm.MedicalReach{Level1RoadMinutes: 35.5, Level1AirMinutes: 22, Level2RoadMinutes: 140, Level2AirMinutes: -1,
		Level1FacilityID: 3, Level2FacilityID: 4, RoadEstimated: true, Within1h: true}
	return &bluehelm.RiskReport{
		ComputedAt: t0.Add(90 * time.Minute), At: t0.Add(24 * time.Hour), LengthKm: 48.2, Score: 61.5, Level: bluehelm.RiskHigh,
		Segments: []bluehelm.SegmentRisk{
			{From: bluehelm.Point{Lon: 31.58, Lat: 4.86}, To: bluehelm.Point{Lon: 31.70, Lat: 4.95}, LengthKm: 16.6, Score: 20, Level: bluehelm.RiskLow, Medical: reach},
			{From: bluehelm.Point{Lon: 31.70, Lat: 4.95}, To: bluehelm.Point{Lon: 31.95, Lat: 5.10}, StartKm: 16.6, LengthKm: 31.6, Score: 61.5, Level: bluehelm.RiskHigh, Medical: reach,
				Reasons: []bluehelm.RiskReason{{Code: "near_repeat", Text: "IED attack 600 m away 2 days ago", IncidentIDs: []int64{17, 18}, Value: 0.4}}},
		},
		Reasons:             []bluehelm.RiskReason{{Code: "medical_beyond_2h", Text: "Level 2 care beyond 2 h (estimate)", Value: 140}, {Code: "restricted_area", Text: "Crosses a no-go area", AreaID: 9}},
		Medical:             reach,
		IncidentsConsidered: 12, ForecastUsed: true,
	}
}

func newTask(title, unit string, incidentID int64, at time.Time, m bluehelm.Marking) *bluehelm.Task {
	return &bluehelm.Task{
		IncidentID: incidentID, AlertID: 5, Title: title, Location: bluehelm.Point{Lon: 31.6, Lat: 4.9},
		Unit: unit, TrackUID: "veh-" + unit, Status: bluehelm.TaskAssigned,
		ETASeconds: 1260, DistanceMeters: 14000, ETAEstimated: true, Note: "Approach from the north",
		AssignedBy: ops.Username, ReportedAt: at.Add(-10 * time.Minute), AssignedAt: at,
		Marking: m, UpdatedAt: at,
	}
}

// checkNoAudit checks that a failed write appended nothing.
func checkNoAudit(t *testing.T, s bluehelm.Store, before int64, what string) {
	t.Helper()
	if n := auditCount(t, s); n != before {
		t.Errorf("%s: a failed write appended %d audit entries", what, n-before)
	}
}

func testUnits(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	b, a := newUnit("BANBATT-2/B"), newUnit("BANBATT-2/A")
	a.Disabled, a.TrackUIDs, a.Nationality, a.Marking = true, nil, "", unclassified
	for _, u := range []*bluehelm.Unit{b, a} {
		before := auditCount(t, s)
		must(t, s.CreateUnit(ctx, u, entry("unit.create")), "CreateUnit")
		if u.ID == 0 || u.Version != 1 {
			t.Fatalf("after create: id %d version %d", u.ID, u.Version)
		}
		checkAudited(t, s, before, "unit.create", "unit", u.ID)
	}
	for _, get := range []func() (*bluehelm.Unit, error){
		func() (*bluehelm.Unit, error) { return s.Unit(ctx, b.ID) },
		func() (*bluehelm.Unit, error) { return s.UnitByCode(ctx, "BANBATT-2/B") },
	} {
		got, err := get()
		must(t, err, "get unit")
		sameJSON(t, got, b, "stored unit")
	}
	got, err := s.Unit(ctx, a.ID)
	must(t, err, "Unit")
	sameJSON(t, got, a, "stored disabled unit")

	before := auditCount(t, s)
	dup := newUnit("BANBATT-2/B")
	wantCode(t, s.CreateUnit(ctx, dup, entry("unit.create")), bluehelm.ECONFLICT, "CreateUnit with a taken code")
	taken := *a
	taken.Code = "BANBATT-2/B"
	wantCode(t, s.UpdateUnit(ctx, &taken, entry("unit.update")), bluehelm.ECONFLICT, "UpdateUnit to a taken code")
	checkNoAudit(t, s, before, "duplicate codes")

	stale := *b
	b.Name, b.Mobility, b.TrackUIDs = "B company (air mobile)", bluehelm.MobilityAir, []string{"heli-7"}
	before = auditCount(t, s)
	must(t, s.UpdateUnit(ctx, b, entry("unit.update")), "UpdateUnit")
	checkAudited(t, s, before, "unit.update", "unit", b.ID)
	if b.Version != 2 {
		t.Errorf("version after update %d, want 2", b.Version)
	}
	before = auditCount(t, s)
	wantCode(t, s.UpdateUnit(ctx, &stale, entry("unit.update")), bluehelm.ECONFLICT, "UpdateUnit from a stale version")
	checkNoAudit(t, s, before, "stale UpdateUnit")
	got, err = s.UnitByCode(ctx, b.Code)
	must(t, err, "UnitByCode")
	sameJSON(t, got, b, "unit after update")

	// A unit may keep its own code, and take a code no other unit has.
	renamed := *a
	renamed.Code = "BANBATT-2/C"
	must(t, s.UpdateUnit(ctx, &renamed, entry("unit.update")), "UpdateUnit to a free code")
	_, err = s.UnitByCode(ctx, "BANBATT-2/A")
	wantCode(t, err, bluehelm.ENOTFOUND, "UnitByCode of the old code")
	_, err = s.UnitByCode(ctx, "banbatt-2/b")
	wantCode(t, err, bluehelm.ENOTFOUND, "UnitByCode in another case")

	all, err := s.Units(ctx)
	must(t, err, "Units")
	sameJSON(t, all, []*bluehelm.Unit{b, &renamed}, "Units (by code)")

	_, err = s.Unit(ctx, 424242)
	wantCode(t, err, bluehelm.ENOTFOUND, "Unit of unknown id")
	ghost := newUnit("GHOST")
	ghost.ID, ghost.Version = 424242, 1
	wantCode(t, s.UpdateUnit(ctx, ghost, entry("unit.update")), bluehelm.ENOTFOUND, "UpdateUnit of unknown id")
}

func testFacilities(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	l2 := newFacility("Juba Level 2", "2+")
	l1 := newFacility("Bor clinic", "1")
	l1.Capabilities, l1.HelicopterLandingSites, l1.Beds, l1.Operator, l1.OutOfService = nil, nil, 0, "", true
	twin := newFacility("Bor clinic", "1+") // same name: listed after, by id
	for _, f := range []*bluehelm.MedicalFacility{l2, l1, twin} {
		before := auditCount(t, s)
		must(t, s.CreateFacility(ctx, f, entry("facility.create")), "CreateFacility")
		if f.ID == 0 || f.Version != 1 {
			t.Fatalf("after create: id %d version %d", f.ID, f.Version)
		}
		checkAudited(t, s, before, "facility.create", "facility", f.ID)
		got, err := s.Facility(ctx, f.ID)
		must(t, err, "Facility")
		sameJSON(t, got, f, "stored facility")
	}
	stale := *l2
	l2.Beds, l2.Capabilities = 40, append(l2.Capabilities, bluehelm.CapICU)
	before := auditCount(t, s)
	must(t, s.UpdateFacility(ctx, l2, entry("facility.update")), "UpdateFacility")
	checkAudited(t, s, before, "facility.update", "facility", l2.ID)
	if l2.Version != 2 {
		t.Errorf("version after update %d, want 2", l2.Version)
	}
	before = auditCount(t, s)
	wantCode(t, s.UpdateFacility(ctx, &stale, entry("facility.update")), bluehelm.ECONFLICT, "UpdateFacility from a stale version")
	checkNoAudit(t, s, before, "stale UpdateFacility")
	got, err := s.Facility(ctx, l2.ID)
	must(t, err, "Facility")
	sameJSON(t, got, l2, "facility after update")

	all, err := s.Facilities(ctx)
	must(t, err, "Facilities")
	sameJSON(t, all, []*bluehelm.MedicalFacility{l1, twin, l2}, "Facilities (by name, then id)")

	_, err = s.Facility(ctx, 424242)
	wantCode(t, err, bluehelm.ENOTFOUND, "Facility of unknown id")
	ghost := newFacility("ghost", "1")
	ghost.ID, ghost.Version = 424242, 1
	wantCode(t, s.UpdateFacility(ctx, ghost, entry("facility.update")), bluehelm.ENOTFOUND, "UpdateFacility of unknown id")
}

func testPatrols(t *testing.T, o Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		p := newPatrol("BANBATT-2 LRP 14", []string{"BANBATT-2/B", "FPU-3"}, t0.Add(24*time.Hour), 36*time.Hour,
			bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police, bluehelm.Civilian}})
		p.RejectReason = "route crossed the market on a market day" // kept from an earlier rejection
		before := auditCount(t, s)
		must(t, s.CreatePatrol(ctx, p, entry("patrol.create")), "CreatePatrol")
		if p.ID == 0 || p.Version != 1 {
			t.Fatalf("after create: id %d version %d", p.ID, p.Version)
		}
		checkAudited(t, s, before, "patrol.create", "patrol", p.ID)
		got, err := s.Patrol(ctx, p.ID)
		must(t, err, "Patrol")
		sameJSON(t, got, p, "stored draft patrol")
		if !got.ApprovedAt.IsZero() || !got.StartedAt.IsZero() || !got.EndedAt.IsZero() || got.Risk != nil {
			t.Errorf("draft came back with approval, start, end or risk: %+v", got)
		}
		if line := got.RouteLine(); len(line) != 3 || line[2] != (orb.Point{31.95, 5.10}) {
			t.Errorf("route came back as %v", got.Route.Geometry)
		}

		// Through the whole workflow, each step stored and read back.
		steps := []struct {
			action bluehelm.PatrolAction
			by     bluehelm.Principal
			reason string
			risk   *bluehelm.RiskReport
		}{
			{bluehelm.PatrolSubmit, planner, "", nil},
			{bluehelm.PatrolApprove, ops, "", newRisk()},
			{bluehelm.PatrolStart, planner, "", nil},
			{bluehelm.PatrolComplete, planner, "", nil},
		}
		for i, st := range steps {
			stale := *p
			must(t, p.Transition(st.action, st.by, t0.Add(time.Duration(i+2)*time.Hour), st.reason, st.risk), "Transition "+string(st.action))
			p.UpdatedAt = t0.Add(time.Duration(i+2) * time.Hour)
			before := auditCount(t, s)
			must(t, s.UpdatePatrol(ctx, p, entry("patrol."+string(st.action))), "UpdatePatrol")
			checkAudited(t, s, before, "patrol."+string(st.action), "patrol", p.ID)
			if p.Version != i+2 {
				t.Errorf("version after %s %d, want %d", st.action, p.Version, i+2)
			}
			got, err := s.Patrol(ctx, p.ID)
			must(t, err, "Patrol")
			sameJSON(t, got, p, "patrol after "+string(st.action))

			before = auditCount(t, s)
			wantCode(t, s.UpdatePatrol(ctx, &stale, entry("patrol.update")), bluehelm.ECONFLICT, "UpdatePatrol from a stale version")
			checkNoAudit(t, s, before, "stale UpdatePatrol")
		}
		got, err = s.Patrol(ctx, p.ID)
		must(t, err, "Patrol")
		if got.Status != bluehelm.PatrolCompleted || got.ApprovedBy != "ops1" || got.ApprovedAt.IsZero() || got.StartedAt.IsZero() || got.EndedAt.IsZero() {
			t.Errorf("completed patrol: %+v", got)
		}
		sameJSON(t, got.Risk, newRisk(), "risk report stored with the approval")

		_, err = s.Patrol(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "Patrol of unknown id")
		ghost := newPatrol("ghost", []string{"X"}, t0, time.Hour, unclassified)
		ghost.ID, ghost.Version = 424242, 1
		wantCode(t, s.UpdatePatrol(ctx, ghost, entry("patrol.update")), bluehelm.ENOTFOUND, "UpdatePatrol of unknown id")
	})

	t.Run("Access", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		secret := bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}
		p := newPatrol("Confidential LRP", []string{"BANBATT-2/B"}, t0, 6*time.Hour, secret)
		must(t, s.CreatePatrol(ctx, p, entry("patrol.create")), "CreatePatrol")
		police := bluehelm.Principal{Username: "unpol1", Role: bluehelm.RoleViewer, Component: bluehelm.Police, Clearance: bluehelm.Confidential}
		military := bluehelm.Principal{Username: "mil1", Role: bluehelm.RoleViewer, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
		find := func(v bluehelm.Principal) []int64 {
			got, err := s.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: v})
			must(t, err, "FindPatrols")
			return patrolIDs(got)
		}
		checkIDs(t, find(police), nil, "police viewer of a military patrol not released to police")
		checkIDs(t, find(military), []int64{p.ID}, "military viewer")
		p.Releasability = []bluehelm.Component{bluehelm.Police}
		must(t, s.UpdatePatrol(ctx, p, entry("patrol.release")), "UpdatePatrol")
		checkIDs(t, find(police), []int64{p.ID}, "police viewer once released to police")
		police.Clearance = bluehelm.Unclassified
		checkIDs(t, find(police), nil, "police viewer without the clearance")
	})

	t.Run("Window", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		start := t0.Add(10 * time.Hour)
		p := newPatrol("Day patrol", []string{"A"}, start, 2*time.Hour, unclassified) // [10:00, 12:00)
		must(t, s.CreatePatrol(ctx, p, entry("patrol.create")), "CreatePatrol")
		// A longer patrol, so that the longest window is not p's.
		long := newPatrol("Long-range patrol", []string{"B"}, t0.Add(-10*24*time.Hour), 5*24*time.Hour, unclassified)
		must(t, s.CreatePatrol(ctx, long, entry("patrol.create")), "CreatePatrol")
		end := start.Add(2 * time.Hour)
		for _, tc := range []struct {
			name     string
			from, to time.Time
			want     bool
		}{
			{"ends exactly at From", end, time.Time{}, false},
			{"ends just after From", end.Add(-time.Second), time.Time{}, true},
			{"ends a nanosecond after From", end.Add(-time.Nanosecond), time.Time{}, true},
			{"starts exactly at To", time.Time{}, start, false},
			{"starts just before To", time.Time{}, start.Add(time.Second), true},
			{"starts a nanosecond before To", time.Time{}, start.Add(time.Nanosecond), true},
			{"inside the window", start.Add(30 * time.Minute), start.Add(time.Hour), true},
			{"covers the window", start.Add(-time.Hour), end.Add(time.Hour), true},
			{"window before", start.Add(-3 * time.Hour), start, false},
			{"window after", end, end.Add(time.Hour), false},
			{"open", time.Time{}, time.Time{}, true},
		} {
			got, err := s.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, Unit: "A", From: tc.from, To: tc.to})
			must(t, err, "FindPatrols")
			if found := len(got) == 1 && got[0].ID == p.ID; found != tc.want || len(got) > 1 {
				t.Errorf("%s: found %v (ids %v), want %v", tc.name, found, patrolIDs(got), tc.want)
			}
		}
		// The long patrol, started ten days before, is found by a window that
		// begins after its start.
		got, err := s.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, From: t0.Add(-6 * 24 * time.Hour), To: t0.Add(-5*24*time.Hour - time.Hour)})
		must(t, err, "FindPatrols")
		checkIDs(t, patrolIDs(got), []int64{long.ID}, "window inside a long patrol")
	})

	t.Run("Filter", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		unitCodes := []string{"A", "B", "C", "D"}
		var all []*bluehelm.Patrol
		for i, m := range markingsSample() {
			// 3 to 48 h windows over two weeks, with repeated starts for the
			// id tie-break; one to three units each.
			start := t0.Add(time.Duration((i*37)%29) * 12 * time.Hour)
			units := []string{unitCodes[i%4]}
			if i%3 == 0 {
				units = append(units, unitCodes[(i+1)%4])
			}
			if i%7 == 0 {
				units = append(units, unitCodes[(i+2)%4])
			}
			p := newPatrol(fmt.Sprintf("Patrol %d", i), units, start, time.Duration(3+(i*11)%46)*time.Hour, m)
			must(t, s.CreatePatrol(ctx, p, entry("patrol.create")), "CreatePatrol")
			if st := bluehelm.PatrolStatuses[i%len(bluehelm.PatrolStatuses)]; st != bluehelm.PatrolDraft {
				p.Status = st
				if i%5 == 0 {
					p.Units = []string{"E"} // reassigned: the old units no longer match
				}
				must(t, s.UpdatePatrol(ctx, p, entry("patrol.update")), "UpdatePatrol")
			}
			all = append(all, p)
		}
		from, to := t0.Add(3*24*time.Hour), t0.Add(7*24*time.Hour)
		filters := []struct {
			name string
			f    bluehelm.PatrolFilter
		}{
			{"all", bluehelm.PatrolFilter{}},
			{"approved or underway", bluehelm.PatrolFilter{Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolApproved, bluehelm.PatrolUnderway}}},
			{"unit B", bluehelm.PatrolFilter{Unit: "B"}},
			{"unit E", bluehelm.PatrolFilter{Unit: "E"}},
			{"unknown unit", bluehelm.PatrolFilter{Unit: "Z"}},
			{"week", bluehelm.PatrolFilter{From: from, To: to}},
			{"from", bluehelm.PatrolFilter{From: from}},
			{"to", bluehelm.PatrolFilter{To: to}},
			{"unit C in the week, drafts", bluehelm.PatrolFilter{Unit: "C", From: from, To: to, Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolDraft}}},
		}
		for _, p := range viewers() {
			for _, tc := range filters {
				for _, limit := range []int{3, 0} {
					t.Run(fmt.Sprintf("%s/%s/limit=%d", viewerName(p), tc.name, limit), func(t *testing.T) {
						f := tc.f
						f.Viewer, f.Limit = p, limit
						var want []*bluehelm.Patrol
						for _, x := range all {
							if p.CanSee(x.Marking) && (len(f.Statuses) == 0 || slices.Contains(f.Statuses, x.Status)) &&
								(f.Unit == "" || slices.Contains(x.Units, f.Unit)) &&
								(f.To.IsZero() || x.PlannedStart.Before(f.To)) && (f.From.IsZero() || x.PlannedEnd.After(f.From)) {
								want = append(want, x)
							}
						}
						slices.SortFunc(want, func(a, b *bluehelm.Patrol) int {
							if c := a.PlannedStart.Compare(b.PlannedStart); c != 0 {
								return c
							}
							return cmpInt(a.ID, b.ID)
						})
						if limit > 0 {
							want = want[:min(limit, len(want))]
						}
						got, err := s.FindPatrols(ctx, f)
						must(t, err, "FindPatrols")
						checkIDs(t, patrolIDs(got), patrolIDs(want), "patrols")
					})
				}
			}
		}
		got, err := s.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, Limit: 100000})
		must(t, err, "FindPatrols with a limit over the maximum")
		if len(got) != len(all) {
			t.Errorf("limit over the maximum: %d patrols, want %d", len(got), len(all))
		}
		_, err = s.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, Limit: -1})
		wantCode(t, err, bluehelm.EINVALID, "FindPatrols with a negative limit")
	})
}

func patrolIDs(ps []*bluehelm.Patrol) []int64 {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

func taskIDs(ts []*bluehelm.Task) []int64 {
	ids := make([]int64, len(ts))
	for i, x := range ts {
		ids[i] = x.ID
	}
	return ids
}

func testTasks(t *testing.T, o Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		x := newTask("Respond to shooting at Bor market", "BANBATT-2/B", 42, t0, unclassified)
		before := auditCount(t, s)
		must(t, s.CreateTask(ctx, x, entry("task.dispatch")), "CreateTask")
		if x.ID == 0 || x.Version != 1 {
			t.Fatalf("after create: id %d version %d", x.ID, x.Version)
		}
		checkAudited(t, s, before, "task.dispatch", "task", x.ID)
		got, err := s.Task(ctx, x.ID)
		must(t, err, "Task")
		sameJSON(t, got, x, "stored task")
		if !got.EnRouteAt.IsZero() || !got.OnSceneAt.IsZero() || !got.ClosedAt.IsZero() {
			t.Errorf("new task came back with step times: %+v", got)
		}

		// Skipping en route leaves its time empty.
		for i, a := range []bluehelm.TaskAction{bluehelm.TaskArrive, bluehelm.TaskClose} {
			stale := *x
			must(t, x.Transition(a, ops, t0.Add(time.Duration(i+1)*20*time.Minute), "all quiet"), "Transition "+string(a))
			before := auditCount(t, s)
			must(t, s.UpdateTask(ctx, x, entry("task."+string(a))), "UpdateTask")
			checkAudited(t, s, before, "task."+string(a), "task", x.ID)
			if x.Version != i+2 {
				t.Errorf("version after %s %d, want %d", a, x.Version, i+2)
			}
			got, err := s.Task(ctx, x.ID)
			must(t, err, "Task")
			sameJSON(t, got, x, "task after "+string(a))
			before = auditCount(t, s)
			wantCode(t, s.UpdateTask(ctx, &stale, entry("task.update")), bluehelm.ECONFLICT, "UpdateTask from a stale version")
			checkNoAudit(t, s, before, "stale UpdateTask")
		}
		got, err = s.Task(ctx, x.ID)
		must(t, err, "Task")
		if !got.EnRouteAt.IsZero() || got.OnSceneAt.IsZero() || got.ClosedAt.IsZero() || got.Status != bluehelm.TaskClosed || got.CloseNote != "all quiet" {
			t.Errorf("closed task: %+v", got)
		}

		// A task raised from an alert alone has no incident.
		y := newTask("Check vehicle in no-go area", "FPU-3", 0, t0, unclassified)
		must(t, s.CreateTask(ctx, y, entry("task.dispatch")), "CreateTask")
		got, err = s.Task(ctx, y.ID)
		must(t, err, "Task")
		sameJSON(t, got, y, "stored task without incident")

		_, err = s.Task(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "Task of unknown id")
		ghost := newTask("ghost", "X", 0, t0, unclassified)
		ghost.ID, ghost.Version = 424242, 1
		wantCode(t, s.UpdateTask(ctx, ghost, entry("task.update")), bluehelm.ENOTFOUND, "UpdateTask of unknown id")
	})

	t.Run("Filter", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		unitCodes := []string{"A", "B", "C"}
		var all []*bluehelm.Task
		for i, m := range markingsSample() {
			// 31 distinct times for the tasks: ties, which the id must break.
			x := newTask(fmt.Sprintf("Task %d", i), unitCodes[i%3], int64(i%4), t0.Add(time.Duration((i*17)%31)*time.Minute), m)
			must(t, s.CreateTask(ctx, x, entry("task.dispatch")), "CreateTask")
			if st := bluehelm.TaskStatuses[i%len(bluehelm.TaskStatuses)]; st != bluehelm.TaskAssigned {
				x.Status = st
				must(t, s.UpdateTask(ctx, x, entry("task.update")), "UpdateTask")
			}
			all = append(all, x)
		}
		since := t0.Add(12 * time.Minute)
		filters := []struct {
			name string
			f    bluehelm.TaskFilter
		}{
			{"all", bluehelm.TaskFilter{}},
			{"open", bluehelm.TaskFilter{Statuses: []bluehelm.TaskStatus{bluehelm.TaskAssigned, bluehelm.TaskEnRoute, bluehelm.TaskOnScene}}},
			{"unit B", bluehelm.TaskFilter{Unit: "B"}},
			{"incident 2", bluehelm.TaskFilter{IncidentID: 2}},
			{"since", bluehelm.TaskFilter{Since: since}},
			{"unit A since, closed", bluehelm.TaskFilter{Unit: "A", Since: since, Statuses: []bluehelm.TaskStatus{bluehelm.TaskClosed}}},
		}
		for _, p := range viewers() {
			for _, tc := range filters {
				for _, limit := range []int{4, 0} {
					t.Run(fmt.Sprintf("%s/%s/limit=%d", viewerName(p), tc.name, limit), func(t *testing.T) {
						f := tc.f
						f.Viewer, f.Limit = p, limit
						var want []*bluehelm.Task
						for _, x := range all {
							if p.CanSee(x.Marking) && (len(f.Statuses) == 0 || slices.Contains(f.Statuses, x.Status)) &&
								(f.Unit == "" || x.Unit == f.Unit) && (f.IncidentID == 0 || x.IncidentID == f.IncidentID) &&
								!x.AssignedAt.Before(f.Since) {
								want = append(want, x)
							}
						}
						slices.SortFunc(want, func(a, b *bluehelm.Task) int {
							if c := b.AssignedAt.Compare(a.AssignedAt); c != 0 {
								return c
							}
							return cmpInt(b.ID, a.ID)
						})
						if limit > 0 {
							want = want[:min(limit, len(want))]
						}
						got, err := s.FindTasks(ctx, f)
						must(t, err, "FindTasks")
						checkIDs(t, taskIDs(got), taskIDs(want), "tasks")
					})
				}
			}
		}
		// Since is inclusive, to the nanosecond.
		at := all[0].AssignedAt
		for _, tc := range []struct {
			since time.Time
			want  bool
		}{{at, true}, {at.Add(-time.Nanosecond), true}, {at.Add(time.Nanosecond), false}} {
			got, err := s.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys, Since: tc.since, IncidentID: all[0].IncidentID, Unit: all[0].Unit})
			must(t, err, "FindTasks")
			if found := slices.Contains(taskIDs(got), all[0].ID); found != tc.want {
				t.Errorf("since %v: found %v, want %v", tc.since, found, tc.want)
			}
		}
		_, err := s.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys, Limit: -1})
		wantCode(t, err, bluehelm.EINVALID, "FindTasks with a negative limit")
	})
}

func newProximityRule(name string) *bluehelm.ProximityRule {
	return &bluehelm.ProximityRule{
		Name: name, Description: "Hostile vehicles near a patrol",
		A:              bluehelm.TrackSelector{CoTTypes: []string{"a-h-G"}, Kinds: []bluehelm.TrackKind{bluehelm.KindVehicle}},
		B:              bluehelm.TrackSelector{Units: []string{"BANBATT-2/B", "FPU-3"}},
		DistanceMeters: 2000, Severity: bluehelm.SevWarning,
		Marking:   bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police}},
		CreatedBy: "ops1", CreatedAt: t0, UpdatedAt: t0,
	}
}

func testProximityRules(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	a, b := newProximityRule("Hostiles near B company"), newProximityRule("Convoys apart")
	b.A, b.Disabled, b.Description = bluehelm.TrackSelector{Units: []string{"CONVOY-1"}}, true, ""
	for _, r := range []*bluehelm.ProximityRule{a, b} {
		before := auditCount(t, s)
		must(t, s.CreateProximityRule(ctx, r, entry("proximity.create")), "CreateProximityRule")
		if r.ID == 0 || r.Version != 1 {
			t.Fatalf("after create: id %d version %d", r.ID, r.Version)
		}
		checkAudited(t, s, before, "proximity.create", "proximity_rule", r.ID)
		got, err := s.ProximityRule(ctx, r.ID)
		must(t, err, "ProximityRule")
		sameJSON(t, got, r, "stored proximity rule")
	}

	stale := *b
	b.DistanceMeters, b.Disabled = 500, false
	before := auditCount(t, s)
	must(t, s.UpdateProximityRule(ctx, b, entry("proximity.update")), "UpdateProximityRule")
	checkAudited(t, s, before, "proximity.update", "proximity_rule", b.ID)
	if b.Version != 2 {
		t.Errorf("version after update %d, want 2", b.Version)
	}
	before = auditCount(t, s)
	wantCode(t, s.UpdateProximityRule(ctx, &stale, entry("proximity.update")), bluehelm.ECONFLICT, "UpdateProximityRule from a stale version")
	wantCode(t, s.DeleteProximityRule(ctx, b.ID, 1, entry("proximity.delete")), bluehelm.ECONFLICT, "DeleteProximityRule of a stale version")
	checkNoAudit(t, s, before, "stale writes")
	got, err := s.ProximityRule(ctx, b.ID)
	must(t, err, "ProximityRule")
	sameJSON(t, got, b, "proximity rule after update")

	// Delete the newest rule: its id, the largest, is not given again.
	before = auditCount(t, s)
	must(t, s.DeleteProximityRule(ctx, b.ID, 2, entry("proximity.delete")), "DeleteProximityRule")
	checkAudited(t, s, before, "proximity.delete", "proximity_rule", b.ID)
	_, err = s.ProximityRule(ctx, b.ID)
	wantCode(t, err, bluehelm.ENOTFOUND, "ProximityRule after delete")
	wantCode(t, s.DeleteProximityRule(ctx, b.ID, 2, entry("proximity.delete")), bluehelm.ENOTFOUND, "DeleteProximityRule twice")
	wantCode(t, s.UpdateProximityRule(ctx, b, entry("proximity.update")), bluehelm.ENOTFOUND, "UpdateProximityRule of a deleted rule")
	c := newProximityRule("UAV over the camp")
	must(t, s.CreateProximityRule(ctx, c, entry("proximity.create")), "CreateProximityRule")
	if c.ID == b.ID || c.ID == a.ID {
		t.Errorf("new rule reuses id %d (deleted %d, kept %d)", c.ID, b.ID, a.ID)
	}
	got, err = s.ProximityRule(ctx, c.ID)
	must(t, err, "ProximityRule")
	sameJSON(t, got, c, "rule created after a delete")

	all, err := s.ProximityRules(ctx)
	must(t, err, "ProximityRules")
	sameJSON(t, all, []*bluehelm.ProximityRule{a, c}, "ProximityRules (by id)")
	_, err = s.ProximityRule(ctx, 424242)
	wantCode(t, err, bluehelm.ENOTFOUND, "ProximityRule of unknown id")
}
