package live

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/tidwall/rtree"
)

// proximity evaluates proximity rules: it keeps the latest position of every track
// that some rule selects (as A or B) in an R-tree, and on each position looks up
// the other side's tracks within the rule's distance. A pair fires once when it
// comes within the distance and is re-armed only when it is farther apart than the
// distance times the re-arm factor, so two tracks hovering at the distance do not
// flap. Tracks that match no rule cost a few map lookups per position.
type proximity struct {
	rearm  float64
	maxAge time.Duration

	mu     sync.Mutex
	rules  map[int64]*bluehelm.ProximityRule
	tracks map[string]*proxTrack
	index  rtree.RTreeG[*proxTrack]
	near   map[pairKey]bool // pairs that fired and are not re-armed yet
}

type proxTrack struct {
	state bluehelm.TrackState
	unit  string // the registered unit whose tracks include it, if any
	key   [2]float64
	asA   []int64 // rules that select the track as A
	asB   []int64
	pairs []pairKey // its pairs in near
}

// pairKey names a pair under a rule with the uids in order, so that a pair whose
// tracks both match both sides is one pair.
type pairKey struct {
	rule   int64
	lo, hi string
}

func newPair(rule int64, a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{rule, a, b}
}

func newProximity(rearm float64, maxAge time.Duration) *proximity {
	return &proximity{rearm: rearm, maxAge: maxAge, rules: map[int64]*bluehelm.ProximityRule{},
		tracks: map[string]*proxTrack{}, near: map[pairKey]bool{}}
}

// roles sets which rules select t's track on which side.
func (px *proximity) roles(t *proxTrack) {
	t.asA, t.asB = t.asA[:0], t.asB[:0]
	for id, r := range px.rules {
		if r.A.MatchesIn(t.state.Track, t.unit) {
			t.asA = append(t.asA, id)
		}
		if r.B.MatchesIn(t.state.Track, t.unit) {
			t.asB = append(t.asB, id)
		}
	}
	slices.Sort(t.asA)
	slices.Sort(t.asB)
}

func (px *proximity) set(r *bluehelm.ProximityRule) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.dropRule(r.ID)
	if !r.Disabled {
		px.rules[r.ID] = r
	}
	for uid, t := range px.tracks {
		px.roles(t)
		if len(t.asA) == 0 && len(t.asB) == 0 {
			px.removeLocked(uid)
		}
	}
}

func (px *proximity) remove(id int64) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.dropRule(id)
	delete(px.rules, id)
	for uid, t := range px.tracks {
		px.roles(t)
		if len(t.asA) == 0 && len(t.asB) == 0 {
			px.removeLocked(uid)
		}
	}
}

// dropRule forgets the fired pairs of a rule (a changed rule starts afresh).
func (px *proximity) dropRule(id int64) {
	for k := range px.near {
		if k.rule == id {
			px.unpair(k)
		}
	}
}

func (px *proximity) unpair(k pairKey) {
	delete(px.near, k)
	for _, uid := range []string{k.lo, k.hi} {
		if t := px.tracks[uid]; t != nil {
			t.pairs = slices.DeleteFunc(t.pairs, func(p pairKey) bool { return p == k })
		}
	}
}

func (px *proximity) removeTrack(uid string) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.removeLocked(uid)
}

func (px *proximity) removeLocked(uid string) {
	t := px.tracks[uid]
	if t == nil {
		return
	}
	for _, k := range slices.Clone(t.pairs) {
		px.unpair(k)
	}
	px.index.Delete(t.key, t.key, t)
	delete(px.tracks, uid)
}

