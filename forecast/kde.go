package forecast

import (
	"math"
	"time"
)

// KDE is a Gaussian kernel density of the target events of the last Window,
// scaled to expected counts: each event of the window spreads its mass over the
// cells under a Gaussian of BandwidthKm (truncated at 4σ), and the sum is
// multiplied by horizon/Window, the share of the window's count expected in the
// horizon at a constant rate. Λ is then calibrated (see Calibration).
// Why(cell) gives the window's events by their share of the cell's density.
type KDE struct {
	Window             time.Duration // default 90 days
	BandwidthKm        float64       // default 10 km
	CalibrationWindows int
}

// NewKDE returns the KDE model (0 values take the defaults).
func NewKDE(window time.Duration, bandwidthKm float64) *KDE {
	return &KDE{Window: window, BandwidthKm: bandwidthKm}
}

func (m *KDE) Name() string { return "kde" }

func (m *KDE) params() (time.Duration, float64) {
	w, bw := m.Window, m.BandwidthKm
	if w <= 0 {
		w = 90 * day
	}
	if !(bw > 0) {
		bw = 10
	}
	return w, bw
}

func (m *KDE) Fit(history []Event, origin time.Time, g *Grid, target Target) (Forecast, error) {
	if err := checkFit(g, target); err != nil {
		return nil, err
	}
	events := selectEvents(history, origin, target)
	w, bw := m.params()
	cut := 4 * bw
	scale := days(target.Horizon) / days(w)
	raw := func(at time.Time) []float64 {
		lam := make([]float64, g.Len())
		var fx, fy []float64
		for _, e := range between(events, at.Add(-w), at) {
			x, y := g.xy(e.Point)
			fx, fy = spreadGaussian(g, x, y, bw, cut, scale, lam, fx, fy)
		}
		return lam
	}
	cal := calibrate(g, events, origin, target.Horizon, m.CalibrationWindows, raw)
	recent := between(events, origin.Add(-w), origin)
	return newCellForecast(raw(origin), cal, func(cell, k int) []Contribution {
		var cs []Contribution
		var total float64
		for _, e := range recent {
			x, y := g.xy(e.Point)
			if v := cellMass(g, cell, x, y, bw, cut); v > 0 && !math.IsNaN(v) {
				cs = append(cs, Contribution{EventID: e.ID, Weight: v})
				total += v
			}
		}
		for n := range cs {
			cs[n].Weight /= total
		}
		return topContributions(cs, k)
	}), nil
}
