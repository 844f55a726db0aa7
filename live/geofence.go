package live

import (
	"cmp"
	"math"
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
	// At is when it happened. For enter and exit it is interpolated along the line
	// between the two fixes, at the point where the track crossed the outline (or the
	// earlier fix's time when the crossing was confirmed only now, see Geofencer);
	// for dwell it is the moment the stay reached DwellSeconds.
	At time.Time
	// Where is where it happened: the interpolated point on the outline for enter
	// and exit, the track's position for dwell. Use it as the alert's location.
	Where bluehelm.Point
}

// GeofenceOptions tunes a Geofencer. The zero value gives the defaults.
type GeofenceOptions struct {
	// MarginMeters is the hysteresis margin: a track counts as having entered (left)
	// an area only once its path has been at least this far inside (outside) the
	// outline. It is raised to a fix's circular error (CE) when that is larger, up
	// to MaxMarginMeters, and lowered for small areas (see Geofencer). Default 25.
	MarginMeters float64
	// MaxMarginMeters caps the margin a large CE can ask for, so that a device
	// reporting a CE of kilometres cannot freeze its state. Default 100.
	MaxMarginMeters float64
}

func (o GeofenceOptions) withDefaults() GeofenceOptions {
	if o.MarginMeters <= 0 {
		o.MarginMeters = 25
	}
	if o.MaxMarginMeters < o.MarginMeters {
		o.MaxMarginMeters = max(100, o.MarginMeters)
	}
	return o
}

// Geofencer evaluates the rules of areas against track movements. Areas are held in
// an R-tree by their bounds and each polygon is prepared with an index of its edges
// (see shape), so a position costs one box lookup plus tests that do not grow with
// the number of areas or of their corners.
//
// Semantics:
//   - Movement is the straight line between consecutive fixes, not the fixes alone:
//     a vehicle that crosses a small area between two fixes enters and leaves it,
//     in that order, at the interpolated times and points.
//   - Each (track, area) pair has a state, inside or outside, that changes only when
//     the track's path has gone at least the margin beyond the outline (Schmitt
//     trigger): GPS jitter around an outline raises nothing, and a track that makes
//     it in raises one enter however it wobbles on the way. The margin is
//     GeofenceOptions.MarginMeters, raised to the fixes' CE (up to MaxMarginMeters),
//     and at most half the area's "thickness" (twice its area over its perimeter:
//     the radius of a round area) so that small areas can still be entered. How far
//     a piece of the path gets is judged at its fixes and at the middle of each
//     piece between two crossings of the outline, so a fast track that merely
//     clips a corner does not count. When the fix that confirms a change is not the
//     one whose line crossed (the track stayed within the margin for a while), the
//     crossing is dated at the earlier fix of the line that confirms it.
//   - Enter and exit need an observed change of state. A track's first ever position
//     (prev == nil) raises no enter: after a restart without the picture, or when a
//     device first reports, that would be an alert storm about nothing that
//     happened. The same holds when an area is created or reshaped around tracks
//     that are already inside: the state is taken from prev, not from history.
//   - Dwell measures a stay: it starts when the state becomes inside (at a first
//     position inside, or for a track already inside a new area, at that position),
//     ends when it becomes outside, and each dwell rule fires at most once per stay,
//     from Tick. Stays are kept in memory only: after a restart a track found inside
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
	opts GeofenceOptions
	// One mutex for everything: Check takes a few microseconds, and one lock keeps
	// the states and stays consistent with the areas they refer to.
	mu     sync.Mutex
	fences map[int64]*fence
	index  rtree.RTreeG[*fence]
	gen    uint64                  // counts SetArea calls: a fence newer than a track's state is unknown to it
	tracks map[string]*trackFences // uid → the areas it is inside (state)
	stays  map[string]*trackStays  // uid → areas with dwell rules it is inside
	due    stayHeap                // stays with a dwell rule still to fire, soonest first
}

type fence struct {
	area      *bluehelm.Area
	min, max  [2]float64
	dwell     bool // has at least one dwell rule: only then are stays kept
	shape     *shape
	maxMargin float64
	gen       uint64
}

// trackFences is a track's state: the fences it is inside, as of fence generation
// asOf. Fences are held by pointer, so the state about a replaced or removed area
// lapses by itself.
type trackFences struct {
	asOf   uint64
	inside []*fence
}

// NewGeofencer returns a geofencer without areas, with the default options.
func NewGeofencer() *Geofencer { return NewGeofencerWith(GeofenceOptions{}) }

