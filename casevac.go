package bluehelm

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Precedence is line 3 of the 9-line: how soon a patient must be evacuated.
type Precedence string

const (
	PrecUrgent         Precedence = "urgent"          // A: within 1 hour, to save life, limb or eyesight
	PrecUrgentSurgical Precedence = "urgent_surgical" // B: urgent, and needs surgery
	PrecPriority       Precedence = "priority"        // C: within 4 hours
	PrecRoutine        Precedence = "routine"         // D: within 24 hours
	PrecConvenience    Precedence = "convenience"     // E: no medical necessity
)

// Precedences lists the precedences, most pressing first.
var Precedences = []Precedence{PrecUrgent, PrecUrgentSurgical, PrecPriority, PrecRoutine, PrecConvenience}

// PatientCategory is line 8 of the 9-line in a UN variant: who the patients are,
// which decides who is notified and which facilities may receive them.
type PatientCategory string

const (
	PatUNMilitary PatientCategory = "un_military"
	PatUNPolice   PatientCategory = "un_police"
	PatUNCivilian PatientCategory = "un_civilian"
	PatHostForces PatientCategory = "host_nation_forces"
	PatCivilian   PatientCategory = "civilian"
	PatDetainee   PatientCategory = "detainee"
	PatOther      PatientCategory = "other"
)

// PatientCategories lists the patient categories.
var PatientCategories = []PatientCategory{PatUNMilitary, PatUNPolice, PatUNCivilian, PatHostForces, PatCivilian, PatDetainee, PatOther}

// Line 4 (special equipment), line 6 (security of the pick-up site) and line 7
// (marking of the pick-up site) codes.
var (
	CasevacEquipment = []string{"none", "hoist", "extraction", "ventilator"}
	PickupSecurity   = []string{"no_enemy", "possible_enemy", "enemy", "armed_escort"}
	PickupMarkings   = []string{"panels", "pyrotechnic", "smoke", "none", "other"}
)

// PatientCounts is line 3: the number of patients of each precedence.
type PatientCounts struct {
	Urgent         int `json:"urgent"`
	UrgentSurgical int `json:"urgent_surgical"`
	Priority       int `json:"priority"`
	Routine        int `json:"routine"`
	Convenience    int `json:"convenience"`
}

// Total is the number of patients.
func (c PatientCounts) Total() int {
	return c.Urgent + c.UrgentSurgical + c.Priority + c.Routine + c.Convenience
}

// Highest is the most pressing precedence with a patient ("" for none).
func (c PatientCounts) Highest() Precedence {
	for i, n := range []int{c.Urgent, c.UrgentSurgical, c.Priority, c.Routine, c.Convenience} {
		if n > 0 {
			return Precedences[i]
		}
	}
	return ""
}

// NineLine is the standard 9-line casualty evacuation request in a UN variant.
type NineLine struct {
	// Line 1: the pick-up site, as a point and, when given, as typed (MGRS).
	Location Point  `json:"location"`
	MGRS     string `json:"mgrs,omitempty"`
	// Line 2: radio frequency and call sign at the pick-up site.
	Frequency string `json:"frequency"`
	CallSign  string `json:"call_sign"`
	// Line 3: patients by precedence.
	Patients PatientCounts `json:"patients"`
	// Line 4: special equipment ("none" or some of hoist, extraction, ventilator).
	Equipment []string `json:"equipment,omitempty"`
	// Line 5: patients by type.
	Litter     int `json:"litter"`
	Ambulatory int `json:"ambulatory"`
	// Line 6: security of the pick-up site.
	Security string `json:"security,omitempty"`
	// Line 7: how the pick-up site is marked.
	PickupMarking string `json:"pickup_marking,omitempty"`
	// Line 8: patient nationality and status.
	Categories []PatientCategory `json:"categories,omitempty"`
	// Line 9: terrain and obstacles at the pick-up site.
	Terrain string `json:"terrain,omitempty"`
}

// CasevacStatus is where a casualty evacuation is.
type CasevacStatus string

