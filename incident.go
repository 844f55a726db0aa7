package bluehelm

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where an incident is in its verification workflow.
type Status string

const (
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusVerified  Status = "verified"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
)

// Statuses lists the valid statuses in workflow order.
var Statuses = []Status{StatusDraft, StatusSubmitted, StatusVerified, StatusApproved, StatusRejected}

func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Precision of a time or a place, coarsest last (as UCDP's date_prec / where_prec).
type TimePrecision string

const (
	TimeExact TimePrecision = "exact"
	TimeDay   TimePrecision = "day"
	TimeWeek  TimePrecision = "week"
	TimeMonth TimePrecision = "month"
	TimeYear  TimePrecision = "year"
)

type GeoPrecision string

const (
	GeoExact   GeoPrecision = "exact"   // the spot
	GeoNear    GeoPrecision = "near"    // within ~25 km of a named place
	GeoAdmin2  GeoPrecision = "admin2"  // county / district
	GeoAdmin1  GeoPrecision = "admin1"  // state / province
	GeoCountry GeoPrecision = "country" // country only
)

// Casualty groups and kinds (see DESIGN.md: killed / injured / abducted × group).
var (
	CasualtyGroups = []string{"civilians", "un_military", "un_police", "un_civilian", "host_forces", "armed_groups", "unknown"}
	CasualtyKinds  = []string{"killed", "injured", "abducted"}
	ActorTypes     = []string{"state_forces", "rebel_group", "political_militia", "communal_militia", "rioters", "protesters", "civilians", "external_forces", "un", "unknown"}
	TargetTypes    = []string{"civilians", "un_personnel", "un_premises", "security_forces", "armed_group", "aid_workers", "infrastructure", "unknown"}
)

// Actor is a party to an incident.
type Actor struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	Side string `json:"side,omitempty"` // "a" (initiator) or "b"
}

// Casualty is a count of people of one group affected in one way, with the
// low / best / high estimates used by UCDP.
type Casualty struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Low   int    `json:"low"`
	Best  int    `json:"best"`
	High  int    `json:"high"`
}

// Source is where the information came from, graded on the admiralty scale
// (reliability A–F, credibility 1–6).
type Source struct {
	Name        string `json:"name"`
	Reliability string `json:"reliability,omitempty"`
	Credibility int    `json:"credibility,omitempty"`
	Reference   string `json:"reference,omitempty"`
}

// Link ties an incident to another record (patrol, CASEVAC, alert, attachment, SITREP).
type Link struct {
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
}

// Incident is one reported event: the SINCREP/flash report of a mission, modelled so
// that UCDP GED and ACLED rows map onto it.
type Incident struct {
	ID         int64  `json:"id"`
	Version    int    `json:"version"`
	ExternalID string `json:"external_id,omitempty"` // "ucdp:123456", "acled:SSD1234"

	Title       string   `json:"title"`
	Category    Category `json:"category"`
	Subcategory string   `json:"subcategory,omitempty"`
	Status      Status   `json:"status"`

	OccurredStart time.Time     `json:"occurred_start"`
	OccurredEnd   *time.Time    `json:"occurred_end,omitempty"`
	TimePrecision TimePrecision `json:"time_precision,omitempty"`
	ReportedAt    time.Time     `json:"reported_at"`
	UpdatedAt     time.Time     `json:"updated_at"`

	Location     Point        `json:"location"`
	GeoPrecision GeoPrecision `json:"geo_precision,omitempty"`
	Country      string       `json:"country,omitempty"`
	Admin1       string       `json:"admin1,omitempty"`
	Admin2       string       `json:"admin2,omitempty"`
	Admin3       string       `json:"admin3,omitempty"`
	PlaceName    string       `json:"place_name,omitempty"`
	MGRS         string       `json:"mgrs,omitempty"`

	Actors     []Actor    `json:"actors,omitempty"`
	TargetType string     `json:"target_type,omitempty"`
	Casualties []Casualty `json:"casualties,omitempty"`
	Sources    []Source   `json:"sources,omitempty"`
	Narrative  string     `json:"narrative,omitempty"`
	Links      []Link     `json:"links,omitempty"`

	Marking
	ReportingUnit string `json:"reporting_unit,omitempty"`
	ReportedBy    string `json:"reported_by"`
	VerifiedBy    string `json:"verified_by,omitempty"`
	ApprovedBy    string `json:"approved_by,omitempty"`
	RejectedBy    string `json:"rejected_by,omitempty"`
	RejectReason  string `json:"reject_reason,omitempty"`

	// Conflicts flags an incident edited on both sides of a federation link
	// while the link was cut: the other side's revision is kept here, beside
	// the content that won by the federation rule, for a person to reconcile
	// (last writer wins would silently drop a verification or a correction).
	Conflicts []Revision `json:"conflicts,omitempty"`
}

