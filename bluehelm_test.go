package bluehelm_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func validIncident() *bluehelm.Incident {
	return &bluehelm.Incident{
		Title: "Exchange of fire near Bor", Category: bluehelm.CatArmedClash, Subcategory: "exchange_of_fire",
		OccurredStart: now.Add(-time.Hour), Location: bluehelm.Point{Lon: 31.56, Lat: 6.2},
		Casualties: []bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 1, Best: 2, High: 3}},
		Marking:    bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military},
		ReportedBy: "unpol", Status: bluehelm.StatusDraft,
	}
}

func TestIncidentValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.Incident)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.Incident) {}, ""},
		{"no title", func(i *bluehelm.Incident) { i.Title = "  " }, "title"},
		{"long title", func(i *bluehelm.Incident) { i.Title = strings.Repeat("x", 201) }, "title"},
		{"unknown category", func(i *bluehelm.Incident) { i.Category = "picnic" }, "category"},
		{"subcategory of another category", func(i *bluehelm.Incident) { i.Subcategory = "ied" }, "subcategory"},
		{"latitude out of range", func(i *bluehelm.Incident) { i.Location.Lat = 91 }, "location.lat"},
		{"longitude out of range", func(i *bluehelm.Incident) { i.Location.Lon = -181 }, "location.lon"},
		{"far future", func(i *bluehelm.Incident) { i.OccurredStart = now.Add(24 * time.Hour) }, "occurred_start"},
		{"small clock skew is fine", func(i *bluehelm.Incident) { i.OccurredStart = now.Add(time.Minute) }, ""},
		{"missing time", func(i *bluehelm.Incident) { i.OccurredStart = time.Time{} }, "occurred_start"},
		{"end before start", func(i *bluehelm.Incident) { e := i.OccurredStart.Add(-time.Minute); i.OccurredEnd = &e }, "occurred_end"},
		{"casualty estimates out of order", func(i *bluehelm.Incident) { i.Casualties[0].Low = 5 }, "casualties[0]"},
		{"unknown casualty group", func(i *bluehelm.Incident) { i.Casualties[0].Group = "cows" }, "casualties[0].group"},
		{"duplicate casualty row", func(i *bluehelm.Incident) { i.Casualties = append(i.Casualties, i.Casualties[0]) }, "casualties[1]"},
		{"bad reliability", func(i *bluehelm.Incident) { i.Sources = []bluehelm.Source{{Name: "patrol", Reliability: "Z"}} }, "sources[0].reliability"},
		{"unknown component", func(i *bluehelm.Incident) { i.Component = "navy" }, "component"},
		{"unknown releasability", func(i *bluehelm.Incident) { i.Releasability = []bluehelm.Component{"press"} }, "releasable_to[0]"},
		{"repeated releasability", func(i *bluehelm.Incident) {
			i.Releasability = []bluehelm.Component{bluehelm.Police, bluehelm.Civilian, bluehelm.Police}
		}, "releasable_to[2]"},
		{"actor without name", func(i *bluehelm.Incident) { i.Actors = []bluehelm.Actor{{Type: "rebel_group"}} }, "actors[0].name"},
		{"invalid UTF-8", func(i *bluehelm.Incident) { i.Narrative = "bad \xff byte" }, "narrative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := validIncident()
			tt.change(inc)
			err := inc.Validate(now)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != tt.field {
				t.Fatalf("want invalid %q, got %v (field %q)", tt.field, err, bluehelm.ErrorField(err))
			}
		})
	}
}

// TestCanSeeMatrix checks the access rule for every clearance × component against
// every classification × originating component, with and without release.
func TestCanSeeMatrix(t *testing.T) {
	for _, clr := range []bluehelm.Classification{bluehelm.Unclassified, bluehelm.Confidential, bluehelm.StrictlyConfidential} {
		for _, uc := range bluehelm.Components {
			p := bluehelm.Principal{Username: "u", Role: bluehelm.RoleOperations, Component: uc, Clearance: clr}
			for _, cls := range []bluehelm.Classification{bluehelm.Unclassified, bluehelm.Confidential, bluehelm.StrictlyConfidential} {
				for _, rc := range bluehelm.Components {
					for _, released := range []bool{false, true} {
						m := bluehelm.Marking{Classification: cls, Component: rc}
						if released {
							m.Releasability = []bluehelm.Component{uc}
						}
						want := clr >= cls && (cls == bluehelm.Unclassified || uc == rc || released)
						if got := p.CanSee(m); got != want {
							t.Errorf("clearance %v component %s on %v/%s released=%v: got %v want %v", clr, uc, cls, rc, released, got, want)
						}
					}
				}
			}
		}
	}
	if !bluehelm.SystemPrincipal("cli").CanSee(bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Police}) {
		t.Error("the local system principal must see everything")
	}
	admin := bluehelm.Principal{Role: bluehelm.RoleAdmin, Component: bluehelm.Support, Clearance: bluehelm.Confidential}
	if admin.CanSee(bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Support}) {
		t.Error("an administrator role must not widen access beyond clearance")
	}
}

