package plan

import (
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// TestRank checks the order of responders to an incident at the origin with
// the default straight-line estimator (detour 1.4 on the ground; speeds foot 5,
// mounted 40, air 200 km/h; set-off foot 5, mounted 10, air 30 min):
//
//	FOOT   free, 1 km:        300 + 1.4 km / 5 km/h  = 300 + 1008 = 1308 s
//	MECH-A free, 10 km (and a second track at 12 km):
//	                          600 + 14 km / 40 km/h  = 600 + 1260 = 1860 s
//	HELO   free, 50 km:      1800 + 50 km / 200 km/h = 1800 + 900 = 2700 s, 50,000 m (no detour)
//	MECH-B busy, 1 km:        600 + 1.4 km / 40 km/h = 600 + 126  = 726 s: fastest, but busy
//	QRF    free, no position; RESERVE busy, no position; OLD disabled.
func TestRank(t *testing.T) {
	unit := func(id int64, code string, m bluehelm.Mobility, disabled bool) *bluehelm.Unit {
		return &bluehelm.Unit{ID: id, Code: code, Name: code, Mobility: m, Disabled: disabled}
	}
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	fix := func(uid string, northKm float64) Fix { return Fix{TrackUID: uid, Point: pt(0, northKm), At: at} }
	cands := []Candidate{
		{Unit: unit(1, "QRF", bluehelm.MobilityMounted, false)},
		{Unit: unit(2, "MECH-B", bluehelm.MobilityMounted, false), Positions: []Fix{fix("b1", 1)}, Busy: true},
		{Unit: unit(3, "OLD", bluehelm.MobilityMounted, true), Positions: []Fix{fix("o1", 0.1)}},
		{Unit: unit(4, "HELO", bluehelm.MobilityAir, false), Positions: []Fix{fix("h1", 50)}},
		{Unit: unit(5, "MECH-A", bluehelm.MobilityMounted, false), Positions: []Fix{fix("a2", 12), fix("a1", 10)}},
		{Unit: unit(6, "RESERVE", bluehelm.MobilityFoot, false), Busy: true},
		{Unit: unit(7, "FOOT", bluehelm.MobilityFoot, false), Positions: []Fix{fix("f1", 1), {TrackUID: "bad", Point: bluehelm.Point{Lat: 200}}}},
		{Unit: nil},
	}
	want := []struct {
		code   string
		eta    int
		metres int
		track  string
		hasETA bool
	}{
		{"FOOT", 1308, 1400, "f1", true},
		{"MECH-A", 1860, 14000, "a1", true},
		{"HELO", 2700, 50000, "h1", true},
		{"MECH-B", 726, 1400, "b1", true},
		{"QRF", 0, 0, "", false},
		{"RESERVE", 0, 0, "", false},
	}
	for _, order := range []string{"given", "reversed"} {
		cs := slices.Clone(cands)
		if order == "reversed" {
			slices.Reverse(cs)
		}
		got := Rank(bluehelm.Point{}, cs, DefaultStraightLine())
		if len(got) != len(want) {
			t.Fatalf("%s: %d ranked, want %d", order, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Unit.Code != w.code || g.ETASeconds != w.eta || g.DistanceMeters != w.metres || g.TrackUID != w.track || g.HasETA != w.hasETA {
				t.Errorf("%s #%d: got %s eta %d m %d track %q has %v, want %+v", order, i+1, g.Unit.Code, g.ETASeconds, g.DistanceMeters, g.TrackUID, g.HasETA, w)
			}
			if g.HasETA && (!g.ETAEstimated || !g.PositionAt.Equal(at)) {
				t.Errorf("%s: straight-line ETAs are estimates with their position time: %+v", w.code, g)
			}
		}
	}
}

// A mobility without a speed cannot reach the scene: the unit is listed
// without an ETA rather than with a made-up one.
func TestRankNoSpeed(t *testing.T) {
	est := StraightLine{SpeedKmh: map[bluehelm.Mobility]float64{bluehelm.MobilityFoot: 5}, Detour: 1.4}
	got := Rank(bluehelm.Point{}, []Candidate{
		{Unit: &bluehelm.Unit{Code: "BOAT", Mobility: bluehelm.MobilityRiver}, Positions: []Fix{{TrackUID: "r", Point: pt(0, 1)}}},
		{Unit: &bluehelm.Unit{Code: "WALK", Mobility: bluehelm.MobilityFoot}, Positions: []Fix{{TrackUID: "w", Point: pt(0, 5)}}},
	}, est)
	// WALK: 5 km × 1.4 / 5 km/h = 1.4 h = 5040 s, no set-off time configured.
	if got[0].Unit.Code != "WALK" || got[0].ETASeconds != 5040 || got[1].HasETA {
		t.Errorf("%+v", got)
	}
}