// Limits on incident fields; a report is a page, not a book.
const (
	MaxTitle     = 200
	MaxNarrative = 20000
	MaxListItems = 50
)

// Validate checks every field of an incident against now, naming the first bad field.
func (inc *Incident) Validate(now time.Time) error {
	text := func(field, v string, max int, required bool) error {
		if required && strings.TrimSpace(v) == "" {
			return Invalid(field, "is required")
		}
		if !utf8.ValidString(v) {
			return Invalid(field, "is not valid UTF-8")
		}
		if utf8.RuneCountInString(v) > max {
			return Invalid(field, "longer than %d characters", max)
		}
		return nil
	}
	if err := text("title", inc.Title, MaxTitle, true); err != nil {
		return err
	}
	if !inc.Category.Valid() {
		return Invalid("category", "unknown category %q (see /api/v1/taxonomy)", inc.Category)
	}
	if !inc.Category.ValidSubcategory(inc.Subcategory) {
		return Invalid("subcategory", "%q is not a subcategory of %q", inc.Subcategory, inc.Category)
	}
	if inc.Status != "" && !inc.Status.Valid() {
		return Invalid("status", "unknown status %q", inc.Status)
	}
	if inc.OccurredStart.IsZero() {
		return Invalid("occurred_start", "is required")
	}
	if inc.OccurredStart.After(now.Add(MaxClockSkew)) {
		return Invalid("occurred_start", "%s is in the future", inc.OccurredStart.UTC().Format(time.RFC3339))
	}
	if inc.OccurredStart.Year() < 1945 {
		return Invalid("occurred_start", "is before 1945")
	}
	if inc.OccurredEnd != nil {
		if inc.OccurredEnd.Before(inc.OccurredStart) {
			return Invalid("occurred_end", "is before occurred_start")
		}
		if inc.OccurredEnd.After(now.Add(MaxClockSkew)) {
			return Invalid("occurred_end", "is in the future")
		}
	}
	if inc.TimePrecision != "" && !slices.Contains([]TimePrecision{TimeExact, TimeDay, TimeWeek, TimeMonth, TimeYear}, inc.TimePrecision) {
		return Invalid("time_precision", "unknown precision %q", inc.TimePrecision)
	}
	if err := inc.Location.Validate(); err != nil {
		return PrefixField("location", err)
	}
	if inc.GeoPrecision != "" && !slices.Contains([]GeoPrecision{GeoExact, GeoNear, GeoAdmin2, GeoAdmin1, GeoCountry}, inc.GeoPrecision) {
		return Invalid("geo_precision", "unknown precision %q", inc.GeoPrecision)
	}
	for _, f := range []struct{ name, v string }{
		{"country", inc.Country}, {"admin1", inc.Admin1}, {"admin2", inc.Admin2}, {"admin3", inc.Admin3},
		{"place_name", inc.PlaceName}, {"mgrs", inc.MGRS}, {"target_type", inc.TargetType},
		{"reporting_unit", inc.ReportingUnit}, {"external_id", inc.ExternalID},
	} {
		if err := text(f.name, f.v, 200, false); err != nil {
			return err
		}
	}
	if inc.TargetType != "" && !slices.Contains(TargetTypes, inc.TargetType) {
		return Invalid("target_type", "unknown target type %q", inc.TargetType)
	}
	if err := text("narrative", inc.Narrative, MaxNarrative, false); err != nil {
		return err
	}
	if len(inc.Actors) > MaxListItems || len(inc.Casualties) > MaxListItems || len(inc.Sources) > MaxListItems || len(inc.Links) > MaxListItems {
		return Invalid("", "actors, casualties, sources and links are limited to %d entries each", MaxListItems)
	}
	for i, a := range inc.Actors {
		f := "actors[" + strconv.Itoa(i) + "]"
		if err := text(f+".name", a.Name, 200, true); err != nil {
			return err
		}
		if a.Type != "" && !slices.Contains(ActorTypes, a.Type) {
			return Invalid(f+".type", "unknown actor type %q", a.Type)
		}
		if a.Side != "" && a.Side != "a" && a.Side != "b" {
			return Invalid(f+".side", "must be \"a\" or \"b\"")
		}
	}
	seen := map[[2]string]bool{}
	for i, c := range inc.Casualties {
		f := "casualties[" + strconv.Itoa(i) + "]"
		if !slices.Contains(CasualtyGroups, c.Group) {
			return Invalid(f+".group", "unknown group %q", c.Group)
		}
		if !slices.Contains(CasualtyKinds, c.Kind) {
			return Invalid(f+".kind", "unknown kind %q (want killed, injured or abducted)", c.Kind)
		}
		if c.Low < 0 || c.Best < c.Low || c.High < c.Best || c.High > 1000000 {
			return Invalid(f, "want 0 <= low <= best <= high <= 1000000")
		}
		k := [2]string{c.Group, c.Kind}
		if seen[k] {
			return Invalid(f, "duplicate entry for %s %s", c.Group, c.Kind)
		}
		seen[k] = true
	}
	for i, s := range inc.Sources {
		f := "sources[" + strconv.Itoa(i) + "]"
		if err := text(f+".name", s.Name, 200, true); err != nil {
			return err
		}
		if s.Reliability != "" && (len(s.Reliability) != 1 || s.Reliability[0] < 'A' || s.Reliability[0] > 'F') {
			return Invalid(f+".reliability", "must be a letter A-F")
		}
		if s.Credibility < 0 || s.Credibility > 6 {
			return Invalid(f+".credibility", "must be 1-6 (or 0 when unknown)")
		}
		if err := text(f+".reference", s.Reference, 500, false); err != nil {
			return err
		}
	}
	for i, l := range inc.Links {
		f := "links[" + strconv.Itoa(i) + "]"
		if err := text(f+".kind", l.Kind, 50, true); err != nil {
			return err
		}
		if err := text(f+".ref", l.Ref, 500, true); err != nil {
			return err
		}
	}
	return inc.Marking.Validate()
}

