package ingest_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/paulmach/orb"
)

var manager = bluehelm.Principal{UserID: 5, Username: "campmgr", Role: bluehelm.RoleCamp, Component: bluehelm.Military, Clearance: bluehelm.Confidential}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type campOpsEnv struct {
	*env
	clock *fakeClock
	camp  *bluehelm.Area
}

func newCampOpsEnv(t *testing.T) *campOpsEnv {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	e := &env{store: store, pic: live.NewPicture(), hub: live.NewHub(live.HubOptions{})}
	e.p = ingest.New(store, e.pic, live.NewGeofencer(), e.hub, ingest.Options{Now: clk.Now})
	ring := orb.Ring{{31.5, 4.8}, {31.6, 4.8}, {31.6, 4.9}, {31.5, 4.9}, {31.5, 4.8}}
	c := &bluehelm.Area{Name: "Camp Alpha", Kind: bluehelm.AreaCamp, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.CreateArea(ctx, joc, c); err != nil {
		t.Fatal(err)
	}
	return &campOpsEnv{env: e, clock: clk, camp: c}
}

func (e *campOpsEnv) alerts(t *testing.T, rule string) []*bluehelm.Alert {
	t.Helper()
	all, err := e.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("test")})
	if err != nil {
		t.Fatal(err)
	}
	var out []*bluehelm.Alert
	for _, a := range all {
		if a.Source == bluehelm.AlertCamp && a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

func TestStockBookAndReorder(t *testing.T) {
	e := newCampOpsEnv(t)
	it := &bluehelm.StockItem{Name: "Diesel", Kind: bluehelm.StockDiesel, Unit: "L", CampID: e.camp.ID, Store: "fuel farm", MinDaysOfSupply: 14}
	if err := e.p.CreateStockItem(ctx, viewer, it); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("a viewer created a stock item: %v", err)
	}
	bad := *it
	bad.CampID = 999
	if err := e.p.CreateStockItem(ctx, manager, &bad); bluehelm.ErrorField(err) != "camp_id" {
		t.Fatalf("stock item of an unknown camp: %v", err)
	}
	if err := e.p.CreateStockItem(ctx, manager, it); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	move := func(kind bluehelm.MovementKind, q float64, at time.Time) (float64, error) {
		return e.p.AppendStockMovement(ctx, manager, it.ID, &bluehelm.StockMovement{Kind: kind, Quantity: q, Time: at})
	}
	if bal, err := move(bluehelm.MoveReceipt, 30000, now.AddDate(0, 0, -20)); err != nil || bal != 30000 {
		t.Fatalf("receipt: %v %v", bal, err)
	}
	// 1000 L a day for 20 days: 10,000 L left, 10 days of supply, below 14.
	var reorderAfter int
	for d := 19; d >= 0; d-- {
		if _, err := move(bluehelm.MoveIssue, 1000, now.AddDate(0, 0, -d).Add(-time.Hour)); err != nil {
			t.Fatalf("issue %d days ago: %v", d, err)
		}
		if reorderAfter == 0 && len(e.alerts(t, ingest.RuleReorder)) > 0 {
			reorderAfter = 20 - d
		}
	}
	got := e.alerts(t, ingest.RuleReorder)
	if len(got) != 1 {
		t.Fatalf("%d reorder alerts, want exactly one while it stays open", len(got))
	}
	a := got[0]
	if a.AreaID != e.camp.ID || a.Key != "stock_item/"+itoa(it.ID) || !strings.Contains(a.Title, "Reorder Diesel") || a.Location == nil {
		t.Errorf("reorder alert %+v", a)
	}
	// Not while the book still held weeks of cover: the forecast is fitted on
	// four weeks of which the first issues were few, so the exact issue it
	// falls below 14 days at depends on the trend; the 30,000 L of the start
	// cover far more.
	if reorderAfter < 10 {
		t.Errorf("reorder raised after issue %d, with %d L left", reorderAfter, 30000-1000*reorderAfter)
	}
	// An issue the book cannot cover is refused in plain words and changes nothing.
	before := auditCount(t, e.env)
	_, err := move(bluehelm.MoveIssue, 10001, now)
	if bluehelm.ErrorCode(err) != bluehelm.EINVALID || !strings.Contains(err.Error(), "book holds 10000 L") {
		t.Fatalf("over-issue: %v", err)
	}
	if bal, _ := e.store.StockBalance(ctx, it.ID); bal != 10000 || auditCount(t, e.env) != before {
		t.Errorf("after a refused issue: balance %v, audit %d → %d", bal, before, auditCount(t, e.env))
	}
	// The daily check keeps the one alert.
	if r, _, err := e.p.CheckCamps(ctx); err != nil || r != 1 || len(e.alerts(t, ingest.RuleReorder)) != 1 {
		t.Errorf("daily check: %d reorders, %v, %d alerts", r, err, len(e.alerts(t, ingest.RuleReorder)))
	}
}

