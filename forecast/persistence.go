package forecast

import (
	"time"
)

// Persistence forecasts that what happened in the last Window happens again:
// a cell with at least one target event in [origin−Window, origin) is "hot",
// every other cell "cold". Calibration (see Calibration) turns the two raw
// values 1 and 0 into the observed frequencies of a hit after a hot and after a
// cold window on the windows just before the origin, so a hot cell's
// probability is "how often a hot cell stayed hot lately" rather than 1, and a
// cold cell's the small floor of new cells. It is the analyst's "last month's
// map" that every other model has to beat.
type Persistence struct {
	Window             time.Duration // default: the target's horizon
	CalibrationWindows int           // default DefaultCalibrationWindows
}

// NewPersistence returns persistence over window (0: the horizon).
func NewPersistence(window time.Duration) *Persistence { return &Persistence{Window: window} }

func (m *Persistence) Name() string { return "persistence" }

func (m *Persistence) Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error) {
	if err := checkFit(g, target); err != nil {
		return nil, err
	}
	events := selectEvents(history, origin, target)
	w := m.Window
	if w <= 0 {
		w = target.Horizon
	}
	raw := func(at time.Time) []float64 {
		lam := make([]float64, g.Len())
		for i, hot := range hits(g, between(events, at.Add(-w), at)) {
			if hot {
				lam[i] = 1
			}
		}
		return lam
	}
	cal := calibrate(g, events, origin, target.Horizon, m.CalibrationWindows, raw)
	recent := between(events, origin.Add(-w), origin)
	// The reasons of a hot cell are its events in the window, newest first,
	// sharing the weight equally.
	return newCellForecast(raw(origin), cal, func(cell, k int) []Contribution {
		var cs []Contribution
		for j := len(recent) - 1; j >= 0; j-- {
			if i, ok := g.Cell(recent[j].Point); ok && i == cell {
				cs = append(cs, Contribution{EventID: recent[j].ID})
			}
		}
		for n := range cs {
			cs[n].Weight = 1 / float64(len(cs))
		}
		if len(cs) > k {
			cs = cs[:k]
		}
		return cs
	}), nil
}
