package ingest_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/paulmach/orb"
)

var medic = bluehelm.Principal{UserID: 6, Username: "medic", Role: bluehelm.RoleMedical, Component: bluehelm.Military, Clearance: bluehelm.Confidential}

type casevacEnv struct {
	*env
	clock *fakeClock
	path  string
}

func newCasevacEnv(t *testing.T) *casevacEnv {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := &casevacEnv{clock: clk, path: filepath.Join(t.TempDir(), "test.db")}
	e.env = e.open(t)
	ring := orb.Ring{{31, 4}, {32, 4}, {32, 5}, {31, 5}, {31, 4}}
	aor := &bluehelm.Area{Name: "Sector East", Kind: bluehelm.AreaAOR, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.CreateArea(ctx, joc, aor); err != nil {
		t.Fatal(err)
	}
	return e
}

// open opens the pipeline over the env's database (again: a restart).
func (e *casevacEnv) open(t *testing.T) *env {
	store, err := sqlite.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	en := &env{store: store, pic: live.NewPicture(), hub: live.NewHub(live.HubOptions{})}
	en.p = ingest.New(store, en.pic, live.NewGeofencer(), en.hub, ingest.Options{Now: e.clock.Now})
	if err := en.p.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return en
}

func nineLine(wounded time.Time) *bluehelm.Casevac {
	return &bluehelm.Casevac{
		NineLine: bluehelm.NineLine{Location: bluehelm.Point{Lon: 31.5, Lat: 4.5}, Frequency: "45.300", CallSign: "BRAVO 2",
			Patients: bluehelm.PatientCounts{Urgent: 1}, Litter: 1, Categories: []bluehelm.PatientCategory{bluehelm.PatUNMilitary}},
		WoundedAt: wounded,
	}
}

func casevacAlerts(t *testing.T, e *env) map[string]int {
	t.Helper()
	all, err := e.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("test")})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, a := range all {
		if a.Source == bluehelm.AlertCasevac {
			n[a.Rule]++
		}
	}
	return n
}

func TestCasevacRejectsBadInput(t *testing.T) {
	e := newCasevacEnv(t)
	now := e.clock.Now()
	tests := []struct {
		name  string
		by    bluehelm.Principal
		edit  func(*bluehelm.Casevac)
		code  string
		field string
	}{
		{"viewer may not request", viewer, func(*bluehelm.Casevac) {}, bluehelm.EFORBIDDEN, ""},
		{"wounded in the future", reporter, func(c *bluehelm.Casevac) { c.WoundedAt = now.Add(time.Hour) }, bluehelm.EINVALID, "wounded_at"},
		{"outside the mission area", reporter, func(c *bluehelm.Casevac) { c.Location = bluehelm.Point{Lon: 20, Lat: 10} }, bluehelm.EINVALID, "location"},
		{"impossible counts", reporter, func(c *bluehelm.Casevac) { c.Ambulatory = 3 }, bluehelm.EINVALID, "litter"},
		{"missing call sign", reporter, func(c *bluehelm.Casevac) { c.CallSign = "" }, bluehelm.EINVALID, "call_sign"},
		{"unknown incident", reporter, func(c *bluehelm.Casevac) { c.IncidentID = 999 }, bluehelm.ENOTFOUND, "incident_id"},
		{"first aid before wounding", reporter, func(c *bluehelm.Casevac) { c.FirstAidAt = c.WoundedAt.Add(-time.Minute) }, bluehelm.EINVALID, "first_aid_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := auditCount(t, e.env)
			c := nineLine(now.Add(-5 * time.Minute))
			tt.edit(c)
			_, err := e.p.RequestCasevac(ctx, tt.by, c)
			if bluehelm.ErrorCode(err) != tt.code || (tt.field != "" && bluehelm.ErrorField(err) != tt.field) {
				t.Fatalf("err = %v (field %q), want %s %q", err, bluehelm.ErrorField(err), tt.code, tt.field)
			}
			if auditCount(t, e.env) != before {
				t.Fatal("a rejected request changed the audit chain")
			}
			got, _ := e.store.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: bluehelm.SystemPrincipal("t")})
			if len(got) != 0 {
				t.Fatalf("a rejected request was stored")
			}
		})
	}
}

