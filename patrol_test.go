package bluehelm_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

var (
	patrolPlanner = bluehelm.Principal{Username: "lt.rahman", Role: bluehelm.RoleReporter, Component: bluehelm.Military}
	otherReporter = bluehelm.Principal{Username: "sgt.okoro", Role: bluehelm.RoleReporter, Component: bluehelm.Military}
	opsOfficer    = bluehelm.Principal{Username: "maj.diallo", Role: bluehelm.RoleOperations, Component: bluehelm.Military}
	commander     = bluehelm.Principal{Username: "col.haque", Role: bluehelm.RoleCommander, Component: bluehelm.Military}
	viewer        = bluehelm.Principal{Username: "guest", Role: bluehelm.RoleViewer, Component: bluehelm.Military}
	analyst       = bluehelm.Principal{Username: "jmac1", Role: bluehelm.RoleAnalyst, Component: bluehelm.Civilian}
	system        = bluehelm.SystemPrincipal("demo")
)

func route(n int) bluehelm.Geometry {
	ls := make(orb.LineString, n)
	for i := range ls {
		ls[i] = orb.Point{31.5 + float64(i)*0.0001, 4.8 + float64(i)*0.0001}
	}
	return bluehelm.Geometry{Geometry: ls}
}

func validPatrol() *bluehelm.Patrol {
	return &bluehelm.Patrol{
		Name: "BANBATT-2 LRP 14", Type: bluehelm.PatrolLongRange, Units: []string{"BANBATT-2/B", "FPU-3"},
		TrackUIDs: []string{"veh-1"}, Strength: 24, Women: 6, Route: route(3),
		PlannedStart: now, PlannedEnd: now.Add(36 * time.Hour), CheckInMinutes: 30, Purpose: "Area domination",
		Status: bluehelm.PatrolDraft, PlannedBy: patrolPlanner.Username,
		Marking: bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military},
	}
}

