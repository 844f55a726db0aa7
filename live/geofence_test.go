package live

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// square returns a closed ring of the box (x0,y0)-(x1,y1).
func square(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

func area(id int64, g orb.Geometry, rules ...bluehelm.AreaRule) *bluehelm.Area {
	return &bluehelm.Area{ID: id, Name: fmt.Sprint("area ", id), Kind: bluehelm.AreaRestricted,
		Geometry: bluehelm.Geometry{Geometry: g}, Rules: rules, Marking: unclass}
}

func rule(tr bluehelm.Trigger, kinds ...bluehelm.TrackKind) bluehelm.AreaRule {
	return bluehelm.AreaRule{Trigger: tr, TrackKinds: kinds, Severity: bluehelm.SevWarning}
}

func dwell(sec int, kinds ...bluehelm.TrackKind) bluehelm.AreaRule {
	r := rule(bluehelm.TriggerDwell, kinds...)
	r.DwellSeconds = sec
	return r
}

func state(uid string, kind bluehelm.TrackKind, sec int, lon, lat float64) bluehelm.TrackState {
	return bluehelm.TrackState{
		Track:    bluehelm.Track{UID: uid, Kind: kind, Marking: unclass},
		Position: pos(uid, sec, lon, lat),
	}
}

// describe renders crossings as "trigger:areaID" for comparison.
func describe(cs []Crossing) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s:%d", c.Rule.Trigger, c.Area.ID))
	}
	return out
}

func testFences() *Geofencer {
	g := NewGeofencer()
	// 1: a camp, enter and exit for everything.
	g.SetArea(area(1, orb.Polygon{square(0, 0, 10, 10)}, rule(bluehelm.TriggerEnter), rule(bluehelm.TriggerExit)))
	// 2: a restricted area with a hole (an allowed enclave at 22..28), vehicles only.
	g.SetArea(area(2, orb.Polygon{square(20, 0, 30, 10), square(22, 2, 28, 8)},
		rule(bluehelm.TriggerEnter, bluehelm.KindVehicle), rule(bluehelm.TriggerExit, bluehelm.KindVehicle)))
	// 3: a multipolygon sector, enter only, for persons and units.
	g.SetArea(area(3, orb.MultiPolygon{{square(40, 0, 42, 2)}, {square(44, 0, 46, 2)}},
		rule(bluehelm.TriggerEnter, bluehelm.KindPerson, bluehelm.KindUnit)))
	// 4: overlaps 1 on its east side: enter only.
	g.SetArea(area(4, orb.Polygon{square(8, 0, 15, 10)}, rule(bluehelm.TriggerEnter)))
	// 5: a route: no inside, never fires, not kept.
	route := area(5, orb.LineString{{0, 0}, {50, 0}}, rule(bluehelm.TriggerEnter))
	route.Kind = bluehelm.AreaRoute
	g.SetArea(route)
	// 6: an area without rules is not kept either.
	g.SetArea(area(6, orb.Polygon{square(0, 0, 50, 50)}))
	return g
}

