package bluehelm_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

var casevacNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func validCasevac() *bluehelm.Casevac {
	return &bluehelm.Casevac{
		NineLine: bluehelm.NineLine{
			Location: bluehelm.Point{Lon: 31.6, Lat: 4.9}, Frequency: "45.300", CallSign: "DUSTOFF 2",
			Patients: bluehelm.PatientCounts{Urgent: 1, Priority: 1}, Equipment: []string{"none"},
			Litter: 1, Ambulatory: 1, Security: "possible_enemy", PickupMarking: "smoke",
			Categories: []bluehelm.PatientCategory{bluehelm.PatUNMilitary, bluehelm.PatCivilian},
		},
		WoundedAt: casevacNow.Add(-10 * time.Minute),
		Marking:   bluehelm.Marking{Component: bluehelm.Military},
	}
}

func TestCasevacValidate(t *testing.T) {
	square := func(lon, lat, d float64) bluehelm.Geometry {
		var g bluehelm.Geometry
		if err := g.UnmarshalJSON([]byte(`{"type":"Polygon","coordinates":[[[` +
			ftoa(lon-d) + `,` + ftoa(lat-d) + `],[` + ftoa(lon+d) + `,` + ftoa(lat-d) + `],[` + ftoa(lon+d) + `,` + ftoa(lat+d) + `],[` +
			ftoa(lon-d) + `,` + ftoa(lat+d) + `],[` + ftoa(lon-d) + `,` + ftoa(lat-d) + `]]]}`)); err != nil {
			t.Fatal(err)
		}
		return g
	}
	inside := []bluehelm.Geometry{square(31.6, 4.9, 0.5)}
	outside := []bluehelm.Geometry{square(20, 10, 0.5)}
	tests := []struct {
		name    string
		edit    func(*bluehelm.Casevac)
		mission []bluehelm.Geometry
		field   string
	}{
		{"valid", func(*bluehelm.Casevac) {}, nil, ""},
		{"valid inside the mission area", func(*bluehelm.Casevac) {}, inside, ""},
		{"pick-up outside the mission area", func(*bluehelm.Casevac) {}, outside, "location"},
		{"no pick-up site", func(c *bluehelm.Casevac) { c.Location = bluehelm.Point{} }, nil, "location"},
		{"bad latitude", func(c *bluehelm.Casevac) { c.Location.Lat = 95 }, nil, "location.lat"},
		{"no frequency", func(c *bluehelm.Casevac) { c.Frequency = " " }, nil, "frequency"},
		{"no call sign", func(c *bluehelm.Casevac) { c.CallSign = "" }, nil, "call_sign"},
		{"script in call sign", func(c *bluehelm.Casevac) { c.CallSign = "<script>" }, nil, "call_sign"},
		{"no patients", func(c *bluehelm.Casevac) { c.Patients = bluehelm.PatientCounts{}; c.Litter, c.Ambulatory = 0, 0 }, nil, "patients"},
		{"negative patients", func(c *bluehelm.Casevac) { c.Patients.Routine = -1 }, nil, "patients.routine"},
		{"line 5 does not match line 3", func(c *bluehelm.Casevac) { c.Litter = 2 }, nil, "litter"},
		{"unknown equipment", func(c *bluehelm.Casevac) { c.Equipment = []string{"jetpack"} }, nil, "equipment[0]"},
		{"none with equipment", func(c *bluehelm.Casevac) { c.Equipment = []string{"none", "hoist"} }, nil, "equipment"},
		{"unknown security", func(c *bluehelm.Casevac) { c.Security = "calm" }, nil, "security"},
		{"unknown marking", func(c *bluehelm.Casevac) { c.PickupMarking = "flag" }, nil, "pickup_marking"},
		{"unknown category", func(c *bluehelm.Casevac) { c.Categories = []bluehelm.PatientCategory{"epw"} }, nil, "categories[0]"},
		{"repeated category", func(c *bluehelm.Casevac) {
			c.Categories = []bluehelm.PatientCategory{"civilian", "un_police", "civilian"}
		}, nil, "categories[2]"},
		{"no wounding time", func(c *bluehelm.Casevac) { c.WoundedAt = time.Time{} }, nil, "wounded_at"},
		{"wounded in the future", func(c *bluehelm.Casevac) { c.WoundedAt = casevacNow.Add(10 * time.Minute) }, nil, "wounded_at"},
		{"device clock slightly ahead", func(c *bluehelm.Casevac) { c.WoundedAt = casevacNow.Add(30 * time.Second) }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCasevac()
			tt.edit(c)
			err := c.Validate(casevacNow, tt.mission)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != tt.field {
				t.Fatalf("Validate = %v (field %q), want an invalid %q", err, bluehelm.ErrorField(err), tt.field)
			}
		})
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func TestCasevacSteps(t *testing.T) {
	medic := bluehelm.Principal{Username: "medic", Role: bluehelm.RoleMedical}
	reporter := bluehelm.Principal{Username: "rep", Role: bluehelm.RoleReporter}
	at := func(m int) time.Time { return casevacNow.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name   string
		steps  []bluehelm.CasevacAction
		by     bluehelm.Principal
		at     time.Time
		status bluehelm.CasevacStatus
		code   string
	}{
		{"approve", []bluehelm.CasevacAction{bluehelm.CasevacApprove}, medic, at(1), bluehelm.CasevacApproved, ""},
		{"reporter may not approve", []bluehelm.CasevacAction{bluehelm.CasevacApprove}, reporter, at(1), bluehelm.CasevacRequested, bluehelm.EFORBIDDEN},
		{"reporter may record first aid", []bluehelm.CasevacAction{bluehelm.CasevacFirstAid}, reporter, at(1), bluehelm.CasevacRequested, ""},
		{"skip forward to picked up", []bluehelm.CasevacAction{bluehelm.CasevacPickUp}, medic, at(1), bluehelm.CasevacPickedUp, ""},
		{"never back", []bluehelm.CasevacAction{bluehelm.CasevacLaunch, bluehelm.CasevacApprove}, medic, at(1), bluehelm.CasevacLaunched, bluehelm.ECONFLICT},
		{"nothing after arrival", []bluehelm.CasevacAction{bluehelm.CasevacArrive, bluehelm.CasevacCancel}, medic, at(1), bluehelm.CasevacArrived, bluehelm.ECONFLICT},
		{"unknown action", []bluehelm.CasevacAction{"teleport"}, medic, at(1), bluehelm.CasevacRequested, bluehelm.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCasevac()
			c.Status = bluehelm.CasevacRequested
			c.Timeline = []bluehelm.CasevacStep{{Status: bluehelm.CasevacRequested, At: casevacNow}}
			var err error
			for _, a := range tt.steps {
				if err = c.Step(a, tt.by, tt.at, "n", false); err != nil {
					break
				}
			}
			if bluehelm.ErrorCode(err) != tt.code && !(err == nil && tt.code == "") {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
			if c.Status != tt.status {
				t.Fatalf("status = %s, want %s", c.Status, tt.status)
			}
		})
	}
	t.Run("a step is never dated before the previous one", func(t *testing.T) {
		c := validCasevac()
		c.Status = bluehelm.CasevacRequested
		c.Timeline = []bluehelm.CasevacStep{{Status: bluehelm.CasevacRequested, At: at(5)}}
		if err := c.Step(bluehelm.CasevacPickUp, medic, at(2), "", true); err != nil {
			t.Fatal(err)
		}
		if got := c.StepAt(bluehelm.CasevacPickedUp); !got.Equal(at(5)) {
			t.Fatalf("picked up at %v, want %v", got, at(5))
		}
	})
	t.Run("cancel needs a reason", func(t *testing.T) {
		c := validCasevac()
		c.Status = bluehelm.CasevacRequested
		if err := c.Step(bluehelm.CasevacCancel, medic, at(1), " ", false); bluehelm.ErrorField(err) != "note" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCasevacClocks(t *testing.T) {
	w := casevacNow // wounded at
	m := func(n float64) time.Time { return w.Add(time.Duration(n * float64(time.Minute))) }
	tests := []struct {
		name   string
		status bluehelm.CasevacStatus
		first  time.Time
		steps  map[bluehelm.CasevacStatus]time.Time
		now    time.Time
		want   [3]string
	}{
		{"just wounded", bluehelm.CasevacRequested, time.Time{}, nil, m(1), [3]string{"running", "running", "running"}},
		{"10 min at 80 %", bluehelm.CasevacRequested, time.Time{}, nil, m(8), [3]string{"warning", "running", "running"}},
		{"first aid in time, 1 h near", bluehelm.CasevacLaunched, m(5), nil, m(50), [3]string{"met", "warning", "running"}},
		{"10 min missed", bluehelm.CasevacRequested, time.Time{}, nil, m(10), [3]string{"missed", "running", "running"}},
		{"picked up late", bluehelm.CasevacPickedUp, m(3), map[bluehelm.CasevacStatus]time.Time{bluehelm.CasevacPickedUp: m(70)}, m(100), [3]string{"met", "met_late", "warning"}},
		{"arrived in time", bluehelm.CasevacArrived, m(3), map[bluehelm.CasevacStatus]time.Time{bluehelm.CasevacPickedUp: m(40), bluehelm.CasevacArrived: m(110)}, m(200), [3]string{"met", "met", "met"}},
		{"arrival skipping pick-up meets 1 h", bluehelm.CasevacArrived, m(3), map[bluehelm.CasevacStatus]time.Time{bluehelm.CasevacArrived: m(55)}, m(60), [3]string{"met", "met", "met"}},
		{"cancelled stops", bluehelm.CasevacCancelled, m(3), nil, m(30), [3]string{"met", "stopped", "stopped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCasevac()
			c.WoundedAt, c.Status, c.FirstAidAt = w, tt.status, tt.first
			for s, at := range tt.steps {
				c.Timeline = append(c.Timeline, bluehelm.CasevacStep{Status: s, At: at})
			}
			k := c.Clocks(tt.now)
			for i := range 3 {
				if k[i].State != tt.want[i] {
					t.Errorf("clock %s = %s, want %s", k[i].Name, k[i].State, tt.want[i])
				}
			}
			if k[2].RemainingSeconds != int(m(120).Sub(tt.now).Seconds()) {
				t.Errorf("2h remaining = %d", k[2].RemainingSeconds)
			}
		})
	}
}

func TestCasualtyNotificationTwoPeople(t *testing.T) {
	a := bluehelm.Principal{Username: "ops1", Role: bluehelm.RoleOperations}
	b := bluehelm.Principal{Username: "med1", Role: bluehelm.RoleMedical}
	rep := bluehelm.Principal{Username: "rep", Role: bluehelm.RoleReporter}
	c := validCasevac()
	if err := c.ConfirmNotification(b, casevacNow); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("confirm before verify: %v", err)
	}
	if err := c.VerifyNotification(rep, casevacNow, ""); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("reporter verifies: %v", err)
	}
	if err := c.VerifyNotification(a, casevacNow, "identity checked"); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfirmNotification(a, casevacNow); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("same person confirms: %v", err)
	}
	if err := c.ConfirmNotification(b, casevacNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c.Notification.VerifiedBy != "ops1" || c.Notification.ConfirmedBy != "med1" {
		t.Fatalf("notification = %+v", c.Notification)
	}
	if err := c.ConfirmNotification(b, casevacNow); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("second confirmation: %v", err)
	}
}

func TestFacilityHoursAndBeds(t *testing.T) {
	f := validFacility()
	f.Hours = &bluehelm.OpeningHours{Open: "20:00", Close: "06:00"}
	tests := []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 1, 1, 21, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 1, 1, 5, 59, 0, 0, time.UTC), true},
		{time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		if got := f.OpenAt(tt.at, 0); got != tt.want {
			t.Errorf("OpenAt(%v) = %v", tt.at, got)
		}
	}
	two := 2
	f.BedsAvailable = &two
	if !f.HasBeds(2) || f.HasBeds(3) {
		t.Error("HasBeds")
	}
	bad := 30
	f.BedsAvailable = &bad
	if err := f.Validate(); bluehelm.ErrorField(err) != "beds_available" {
		t.Errorf("more free beds than beds: %v", err)
	}
	f.BedsAvailable = nil
	f.Hours = &bluehelm.OpeningHours{Open: "25:00", Close: "06:00"}
	if err := f.Validate(); bluehelm.ErrorField(err) != "hours.open" {
		t.Errorf("bad hours: %v", err)
	}
}