// NewGeofencerWith returns a geofencer without areas.
func NewGeofencerWith(o GeofenceOptions) *Geofencer {
	return &Geofencer{opts: o.withDefaults(), fences: make(map[int64]*fence),
		tracks: make(map[string]*trackFences), stays: make(map[string]*trackStays)}
}

// SetArea adds an area or replaces the one with the same ID. The geofencer keeps the
// pointer: treat the area as immutable afterwards and call SetArea with a new value
// to change it. Areas without rules or without an inside (routes) are not kept, as
// nothing can fire for them.
//
// Stays in a replaced area continue (a rename must not re-fire every dwell alert);
// they end if the new shape no longer contains the track, and their fired flags are
// reset only if the rules changed. Tracks take their state in the new shape from
// their next previous position, without an enter or exit.
func (g *Geofencer) SetArea(a *bluehelm.Area) {
	var f *fence
	if len(a.Rules) > 0 && polygonal(a.Geometry) {
		// Preparing a large polygon takes milliseconds: do it outside the lock.
		b := a.Geometry.Bound()
		f = &fence{area: a, min: [2]float64{b.MinLon, b.MinLat}, max: [2]float64{b.MaxLon, b.MaxLat}, shape: newShape(a.Geometry)}
		f.maxMargin = f.shape.thick / 2
		for _, r := range a.Rules {
			if r.Trigger == bluehelm.TriggerDwell {
				f.dwell = true
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.fences[a.ID]
	g.removeLocked(a.ID)
	if f == nil {
		g.dropStays(a.ID, func(*trackStays) bool { return true })
		return
	}
	g.gen++
	f.gen = g.gen
	g.fences[a.ID] = f
	g.index.Insert(f.min, f.max, f)

	g.dropStays(a.ID, func(ts *trackStays) bool {
		p := ts.state.Position
		return !f.dwell || !f.shape.contains(f.shape.project(p.Lon, p.Lat))
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

// RemoveTrack forgets a track's state and stays (the track expired or was deleted),
// so that no dwell fires for it.
func (g *Geofencer) RemoveTrack(uid string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.tracks, uid)
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

// member is a fence a track is inside after a Check, and since when (for a stay
// that starts now).
type member struct {
	f     *fence
	since time.Time
}

// transition is a change of state found along a segment, at fraction t.
type transition struct {
	t  float64
	in bool
}

// Check compares a track's previous state with its new one and returns the enter and
// exit crossings of rules that match the track's kind, in the order they happened
// (At; at the same instant exits before enters, then by area ID). prev is nil for a
// track seen for the first time. It also keeps the state and the dwell bookkeeping
// that Tick reads.
func (g *Geofencer) Check(prev *bluehelm.TrackState, cur bluehelm.TrackState) []Crossing {
	var candBuf [8]*fence // most tracks are near a handful of areas: no allocation
	var memBuf [8]member
	var tsBuf [8]float64
	var trBuf [4]transition
	from := cur.Position
	if prev != nil {
		from = prev.Position
	}
	lo := [2]float64{math.Min(from.Lon, cur.Position.Lon), math.Min(from.Lat, cur.Position.Lat)}
	hi := [2]float64{math.Max(from.Lon, cur.Position.Lon), math.Max(from.Lat, cur.Position.Lat)}
	margin := math.Min(g.opts.MaxMarginMeters, math.Max(g.opts.MarginMeters, math.Max(from.CE, cur.Position.CE)))

	g.mu.Lock()
	defer g.mu.Unlock()
	tr := g.tracks[cur.UID]
	cands := candBuf[:0]
	g.index.Search(lo, hi, func(_, _ [2]float64, f *fence) bool {
		cands = append(cands, f)
		return true
	})
	if tr != nil {
		// An area the track is inside but has left the box of this move (a long
		// gap in its reports) must still see it leave.
		for _, f := range tr.inside {
			if g.fences[f.area.ID] == f && !slices.Contains(cands, f) {
				cands = append(cands, f)
			}
		}
	}
	slices.SortFunc(cands, func(a, b *fence) int { return cmp.Compare(a.area.ID, b.area.ID) })

	var out []Crossing
	in := memBuf[:0]
	t0, t1 := from.Time, cur.Position.Time
	at := func(t float64) time.Time {
		return t0.Add(time.Duration(t * float64(t1.Sub(t0))))
	}
	for _, f := range cands {
		s := f.shape
		a, b := s.project(from.Lon, from.Lat), s.project(cur.Position.Lon, cur.Position.Lat)
		if prev == nil {
			if s.contains(b) {
				in = append(in, member{f, t1})
			}
			continue
		}
		var state bool
		if tr != nil && f.gen <= tr.asOf {
			state = slices.Contains(tr.inside, f)
		} else {
			state = s.contains(a) // new to the track: no history, no crossing
		}
		since := t0
		var trs []transition
		trs, state = walk(s, state, a, b, math.Min(margin, f.maxMargin), tsBuf[:0], trBuf[:0])
		for _, x := range trs {
			trig := bluehelm.TriggerExit
			if x.in {
				trig, since = bluehelm.TriggerEnter, at(x.t)
			}
			where := s.unproject(vec{a.x + x.t*(b.x-a.x), a.y + x.t*(b.y-a.y)})
			out = appendRules(out, f, trig, cur, at(x.t), where)
		}
		if state {
			in = append(in, member{f, since})
		}
	}
	// Keep a state for the tracks near an area only: a track whose move touches no
	// area's box is outside all of them, which is also what no state means.
	if len(cands) == 0 {
		delete(g.tracks, cur.UID)
	} else {
		if tr == nil {
			tr = &trackFences{}
			g.tracks[cur.UID] = tr
		}
		tr.asOf = g.gen
		tr.inside = tr.inside[:0]
		for _, m := range in {
			tr.inside = append(tr.inside, m.f)
		}
	}
	g.updateStays(cur, in)
	if len(out) > 1 {
		slices.SortStableFunc(out, func(x, y Crossing) int {
			return cmp.Or(x.At.Compare(y.At), cmp.Compare(exitFirst(x.Rule.Trigger), exitFirst(y.Rule.Trigger)), cmp.Compare(x.Area.ID, y.Area.ID))
		})
	}
	return out
}

func exitFirst(t bluehelm.Trigger) int {
	if t == bluehelm.TriggerExit {
		return 0
	}
	return 1
}

// walk follows segment a→b through shape s from state (inside or not) with the
// given margin and returns the changes of state along it and the state at b.
//
// The segment is cut where it crosses the outline; each piece is inside or outside
// as its midpoint is. A piece on the other side from the state changes the state
// when some point of it tested — its fixes, and the midpoint of a piece between
// two crossings — is farther than margin from the outline.
func walk(s *shape, state bool, a, b vec, margin float64, ts []float64, out []transition) ([]transition, bool) {
	ts = s.crossings(a, b, ts)
	lerp := func(t float64) vec { return vec{a.x + t*(b.x-a.x), a.y + t*(b.y-a.y)} }
	deep := func(p vec) bool { return !s.near(p, margin) }
	if len(ts) == 0 {
		// One piece: the whole segment is on the side of b.
		if s.contains(b) == state {
			return out, state
		}
		if deep(b) || deep(a) {
			return append(out, transition{0, !state}), !state
		}
		return out, state
	}
	slices.Sort(ts)
	// Pieces between consecutive cuts; adjacent pieces on the same side (the line
	// touched a corner) are merged.
	lo := 0.0
	loSide := s.contains(lerp(ts[0] / 2))
	if ts[0] == 0 {
		loSide = state // starts on the outline: the first real piece decides
	}
	flush := func(lo, hi float64, side bool) {
		if side == state {
			return
		}
		var ok bool
		switch {
		case hi >= 1 && deep(b):
			ok = true
		case lo <= 0 && deep(a):
			ok = true
		case lo > 0 || hi < 1:
			ok = deep(lerp((lo + hi) / 2))
		}
		if ok {
			out = append(out, transition{lo, side})
			state = side
		}
	}
	for i := 0; i <= len(ts); i++ {
		hi := 1.0
		if i < len(ts) {
			hi = ts[i]
		}
		next := 1.0
		if i+1 < len(ts) {
			next = ts[i+1]
		}
		var nextSide bool
		if i < len(ts) {
			if next-hi <= 1e-12 {
				continue // the same cut twice (a corner): keep the piece open
			}
			nextSide = s.contains(lerp((hi + next) / 2))
			if nextSide == loSide {
				continue // touched the outline without crossing
			}
			flush(lo, hi, loSide)
			lo, loSide = hi, nextSide
			continue
		}
		flush(lo, hi, loSide)
	}
	return out, state
}

func appendRules(out []Crossing, f *fence, t bluehelm.Trigger, s bluehelm.TrackState, at time.Time, where bluehelm.Point) []Crossing {
	for _, r := range f.area.Rules {
		if r.Trigger == t && r.Matches(s.Kind) {
			out = append(out, Crossing{Area: f.area, Rule: r, State: s, At: at, Where: where})
		}
	}
	return out
}
