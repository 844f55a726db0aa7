package bluehelm

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// TaskStatus is where a response task is.
type TaskStatus string

const (
	TaskAssigned  TaskStatus = "assigned"
	TaskEnRoute   TaskStatus = "en_route"
	TaskOnScene   TaskStatus = "on_scene"
	TaskClosed    TaskStatus = "closed"
	TaskCancelled TaskStatus = "cancelled"
)

// TaskStatuses lists the statuses in order.
var TaskStatuses = []TaskStatus{TaskAssigned, TaskEnRoute, TaskOnScene, TaskClosed, TaskCancelled}

func (s TaskStatus) Valid() bool { return slices.Contains(TaskStatuses, s) }

// Open reports whether the task still has a unit committed to it.
func (s TaskStatus) Open() bool { return s == TaskAssigned || s == TaskEnRoute || s == TaskOnScene }

// Task sends a unit to an incident or an alert: incident response dispatch. Its
// times come from the actions of people and from the unit's positions (leaving
// its start, arriving near the scene), whichever is first.
type Task struct {
	ID         int64  `json:"id"`
	Version    int    `json:"version"`
	IncidentID int64  `json:"incident_id,omitempty"`
	AlertID    int64  `json:"alert_id,omitempty"`
	Title      string `json:"title"`
	// Location is where the unit is sent.
	Location Point  `json:"location"`
	Unit     string `json:"unit"` // unit code
	// TrackUID is the unit's track whose positions show progress (the nearest at
	// dispatch); empty when the unit has no reporting track.
	TrackUID string     `json:"track_uid,omitempty"`
	Status   TaskStatus `json:"status"`
	// ETASeconds and DistanceMeters are the estimate at dispatch, absent when the
	// unit had no recent position; ETAEstimated says the ETA is straight-line
	// distance over a speed, not a road route.
	ETASeconds     int    `json:"eta_seconds,omitempty"`
	DistanceMeters int    `json:"distance_meters,omitempty"`
	ETAEstimated   bool   `json:"eta_estimated"`
	Note           string `json:"note,omitempty"`
	AssignedBy     string `json:"assigned_by"`
	// ReportedAt is when the incident or alert that caused the task was reported,
	// so that a response time can be counted from the report as well as from the
	// dispatch.
	ReportedAt time.Time `json:"reported_at,omitzero"`
	AssignedAt time.Time `json:"assigned_at"`
	EnRouteAt  time.Time `json:"en_route_at,omitzero"`
	OnSceneAt  time.Time `json:"on_scene_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	CloseNote  string    `json:"close_note,omitempty"`
	Marking
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a new task.
func (t *Task) Validate() error {
	if strings.TrimSpace(t.Title) == "" {
		return Invalid("title", "is required")
	}
	if utf8.RuneCountInString(t.Title) > 200 {
		return Invalid("title", "longer than 200 characters")
	}
	if err := t.Location.Validate(); err != nil {
		return PrefixField("location", err)
	}
	if strings.TrimSpace(t.Unit) == "" {
		return Invalid("unit", "is required")
	}
	if utf8.RuneCountInString(t.Note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	return t.Marking.Validate()
}

// TaskAction is a step of a response task.
type TaskAction string

const (
	TaskDepart TaskAction = "en_route"
	TaskArrive TaskAction = "on_scene"
	TaskClose  TaskAction = "close"
	TaskCancel TaskAction = "cancel"
)

// ResponseTime is the time from dispatch to arrival on scene, if it arrived.
func (t *Task) ResponseTime() (time.Duration, bool) {
	if t.OnSceneAt.IsZero() {
		return 0, false
	}
	return t.OnSceneAt.Sub(t.AssignedAt), true
}

// Transition applies a step at time at. Steps may be skipped forward (a unit may
// report on scene without having reported leaving) but never go back; the times
// of skipped steps stay empty rather than being invented. p is a system
// principal when the step comes from the unit's positions.
func (t *Task) Transition(a TaskAction, p Principal, at time.Time, note string) error {
	// The unit on the ground reports leaving and arriving (field users post
	// positions); closing and cancelling are the dispatcher's.
	fieldStep := (a == TaskDepart || a == TaskArrive) && p.Can(ActPostPosition)
	if !p.Can(ActDispatch) && !fieldStep {
		return Errorf(EFORBIDDEN, "role %q may not %s a task", p.Role, a)
	}
	if !t.Status.Open() {
		return Errorf(ECONFLICT, "the task is %s", t.Status)
	}
	if utf8.RuneCountInString(note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	switch a {
	case TaskDepart:
		if t.Status != TaskAssigned {
			return Errorf(ECONFLICT, "cannot set en route a task that is %s", t.Status)
		}
		t.Status, t.EnRouteAt = TaskEnRoute, at
	case TaskArrive:
		if t.Status == TaskOnScene {
			return Errorf(ECONFLICT, "the unit is already on scene")
		}
		t.Status, t.OnSceneAt = TaskOnScene, at
	case TaskClose:
		t.Status, t.ClosedAt, t.CloseNote = TaskClosed, at, note
	case TaskCancel:
		if strings.TrimSpace(note) == "" {
			return Invalid("note", "a cancellation needs a reason")
		}
		t.Status, t.ClosedAt, t.CloseNote = TaskCancelled, at, note
	default:
		return Invalid("action", "unknown task action %q (want en_route, on_scene, close or cancel)", a)
	}
	return nil
}

// TaskFilter selects tasks; Viewer applies the access rule.
type TaskFilter struct {
	Viewer     Principal
	Statuses   []TaskStatus
	Unit       string
	IncidentID int64
	Since      time.Time // assigned at or after
	Limit      int       // 0 means 500, at most 5000
}