const (
	CasevacRequested CasevacStatus = "requested"
	CasevacApproved  CasevacStatus = "approved"
	CasevacLaunched  CasevacStatus = "launched"
	CasevacPickedUp  CasevacStatus = "picked_up"
	CasevacArrived   CasevacStatus = "arrived"
	CasevacCancelled CasevacStatus = "cancelled"
)

// CasevacFlow is the order of the steps; cancelled is outside it.
var CasevacFlow = []CasevacStatus{CasevacRequested, CasevacApproved, CasevacLaunched, CasevacPickedUp, CasevacArrived}

// Open reports whether the evacuation is still under way.
func (s CasevacStatus) Open() bool { return s != CasevacArrived && s != CasevacCancelled && s != "" }

// CasevacAction is a step a person (or an asset's positions) records.
type CasevacAction string

const (
	CasevacApprove  CasevacAction = "approve"
	CasevacLaunch   CasevacAction = "launch"
	CasevacPickUp   CasevacAction = "pick_up"
	CasevacArrive   CasevacAction = "arrive"
	CasevacCancel   CasevacAction = "cancel"
	CasevacFirstAid CasevacAction = "first_aid" // life-saving first aid given (the 10-minute clock)
)

// casevacTarget is the status each flow action leads to.
var casevacTarget = map[CasevacAction]CasevacStatus{
	CasevacApprove: CasevacApproved, CasevacLaunch: CasevacLaunched,
	CasevacPickUp: CasevacPickedUp, CasevacArrive: CasevacArrived,
}

// CasevacStep is one entry of the timeline.
type CasevacStep struct {
	Status CasevacStatus `json:"status"` // or "first_aid"
	At     time.Time     `json:"at"`
	By     string        `json:"by"`
	Note   string        `json:"note,omitempty"`
	// FromPositions is true when the asset's positions showed the step.
	FromPositions bool `json:"from_positions,omitempty"`
}

// CasualtyNotification is the two-step verification of a casualty notification:
// one person verifies the casualty's identity and state, another confirms before
// next of kin and headquarters are told.
type CasualtyNotification struct {
	VerifiedBy  string    `json:"verified_by,omitempty"`
	VerifiedAt  time.Time `json:"verified_at,omitzero"`
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	Note        string    `json:"note,omitempty"`
}

