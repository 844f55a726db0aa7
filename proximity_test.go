package bluehelm_test

import (
	"testing"

	"github.com/bluehelm/bluehelm"
)

func TestProximityRuleValidate(t *testing.T) {
	good := func() bluehelm.ProximityRule {
		return bluehelm.ProximityRule{Name: "hostiles near patrols",
			A: bluehelm.TrackSelector{CoTTypes: []string{"a-h"}}, B: bluehelm.TrackSelector{CoTTypes: []string{"a-f-G"}, Kinds: []bluehelm.TrackKind{bluehelm.KindVehicle}},
			DistanceMeters: 2000, Severity: bluehelm.SevWarning,
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}}
	}
	tests := []struct {
		name  string
		edit  func(*bluehelm.ProximityRule)
		field string
	}{
		{"valid", func(*bluehelm.ProximityRule) {}, ""},
		{"no name", func(r *bluehelm.ProximityRule) { r.Name = " " }, "name"},
		{"empty selector", func(r *bluehelm.ProximityRule) { r.A = bluehelm.TrackSelector{} }, "a"},
		{"bad CoT prefix", func(r *bluehelm.ProximityRule) { r.B.CoTTypes = []string{"a h"} }, "b.cot_types[0]"},
		{"bad kind", func(r *bluehelm.ProximityRule) { r.B.Kinds = []bluehelm.TrackKind{"tank"} }, "b.kinds[0]"},
		{"bad unit", func(r *bluehelm.ProximityRule) { r.A.Units = []string{"-x"} }, "a.units[0]"},
		{"too close", func(r *bluehelm.ProximityRule) { r.DistanceMeters = 5 }, "distance_meters"},
		{"too far", func(r *bluehelm.ProximityRule) { r.DistanceMeters = 200000 }, "distance_meters"},
		{"bad severity", func(r *bluehelm.ProximityRule) { r.Severity = "loud" }, "severity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.edit(&r)
			err := r.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != tc.field {
				t.Errorf("Validate = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestTrackSelectorMatches(t *testing.T) {
	tr := bluehelm.Track{UID: "x", CoTType: "a-h-G-U-C", Kind: bluehelm.KindVehicle, Unit: "BANBATT-2/B"}
	tests := []struct {
		name string
		s    bluehelm.TrackSelector
		want bool
		unit string // the registered unit of the track, for MatchesIn
	}{
		{"empty matches nothing", bluehelm.TrackSelector{}, false, ""},
		{"type prefix", bluehelm.TrackSelector{CoTTypes: []string{"a-h"}}, true, ""},
		{"whole parts only", bluehelm.TrackSelector{CoTTypes: []string{"a-h-G-U-C-I"}}, false, ""},
		{"exact type", bluehelm.TrackSelector{CoTTypes: []string{"a-f", "a-h-G-U-C"}}, true, ""},
		{"partial part", bluehelm.TrackSelector{CoTTypes: []string{"a-h-G-U-"}}, false, ""},
		{"friendly", bluehelm.TrackSelector{CoTTypes: []string{"a-f"}}, false, ""},
		{"kind and type", bluehelm.TrackSelector{CoTTypes: []string{"a-h"}, Kinds: []bluehelm.TrackKind{bluehelm.KindVehicle}}, true, ""},
		{"kind mismatch", bluehelm.TrackSelector{CoTTypes: []string{"a-h"}, Kinds: []bluehelm.TrackKind{bluehelm.KindPerson}}, false, ""},
		{"unit", bluehelm.TrackSelector{Units: []string{"BANBATT-2/A", "BANBATT-2/B"}}, true, ""},
		{"registered unit", bluehelm.TrackSelector{Units: []string{"QRF-1"}}, true, "QRF-1"},
		{"other registered unit", bluehelm.TrackSelector{Units: []string{"QRF-2"}}, false, "QRF-1"},
		{"reported unit still counts", bluehelm.TrackSelector{Units: []string{"BANBATT-2/B"}}, true, "QRF-1"},
	}
	for _, tc := range tests {
		if got := tc.s.MatchesIn(tr, tc.unit); got != tc.want {
			t.Errorf("%s: MatchesIn(%q) = %v, want %v", tc.name, tc.unit, got, tc.want)
		}
	}
}
