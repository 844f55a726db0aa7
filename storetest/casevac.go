package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func newCasevac(callSign string, incidentID int64, at time.Time, m bluehelm.Marking) *bluehelm.Casevac {
	return &bluehelm.Casevac{
		IncidentID: incidentID,
		NineLine: bluehelm.NineLine{
			Location: bluehelm.Point{Lon: 31.6, Lat: 4.9}, MGRS: "36NYF 12345 67890", Frequency: "45.300", CallSign: callSign,
			Patients: bluehelm.PatientCounts{Urgent: 1, Routine: 1}, Equipment: []string{"hoist"}, Litter: 1, Ambulatory: 1,
			Security: "possible_enemy", PickupMarking: "smoke", Categories: []bluehelm.PatientCategory{bluehelm.PatUNPolice},
			Terrain: "<b>open field</b>, wires to the north",
		},
		WoundedAt: at.Add(-5 * time.Minute), Status: bluehelm.CasevacRequested, Source: "api",
		Timeline:    []bluehelm.CasevacStep{{Status: bluehelm.CasevacRequested, At: at, By: "storetest"}},
		Marking:     m,
		RequestedBy: "storetest", RequestedAt: at, UpdatedAt: at,
	}
}

func casevacIDs(cs []*bluehelm.Casevac) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func testCasevacs(t *testing.T, o Opener) {
	t.Run("Lifecycle", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		x := newCasevac("DUSTOFF 6", 42, t0, unclassified)
		before := auditCount(t, s)
		must(t, s.CreateCasevac(ctx, x, entry("casevac.request")), "CreateCasevac")
		if x.ID == 0 || x.Version != 1 {
			t.Fatalf("after create: id %d version %d", x.ID, x.Version)
		}
		checkAudited(t, s, before, "casevac.request", "casevac", x.ID)
		got, err := s.Casevac(ctx, x.ID)
		must(t, err, "Casevac")
		sameJSON(t, got, x, "stored request")

		stale := *x
		must(t, x.Step(bluehelm.CasevacApprove, sys, t0.Add(time.Minute), "", false), "approve")
		x.FacilityID, x.Means, x.AssetUnit = 3, "air", "AVN-1"
		must(t, x.VerifyNotification(bluehelm.Principal{Username: "a", Role: bluehelm.RoleOperations}, t0.Add(2*time.Minute), ""), "verify")
		before = auditCount(t, s)
		must(t, s.UpdateCasevac(ctx, x, entry("casevac.approve")), "UpdateCasevac")
		checkAudited(t, s, before, "casevac.approve", "casevac", x.ID)
		if x.Version != 2 {
			t.Errorf("version %d, want 2", x.Version)
		}
		got, err = s.Casevac(ctx, x.ID)
		must(t, err, "Casevac")
		sameJSON(t, got, x, "request after approval")
		before = auditCount(t, s)
		wantCode(t, s.UpdateCasevac(ctx, &stale, entry("casevac.update")), bluehelm.ECONFLICT, "UpdateCasevac from a stale version")
		checkNoAudit(t, s, before, "stale UpdateCasevac")

		_, err = s.Casevac(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "Casevac of unknown id")
		ghost := newCasevac("GHOST", 0, t0, unclassified)
		ghost.ID, ghost.Version = 424242, 1
		wantCode(t, s.UpdateCasevac(ctx, ghost, entry("casevac.update")), bluehelm.ENOTFOUND, "UpdateCasevac of unknown id")
	})

	t.Run("CoTUIDOnce", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a := newCasevac("TAK 1", 0, t0, unclassified)
		a.CoTUID = "casevac-uid-1"
		must(t, s.CreateCasevac(ctx, a, entry("casevac.request")), "CreateCasevac")
		b := newCasevac("TAK 1", 0, t0, unclassified)
		b.CoTUID = "casevac-uid-1"
		before := auditCount(t, s)
		wantCode(t, s.CreateCasevac(ctx, b, entry("casevac.request")), bluehelm.ECONFLICT, "second request of one TAK event")
		checkNoAudit(t, s, before, "duplicate CreateCasevac")
		// Requests without a uid are many.
		for range 2 {
			must(t, s.CreateCasevac(ctx, newCasevac("WEB", 0, t0, unclassified), entry("casevac.request")), "CreateCasevac without uid")
		}
		got, err := s.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: sys, CoTUID: "casevac-uid-1"})
		must(t, err, "FindCasevacs by uid")
		if len(got) != 1 || got[0].ID != a.ID {
			t.Fatalf("by uid: %v", casevacIDs(got))
		}
	})

	t.Run("Filter", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		var all []*bluehelm.Casevac
		for i, m := range markingsSample() {
			x := newCasevac(fmt.Sprintf("CS %d", i), int64(i%3), t0.Add(time.Duration((i*7)%11)*time.Minute), m)
			must(t, s.CreateCasevac(ctx, x, entry("casevac.request")), "CreateCasevac")
			if i%3 == 1 {
				must(t, x.Step(bluehelm.CasevacArrive, sys, t0.Add(time.Hour), "", false), "arrive")
				must(t, s.UpdateCasevac(ctx, x, entry("casevac.arrive")), "UpdateCasevac")
			}
			all = append(all, x)
		}
		filters := []struct {
			name string
			f    bluehelm.CasevacFilter
		}{
			{"all", bluehelm.CasevacFilter{}},
			{"open", bluehelm.CasevacFilter{Statuses: []bluehelm.CasevacStatus{bluehelm.CasevacRequested}}},
			{"incident 2", bluehelm.CasevacFilter{IncidentID: 2}},
		}
		for _, p := range viewers() {
			for _, tc := range filters {
				for _, limit := range []int{3, 0} {
					t.Run(fmt.Sprintf("%s/%s/limit=%d", viewerName(p), tc.name, limit), func(t *testing.T) {
						f := tc.f
						f.Viewer, f.Limit = p, limit
						var want []*bluehelm.Casevac
						for _, x := range all {
							if p.CanSee(x.Marking) && (len(f.Statuses) == 0 || slices.Contains(f.Statuses, x.Status)) &&
								(f.IncidentID == 0 || x.IncidentID == f.IncidentID) {
								want = append(want, x)
							}
						}
						slices.SortFunc(want, func(a, b *bluehelm.Casevac) int {
							if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
								return c
							}
							return cmpInt(b.ID, a.ID)
						})
						if limit > 0 && len(want) > limit {
							want = want[:limit]
						}
						got, err := s.FindCasevacs(ctx, f)
						must(t, err, "FindCasevacs")
						if !slices.Equal(casevacIDs(got), casevacIDs(want)) {
							t.Fatalf("got %v, want %v", casevacIDs(got), casevacIDs(want))
						}
					})
				}
			}
		}
	})
}