// Casevac is a casualty evacuation request and its execution.
type Casevac struct {
	ID         int64 `json:"id"`
	Version    int   `json:"version"`
	IncidentID int64 `json:"incident_id,omitempty"`
	NineLine
	// WoundedAt starts the 10-1-2 clocks: the time of wounding, not of the report.
	WoundedAt time.Time     `json:"wounded_at"`
	Status    CasevacStatus `json:"status"`
	Source    string        `json:"source,omitempty"` // "web", "api", "cot", "demo"
	// CoTUID is the uid of the TAK event that made the request, so a repeated
	// event does not make a second one.
	CoTUID string `json:"cot_uid,omitempty"`
	// The destination and means chosen at approval (from the recommendation or
	// by the person approving), and the evacuating asset.
	FacilityID int64  `json:"facility_id,omitempty"`
	Means      string `json:"means,omitempty"` // "road" or "air"
	AssetUnit  string `json:"asset_unit,omitempty"`
	AssetTrack string `json:"asset_track,omitempty"` // the track whose positions show progress
	Note       string `json:"note,omitempty"`

	FirstAidAt   time.Time            `json:"first_aid_at,omitzero"`
	Timeline     []CasevacStep        `json:"timeline"`
	Notification CasualtyNotification `json:"notification"`
	// Alerted names the clock alerts already raised ("1h.warning", "2h.missed"),
	// so each is raised once even after the alert was resolved or a restart.
	Alerted []string `json:"alerted,omitempty"`
	Marking
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var callSignRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._/\-]{0,39}$`)

// Validate checks a new request at time now. mission is the mission area (the
// AOR areas' geometries): when it is not empty the pick-up site must be inside
// one of them. Every error names the 9-line field at fault.
func (c *Casevac) Validate(now time.Time, mission []Geometry) error {
	if err := c.Location.Validate(); err != nil {
		return PrefixField("location", err)
	}
	if c.Location.Lat == 0 && c.Location.Lon == 0 {
		return Invalid("location", "line 1 (pick-up site) is required")
	}
	if len(mission) > 0 && !slices.ContainsFunc(mission, func(g Geometry) bool { return g.Contains(c.Location) }) {
		return Invalid("location", "the pick-up site is outside the mission area")
	}
	if utf8.RuneCountInString(c.MGRS) > 30 {
		return Invalid("mgrs", "longer than 30 characters")
	}
	if strings.TrimSpace(c.Frequency) == "" {
		return Invalid("frequency", "line 2 (radio frequency) is required")
	}
	if utf8.RuneCountInString(c.Frequency) > 40 {
		return Invalid("frequency", "longer than 40 characters")
	}
	if strings.TrimSpace(c.CallSign) == "" {
		return Invalid("call_sign", "line 2 (call sign) is required")
	}
	if !callSignRE.MatchString(c.CallSign) {
		return Invalid("call_sign", "must be 1 to 40 letters, digits, spaces or . _ / -")
	}
	p := c.Patients
	for i, n := range []int{p.Urgent, p.UrgentSurgical, p.Priority, p.Routine, p.Convenience} {
		if n < 0 || n > 500 {
			return Invalid("patients."+string(Precedences[i]), "must be between 0 and 500")
		}
	}
	if p.Total() == 0 {
		return Invalid("patients", "line 3 needs at least one patient")
	}
	if c.Litter < 0 || c.Litter > 500 {
		return Invalid("litter", "must be between 0 and 500")
	}
	if c.Ambulatory < 0 || c.Ambulatory > 500 {
		return Invalid("ambulatory", "must be between 0 and 500")
	}
	if c.Litter+c.Ambulatory != p.Total() {
		return Invalid("litter", "line 5 counts %d litter + %d ambulatory = %d patients, but line 3 counts %d",
			c.Litter, c.Ambulatory, c.Litter+c.Ambulatory, p.Total())
	}
	for i, e := range c.Equipment {
		if !slices.Contains(CasevacEquipment, e) {
			return Invalid("equipment["+strconv.Itoa(i)+"]", "unknown equipment %q (want %s)", e, strings.Join(CasevacEquipment, ", "))
		}
	}
	if slices.Contains(c.Equipment, "none") && len(c.Equipment) > 1 {
		return Invalid("equipment", "\"none\" cannot come with other equipment")
	}
	if c.Security != "" && !slices.Contains(PickupSecurity, c.Security) {
		return Invalid("security", "unknown security %q (want %s)", c.Security, strings.Join(PickupSecurity, ", "))
	}
	if c.PickupMarking != "" && !slices.Contains(PickupMarkings, c.PickupMarking) {
		return Invalid("pickup_marking", "unknown marking %q (want %s)", c.PickupMarking, strings.Join(PickupMarkings, ", "))
	}
	for i, k := range c.Categories {
		if !slices.Contains(PatientCategories, k) {
			return Invalid("categories["+strconv.Itoa(i)+"]", "unknown patient category %q", k)
		}
		if slices.Contains(c.Categories[:i], k) {
			return Invalid("categories["+strconv.Itoa(i)+"]", "category %q is repeated", k)
		}
	}
	if utf8.RuneCountInString(c.Terrain) > 500 {
		return Invalid("terrain", "longer than 500 characters")
	}
	if utf8.RuneCountInString(c.Note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	if c.WoundedAt.IsZero() {
		return Invalid("wounded_at", "the time of wounding is required (the 10-1-2 clocks start from it)")
	}
	// A minute of slack for device clocks that run a little ahead.
	if c.WoundedAt.After(now.Add(time.Minute)) {
		return Invalid("wounded_at", "the time of wounding %s is in the future", c.WoundedAt.UTC().Format(time.RFC3339))
	}
	if now.Sub(c.WoundedAt) > 7*24*time.Hour {
		return Invalid("wounded_at", "more than 7 days ago: not a casualty evacuation")
	}
	return c.Marking.Validate()
}

// Allowed lists the actions that may be taken now, in the order of the flow.
func (c *Casevac) Allowed() []CasevacAction {
	if !c.Status.Open() {
		return nil
	}
	var out []CasevacAction
	if c.FirstAidAt.IsZero() {
		out = append(out, CasevacFirstAid)
	}
	i := slices.Index(CasevacFlow, c.Status)
	for _, a := range []CasevacAction{CasevacApprove, CasevacLaunch, CasevacPickUp, CasevacArrive} {
		if slices.Index(CasevacFlow, casevacTarget[a]) > i {
			out = append(out, a)
		}
	}
	return append(out, CasevacCancel)
}

// Step applies action a at time at by p. Steps may skip forward (an asset
// seen at the pick-up site before anyone pressed "launched") but never go back,
// and a step is never dated before the one before it. fromPositions marks a
// step the asset's positions showed.
func (c *Casevac) Step(a CasevacAction, p Principal, at time.Time, note string, fromPositions bool) error {
	// First aid is reported from the field, by whoever may request an
	// evacuation; the flow is the JOC's and the medical staff's.
	if !(a == CasevacFirstAid && p.Can(ActRequestCasevac)) {
		if err := p.Require(ActManageCasevac); err != nil {
			return err
		}
	}
	if !c.Status.Open() {
		return Errorf(ECONFLICT, "the evacuation is %s", c.Status)
	}
	if utf8.RuneCountInString(note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	if last := c.lastAt(); at.Before(last) {
		at = last
	}
	step := CasevacStep{At: at, By: p.Username, Note: note, FromPositions: fromPositions}
	switch a {
	case CasevacFirstAid:
		if !c.FirstAidAt.IsZero() {
			return Errorf(ECONFLICT, "first aid is already recorded")
		}
		if at.Before(c.WoundedAt) {
			at, step.At = c.WoundedAt, c.WoundedAt
		}
		c.FirstAidAt, step.Status = at, "first_aid"
	case CasevacCancel:
		if strings.TrimSpace(note) == "" {
			return Invalid("note", "a cancellation needs a reason")
		}
		c.Status, step.Status = CasevacCancelled, CasevacCancelled
	default:
		to, ok := casevacTarget[a]
		if !ok {
			return Invalid("action", "unknown action %q (want approve, launch, pick_up, arrive, first_aid or cancel)", a)
		}
		if slices.Index(CasevacFlow, to) <= slices.Index(CasevacFlow, c.Status) {
			return Errorf(ECONFLICT, "cannot %s an evacuation that is %s", a, c.Status)
		}
		c.Status, step.Status = to, to
	}
	c.Timeline = append(c.Timeline, step)
	return nil
}

// lastAt is the time of the latest step.
func (c *Casevac) lastAt() time.Time {
	var t time.Time
	for _, s := range c.Timeline {
		if s.At.After(t) {
			t = s.At
		}
	}
	return t
}

// StepAt is when the flow reached status s (zero if it did not).
func (c *Casevac) StepAt(s CasevacStatus) time.Time {
	for _, st := range c.Timeline {
		if st.Status == s {
			return st.At
		}
	}
	return time.Time{}
}

// Clock states.
const (
	ClockRunning = "running"
	ClockWarning = "warning" // WarnShare of the time is gone
	ClockMissed  = "missed"  // the deadline passed and the care was not given
	ClockMet     = "met"
	ClockLate    = "met_late" // given, but after the deadline
	ClockStopped = "stopped"  // the evacuation was cancelled
)

// ClockWarnShare is the share of a clock's time after which it warns.
const ClockWarnShare = 0.8

// CasevacClock is one of the three 10-1-2 clocks. The 10-minute clock is met by
// life-saving first aid; the 1-hour clock by the pick-up (the evacuation team,
// ambulance crew or aeromedical team, starts advanced care); the 2-hour clock by
// arrival at the destination facility.
type CasevacClock struct {
	Name     string    `json:"name"` // "10m", "1h", "2h"
	Deadline time.Time `json:"deadline"`
	WarnAt   time.Time `json:"warn_at"`
	State    string    `json:"state"`
	// MetAt is when the care was given (zero while not).
	MetAt time.Time `json:"met_at,omitzero"`
	// RemainingSeconds is until the deadline at the time asked (negative once missed).
	RemainingSeconds int `json:"remaining_seconds"`
}

// ClockSpans are the three 10-1-2 clocks.
var ClockSpans = []struct {
	Name string
	Span time.Duration
}{{"10m", 10 * time.Minute}, {"1h", time.Hour}, {"2h", 2 * time.Hour}}

// Clocks returns the three clocks at time now.
func (c *Casevac) Clocks(now time.Time) []CasevacClock {
	met := []time.Time{c.FirstAidAt, c.StepAt(CasevacPickedUp), c.StepAt(CasevacArrived)}
	// Arrival implies pick-up: a step skipped forward still meets the clock.
	if met[1].IsZero() {
		met[1] = met[2]
	}
	out := make([]CasevacClock, len(ClockSpans))
	for i, s := range ClockSpans {
		k := CasevacClock{Name: s.Name, Deadline: c.WoundedAt.Add(s.Span),
			WarnAt: c.WoundedAt.Add(time.Duration(float64(s.Span) * ClockWarnShare)), MetAt: met[i]}
		k.RemainingSeconds = int(k.Deadline.Sub(now) / time.Second)
		switch {
		case !k.MetAt.IsZero() && k.MetAt.After(k.Deadline):
			k.State = ClockLate
		case !k.MetAt.IsZero():
			k.State = ClockMet
		case !now.Before(k.Deadline):
			k.State = ClockMissed
		case c.Status == CasevacCancelled:
			k.State = ClockStopped
		case !now.Before(k.WarnAt):
			k.State = ClockWarning
		default:
			k.State = ClockRunning
		}
		out[i] = k
	}
	return out
}

// VerifyNotification is the first step of a casualty notification.
func (c *Casevac) VerifyNotification(p Principal, at time.Time, note string) error {
	if err := p.Require(ActNotifyCasualty); err != nil {
		return err
	}
	if c.Notification.VerifiedBy != "" {
		return Errorf(ECONFLICT, "the notification was already verified by %s", c.Notification.VerifiedBy)
	}
	if utf8.RuneCountInString(note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	c.Notification.VerifiedBy, c.Notification.VerifiedAt, c.Notification.Note = p.Username, at, note
	return nil
}

// ConfirmNotification is the second step: by someone other than the verifier.
func (c *Casevac) ConfirmNotification(p Principal, at time.Time) error {
	if err := p.Require(ActNotifyCasualty); err != nil {
		return err
	}
	switch {
	case c.Notification.VerifiedBy == "":
		return Errorf(ECONFLICT, "the notification must be verified before it is confirmed")
	case c.Notification.ConfirmedBy != "":
		return Errorf(ECONFLICT, "the notification was already confirmed by %s", c.Notification.ConfirmedBy)
	case c.Notification.VerifiedBy == p.Username:
		return Errorf(EFORBIDDEN, "the notification must be confirmed by someone other than who verified it (%s)", p.Username)
	}
	c.Notification.ConfirmedBy, c.Notification.ConfirmedAt = p.Username, at
	return nil
}

// CasevacFilter selects casualty evacuations; Viewer applies the access rule.
type CasevacFilter struct {
	Viewer   Principal
	Statuses []CasevacStatus
	// IncidentID selects the evacuations of one incident.
	IncidentID int64
	// CoTUID selects the one made from a TAK event.
	CoTUID string
	Limit  int
}