// TestCasevacClockAlerts: the three clocks raise a warning at 80 % of their
// time and an alert when missed, each once, also across a restart.
func TestCasevacClockAlerts(t *testing.T) {
	e := newCasevacEnv(t)
	wounded := e.clock.Now().Add(-2 * time.Minute)
	c, err := e.p.RequestCasevac(ctx, reporter, nineLine(wounded))
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != bluehelm.CasevacRequested || len(c.Timeline) != 1 || c.Component != bluehelm.Police {
		t.Fatalf("new request: %+v", c)
	}
	steps := []struct {
		at   time.Duration // after wounding
		want map[string]int
	}{
		{3 * time.Minute, map[string]int{}},
		{8 * time.Minute, map[string]int{"clock_10m_warning": 1}},
		{9 * time.Minute, map[string]int{"clock_10m_warning": 1}},
		{10 * time.Minute, map[string]int{"clock_10m_warning": 1, "clock_10m_missed": 1}},
		{48 * time.Minute, map[string]int{"clock_10m_warning": 1, "clock_10m_missed": 1, "clock_1h_warning": 1}},
		// Checked late: the 2 h clock is already missed, so only its miss is raised.
		{121 * time.Minute, map[string]int{"clock_10m_warning": 1, "clock_10m_missed": 1, "clock_1h_warning": 1, "clock_1h_missed": 1, "clock_2h_missed": 1}},
	}
	for _, s := range steps {
		e.clock.Add(wounded.Add(s.at).Sub(e.clock.Now()))
		e.p.CheckCasevacs(ctx)
		e.p.CheckCasevacs(ctx)
		if got := casevacAlerts(t, e.env); !sameCounts(got, s.want) {
			t.Fatalf("at +%v: alerts %v, want %v", s.at, got, s.want)
		}
	}
	// A restart raises nothing again, even after the alerts are resolved.
	all, _ := e.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("t")})
	for _, a := range all {
		if _, err := e.p.ResolveAlert(ctx, joc, a.ID, a.Version, "handled"); err != nil {
			t.Fatal(err)
		}
	}
	e2 := e.open(t)
	e2.p.CheckCasevacs(ctx)
	if got := casevacAlerts(t, e2); len(got) != 5 || got["clock_2h_missed"] != 1 {
		t.Fatalf("after restart: %v", got)
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCasevacFlowFromPositions: recommendation, approval, launch by people;
// pick-up and arrival from the helicopter's positions, never dated before the
// step before.
func TestCasevacFlowFromPositions(t *testing.T) {
	e := newCasevacEnv(t)
	now := e.clock.Now()
	hosp := &bluehelm.MedicalFacility{Name: "Level 2 Juba", Level: "2", Location: bluehelm.Point{Lon: 31.9, Lat: 4.9},
		HelicopterLandingSites: []bluehelm.Point{{Lon: 31.9, Lat: 4.9}}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	clinic := &bluehelm.MedicalFacility{Name: "Level 1 Bor", Level: "1", Location: bluehelm.Point{Lon: 31.55, Lat: 4.55}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	for _, f := range []*bluehelm.MedicalFacility{hosp, clinic} {
		if err := e.p.CreateFacility(ctx, medic, f); err != nil {
			t.Fatal(err)
		}
	}
	heli := &bluehelm.Unit{Code: "AVN-1", Name: "Air medevac", Mobility: bluehelm.MobilityAir, TrackUIDs: []string{"heli-1"}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.CreateUnit(ctx, joc, heli); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("heli-1", now.Add(-time.Minute), 31.9, 4.9)}); err != nil {
		t.Fatal(err)
	}
	c, err := e.p.RequestCasevac(ctx, reporter, nineLine(now.Add(-10*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.p.RecommendCasevac(ctx, medic, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// ~63 km from the helicopter to the pick-up, ~63 km back: 30 + 19 + 19 min.
	if rec.Best == nil || rec.Best.FacilityID != hosp.ID || rec.Best.Means != "air" || !rec.Best.Meets1h || !rec.Best.Meets2h {
		t.Fatalf("recommendation: %+v %s", rec.Best, rec.Reason)
	}
	if _, err := e.p.CasevacStep(ctx, reporter, c.ID, ingest.CasevacStepInput{Action: bluehelm.CasevacApprove}); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("reporter approves: %v", err)
	}
	e.clock.Add(time.Minute)
	c, err = e.p.CasevacStep(ctx, medic, c.ID, ingest.CasevacStepInput{Action: bluehelm.CasevacApprove,
		FacilityID: rec.Best.FacilityID, Means: rec.Best.Means, AssetUnit: rec.Best.AssetUnit})
	if err != nil {
		t.Fatal(err)
	}
	if c.AssetTrack != "heli-1" {
		t.Fatalf("asset track %q", c.AssetTrack)
	}
	e.clock.Add(time.Minute)
	launched := e.clock.Now()
	if c, err = e.p.CasevacStep(ctx, medic, c.ID, ingest.CasevacStepInput{Action: bluehelm.CasevacLaunch}); err != nil {
		t.Fatal(err)
	}
	// A late fix at the pick-up site dated before the launch: nothing.
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("heli-1", launched.Add(-30*time.Second), 31.5, 4.5)}); err != nil {
		t.Fatal(err)
	}
	e.p.CheckCasevacs(ctx)
	if got, _ := e.store.Casevac(ctx, c.ID); got.Status != bluehelm.CasevacLaunched {
		t.Fatalf("status %s after an old fix", got.Status)
	}
	e.clock.Add(20 * time.Minute)
	pickup := e.clock.Now().Add(-time.Minute)
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("heli-1", pickup, 31.5005, 4.5005)}); err != nil {
		t.Fatal(err)
	}
	e.p.CheckCasevacs(ctx)
	e.clock.Add(20 * time.Minute)
	arrive := e.clock.Now()
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("heli-1", arrive, 31.9, 4.9)}); err != nil {
		t.Fatal(err)
	}
	e.p.CheckCasevacs(ctx)
	got, err := e.store.Casevac(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bluehelm.CasevacArrived {
		t.Fatalf("status %s", got.Status)
	}
	want := []bluehelm.CasevacStatus{bluehelm.CasevacRequested, bluehelm.CasevacApproved, bluehelm.CasevacLaunched, bluehelm.CasevacPickedUp, bluehelm.CasevacArrived}
	var prev time.Time
	for i, s := range got.Timeline {
		if s.Status != want[i] || s.At.Before(prev) {
			t.Fatalf("timeline %d: %+v", i, s)
		}
		prev = s.At
	}
	if !got.StepAt(bluehelm.CasevacPickedUp).Equal(pickup) || !got.Timeline[3].FromPositions || !got.StepAt(bluehelm.CasevacArrived).Equal(arrive) {
		t.Fatalf("steps from positions: %+v", got.Timeline)
	}
	if k := got.Clocks(arrive); k[1].State != bluehelm.ClockMet || k[2].State != bluehelm.ClockMet {
		t.Fatalf("clocks %+v", k)
	}
}