func TestWorkflow(t *testing.T) {
	reporter := bluehelm.Principal{Username: "unpol", Role: bluehelm.RoleReporter, Component: bluehelm.Police}
	joc := bluehelm.Principal{Username: "joc", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
	chief := bluehelm.Principal{Username: "chief", Role: bluehelm.RoleCommander, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
	viewer := bluehelm.Principal{Username: "v", Role: bluehelm.RoleViewer}
	type step struct {
		a      bluehelm.WorkflowAction
		by     bluehelm.Principal
		reason string
		code   string // expected error code, "" for success
		status bluehelm.Status
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"two-person approval", []step{
			{bluehelm.WfSubmit, reporter, "", "", bluehelm.StatusSubmitted},
			{bluehelm.WfVerify, joc, "", "", bluehelm.StatusVerified},
			{bluehelm.WfApprove, chief, "", "", bluehelm.StatusApproved},
		}},
		{"NOTICAS: verifier cannot approve", []step{
			{bluehelm.WfSubmit, reporter, "", "", bluehelm.StatusSubmitted},
			{bluehelm.WfVerify, joc, "", "", bluehelm.StatusVerified},
			{bluehelm.WfApprove, joc, "", bluehelm.ECONFLICT, bluehelm.StatusVerified},
		}},
		{"an editor may submit another's draft", []step{
			{bluehelm.WfSubmit, joc, "", "", bluehelm.StatusSubmitted},
		}},
		{"reporter role cannot verify", []step{
			{bluehelm.WfSubmit, reporter, "", "", bluehelm.StatusSubmitted},
			{bluehelm.WfVerify, reporter, "", bluehelm.EFORBIDDEN, bluehelm.StatusSubmitted},
		}},
		{"cannot approve unverified", []step{
			{bluehelm.WfSubmit, reporter, "", "", bluehelm.StatusSubmitted},
			{bluehelm.WfApprove, chief, "", bluehelm.ECONFLICT, bluehelm.StatusSubmitted},
		}},
		{"reject needs a reason, then reopen", []step{
			{bluehelm.WfSubmit, reporter, "", "", bluehelm.StatusSubmitted},
			{bluehelm.WfReject, joc, " ", bluehelm.EINVALID, bluehelm.StatusSubmitted},
			{bluehelm.WfReject, joc, "location is the camp itself", "", bluehelm.StatusRejected},
			{bluehelm.WfReopen, reporter, "", "", bluehelm.StatusDraft},
		}},
		{"viewer cannot submit another's draft", []step{
			{bluehelm.WfSubmit, viewer, "", bluehelm.EFORBIDDEN, bluehelm.StatusDraft},
		}},
		{"unknown action", []step{{"publish", chief, "", bluehelm.EINVALID, bluehelm.StatusDraft}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := validIncident()
			for i, s := range tt.steps {
				err := inc.Transition(s.a, s.by, s.reason)
				if got := bluehelm.ErrorCode(err); got != s.code {
					t.Fatalf("step %d %s by %s: error %v, want code %q", i, s.a, s.by.Username, err, s.code)
				}
				if inc.Status != s.status {
					t.Fatalf("step %d: status %s, want %s", i, inc.Status, s.status)
				}
			}
		})
	}
	t.Run("self verification refused", func(t *testing.T) {
		inc := validIncident()
		inc.ReportedBy, inc.Status = "joc", bluehelm.StatusSubmitted
		if err := inc.Transition(bluehelm.WfVerify, joc, ""); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
			t.Fatalf("got %v", err)
		}
	})
}

