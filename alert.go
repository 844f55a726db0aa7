package bluehelm

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Severity of an alert.
type Severity string

const (
	SevInfo     Severity = "info"
	SevWarning  Severity = "warning"
	SevCritical Severity = "critical"
)

func (s Severity) Valid() bool {
	return slices.Contains([]Severity{SevInfo, SevWarning, SevCritical}, s)
}

// AlertState is where an alert is in its life.
type AlertState string

const (
	AlertOpen         AlertState = "open"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// Alert sources.
const (
	AlertGeofence  = "geofence"
	AlertEmergency = "emergency"
	AlertOverdue   = "overdue"
	AlertSensor    = "sensor"
	AlertForecast  = "forecast"
	AlertCasevac   = "casevac"
	AlertManual    = "manual"
	AlertPatrol    = "patrol"     // patrol monitoring: off route, silent, late, no-go entry
	AlertProximity = "proximity"  // a proximity (roaming) rule between tracks
	AlertCamp      = "camp"       // a camp's stock below its minimum cover, maintenance due
	AlertFederated = "federation" // a federation link: an incident edited on both sides during a cut
)

// Alert is something that needs a person's attention now.
type Alert struct {
	ID      int64  `json:"id"`
	Version int    `json:"version"`
	Source  string `json:"source"`
	// Rule names what raised it within its source ("enter", "silent", "off_route",
	// …): one open alert per rule, track, area and patrol is enough.
	Rule string `json:"rule,omitempty"`
	// Key is what the alert is about within its rule when no other field says
	// it (a forecast cell): one open alert per key is enough.
	Key        string     `json:"key,omitempty"`
	Severity   Severity   `json:"severity"`
	State      AlertState `json:"state"`
	Title      string     `json:"title"`
	Detail     string     `json:"detail,omitempty"`
	Location   *Point     `json:"location,omitempty"`
	TrackUID   string     `json:"track_uid,omitempty"`
	AreaID     int64      `json:"area_id,omitempty"`
	IncidentID int64      `json:"incident_id,omitempty"`
	PatrolID   int64      `json:"patrol_id,omitempty"`
	Marking
	RaisedAt   time.Time  `json:"raised_at"`
	RaisedBy   string     `json:"raised_by"`
	AckBy      string     `json:"acknowledged_by,omitempty"`
	AckAt      *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Resolution string     `json:"resolution,omitempty"`
	// Escalation counts the escalation steps taken while the alert stayed
	// unacknowledged; EscalatedTo is the role told last, at EscalatedAt.
	Escalation  int        `json:"escalation,omitempty"`
	EscalatedTo Role       `json:"escalated_to,omitempty"`
	EscalatedAt *time.Time `json:"escalated_at,omitempty"`
}

// Validate checks a new alert.
func (a *Alert) Validate() error {
	if !slices.Contains([]string{AlertGeofence, AlertEmergency, AlertOverdue, AlertSensor, AlertForecast, AlertCasevac, AlertManual, AlertPatrol, AlertProximity, AlertCamp, AlertFederated}, a.Source) {
		return Invalid("source", "unknown alert source %q", a.Source)
	}
	if !a.Severity.Valid() {
		return Invalid("severity", "unknown severity %q (want info, warning or critical)", a.Severity)
	}
	if strings.TrimSpace(a.Title) == "" {
		return Invalid("title", "is required")
	}
	if utf8.RuneCountInString(a.Title) > 200 {
		return Invalid("title", "longer than 200 characters")
	}
	if utf8.RuneCountInString(a.Detail) > 5000 {
		return Invalid("detail", "longer than 5000 characters")
	}
	if a.Location != nil {
		if err := a.Location.Validate(); err != nil {
			return PrefixField("location", err)
		}
	}
	return a.Marking.Validate()
}

// Acknowledge marks the alert as seen by p: someone is on it.
func (a *Alert) Acknowledge(p Principal, at time.Time) error {
	if err := p.Require(ActHandleAlert); err != nil {
		return err
	}
	if a.State != AlertOpen {
		return Errorf(ECONFLICT, "alert is %s, not open", a.State)
	}
	a.State, a.AckBy, a.AckAt = AlertAcknowledged, p.Username, &at
	return nil
}

// Resolve closes the alert. An open alert may be resolved directly (it counts as
// acknowledged by the same person).
func (a *Alert) Resolve(p Principal, at time.Time, resolution string) error {
	if err := p.Require(ActHandleAlert); err != nil {
		return err
	}
	if a.State == AlertResolved {
		return Errorf(ECONFLICT, "alert is already resolved")
	}
	if utf8.RuneCountInString(resolution) > 2000 {
		return Invalid("resolution", "longer than 2000 characters")
	}
	if a.State == AlertOpen {
		a.AckBy, a.AckAt = p.Username, &at
	}
	a.State, a.ResolvedBy, a.ResolvedAt, a.Resolution = AlertResolved, p.Username, &at, resolution
	return nil
}
