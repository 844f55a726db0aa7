package bluehelm_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func validTask() *bluehelm.Task {
	return &bluehelm.Task{
		IncidentID: 42, Title: "Respond to shooting at Bor market", Location: bluehelm.Point{Lon: 31.56, Lat: 6.2},
		Unit: "BANBATT-2/B", TrackUID: "veh-1", Status: bluehelm.TaskAssigned,
		ETASeconds: 1260, DistanceMeters: 14000, ETAEstimated: true,
		AssignedBy: opsOfficer.Username, AssignedAt: now,
		Marking: bluehelm.Marking{Component: bluehelm.Military},
	}
}

func TestTaskValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.Task)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.Task) {}, ""},
		{"from an alert alone", func(x *bluehelm.Task) { x.IncidentID, x.AlertID = 0, 9 }, ""},
		{"blank title", func(x *bluehelm.Task) { x.Title = "\t" }, "title"},
		{"title of 201 characters", func(x *bluehelm.Task) { x.Title = strings.Repeat("ß", 201) }, "title"},
		{"latitude out of range", func(x *bluehelm.Task) { x.Location.Lat = 90.5 }, "location.lat"},
		{"no unit", func(x *bluehelm.Task) { x.Unit = " " }, "unit"},
		{"note of 2000 characters", func(x *bluehelm.Task) { x.Note = strings.Repeat("x", 2000) }, ""},
		{"note of 2001 characters", func(x *bluehelm.Task) { x.Note = strings.Repeat("x", 2001) }, "note"},
		{"unknown classification", func(x *bluehelm.Task) { x.Classification = 7 }, "classification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := validTask()
			tt.change(x)
			checkField(t, x.Validate(), tt.field)
		})
	}
}

// taskIn returns a task in status s with the times its steps recorded.
func taskIn(s bluehelm.TaskStatus) *bluehelm.Task {
	x := validTask()
	x.Status = s
	switch s {
	case bluehelm.TaskEnRoute:
		x.EnRouteAt = now.Add(5 * time.Minute)
	case bluehelm.TaskOnScene:
		x.EnRouteAt, x.OnSceneAt = now.Add(5*time.Minute), now.Add(20*time.Minute)
	case bluehelm.TaskClosed, bluehelm.TaskCancelled:
		x.ClosedAt, x.CloseNote = now.Add(time.Hour), "done"
	}
	return x
}

