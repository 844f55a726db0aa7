package live

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/tidwall/rtree"
)

// Crossing is a geofence rule that fired: a track entered or left an area, or has
// stayed in it longer than the rule's DwellSeconds.
type Crossing struct {
	Area  *bluehelm.Area
	Rule  bluehelm.AreaRule
	State bluehelm.TrackState // the track's latest known state
	// At is when it happened: the position time for enter and exit; for dwell the
	// moment the stay reached DwellSeconds (start of stay + DwellSeconds).
	At time.Time
}

// Geofencer evaluates the rules of areas against track movements. Areas are held in
// an R-tree by their bounds, so a position costs one point lookup plus an exact
// point-in-polygon test for the few areas whose box contains it, however many areas
// the mission has.
//
// Semantics:
//   - Enter and exit need an observed transition between two positions. A track's
//     first ever position (prev == nil) raises no enter: after a restart without the
//     picture, or when a device first reports, that would be an alert storm about
//     nothing that happened. The same holds when an area is created or reshaped
//     around tracks that are already inside.
//   - Dwell measures a stay: it starts at the first position seen inside (a first
//     position counts here, as does a track already inside a new area), ends at the
//     first position outside, and each dwell rule fires at most once per stay, from
//     Tick. Stays are kept in memory only: after a restart a track found inside
//     starts a new stay from its last stored position, so a dwell alert raised
//     before the restart is raised once more when that new stay is long enough
//     (whoever raises alerts should skip one while the same track/area/trigger
//     alert is still open). Stay times are report (device) times while Tick takes
//     the server clock, so a device clock error shifts the alert by that much.
//
// Check calls for one track must not run concurrently with each other (the ingest
// pipeline applies a track's positions in order); calls for different tracks may.
//
// The zero value is not usable; call NewGeofencer.
type Geofencer struct {
	// One mutex for everything: Check takes under a microsecond, and one lock keeps the
	// stays consistent with the areas they refer to.
	mu     sync.Mutex
	fences map[int64]*fence
	index  rtree.RTreeG[*fence]
	stays  map[string]*trackStays // uid → areas with dwell rules it is inside
	due    stayHeap               // stays with a dwell rule still to fire, soonest first
}

type fence struct {
	area     *bluehelm.Area
	min, max [2]float64
	dwell    bool // has at least one dwell rule: only then are stays kept
}

// NewGeofencer returns a geofencer without areas.
func NewGeofencer() *Geofencer {
	return &Geofencer{fences: make(map[int64]*fence), stays: make(map[string]*trackStays)}
}

// SetArea adds an area or replaces the one with the same ID. The geofencer keeps the
// pointer: treat the area as immutable afterwards and call SetArea with a new value
// to change it. Areas without rules or without an inside (routes) are not kept, as
// nothing can fire for them.
//
// Stays in a replaced area continue (a rename must not re-fire every dwell alert);
// they end if the new shape no longer contains the track, and their fired flags are
// reset only if the rules changed.
func (g *Geofencer) SetArea(a *bluehelm.Area) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.fences[a.ID]
	g.removeLocked(a.ID)
	if len(a.Rules) == 0 || !polygonal(a.Geometry) {
		g.dropStays(a.ID, func(*trackStays) bool { return true })
		return
	}
	b := a.Geometry.Bound()
	f := &fence{area: a, min: [2]float64{b.MinLon, b.MinLat}, max: [2]float64{b.MaxLon, b.MaxLat}}
	for _, r := range a.Rules {
		if r.Trigger == bluehelm.TriggerDwell {
			f.dwell = true
		}
	}
	g.fences[a.ID] = f
	g.index.Insert(f.min, f.max, f)

	g.dropStays(a.ID, func(ts *trackStays) bool {
		return !f.dwell || !a.Geometry.Contains(ts.state.Position.Point())
	})
	rulesChanged := old == nil || !slices.EqualFunc(old.area.Rules, a.Rules, sameRule)
	for _, ts := range g.stays {
		if s, ok := ts.areas[a.ID]; ok {
			if rulesChanged {
				s.fired = make([]bool, len(a.Rules))
			}
			g.schedule(s, f, ts.state.Kind)
		}
	}
}