func TestCasualtyNotification(t *testing.T) {
	e := newCasevacEnv(t)
	c, err := e.p.RequestCasevac(ctx, reporter, nineLine(e.clock.Now().Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.ConfirmCasualty(ctx, chief, c.ID); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("confirm first: %v", err)
	}
	before := auditCount(t, e.env)
	if _, err := e.p.VerifyCasualty(ctx, joc, c.ID, "identity checked with the company"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.ConfirmCasualty(ctx, joc, c.ID); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("same person confirms: %v", err)
	}
	got, err := e.p.ConfirmCasualty(ctx, chief, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Notification.VerifiedBy != "joc" || got.Notification.ConfirmedBy != "chief" {
		t.Fatalf("notification %+v", got.Notification)
	}
	if n := auditCount(t, e.env) - before; n != 2 {
		t.Fatalf("%d audit entries, want 2", n)
	}
}

func TestCasevacFromCoTOnce(t *testing.T) {
	e := newCasevacEnv(t)
	a := nineLine(e.clock.Now().Add(-time.Minute))
	a.CoTUID, a.Source = "tak-casevac-1", "cot"
	first, err := e.p.RequestCasevac(ctx, reporter, a)
	if err != nil {
		t.Fatal(err)
	}
	b := nineLine(e.clock.Now().Add(-time.Minute))
	b.CoTUID = "tak-casevac-1"
	second, err := e.p.RequestCasevac(ctx, reporter, b)
	if err != nil || second.ID != first.ID {
		t.Fatalf("repeat: %v, id %d vs %d", err, second.ID, first.ID)
	}
}

// Route risk weighs the CASEVAC coverage once evacuation assets report where
// they are; with none, every stretch would be "outside" and the coverage would
// say nothing about one route against another, so it is left out. A road next
// to the hospital is within reach of care, but not of the only ambulance, which
// is 120 km away in the other corner of the sector.
func TestRouteRiskWeighsCasevacCoverage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ambulance bool
		want      bool // a casevac_outside_* reason
	}{
		{"no evacuation asset reporting", false, false},
		{"the only ambulance 120 km away", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCasevacEnv(t)
			now := e.clock.Now()
			hosp := &bluehelm.MedicalFacility{Name: "Level 2 Juba", Level: "2", Location: bluehelm.Point{Lon: 31.9, Lat: 4.9},
				Marking: bluehelm.Marking{Component: bluehelm.Military}}
			if err := e.p.CreateFacility(ctx, medic, hosp); err != nil {
				t.Fatal(err)
			}
			if tc.ambulance {
				amb := &bluehelm.Unit{Code: "AMB-1", Name: "Ambulance", Mobility: bluehelm.MobilityMounted, TrackUIDs: []string{"amb-1"},
					Marking: bluehelm.Marking{Component: bluehelm.Military}}
				if err := e.p.CreateUnit(ctx, joc, amb); err != nil {
					t.Fatal(err)
				}
				if err := e.p.Positions(ctx, joc, []ingest.Report{report("amb-1", now.Add(-time.Minute), 31.05, 4.05)}); err != nil {
					t.Fatal(err)
				}
			}
			route := orb.LineString{{31.85, 4.85}, {31.88, 4.85}}
			rep, err := e.p.AssessRoute(ctx, joc, route, now.Add(time.Hour), now.Add(3*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, r := range rep.Reasons {
				if r.Code == "casevac_outside_1h" || r.Code == "casevac_outside_2h" {
					got = true
				}
			}
			if got != tc.want {
				t.Errorf("outside-coverage reason %v, want %v (reasons %+v)", got, tc.want, rep.Reasons)
			}
		})
	}
}

// Once a mission marks its ambulances, an infantry company's armoured vehicle
// next to the casualty is not offered as one; before that, every vehicle is.
func TestCasevacOnlyMarkedAssetsOnceAnyIs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		marked   bool
		wantUnit string
	}{
		{"nothing marked: the nearest vehicle", false, "APC-1"},
		{"the ambulance marked: only it", true, "AMB-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCasevacEnv(t)
			now := e.clock.Now()
			clinic := &bluehelm.MedicalFacility{Name: "Level 1 Bor", Level: "1", Location: bluehelm.Point{Lon: 31.55, Lat: 4.55}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
			if err := e.p.CreateFacility(ctx, medic, clinic); err != nil {
				t.Fatal(err)
			}
			c, err := e.p.RequestCasevac(ctx, reporter, nineLine(now.Add(-5*time.Minute)))
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []struct {
				code    string
				medevac bool
				at      bluehelm.Point // the APC is at the pick-up, the ambulance at the clinic
			}{{"APC-1", false, c.Location}, {"AMB-1", tc.marked, clinic.Location}} {
				unit := &bluehelm.Unit{Code: u.code, Name: u.code, Mobility: bluehelm.MobilityMounted, Medevac: u.medevac,
					TrackUIDs: []string{u.code}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
				if err := e.p.CreateUnit(ctx, joc, unit); err != nil {
					t.Fatal(err)
				}
				if err := e.p.Positions(ctx, joc, []ingest.Report{report(u.code, now.Add(-time.Minute), u.at.Lon, u.at.Lat)}); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := e.p.RecommendCasevac(ctx, medic, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Best == nil || rec.Best.AssetUnit != tc.wantUnit {
				t.Fatalf("recommended %+v, want asset %s (%s)", rec.Best, tc.wantUnit, rec.Reason)
			}
		})
	}
}
