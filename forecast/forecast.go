// Package forecast is bluehelm's early warning: where violence and IED attacks
// are likely in the coming days, on a grid over the mission area, from the
// incident history. Every model answers one question — the probability that a
// cell sees at least one event of the target categories in the horizon after a
// forecast origin — and is scored against simple baselines on data it has never
// seen (rolling-origin backtests), because a forecast is only worth showing if
// it beats last month's map.
//
// The package is pure: no store, no clock, no I/O. Callers hand it events and
// the time of the forecast origin.
package forecast

import (
	"time"

	"github.com/bluehelm/bluehelm"
)

// Event is what the models see of an incident.
type Event struct {
	ID       int64
	Time     time.Time
	Point    bluehelm.Point
	Category bluehelm.Category
	Deaths   int // best estimate, all groups
	// Precision of the record: fine grids need events placed within a few km
	// and dated within a week (UCDP where_prec ≤ 2, date_prec ≤ 2 or 3).
	TimePrecision bluehelm.TimePrecision
	GeoPrecision  bluehelm.GeoPrecision
}

// EventOf returns the event of an incident.
func EventOf(inc *bluehelm.Incident) Event {
	return Event{ID: inc.ID, Time: inc.OccurredStart, Point: inc.Location, Category: inc.Category,
		Deaths: inc.Killed(), TimePrecision: inc.TimePrecision, GeoPrecision: inc.GeoPrecision}
}

// Target says what is forecast: at least one event of Categories (all when
// empty) in a cell within Horizon after the origin.
type Target struct {
	Categories []bluehelm.Category
	Horizon    time.Duration
}

// Contribution is one past event's part in a cell's forecast: "why this cell".
type Contribution struct {
	EventID int64
	Weight  float64 // the event's share of the cell's intensity, 0–1
}

// Forecast is a model's answer for one origin: a calibrated probability per
// cell and, for the hot cells, the past events behind it.
type Forecast interface {
	// Probability is P(at least one target event in cell during the horizon).
	Probability(cell int) float64
	// Why returns up to k past events that contribute most to cell, largest
	// first; a model without event-level reasons (a rate) returns nil.
	Why(cell, k int) []Contribution
}

// Model is one forecasting method behind the common interface.
type Model interface {
	// Name is short and stable: "persistence", "rate", "kde", "hawkes".
	Name() string
	// Fit learns from history, which holds only events before origin (the
	// backtest guarantees it and a model must not look further), and forecasts
	// target over g from origin.
	Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error)
}
