package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// testOrigin is the forecast origin of the synthetic histories.
var testOrigin = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// plane converts km around an area's centre to lon/lat with the same
// equirectangular projection as a grid made for that area.
type plane struct{ g *Grid }

func (p plane) point(x, y float64) bluehelm.Point {
	return bluehelm.Point{Lon: p.g.refLon + x/p.g.kx, Lat: p.g.refLat + y/p.g.ky}
}

// hawkesSim describes a planted self-exciting process on a square of side L km
// centred on the area's centre, with a uniform background of Nu events a day,
// over the Days before the origin (and After days after it).
type hawkesSim struct {
	Nu, Kappa, DecayDays, SigmaKm, L float64
	Days, After                      float64
	Seed                             uint64
	// Hotspots > 0 draws the background around that many centres (Gaussian of
	// HotspotKm) instead of uniformly: clustered like real conflict data.
	Hotspots  int
	HotspotKm float64
}

// simEvent is a simulated event with its planted parent (-1 for background).
type simEvent struct {
	Event
	Parent int64
}

// simulate draws the process by branching: background events first, then each
// event's Poisson(κ) children at Exp(β) delays and Gaussian offsets, until no
// generation is left. Returned sorted by time, IDs 1..n in time order.
func (s hawkesSim) simulate(pl plane) []simEvent {
	rng := rand.New(rand.NewPCG(s.Seed, 42))
	type raw struct {
		t, x, y float64
		parent  int
	}
	var all []raw
	end := s.After
	nbg := poisson(rng, s.Nu*(s.Days+s.After))
	var hx, hy []float64
	for range s.Hotspots {
		hx, hy = append(hx, (rng.Float64()-0.5)*s.L*0.9), append(hy, (rng.Float64()-0.5)*s.L*0.9)
	}
	for range nbg {
		x, y := (rng.Float64()-0.5)*s.L, (rng.Float64()-0.5)*s.L
		if s.Hotspots > 0 {
			k := rng.IntN(s.Hotspots)
			x, y = hx[k]+rng.NormFloat64()*s.HotspotKm, hy[k]+rng.NormFloat64()*s.HotspotKm
		}
		all = append(all, raw{t: -s.Days + rng.Float64()*(s.Days+s.After), x: x, y: y, parent: -1})
	}
	for gen := 0; gen < len(all); gen++ {
		p := all[gen]
		for range poisson(rng, s.Kappa) {
			t := p.t + rng.ExpFloat64()*s.DecayDays
			if t >= end {
				continue
			}
			all = append(all, raw{t: t, x: p.x + rng.NormFloat64()*s.SigmaKm, y: p.y + rng.NormFloat64()*s.SigmaKm, parent: gen})
		}
	}
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpF(all[a].t, all[b].t) })
	id := make([]int64, len(all))
	for rank, i := range order {
		id[i] = int64(rank + 1)
	}
	out := make([]simEvent, len(all))
	for rank, i := range order {
		r := all[i]
		par := int64(-1)
		if r.parent >= 0 {
			par = id[r.parent]
		}
		out[rank] = simEvent{Event: Event{ID: int64(rank + 1), Time: testOrigin.Add(time.Duration(r.t * float64(day))),
			Point: pl.point(r.x, r.y), Category: bluehelm.CatArmedClash}, Parent: par}
	}
	return out
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean > 50 { // normal approximation is plenty for counts this large
		return max(0, int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func eventsOf(se []simEvent) []Event {
	out := make([]Event, len(se))
	for i, e := range se {
		out[i] = e.Event
	}
	return out
}

// beforeOrigin keeps the events strictly before the origin.
func beforeOrigin(ev []Event) []Event {
	var out []Event
	for _, e := range ev {
		if e.Time.Before(testOrigin) {
			out = append(out, e)
		}
	}
	return out
}
