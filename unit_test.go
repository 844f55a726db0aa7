package bluehelm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm"
)

func validUnit() *bluehelm.Unit {
	return &bluehelm.Unit{
		Code: "BANBATT-2/B", Name: "Bangladesh battalion, B company", Mobility: bluehelm.MobilityMounted, Nationality: "BGD",
		TrackUIDs: []string{"veh-1", "ANDROID-abc"},
		Marking:   bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military},
	}
}

func TestUnitValidate(t *testing.T) {
	uids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("uid-%d", i)
		}
		return out
	}
	tests := []struct {
		name   string
		change func(*bluehelm.Unit)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.Unit) {}, ""},
		{"code with spaces and dots", func(u *bluehelm.Unit) { u.Code = "FPU 3.Bor_1" }, ""},
		{"code of 64 characters", func(u *bluehelm.Unit) { u.Code = strings.Repeat("A", 64) }, ""},
		{"no code", func(u *bluehelm.Unit) { u.Code = "" }, "code"},
		{"code of 65 characters", func(u *bluehelm.Unit) { u.Code = strings.Repeat("A", 65) }, "code"},
		{"code starting with a dash", func(u *bluehelm.Unit) { u.Code = "-B" }, "code"},
		{"code starting with a space", func(u *bluehelm.Unit) { u.Code = " B" }, "code"},
		{"code with a comma", func(u *bluehelm.Unit) { u.Code = "A,B" }, "code"},
		{"code with a non-ASCII letter", func(u *bluehelm.Unit) { u.Code = "Bravo-É" }, "code"},
		{"blank name", func(u *bluehelm.Unit) { u.Name = " \t" }, "name"},
		{"name of 200 letters counted as characters", func(u *bluehelm.Unit) { u.Name = strings.Repeat("é", 200) }, ""},
		{"name of 201 characters", func(u *bluehelm.Unit) { u.Name = strings.Repeat("é", 201) }, "name"},
		{"no mobility", func(u *bluehelm.Unit) { u.Mobility = "" }, "mobility"},
		{"unknown mobility", func(u *bluehelm.Unit) { u.Mobility = "horse" }, "mobility"},
		{"every mobility", func(u *bluehelm.Unit) { u.Mobility = bluehelm.MobilityRiver }, ""},
		{"no nationality", func(u *bluehelm.Unit) { u.Nationality = "" }, ""},
		{"alpha-2 nationality", func(u *bluehelm.Unit) { u.Nationality = "BD" }, "nationality"},
		{"lower-case nationality", func(u *bluehelm.Unit) { u.Nationality = "bgd" }, "nationality"},
		{"no tracks", func(u *bluehelm.Unit) { u.TrackUIDs = nil }, ""},
		{"track uid with a space", func(u *bluehelm.Unit) { u.TrackUIDs = []string{"veh 1"} }, "track_uids[0]"},
		{"track listed twice", func(u *bluehelm.Unit) { u.TrackUIDs = []string{"a", "b", "a"} }, "track_uids[2]"},
		{"50 tracks", func(u *bluehelm.Unit) { u.TrackUIDs = uids(50) }, ""},
		{"51 tracks", func(u *bluehelm.Unit) { u.TrackUIDs = uids(51) }, "track_uids"},
		{"unknown component", func(u *bluehelm.Unit) { u.Component = "navy" }, "component"},
		{"unknown releasability", func(u *bluehelm.Unit) { u.Releasability = []bluehelm.Component{"press"} }, "releasable_to[0]"},
		{"disabled", func(u *bluehelm.Unit) { u.Disabled = true }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := validUnit()
			tt.change(u)
			checkField(t, u.Validate(), tt.field)
		})
	}
}
