package storetest

import (
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func testIncidents(t *testing.T, o Opener) {
	t.Run("CreateGet", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a := newIncident("Shooting at the market", t0, bluehelm.Point{Lon: 29.8, Lat: 9.2}, unclassified)
		b := newIncident("Roadblock", t0.Add(time.Hour), bluehelm.Point{Lon: 31.6, Lat: 4.85}, bluehelm.Marking{
			Classification: bluehelm.Confidential, Component: bluehelm.Police, Releasability: []bluehelm.Component{bluehelm.Civilian},
		})
		for _, inc := range []*bluehelm.Incident{a, b} {
			must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")
			if inc.ID == 0 || inc.Version != 1 {
				t.Fatalf("after create: id %d version %d, want an id and version 1", inc.ID, inc.Version)
			}
		}
		if a.ID == b.ID {
			t.Fatalf("two incidents got the same id %d", a.ID)
		}
		for _, want := range []*bluehelm.Incident{a, b} {
			got, err := s.Incident(ctx, want.ID)
			must(t, err, "Incident")
			sameJSON(t, got, want, "stored incident")
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		_, err := s.Incident(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "Incident of unknown id")
		_, err = s.IncidentRevisions(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "IncidentRevisions of unknown id")
		ghost := newIncident("ghost", t0, bluehelm.Point{Lon: 30, Lat: 7}, unclassified)
		ghost.ID, ghost.Version = 424242, 1
		wantCode(t, s.UpdateIncident(ctx, ghost, "edit", entry("incident.edit")), bluehelm.ENOTFOUND, "UpdateIncident of unknown id")
	})

	t.Run("OptimisticConcurrency", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		inc := newIncident("Armed men at checkpoint", t0, bluehelm.Point{Lon: 31.6, Lat: 4.85}, unclassified)
		must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")

		// Two editors load version 1; the first to save wins.
		first, second := *inc, *inc
		first.Title = "first editor"
		second.Title = "second editor"
		must(t, s.UpdateIncident(ctx, &first, "edit", entry("incident.edit")), "first UpdateIncident")
		if first.Version != 2 {
			t.Errorf("version after update = %d, want 2", first.Version)
		}
		err := s.UpdateIncident(ctx, &second, "edit", entry("incident.edit"))
		wantCode(t, err, bluehelm.ECONFLICT, "update from a stale version")
		if second.Version != 1 {
			t.Errorf("a failed update changed the caller's version to %d", second.Version)
		}
		got, err := s.Incident(ctx, inc.ID)
		must(t, err, "Incident")
		if got.Title != "first editor" || got.Version != 2 {
			t.Errorf("stored %q version %d, want the first editor's version 2", got.Title, got.Version)
		}
		// The loser reloads and retries.
		got.Title = "second editor"
		must(t, s.UpdateIncident(ctx, got, "edit", entry("incident.edit")), "retried UpdateIncident")
		if got.Version != 3 {
			t.Errorf("version after retry = %d, want 3", got.Version)
		}
	})

	t.Run("IndexesFollowUpdates", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		inc := newIncident("Convoy ambushed", t0, bluehelm.Point{Lon: 31.6, Lat: 4.85}, unclassified)
		must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")
		other := newIncident("Convoy delayed", t0, bluehelm.Point{Lon: 25, Lat: 10}, unclassified)
		must(t, s.CreateIncident(ctx, other, entry("incident.create")), "CreateIncident")
		// Everything a query can select by changes: text, place, time, marking.
		inc.Title, inc.Narrative, inc.PlaceName = "Cattle raid", "Raiders took cattle.", "Yei"
		inc.Location, inc.OccurredStart = bluehelm.Point{Lon: 30.65, Lat: 4.1}, t0.Add(400*24*time.Hour)
		inc.Marking = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police}
		must(t, s.UpdateIncident(ctx, inc, "edit", entry("incident.edit")), "UpdateIncident")

		police := bluehelm.Principal{Username: "p", Component: bluehelm.Police, Clearance: bluehelm.Confidential}
		oldBox := &bluehelm.BBox{MinLon: 31.5, MinLat: 4.8, MaxLon: 31.7, MaxLat: 4.9}
		newBox := &bluehelm.BBox{MinLon: 30.6, MinLat: 4.0, MaxLon: 30.7, MaxLat: 4.2}
		for _, tc := range []struct {
			name string
			f    bluehelm.IncidentFilter
			want []int64
		}{
			{"old words", bluehelm.IncidentFilter{Viewer: sys, Text: "ambushed"}, nil},
			{"old and kept word", bluehelm.IncidentFilter{Viewer: sys, Text: "convoy"}, []int64{other.ID}},
			{"new words", bluehelm.IncidentFilter{Viewer: sys, Text: "cattle raid"}, []int64{inc.ID}},
			{"new place name", bluehelm.IncidentFilter{Viewer: sys, Text: "yei"}, []int64{inc.ID}},
			{"old box", bluehelm.IncidentFilter{Viewer: sys, BBox: oldBox}, nil},
			{"new box", bluehelm.IncidentFilter{Viewer: sys, BBox: newBox}, []int64{inc.ID}},
			{"new box old time", bluehelm.IncidentFilter{Viewer: sys, BBox: newBox, To: t0.Add(time.Hour)}, nil},
			{"new box new time", bluehelm.IncidentFilter{Viewer: sys, BBox: newBox, From: t0.Add(399 * 24 * time.Hour)}, []int64{inc.ID}},
			{"old time", bluehelm.IncidentFilter{Viewer: sys, To: t0.Add(time.Hour)}, []int64{other.ID}},
			{"new marking hides", bluehelm.IncidentFilter{}, []int64{other.ID}},
			{"new marking shows", bluehelm.IncidentFilter{Viewer: police}, []int64{inc.ID, other.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkIDs(t, collect(t, s, tc.f, 10), tc.want, tc.name)
			})
		}
	})

	t.Run("Revisions", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		inc := newIncident("Convoy stopped", t0, bluehelm.Point{Lon: 30, Lat: 8}, unclassified)
		must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")
		v1 := *inc
		inc.Narrative = "Convoy stopped by armed youth."
		must(t, s.UpdateIncident(ctx, inc, "edit", entry("incident.edit")), "edit")
		v2 := *inc
		inc.Status = bluehelm.StatusSubmitted
		e := entry("incident.submit")
		e.Actor = "submitter"
		must(t, s.UpdateIncident(ctx, inc, "submit", e), "submit")
		v3 := *inc

		revs, err := s.IncidentRevisions(ctx, inc.ID)
		must(t, err, "IncidentRevisions")
		want := []struct {
			inc    bluehelm.Incident
			action string
			actor  string
		}{{v1, "create", sys.Username}, {v2, "edit", sys.Username}, {v3, "submit", "submitter"}}
		if len(revs) != len(want) {
			t.Fatalf("%d revisions, want %d", len(revs), len(want))
		}
		for i, w := range want {
			r := revs[i]
			if r.IncidentID != inc.ID || r.Version != i+1 || r.Action != w.action || r.Actor != w.actor || r.At.IsZero() {
				t.Errorf("revision %d = {incident %d version %d action %q actor %q at %v}, want {%d %d %q %q, a time}",
					i, r.IncidentID, r.Version, r.Action, r.Actor, r.At, inc.ID, i+1, w.action, w.actor)
			}
			sameJSON(t, r.Incident, w.inc, "revision content")
		}
	})
}