func sameRule(a, b bluehelm.AreaRule) bool {
	return a.Trigger == b.Trigger && a.DwellSeconds == b.DwellSeconds && a.Severity == b.Severity &&
		slices.Equal(a.TrackKinds, b.TrackKinds)
}

func polygonal(g bluehelm.Geometry) bool {
	switch g.GeoJSONType() {
	case "Polygon", "MultiPolygon":
		return true
	}
	return false
}

// RemoveArea forgets an area and the stays in it.
func (g *Geofencer) RemoveArea(id int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(id)
	g.dropStays(id, func(*trackStays) bool { return true })
}

func (g *Geofencer) removeLocked(id int64) {
	if f, ok := g.fences[id]; ok {
		g.index.Delete(f.min, f.max, f)
		delete(g.fences, id)
	}
}

// dropStays ends the stays in area id of the tracks for which drop says so.
func (g *Geofencer) dropStays(id int64, drop func(*trackStays) bool) {
	for uid, ts := range g.stays {
		if s, ok := ts.areas[id]; ok && drop(ts) {
			g.unschedule(s)
			delete(ts.areas, id)
			if len(ts.areas) == 0 {
				delete(g.stays, uid)
			}
		}
	}
}

// RemoveTrack forgets a track's stays (the track expired or was deleted), so that no
// dwell fires for it.
func (g *Geofencer) RemoveTrack(uid string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ts, ok := g.stays[uid]; ok {
		for _, s := range ts.areas {
			g.unschedule(s)
		}
		delete(g.stays, uid)
	}
}

// Len returns the number of areas that carry rules.
func (g *Geofencer) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.fences)
}

// containing appends to buf the fences whose polygon contains p, ordered by area ID
// so that crossings come out in a stable order.
func (g *Geofencer) containing(buf []*fence, p bluehelm.Position) []*fence {
	k := pointKey(p)
	pt := p.Point()
	g.index.Search(k, k, func(_, _ [2]float64, f *fence) bool {
		if f.area.Geometry.Contains(pt) {
			buf = append(buf, f)
		}
		return true
	})
	slices.SortFunc(buf, func(a, b *fence) int { return cmp.Compare(a.area.ID, b.area.ID) })
	return buf
}

// Check compares a track's previous state with its new one and returns the enter and
// exit crossings of rules that match the track's kind: exits first, then enters,
// each by area ID. prev is nil for a track seen for the first time. It also keeps
// the dwell bookkeeping that Tick reads.
func (g *Geofencer) Check(prev *bluehelm.TrackState, cur bluehelm.TrackState) []Crossing {
	var bufCur, bufPrev [8]*fence // most points are inside a handful of areas: no allocation
	g.mu.Lock()
	defer g.mu.Unlock()
	in := g.containing(bufCur[:0], cur.Position)
	var was []*fence
	if prev != nil {
		if pointKey(prev.Position) == pointKey(cur.Position) {
			was = in
		} else {
			was = g.containing(bufPrev[:0], prev.Position)
		}
	}

	var out []Crossing
	if prev != nil {
		for _, f := range was {
			if !slices.Contains(in, f) {
				out = appendRules(out, f, bluehelm.TriggerExit, cur, cur.Position.Time)
			}
		}
		for _, f := range in {
			if !slices.Contains(was, f) {
				out = appendRules(out, f, bluehelm.TriggerEnter, cur, cur.Position.Time)
			}
		}
	}
	g.updateStays(prev, was, cur, in)
	return out
}

func appendRules(out []Crossing, f *fence, t bluehelm.Trigger, s bluehelm.TrackState, at time.Time) []Crossing {
	for _, r := range f.area.Rules {
		if r.Trigger == t && r.Matches(s.Kind) {
			out = append(out, Crossing{Area: f.area, Rule: r, State: s, At: at})
		}
	}
	return out
}