func TestTaskTransition(t *testing.T) {
	at := now.Add(30 * time.Minute)
	// A field user reports with positions (reporter); the dispatcher is the
	// operations officer.
	field := otherReporter
	tests := []struct {
		name   string
		from   bluehelm.TaskStatus
		action bluehelm.TaskAction
		by     bluehelm.Principal
		note   string
		code   string // "" for success
		to     bluehelm.TaskStatus
	}{
		{"field user sets en route", bluehelm.TaskAssigned, bluehelm.TaskDepart, field, "", "", bluehelm.TaskEnRoute},
		{"field user sets on scene", bluehelm.TaskEnRoute, bluehelm.TaskArrive, field, "", "", bluehelm.TaskOnScene},
		{"field user cannot close", bluehelm.TaskOnScene, bluehelm.TaskClose, field, "", bluehelm.EFORBIDDEN, ""},
		{"field user cannot cancel", bluehelm.TaskAssigned, bluehelm.TaskCancel, field, "not needed", bluehelm.EFORBIDDEN, ""},
		{"viewer cannot set en route", bluehelm.TaskAssigned, bluehelm.TaskDepart, viewer, "", bluehelm.EFORBIDDEN, ""},
		{"analyst cannot set on scene", bluehelm.TaskAssigned, bluehelm.TaskArrive, analyst, "", bluehelm.EFORBIDDEN, ""},
		{"positions (system) set on scene", bluehelm.TaskEnRoute, bluehelm.TaskArrive, system, "", "", bluehelm.TaskOnScene},
		{"dispatcher sets en route", bluehelm.TaskAssigned, bluehelm.TaskDepart, opsOfficer, "", "", bluehelm.TaskEnRoute},
		{"on scene without en route", bluehelm.TaskAssigned, bluehelm.TaskArrive, field, "", "", bluehelm.TaskOnScene},
		{"dispatcher closes", bluehelm.TaskOnScene, bluehelm.TaskClose, opsOfficer, "area calm", "", bluehelm.TaskClosed},
		{"close without a note", bluehelm.TaskOnScene, bluehelm.TaskClose, opsOfficer, "", "", bluehelm.TaskClosed},
		{"close before arriving", bluehelm.TaskEnRoute, bluehelm.TaskClose, commander, "handed to UNPOL", "", bluehelm.TaskClosed},
		{"dispatcher cancels", bluehelm.TaskAssigned, bluehelm.TaskCancel, opsOfficer, "duplicate report", "", bluehelm.TaskCancelled},
		{"cancel on scene", bluehelm.TaskOnScene, bluehelm.TaskCancel, opsOfficer, "wrong unit", "", bluehelm.TaskCancelled},
		{"cancel without a reason", bluehelm.TaskAssigned, bluehelm.TaskCancel, opsOfficer, "", bluehelm.EINVALID, ""},
		{"cancel with a blank reason", bluehelm.TaskAssigned, bluehelm.TaskCancel, opsOfficer, "  ", bluehelm.EINVALID, ""},
		{"note of 2001 characters", bluehelm.TaskOnScene, bluehelm.TaskClose, opsOfficer, strings.Repeat("x", 2001), bluehelm.EINVALID, ""},
		{"no going back to en route", bluehelm.TaskOnScene, bluehelm.TaskDepart, field, "", bluehelm.ECONFLICT, ""},
		{"en route twice", bluehelm.TaskEnRoute, bluehelm.TaskDepart, field, "", bluehelm.ECONFLICT, ""},
		{"on scene twice", bluehelm.TaskOnScene, bluehelm.TaskArrive, field, "", bluehelm.ECONFLICT, ""},
		{"nothing after closing", bluehelm.TaskClosed, bluehelm.TaskArrive, opsOfficer, "", bluehelm.ECONFLICT, ""},
		{"no reopening a cancelled task", bluehelm.TaskCancelled, bluehelm.TaskDepart, opsOfficer, "", bluehelm.ECONFLICT, ""},
		{"close twice", bluehelm.TaskClosed, bluehelm.TaskClose, opsOfficer, "", bluehelm.ECONFLICT, ""},
		{"cancel a closed task", bluehelm.TaskClosed, bluehelm.TaskCancel, opsOfficer, "why", bluehelm.ECONFLICT, ""},
		{"unknown action", bluehelm.TaskAssigned, "teleport", opsOfficer, "", bluehelm.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := taskIn(tt.from)
			before := *x
			err := x.Transition(tt.action, tt.by, at, tt.note)
			if got := bluehelm.ErrorCode(err); got != tt.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tt.code)
			}
			if err != nil {
				if !reflect.DeepEqual(*x, before) {
					t.Errorf("a refused %s changed the task:\n got  %+v\n want %+v", tt.action, *x, before)
				}
				return
			}
			// Each step sets its own time only: skipped steps stay empty.
			want := before
			want.Status = tt.to
			switch tt.action {
			case bluehelm.TaskDepart:
				want.EnRouteAt = at
			case bluehelm.TaskArrive:
				want.OnSceneAt = at
			case bluehelm.TaskClose, bluehelm.TaskCancel:
				want.ClosedAt, want.CloseNote = at, tt.note
			}
			if !reflect.DeepEqual(*x, want) {
				t.Errorf("after %s:\n got  %+v\n want %+v", tt.action, *x, want)
			}
		})
	}
}

func TestTaskResponseTime(t *testing.T) {
	x := validTask()
	if _, ok := x.ResponseTime(); ok {
		t.Error("a task not on scene has a response time")
	}
	if err := x.Transition(bluehelm.TaskArrive, system, now.Add(17*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	if d, ok := x.ResponseTime(); !ok || d != 17*time.Minute {
		t.Errorf("ResponseTime = %v, %v; want 17m, true", d, ok)
	}
	if !x.EnRouteAt.IsZero() {
		t.Errorf("skipped en route got a time: %v", x.EnRouteAt)
	}
	for _, s := range bluehelm.TaskStatuses {
		if want := s != bluehelm.TaskClosed && s != bluehelm.TaskCancelled; s.Open() != want {
			t.Errorf("%s.Open() = %v, want %v", s, s.Open(), want)
		}
	}
}