// Killed returns the best estimate of people killed, all groups together.
func (inc *Incident) Killed() int {
	n := 0
	for _, c := range inc.Casualties {
		if c.Kind == "killed" {
			n += c.Best
		}
	}
	return n
}

// WorkflowAction is a step of the incident workflow.
type WorkflowAction string

const (
	WfSubmit  WorkflowAction = "submit"
	WfVerify  WorkflowAction = "verify"
	WfApprove WorkflowAction = "approve"
	WfReject  WorkflowAction = "reject"
	WfReopen  WorkflowAction = "reopen" // a rejected report goes back to draft for correction
	// WfReconcile records that a person compared the revisions a federation
	// conflict kept (Conflicts) with the report and settled it (editing the
	// report if needed): the conflicts stay, marked, and stop being flagged.
	WfReconcile WorkflowAction = "reconcile"
)

// OpenConflicts returns the conflicting revisions nobody has reconciled yet.
func (inc *Incident) OpenConflicts() []Revision {
	var out []Revision
	for _, c := range inc.Conflicts {
		if c.ReconciledBy == "" {
			out = append(out, c)
		}
	}
	return out
}

// Transition applies a workflow action by p. It enforces the NOTICAS rule — the
// person who approves must not be the one who verified — and that a reporter cannot
// verify their own report. It changes inc only when it returns nil.
func (inc *Incident) Transition(a WorkflowAction, p Principal, reason string) error {
	illegal := func() error {
		return Errorf(ECONFLICT, "cannot %s an incident that is %s", a, inc.Status)
	}
	switch a {
	case WfSubmit:
		if inc.Status != StatusDraft {
			return illegal()
		}
		if p.Username != inc.ReportedBy && !p.Can(ActEditIncident) {
			return Errorf(EFORBIDDEN, "only the reporter or an editor may submit this draft")
		}
		inc.Status = StatusSubmitted
	case WfVerify:
		if err := p.Require(ActVerifyIncident); err != nil {
			return err
		}
		if inc.Status != StatusSubmitted {
			return illegal()
		}
		if !p.System && p.Username == inc.ReportedBy {
			return Errorf(ECONFLICT, "the reporter cannot verify their own report")
		}
		inc.Status, inc.VerifiedBy = StatusVerified, p.Username
	case WfApprove:
		if err := p.Require(ActApproveIncident); err != nil {
			return err
		}
		if inc.Status != StatusVerified {
			return illegal()
		}
		if !p.System && p.Username == inc.VerifiedBy {
			return Errorf(ECONFLICT, "approval needs a second person: %s verified this report", inc.VerifiedBy)
		}
		inc.Status, inc.ApprovedBy = StatusApproved, p.Username
	case WfReject:
		if err := p.Require(ActRejectIncident); err != nil {
			return err
		}
		if inc.Status != StatusSubmitted && inc.Status != StatusVerified {
			return illegal()
		}
		if strings.TrimSpace(reason) == "" {
			return Invalid("reason", "a rejection needs a reason")
		}
		if utf8.RuneCountInString(reason) > 2000 {
			return Invalid("reason", "longer than 2000 characters")
		}
		inc.Status, inc.RejectedBy, inc.RejectReason = StatusRejected, p.Username, reason
	case WfReopen:
		if inc.Status != StatusRejected {
			return illegal()
		}
		if p.Username != inc.ReportedBy && !p.Can(ActEditIncident) {
			return Errorf(EFORBIDDEN, "only the reporter or an editor may reopen this report")
		}
		inc.Status, inc.VerifiedBy, inc.RejectedBy = StatusDraft, "", ""
	case WfReconcile:
		// In any status: a conflict over an approved report must be settled too.
		if err := p.Require(ActEditIncident); err != nil {
			return err
		}
		if len(inc.OpenConflicts()) == 0 {
			return Errorf(ECONFLICT, "incident %d has no conflicting revisions to reconcile", inc.ID)
		}
		cs := slices.Clone(inc.Conflicts)
		for i := range cs {
			if cs[i].ReconciledBy == "" {
				cs[i].ReconciledBy = p.Username
			}
		}
		inc.Conflicts = cs
	default:
		return Invalid("action", "unknown workflow action %q (want submit, verify, approve, reject, reopen or reconcile)", a)
	}
	return nil
}