func TestPatrolValidate(t *testing.T) {
	codes := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("U-%d", i)
		}
		return out
	}
	tests := []struct {
		name   string
		change func(*bluehelm.Patrol)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.Patrol) {}, ""},
		{"blank name", func(p *bluehelm.Patrol) { p.Name = " " }, "name"},
		{"name of 201 characters", func(p *bluehelm.Patrol) { p.Name = strings.Repeat("x", 201) }, "name"},
		{"no type", func(p *bluehelm.Patrol) { p.Type = "" }, "type"},
		{"unknown type", func(p *bluehelm.Patrol) { p.Type = "submarine" }, "type"},
		{"joint with civilians", func(p *bluehelm.Patrol) { p.Type = bluehelm.PatrolJointCivilian }, ""},
		{"no units", func(p *bluehelm.Patrol) { p.Units = nil }, "units"},
		{"20 units", func(p *bluehelm.Patrol) { p.Units = codes(20) }, ""},
		{"21 units", func(p *bluehelm.Patrol) { p.Units = codes(21) }, "units"},
		{"unit listed twice", func(p *bluehelm.Patrol) { p.Units = []string{"A", "B", "A"} }, "units[2]"},
		{"track listed twice", func(p *bluehelm.Patrol) { p.TrackUIDs = []string{"veh-1", "veh-1"} }, "track_uids[1]"},
		{"bad track uid", func(p *bluehelm.Patrol) { p.TrackUIDs = []string{""} }, "track_uids[0]"},
		{"no strength", func(p *bluehelm.Patrol) { p.Strength, p.Women = 0, 0 }, "strength"},
		{"strength of 2001", func(p *bluehelm.Patrol) { p.Strength = 2001 }, "strength"},
		{"women > strength", func(p *bluehelm.Patrol) { p.Women = 25 }, "women"},
		{"women = strength", func(p *bluehelm.Patrol) { p.Women = 24 }, ""},
		{"negative women", func(p *bluehelm.Patrol) { p.Women = -1 }, "women"},
		{"no route", func(p *bluehelm.Patrol) { p.Route = bluehelm.Geometry{} }, "route"},
		{"route of no point", func(p *bluehelm.Patrol) { p.Route = route(0) }, "route.coordinates"},
		{"route of one point", func(p *bluehelm.Patrol) { p.Route = route(1) }, "route.coordinates"},
		{"route of two points", func(p *bluehelm.Patrol) { p.Route = route(2) }, ""},
		{"route as a polygon", func(p *bluehelm.Patrol) {
			p.Route = bluehelm.Geometry{Geometry: orb.Polygon{{{31, 4}, {32, 4}, {32, 5}, {31, 4}}}}
		}, "route.type"},
		{"route off the Earth", func(p *bluehelm.Patrol) {
			p.Route = bluehelm.Geometry{Geometry: orb.LineString{{31, 4}, {31, 95}}}
		}, "route.coordinates[1].lat"},
		{"route of 10000 points", func(p *bluehelm.Patrol) { p.Route = route(10000) }, ""},
		{"route of 10001 points", func(p *bluehelm.Patrol) { p.Route = route(10001) }, "route.coordinates"},
		{"no start", func(p *bluehelm.Patrol) { p.PlannedStart = time.Time{} }, "planned_start"},
		{"no end", func(p *bluehelm.Patrol) { p.PlannedEnd = time.Time{} }, "planned_end"},
		{"window ends before it starts", func(p *bluehelm.Patrol) { p.PlannedEnd = p.PlannedStart.Add(-time.Hour) }, "planned_end"},
		{"window of no time", func(p *bluehelm.Patrol) { p.PlannedEnd = p.PlannedStart }, "planned_end"},
		{"window of 14 days", func(p *bluehelm.Patrol) { p.PlannedEnd = p.PlannedStart.Add(bluehelm.MaxPatrolWindow) }, ""},
		{"window over 14 days", func(p *bluehelm.Patrol) { p.PlannedEnd = p.PlannedStart.Add(bluehelm.MaxPatrolWindow + time.Second) }, "planned_end"},
		{"check-in interval of zero", func(p *bluehelm.Patrol) { p.CheckInMinutes = 0 }, "check_in_minutes"},
		{"negative check-in interval", func(p *bluehelm.Patrol) { p.CheckInMinutes = -5 }, "check_in_minutes"},
		{"check-in interval of a day", func(p *bluehelm.Patrol) { p.CheckInMinutes = 1440 }, ""},
		{"check-in interval over a day", func(p *bluehelm.Patrol) { p.CheckInMinutes = 1441 }, "check_in_minutes"},
		{"default deviation", func(p *bluehelm.Patrol) { p.DeviationMeters = 0 }, ""},
		{"deviation of 49 m", func(p *bluehelm.Patrol) { p.DeviationMeters = 49 }, "deviation_meters"},
		{"deviation of 50 km", func(p *bluehelm.Patrol) { p.DeviationMeters = 50000 }, ""},
		{"deviation over 50 km", func(p *bluehelm.Patrol) { p.DeviationMeters = 50001 }, "deviation_meters"},
		{"purpose of 2001 characters", func(p *bluehelm.Patrol) { p.Purpose = strings.Repeat("x", 2001) }, "purpose"},
		{"unknown component", func(p *bluehelm.Patrol) { p.Component = "navy" }, "component"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPatrol()
			tt.change(p)
			checkField(t, p.Validate(), tt.field)
		})
	}
}