func TestGeofenceCheck(t *testing.T) {
	g := testFences()
	if g.Len() != 4 {
		t.Fatalf("Len = %d, want 4 (route and rule-less area not kept)", g.Len())
	}
	type pt struct{ lon, lat float64 }
	tests := []struct {
		name string
		kind bluehelm.TrackKind
		prev *pt // nil: first position
		cur  pt
		want []string // trigger:area@seconds after prev (which is at 0, cur at 10)
	}{
		{"outside to inside", bluehelm.KindUnit, &pt{-1, 5}, pt{9, 5}, []string{"enter:1@1", "enter:4@9"}},
		{"inside to outside", bluehelm.KindUnit, &pt{5, 5}, pt{-5, 5}, []string{"exit:1@5"}},
		{"inside to inside", bluehelm.KindUnit, &pt{5, 5}, pt{6, 6}, nil},
		{"outside to outside", bluehelm.KindUnit, &pt{-5, 5}, pt{-1, -1}, nil},
		{"first position inside raises nothing", bluehelm.KindUnit, nil, pt{5, 5}, nil},
		// The line between the fixes crosses the camp and area 4: in, in, out of 1.
		{"jump across the camp", bluehelm.KindUnit, &pt{-4, 5}, pt{16, 5}, []string{"enter:1@2", "enter:4@6", "exit:1@7"}},
		{"diagonal jump across a corner", bluehelm.KindUnit, &pt{-2, 6}, pt{8, 16}, []string{"enter:1@2", "exit:1@4"}},
		// The line cuts the corner at (0,10) less than 25 m deep: no more than jitter.
		{"clipping a corner raises nothing", bluehelm.KindUnit, &pt{-1, 8.9997}, pt{1, 10.9997}, nil},
		{"from one area to the next", bluehelm.KindUnit, &pt{5, 5}, pt{15, 5}, []string{"enter:4@3", "exit:1@5"}},
		{"onto the edge is not in yet", bluehelm.KindUnit, &pt{-1, 5}, pt{0, 5}, nil},
		{"vehicle into the restricted ring", bluehelm.KindVehicle, &pt{19, 5}, pt{21, 5}, []string{"enter:2@5"}},
		{"vehicle from the ring into the hole", bluehelm.KindVehicle, &pt{21, 5}, pt{25, 5}, []string{"exit:2@2.5"}},
		{"vehicle from the hole into the ring", bluehelm.KindVehicle, &pt{25, 5}, pt{21, 5}, []string{"enter:2@7.5"}},
		{"vehicle through the ring into the hole", bluehelm.KindVehicle, &pt{19, 5}, pt{25, 5}, []string{"enter:2@1.667", "exit:2@5"}},
		{"person ignored by a vehicle rule", bluehelm.KindPerson, &pt{19, 5}, pt{21, 5}, nil},
		{"person into a multipolygon part", bluehelm.KindPerson, &pt{43, 1}, pt{45, 1}, []string{"enter:3@5"}},
		{"person through both parts", bluehelm.KindPerson, &pt{39, 1}, pt{47, 1}, []string{"enter:3@1.25", "enter:3@6.25"}},
		{"vehicle ignored by the multipolygon", bluehelm.KindVehicle, &pt{43, 1}, pt{45, 1}, nil},
		{"between the parts is outside", bluehelm.KindPerson, &pt{42.5, 1}, pt{43.5, 1}, nil},
		{"along a route fires nothing", bluehelm.KindUnit, &pt{35, -1}, pt{35, 0}, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uid := fmt.Sprint("u", i) // each case its own track: the geofencer keeps state
			cur := state(uid, tc.kind, 10, tc.cur.lon, tc.cur.lat)
			var prev *bluehelm.TrackState
			if tc.prev != nil {
				p := state(uid, tc.kind, 0, tc.prev.lon, tc.prev.lat)
				prev = &p
			}
			got := g.Check(prev, cur)
			var desc []string
			for _, c := range got {
				desc = append(desc, fmt.Sprintf("%s:%d@%s", c.Rule.Trigger, c.Area.ID,
					strconv.FormatFloat(math.Round(c.At.Sub(t0).Seconds()*1000)/1000, 'f', -1, 64)))
				if c.State.UID != uid || !c.State.Position.Time.Equal(cur.Position.Time) || c.Area == nil {
					t.Errorf("crossing %+v: want the state of %s at %v", c, uid, cur.Position.Time)
				}
				// Where lies on the line between the fixes, at the fraction At says.
				f := c.At.Sub(t0).Seconds() / 10
				wantLon := tc.prev.lon + f*(tc.cur.lon-tc.prev.lon)
				wantLat := tc.prev.lat + f*(tc.cur.lat-tc.prev.lat)
				if math.Abs(c.Where.Lon-wantLon) > 1e-6 || math.Abs(c.Where.Lat-wantLat) > 1e-6 {
					t.Errorf("%s at %v, want %v,%v", c.Rule.Trigger, c.Where, wantLon, wantLat)
				}
			}
			if !slices.Equal(desc, tc.want) {
				t.Errorf("got %v, want %v", desc, tc.want)
			}
		})
	}
}

func TestGeofenceRemoveArea(t *testing.T) {
	g := testFences()
	g.RemoveArea(1)
	prev := state("u", bluehelm.KindUnit, 0, -1, 5)
	if got := describe(g.Check(&prev, state("u", bluehelm.KindUnit, 1, 5, 5))); got != nil {
		t.Errorf("removed area still fires: %v", got)
	}
	// Replacing an area takes effect: area 4 moved away from x=9.
	g.SetArea(area(4, orb.Polygon{square(100, 0, 110, 10)}, rule(bluehelm.TriggerEnter)))
	if got := describe(g.Check(&prev, state("u", bluehelm.KindUnit, 1, 9, 5))); got != nil {
		t.Errorf("old shape of a replaced area still fires: %v", got)
	}
	if got := describe(g.Check(&prev, state("u", bluehelm.KindUnit, 1, 105, 5))); !slices.Equal(got, []string{"enter:4"}) {
		t.Errorf("new shape: got %v, want [enter:4]", got)
	}
}

