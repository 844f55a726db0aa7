package bluehelm

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// PatrolType says how a patrol moves and who is in it.
type PatrolType string

const (
	PatrolFoot          PatrolType = "foot"
	PatrolMobile        PatrolType = "mobile"
	PatrolLongRange     PatrolType = "long_range"
	PatrolRiver         PatrolType = "river"
	PatrolAir           PatrolType = "air"
	PatrolJointPolice   PatrolType = "joint_police"   // with UN or host-state police
	PatrolJointCivilian PatrolType = "joint_civilian" // with civil affairs, human rights, …
)

// PatrolTypes lists the valid patrol types.
var PatrolTypes = []PatrolType{PatrolFoot, PatrolMobile, PatrolLongRange, PatrolRiver, PatrolAir, PatrolJointPolice, PatrolJointCivilian}

func (t PatrolType) Valid() bool { return slices.Contains(PatrolTypes, t) }

// PatrolStatus is where a patrol is in its life.
type PatrolStatus string

const (
	PatrolDraft     PatrolStatus = "draft"
	PatrolSubmitted PatrolStatus = "submitted"
	PatrolApproved  PatrolStatus = "approved"
	PatrolUnderway  PatrolStatus = "underway"
	PatrolCompleted PatrolStatus = "completed"
	PatrolAborted   PatrolStatus = "aborted"
)

// PatrolStatuses lists the statuses in workflow order.
var PatrolStatuses = []PatrolStatus{PatrolDraft, PatrolSubmitted, PatrolApproved, PatrolUnderway, PatrolCompleted, PatrolAborted}

func (s PatrolStatus) Valid() bool { return slices.Contains(PatrolStatuses, s) }

// Patrol limits.
const (
	MaxPatrolWindow        = 14 * 24 * time.Hour // long-range patrols last days, not weeks
	DefaultDeviationMeters = 1000
)