func itoa(id int64) string { b, _ := json.Marshal(id); return string(b) }

func TestMaintenanceRaisesOneWorkOrder(t *testing.T) {
	e := newCampOpsEnv(t)
	gen := &bluehelm.Sensor{Code: "A-GEN-1", Kind: bluehelm.SensorGeneratorKW, CampID: e.camp.ID, Position: bluehelm.Point{Lon: 31.55, Lat: 4.85},
		Unit: "kW", IntervalSeconds: 60, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.store.CreateSensor(ctx, gen, bluehelm.NewAudit(joc, "sensor.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	base := e.clock.Now()
	a := &bluehelm.Asset{CampID: e.camp.ID, Kind: bluehelm.AssetGenerator, Name: "Genset 1", Position: gen.Position, RatedKW: 250,
		SensorIDs: []int64{gen.ID}, HourMeterBase: 1200, HourMeterAt: &base,
		ServicePlans: []bluehelm.ServicePlan{{Task: "oil change", EveryHours: 250, LeadHours: 25, LastDoneAtHours: 1000}}}
	if err := e.p.CreateAsset(ctx, manager, a); err != nil {
		t.Fatal(err)
	}
	// 30 hours of running: the meter reads 1230, 20 h from the service at 1250.
	var rs []bluehelm.SensorRollup
	for h := range 30 {
		start := base.Add(time.Duration(h) * time.Hour)
		rs = append(rs, bluehelm.SensorRollup{SensorID: gen.ID, Resolution: bluehelm.RollupHour, Start: start, Count: 60, Min: 80, Max: 120, Sum: 6000, Last: 100, LastTime: start.Add(59 * time.Minute)})
	}
	if err := e.store.AppendRollups(ctx, rs); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(31 * time.Hour)
	for run := range 3 {
		_, w, err := e.p.CheckCamps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{0: 1}[run]; w != want {
			t.Fatalf("check %d raised %d work orders, want %d", run, w, want)
		}
	}
	wos, err := e.store.WorkOrders(ctx, bluehelm.WorkOrderFilter{AssetID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(wos) != 1 || !wos[0].Auto || wos[0].DueAtHours != 1250 || wos[0].Status != bluehelm.WorkOpen {
		t.Fatalf("work orders %+v", wos)
	}
	if al := e.alerts(t, ingest.RuleMaintenance); len(al) != 1 || al[0].State != bluehelm.AlertOpen || !strings.Contains(al[0].Title, "oil change due in 20 running hours") {
		t.Fatalf("maintenance alerts %+v", al)
	}

	// Done before assigned is refused; assigned then done records the meter.
	w := wos[0]
	if _, err := e.p.CompleteWorkOrder(ctx, manager, w.ID, 0, nil, ""); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("done while open: %v", err)
	}
	if _, err := e.p.AssignWorkOrder(ctx, manager, w.ID, w.Version, "Sgt Okello"); err != nil {
		t.Fatal(err)
	}
	done, err := e.p.CompleteWorkOrder(ctx, manager, w.ID, 0, nil, "oil and filter changed")
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != bluehelm.WorkDone || done.DoneAtHours == nil || *done.DoneAtHours != 1230 {
		t.Fatalf("done %+v", done)
	}
	got, _ := e.store.Asset(ctx, a.ID)
	if got.ServicePlans[0].LastDoneAtHours != 1230 {
		t.Errorf("plan after service: %+v", got.ServicePlans[0])
	}
	if al := e.alerts(t, ingest.RuleMaintenance); len(al) != 1 || al[0].State != bluehelm.AlertResolved {
		t.Errorf("maintenance alert after the service: %+v", al)
	}
	// The next service is at 1480: nothing is due now.
	if _, w, _ := e.p.CheckCamps(ctx); w != 0 {
		t.Errorf("check after the service raised %d work orders", w)
	}
}

func TestAssetReferences(t *testing.T) {
	e := newCampOpsEnv(t)
	other := &bluehelm.Sensor{Code: "B-GEN-1", Kind: bluehelm.SensorGeneratorKW, CampID: e.camp.ID + 100, Position: bluehelm.Point{Lon: 31.55, Lat: 4.85},
		Unit: "kW", IntervalSeconds: 60, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.store.CreateSensor(ctx, other, bluehelm.NewAudit(joc, "sensor.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(*bluehelm.Asset)
		by     bluehelm.Principal
		code   string
		field  string
	}{
		{"valid", func(*bluehelm.Asset) {}, manager, "", ""},
		{"analyst may not", func(*bluehelm.Asset) {}, bluehelm.Principal{Username: "a", Role: bluehelm.RoleAnalyst, Component: bluehelm.Military}, bluehelm.EFORBIDDEN, ""},
		{"not a camp", func(a *bluehelm.Asset) { a.CampID = 999 }, manager, bluehelm.EINVALID, "camp_id"},
		{"sensor of another camp", func(a *bluehelm.Asset) { a.SensorIDs = []int64{other.ID} }, manager, bluehelm.EINVALID, "sensor_ids[0]"},
		{"unknown sensor", func(a *bluehelm.Asset) { a.SensorIDs = []int64{4242} }, manager, bluehelm.EINVALID, "sensor_ids[0]"},
		{"zone that is not a zone", func(a *bluehelm.Asset) { a.ZoneID = e.camp.ID }, manager, bluehelm.EINVALID, "zone_id"},
	} {
		a := &bluehelm.Asset{CampID: e.camp.ID, Kind: bluehelm.AssetWaterTank, Name: "Tank 1", Position: bluehelm.Point{Lon: 31.55, Lat: 4.85}}
		c.change(a)
		err := e.p.CreateAsset(ctx, c.by, a)
		if bluehelm.ErrorCode(err) != c.code && !(c.code == "" && err == nil) || bluehelm.ErrorField(err) != c.field {
			t.Errorf("%s: %v, want %q %q", c.name, err, c.code, c.field)
		}
	}
}

func TestAssetDueWhenRegistered(t *testing.T) {
	e := newCampOpsEnv(t)
	a := &bluehelm.Asset{CampID: e.camp.ID, Kind: bluehelm.AssetGenerator, Name: "Genset 2", Position: bluehelm.Point{Lon: 31.55, Lat: 4.85},
		HourMeterBase: 1240, ServicePlans: []bluehelm.ServicePlan{{Task: "oil change", EveryHours: 250, LeadHours: 25, LastDoneAtHours: 1000}}}
	if err := e.p.CreateAsset(ctx, manager, a); err != nil {
		t.Fatal(err)
	}
	wos, err := e.store.WorkOrders(ctx, bluehelm.WorkOrderFilter{AssetID: a.ID})
	if err != nil || len(wos) != 1 || wos[0].DueAtHours != 1250 {
		t.Fatalf("work orders at registration: %+v %v", wos, err)
	}
	// Correcting the asset's name does not raise a second one.
	a.Name = "Genset 2 (CAT)"
	if _, err := e.p.UpdateAsset(ctx, manager, a.ID, a.Version, a); err != nil {
		t.Fatal(err)
	}
	if wos, _ := e.store.WorkOrders(ctx, bluehelm.WorkOrderFilter{AssetID: a.ID}); len(wos) != 1 {
		t.Errorf("%d work orders after an update", len(wos))
	}
}
