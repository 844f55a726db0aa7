package forecast

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 || (math.IsNaN(a) && math.IsNaN(b)) }

func TestRankMetricsByHand(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         []float64
		y         []bool
		auc, ap   float64
		brier     float64
		wantBrier bool
	}{
		// Ranked: + − + − − +. AUROC: the positive at .9 beats 3 negatives, at .7
		// beats 2 (.6, .5), at .4 none: 5/9. AP: precision at each positive is
		// 1/1, 2/3, 3/6 → (1 + 2/3 + 1/2)/3 = 13/18.
		// Brier: (.1² + .8² + .3² + .6² + .5² + .6²)/6 = 1.71/6 = .285.
		{"no ties", []float64{.9, .8, .7, .6, .5, .4}, []bool{true, false, true, false, false, true}, 5.0 / 9, 13.0 / 18, .285, true},
		// A run of three tied at .5 (one positive, two negatives), then a
		// positive at .1. AUROC: the positive at .5 ties both negatives (½+½),
		// the one at .1 beats none: 1/4. AP: at ≥ .5 recall ½, precision ⅓;
		// at ≥ .1 recall 1, precision 2/4: ½·⅓ + ½·½ = 5/12.
		{"ties", []float64{.5, .5, .5, .1}, []bool{true, false, false, true}, 0.25, 5.0 / 12, 0, false},
		// Everything tied: AUROC ½, AP = base rate.
		{"all tied", []float64{.3, .3, .3, .3}, []bool{true, false, false, false}, 0.5, 0.25, 0, false},
		// Perfect ranking.
		{"perfect", []float64{.2, .1, .05}, []bool{true, false, false}, 1, 1, (.64 + .01 + .0025) / 3, true},
		// Undefined without positives (AP, AUROC) or negatives (AUROC).
		{"no positives", []float64{.2, .1}, []bool{false, false}, math.NaN(), math.NaN(), (.04 + .01) / 2, true},
		{"no negatives", []float64{.2, .1}, []bool{true, true}, math.NaN(), 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AUROC(tc.p, tc.y); !near(got, tc.auc) {
				t.Errorf("AUROC %v, want %v", got, tc.auc)
			}
			if got := AveragePrecision(tc.p, tc.y); !near(got, tc.ap) {
				t.Errorf("AP %v, want %v", got, tc.ap)
			}
			if got := Brier(tc.p, tc.y); tc.wantBrier && !near(got, tc.brier) {
				t.Errorf("Brier %v, want %v", got, tc.brier)
			}
		})
	}
}

func TestHitRateAndPAIByHand(t *testing.T) {
	// Ten cells; 8 events.
	p := []float64{.9, .8, .8, .5, .4, .3, .2, .1, .1, .1}
	counts := []int{2, 0, 3, 1, 0, 0, 0, 1, 0, 1}
	twice := []float64{2, 1, 1, 1, 1, 1, 1, 1, 1, 1} // cell 0 twice as large: A = 11
	for _, tc := range []struct {
		name      string
		area      []float64
		share     float64
		hit, pai  float64
		undefined bool
	}{
		// 10 % = one cell: cell 0's 2 of 8 events; PAI .25/.1.
		{"10%", nil, .10, .25, 2.5, false},
		// 20 % = cell 0 and half the tied run {1, 2} (area 2, 3 events): 2 + 1.5.
		{"20% splits a tie", nil, .20, 3.5 / 8, 3.5 / 8 / .2, false},
		// 50 %: cells 0–4 hold 2+0+3+1+0 = 6.
		{"50%", nil, .50, .75, 1.5, false},
		{"100%", nil, 1, 1, 1, false},
		// With areas: 2/11 of the area is exactly cell 0.
		{"by area", twice, 2.0 / 11, .25, .25 / (2.0 / 11), false},
		// 1/11 is half of cell 0: one of its two events.
		{"by area, half a cell", twice, 1.0 / 11, 1.0 / 8, 1.0 / 8 / (1.0 / 11), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HitRate(p, counts, tc.area, tc.share); !near(got, tc.hit) {
				t.Errorf("hit rate %v, want %v", got, tc.hit)
			}
			if got := PAI(p, counts, tc.area, tc.share); !near(got, tc.pai) {
				t.Errorf("PAI %v, want %v", got, tc.pai)
			}
		})
	}
	if got := HitRate(p, make([]int, 10), nil, .1); !math.IsNaN(got) {
		t.Errorf("no events: %v, want NaN", got)
	}
}

func TestReliabilityByHand(t *testing.T) {
	p := []float64{.05, .15, .12, .95, 1}
	y := []bool{false, true, false, true, true}
	got := Reliability(p, y, 10)
	want := []ReliabilityBin{
		{Lo: 0, Hi: .1, N: 1, MeanP: .05, Observed: 0},
		{Lo: .1, Hi: .2, N: 2, MeanP: .135, Observed: .5},
		{Lo: .9, Hi: 1, N: 2, MeanP: .975, Observed: 1}, // 1 goes in the last bin
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.N != w.N || !near(g.Lo, w.Lo) || !near(g.Hi, w.Hi) || !near(g.MeanP, w.MeanP) || !near(g.Observed, w.Observed) {
			t.Errorf("bin %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestEvaluate(t *testing.T) {
	p := []float64{.9, .8, .7, .6, .5, .4}
	counts := []int{2, 0, 1, 0, 0, 1}
	s := Evaluate(p, counts, nil)
	if s.Cells != 6 || s.Positives != 3 || s.Events != 4 || !near(s.AUROC, 5.0/9) || !near(s.AveragePrecision, 13.0/18) {
		t.Fatalf("%+v", s)
	}
	// 1 % of 6 cells is .06 of cell 0: .06·2 events of 4 → hit .03, PAI 3.
	if len(s.PAI) != 3 || !near(s.HitRate[0], .03) || !near(s.PAI[0], 3) {
		t.Fatalf("hit %v PAI %v", s.HitRate, s.PAI)
	}
}
