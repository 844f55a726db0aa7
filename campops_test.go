package bluehelm_test

import (
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestCampProfileValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.CampProfile)
		field  string
	}{
		{"valid", func(*bluehelm.CampProfile) {}, ""},
		{"no camp", func(p *bluehelm.CampProfile) { p.CampID = 0 }, "camp_id"},
		{"negative population", func(p *bluehelm.CampProfile) { p.Population = -1 }, "population"},
		{"absurd water standard", func(p *bluehelm.CampProfile) { p.WaterStandardLPD = 5000 }, "water_standard_lpd"},
		{"unknown role", func(p *bluehelm.CampProfile) { p.Escalation[1].Role = "chef" }, "escalation[1].role"},
		{"steps out of order", func(p *bluehelm.CampProfile) { p.Escalation[1].AfterMinutes = 5 }, "escalation[1].after_minutes"},
		{"zero minutes", func(p *bluehelm.CampProfile) { p.Escalation[0].AfterMinutes = 0 }, "escalation[0].after_minutes"},
		{"webhook not http", func(p *bluehelm.CampProfile) { p.WebhookURL = "ftp://gw.example/x" }, "webhook_url"},
		{"webhook with password", func(p *bluehelm.CampProfile) { p.WebhookURL = "https://u:pw@gw.example/x" }, "webhook_url"},
		{"no escalation", func(p *bluehelm.CampProfile) { p.Escalation = nil }, ""},
		{"zones and adjacency", func(p *bluehelm.CampProfile) { p.ZoneIDs, p.AdjacentZones = []int64{4, 5}, [][2]int64{{4, 5}} }, ""},
		{"bad zone id", func(p *bluehelm.CampProfile) { p.ZoneIDs = []int64{4, 0} }, "zone_ids[1]"},
		{"zone adjacent to itself", func(p *bluehelm.CampProfile) { p.AdjacentZones = [][2]int64{{4, 4}} }, "adjacent_zones[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &bluehelm.CampProfile{CampID: 3, Population: 800, WaterStandardLPD: 84, WebhookURL: "https://gw.example/hook",
				Escalation: []bluehelm.EscalationStep{{Role: bluehelm.RoleCamp, AfterMinutes: 5}, {Role: bluehelm.RoleCommander, AfterMinutes: 15}}}
			tc.change(p)
			checkField(t, p.Validate(), tc.field)
		})
	}
}

func TestNextEscalation(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	p := &bluehelm.CampProfile{CampID: 3, Escalation: []bluehelm.EscalationStep{{Role: bluehelm.RoleCamp, AfterMinutes: 5}, {Role: bluehelm.RoleCommander, AfterMinutes: 15}}}
	tests := []struct {
		name  string
		state bluehelm.AlertState
		taken int
		after time.Duration
		want  bluehelm.Role // "" for none
	}{
		{"too early", bluehelm.AlertOpen, 0, 4 * time.Minute, ""},
		{"first step on time", bluehelm.AlertOpen, 0, 5 * time.Minute, bluehelm.RoleCamp},
		{"first step taken, second not yet", bluehelm.AlertOpen, 1, 10 * time.Minute, ""},
		{"second step", bluehelm.AlertOpen, 1, 15 * time.Minute, bluehelm.RoleCommander},
		// After a long outage only the next step is due, not all at once.
		{"late: one step at a time", bluehelm.AlertOpen, 0, 2 * time.Hour, bluehelm.RoleCamp},
		{"list exhausted", bluehelm.AlertOpen, 2, 2 * time.Hour, ""},
		{"acknowledged: someone is on it", bluehelm.AlertAcknowledged, 0, time.Hour, ""},
		{"resolved", bluehelm.AlertResolved, 0, time.Hour, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &bluehelm.Alert{State: tc.state, RaisedAt: t0, Escalation: tc.taken}
			s, i, ok := p.NextEscalation(a, t0.Add(tc.after))
			if (tc.want != "") != ok || s.Role != tc.want || (ok && i != tc.taken) {
				t.Errorf("got %v %d %v, want %q", s, i, ok, tc.want)
			}
		})
	}
	var none *bluehelm.CampProfile
	if _, _, ok := none.NextEscalation(&bluehelm.Alert{State: bluehelm.AlertOpen, RaisedAt: t0}, t0.Add(time.Hour)); ok {
		t.Error("a camp without a profile escalated")
	}
	if got := none.WaterStandard(); got != bluehelm.DefaultWaterStandardLPD {
		t.Errorf("default water standard %v", got)
	}
}

func TestAssetValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.Asset)
		field  string
	}{
		{"valid", func(*bluehelm.Asset) {}, ""},
		{"no camp", func(a *bluehelm.Asset) { a.CampID = 0 }, "camp_id"},
		{"unknown kind", func(a *bluehelm.Asset) { a.Kind = "windmill" }, "kind"},
		{"no name", func(a *bluehelm.Asset) { a.Name = "  " }, "name"},
		{"off the Earth", func(a *bluehelm.Asset) { a.Position.Lat = 91 }, "position.lat"},
		{"negative rating", func(a *bluehelm.Asset) { a.RatedKW = -5 }, "rated_kw"},
		{"bad sensor id", func(a *bluehelm.Asset) { a.SensorIDs = []int64{0} }, "sensor_ids[0]"},
		{"plan without interval", func(a *bluehelm.Asset) { a.ServicePlans[0].EveryHours = 0 }, "service_plans[0].every_hours"},
		{"lead beyond interval", func(a *bluehelm.Asset) { a.ServicePlans[0].LeadHours = 300 }, "service_plans[0].lead_hours"},
		{"task planned twice", func(a *bluehelm.Asset) { a.ServicePlans = append(a.ServicePlans, a.ServicePlans[0]) }, "service_plans[1].task"},
		{"camera without plans", func(a *bluehelm.Asset) { a.Kind, a.ServicePlans, a.RatedKW = bluehelm.AssetCamera, nil, 0 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &bluehelm.Asset{CampID: 3, Kind: bluehelm.AssetGenerator, Name: "Genset 1", Position: bluehelm.Point{Lon: 31.6, Lat: 4.85},
				RatedKW: 250, SensorIDs: []int64{4}, ServicePlans: []bluehelm.ServicePlan{{Task: "oil change", EveryHours: 250, LeadHours: 25}},
				Marking: unclassified}
			tc.change(a)
			checkField(t, a.Validate(), tc.field)
		})
	}
}

func TestWorkOrderWorkflow(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	type step struct {
		action string // assign, done
		arg    string
		meter  float64
		code   string // expected error code, "" for success
		status bluehelm.WorkOrderStatus
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"open → assigned → done", []step{{"assign", "tech1", 0, "", bluehelm.WorkAssigned}, {"done", "", 1260, "", bluehelm.WorkDone}}},
		{"reassign", []step{{"assign", "tech1", 0, "", bluehelm.WorkAssigned}, {"assign", "tech2", 0, "", bluehelm.WorkAssigned}}},
		{"done before assigned", []step{{"done", "", 1260, bluehelm.ECONFLICT, bluehelm.WorkOpen}}},
		{"assign nobody", []step{{"assign", " ", 0, bluehelm.EINVALID, bluehelm.WorkOpen}}},
		{"done twice", []step{{"assign", "t", 0, "", bluehelm.WorkAssigned}, {"done", "", 1, "", bluehelm.WorkDone}, {"done", "", 2, bluehelm.ECONFLICT, bluehelm.WorkDone}}},
		{"assign when done", []step{{"assign", "t", 0, "", bluehelm.WorkAssigned}, {"done", "", 1, "", bluehelm.WorkDone}, {"assign", "u", 0, bluehelm.ECONFLICT, bluehelm.WorkDone}}},
		{"negative meter", []step{{"assign", "t", 0, "", bluehelm.WorkAssigned}, {"done", "", -1, bluehelm.EINVALID, bluehelm.WorkAssigned}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &bluehelm.WorkOrder{ID: 1, CampID: 3, AssetID: 4, Task: "oil change", Status: bluehelm.WorkOpen, DueAtHours: 1250, Marking: unclassified}
			if err := w.Validate(); err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				var err error
				if s.action == "assign" {
					err = w.Assign(s.arg, at)
				} else {
					err = w.Done(s.meter, s.arg, at)
				}
				if got := bluehelm.ErrorCode(err); (s.code == "" && err != nil) || (s.code != "" && got != s.code) {
					t.Fatalf("step %d %s: %v, want code %q", i, s.action, err, s.code)
				}
				if w.Status != s.status {
					t.Fatalf("step %d %s: status %s, want %s", i, s.action, w.Status, s.status)
				}
			}
			if w.Status == bluehelm.WorkDone && (w.DoneAtHours == nil || w.DoneAt == nil) {
				t.Error("a done order without its hour meter or time")
			}
		})
	}
}

func TestAssetServiceDone(t *testing.T) {
	a := &bluehelm.Asset{ServicePlans: []bluehelm.ServicePlan{{Task: "oil change", EveryHours: 250, LastDoneAtHours: 1000}, {Task: "injectors", EveryHours: 1000}}}
	if !a.ServiceDone("oil change", 1260) || a.ServicePlans[0].LastDoneAtHours != 1260 || a.ServicePlans[1].LastDoneAtHours != 0 {
		t.Errorf("after service: %+v", a.ServicePlans)
	}
	// A late entry of an older job does not move the meter back.
	a.ServiceDone("oil change", 1100)
	if a.ServicePlans[0].LastDoneAtHours != 1260 {
		t.Errorf("meter moved back to %v", a.ServicePlans[0].LastDoneAtHours)
	}
	if a.ServiceDone("paint", 1) {
		t.Error("a task without a plan matched")
	}
}
