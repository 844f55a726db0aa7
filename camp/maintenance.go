package camp

import (
	"math"
	"time"
)

// ServicePlan is a preventive maintenance schedule driven by running hours, as
// generator manufacturers specify them (e.g. an oil change every 250 h).
type ServicePlan struct {
	AssetID    int64   `json:"asset_id"` // the generator (its power sensor)
	Task       string  `json:"task"`
	EveryHours float64 `json:"every_hours"`
	// LastDoneAtHours is the hour meter reading at the last service.
	LastDoneAtHours float64 `json:"last_done_at_hours"`
	// LeadHours raises the work order this many running hours before it is due,
	// so that parts and a technician can reach the camp in time.
	LeadHours float64 `json:"lead_hours"`
}

// WorkOrderSuggestion is a work order the plan calls for.
type WorkOrderSuggestion struct {
	AssetID  int64     `json:"asset_id"`
	Task     string    `json:"task"`
	DueAt    float64   `json:"due_at_hours"` // hour meter reading
	HoursTo  float64   `json:"hours_to_due"` // negative when overdue
	Overdue  bool      `json:"overdue"`
	Expected time.Time `json:"expected,omitzero"` // at the current running rate
}

// Due checks the plan against the hour meter. hoursPerDay is the recent running
// rate, used to say when the service will fall due (0 leaves Expected unset). It
// returns ok false while the service is further off than the lead.
func (p ServicePlan) Due(meterHours, hoursPerDay float64, now time.Time) (WorkOrderSuggestion, bool) {
	if p.EveryHours <= 0 {
		return WorkOrderSuggestion{}, false
	}
	due := p.LastDoneAtHours + p.EveryHours
	to := due - meterHours
	if to > p.LeadHours {
		return WorkOrderSuggestion{}, false
	}
	w := WorkOrderSuggestion{AssetID: p.AssetID, Task: p.Task, DueAt: due, HoursTo: to, Overdue: to < 0}
	if hoursPerDay > 0 && !w.Overdue {
		w.Expected = now.Add(time.Duration(math.Round(to / hoursPerDay * float64(24*time.Hour))))
	}
	return w, true
}