// A federation conflict is settled by an editor, in any status, once; an edit
// neither settles nor drops it.
func TestReconcileConflicts(t *testing.T) {
	joc := bluehelm.Principal{Username: "joc", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
	reporter := bluehelm.Principal{Username: "unpol", Role: bluehelm.RoleReporter, Component: bluehelm.Police}
	conflicted := func() *bluehelm.Incident {
		inc := validIncident()
		inc.ID, inc.Status = 9, bluehelm.StatusApproved
		inc.Conflicts = []bluehelm.Revision{
			{Actor: "camp1", Version: 3, Action: "conflict", ReconciledBy: "chief"},
			{Actor: "camp1", Version: 5, Action: "conflict"},
		}
		return inc
	}
	for _, tc := range []struct {
		name string
		inc  *bluehelm.Incident
		by   bluehelm.Principal
		code string
	}{
		{"editor settles an approved report's conflict", conflicted(), joc, ""},
		{"reporter may not", conflicted(), reporter, bluehelm.EFORBIDDEN},
		{"nothing open", validIncident(), joc, bluehelm.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.inc.Conflicts)
			err := tc.inc.Transition(bluehelm.WfReconcile, tc.by, "")
			if got := bluehelm.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if tc.code != "" {
				if !reflect.DeepEqual(tc.inc.Conflicts, before) {
					t.Fatalf("a refused reconciliation changed the conflicts: %+v", tc.inc.Conflicts)
				}
				return
			}
			if len(tc.inc.OpenConflicts()) != 0 || tc.inc.Conflicts[0].ReconciledBy != "chief" || tc.inc.Conflicts[1].ReconciledBy != "joc" {
				t.Fatalf("conflicts after reconcile: %+v", tc.inc.Conflicts)
			}
			if before[1].ReconciledBy != "" {
				t.Fatal("reconcile changed the caller's slice")
			}
		})
	}
	inc := conflicted()
	inc.Status = bluehelm.StatusSubmitted
	next := validIncident()
	next.Title = "Edited"
	inc.ApplyEdit(next)
	if len(inc.Conflicts) != 2 || len(inc.OpenConflicts()) != 1 {
		t.Fatalf("an edit changed the conflicts: %+v", inc.Conflicts)
	}
}

func TestEditReturnsVerifiedToSubmitted(t *testing.T) {
	inc := validIncident()
	inc.ID, inc.Version, inc.Status, inc.VerifiedBy = 7, 3, bluehelm.StatusVerified, "joc"
	next := validIncident()
	next.Title, next.Status, next.ReportedBy = "Changed", bluehelm.StatusApproved, "mallory"
	inc.ApplyEdit(next)
	if inc.Title != "Changed" || inc.ID != 7 || inc.Version != 3 || inc.ReportedBy != "unpol" {
		t.Fatalf("identity or content wrong after edit: %+v", inc)
	}
	if inc.Status != bluehelm.StatusSubmitted || inc.VerifiedBy != "" {
		t.Fatalf("an edited verified report must need verification again, got %s by %q", inc.Status, inc.VerifiedBy)
	}
}

func TestAuditChain(t *testing.T) {
	var chain []bluehelm.AuditEntry
	var prev *bluehelm.AuditEntry
	for i := range 5 {
		e := bluehelm.NewAudit(bluehelm.Principal{Username: "joc"}, "incident.edit", "incident/1", map[string]int{"v": i})
		e.At = now.Add(time.Duration(i) * time.Second)
		e.Chain(prev)
		chain = append(chain, e)
		prev = &chain[len(chain)-1]
	}
	verify := func(es []bluehelm.AuditEntry) error {
		var v bluehelm.AuditVerifier
		for _, e := range es {
			if err := v.Next(e); err != nil {
				return err
			}
		}
		return nil
	}
	if err := verify(chain); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	tampered := func(f func([]bluehelm.AuditEntry) []bluehelm.AuditEntry) []bluehelm.AuditEntry {
		c := append([]bluehelm.AuditEntry(nil), chain...)
		return f(c)
	}
	for name, c := range map[string][]bluehelm.AuditEntry{
		"edited actor": tampered(func(c []bluehelm.AuditEntry) []bluehelm.AuditEntry { c[2].Actor = "mallory"; return c }),
		"edited detail": tampered(func(c []bluehelm.AuditEntry) []bluehelm.AuditEntry {
			c[1].Detail = json.RawMessage(`{"v":9}`)
			return c
		}),
		"deleted entry": tampered(func(c []bluehelm.AuditEntry) []bluehelm.AuditEntry { return append(c[:2], c[3:]...) }),
		"rehashed edit": tampered(func(c []bluehelm.AuditEntry) []bluehelm.AuditEntry {
			c[2].Actor = "mallory"
			c[2].Hash = c[2].ComputeHash() // the next entry's PrevHash still betrays it
			return c
		}),
	} {
		if err := verify(c); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
			t.Errorf("%s: want a broken chain, got %v", name, err)
		}
	}
}

