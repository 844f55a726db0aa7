package bluehelm

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// EscalationStep is one rung of a camp's escalation list: when an alert of the
// camp is still open (not acknowledged) AfterMinutes after it was raised, Role
// is told.
type EscalationStep struct {
	Role         Role `json:"role"`          // who is told next
	AfterMinutes int  `json:"after_minutes"` // unacknowledged this long after raising
}

// DefaultWaterStandardLPD is the water a camp plans per person and day when its
// profile does not say: 84 litres, the planning figure this project was given
// for UN field camps. It is a default, not a norm bluehelm vouches for: set the
// mission's own figure in the profile.
const DefaultWaterStandardLPD = 84.0

// DefaultGeneratorLitresPerKWh and DefaultDieselKgCO2PerLitre are the energy
// conversions used when a profile leaves them 0 (see camp.DefaultEnergyConfig
// for where they come from).
const (
	DefaultGeneratorLitresPerKWh = 0.3
	DefaultDieselKgCO2PerLitre   = 2.68
)

// CampProfile is what bluehelm knows about a camp beyond its perimeter: one per
// camp area (Area.Kind == AreaCamp), keyed by the area's id. Its visibility is
// the camp area's.
type CampProfile struct {
	CampID     int64 `json:"camp_id"`
	Version    int   `json:"version"`
	Population int   `json:"population"`
	// WaterStandardLPD is the litres of water per person and day the camp is
	// held to (0: DefaultWaterStandardLPD).
	WaterStandardLPD float64 `json:"water_standard_lpd"`
	// Escalation is who is told, in order, while an alert of the camp stays
	// unacknowledged. Steps are in increasing AfterMinutes.
	Escalation []EscalationStep `json:"escalation,omitempty"`
	// WebhookURL receives the camp's escalations (an e-mail or SMS gateway);
	// empty: the server's fallback URL, if any.
	WebhookURL string `json:"webhook_url,omitempty"`
	// ZoneIDs are the camp's zones (camp_zone areas), shown on its map with
	// any zone its sensors and assets name.
	ZoneIDs []int64 `json:"zone_ids,omitempty"`
	// AdjacentZones pairs zones that touch: an intruder crossing from one into
	// the other trips detectors in both, which perimeter correlation counts as
	// one intrusion.
	AdjacentZones         [][2]int64 `json:"adjacent_zones,omitempty"`
	GeneratorLitresPerKWh float64    `json:"generator_litres_per_kwh,omitempty"`
	DieselKgCO2PerLitre   float64    `json:"diesel_kg_co2_per_litre,omitempty"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

// MaxEscalationSteps bounds a camp's list: beyond a handful of roles the
// message reaches everybody anyway.
const MaxEscalationSteps = 10

// Validate checks a profile.
func (p *CampProfile) Validate() error {
	if p.CampID <= 0 {
		return Invalid("camp_id", "is required")
	}
	if p.Population < 0 || p.Population > 1_000_000 {
		return Invalid("population", "must be between 0 and 1,000,000")
	}
	if math.IsNaN(p.WaterStandardLPD) || p.WaterStandardLPD < 0 || p.WaterStandardLPD > 1000 {
		return Invalid("water_standard_lpd", "must be between 0 and 1000 litres per person per day")
	}
	if math.IsNaN(p.GeneratorLitresPerKWh) || p.GeneratorLitresPerKWh < 0 || p.GeneratorLitresPerKWh > 5 {
		return Invalid("generator_litres_per_kwh", "must be between 0 and 5")
	}
	if math.IsNaN(p.DieselKgCO2PerLitre) || p.DieselKgCO2PerLitre < 0 || p.DieselKgCO2PerLitre > 10 {
		return Invalid("diesel_kg_co2_per_litre", "must be between 0 and 10")
	}
	if len(p.Escalation) > MaxEscalationSteps {
		return Invalid("escalation", "at most %d steps", MaxEscalationSteps)
	}
	prev := 0
	for i, s := range p.Escalation {
		f := "escalation[" + strconv.Itoa(i) + "]"
		if !slices.Contains(Roles, s.Role) {
			return Invalid(f+".role", "unknown role %q", s.Role)
		}
		if s.AfterMinutes < 1 || s.AfterMinutes > 7*24*60 {
			return Invalid(f+".after_minutes", "must be between 1 and 10080")
		}
		if s.AfterMinutes <= prev {
			return Invalid(f+".after_minutes", "must be later than the step before (%d minutes)", prev)
		}
		prev = s.AfterMinutes
	}
	if len(p.ZoneIDs) > 100 {
		return Invalid("zone_ids", "at most 100")
	}
	for i, z := range p.ZoneIDs {
		if z <= 0 {
			return Invalid("zone_ids["+strconv.Itoa(i)+"]", "must be a zone id")
		}
	}
	if len(p.AdjacentZones) > 500 {
		return Invalid("adjacent_zones", "at most 500 pairs")
	}
	for i, pr := range p.AdjacentZones {
		if pr[0] <= 0 || pr[1] <= 0 || pr[0] == pr[1] {
			return Invalid("adjacent_zones["+strconv.Itoa(i)+"]", "must be two different zone ids")
		}
	}
	if p.WebhookURL != "" {
		if err := ValidateWebhookURL(p.WebhookURL); err != nil {
			return PrefixField("webhook_url", err)
		}
	}
	return nil
}

// ValidateWebhookURL checks an outbound webhook address: http or https with a
// host, no credentials in it (those belong in the signing secret).
func ValidateWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Invalid("", "must be an http or https URL")
	}
	if u.User != nil {
		return Invalid("", "must not carry a user or password")
	}
	if len(s) > 2000 {
		return Invalid("", "longer than 2000 characters")
	}
	return nil
}

// WaterStandard returns the standard in force.
func (p *CampProfile) WaterStandard() float64 {
	if p == nil || p.WaterStandardLPD == 0 {
		return DefaultWaterStandardLPD
	}
	return p.WaterStandardLPD
}

// LitresPerKWh returns the generator consumption in force.
func (p *CampProfile) LitresPerKWh() float64 {
	if p == nil || p.GeneratorLitresPerKWh == 0 {
		return DefaultGeneratorLitresPerKWh
	}
	return p.GeneratorLitresPerKWh
}

// KgCO2PerLitre returns the emission factor in force.
func (p *CampProfile) KgCO2PerLitre() float64 {
	if p == nil || p.DieselKgCO2PerLitre == 0 {
		return DefaultDieselKgCO2PerLitre
	}
	return p.DieselKgCO2PerLitre
}

// NextEscalation returns the step an alert raised at raisedAt, which has taken
// done steps, is due for at now, and its index; ok is false when none is due
// (acknowledged alerts are not escalated: someone is on them).
func (p *CampProfile) NextEscalation(a *Alert, now time.Time) (step EscalationStep, index int, ok bool) {
	if p == nil || a.State != AlertOpen || a.Escalation >= len(p.Escalation) {
		return EscalationStep{}, 0, false
	}
	// Only the next step: a server that was down for an hour tells the next
	// role, not every role at once; the following tick takes the one after.
	s := p.Escalation[a.Escalation]
	if now.Before(a.RaisedAt.Add(time.Duration(s.AfterMinutes) * time.Minute)) {
		return EscalationStep{}, 0, false
	}
	return s, a.Escalation, true
}

// WebhookDelivery is one outbound webhook message waiting in, or delivered
// from, the persisted outbox.
type WebhookDelivery struct {
	ID int64 `json:"id"`
	// Key makes enqueueing idempotent ("alert/12/escalation/1"): an escalation
	// retried after a crash does not post twice.
	Key         string     `json:"key"`
	URL         string     `json:"url"`
	Body        []byte     `json:"body"`
	Attempts    int        `json:"attempts"`
	NextAt      time.Time  `json:"next_at"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}