func TestPatrolDerived(t *testing.T) {
	p := validPatrol()
	if p.Deviation() != bluehelm.DefaultDeviationMeters {
		t.Errorf("Deviation with none set = %v, want the default %d", p.Deviation(), bluehelm.DefaultDeviationMeters)
	}
	p.DeviationMeters = 250
	if p.Deviation() != 250 {
		t.Errorf("Deviation = %v, want 250", p.Deviation())
	}
	if p.CheckIn() != 30*time.Minute {
		t.Errorf("CheckIn = %v, want 30m", p.CheckIn())
	}
	if len(p.RouteLine()) != 3 {
		t.Errorf("RouteLine has %d points, want 3", len(p.RouteLine()))
	}
	p.Route = bluehelm.Geometry{Geometry: orb.Polygon{}}
	if p.RouteLine() != nil {
		t.Errorf("RouteLine of a polygon = %v, want nil", p.RouteLine())
	}
	for _, s := range bluehelm.PatrolStatuses {
		p.Status = s
		if want := s == bluehelm.PatrolApproved || s == bluehelm.PatrolUnderway; p.Active() != want {
			t.Errorf("Active when %s = %v, want %v", s, p.Active(), want)
		}
	}
}

// patrolIn returns a valid patrol in status s, with the fields that status has.
func patrolIn(s bluehelm.PatrolStatus) *bluehelm.Patrol {
	p := validPatrol()
	p.Status = s
	switch s {
	case bluehelm.PatrolApproved, bluehelm.PatrolUnderway, bluehelm.PatrolCompleted, bluehelm.PatrolAborted:
		p.ApprovedBy, p.ApprovedAt, p.Risk = opsOfficer.Username, now.Add(-2*time.Hour), &bluehelm.RiskReport{Level: bluehelm.RiskLow}
	}
	if s == bluehelm.PatrolUnderway || s == bluehelm.PatrolCompleted {
		p.StartedAt = now.Add(-time.Hour)
	}
	if s == bluehelm.PatrolCompleted || s == bluehelm.PatrolAborted {
		p.EndedAt = now.Add(-time.Minute)
	}
	return p
}