// observe records cur and returns the proximity findings it causes.
func (px *proximity) observe(cur bluehelm.TrackState, unit string) []Finding {
	px.mu.Lock()
	defer px.mu.Unlock()
	if len(px.rules) == 0 {
		return nil
	}
	t := px.tracks[cur.UID]
	if t == nil {
		t = &proxTrack{state: cur, unit: unit}
		px.roles(t)
		if len(t.asA) == 0 && len(t.asB) == 0 {
			return nil
		}
		px.tracks[cur.UID] = t
	} else {
		metaChanged := !sameTrackMeta(t.state.Track, cur.Track) || t.unit != unit
		px.index.Delete(t.key, t.key, t)
		t.state, t.unit = cur, unit
		if metaChanged {
			px.roles(t)
			if len(t.asA) == 0 && len(t.asB) == 0 {
				delete(px.tracks, cur.UID)
				for _, k := range slices.Clone(t.pairs) {
					px.unpair(k)
				}
				return nil
			}
		}
	}
	t.key = pointKey(cur.Position)
	px.index.Insert(t.key, t.key, t)
	here := cur.Position.Point()

	// Re-arm the pairs that have moved apart.
	for _, k := range slices.Clone(t.pairs) {
		other := px.tracks[k.lo]
		if other == t {
			other = px.tracks[k.hi]
		}
		r := px.rules[k.rule]
		if other == nil || r == nil || metres(here, other.state.Position.Point()) > float64(r.DistanceMeters)*px.rearm {
			px.unpair(k)
		}
	}

	var out []Finding
	look := func(id int64, selfIsA bool) {
		r := px.rules[id]
		d := float64(r.DistanceMeters)
		dLat := d / metresPerDegree
		dLon := d / (metresPerDegree * math.Max(0.01, math.Cos(cur.Position.Lat*math.Pi/180)))
		px.index.Search([2]float64{here.Lon - dLon, here.Lat - dLat}, [2]float64{here.Lon + dLon, here.Lat + dLat},
			func(_, _ [2]float64, o *proxTrack) bool {
				if o == t {
					return true
				}
				side := o.asB
				if !selfIsA {
					side = o.asA
				}
				if _, ok := slices.BinarySearch(side, id); !ok {
					return true
				}
				if px.maxAge > 0 && cur.Position.Time.Sub(o.state.Position.Time) > px.maxAge {
					return true // a stale report: not where that track is now
				}
				k := newPair(id, cur.UID, o.state.UID)
				if px.near[k] {
					return true
				}
				dist := metres(here, o.state.Position.Point())
				if dist > d {
					return true
				}
				px.near[k] = true
				t.pairs = append(t.pairs, k)
				o.pairs = append(o.pairs, k)
				a, b := t.state, o.state
				if !selfIsA {
					a, b = b, a
				}
				out = append(out, proximityFinding(r, a, b, dist, cur.Position.Time))
				return true
			})
	}
	for _, id := range t.asA {
		look(id, true)
	}
	for _, id := range t.asB {
		if !slices.Contains(t.asA, id) { // both sides: the first look found every pair
			look(id, false)
		}
	}
	slices.SortFunc(out, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(x.RuleID, y.RuleID), cmp.Compare(x.OtherUID, y.OtherUID))
	})
	return out
}

func proximityFinding(r *bluehelm.ProximityRule, a, b bluehelm.TrackState, dist float64, at time.Time) Finding {
	where := a.Position.Point()
	f := Finding{Kind: FindProximity, RuleID: r.ID, UID: a.UID, OtherUID: b.UID, At: at, Where: &where,
		Value: math.Round(dist), Severity: r.Severity}
	m, ok := bluehelm.Combine(a.Marking, b.Marking)
	if ok {
		m, ok = bluehelm.Combine(m, r.Marking)
	}
	if ok {
		f.Marking = m
		f.Text = fmt.Sprintf("%s is %.0f m from %s (%s: within %d m)", trackName(a), dist, trackName(b), r.Name, r.DistanceMeters)
	} else {
		// Nobody may see both tracks and the rule: tell A's people that something
		// came close, without naming it.
		f.Marking, f.OtherUID = a.Marking, ""
		f.Text = fmt.Sprintf("%s is within %d m of a track under a proximity rule", trackName(a), r.DistanceMeters)
	}
	return f
}

func trackName(s bluehelm.TrackState) string {
	if s.Callsign != "" {
		return s.Callsign
	}
	return s.UID
}
