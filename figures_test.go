package bluehelm

import (
	"slices"
	"testing"
	"time"
)

func TestFigures(t *testing.T) {
	mon := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) // Monday of ISO week 48
	pt := func(units []string, st PatrolStatus, start time.Time, women, strength int) *Patrol {
		return &Patrol{Units: units, Status: st, PlannedStart: start, Women: women, Strength: strength}
	}
	patrols := []*Patrol{
		pt([]string{"A"}, PatrolCompleted, mon, 2, 20),
		pt([]string{"A", "B"}, PatrolAborted, mon.Add(24*time.Hour), 0, 30),
		pt([]string{"B"}, PatrolUnderway, mon.Add(7*24*time.Hour), 4, 10), // week 49
		pt([]string{"A"}, PatrolDraft, mon, 1, 10),                        // not planned yet
		pt([]string{"A"}, PatrolSubmitted, mon, 1, 10),                    // not approved yet
		pt([]string{"C"}, PatrolCompleted, mon.Add(-time.Hour), 1, 10),    // before the window
	}
	tasks := []*Task{
		{AssignedAt: mon, ReportedAt: mon.Add(-10 * time.Minute), OnSceneAt: mon.Add(20 * time.Minute)},
		{AssignedAt: mon, ReportedAt: mon.Add(-20 * time.Minute), OnSceneAt: mon.Add(40 * time.Minute)},
		{AssignedAt: mon, OnSceneAt: mon.Add(30 * time.Minute)}, // no report time: counts from dispatch only
		{AssignedAt: mon}, // never arrived
	}
	f := Figures(patrols, tasks, mon, mon.Add(14*24*time.Hour))
	if f.Planned != 3 || f.Completed != 1 || f.Aborted != 1 || f.WithWomen != 2 {
		t.Errorf("planned %d completed %d aborted %d with women %d, want 3 1 1 2", f.Planned, f.Completed, f.Aborted, f.WithWomen)
	}
	if want := 6.0 / 60; f.WomenShare != want {
		t.Errorf("women share %v, want %v", f.WomenShare, want)
	}
	want := []UnitWeek{
		{Unit: "A", Week: "2026-W48", Planned: 2, Completed: 1, Aborted: 1, WithWomen: 1},
		{Unit: "B", Week: "2026-W48", Planned: 1, Aborted: 1},
		{Unit: "B", Week: "2026-W49", Planned: 1, WithWomen: 1},
	}
	if len(f.ByUnitWeek) != len(want) {
		t.Fatalf("rows %+v", f.ByUnitWeek)
	}
	for i := range want {
		if f.ByUnitWeek[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, f.ByUnitWeek[i], want[i])
		}
	}
	// Dispatch → on scene: 20, 40, 30 min → median 30; report → on scene: 30, 60 → 45.
	if f.TasksArrived != 3 || f.MedianResponseSeconds != 1800 || f.MedianFromReportSec != 2700 {
		t.Errorf("tasks %d median %d from report %d, want 3 1800 2700", f.TasksArrived, f.MedianResponseSeconds, f.MedianFromReportSec)
	}
	if empty := Figures(nil, nil, mon, mon.Add(time.Hour)); empty.Planned != 0 || empty.MedianResponseSeconds != 0 || empty.ByUnitWeek == nil {
		t.Errorf("empty figures %+v", empty)
	}
}

func TestISOWeek(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), "2026-W48"},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2026-W53"}, // a Friday: still the old year's week
		{time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), "2026-W02"},
	} {
		if got := ISOWeek(c.t); got != c.want {
			t.Errorf("ISOWeek(%s) = %s, want %s", c.t, got, c.want)
		}
	}
}

// TestActionsListsEveryPermission keeps /api/v1/me honest: an action a role is
// granted but Actions leaves out would never be shown to the page, which would
// then hide a button the user may use.
func TestActionsListsEveryPermission(t *testing.T) {
	for role, acts := range permissions {
		for _, a := range acts {
			if !slices.Contains(Actions, a) {
				t.Errorf("role %s has %s, which Actions does not list", role, a)
			}
		}
	}
	seen := map[Action]bool{}
	for _, a := range Actions {
		if seen[a] {
			t.Errorf("%s listed twice", a)
		}
		seen[a] = true
	}
}