func TestPatrolTransition(t *testing.T) {
	at := now.Add(time.Hour)
	risk := &bluehelm.RiskReport{ComputedAt: now, Level: bluehelm.RiskModerate, Score: 40}
	ownPlan := func(p *bluehelm.Patrol) { p.PlannedBy = opsOfficer.Username }
	tests := []struct {
		name   string
		from   bluehelm.PatrolStatus
		setup  func(*bluehelm.Patrol) // nil for none
		action bluehelm.PatrolAction
		by     bluehelm.Principal
		reason string
		risk   *bluehelm.RiskReport
		code   string // "" for success
		to     bluehelm.PatrolStatus
	}{
		// submit
		{"planner submits", bluehelm.PatrolDraft, nil, bluehelm.PatrolSubmit, patrolPlanner, "", nil, "", bluehelm.PatrolSubmitted},
		{"operations submits another's plan", bluehelm.PatrolDraft, nil, bluehelm.PatrolSubmit, opsOfficer, "", nil, "", bluehelm.PatrolSubmitted},
		{"another reporter cannot submit", bluehelm.PatrolDraft, nil, bluehelm.PatrolSubmit, otherReporter, "", nil, bluehelm.EFORBIDDEN, ""},
		{"viewer cannot submit", bluehelm.PatrolDraft, nil, bluehelm.PatrolSubmit, viewer, "", nil, bluehelm.EFORBIDDEN, ""},
		{"submit twice", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolSubmit, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		{"submit an approved plan", bluehelm.PatrolApproved, nil, bluehelm.PatrolSubmit, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		// approve
		{"operations approves", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolApprove, opsOfficer, "", risk, "", bluehelm.PatrolApproved},
		{"commander approves", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolApprove, commander, "", risk, "", bluehelm.PatrolApproved},
		{"system approves", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolApprove, system, "", risk, "", bluehelm.PatrolApproved},
		{"planner cannot approve (reporter)", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolApprove, patrolPlanner, "", risk, bluehelm.EFORBIDDEN, ""},
		{"approval by the planner themself", bluehelm.PatrolSubmitted, ownPlan, bluehelm.PatrolApprove, opsOfficer, "", risk, bluehelm.ECONFLICT, ""},
		{"analyst cannot approve", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolApprove, analyst, "", risk, bluehelm.EFORBIDDEN, ""},
		{"approve a draft", bluehelm.PatrolDraft, nil, bluehelm.PatrolApprove, opsOfficer, "", risk, bluehelm.ECONFLICT, ""},
		{"approve twice", bluehelm.PatrolApproved, nil, bluehelm.PatrolApprove, opsOfficer, "", risk, bluehelm.ECONFLICT, ""},
		{"approve without the risk report", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolApprove, opsOfficer, "", nil, bluehelm.EINTERNAL, ""},
		// reject
		{"operations rejects", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolReject, opsOfficer, "crosses the market on market day", nil, "", bluehelm.PatrolDraft},
		{"reject without a reason", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolReject, opsOfficer, "", nil, bluehelm.EINVALID, ""},
		{"reject with a blank reason", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolReject, opsOfficer, " \n", nil, bluehelm.EINVALID, ""},
		{"reject with a reason of 2001 characters", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolReject, opsOfficer, strings.Repeat("x", 2001), nil, bluehelm.EINVALID, ""},
		{"reporter cannot reject", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolReject, patrolPlanner, "no", nil, bluehelm.EFORBIDDEN, ""},
		{"reject a draft", bluehelm.PatrolDraft, nil, bluehelm.PatrolReject, opsOfficer, "no", nil, bluehelm.ECONFLICT, ""},
		{"reject an approved plan", bluehelm.PatrolApproved, nil, bluehelm.PatrolReject, opsOfficer, "no", nil, bluehelm.ECONFLICT, ""},
		// start
		{"planner starts", bluehelm.PatrolApproved, nil, bluehelm.PatrolStart, patrolPlanner, "", nil, "", bluehelm.PatrolUnderway},
		{"operations starts", bluehelm.PatrolApproved, nil, bluehelm.PatrolStart, opsOfficer, "", nil, "", bluehelm.PatrolUnderway},
		{"another reporter cannot start", bluehelm.PatrolApproved, nil, bluehelm.PatrolStart, otherReporter, "", nil, bluehelm.EFORBIDDEN, ""},
		{"viewer cannot start", bluehelm.PatrolApproved, nil, bluehelm.PatrolStart, viewer, "", nil, bluehelm.EFORBIDDEN, ""},
		{"start a submitted plan", bluehelm.PatrolSubmitted, nil, bluehelm.PatrolStart, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		{"start twice", bluehelm.PatrolUnderway, nil, bluehelm.PatrolStart, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		// complete
		{"planner completes", bluehelm.PatrolUnderway, nil, bluehelm.PatrolComplete, patrolPlanner, "", nil, "", bluehelm.PatrolCompleted},
		{"complete before starting", bluehelm.PatrolApproved, nil, bluehelm.PatrolComplete, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		{"complete twice", bluehelm.PatrolCompleted, nil, bluehelm.PatrolComplete, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		{"another reporter cannot complete", bluehelm.PatrolUnderway, nil, bluehelm.PatrolComplete, otherReporter, "", nil, bluehelm.EFORBIDDEN, ""},
		// abort
		{"abort underway", bluehelm.PatrolUnderway, nil, bluehelm.PatrolAbort, patrolPlanner, "vehicle broke down", nil, "", bluehelm.PatrolAborted},
		{"abort before starting", bluehelm.PatrolApproved, nil, bluehelm.PatrolAbort, opsOfficer, "road flooded", nil, "", bluehelm.PatrolAborted},
		{"abort without a reason", bluehelm.PatrolUnderway, nil, bluehelm.PatrolAbort, patrolPlanner, "", nil, bluehelm.EINVALID, ""},
		{"abort a draft", bluehelm.PatrolDraft, nil, bluehelm.PatrolAbort, patrolPlanner, "why", nil, bluehelm.ECONFLICT, ""},
		{"abort a completed patrol", bluehelm.PatrolCompleted, nil, bluehelm.PatrolAbort, patrolPlanner, "why", nil, bluehelm.ECONFLICT, ""},
		{"abort twice", bluehelm.PatrolAborted, nil, bluehelm.PatrolAbort, patrolPlanner, "why", nil, bluehelm.ECONFLICT, ""},
		{"another reporter cannot abort", bluehelm.PatrolUnderway, nil, bluehelm.PatrolAbort, otherReporter, "why", nil, bluehelm.EFORBIDDEN, ""},
		// nothing after the end
		{"submit an aborted patrol", bluehelm.PatrolAborted, nil, bluehelm.PatrolSubmit, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		{"start a completed patrol", bluehelm.PatrolCompleted, nil, bluehelm.PatrolStart, patrolPlanner, "", nil, bluehelm.ECONFLICT, ""},
		{"unknown action", bluehelm.PatrolDraft, nil, "launch", system, "", nil, bluehelm.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := patrolIn(tt.from)
			if tt.setup != nil {
				tt.setup(p)
			}
			before := *p
			err := p.Transition(tt.action, tt.by, at, tt.reason, tt.risk)
			if got := bluehelm.ErrorCode(err); got != tt.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tt.code)
			}
			if err != nil {
				if !reflect.DeepEqual(*p, before) {
					t.Errorf("a refused %s changed the patrol:\n got  %+v\n want %+v", tt.action, *p, before)
				}
				if tt.code == bluehelm.EINVALID && tt.action != "launch" && bluehelm.ErrorField(err) != "reason" {
					t.Errorf("field %q, want reason", bluehelm.ErrorField(err))
				}
				return
			}
			if p.Status != tt.to {
				t.Errorf("status %s, want %s", p.Status, tt.to)
			}
			// What each step records, and what it leaves alone.
			want := before
			want.Status = tt.to
			switch tt.action {
			case bluehelm.PatrolSubmit:
				want.RejectReason = ""
			case bluehelm.PatrolApprove:
				want.ApprovedBy, want.ApprovedAt, want.Risk = tt.by.Username, at, tt.risk
			case bluehelm.PatrolReject:
				want.RejectReason = tt.reason
			case bluehelm.PatrolStart:
				want.StartedAt = at
			case bluehelm.PatrolComplete:
				want.EndedAt = at
			case bluehelm.PatrolAbort:
				want.EndedAt, want.AbortReason = at, tt.reason
			}
			if !reflect.DeepEqual(*p, want) {
				t.Errorf("after %s:\n got  %+v\n want %+v", tt.action, *p, want)
			}
		})
	}
}

// TestPatrolWorkflow walks one plan through a rejection to its completion.
func TestPatrolWorkflow(t *testing.T) {
	p := validPatrol()
	risk := &bluehelm.RiskReport{ComputedAt: now, Level: bluehelm.RiskHigh, Score: 70}
	step := func(a bluehelm.PatrolAction, by bluehelm.Principal, reason string, r *bluehelm.RiskReport, want bluehelm.PatrolStatus) {
		t.Helper()
		if err := p.Transition(a, by, now, reason, r); err != nil {
			t.Fatalf("%s by %s: %v", a, by.Username, err)
		}
		if p.Status != want {
			t.Fatalf("after %s: %s, want %s", a, p.Status, want)
		}
	}
	step(bluehelm.PatrolSubmit, patrolPlanner, "", nil, bluehelm.PatrolSubmitted)
	step(bluehelm.PatrolReject, opsOfficer, "avoid the ford after rain", nil, bluehelm.PatrolDraft)
	if p.RejectReason != "avoid the ford after rain" || !p.ApprovedAt.IsZero() {
		t.Errorf("rejected plan: reason %q, approved at %v", p.RejectReason, p.ApprovedAt)
	}
	step(bluehelm.PatrolSubmit, patrolPlanner, "", nil, bluehelm.PatrolSubmitted)
	if p.RejectReason != "" {
		t.Errorf("resubmitted plan keeps the old rejection %q", p.RejectReason)
	}
	step(bluehelm.PatrolApprove, commander, "", risk, bluehelm.PatrolApproved)
	if p.Risk != risk || p.ApprovedBy != commander.Username {
		t.Errorf("approval recorded risk %v by %q", p.Risk, p.ApprovedBy)
	}
	step(bluehelm.PatrolStart, patrolPlanner, "", nil, bluehelm.PatrolUnderway)
	step(bluehelm.PatrolComplete, patrolPlanner, "", nil, bluehelm.PatrolCompleted)
	if p.StartedAt.IsZero() || p.EndedAt.IsZero() || p.AbortReason != "" {
		t.Errorf("completed patrol: started %v ended %v abort reason %q", p.StartedAt, p.EndedAt, p.AbortReason)
	}
}

func TestPatrolCanEdit(t *testing.T) {
	tests := []struct {
		name string
		from bluehelm.PatrolStatus
		by   bluehelm.Principal
		code string
	}{
		{"planner edits a draft", bluehelm.PatrolDraft, patrolPlanner, ""},
		{"planner edits a submitted plan", bluehelm.PatrolSubmitted, patrolPlanner, ""},
		{"operations edits another's draft", bluehelm.PatrolDraft, opsOfficer, ""},
		{"system edits", bluehelm.PatrolSubmitted, system, ""},
		{"another reporter", bluehelm.PatrolDraft, otherReporter, bluehelm.EFORBIDDEN},
		{"viewer", bluehelm.PatrolDraft, viewer, bluehelm.EFORBIDDEN},
		{"analyst", bluehelm.PatrolDraft, analyst, bluehelm.EFORBIDDEN},
		{"approved plan", bluehelm.PatrolApproved, patrolPlanner, bluehelm.ECONFLICT},
		{"underway", bluehelm.PatrolUnderway, opsOfficer, bluehelm.ECONFLICT},
		{"completed", bluehelm.PatrolCompleted, system, bluehelm.ECONFLICT},
		{"aborted", bluehelm.PatrolAborted, patrolPlanner, bluehelm.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bluehelm.ErrorCode(patrolIn(tt.from).CanEdit(tt.by)); got != tt.code {
				t.Errorf("CanEdit: code %q, want %q", got, tt.code)
			}
		})
	}
}

func TestPatrolApplyEdit(t *testing.T) {
	for _, from := range []bluehelm.PatrolStatus{bluehelm.PatrolDraft, bluehelm.PatrolSubmitted} {
		t.Run(string(from), func(t *testing.T) {
			p := patrolIn(from)
			p.ID, p.Version, p.CreatedAt, p.RejectReason = 42, 3, now.Add(-24*time.Hour), "too close to the border"
			// The edit tries to change identity, workflow and provenance too.
			next := validPatrol()
			next.ID, next.Version, next.Status, next.PlannedBy, next.CreatedAt = 7, 9, bluehelm.PatrolApproved, "mallory", now
			next.ApprovedBy, next.ApprovedAt, next.AbortReason = "mallory", now, "x"
			next.StartedAt, next.EndedAt, next.Risk = now, now, &bluehelm.RiskReport{}
			next.Name, next.Route, next.Strength, next.Women, next.UpdatedAt = "LRP 14 (north loop)", route(5), 30, 10, now

			p.ApplyEdit(next)
			want := *validPatrol()
			want.ID, want.Version, want.CreatedAt, want.RejectReason = 42, 3, now.Add(-24*time.Hour), "too close to the border"
			want.Name, want.Route, want.Strength, want.Women, want.UpdatedAt = "LRP 14 (north loop)", route(5), 30, 10, now
			if !reflect.DeepEqual(*p, want) {
				t.Errorf("after ApplyEdit:\n got  %+v\n want %+v", *p, want)
			}
			if p.Status != bluehelm.PatrolDraft {
				t.Errorf("an edited %s plan is %s, want draft", from, p.Status)
			}
		})
	}
}