// checkHeap verifies the dwell heap: ordered, indexes current, and holding exactly the
// open stays that still have a rule to fire.
func checkHeap(t *testing.T, g *Geofencer) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, s := range g.due {
		if s.idx != i {
			t.Fatalf("heap[%d] has idx %d", i, s.idx)
		}
		if i > 0 && s.due.Before(g.due[(i-1)/2].due) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	n := 0
	for uid, ts := range g.stays {
		for id, s := range ts.areas {
			want := nextDue(s, g.fences[id], ts.state.Kind)
			if !s.due.Equal(want) || (s.idx >= 0) != !want.IsZero() {
				t.Fatalf("stay %s in %d: due %v idx %d, want due %v", uid, id, s.due, s.idx, want)
			}
			if s.idx >= 0 {
				n++
			}
		}
	}
	if n != len(g.due) {
		t.Fatalf("heap holds %d stays, %d are scheduled", len(g.due), n)
	}
}

func TestGeofenceDwell(t *testing.T) {
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	newG := func() *Geofencer {
		g := NewGeofencer()
		// Persons may not stay in area 1 longer than 60 s; anybody not longer than 120 s.
		g.SetArea(area(1, orb.Polygon{square(0, 0, 10, 10)}, dwell(60, bluehelm.KindPerson), dwell(120), rule(bluehelm.TriggerEnter)))
		return g
	}
	// move feeds a track's positions through Check, as the ingest pipeline does.
	type mover struct {
		g    *Geofencer
		prev *bluehelm.TrackState
	}
	move := func(m *mover, s bluehelm.TrackState) {
		m.g.Check(m.prev, s)
		m.prev = &s
	}
	ticks := func(g *Geofencer, sec int) string {
		var out []string
		for _, c := range g.Tick(at(sec)) {
			out = append(out, fmt.Sprintf("%s/%d@%d", c.State.UID, c.Rule.DwellSeconds, int(c.At.Sub(t0).Seconds())))
		}
		return strings.Join(out, " ")
	}

	t.Run("fires once per stay and rule", func(t *testing.T) {
		g := newG()
		m := &mover{g: g}
		move(m, state("p", bluehelm.KindPerson, 0, -5, 5))
		move(m, state("p", bluehelm.KindPerson, 20, 5, 5)) // enters at 10, half way
		for _, c := range []struct {
			sec  int
			want string
		}{
			{69, ""},
			{70, "p/60@70"},
			{71, ""}, // fired already
			{129, ""},
			{200, "p/120@130"},
			{300, ""},
		} {
			if got := ticks(g, c.sec); got != c.want {
				t.Errorf("Tick(+%ds) = %q, want %q", c.sec, got, c.want)
			}
		}
		// Leave and come back: a new stay fires again.
		move(m, state("p", bluehelm.KindPerson, 310, -1, 5))
		if got := ticks(g, 1000); got != "" {
			t.Errorf("after leaving: %q", got)
		}
		move(m, state("p", bluehelm.KindPerson, 400, 5, 5)) // crosses x=0 at 325
		if got := ticks(g, 385); got != "p/60@385" {
			t.Errorf("second stay: got %q, want p/60@385", got)
		}
	})

	t.Run("kind filter", func(t *testing.T) {
		g := newG()
		m := &mover{g: g}
		move(m, state("v", bluehelm.KindVehicle, 0, -5, 5))
		move(m, state("v", bluehelm.KindVehicle, 20, 5, 5))
		if got := ticks(g, 1000); got != "v/120@130" {
			t.Errorf("vehicle: got %q, want only the any-kind rule v/120@130", got)
		}
	})

	t.Run("first position inside starts a stay", func(t *testing.T) {
		g := newG()
		m := &mover{g: g}
		move(m, state("p", bluehelm.KindPerson, 0, 5, 5))
		move(m, state("p", bluehelm.KindPerson, 30, 6, 5)) // moving inside does not restart it
		if got := ticks(g, 60); got != "p/60@60" {
			t.Errorf("got %q, want p/60@60", got)
		}
	})

	t.Run("stay lost in a restart counts from the previous position", func(t *testing.T) {
		g := newG()
		prev := state("p", bluehelm.KindPerson, 0, 5, 5) // from the store, never Checked
		g.Check(&prev, state("p", bluehelm.KindPerson, 30, 6, 5))
		if got := ticks(g, 60); got != "p/60@60" {
			t.Errorf("got %q, want p/60@60", got)
		}
	})

	t.Run("leaving before the time fires nothing", func(t *testing.T) {
		g := newG()
		m := &mover{g: g}
		move(m, state("p", bluehelm.KindPerson, 0, 5, 5))
		move(m, state("p", bluehelm.KindPerson, 59, 11, 5))
		if got := ticks(g, 1000); got != "" {
			t.Errorf("got %q, want nothing", got)
		}
	})

	t.Run("removed track or area fires nothing", func(t *testing.T) {
		g := newG()
		g.Check(nil, state("p", bluehelm.KindPerson, 0, 5, 5))
		g.RemoveTrack("p")
		g.Check(nil, state("q", bluehelm.KindPerson, 0, 5, 5))
		g.RemoveArea(1)
		checkHeap(t, g)
		if got := ticks(g, 1000); got != "" {
			t.Errorf("got %q, want nothing", got)
		}
	})

	t.Run("renaming the area does not fire again", func(t *testing.T) {
		g := newG()
		g.Check(nil, state("p", bluehelm.KindPerson, 0, 5, 5))
		if got := ticks(g, 60); got != "p/60@60" {
			t.Fatalf("got %q", got)
		}
		renamed := area(1, orb.Polygon{square(0, 0, 10, 10)}, dwell(60, bluehelm.KindPerson), dwell(120), rule(bluehelm.TriggerEnter))
		renamed.Name = "renamed"
		g.SetArea(renamed)
		checkHeap(t, g)
		if got := ticks(g, 100); got != "" {
			t.Errorf("after rename: %q, want nothing", got)
		}
		if got := g.Tick(at(1000)); len(got) != 1 || got[0].Area.Name != "renamed" {
			t.Errorf("later dwell should name the new area: %v", describe(got))
		}
	})

	t.Run("changed rules fire anew", func(t *testing.T) {
		g := newG()
		g.Check(nil, state("p", bluehelm.KindPerson, 0, 5, 5))
		ticks(g, 60)
		g.SetArea(area(1, orb.Polygon{square(0, 0, 10, 10)}, dwell(90, bluehelm.KindPerson)))
		checkHeap(t, g)
		if got := ticks(g, 100); got != "p/90@90" {
			t.Errorf("got %q, want p/90@90", got)
		}
	})

	t.Run("reshaped area ends the stay of a track now outside", func(t *testing.T) {
		g := newG()
		g.Check(nil, state("p", bluehelm.KindPerson, 0, 5, 5))
		g.SetArea(area(1, orb.Polygon{square(0, 0, 2, 2)}, dwell(60, bluehelm.KindPerson)))
		checkHeap(t, g)
		if got := ticks(g, 1000); got != "" {
			t.Errorf("got %q, want nothing", got)
		}
	})

	t.Run("kind change reschedules", func(t *testing.T) {
		g := newG()
		m := &mover{g: g}
		move(m, state("x", bluehelm.KindVehicle, 0, 5, 5))
		move(m, state("x", bluehelm.KindPerson, 30, 5, 5)) // re-identified as a person on foot
		if got := ticks(g, 60); got != "x/60@60" {
			t.Errorf("got %q, want x/60@60", got)
		}
		checkHeap(t, g)
		move(m, state("x", bluehelm.KindVehicle, 70, 5, 5))
		if got := ticks(g, 1000); got != "x/120@120" {
			t.Errorf("got %q, want x/120@120", got)
		}
		checkHeap(t, g)
	})

	t.Run("many stays", func(t *testing.T) {
		// Stays opening and ending in random order keep the heap consistent and
		// every dwell fires exactly once, in time order.
		g := newG()
		want := map[string]int{}
		for i := range 200 {
			uid := fmt.Sprint("t", i)
			enter := (i * 37) % 500
			g.Check(nil, state(uid, bluehelm.KindPerson, enter, 5, 5))
			if i%3 == 0 {
				// leaves before the first rule is due
				prev := state(uid, bluehelm.KindPerson, enter, 5, 5)
				g.Check(&prev, state(uid, bluehelm.KindPerson, enter+30, 20, 5))
				continue
			}
			want[uid] = 2
		}
		checkHeap(t, g)
		got := map[string]int{}
		var last time.Time
		for sec := 0; sec <= 1000; sec += 7 {
			for _, c := range g.Tick(at(sec)) {
				if c.At.Before(last) || c.At.After(at(sec)) {
					t.Fatalf("crossing at %v after %v, tick %v", c.At, last, at(sec))
				}
				last = c.At
				got[c.State.UID]++
			}
			checkHeap(t, g)
		}
		if !maps.Equal(got, want) {
			t.Errorf("fired %d tracks, want %d: %v", len(got), len(want), got)
		}
		if len(g.due) != 0 {
			t.Errorf("%d stays still scheduled with every rule fired", len(g.due))
		}
	})

	t.Run("order", func(t *testing.T) {
		g := newG()
		g.SetArea(area(2, orb.Polygon{square(20, 0, 30, 10)}, dwell(60)))
		g.Check(nil, state("b", bluehelm.KindUnit, 0, 25, 5))
		g.Check(nil, state("a", bluehelm.KindUnit, 0, 25, 5))
		g.Check(nil, state("c", bluehelm.KindPerson, 5, 5, 5))
		if got := ticks(g, 1000); got != "a/60@60 b/60@60 c/60@65 c/120@125" {
			t.Errorf("got %q", got)
		}
	})
}