func testImport(t *testing.T, o Opener) {
	rows := func() []*bluehelm.Incident {
		var out []*bluehelm.Incident
		for i, inc := range dataset(5, 7) {
			inc.ExternalID = "ucdp:" + string(rune('a'+i))
			out = append(out, inc)
		}
		return out
	}

	t.Run("Idempotent", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		first := rows()
		created, updated, err := s.ImportIncidents(ctx, first, entry("incident.import"))
		must(t, err, "first import")
		if created != 5 || updated != 0 {
			t.Fatalf("first import: created %d updated %d, want 5 0", created, updated)
		}
		for _, inc := range first {
			if inc.ID == 0 || inc.Version != 1 {
				t.Fatalf("imported incident %s has id %d version %d", inc.ExternalID, inc.ID, inc.Version)
			}
			got, err := s.Incident(ctx, inc.ID)
			must(t, err, "Incident")
			sameJSON(t, got, inc, "imported incident")
			byExt, err := s.IncidentByExternalID(ctx, inc.ExternalID)
			must(t, err, "IncidentByExternalID")
			sameJSON(t, byExt, inc, "incident by external id")
		}
		if _, err := s.IncidentByExternalID(ctx, "ucdp:none"); bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
			t.Errorf("unknown external id: %v, want ENOTFOUND", err)
		}

		// The same rows again, as an importer re-reading its source would produce.
		again := rows()
		created, updated, err = s.ImportIncidents(ctx, again, entry("incident.import"))
		must(t, err, "re-import")
		if created != 0 || updated != 0 {
			t.Errorf("re-import of unchanged rows: created %d updated %d, want 0 0", created, updated)
		}
		for i, inc := range again {
			if inc.ID != first[i].ID || inc.Version != 1 {
				t.Errorf("re-imported %s: id %d version %d, want %d 1", inc.ExternalID, inc.ID, inc.Version, first[i].ID)
			}
		}

		// The same rows as an importer stamps them on another run: new
		// UpdatedAt and ReportedAt, same content.
		restamped := rows()
		for _, inc := range restamped {
			inc.UpdatedAt, inc.ReportedAt = t0.Add(1000*time.Hour), t0.Add(1000*time.Hour)
		}
		created, updated, err = s.ImportIncidents(ctx, restamped, entry("incident.import"))
		must(t, err, "re-import with new bookkeeping times")
		if created != 0 || updated != 0 {
			t.Errorf("re-import differing only in UpdatedAt/ReportedAt: created %d updated %d, want 0 0", created, updated)
		}

		changed := rows()
		changed[2].Title = "Corrected by the source"
		created, updated, err = s.ImportIncidents(ctx, changed, entry("incident.import"))
		must(t, err, "import with one changed row")
		if created != 0 || updated != 1 {
			t.Errorf("import with one changed row: created %d updated %d, want 0 1", created, updated)
		}
		got, err := s.Incident(ctx, first[2].ID)
		must(t, err, "Incident")
		if got.Title != "Corrected by the source" || got.Version != 2 {
			t.Errorf("changed row stored as %q version %d", got.Title, got.Version)
		}
		revs, err := s.IncidentRevisions(ctx, first[2].ID)
		must(t, err, "IncidentRevisions")
		if len(revs) != 2 {
			t.Errorf("changed row has %d revisions, want 2", len(revs))
		}
		page, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys})
		must(t, err, "FindIncidents")
		if len(page.Incidents) != 5 {
			t.Errorf("%d incidents stored after three imports of 5 rows, want 5", len(page.Incidents))
		}
	})

	t.Run("ExternalIDRequired", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		in := rows()
		in[3].ExternalID = ""
		_, _, err := s.ImportIncidents(ctx, in, entry("incident.import"))
		wantCode(t, err, bluehelm.EINVALID, "import of a row without external id")
		page, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys})
		must(t, err, "FindIncidents")
		if len(page.Incidents) != 0 {
			t.Errorf("a refused import stored %d incidents; an import is one transaction", len(page.Incidents))
		}
	})
}
