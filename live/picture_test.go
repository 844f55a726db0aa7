package live

import (
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func pos(uid string, sec int, lon, lat float64) bluehelm.Position {
	return bluehelm.Position{UID: uid, Time: t0.Add(time.Duration(sec) * time.Second), Lon: lon, Lat: lat}
}

func track(uid, callsign string, m bluehelm.Marking) bluehelm.Track {
	return bluehelm.Track{UID: uid, Callsign: callsign, Kind: bluehelm.KindVehicle, Marking: m}
}

var (
	unclass   = bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	confMil   = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}
	confPol   = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police}
	confPolRM = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police, Releasability: []bluehelm.Component{bluehelm.Military}}
	strictMil = bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}

	milC   = bluehelm.Principal{Username: "mil", Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	polC   = bluehelm.Principal{Username: "pol", Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	civU   = bluehelm.Principal{Username: "civ", Component: bluehelm.Civilian, Clearance: bluehelm.Unclassified}
	system = bluehelm.SystemPrincipal("test")
)

func TestPictureApplyOrdering(t *testing.T) {
	type step struct {
		name        string
		track       bluehelm.Track
		pos         bluehelm.Position
		wantHad     bool
		wantApplied bool
		wantPrevLon float64 // checked when wantHad
		// stored state after the step
		wantLon      float64
		wantCallsign string
	}
	base := track("u1", "ALPHA", unclass)
	renamed := track("u1", "BRAVO", unclass)
	staleMeta := track("u1", "STALE", unclass)
	staleMeta.UpdatedAt = t0.Add(-time.Hour)
	renamed.UpdatedAt = t0

	steps := []step{
		{"first report", base, pos("u1", 10, 30, 5), false, true, 0, 30, "ALPHA"},
		{"newer report moves it", base, pos("u1", 20, 31, 5), true, true, 30, 31, "ALPHA"},
		{"older report is ignored but its new callsign is taken", renamed, pos("u1", 15, 29, 5), true, false, 31, 31, "BRAVO"},
		{"exact duplicate is not applied", renamed, pos("u1", 20, 31, 5), true, false, 31, 31, "BRAVO"},
		{"same time elsewhere is applied", renamed, pos("u1", 20, 32, 5), true, true, 31, 32, "BRAVO"},
		{"metadata older than stored is ignored", staleMeta, pos("u1", 30, 33, 5), true, true, 32, 33, "BRAVO"},
	}
	pc := NewPicture()
	for _, s := range steps {
		prev, had, applied := pc.Apply(s.track, s.pos)
		if had != s.wantHad || applied != s.wantApplied {
			t.Fatalf("%s: had, applied = %v, %v; want %v, %v", s.name, had, applied, s.wantHad, s.wantApplied)
		}
		if had && prev.Position.Lon != s.wantPrevLon {
			t.Errorf("%s: prev lon = %v, want %v", s.name, prev.Position.Lon, s.wantPrevLon)
		}
		got, ok := pc.Get("u1")
		if !ok {
			t.Fatalf("%s: track missing", s.name)
		}
		if got.Position.Lon != s.wantLon || got.Callsign != s.wantCallsign {
			t.Errorf("%s: stored lon %v callsign %q; want %v %q", s.name, got.Position.Lon, got.Callsign, s.wantLon, s.wantCallsign)
		}
		// The index must follow the stored position, not lag behind it.
		var found []float64
		pc.Search(bluehelm.World, system, func(s bluehelm.TrackState) bool {
			found = append(found, s.Position.Lon)
			return true
		})
		if len(found) != 1 || found[0] != s.wantLon {
			t.Errorf("%s: search finds %v, want [%v]", s.name, found, s.wantLon)
		}
	}
	if pc.Len() != 1 {
		t.Errorf("Len = %d, want 1", pc.Len())
	}
}

func TestPictureApplyOverridesPositionUID(t *testing.T) {
	pc := NewPicture()
	pc.Apply(track("u1", "", unclass), pos("other", 1, 30, 5))
	got, _ := pc.Get("u1")
	if got.Position.UID != "u1" {
		t.Errorf("position uid = %q, want u1", got.Position.UID)
	}
}

func TestPictureKeepsOwnReleasability(t *testing.T) {
	pc := NewPicture()
	m := confPol
	m.Releasability = []bluehelm.Component{bluehelm.Military}
	pc.Apply(track("u1", "", m), pos("u1", 1, 30, 5))
	m.Releasability[0] = bluehelm.Civilian // the caller reuses its slice
	got, _ := pc.Get("u1")
	if got.Releasability[0] != bluehelm.Military {
		t.Errorf("stored releasability changed with the caller's slice: %v", got.Releasability)
	}
}

func TestPictureSearch(t *testing.T) {
	pc := NewPicture()
	for _, tr := range []struct {
		uid      string
		m        bluehelm.Marking
		lon, lat float64
	}{
		{"u-juba", unclass, 31.6, 4.85},
		{"cm-juba", confMil, 31.5, 4.8},
		{"cp-juba", confPol, 31.55, 4.9},
		{"cpr-juba", confPolRM, 31.58, 4.88},
		{"sc-juba", strictMil, 31.6, 4.86},
		{"u-malakal", unclass, 31.65, 9.53},
		{"cp-malakal", confPol, 31.66, 9.54},
	} {
		pc.Apply(track(tr.uid, "", tr.m), pos(tr.uid, 1, tr.lon, tr.lat))
	}
	juba := bluehelm.BBox{MinLon: 31, MinLat: 4.5, MaxLon: 32, MaxLat: 5}
	tests := []struct {
		name   string
		bbox   bluehelm.BBox
		viewer bluehelm.Principal
		want   []string
	}{
		{"military sees own and released", juba, milC, []string{"cm-juba", "cpr-juba", "u-juba"}},
		{"police sees own", juba, polC, []string{"cp-juba", "cpr-juba", "u-juba"}},
		{"unclassified civilian", juba, civU, []string{"u-juba"}},
		{"system sees all", juba, system, []string{"cm-juba", "cp-juba", "cpr-juba", "sc-juba", "u-juba"}},
		{"other place", bluehelm.BBox{MinLon: 31, MinLat: 9, MaxLon: 32, MaxLat: 10}, polC, []string{"cp-malakal", "u-malakal"}},
		{"zero box is the world", bluehelm.BBox{}, civU, []string{"u-juba", "u-malakal"}},
		{"edge included", bluehelm.BBox{MinLon: 31.6, MinLat: 4.85, MaxLon: 31.7, MaxLat: 4.9}, civU, []string{"u-juba"}},
		{"empty place", bluehelm.BBox{MinLon: 24, MinLat: 4, MaxLon: 25, MaxLat: 5}, system, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			pc.Search(tc.bbox, tc.viewer, func(s bluehelm.TrackState) bool {
				got = append(got, s.UID)
				return true
			})
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("stop early", func(t *testing.T) {
		n := 0
		pc.Search(bluehelm.World, system, func(bluehelm.TrackState) bool { n++; return false })
		if n != 1 {
			t.Errorf("fn called %d times after returning false, want 1", n)
		}
	})
	t.Run("fn may write to the picture", func(t *testing.T) {
		// Would deadlock if fn ran under the read lock.
		pc.Search(juba, system, func(s bluehelm.TrackState) bool {
			pc.Apply(s.Track, pos(s.UID, 2, s.Position.Lon+0.001, s.Position.Lat))
			return true
		})
	})
}

func TestPictureRemoveAndLoad(t *testing.T) {
	pc := NewPicture()
	pc.Apply(track("a", "", unclass), pos("a", 100, 30, 5))
	pc.Load([]bluehelm.TrackState{
		{Track: track("a", "", unclass), Position: pos("a", 50, 25, 5)}, // older: must not move a
		{Track: track("b", "", unclass), Position: pos("b", 50, 26, 6)},
	})
	if a, _ := pc.Get("a"); a.Position.Lon != 30 {
		t.Errorf("Load moved a backwards to lon %v", a.Position.Lon)
	}
	if b, ok := pc.Get("b"); !ok || b.Position.UID != "b" {
		t.Errorf("Load did not add b: %+v", b)
	}
	if pc.Len() != 2 {
		t.Fatalf("Len = %d, want 2", pc.Len())
	}
	if !pc.Remove("a") || pc.Remove("a") {
		t.Error("Remove should report true once, then false")
	}
	if _, ok := pc.Get("a"); ok {
		t.Error("a still there after Remove")
	}
	n := 0
	pc.Search(bluehelm.World, system, func(s bluehelm.TrackState) bool {
		if s.UID == "a" {
			t.Error("removed track still in the index")
		}
		n++
		return true
	})
	if n != 1 || pc.Len() != 1 {
		t.Errorf("after Remove: search %d, Len %d; want 1, 1", n, pc.Len())
	}
}
