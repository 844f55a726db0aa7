package bluehelm_test

import (
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm"
)

func validFacility() *bluehelm.MedicalFacility {
	return &bluehelm.MedicalFacility{
		Name: "Juba Level 2 hospital", Level: "2", Location: bluehelm.Point{Lon: 31.58, Lat: 4.86},
		Capabilities: []string{bluehelm.CapSurgery, bluehelm.CapBlood}, Beds: 20,
		HelicopterLandingSites: []bluehelm.Point{{Lon: 31.59, Lat: 4.87}},
		Operator:               "CHN", Marking: bluehelm.Marking{Component: bluehelm.Support},
	}
}

func TestMedicalFacilityValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.MedicalFacility)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.MedicalFacility) {}, ""},
		{"minimal", func(f *bluehelm.MedicalFacility) {
			f.Capabilities, f.Beds, f.HelicopterLandingSites, f.Operator = nil, 0, nil, ""
		}, ""},
		{"blank name", func(f *bluehelm.MedicalFacility) { f.Name = "  " }, "name"},
		{"name of 201 characters", func(f *bluehelm.MedicalFacility) { f.Name = strings.Repeat("ü", 201) }, "name"},
		{"level 1+", func(f *bluehelm.MedicalFacility) { f.Level = "1+" }, ""},
		{"no level", func(f *bluehelm.MedicalFacility) { f.Level = "" }, "level"},
		{"unknown level", func(f *bluehelm.MedicalFacility) { f.Level = "5" }, "level"},
		{"level written as a word", func(f *bluehelm.MedicalFacility) { f.Level = "two" }, "level"},
		{"latitude out of range", func(f *bluehelm.MedicalFacility) { f.Location.Lat = -91 }, "location.lat"},
		{"longitude out of range", func(f *bluehelm.MedicalFacility) { f.Location.Lon = 181 }, "location.lon"},
		{"every capability", func(f *bluehelm.MedicalFacility) { f.Capabilities = bluehelm.Capabilities }, ""},
		{"unknown capability", func(f *bluehelm.MedicalFacility) { f.Capabilities = []string{"surgery", "spa"} }, "capabilities[1]"},
		{"negative beds", func(f *bluehelm.MedicalFacility) { f.Beds = -1 }, "beds"},
		{"10000 beds", func(f *bluehelm.MedicalFacility) { f.Beds = 10000 }, ""},
		{"10001 beds", func(f *bluehelm.MedicalFacility) { f.Beds = 10001 }, "beds"},
		{"11 landing sites", func(f *bluehelm.MedicalFacility) { f.HelicopterLandingSites = make([]bluehelm.Point, 11) }, "helicopter_landing_sites"},
		{"landing site off the Earth", func(f *bluehelm.MedicalFacility) {
			f.HelicopterLandingSites = []bluehelm.Point{{Lon: 31, Lat: 4}, {Lon: 200, Lat: 4}}
		}, "helicopter_landing_sites[1].lon"},
		{"operator of 201 characters", func(f *bluehelm.MedicalFacility) { f.Operator = strings.Repeat("x", 201) }, "operator"},
		{"unknown component", func(f *bluehelm.MedicalFacility) { f.Component = "" }, "component"},
		{"out of service", func(f *bluehelm.MedicalFacility) { f.OutOfService = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFacility()
			tt.change(f)
			checkField(t, f.Validate(), tt.field)
		})
	}
}

func TestMedicalLevelAtLeast(t *testing.T) {
	// Every pair of levels: a level gives the care of itself and every level
	// below it.
	for i, l := range bluehelm.MedicalLevels {
		for j, m := range bluehelm.MedicalLevels {
			if got := l.AtLeast(m); got != (i >= j) {
				t.Errorf("%q.AtLeast(%q) = %v, want %v", l, m, got, i >= j)
			}
		}
	}
	// An unknown level neither gives nor is any care: a typo in a requirement
	// must not be met by every facility.
	for _, tc := range []struct {
		l, m bluehelm.MedicalLevel
	}{{"1", "5"}, {"4", ""}, {"", "1"}, {"2 ", "2"}, {"x", "x"}, {"", ""}} {
		if tc.l.AtLeast(tc.m) {
			t.Errorf("%q.AtLeast(%q) = true, want false", tc.l, tc.m)
		}
	}
}