// Patrol is a planned (and then executed) patrol.
type Patrol struct {
	ID      int64      `json:"id"`
	Version int        `json:"version"`
	Name    string     `json:"name"` // designation or call sign, e.g. "BANBATT-2 LRP 14"
	Type    PatrolType `json:"type"`
	// Units are the codes of the units assigned; TrackUIDs the devices and
	// vehicles whose positions show where the patrol is (the units' tracks when empty).
	Units     []string `json:"units"`
	TrackUIDs []string `json:"track_uids,omitempty"`
	Strength  int      `json:"strength"` // persons
	Women     int      `json:"women"`    // of Strength: mixed patrols are a mission priority
	// Route is the planned route, a LineString of at least two points, in order.
	Route        Geometry  `json:"route"`
	PlannedStart time.Time `json:"planned_start"`
	PlannedEnd   time.Time `json:"planned_end"`
	// CheckInMinutes is the longest a patrol may go without a position report
	// before it is reported silent.
	CheckInMinutes int `json:"check_in_minutes"`
	// DeviationMeters is how far from the route a patrol may be before it is
	// reported off route; 0 means DefaultDeviationMeters.
	DeviationMeters int    `json:"deviation_meters,omitempty"`
	Purpose         string `json:"purpose,omitempty"`

	Status       PatrolStatus `json:"status"`
	PlannedBy    string       `json:"planned_by"`
	ApprovedBy   string       `json:"approved_by,omitempty"`
	ApprovedAt   time.Time    `json:"approved_at,omitzero"`
	RejectReason string       `json:"reject_reason,omitempty"`
	AbortReason  string       `json:"abort_reason,omitempty"`
	StartedAt    time.Time    `json:"started_at,omitzero"`
	EndedAt      time.Time    `json:"ended_at,omitzero"`
	// Risk is the route risk assessment the approver saw, stored with the approval
	// (recomputed on every change before that).
	Risk *RiskReport `json:"risk,omitempty"`
	Marking
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RouteLine returns the patrol's route as a line (nil if it is not one).
func (p *Patrol) RouteLine() orb.LineString {
	ls, _ := p.Route.Geometry.(orb.LineString)
	return ls
}

// Deviation returns the distance off route, in metres, that is reported.
func (p *Patrol) Deviation() float64 {
	if p.DeviationMeters == 0 {
		return DefaultDeviationMeters
	}
	return float64(p.DeviationMeters)
}

// CheckIn returns the check-in interval.
func (p *Patrol) CheckIn() time.Duration { return time.Duration(p.CheckInMinutes) * time.Minute }

// Active reports whether the patrol is approved or underway: the states in which
// it is watched.
func (p *Patrol) Active() bool { return p.Status == PatrolApproved || p.Status == PatrolUnderway }

// Validate checks a patrol's plan. Whether its units exist and are enabled is the
// service's check (it needs the store).
func (p *Patrol) Validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(p.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if !p.Type.Valid() {
		return Invalid("type", "unknown patrol type %q (want foot, mobile, long_range, river, air, joint_police or joint_civilian)", p.Type)
	}
	if len(p.Units) == 0 {
		return Invalid("units", "assign at least one unit")
	}
	if len(p.Units) > 20 {
		return Invalid("units", "at most 20 units")
	}
	for i, u := range p.Units {
		if slices.Contains(p.Units[:i], u) {
			return Invalid("units["+strconv.Itoa(i)+"]", "unit %q is listed twice", u)
		}
	}
	if err := validUIDs("track_uids", p.TrackUIDs); err != nil {
		return err
	}
	if p.Strength < 1 || p.Strength > 2000 {
		return Invalid("strength", "must be between 1 and 2000 persons")
	}
	if p.Women < 0 || p.Women > p.Strength {
		return Invalid("women", "must be between 0 and the strength (%d)", p.Strength)
	}
	if err := ValidateRoute(p.Route); err != nil {
		return err
	}
	if p.PlannedStart.IsZero() {
		return Invalid("planned_start", "is required")
	}
	if p.PlannedEnd.IsZero() {
		return Invalid("planned_end", "is required")
	}
	if !p.PlannedEnd.After(p.PlannedStart) {
		return Invalid("planned_end", "must be after planned_start")
	}
	if p.PlannedEnd.Sub(p.PlannedStart) > MaxPatrolWindow {
		return Invalid("planned_end", "a patrol lasts at most 14 days")
	}
	if p.CheckInMinutes < 1 || p.CheckInMinutes > 24*60 {
		return Invalid("check_in_minutes", "must be between 1 and 1440 minutes")
	}
	if p.DeviationMeters != 0 && (p.DeviationMeters < 50 || p.DeviationMeters > 50000) {
		return Invalid("deviation_meters", "must be between 50 and 50000 metres")
	}
	if utf8.RuneCountInString(p.Purpose) > 2000 {
		return Invalid("purpose", "longer than 2000 characters")
	}
	return p.Marking.Validate()
}

// ValidateRoute checks a planned route: a LineString of 2 to 10,000 valid
// points. Errors name the field "route…".
func ValidateRoute(g Geometry) error {
	if g.Geometry == nil {
		return Invalid("route", "is required: a LineString of at least two points")
	}
	if g.GeoJSONType() != "LineString" {
		return Invalid("route.type", "must be a LineString, not %s", g.GeoJSONType())
	}
	if err := g.Validate(); err != nil {
		return PrefixField("route", unprefix(err, "geometry"))
	}
	if ls, _ := g.Geometry.(orb.LineString); len(ls) > 10000 {
		return Invalid("route.coordinates", "more than 10000 points")
	}
	return nil
}

// unprefix removes a leading "geometry" from an error's field, so that a route's
// coordinate errors read "route.coordinates[3]" rather than "route.geometry…".
func unprefix(err error, prefix string) error {
	if e, ok := err.(*Error); ok && strings.HasPrefix(e.Field, prefix) {
		c := *e
		c.Field = strings.TrimPrefix(strings.TrimPrefix(e.Field, prefix), ".")
		return &c
	}
	return err
}

// PatrolAction is a step of the patrol workflow.
type PatrolAction string

const (
	PatrolSubmit   PatrolAction = "submit"
	PatrolApprove  PatrolAction = "approve"
	PatrolReject   PatrolAction = "reject" // back to draft, with a reason
	PatrolStart    PatrolAction = "start"
	PatrolComplete PatrolAction = "complete"
	PatrolAbort    PatrolAction = "abort"
)

// CanEdit decides whether p may change the plan. Only drafts and submitted plans
// change; a submitted plan that changes goes back to draft (see ApplyEdit), since
// what was submitted is no longer what is asked for.
func (pt *Patrol) CanEdit(p Principal) error {
	if pt.Status != PatrolDraft && pt.Status != PatrolSubmitted {
		return Errorf(ECONFLICT, "a %s patrol cannot be changed", pt.Status)
	}
	if err := p.Require(ActPlanPatrol); err != nil {
		return err
	}
	if p.System || p.Username == pt.PlannedBy || p.Can(ActApprovePatrol) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only the planner or an operations officer may change this patrol")
}

// ApplyEdit copies the plan of next into pt, keeping identity, workflow and
// provenance fields, and returns a submitted plan to draft.
func (pt *Patrol) ApplyEdit(next *Patrol) {
	keep := *pt
	*pt = *next
	pt.ID, pt.Version, pt.Status, pt.PlannedBy, pt.CreatedAt = keep.ID, keep.Version, PatrolDraft, keep.PlannedBy, keep.CreatedAt
	pt.ApprovedBy, pt.ApprovedAt, pt.RejectReason, pt.AbortReason = "", time.Time{}, keep.RejectReason, ""
	pt.StartedAt, pt.EndedAt, pt.Risk = time.Time{}, time.Time{}, nil
}

// Transition applies a workflow action by p at time at. An approval needs an
// operations officer or commander who did not plan the patrol (two pairs of eyes
// on every route) and the risk report they approve, which is stored with it. It
// changes pt only when it returns nil.
func (pt *Patrol) Transition(a PatrolAction, p Principal, at time.Time, reason string, risk *RiskReport) error {
	illegal := func() error {
		return Errorf(ECONFLICT, "cannot %s a patrol that is %s", a, pt.Status)
	}
	needReason := func() error {
		if strings.TrimSpace(reason) == "" {
			return Invalid("reason", "a %s needs a reason", a)
		}
		if utf8.RuneCountInString(reason) > 2000 {
			return Invalid("reason", "longer than 2000 characters")
		}
		return nil
	}
	switch a {
	case PatrolSubmit:
		if pt.Status != PatrolDraft {
			return illegal()
		}
		if err := pt.CanEdit(p); err != nil {
			return err
		}
		pt.Status, pt.RejectReason = PatrolSubmitted, ""
	case PatrolApprove:
		if err := p.Require(ActApprovePatrol); err != nil {
			return err
		}
		if pt.Status != PatrolSubmitted {
			return illegal()
		}
		if !p.System && p.Username == pt.PlannedBy {
			return Errorf(ECONFLICT, "a patrol must be approved by someone other than its planner (%s)", pt.PlannedBy)
		}
		if risk == nil {
			return Errorf(EINTERNAL, "approving a patrol without its risk assessment")
		}
		pt.Status, pt.ApprovedBy, pt.ApprovedAt, pt.Risk = PatrolApproved, p.Username, at, risk
	case PatrolReject:
		if err := p.Require(ActApprovePatrol); err != nil {
			return err
		}
		if pt.Status != PatrolSubmitted {
			return illegal()
		}
		if err := needReason(); err != nil {
			return err
		}
		pt.Status, pt.RejectReason = PatrolDraft, reason
	case PatrolStart:
		if err := pt.requireLeader(p); err != nil {
			return err
		}
		if pt.Status != PatrolApproved {
			return illegal()
		}
		pt.Status, pt.StartedAt = PatrolUnderway, at
	case PatrolComplete:
		if err := pt.requireLeader(p); err != nil {
			return err
		}
		if pt.Status != PatrolUnderway {
			return illegal()
		}
		pt.Status, pt.EndedAt = PatrolCompleted, at
	case PatrolAbort:
		if err := pt.requireLeader(p); err != nil {
			return err
		}
		if pt.Status != PatrolApproved && pt.Status != PatrolUnderway {
			return illegal()
		}
		if err := needReason(); err != nil {
			return err
		}
		pt.Status, pt.AbortReason, pt.EndedAt = PatrolAborted, reason, at
	default:
		return Invalid("action", "unknown patrol action %q (want submit, approve, reject, start, complete or abort)", a)
	}
	return nil
}

// requireLeader allows the patrol's planner (the patrol leader's side) and those
// who approve patrols to move an approved patrol along.
func (pt *Patrol) requireLeader(p Principal) error {
	if p.System || p.Can(ActApprovePatrol) || (p.Can(ActPlanPatrol) && p.Username == pt.PlannedBy) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only the planner or an operations officer may start, complete or abort this patrol")
}

// PatrolFilter selects patrols; Viewer applies the access rule.
type PatrolFilter struct {
	Viewer   Principal
	Statuses []PatrolStatus
	Unit     string
	// From, To select patrols whose planned window overlaps [From, To); zero is open.
	From, To time.Time
	Limit    int // 0 means 500, at most 5000
}
