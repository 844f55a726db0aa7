package bluehelm

import "time"

// RiskLevel grades a route or one of its segments.
type RiskLevel string

const (
	RiskLow      RiskLevel = "low"
	RiskModerate RiskLevel = "moderate"
	RiskHigh     RiskLevel = "high"
	RiskSevere   RiskLevel = "severe"
)

// RiskReason is one reason a segment or route carries risk. Code is stable and the
// page translates it with the fields; Text is an English sentence for logs,
// exports and TAK clients.
type RiskReason struct {
	// Code: incidents_nearby, near_repeat, restricted_area, forecast,
	// medical_beyond_1h, medical_beyond_2h, medical_estimate.
	Code        string  `json:"code"`
	Text        string  `json:"text"`
	IncidentIDs []int64 `json:"incident_ids,omitempty"` // the most telling ones, not all
	AreaID      int64   `json:"area_id,omitempty"`
	Value       float64 `json:"value,omitempty"` // a count, a probability or minutes, as Code says
}

// MedicalReach is the time from a place to care, under the UN 10-1-2 casualty
// care timelines (advanced care within 1 hour, damage-control surgery within 2).
// Minutes are from the moment of wounding's call for evacuation to arrival,
// launch time included; a negative value means no means can reach such a
// facility (none registered, or no flying at that hour).
type MedicalReach struct {
	Level1RoadMinutes float64 `json:"level1_road_minutes"`
	Level1AirMinutes  float64 `json:"level1_air_minutes"`
	Level2RoadMinutes float64 `json:"level2_road_minutes"`
	Level2AirMinutes  float64 `json:"level2_air_minutes"`
	Level1FacilityID  int64   `json:"level1_facility_id,omitempty"` // the nearest in time
	Level2FacilityID  int64   `json:"level2_facility_id,omitempty"`
	// RoadEstimated says road times are straight-line distance times a detour
	// factor, not a route on a road network: a "meets 10-1-2" on them is an
	// estimate and must be shown as one.
	RoadEstimated bool `json:"road_estimated"`
	Within1h      bool `json:"within_1h"` // Level 1 reachable within 60 min by some means
	Within2h      bool `json:"within_2h"` // Level 2 reachable within 120 min by some means
}

// SegmentRisk is the risk of one stretch of a route.
type SegmentRisk struct {
	From     Point        `json:"from"`
	To       Point        `json:"to"`
	StartKm  float64      `json:"start_km"` // distance along the route where it starts
	LengthKm float64      `json:"length_km"`
	Score    float64      `json:"score"` // 0–100
	Level    RiskLevel    `json:"level"`
	Medical  MedicalReach `json:"medical"` // at the segment's worst point
	Reasons  []RiskReason `json:"reasons,omitempty"`
}

// RiskReport is the assessment of a planned route: per segment and overall. It is
// stored with a patrol's approval, so that what the approver saw is on record.
type RiskReport struct {
	ComputedAt time.Time `json:"computed_at"`
	// At is the time the route was assessed for (the planned start): incident
	// recency, near repeat and night flying are judged at it.
	At       time.Time     `json:"at"`
	LengthKm float64       `json:"length_km"`
	Score    float64       `json:"score"` // 0–100
	Level    RiskLevel     `json:"level"`
	Segments []SegmentRisk `json:"segments"`
	Reasons  []RiskReason  `json:"reasons,omitempty"` // the route's main reasons
	// Medical is the worst reach along the route.
	Medical MedicalReach `json:"medical"`
	// IncidentsConsidered counts the incidents near enough to weigh; ForecastUsed
	// says whether an early-warning surface was part of the score.
	IncidentsConsidered int  `json:"incidents_considered"`
	ForecastUsed        bool `json:"forecast_used"`
}
