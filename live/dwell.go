package live

import (
	"cmp"
	"container/heap"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Dwell bookkeeping of the Geofencer. A stay is one track inside one area that has
// dwell rules. Stays wait in a heap ordered by the next moment one of their rules
// falls due, so Tick costs the stays that are due, not every open stay: a mission
// with thousands of vehicles parked in camps ticks as cheaply as an empty one.
// Everything here runs under Geofencer.mu.

type trackStays struct {
	state bluehelm.TrackState // latest, for the crossing and the kind match
	areas map[int64]*stay
}

type stay struct {
	uid   string
	area  int64
	since time.Time
	fired []bool    // per rule index of the area: fired already in this stay
	due   time.Time // earliest deadline of a rule not yet fired that matches the kind
	idx   int       // index in the heap, -1 when nothing is left to fire
}

// stayHeap is a min-heap of stays by due, keeping each stay's idx current so that
// a stay can be removed or moved when it ends or its rules change.
type stayHeap []*stay

func (h stayHeap) Len() int           { return len(h) }
func (h stayHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h stayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *stayHeap) Push(x any) {
	s := x.(*stay)
	s.idx = len(*h)
	*h = append(*h, s)
}
func (h *stayHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.idx = -1
	return s
}

// nextDue returns the earliest deadline among the area's dwell rules that match kind
// and have not fired in this stay, or the zero time if there is none.
func nextDue(s *stay, f *fence, kind bluehelm.TrackKind) time.Time {
	var due time.Time
	for i, r := range f.area.Rules {
		if r.Trigger != bluehelm.TriggerDwell || s.fired[i] || !r.Matches(kind) {
			continue
		}
		at := s.since.Add(time.Duration(r.DwellSeconds) * time.Second)
		if due.IsZero() || at.Before(due) {
			due = at
		}
	}
	return due
}

// schedule puts s in the heap at its next deadline, or takes it out if none is left.
func (g *Geofencer) schedule(s *stay, f *fence, kind bluehelm.TrackKind) {
	s.due = nextDue(s, f, kind)
	switch {
	case s.due.IsZero():
		g.unschedule(s)
	case s.idx >= 0:
		heap.Fix(&g.due, s.idx)
	default:
		heap.Push(&g.due, s)
	}
}

func (g *Geofencer) unschedule(s *stay) {
	if s.idx >= 0 {
		heap.Remove(&g.due, s.idx)
	}
}

// updateStays opens and ends stays after a Check that found the track inside the
// fences of in (with the start of a stay that begins now).
func (g *Geofencer) updateStays(cur bluehelm.TrackState, in []member) {
	ts := g.stays[cur.UID]
	if ts != nil {
		kindChanged := ts.state.Kind != cur.Kind
		ts.state = cur
		// End the stays in every area the track is no longer inside. Iterating the
		// stays rather than the areas left also ends stays that the states cannot
		// explain (an area replaced in between).
		for id, s := range ts.areas {
			if !slices.ContainsFunc(in, func(m member) bool { return m.f.area.ID == id }) {
				g.unschedule(s)
				delete(ts.areas, id)
			} else if kindChanged {
				g.schedule(s, g.fences[id], cur.Kind)
			}
		}
	}
	for _, m := range in {
		f := m.f
		if !f.dwell {
			continue
		}
		if ts == nil {
			ts = &trackStays{state: cur, areas: make(map[int64]*stay, 1)}
			g.stays[cur.UID] = ts
		}
		if _, ok := ts.areas[f.area.ID]; ok {
			continue
		}
		// A track inside already at prev without a stay (the stay was lost in a
		// restart, or the area is new) has stayed at least since prev: m.since says so.
		s := &stay{uid: cur.UID, area: f.area.ID, since: m.since, fired: make([]bool, len(f.area.Rules)), idx: -1}
		ts.areas[f.area.ID] = s
		g.schedule(s, f, cur.Kind)
	}
	if ts != nil && len(ts.areas) == 0 {
		delete(g.stays, cur.UID)
	}
}

// Tick returns the dwell crossings due at now: tracks that have stayed in an area
// longer than a dwell rule's DwellSeconds, once per rule and stay. Call it every few
// seconds; a dwell fires at the first Tick after it is due, even if the track has
// stopped reporting. The result is ordered by At, then area ID, then track uid.
func (g *Geofencer) Tick(now time.Time) []Crossing {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Crossing
	for len(g.due) > 0 && !now.Before(g.due[0].due) {
		s := g.due[0]
		ts, f := g.stays[s.uid], g.fences[s.area]
		if ts == nil || f == nil {
			heap.Pop(&g.due) // cannot happen: ending a stay unschedules it; be safe anyway
			continue
		}
		for i, r := range f.area.Rules {
			if r.Trigger != bluehelm.TriggerDwell || s.fired[i] || !r.Matches(ts.state.Kind) {
				continue
			}
			at := s.since.Add(time.Duration(r.DwellSeconds) * time.Second)
			if now.Before(at) {
				continue
			}
			s.fired[i] = true
			out = append(out, Crossing{Area: f.area, Rule: r, State: ts.state, At: at})
		}
		// Every rule due by now has fired, so the stay's next deadline is later
		// than now (or there is none) and the loop moves on.
		g.schedule(s, f, ts.state.Kind)
	}
	slices.SortFunc(out, func(a, b Crossing) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Area.ID, b.Area.ID), cmp.Compare(a.State.UID, b.State.UID))
	})
	return out
}