// CanEdit decides whether p may change the content of inc. Approved reports are
// locked; editing a verified report sends it back to submitted (see ApplyEdit).
func (inc *Incident) CanEdit(p Principal) error {
	if inc.Status == StatusApproved || inc.Status == StatusRejected {
		return Errorf(ECONFLICT, "a %s incident cannot be edited", inc.Status)
	}
	if p.Can(ActEditIncident) {
		return nil
	}
	if p.Can(ActReportIncident) && p.Username == inc.ReportedBy && inc.Status == StatusDraft {
		return nil
	}
	return Errorf(EFORBIDDEN, "you may not edit this incident")
}

// ApplyEdit copies the editable content of next into inc, keeping identity, workflow
// and provenance fields. A verified report whose content changes returns to
// submitted, because the verification was of the old content.
func (inc *Incident) ApplyEdit(next *Incident) {
	keep := *inc
	*inc = *next
	inc.ID, inc.Version, inc.ExternalID = keep.ID, keep.Version, keep.ExternalID
	inc.Status, inc.ReportedAt, inc.ReportedBy = keep.Status, keep.ReportedAt, keep.ReportedBy
	inc.VerifiedBy, inc.ApprovedBy, inc.RejectedBy, inc.RejectReason = keep.VerifiedBy, keep.ApprovedBy, keep.RejectedBy, keep.RejectReason
	// Conflicts are settled by WfReconcile, not by an edit (whose form may
	// not even carry them).
	inc.Conflicts = keep.Conflicts
	if inc.Status == StatusVerified {
		inc.Status, inc.VerifiedBy = StatusSubmitted, ""
	}
}

// Revision is one stored version of an incident with who made it and why.
type Revision struct {
	IncidentID int64     `json:"incident_id"`
	Version    int       `json:"version"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"` // create, edit, submit, verify, …
	Incident   Incident  `json:"incident"`
	// ReconciledBy, on a revision kept in Incident.Conflicts, is who settled
	// the conflict (WfReconcile); empty while it is open.
	ReconciledBy string `json:"reconciled_by,omitempty"`
}

// SameIncidentContent reports whether next, as a store would keep it (its
// occurred start truncated to the store's precision), equals cur but for
// identity and bookkeeping (ID, Version, UpdatedAt, ReportedAt): what an
// import counts as unchanged. Both are encoded by this binary, so a field added
// since cur was stored compares equal when zero.
func SameIncidentContent(cur, next *Incident, precision time.Duration) (bool, error) {
	c := *next
	c.ID, c.Version, c.UpdatedAt, c.ReportedAt = cur.ID, cur.Version, cur.UpdatedAt, cur.ReportedAt
	c.OccurredStart = c.OccurredStart.Truncate(precision)
	a, err := json.Marshal(cur)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return false, Invalid("", "cannot encode incident: %v", err)
	}
	return string(a) == string(b), nil
}
