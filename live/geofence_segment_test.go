package live

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// Tests at a realistic scale, in metres about a point near Juba.
const refLon, refLat = 31.6, 4.85

// at returns the point x metres east and y metres north of the reference point.
func at(x, y float64) orb.Point {
	return orb.Point{refLon + x/(metresPerDegree*math.Cos(refLat*math.Pi/180)), refLat + y/metresPerDegree}
}

// disc is a 64-gon of radius r metres around (x, y) metres.
func disc(x, y, r float64) orb.Polygon {
	ring := make(orb.Ring, 0, 65)
	for k := range 64 {
		a := 2 * math.Pi * float64(k) / 64
		ring = append(ring, at(x+r*math.Cos(a), y+r*math.Sin(a)))
	}
	return orb.Polygon{append(ring, ring[0])}
}

// fix is a track state at x, y metres and sec seconds, with a circular error.
func fix(uid string, sec float64, x, y, ce float64) bluehelm.TrackState {
	p := at(x, y)
	s := state(uid, bluehelm.KindVehicle, 0, p[0], p[1])
	s.Position.Time = t0.Add(time.Duration(sec * float64(time.Second)))
	s.Position.CE = ce
	return s
}

// run feeds fixes through Check in order and describes the crossings as
// "trigger@seconds".
func run(g *Geofencer, fixes []bluehelm.TrackState) []string {
	var out []string
	var prev *bluehelm.TrackState
	for i := range fixes {
		for _, c := range g.Check(prev, fixes[i]) {
			out = append(out, fmt.Sprintf("%s@%.1f", c.Rule.Trigger, c.At.Sub(t0).Seconds()))
		}
		prev = &fixes[i]
	}
	return out
}

