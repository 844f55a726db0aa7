package forecast

import (
	"math"
	"testing"

	"github.com/bluehelm/bluehelm"
)

// squareArea is a bbox of about side km around (20°E, 5°N).
func squareArea(side float64) bluehelm.BBox {
	h := side / 2 / 111.195
	return bluehelm.BBox{MinLon: 20 - h/math.Cos(5*math.Pi/180), MinLat: 5 - h, MaxLon: 20 + h/math.Cos(5*math.Pi/180), MaxLat: 5 + h}
}

func TestHawkesRecoversPlantedProcess(t *testing.T) {
	for _, tc := range []hawkesSim{
		{Nu: 2, Kappa: 0.5, DecayDays: 5, SigmaKm: 2, L: 200, Days: 1500, Seed: 1},
		{Nu: 1, Kappa: 0.3, DecayDays: 15, SigmaKm: 4, L: 200, Days: 2000, Seed: 2},
		{Nu: 3, Kappa: 0.7, DecayDays: 3, SigmaKm: 1, L: 300, Days: 1000, Seed: 3},
	} {
		t.Run("", func(t *testing.T) {
			g, err := NewGrid(squareArea(tc.L), 5)
			if err != nil {
				t.Fatal(err)
			}
			ev := eventsOf(tc.simulate(plane{g}))
			m := NewHawkes(HawkesConfig{FitWindow: 10000 * day})
			fc, err := m.Fit(ev, testOrigin, g, Target{Horizon: 30 * day})
			if err != nil {
				t.Fatal(err)
			}
			p := fc.(*HawkesForecast).Params
			t.Logf("planted κ %.2f 1/β %.1f σ %.1f ν %.2f; fitted %+v (%d events)", tc.Kappa, tc.DecayDays, tc.SigmaKm, tc.Nu, p, len(ev))
			if math.Abs(p.Kappa-tc.Kappa) > 0.1 {
				t.Errorf("κ %.3f, planted %.2f", p.Kappa, tc.Kappa)
			}
			if r := p.DecayDays / tc.DecayDays; r < 0.7 || r > 1.3 {
				t.Errorf("1/β %.2f days, planted %.1f", p.DecayDays, tc.DecayDays)
			}
			if r := p.SigmaKm / tc.SigmaKm; r < 0.7 || r > 1.3 {
				t.Errorf("σ %.2f km, planted %.1f", p.SigmaKm, tc.SigmaKm)
			}
		})
	}
}
