package storetest

import (
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// The camp manager's records: profiles, assets, work orders, the webhook
// outbox and escalation fields of alerts. Beyond the package comment:
//
//   - A profile is put at version 0 once (again: ECONFLICT), then optimistic.
//   - Assets list by id, of one camp or all; a deleted asset's id is not reused.
//   - One automatic work order per asset, task and due reading (ECONFLICT on
//     the second, nothing stored); manual ones are never refused as duplicates.
//     CompleteWorkOrder stores the order and its asset together or neither.
//   - The outbox is idempotent by key; DueWebhooks lists undelivered messages
//     with next_at ≤ now, oldest first; a delivered message is never due again.

func newAsset(name string, camp int64) *bluehelm.Asset {
	return &bluehelm.Asset{CampID: camp, Kind: bluehelm.AssetGenerator, Name: name, Position: bluehelm.Point{Lon: 31.58, Lat: 4.86},
		RatedKW: 250, SensorIDs: []int64{4}, HourMeterBase: 1200,
		ServicePlans: []bluehelm.ServicePlan{{Task: "oil change", EveryHours: 250, LeadHours: 25, LastDoneAtHours: 1000}},
		Marking:      unclassified, CreatedAt: t0, UpdatedAt: t0}
}

func testCampRecords(t *testing.T, o Opener) {
	t.Run("Profiles", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		_, err := s.CampProfile(ctx, 7)
		wantCode(t, err, bluehelm.ENOTFOUND, "CampProfile before any")
		p := &bluehelm.CampProfile{CampID: 7, Population: 800, WaterStandardLPD: 84, WebhookURL: "http://127.0.0.1:9/hook",
			Escalation: []bluehelm.EscalationStep{{Role: bluehelm.RoleCamp, AfterMinutes: 5}, {Role: bluehelm.RoleCommander, AfterMinutes: 15}}, UpdatedAt: t0}
		before := auditCount(t, s)
		must(t, s.PutCampProfile(ctx, p, entry("camp.profile")), "PutCampProfile")
		checkAudited(t, s, before, "camp.profile", "camp_profile", 7)
		if p.Version != 1 {
			t.Fatalf("version %d after first put", p.Version)
		}
		again := *p
		again.Version = 0
		wantCode(t, s.PutCampProfile(ctx, &again, entry("camp.profile")), bluehelm.ECONFLICT, "PutCampProfile at 0 when one exists")
		stale := *p
		p.Population = 900
		must(t, s.PutCampProfile(ctx, p, entry("camp.profile")), "PutCampProfile update")
		wantCode(t, s.PutCampProfile(ctx, &stale, entry("camp.profile")), bluehelm.ECONFLICT, "PutCampProfile from a stale version")
		got, err := s.CampProfile(ctx, 7)
		must(t, err, "CampProfile")
		sameJSON(t, got, p, "stored profile")
		all, err := s.CampProfiles(ctx)
		must(t, err, "CampProfiles")
		sameJSON(t, all, []*bluehelm.CampProfile{p}, "CampProfiles")
	})

	t.Run("Assets", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a, b, c := newAsset("G1", 7), newAsset("G2", 8), newAsset("G3", 7)
		for _, x := range []*bluehelm.Asset{a, b, c} {
			must(t, s.CreateAsset(ctx, x, entry("asset.create")), "CreateAsset")
		}
		got, err := s.Assets(ctx, 7)
		must(t, err, "Assets")
		sameJSON(t, got, []*bluehelm.Asset{a, c}, "Assets of camp 7")
		stale := *a
		a.Name = "G1 (CAT)"
		must(t, s.UpdateAsset(ctx, a, entry("asset.update")), "UpdateAsset")
		wantCode(t, s.UpdateAsset(ctx, &stale, entry("asset.update")), bluehelm.ECONFLICT, "UpdateAsset stale")
		must(t, s.DeleteAsset(ctx, c.ID, c.Version, entry("asset.delete")), "DeleteAsset")
		_, err = s.Asset(ctx, c.ID)
		wantCode(t, err, bluehelm.ENOTFOUND, "Asset after delete")
		d := newAsset("G4", 7)
		must(t, s.CreateAsset(ctx, d, entry("asset.create")), "CreateAsset after delete")
		if d.ID == c.ID {
			t.Errorf("a deleted asset's id %d was reused", c.ID)
		}
		all, err := s.Assets(ctx, 0)
		must(t, err, "Assets all")
		sameJSON(t, all, []*bluehelm.Asset{a, b, d}, "all assets")
	})

	t.Run("WorkOrders", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a := newAsset("G1", 7)
		must(t, s.CreateAsset(ctx, a, entry("asset.create")), "CreateAsset")
		auto := func() *bluehelm.WorkOrder {
			return &bluehelm.WorkOrder{CampID: 7, AssetID: a.ID, Task: "oil change", Status: bluehelm.WorkOpen, DueAtHours: 1250, Auto: true,
				Marking: unclassified, CreatedAt: t0, UpdatedAt: t0}
		}
		w := auto()
		must(t, s.CreateWorkOrder(ctx, w, entry("work_order.create")), "CreateWorkOrder")
		before := auditCount(t, s)
		wantCode(t, s.CreateWorkOrder(ctx, auto(), entry("work_order.create")), bluehelm.ECONFLICT, "second automatic order for the same service")
		if n := auditCount(t, s); n != before {
			t.Errorf("a refused work order appended %d audit entries", n-before)
		}
		next := auto()
		next.DueAtHours = 1500
		must(t, s.CreateWorkOrder(ctx, next, entry("work_order.create")), "automatic order for the next service")
		manual := auto()
		manual.Auto = false
		must(t, s.CreateWorkOrder(ctx, manual, entry("work_order.create")), "manual order")
		manual2 := auto()
		manual2.Auto = false
		must(t, s.CreateWorkOrder(ctx, manual2, entry("work_order.create")), "second manual order")

		must(t, w.Assign("tech1", t0.Add(time.Hour)), "Assign")
		must(t, s.UpdateWorkOrder(ctx, w, entry("work_order.assign")), "UpdateWorkOrder")
		must(t, w.Done(1251, "", t0.Add(2*time.Hour)), "Done")
		a.ServiceDone(w.Task, 1251)
		staleAsset := *a
		must(t, s.CompleteWorkOrder(ctx, w, a, entry("work_order.done")), "CompleteWorkOrder")
		gotA, err := s.Asset(ctx, a.ID)
		must(t, err, "Asset")
		if gotA.ServicePlans[0].LastDoneAtHours != 1251 || gotA.Version != 2 {
			t.Errorf("asset after completion: version %d, last done %v", gotA.Version, gotA.ServicePlans[0].LastDoneAtHours)
		}
		// A completion against a stale asset stores neither record.
		other := *next
		must(t, other.Assign("tech2", t0), "Assign")
		must(t, other.Done(1300, "", t0), "Done")
		wantCode(t, s.CompleteWorkOrder(ctx, &other, &staleAsset, entry("work_order.done")), bluehelm.ECONFLICT, "CompleteWorkOrder with a stale asset")
		gotW, err := s.WorkOrder(ctx, next.ID)
		must(t, err, "WorkOrder")
		sameJSON(t, gotW, next, "work order untouched by a failed completion")

		for _, c := range []struct {
			name string
			f    bluehelm.WorkOrderFilter
			want []*bluehelm.WorkOrder
		}{
			{"all", bluehelm.WorkOrderFilter{}, []*bluehelm.WorkOrder{w, next, manual, manual2}},
			{"open of camp 7", bluehelm.WorkOrderFilter{CampID: 7, Statuses: []bluehelm.WorkOrderStatus{bluehelm.WorkOpen, bluehelm.WorkAssigned}}, []*bluehelm.WorkOrder{next, manual, manual2}},
			{"done of the asset", bluehelm.WorkOrderFilter{AssetID: a.ID, Statuses: []bluehelm.WorkOrderStatus{bluehelm.WorkDone}}, []*bluehelm.WorkOrder{w}},
			{"other camp", bluehelm.WorkOrderFilter{CampID: 8}, nil},
		} {
			got, err := s.WorkOrders(ctx, c.f)
			must(t, err, c.name)
			if c.want == nil {
				if len(got) != 0 {
					t.Errorf("%s: %d orders, want none", c.name, len(got))
				}
				continue
			}
			sameJSON(t, got, c.want, "WorkOrders: "+c.name)
		}
	})

	t.Run("LatestRollups", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		var rs []bluehelm.SensorRollup
		for m := range 3 {
			start := t0.Add(time.Duration(m) * time.Minute)
			rs = append(rs, bluehelm.SensorRollup{SensorID: 1, Resolution: bluehelm.RollupMinute, Start: start, Count: 1, Min: float64(m), Max: float64(m), Sum: float64(m), Last: float64(m), LastTime: start.Add(10 * time.Second)})
		}
		rs = append(rs, bluehelm.SensorRollup{SensorID: 1, Resolution: bluehelm.RollupHour, Start: t0.Add(time.Hour), Count: 1, Min: 9, Max: 9, Sum: 9, Last: 9, LastTime: t0.Add(time.Hour)})
		must(t, s.AppendRollups(ctx, rs), "AppendRollups")
		got, err := s.LatestRollups(ctx, []int64{2, 1}, bluehelm.RollupMinute)
		must(t, err, "LatestRollups")
		sameJSON(t, got, []bluehelm.SensorRollup{rs[2]}, "latest minute bucket, sensor without any left out")
	})

	t.Run("CampSensorsAndRunningHours", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a, b, c := newSensor("B-GEN-1", bluehelm.SensorGeneratorKW), newSensor("A-GEN-2", bluehelm.SensorGeneratorKW), newSensor("C-GEN-1", bluehelm.SensorGeneratorKW)
		c.CampID = 8
		for _, sn := range []*bluehelm.Sensor{a, b, c} {
			must(t, s.CreateSensor(ctx, sn, entry("sensor.create")), "CreateSensor")
		}
		got, err := s.CampSensors(ctx, 7)
		must(t, err, "CampSensors")
		sameJSON(t, got, []*bluehelm.Sensor{b, a}, "sensors of camp 7 by code")
		hour := func(id int64, h int, max float64) bluehelm.SensorRollup {
			start := t0.Add(time.Duration(h) * time.Hour)
			return bluehelm.SensorRollup{SensorID: id, Resolution: bluehelm.RollupHour, Start: start, Count: 1, Min: 0, Max: max, Sum: max, Last: max, LastTime: start}
		}
		// a runs hours 0-3, b hours 2-5 (2 and 3 together), b stopped at 6;
		// a minute bucket with output is not an hour.
		rs := []bluehelm.SensorRollup{hour(a.ID, 0, 5), hour(a.ID, 1, 5), hour(a.ID, 2, 5), hour(a.ID, 3, 5), hour(b.ID, 2, 5), hour(b.ID, 3, 5),
			hour(b.ID, 4, 5), hour(b.ID, 5, 5), hour(b.ID, 6, 0),
			{SensorID: a.ID, Resolution: bluehelm.RollupMinute, Start: t0.Add(10 * time.Hour), Count: 1, Max: 5, Sum: 5, Last: 5, LastTime: t0.Add(10 * time.Hour)}}
		must(t, s.AppendRollups(ctx, rs), "AppendRollups")
		for _, c := range []struct {
			name     string
			ids      []int64
			from, to time.Time
			want     float64
		}{
			{"one set", []int64{a.ID}, time.Time{}, time.Time{}, 4},
			{"two sets, shared hours once", []int64{a.ID, b.ID}, time.Time{}, time.Time{}, 6},
			{"[from, to)", []int64{a.ID, b.ID}, t0.Add(time.Hour), t0.Add(5 * time.Hour), 4},
			{"none", nil, time.Time{}, time.Time{}, 0},
		} {
			got, err := s.RunningHours(ctx, c.ids, c.from, c.to)
			must(t, err, c.name)
			if got != c.want {
				t.Errorf("RunningHours %s: %v, want %v", c.name, got, c.want)
			}
		}
	})

	t.Run("WebhookOutbox", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		d := &bluehelm.WebhookDelivery{Key: "alert/1/escalation/1", URL: "http://127.0.0.1:9/hook", Body: []byte(`{"a":1}`), NextAt: t0, CreatedAt: t0}
		must(t, s.EnqueueWebhook(ctx, d), "EnqueueWebhook")
		dup := &bluehelm.WebhookDelivery{Key: d.Key, URL: "http://127.0.0.1:9/other", Body: []byte(`{"a":2}`), NextAt: t0, CreatedAt: t0}
		must(t, s.EnqueueWebhook(ctx, dup), "EnqueueWebhook again")
		if dup.ID != d.ID {
			t.Errorf("a second enqueue of key %q got id %d, want %d", d.Key, dup.ID, d.ID)
		}
		later := &bluehelm.WebhookDelivery{Key: "alert/2/escalation/1", URL: "http://127.0.0.1:9/hook", Body: []byte(`{}`), NextAt: t0.Add(time.Minute), CreatedAt: t0}
		must(t, s.EnqueueWebhook(ctx, later), "EnqueueWebhook later")
		due, err := s.DueWebhooks(ctx, t0, 10)
		must(t, err, "DueWebhooks")
		if len(due) != 1 || due[0].ID != d.ID || string(due[0].Body) != `{"a":1}` {
			t.Fatalf("due at t0: %+v", due)
		}
		must(t, s.WebhookFailed(ctx, d.ID, 1, t0.Add(2*time.Minute), "502 Bad Gateway"), "WebhookFailed")
		due, err = s.DueWebhooks(ctx, t0.Add(time.Minute), 10)
		must(t, err, "DueWebhooks")
		if len(due) != 1 || due[0].ID != later.ID {
			t.Fatalf("due at t0+1m: %+v", due)
		}
		must(t, s.WebhookDelivered(ctx, later.ID, t0.Add(time.Minute)), "WebhookDelivered")
		due, err = s.DueWebhooks(ctx, t0.Add(time.Hour), 10)
		must(t, err, "DueWebhooks")
		if len(due) != 1 || due[0].ID != d.ID || due[0].Attempts != 1 || due[0].LastError != "502 Bad Gateway" {
			t.Fatalf("due at t0+1h: %+v", due)
		}
		got, err := s.Webhook(ctx, later.ID)
		must(t, err, "Webhook")
		if got.DeliveredAt == nil || !got.DeliveredAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("delivered at %v", got.DeliveredAt)
		}
	})

	t.Run("AlertEscalation", func(t *testing.T) {
		s, ctx := o.store(t), ctxOf(t)
		a := newAlert("Fuel stock below minimum", t0, unclassified)
		must(t, s.CreateAlert(ctx, a, entry("alert.raise")), "CreateAlert")
		at := t0.Add(5 * time.Minute)
		a.Escalation, a.EscalatedTo, a.EscalatedAt = 1, bluehelm.RoleCommander, &at
		must(t, s.UpdateAlert(ctx, a, entry("alert.escalate")), "UpdateAlert")
		got, err := s.Alert(ctx, a.ID)
		must(t, err, "Alert")
		sameJSON(t, got, a, "escalated alert")
	})
}