func TestAreaGeometry(t *testing.T) {
	outer := orb.Ring{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}
	hole := orb.Ring{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}}
	a := bluehelm.Area{Name: "camp", Kind: bluehelm.AreaCamp, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{outer, hole}},
		Marking: bluehelm.Marking{Component: bluehelm.Support}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    bluehelm.Point
		want bool
	}{{bluehelm.Point{Lon: 1, Lat: 1}, true}, {bluehelm.Point{Lon: 5, Lat: 5}, false}, {bluehelm.Point{Lon: 11, Lat: 5}, false}} {
		if got := a.Geometry.Contains(c.p); got != c.want {
			t.Errorf("contains %v = %v, want %v", c.p, got, c.want)
		}
	}
	b, err := json.Marshal(a.Geometry)
	if err != nil {
		t.Fatal(err)
	}
	var back bluehelm.Geometry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Contains(bluehelm.Point{Lon: 1, Lat: 1}) || back.Contains(bluehelm.Point{Lon: 5, Lat: 5}) {
		t.Fatalf("geometry did not round-trip: %s", b)
	}
	for _, bad := range []struct{ json, field string }{
		{`{"type":"Point","coordinates":[1,2]}`, "geometry.type"},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0.5]]]}`, "geometry.coordinates[0]"},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "geometry.coordinates[0]"},
		{`{"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]}`, "geometry.coordinates[0][1].lon"},
	} {
		var g bluehelm.Geometry
		err := json.Unmarshal([]byte(bad.json), &g)
		if err == nil {
			err = g.Validate()
		}
		if bluehelm.ErrorField(err) != bad.field {
			t.Errorf("%s: want field %q, got %v", bad.json, bad.field, err)
		}
	}
}

func TestPositionValidate(t *testing.T) {
	ok := bluehelm.Position{UID: "ANDROID-1", Time: now, Lat: 4.85, Lon: 31.6, Course: 90, Speed: 3}
	for _, c := range []struct {
		name  string
		f     func(*bluehelm.Position)
		field string
	}{
		{"ok", func(*bluehelm.Position) {}, ""},
		{"uid with space", func(p *bluehelm.Position) { p.UID = "a b" }, "uid"},
		{"future", func(p *bluehelm.Position) { p.Time = now.Add(time.Hour) }, "time"},
		{"lat", func(p *bluehelm.Position) { p.Lat = -90.5 }, "lat"},
		{"course", func(p *bluehelm.Position) { p.Course = 361 }, "course"},
		{"battery", func(p *bluehelm.Position) { p.Battery = 101 }, "battery"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			c.f(&p)
			err := p.Validate(now)
			if bluehelm.ErrorField(err) != c.field || (c.field == "") != (err == nil) {
				t.Fatalf("want field %q, got %v", c.field, err)
			}
		})
	}
}

func TestRolePermissions(t *testing.T) {
	// Spot checks of the permission table that the workflow depends on.
	for _, c := range []struct {
		role bluehelm.Role
		act  bluehelm.Action
		want bool
	}{
		{bluehelm.RoleViewer, bluehelm.ActReportIncident, false},
		{bluehelm.RoleReporter, bluehelm.ActReportIncident, true},
		{bluehelm.RoleReporter, bluehelm.ActVerifyIncident, false},
		{bluehelm.RoleAnalyst, bluehelm.ActApproveIncident, false},
		{bluehelm.RoleOperations, bluehelm.ActApproveIncident, true},
		{bluehelm.RoleAdmin, bluehelm.ActManageUsers, true},
		{bluehelm.RoleCommander, bluehelm.ActManageUsers, false},
	} {
		if got := (bluehelm.Principal{Role: c.role}).Can(c.act); got != c.want {
			t.Errorf("%s %s = %v, want %v", c.role, c.act, got, c.want)
		}
	}
}

// TestCombine checks exhaustively that whoever can see a combined marking can see
// both of its parts.
func TestCombine(t *testing.T) {
	levels := []bluehelm.Classification{bluehelm.Unclassified, bluehelm.Confidential, bluehelm.StrictlyConfidential}
	var marks []bluehelm.Marking
	for _, l := range levels {
		for _, c := range bluehelm.Components {
			marks = append(marks, bluehelm.Marking{Classification: l, Component: c})
			for _, r := range bluehelm.Components {
				if r != c {
					marks = append(marks, bluehelm.Marking{Classification: l, Component: c, Releasability: []bluehelm.Component{r}})
				}
			}
		}
	}
	for _, a := range marks {
		for _, b := range marks {
			m, ok := bluehelm.Combine(a, b)
			if !ok {
				for _, c := range bluehelm.Components {
					p := bluehelm.Principal{Component: c, Clearance: bluehelm.StrictlyConfidential}
					if p.CanSee(a) && p.CanSee(b) {
						t.Fatalf("Combine(%v, %v) refused, but %s may see both", a, b, c)
					}
				}
				continue
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("Combine(%v, %v) = %v: %v", a, b, m, err)
			}
			seen := false
			for _, l := range levels {
				for _, c := range bluehelm.Components {
					p := bluehelm.Principal{Component: c, Clearance: l}
					if p.CanSee(m) {
						seen = true
						if !p.CanSee(a) || !p.CanSee(b) {
							t.Fatalf("Combine(%v, %v) = %v is visible to %s/%v who cannot see both", a, b, m, c, l)
						}
					}
				}
			}
			if a.Classification == bluehelm.Unclassified && b.Classification == bluehelm.Unclassified && !seen {
				t.Fatalf("two unclassified markings combined into an invisible one: %v", m)
			}
		}
	}
}
