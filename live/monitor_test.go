package live

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

const minute = 60.0

// testPatrol is underway along a 10 km route east from the reference point, tracks
// v1 and v2, checking in every 30 min, 500 m deviation, planned 00:10 to 04:00.
func testPatrol(status bluehelm.PatrolStatus) *bluehelm.Patrol {
	return &bluehelm.Patrol{ID: 1, Name: "P1", Type: bluehelm.PatrolMobile, Units: []string{"BANBATT-2/B"},
		TrackUIDs: []string{"v1", "v2"}, Strength: 12,
		Route:        bluehelm.Geometry{Geometry: orb.LineString{at(0, 0), at(10000, 0)}},
		PlannedStart: t0.Add(10 * time.Minute), PlannedEnd: t0.Add(4 * time.Hour),
		CheckInMinutes: 30, DeviationMeters: 500, Status: status, StartedAt: t0.Add(10 * time.Minute), Marking: unclass}
}

// mstep is one step of a monitor scenario: a position (uid at x, y metres), a
// Tick, or a change (do), at sec seconds after t0.
type mstep struct {
	sec  float64
	uid  string
	x, y float64
	tick bool
	do   func(*Monitor)
}

func pos2(sec float64, uid string, x, y float64) mstep { return mstep{sec: sec, uid: uid, x: x, y: y} }
func tick(sec float64) mstep                           { return mstep{sec: sec, tick: true} }

// cotTypes gives the scenario tracks their CoT types, for proximity rules.
var cotTypes = map[string]string{"h1": "a-h-G", "h2": "a-h-G-U-C", "f1": "a-f-G-U-C", "f2": "a-f-G-E-V"}

// runMonitor plays steps and describes findings as "kind[~]:uid@sec" (~: cleared).
func runMonitor(m *Monitor, steps []mstep) []string {
	var out []string
	last := map[string]*bluehelm.TrackState{}
	describe := func(fs []Finding) {
		for _, f := range fs {
			c := ""
			if f.Cleared {
				c = "~"
			}
			out = append(out, fmt.Sprintf("%s%s:%s@%.0f", f.Kind, c, f.UID, f.At.Sub(t0).Seconds()))
		}
	}
	for _, s := range steps {
		switch {
		case s.do != nil:
			s.do(m)
		case s.tick:
			describe(m.Tick(t0.Add(time.Duration(s.sec * float64(time.Second)))))
		default:
			cur := fix(s.uid, s.sec, s.x, s.y, 5)
			cur.CoTType = cotTypes[s.uid]
			cur.Callsign = strings.ToUpper(s.uid)
			describe(m.Observe(last[s.uid], cur))
			last[s.uid] = &cur
		}
	}
	return out
}

