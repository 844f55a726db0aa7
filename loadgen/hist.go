package loadgen

import (
	"math/bits"
	"time"
)

// hist is a log-linear histogram of durations in nanoseconds, in the manner of
// HdrHistogram: values below 128 ns are counted exactly; above, every power of two
// is split into 64 equal buckets, so a bucket is at most 1/64 of its lower bound
// wide and its midpoint is within 1/128 (0.8 %) of any value in it. A fixed array
// (no allocation per sample, no sorting at the end) keeps recording at a few
// nanoseconds, which matters at 200,000 deliveries per second.
//
// Counts are uint32 to keep one histogram per receiver small; a receiver would
// need 4 billion deliveries in one run to overflow it.
type hist struct {
	counts [histBuckets]uint32
	n      uint64
	sum    int64
	max    int64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits // buckets per power of two
	// Values of 2^40 ns (18 minutes) and more land in the last bucket: a latency that
	// long is a hung server, and its exact size no longer matters.
	histMaxBits = 40
	histBuckets = (histMaxBits-histSubBits)*histSub + 2*histSub
)

func histIndex(v int64) int {
	if v < 2*histSub {
		return int(v)
	}
	if v >= 1<<histMaxBits {
		return histBuckets - 1
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1
	return e*histSub + int(v>>e)
}

// histValue is the midpoint of bucket i.
func histValue(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	e := i/histSub - 1
	m := int64(i%histSub + histSub)
	return m<<e + (1<<e)/2
}

func (h *hist) record(v time.Duration) {
	ns := max(int64(v), 0)
	h.counts[histIndex(ns)]++
	h.n++
	h.sum += ns
	h.max = max(h.max, ns)
}

// wideHist is the sum of the receivers' histograms, with uint64 counts: merged,
// 200 receivers can exceed uint32.
type wideHist struct {
	counts [histBuckets]uint64
	n      uint64
	sum    int64
	max    int64
}

func (w *wideHist) add(h *hist) {
	if h == nil {
		return
	}
	for i, c := range h.counts {
		w.counts[i] += uint64(c)
	}
	w.n += h.n
	w.sum += h.sum
	w.max = max(w.max, h.max)
}

// quantile returns the value at quantile q (0 < q ≤ 1): the smallest bucket whose
// cumulative count reaches q of all samples, never more than the exact maximum.
func (w *wideHist) quantile(q float64) time.Duration {
	if w.n == 0 {
		return 0
	}
	rank := uint64(q * float64(w.n))
	if float64(rank) < q*float64(w.n) || rank == 0 {
		rank++
	}
	var cum uint64
	for i, c := range w.counts {
		cum += c
		if cum >= rank {
			return time.Duration(min(histValue(i), w.max))
		}
	}
	return time.Duration(w.max)
}

func (w *wideHist) summary() *Latency {
	if w.n == 0 {
		return nil
	}
	return &Latency{
		Count: w.n,
		Mean:  ms(time.Duration(w.sum / int64(w.n))),
		P50:   ms(w.quantile(0.50)),
		P90:   ms(w.quantile(0.90)),
		P99:   ms(w.quantile(0.99)),
		Max:   ms(time.Duration(w.max)),
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