func TestGeofenceFastTrackBetweenFixes(t *testing.T) {
	enterExit := []bluehelm.AreaRule{rule(bluehelm.TriggerEnter), rule(bluehelm.TriggerExit)}
	tests := []struct {
		name   string
		radius float64 // of the fence at the origin, m
		from   [2]float64
		to     [2]float64
		want   []string
	}{
		// 600 m in 30 s (72 km/h) through a fence 100 m across: both fixes outside.
		{"through the middle of a small fence", 50, [2]float64{-300, 0}, [2]float64{300, 0}, []string{"enter@12.5", "exit@17.5"}},
		{"the other way", 50, [2]float64{300, 0}, [2]float64{-300, 0}, []string{"enter@12.5", "exit@17.5"}},
		// A 60 m fence: the margin shrinks to half its radius (15 m), so a pass
		// through the middle still counts ...
		{"through a fence smaller than two margins", 30, [2]float64{-300, 0}, [2]float64{300, 0}, []string{"enter@13.5", "exit@16.5"}},
		// ... but grazing its rim 25 m from the centre (5 m deep) does not.
		{"grazing the rim", 30, [2]float64{-300, 25}, [2]float64{300, 25}, nil},
		{"passing beside it", 50, [2]float64{-300, 60}, [2]float64{300, 60}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGeofencer()
			g.SetArea(area(1, disc(0, 0, tc.radius), enterExit...))
			got := run(g, []bluehelm.TrackState{
				fix("v", 0, tc.from[0], tc.from[1]+2000, 5), // an earlier fix, far away
				fix("v", 0.001, tc.from[0], tc.from[1], 5),
				fix("v", 30, tc.to[0], tc.to[1], 5),
			})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGeofenceJitter(t *testing.T) {
	enterExit := []bluehelm.AreaRule{rule(bluehelm.TriggerEnter), rule(bluehelm.TriggerExit)}
	r := rand.New(rand.NewPCG(1, 2))
	// A track parked on the edge of a 2 km camp (the outline runs along x = 1000
	// near y = 0), jittering by up to ±amp metres around it, every 5 s.
	jitter := func(uid string, sec *float64, centre, amp, ce float64, n int) []bluehelm.TrackState {
		var out []bluehelm.TrackState
		for range n {
			*sec += 5
			out = append(out, fix(uid, *sec, centre+(r.Float64()*2-1)*amp, (r.Float64()*2-1)*amp, ce))
		}
		return out
	}
	count := func(got []string, trig string) int {
		n := 0
		for _, s := range got {
			if s[:len(trig)] == trig {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name            string
		amp, ce         float64
		enters, exits   int
		parkedAt        float64 // x of the jitter's centre
		thenIn, thenOut bool    // drive well inside, then well outside after the jitter
	}{
		{"jitter across the edge, then in and out", 20, 5, 1, 1, 1000, true, true},
		{"jitter across the edge only", 20, 5, 0, 0, 1000, false, false},
		{"jitter inside the edge", 20, 5, 1, 0, 990, false, false},
		{"larger jitter with a larger CE", 60, 80, 0, 0, 1000, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGeofencer()
			g.SetArea(area(1, disc(0, 0, 1000), enterExit...))
			sec := 0.0
			fixes := []bluehelm.TrackState{fix("v", 0, 3000, 0, 5), fix("v", 60, 1500, 0, 5)}
			if tc.parkedAt < 1000 {
				// Come in properly first, then park just inside the edge.
				fixes = append(fixes, fix("v", 120, 500, 0, 5))
				tc.enters = 1
			}
			sec = 120
			fixes = append(fixes, jitter("v", &sec, tc.parkedAt, tc.amp, tc.ce, 500)...)
			if tc.thenIn {
				fixes = append(fixes, fix("v", sec+30, 500, 0, 5))
				sec += 30
			}
			if tc.thenOut {
				fixes = append(fixes, fix("v", sec+30, 1500, 0, 5))
			}
			got := run(g, fixes)
			if count(got, "enter") != tc.enters || count(got, "exit") != tc.exits {
				t.Errorf("got %v, want %d enter and %d exit", got, tc.enters, tc.exits)
			}
		})
	}
}

func TestGeofenceAreaChangesMidStay(t *testing.T) {
	rules := []bluehelm.AreaRule{rule(bluehelm.TriggerEnter), rule(bluehelm.TriggerExit), dwell(600)}
	g := NewGeofencer()
	g.SetArea(area(1, disc(0, 0, 1000), rules...))
	var prev *bluehelm.TrackState
	step := func(sec, x float64) []string {
		cur := fix("v", sec, x, 0, 5)
		var out []string
		for _, c := range g.Check(prev, cur) {
			out = append(out, fmt.Sprintf("%s:%d", c.Rule.Trigger, c.Area.ID))
		}
		prev = &cur
		return out
	}
	step(0, 2000)
	if got := step(10, 0); !slices.Equal(got, []string{"enter:1"}) {
		t.Fatalf("enter: %v", got)
	}
	// Replaced by a smaller camp the track is still inside: no exit, no new enter,
	// the stay goes on.
	g.SetArea(area(1, disc(0, 0, 500), rules...))
	if got := step(20, 10); got != nil {
		t.Errorf("after a reshape around the track: %v", got)
	}
	// Replaced by a camp elsewhere: the track is now outside; that is no exit (it
	// did not move out), and the stay ends.
	g.SetArea(area(1, disc(5000, 0, 500), rules...))
	if got := step(30, 20); got != nil {
		t.Errorf("after the area moved away: %v", got)
	}
	if got := g.Tick(t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("dwell after the area moved away: %v", describe(got))
	}
	// Driving into the moved camp is an enter; removing it mid-stay ends the stay
	// and later moves raise nothing.
	if got := step(100, 5000); !slices.Equal(got, []string{"enter:1"}) {
		t.Errorf("into the moved area: %v", got)
	}
	g.RemoveArea(1)
	if got := step(200, 9000); got != nil {
		t.Errorf("after removal: %v", got)
	}
	if got := g.Tick(t0.Add(2 * time.Hour)); len(got) != 0 {
		t.Errorf("dwell after removal: %v", describe(got))
	}
	checkHeap(t, g)
}
