package forecast

import (
	"math"
	"slices"
)

// The metrics score one forecast (or several pooled: concatenate the cells of
// several origins) against what happened: p is the forecast probability per
// cell, counts the observed target events per cell in the horizon, and a cell
// is positive when its count is at least one. Ties in p are never broken by
// cell order: every metric gives tied cells their average treatment, so a model
// that cannot tell cells apart gets no credit for their numbering.

// AreaShares are the shares of the area flagged for hit rate and PAI.
var AreaShares = []float64{0.01, 0.05, 0.10}

// Scores are the metrics of one forecast or a pooled set.
type Scores struct {
	Cells, Positives, Events int
	AUROC                    float64 // NaN without both positives and negatives
	AveragePrecision         float64 // NaN without positives
	Brier                    float64
	HitRate, PAI             []float64 // at AreaShares
	Reliability              []ReliabilityBin
}

// Evaluate computes every metric; area is each cell's area (nil: equal cells),
// used for the shares of area flagged.
func Evaluate(p []float64, counts []int, area []float64) Scores {
	y := make([]bool, len(counts))
	s := Scores{Cells: len(p)}
	for i, c := range counts {
		y[i] = c > 0
		if y[i] {
			s.Positives++
		}
		s.Events += c
	}
	s.AUROC = AUROC(p, y)
	s.AveragePrecision = AveragePrecision(p, y)
	s.Brier = Brier(p, y)
	for _, a := range AreaShares {
		h := HitRate(p, counts, area, a)
		s.HitRate = append(s.HitRate, h)
		s.PAI = append(s.PAI, h/a)
	}
	s.Reliability = Reliability(p, y, 10)
	return s
}

// tieGroups returns the cell indices sorted by p descending, and the ends of
// the runs of equal p in that order.
func tieGroups(p []float64) (order []int, ends []int) {
	order = make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpF(p[b], p[a]) })
	for k := 1; k <= len(order); k++ {
		if k == len(order) || p[order[k]] != p[order[k-1]] {
			ends = append(ends, k)
		}
	}
	return order, ends
}

// AUROC is the probability that a random positive cell has a higher p than a
// random negative one, ties counting one half (the Mann–Whitney statistic from
// mid-ranks).
func AUROC(p []float64, y []bool) float64 {
	order, ends := tieGroups(p)
	var pos, neg, wins float64 // wins: Σ over positives of (negatives below + ½ tied)
	// Walk from the lowest p up: negatives seen so far are below.
	start := 0
	groups := make([][2]int, 0, len(ends))
	for _, e := range ends {
		groups = append(groups, [2]int{start, e})
		start = e
	}
	for gi := len(groups) - 1; gi >= 0; gi-- {
		var gp, gn float64
		for _, i := range order[groups[gi][0]:groups[gi][1]] {
			if y[i] {
				gp++
			} else {
				gn++
			}
		}
		wins += gp * (neg + gn/2)
		pos += gp
		neg += gn
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return wins / (pos * neg)
}

// AveragePrecision is Σ_k (R_k − R_{k−1})·P_k over the distinct thresholds of
// p from the highest down, with R recall and P precision of the cells at or
// above the threshold (a tied run enters as one step, as in scikit-learn).
func AveragePrecision(p []float64, y []bool) float64 {
	order, ends := tieGroups(p)
	var total float64
	for _, v := range y {
		if v {
			total++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	var tp, ap, prevRecall float64
	start := 0
	for _, e := range ends {
		for _, i := range order[start:e] {
			if y[i] {
				tp++
			}
		}
		recall := tp / total
		ap += (recall - prevRecall) * tp / float64(e)
		prevRecall = recall
		start = e
	}
	return ap
}

// Brier is the mean squared difference between p and the outcome (0/1).
func Brier(p []float64, y []bool) float64 {
	if len(p) == 0 {
		return math.NaN()
	}
	var s float64
	for i, v := range p {
		d := v
		if y[i] {
			d = v - 1
		}
		s += d * d
	}
	return s / float64(len(p))
}

// HitRate is the share of the observed events (not of positive cells: PAI in
// the crime-mapping literature is n/N ÷ a/A with n, N event counts) inside the
// cells flagged when the highest-p cells covering share of the total area are
// flagged. The flagged area is exactly share·A: when the boundary falls inside
// a run of tied cells, that run counts for the fraction of its area that is
// flagged (the expectation over a random order of the ties). area nil means
// equal cells. NaN when nothing was observed.
func HitRate(p []float64, counts []int, area []float64, share float64) float64 {
	order, ends := tieGroups(p)
	var A, N float64
	for i := range p {
		A += cellArea(area, i)
		N += float64(counts[i])
	}
	if N == 0 || A == 0 {
		return math.NaN()
	}
	budget := share * A
	var hit float64
	start := 0
	for _, e := range ends {
		if budget <= 0 {
			break
		}
		var ga, gn float64
		for _, i := range order[start:e] {
			ga += cellArea(area, i)
			gn += float64(counts[i])
		}
		if ga <= budget {
			hit += gn
			budget -= ga
		} else {
			hit += gn * budget / ga
			budget = 0
		}
		start = e
	}
	return hit / N
}

func cellArea(area []float64, i int) float64 {
	if area == nil {
		return 1
	}
	return area[i]
}

// PAI is the predictive accuracy index at share: hit rate ÷ share of area.
func PAI(p []float64, counts []int, area []float64, share float64) float64 {
	return HitRate(p, counts, area, share) / share
}

// ReliabilityBin is one bin of predicted probability [Lo, Hi): how many cells
// fell in it, their mean forecast and the observed frequency of positives.
type ReliabilityBin struct {
	Lo, Hi   float64
	N        int
	MeanP    float64
	Observed float64
}

// Reliability bins the forecasts into n equal-width bins of probability (the
// last one closed at 1) and compares forecast and outcome in each; empty bins
// are left out.
func Reliability(p []float64, y []bool, n int) []ReliabilityBin {
	if n <= 0 {
		n = 10
	}
	bins := make([]ReliabilityBin, n)
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/float64(n), float64(b+1)/float64(n)
	}
	for i, v := range p {
		b := min(max(int(v*float64(n)), 0), n-1)
		bins[b].N++
		bins[b].MeanP += v
		if y[i] {
			bins[b].Observed++
		}
	}
	var out []ReliabilityBin
	for _, b := range bins {
		if b.N == 0 {
			continue
		}
		b.MeanP /= float64(b.N)
		b.Observed /= float64(b.N)
		out = append(out, b)
	}
	return out
}