func TestMonitor(t *testing.T) {
	underway := func(m *Monitor) { m.SetPatrol(testPatrol(bluehelm.PatrolUnderway)) }
	approved := func(m *Monitor) { m.SetPatrol(testPatrol(bluehelm.PatrolApproved)) }
	noGo := func(m *Monitor) {
		a := area(9, disc(3000, 2000, 500), rule(bluehelm.TriggerExit))
		a.Kind = bluehelm.AreaRestricted
		m.SetArea(a)
		camp := area(10, disc(6000, 0, 500))
		camp.Kind = bluehelm.AreaCamp // not restricted: ignored
		m.SetArea(camp)
	}
	task := func(m *Monitor) {
		m.SetTask(&bluehelm.Task{ID: 7, Title: "incident 42", Location: bluehelm.Point{Lon: at(5000, 0)[0], Lat: at(5000, 0)[1]},
			Unit: "BANBATT-2/C", TrackUID: "r1", Status: bluehelm.TaskAssigned, Marking: unclass})
	}
	proxRule := func(m *Monitor) {
		m.SetProximityRule(&bluehelm.ProximityRule{ID: 3, Name: "hostiles near UN", A: bluehelm.TrackSelector{CoTTypes: []string{"a-h"}},
			B: bluehelm.TrackSelector{CoTTypes: []string{"a-f"}}, DistanceMeters: 1000, Severity: bluehelm.SevCritical, Marking: unclass})
	}
	tests := []struct {
		name  string
		steps []mstep
		want  []string
	}{
		{"off route and back", []mstep{{do: underway},
			pos2(700, "v1", 1000, 0), pos2(760, "v1", 2000, 800), pos2(820, "v1", 3000, 900),
			pos2(880, "v1", 4000, 300), pos2(940, "v1", 5000, 700)},
			[]string{"off_route:v1@760", "off_route~:v1@880", "off_route:v1@940"}},
		{"back only when every track is", []mstep{{do: underway},
			pos2(700, "v1", 1000, 800), pos2(700, "v2", 1000, -800), pos2(760, "v1", 2000, 0), pos2(760, "v2", 2000, 0)},
			[]string{"off_route:v1@700", "off_route~:v2@760"}},
		{"jitter at the deviation does not flap", []mstep{{do: underway},
			pos2(700, "v1", 1000, 480), pos2(710, "v1", 1000, 520), pos2(720, "v1", 1000, 470),
			pos2(730, "v1", 1000, 510), pos2(740, "v1", 1000, 450), pos2(750, "v1", 1000, 530)},
			[]string{"off_route:v1@710"}},
		{"silent patrol", []mstep{{do: underway},
			pos2(700, "v1", 1000, 0), tick(700 + 29*minute), tick(700 + 31*minute), tick(700 + 40*minute),
			pos2(700+41*minute, "v2", 1100, 0), tick(700 + 60*minute), tick(700 + 72*minute)},
			[]string{"silent:@2500", "silent~:v2@3160", "silent:@4960"}},
		{"silent from the start with no position at all", []mstep{{do: underway}, tick(600 + 29*minute), tick(600 + 31*minute)},
			[]string{"silent:@2400"}},
		{"late start", []mstep{{do: approved}, tick(600 + 14*minute), tick(600 + 16*minute), tick(600 + 20*minute),
			{do: underway}, tick(600 + 21*minute)},
			[]string{"late_start:@1500"}},
		{"a patrol that moves is not late to start", []mstep{{do: approved},
			pos2(300, "v1", 0, 0), pos2(700, "v1", 500, 0), tick(600 + 30*minute)}, nil},
		{"a patrol that stands still is", []mstep{{do: approved},
			pos2(300, "v1", 0, 0), pos2(700, "v1", 50, 0), tick(600 + 30*minute)}, []string{"late_start:@1500"}},
		{"late return", []mstep{{do: underway},
			pos2(4*3600+10*minute, "v1", 9000, 0), tick(4*3600 + 29*minute), tick(4*3600 + 31*minute), tick(4*3600 + 35*minute)},
			[]string{"late_return:@16200"}},
		{"no-go entry", []mstep{{do: underway}, {do: noGo},
			pos2(700, "v1", 3000, 0), pos2(760, "v1", 3000, 2000), pos2(820, "v1", 3000, 2100),
			pos2(880, "v1", 3000, 4000), pos2(940, "v1", 3000, 2000), pos2(1000, "v1", 6000, 0)},
			[]string{"off_route:v1@760", "no_go:v1@745", "no_go:v1@925", "off_route~:v1@1000"}},
		{"no no-go before the patrol is underway", []mstep{{do: approved}, {do: noGo},
			pos2(700, "v1", 3000, 0), pos2(760, "v1", 3000, 2000)}, nil},
		{"no no-go once the area is removed", []mstep{{do: underway}, {do: noGo}, {do: func(m *Monitor) { m.RemoveArea(9) }},
			pos2(700, "v1", 3000, 0), pos2(760, "v1", 3000, 2000)}, []string{"off_route:v1@760"}},
		{"patrol completed: nothing more", []mstep{{do: underway}, {do: func(m *Monitor) {
			p := testPatrol(bluehelm.PatrolCompleted)
			m.SetPatrol(p)
		}}, pos2(700, "v1", 3000, 3000), tick(9 * 3600)}, nil},
		{"tracks from the units", []mstep{{do: func(m *Monitor) {
			p := testPatrol(bluehelm.PatrolUnderway)
			p.TrackUIDs = nil
			m.SetPatrol(p)
			m.SetUnit(&bluehelm.Unit{ID: 1, Code: "BANBATT-2/B", Name: "B Coy", Mobility: bluehelm.MobilityMounted, TrackUIDs: []string{"u9"}})
		}}, pos2(700, "v1", 3000, 3000), pos2(700, "u9", 3000, 3000)}, []string{"off_route:u9@700"}},
		{"task en route and on scene", []mstep{{do: task},
			pos2(0, "r1", 0, 0), pos2(10, "r1", 100, 0), pos2(60, "r1", 1000, 0), pos2(120, "r1", 4700, 0),
			pos2(180, "r1", 6000, 0), pos2(240, "r1", 5000, 0)},
			[]string{"en_route:r1@60", "on_scene:r1@125"}},
		{"task already en route", []mstep{{do: func(m *Monitor) {
			task(m)
			m.SetTask(&bluehelm.Task{ID: 7, Title: "incident 42", Location: bluehelm.Point{Lon: at(5000, 0)[0], Lat: at(5000, 0)[1]},
				Unit: "BANBATT-2/C", TrackUID: "r1", Status: bluehelm.TaskEnRoute, Marking: unclass})
		}}, pos2(0, "r1", 0, 0), pos2(60, "r1", 4900, 0)}, []string{"on_scene:r1@59"}}, // within 200 m at x = 4800
		{"task closed before arrival", []mstep{{do: task}, pos2(0, "r1", 0, 0),
			{do: func(m *Monitor) { m.RemoveTask(7) }}, pos2(60, "r1", 5000, 0)}, nil},
		{"proximity fires and re-arms", []mstep{{do: proxRule},
			pos2(0, "f1", 0, 0), pos2(0, "h1", 3000, 0), pos2(10, "h1", 900, 0), pos2(20, "h1", 1100, 0),
			pos2(30, "h1", 950, 0), pos2(40, "h1", 1300, 0), pos2(50, "h1", 800, 0),
			// f2 drives up to h1: the pair is found from either side.
			pos2(60, "f2", 800, 3000), pos2(70, "f2", 800, 500)},
			[]string{"proximity:h1@10", "proximity:h1@50", "proximity:h1@70"}},
		{"proximity ignores same-side pairs and stale reports", []mstep{{do: proxRule},
			pos2(0, "h2", 0, 0), pos2(0, "h1", 500, 0), // both hostile
			pos2(0, "f1", 20000, 0), pos2(3*3600, "f1", 100, 0)}, // h1, h2 last seen 3 h before
			nil},
		// A rule naming a registered unit selects its tracks, whatever unit string
		// the devices report (here none).
		{"proximity by registered unit", []mstep{{do: func(m *Monitor) {
			m.SetUnit(&bluehelm.Unit{ID: 2, Code: "FPU-1", Name: "FPU", Mobility: bluehelm.MobilityMounted, TrackUIDs: []string{"f2"}})
			m.SetProximityRule(&bluehelm.ProximityRule{ID: 4, Name: "hostiles near FPU", A: bluehelm.TrackSelector{CoTTypes: []string{"a-h"}},
				B: bluehelm.TrackSelector{Units: []string{"FPU-1"}}, DistanceMeters: 1000, Severity: bluehelm.SevCritical, Marking: unclass})
		}}, pos2(0, "f1", 0, 0), pos2(0, "f2", 5000, 0), pos2(10, "h1", 300, 0), pos2(20, "h1", 4800, 0)},
			[]string{"proximity:h1@20"}},
		{"proximity rule removed", []mstep{{do: proxRule}, pos2(0, "f1", 0, 0),
			{do: func(m *Monitor) { m.RemoveProximityRule(3) }}, pos2(10, "h1", 100, 0)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runMonitor(NewMonitor(MonitorOptions{}), tc.steps)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestMonitorFindingDetails(t *testing.T) {
	m := NewMonitor(MonitorOptions{})
	p := testPatrol(bluehelm.PatrolUnderway)
	p.Marking = confMil
	m.SetPatrol(p)
	a := area(9, disc(3000, 2000, 500))
	a.Kind, a.Name = bluehelm.AreaRestricted, "Minefield K"
	m.SetArea(a)
	prev := fix("v1", 700, 3000, 0, 5)
	m.Observe(nil, prev)
	fs := m.Observe(&prev, fix("v1", 760, 3000, 2000, 5))
	if len(fs) != 2 {
		t.Fatalf("findings %+v", fs)
	}
	nogo := fs[1]
	if nogo.Kind != FindNoGo || nogo.AreaID != 9 || nogo.PatrolID != 1 || nogo.Severity != bluehelm.SevCritical ||
		nogo.Marking.Classification != bluehelm.Confidential || nogo.Where == nil ||
		!strings.Contains(nogo.Text, "Minefield K") || !strings.Contains(nogo.Text, "P1") {
		t.Errorf("no-go finding %+v", nogo)
	}
	if off := fs[0]; off.Kind != FindOffRoute || off.Value != 500 || !strings.Contains(off.Text, "off its route") {
		t.Errorf("off-route finding %+v", off)
	}
}

// TestMonitorConcurrent runs Observe for different tracks from several goroutines
// while patrols, units, areas and rules change and Tick runs: for the race detector.
func TestMonitorConcurrent(t *testing.T) {
	m := NewMonitor(MonitorOptions{})
	g := NewGeofencer()
	a := area(9, disc(3000, 2000, 500), rule(bluehelm.TriggerEnter), rule(bluehelm.TriggerExit), dwell(60))
	a.Kind = bluehelm.AreaRestricted
	m.SetArea(a)
	g.SetArea(a)
	m.SetPatrol(testPatrol(bluehelm.PatrolUnderway))
	m.SetProximityRule(&bluehelm.ProximityRule{ID: 3, Name: "r", A: bluehelm.TrackSelector{CoTTypes: []string{"a-h"}},
		B: bluehelm.TrackSelector{CoTTypes: []string{"a-f"}}, DistanceMeters: 1000, Severity: bluehelm.SevCritical, Marking: unclass})
	uids := []string{"v1", "v2", "h1", "h2", "f1", "f2", "r1"}
	var wg sync.WaitGroup
	for w, uid := range uids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev *bluehelm.TrackState
			for i := range 300 {
				cur := fix(uid, float64(600+i*10), float64((i*97+w*500)%6000), float64((i*31)%3000)-500, 5)
				cur.CoTType = cotTypes[uid]
				m.Observe(prev, cur)
				g.Check(prev, cur)
				prev = &cur
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100 {
			m.Tick(t0.Add(time.Duration(i) * time.Minute))
			g.Tick(t0.Add(time.Duration(i) * time.Minute))
			p := testPatrol([]bluehelm.PatrolStatus{bluehelm.PatrolApproved, bluehelm.PatrolUnderway}[i%2])
			m.SetPatrol(p)
			m.SetUnit(&bluehelm.Unit{Code: "BANBATT-2/B", TrackUIDs: []string{"v1"}})
			m.SetTask(&bluehelm.Task{ID: int64(i), TrackUID: "r1", Status: bluehelm.TaskAssigned, Location: bluehelm.Point{Lon: refLon, Lat: refLat}})
			if i%10 == 0 {
				m.SetArea(a)
				g.SetArea(a)
				m.RemoveProximityRule(3)
			}
		}
	}()
	wg.Wait()
}
