package plan

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Fix is a last known position of one of a unit's tracks.
type Fix struct {
	TrackUID string
	Point    bluehelm.Point
	At       time.Time
}

// Candidate is a unit that might respond: its latest positions (one per
// track; the caller decides how old a position may be) and whether it is busy
// (on an open task or an underway patrol).
type Candidate struct {
	Unit      *bluehelm.Unit
	Positions []Fix
	Busy      bool
}

// Estimate is a travel estimate from an ETAEstimator.
type Estimate struct {
	Seconds float64
	Meters  float64
	// Estimated says the figure is not from a route on a network (a straight
	// line over a speed).
	Estimated bool
}

// ETAEstimator estimates the time a unit moving by m needs from one point to
// another; ok false means it cannot get there (a river unit with no river, no
// road route). A road network can stand in for StraightLine later.
type ETAEstimator interface {
	ETA(from, to bluehelm.Point, m bluehelm.Mobility) (e Estimate, ok bool)
}

// StraightLine estimates travel as the straight-line distance times a detour
// factor over a speed, plus the time to set off. Its answers are always
// estimates.
type StraightLine struct {
	SpeedKmh map[bluehelm.Mobility]float64
	// Detour multiplies the straight line for movement on the ground or water;
	// aircraft fly straight.
	Detour float64
	Launch map[bluehelm.Mobility]time.Duration
}

// DefaultStraightLine returns speeds of 5 km/h on foot, 40 mounted, 20 by
// river and 200 by air; detour 1.4; 5 minutes to set off on foot, 10 mounted or
// by boat, 30 by helicopter.
func DefaultStraightLine() StraightLine {
	return StraightLine{
		SpeedKmh: map[bluehelm.Mobility]float64{
			bluehelm.MobilityFoot: 5, bluehelm.MobilityMounted: 40, bluehelm.MobilityRiver: 20, bluehelm.MobilityAir: 200,
		},
		Detour: 1.4,
		Launch: map[bluehelm.Mobility]time.Duration{
			bluehelm.MobilityFoot: 5 * time.Minute, bluehelm.MobilityMounted: 10 * time.Minute,
			bluehelm.MobilityRiver: 10 * time.Minute, bluehelm.MobilityAir: 30 * time.Minute,
		},
	}
}

// ETA implements ETAEstimator. A mobility without a speed cannot move.
func (s StraightLine) ETA(from, to bluehelm.Point, m bluehelm.Mobility) (Estimate, bool) {
	v := s.SpeedKmh[m]
	if v <= 0 || math.IsNaN(v) {
		return Estimate{}, false
	}
	metres := distanceKm(from, to) * 1000
	if m != bluehelm.MobilityAir && s.Detour > 1 {
		metres *= s.Detour
	}
	sec := s.Launch[m].Seconds() + metres/(v/3.6)
	return Estimate{Seconds: sec, Meters: metres, Estimated: true}, true
}

// Ranked is a candidate with its estimate, ready to become a task: the ETA,
// distance and estimate flag are those a Task records at dispatch.
type Ranked struct {
	Unit *bluehelm.Unit
	Busy bool
	// HasETA is false when the unit has no known position (or the estimator
	// cannot bring it): it is listed last, without figures.
	HasETA         bool
	TrackUID       string // the track the estimate starts from
	From           bluehelm.Point
	PositionAt     time.Time
	ETASeconds     int
	DistanceMeters int
	ETAEstimated   bool
}

// Rank orders the units that can respond to scene: free units by ETA, then
// busy units by ETA (a busy unit is shown, since the dispatcher may still pull
// it off, but never above a free one), then units without a position or ETA
// (free before busy). Disabled units are left out. Ties go to the unit code,
// so the order does not depend on the order of candidates. For a unit with
// several tracks the estimate starts from the track with the shortest ETA.
func Rank(scene bluehelm.Point, candidates []Candidate, est ETAEstimator) []Ranked {
	out := make([]Ranked, 0, len(candidates))
	for _, c := range candidates {
		if c.Unit == nil || c.Unit.Disabled {
			continue
		}
		r := Ranked{Unit: c.Unit, Busy: c.Busy}
		best := math.Inf(1)
		for _, f := range c.Positions {
			if f.Point.Validate() != nil {
				continue
			}
			e, ok := est.ETA(f.Point, scene, c.Unit.Mobility)
			if !ok || math.IsNaN(e.Seconds) {
				continue
			}
			if e.Seconds < best || (e.Seconds == best && f.TrackUID < r.TrackUID) {
				best = e.Seconds
				r.HasETA, r.TrackUID, r.From, r.PositionAt = true, f.TrackUID, f.Point, f.At
				r.ETASeconds, r.DistanceMeters, r.ETAEstimated = int(math.Round(e.Seconds)), int(math.Round(e.Meters)), e.Estimated
			}
		}
		out = append(out, r)
	}
	group := func(r Ranked) int {
		switch {
		case r.HasETA && !r.Busy:
			return 0
		case r.HasETA:
			return 1
		case !r.Busy:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(out, func(a, b Ranked) int {
		return cmp.Or(cmp.Compare(group(a), group(b)), cmp.Compare(a.ETASeconds, b.ETASeconds),
			cmp.Compare(a.Unit.Code, b.Unit.Code), cmp.Compare(a.Unit.ID, b.Unit.ID))
	})
	return out
}
