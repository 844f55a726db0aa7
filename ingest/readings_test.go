package ingest_test

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/paulmach/orb"
)

// clock is a fake clock the pipeline reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var (
	campMgr = bluehelm.Principal{UserID: 9, Username: "campmgr", Role: bluehelm.RoleCamp, Component: bluehelm.Support, Clearance: bluehelm.Unclassified}
	t0      = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
)

// campEnv is a pipeline with a camp, two zones, a fuel tank, a battery and two
// PIR detectors, a low-level rule on the tank, a stale rule on the battery and
// the camp's perimeter rule.
type campEnv struct {
	*env
	clk                   *clock
	path                  string
	camp, north, south    int64
	fuel, bat, pir1, pir2 *bluehelm.Sensor
	tokens                map[string]string
}

func openCampEnv(t *testing.T, path string, clk *clock) *env {
	t.Helper()
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{store: store, pic: live.NewPicture(), hub: live.NewHub(live.HubOptions{})}
	e.p = ingest.New(store, e.pic, live.NewGeofencer(), e.hub, ingest.Options{Now: clk.now})
	if err := e.p.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.p.LoadSensors(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func newCampEnv(t *testing.T) *campEnv {
	t.Helper()
	clk := &clock{t: t0}
	path := filepath.Join(t.TempDir(), "camp.db")
	c := &campEnv{env: openCampEnv(t, path, clk), clk: clk, path: path, tokens: map[string]string{}}
	area := func(name string, kind bluehelm.AreaKind, lon float64) int64 {
		ring := orb.Ring{{lon, 5}, {lon + 0.01, 5}, {lon + 0.01, 5.01}, {lon, 5.01}, {lon, 5}}
		a := &bluehelm.Area{Name: name, Kind: kind, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}},
			Marking: bluehelm.Marking{Component: bluehelm.Support}}
		if err := c.p.CreateArea(ctx, campMgr, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	c.camp, c.north, c.south = area("Camp 1", bluehelm.AreaCamp, 31), area("North wall", bluehelm.AreaCampZone, 31), area("South wall", bluehelm.AreaCampZone, 31.005)
	sensor := func(code string, kind bluehelm.SensorKind, zone int64, lon float64) *bluehelm.Sensor {
		s := &bluehelm.Sensor{Code: code, Kind: kind, CampID: c.camp, ZoneID: zone, Position: bluehelm.Point{Lon: lon, Lat: 5.005},
			Unit: kind.Spec().Unit, IntervalSeconds: 60}
		tok, err := c.p.CreateSensor(ctx, campMgr, s)
		if err != nil {
			t.Fatalf("CreateSensor %s: %v", code, err)
		}
		c.tokens[code] = tok
		return s
	}
	c.fuel = sensor("C1-FUEL-1", bluehelm.SensorFuelLevel, 0, 31.001)
	c.bat = sensor("C1-BAT-1", bluehelm.SensorBatterySoC, 0, 31.002)
	c.pir1 = sensor("C1-PIR-1", bluehelm.SensorPIR, c.north, 31.003)
	c.pir2 = sensor("C1-PIR-2", bluehelm.SensorPIR, c.north, 31.004)
	for _, r := range []*bluehelm.AlarmRule{
		{Name: "fuel low", Kind: bluehelm.AlarmThreshold, CampID: c.camp, SensorID: c.fuel.ID, Side: bluehelm.SideLow, Level: 20, Hysteresis: 5, Severity: bluehelm.SevWarning},
		{Name: "battery silent", Kind: bluehelm.AlarmStale, CampID: c.camp, SensorID: c.bat.ID, Severity: bluehelm.SevWarning},
		{Name: "perimeter", Kind: bluehelm.AlarmPerimeter, CampID: c.camp, WindowSeconds: 60, Severity: bluehelm.SevWarning},
	} {
		if err := c.p.CreateAlarmRule(ctx, campMgr, r); err != nil {
			t.Fatalf("CreateAlarmRule %s: %v", r.Name, err)
		}
	}
	return c
}

func rd(code string, at time.Time, v float64, unit string) bluehelm.Reading {
	return bluehelm.Reading{SensorCode: code, Time: at, Value: v, Unit: unit}
}

// sensorAlerts returns the sensor alerts by state after the alarm queue drained.
func (c *campEnv) sensorAlerts(t *testing.T) []*bluehelm.Alert {
	t.Helper()
	if err := c.p.SyncSensorAlarms(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := c.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("test"), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*bluehelm.Alert
	for _, a := range all {
		if a.Source == bluehelm.AlertSensor {
			out = append(out, a)
		}
	}
	return out
}

func TestIngestReadingsRejections(t *testing.T) {
	c := newCampEnv(t)
	now := t0
	for _, tc := range []struct {
		name  string
		r     bluehelm.Reading
		field string
	}{
		{"unknown sensor", rd("C9-NOPE", now, 50, "%"), "sensor_code"},
		{"wrong unit", rd("C1-FUEL-1", now, 50, "L"), "unit"},
		{"a tank at 300 %", rd("C1-FUEL-1", now, 300, "%"), "value"},
		{"NaN", rd("C1-FUEL-1", now, math.NaN(), "%"), "value"},
		{"far future", rd("C1-FUEL-1", now.Add(time.Hour), 50, "%"), "time"},
		{"far past", rd("C1-FUEL-1", now.Add(-8*24*time.Hour), 50, "%"), "time"},
		{"no time", rd("C1-FUEL-1", time.Time{}, 50, "%"), "time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-FUEL-1", now.Add(-time.Minute), 60, "%"), tc.r})
			if err != nil {
				t.Fatalf("a batch with one good reading failed: %v", err)
			}
			if len(res.Rejected) != 1 || res.Rejected[0].Index != 1 || res.Rejected[0].Field != tc.field || res.Rejected[0].Reason == "" {
				t.Fatalf("rejected = %+v, want index 1 field %s", res.Rejected, tc.field)
			}
			// alone, the bad reading is an error and nothing is stored
			res, err = c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{tc.r})
			if bluehelm.ErrorCode(err) != bluehelm.EINVALID || res.Accepted != 0 {
				t.Fatalf("a batch of one bad reading: %+v, %v; want EINVALID", res, err)
			}
		})
	}
	got, err := c.store.Readings(ctx, c.fuel.ID, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != 60 {
		t.Errorf("stored %+v, want only the one good reading (its copies are duplicates)", got)
	}
	q, err := c.store.QuarantinedReadings(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 14 {
		t.Errorf("%d readings quarantined, want 14", len(q))
	}
	// 14 rejections is below the bad-data alert; six more of the same sensor raise it once.
	for i := range 8 {
		c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-FUEL-1", now.Add(time.Duration(i)*time.Second), 300, "%")})
	}
	var bad int
	for _, a := range c.sensorAlerts(t) {
		if a.Rule == "bad_data" {
			bad++
			if a.Severity != bluehelm.SevInfo || a.Key != "C1-FUEL-1" {
				t.Errorf("bad data alert = %+v", a)
			}
		}
	}
	if bad != 1 {
		t.Errorf("%d bad-data alerts, want 1", bad)
	}
}

func TestIngestReadingsDuplicatesAndAuth(t *testing.T) {
	c := newCampEnv(t)
	batch := []bluehelm.Reading{rd("C1-FUEL-1", t0.Add(-2*time.Minute), 70, "%"), rd("C1-FUEL-1", t0.Add(-time.Minute), 69, "%")}
	res, err := c.p.IngestReadings(ctx, campMgr, batch)
	if err != nil || res.Accepted != 2 || res.Duplicates != 0 {
		t.Fatalf("first: %+v %v", res, err)
	}
	batch = append(batch, rd("C1-FUEL-1", t0, 68, "%"), rd("C1-FUEL-1", t0, 1, "%"))
	res, err = c.p.IngestReadings(ctx, campMgr, batch)
	if err != nil || res.Accepted != 1 || res.Duplicates != 3 {
		t.Fatalf("resent: %+v %v; want 1 accepted, 3 duplicates", res, err)
	}

	fuelTok, pirTok := c.tokens["C1-FUEL-1"], c.tokens["C1-PIR-1"]
	s, err := c.p.SensorByToken(ctx, fuelTok)
	if err != nil || s.ID != c.fuel.ID {
		t.Fatalf("SensorByToken = %v, %v", s, err)
	}
	if _, err := c.p.Authenticate(ctx, "C1-PIR-1", fuelTok); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Errorf("another sensor's token over MQTT: %v", err)
	}
	as := ingest.SensorPrincipal(s)
	res, err = c.p.IngestReadings(ctx, as, []bluehelm.Reading{rd("C1-PIR-1", t0, 1, "count")})
	if err == nil || len(res.Rejected) != 1 || res.Rejected[0].Reason == "" {
		t.Errorf("a token posting another sensor's reading: %+v, %v; want refused", res, err)
	}
	if res, err := c.p.IngestReadings(ctx, as, []bluehelm.Reading{rd("C1-FUEL-1", t0.Add(time.Second), 68, "%")}); err != nil || res.Accepted != 1 {
		t.Errorf("a token posting its own: %+v, %v", res, err)
	}
	if _, err := c.p.IngestReadings(ctx, viewer, batch); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Errorf("a viewer posting readings: %v, want EFORBIDDEN", err)
	}

	// rotation: the old token stops working, the new one works
	newTok, err := c.p.RotateSensorToken(ctx, campMgr, c.pir1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.p.Authenticate(ctx, "C1-PIR-1", pirTok); err == nil {
		t.Error("the rotated-out token still authenticates")
	}
	if _, err := c.p.Authenticate(ctx, "C1-PIR-1", newTok); err != nil {
		t.Errorf("the new token: %v", err)
	}
	// disabling: refused at once, cache or not
	pir := *c.pir1
	pir.Disabled = true
	if _, err := c.p.UpdateSensor(ctx, campMgr, pir.ID, pir.Version, &pir); err != nil {
		t.Fatal(err)
	}
	if _, err := c.p.Authenticate(ctx, "C1-PIR-1", newTok); err == nil {
		t.Error("a disabled sensor authenticates")
	}
	if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-PIR-1", t0, 1, "count")}); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Errorf("a reading of a disabled sensor: %v", err)
	}
}

func TestThresholdAlarmRaisedOnceClearedResolved(t *testing.T) {
	c := newCampEnv(t)
	post := func(min int, v float64) {
		t.Helper()
		c.clk.set(t0.Add(time.Duration(min) * time.Minute))
		if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-FUEL-1", c.clk.now(), v, "%")}); err != nil {
			t.Fatal(err)
		}
	}
	post(0, 30)
	post(1, 19) // raised
	post(2, 15) // still low: no second alert
	post(3, 22) // within the hysteresis: holds
	as := c.sensorAlerts(t)
	if len(as) != 1 || as[0].State != bluehelm.AlertOpen || as[0].Rule != "threshold" || as[0].AreaID != c.camp ||
		as[0].Location == nil || as[0].Location.Lon != c.fuel.Position.Lon || as[0].Key == "" {
		t.Fatalf("after the drop: %+v, want one open threshold alert at the tank", as)
	}
	post(4, 26) // cleared
	as = c.sensorAlerts(t)
	if len(as) != 1 || as[0].State != bluehelm.AlertResolved || as[0].Resolution == "" {
		t.Fatalf("after recovery: %+v, want the alert resolved", as)
	}
	last := c.p.LastReadings()[c.fuel.ID]
	if last.Value != 26 || !last.Time.Equal(c.clk.now()) {
		t.Errorf("LastReadings = %+v", last)
	}
}

func TestIntrusionNotAutoResolved(t *testing.T) {
	c := newCampEnv(t)
	if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-PIR-1", t0, 1, "count"), rd("C1-PIR-2", t0.Add(10*time.Second), 1, "count")}); err != nil {
		t.Fatal(err)
	}
	var intrusion *bluehelm.Alert
	for _, a := range c.sensorAlerts(t) {
		if a.Rule == "confirmed_intrusion" {
			intrusion = a
		}
	}
	if intrusion == nil || intrusion.Severity != bluehelm.SevCritical || intrusion.Location == nil {
		t.Fatalf("no critical intrusion alert: %+v", c.sensorAlerts(t))
	}
	mid := (c.pir1.Position.Lon + c.pir2.Position.Lon) / 2
	if math.Abs(intrusion.Location.Lon-mid) > 1e-9 {
		t.Errorf("intrusion at %v, want the midpoint %v", intrusion.Location.Lon, mid)
	}
	// quiet for longer than the window: the engine clears, the alert stays
	c.clk.set(t0.Add(10 * time.Minute))
	c.p.TickSensors(ctx)
	for _, a := range c.sensorAlerts(t) {
		if a.Rule == "confirmed_intrusion" && a.State == bluehelm.AlertResolved {
			t.Error("an intrusion alert was resolved by silence")
		}
	}
}

func TestStaleSensorByTick(t *testing.T) {
	c := newCampEnv(t)
	if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-BAT-1", t0, 80, "%")}); err != nil {
		t.Fatal(err)
	}
	c.p.TickSensors(ctx) // starts the engine clock
	c.clk.set(t0.Add(2 * time.Minute))
	c.p.TickSensors(ctx)
	if as := c.sensorAlerts(t); len(as) != 0 {
		t.Fatalf("stale after two minutes of a 60 s sensor (factor 3): %+v", as)
	}
	c.clk.set(t0.Add(4 * time.Minute))
	c.p.TickSensors(ctx)
	as := c.sensorAlerts(t)
	if len(as) != 1 || as[0].Rule != "stale" || as[0].State != bluehelm.AlertOpen {
		t.Fatalf("after four minutes: %+v, want one open stale alert", as)
	}
	if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-BAT-1", c.clk.now(), 79, "%")}); err != nil {
		t.Fatal(err)
	}
	if as := c.sensorAlerts(t); len(as) != 1 || as[0].State != bluehelm.AlertResolved {
		t.Fatalf("after it reports again: %+v, want resolved", as)
	}
}

func TestRollupsFlushedAndRebuiltAfterReopen(t *testing.T) {
	c := newCampEnv(t)
	// 90 readings a minute apart... every 20 s over 3 minutes: minutes 0, 1, 2
	var batch []bluehelm.Reading
	for i := range 9 {
		batch = append(batch, rd("C1-FUEL-1", t0.Add(time.Duration(i)*20*time.Second), float64(50+i), "%"))
	}
	c.clk.set(t0.Add(3 * time.Minute))
	if res, err := c.p.IngestReadings(ctx, campMgr, batch); err != nil || res.Accepted != 9 {
		t.Fatalf("%+v %v", res, err)
	}
	c.p.FlushRollups(ctx)
	mins, err := c.store.Rollups(ctx, []int64{c.fuel.ID}, bluehelm.RollupMinute, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// minutes 0 and 1 are closed (the clock is past their end and grace); 2 is open
	if len(mins) != 2 || mins[0].Count != 3 || mins[0].Min != 50 || mins[0].Max != 52 || mins[1].Last != 55 {
		t.Fatalf("stored minute buckets = %+v", mins)
	}
	if open := c.p.OpenRollups(c.fuel.ID, bluehelm.RollupMinute); len(open) != 1 || open[0].Count != 3 {
		t.Fatalf("open minute buckets = %+v", open)
	}

	// a restart (without a flush) must rebuild minute 2 and the hour from raw readings
	c.clk.set(t0.Add(2 * time.Hour))
	e2 := openCampEnv(t, c.path, c.clk)
	hours, err := e2.store.Rollups(ctx, []int64{c.fuel.ID}, bluehelm.RollupHour, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	mins, err = e2.store.Rollups(ctx, []int64{c.fuel.ID}, bluehelm.RollupMinute, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 1 || hours[0].Count != 9 || len(mins) != 3 || mins[2].Count != 3 || mins[2].Last != 58 {
		t.Fatalf("after reopening: hours %+v, minutes %+v; want the hour of 9 and three minutes", hours, mins)
	}
	if last := e2.p.LastReadings()[c.fuel.ID]; last.Value != 58 {
		t.Errorf("LastReadings after reopening = %+v, want 58", last)
	}
}

func TestIngestReadingsConcurrentGroupCommit(t *testing.T) {
	c := newCampEnv(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				at := t0.Add(-time.Hour + time.Duration(g*20+i)*time.Second)
				if _, err := c.p.IngestReadings(context.Background(), campMgr, []bluehelm.Reading{rd("C1-FUEL-1", at, 50, "%")}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := c.store.Readings(ctx, c.fuel.ID, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 160 {
		t.Errorf("%d readings stored, want 160", len(got))
	}
}

func TestReloadKeepsAlarmsAndDeletedRuleResolves(t *testing.T) {
	c := newCampEnv(t)
	if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-FUEL-1", t0, 10, "%")}); err != nil {
		t.Fatal(err)
	}
	if as := c.sensorAlerts(t); len(as) != 1 || as[0].State != bluehelm.AlertOpen {
		t.Fatalf("%+v", as)
	}
	// another sensor registered: the engine is rebuilt, the low tank stays an open alert
	s := &bluehelm.Sensor{Code: "C1-BAT-2", Kind: bluehelm.SensorBatterySoC, CampID: c.camp, Position: bluehelm.Point{Lon: 31.002, Lat: 5.005}, Unit: "%", IntervalSeconds: 60}
	if _, err := c.p.CreateSensor(ctx, campMgr, s); err != nil {
		t.Fatal(err)
	}
	as := c.sensorAlerts(t)
	if len(as) != 1 || as[0].State != bluehelm.AlertOpen {
		t.Fatalf("after a reload: %+v, want the alert still open", as)
	}
	// still low after the reload: no second alert
	if _, err := c.p.IngestReadings(ctx, campMgr, []bluehelm.Reading{rd("C1-FUEL-1", t0.Add(time.Second), 9, "%")}); err != nil {
		t.Fatal(err)
	}
	if as := c.sensorAlerts(t); len(as) != 1 {
		t.Fatalf("a second alert after the reload: %+v", as)
	}
	rules, err := c.store.AlarmRules(ctx, c.fuel.ID)
	if err != nil || len(rules) != 1 {
		t.Fatal(rules, err)
	}
	if err := c.p.DeleteAlarmRule(ctx, campMgr, rules[0].ID, rules[0].Version); err != nil {
		t.Fatal(err)
	}
	if as := c.sensorAlerts(t); len(as) != 1 || as[0].State != bluehelm.AlertResolved {
		t.Fatalf("after deleting the rule: %+v, want resolved", as)
	}
}

func TestPruneSensorsRetention(t *testing.T) {
	c := newCampEnv(t)
	old, recent := t0.Add(-10*24*time.Hour), t0.Add(-time.Hour)
	if _, _, err := c.store.AppendReadings(ctx, []bluehelm.Reading{{SensorID: c.fuel.ID, Time: old, Value: 1}, {SensorID: c.fuel.ID, Time: recent, Value: 2}}); err != nil {
		t.Fatal(err)
	}
	bucket := func(res bluehelm.RollupResolution, start time.Time) bluehelm.SensorRollup {
		return bluehelm.SensorRollup{SensorID: c.fuel.ID, Resolution: res, Start: start.Truncate(res.Duration()), Count: 1, Min: 1, Max: 1, Sum: 1, Last: 1, LastTime: start}
	}
	ancient := t0.Add(-6 * 365 * 24 * time.Hour)
	if err := c.store.AppendRollups(ctx, []bluehelm.SensorRollup{
		bucket(bluehelm.RollupMinute, old.Add(-100*24*time.Hour)), bucket(bluehelm.RollupMinute, recent),
		bucket(bluehelm.RollupHour, ancient), bucket(bluehelm.RollupHour, old.Add(-100*24*time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	c.p.PruneSensors(ctx, ingest.SensorRunOptions{RawRetention: 7 * 24 * time.Hour, MinuteRetention: 90 * 24 * time.Hour, HourRetention: 5 * 365 * 24 * time.Hour})
	raw, _ := c.store.Readings(ctx, c.fuel.ID, time.Time{}, time.Time{}, 0)
	mins, _ := c.store.Rollups(ctx, nil, bluehelm.RollupMinute, time.Time{}, time.Time{})
	hours, _ := c.store.Rollups(ctx, nil, bluehelm.RollupHour, time.Time{}, time.Time{})
	if len(raw) != 1 || raw[0].Value != 2 || len(mins) != 1 || len(hours) != 1 {
		t.Errorf("after pruning: %d raw (want the recent one), %d minute, %d hour buckets (want 1 each)", len(raw), len(mins), len(hours))
	}
}

func TestCreateSensorChecksItsAreas(t *testing.T) {
	c := newCampEnv(t)
	for _, tc := range []struct {
		name        string
		camp, zone  int64
		field, code string
	}{
		{"a zone given as the camp", c.north, c.north, "camp_id", bluehelm.EINVALID},
		{"the camp given as the zone", c.camp, c.camp, "zone_id", bluehelm.EINVALID},
		{"no such camp", 424242, c.north, "camp_id", bluehelm.EINVALID},
	} {
		s := &bluehelm.Sensor{Code: "C1-PIR-9", Kind: bluehelm.SensorPIR, CampID: tc.camp, ZoneID: tc.zone,
			Position: bluehelm.Point{Lon: 31, Lat: 5}, Unit: "count", IntervalSeconds: 60}
		_, err := c.p.CreateSensor(ctx, campMgr, s)
		if bluehelm.ErrorCode(err) != tc.code || bluehelm.ErrorField(err) != tc.field {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.code, tc.field)
		}
	}
	if _, err := c.p.CreateSensor(ctx, viewer, &bluehelm.Sensor{}); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Errorf("a viewer registering a sensor: %v", err)
	}
}

// Two detectors on either side of a wall confirm an intrusion only when the
// camp's profile says their zones touch; until then each is a lone trigger.
func TestIntrusionAcrossAdjacentZonesFromProfile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		adjacent bool
		want     int // confirmed intrusions
	}{
		{"zones not known to touch", false, 0},
		{"profile says they touch", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCampEnv(t)
			s := &bluehelm.Sensor{Code: "C1-SEIS-S", Kind: bluehelm.SensorSeismic, CampID: c.camp, ZoneID: c.south,
				Position: bluehelm.Point{Lon: 31.006, Lat: 5.005}, Unit: bluehelm.SensorSeismic.Spec().Unit, IntervalSeconds: 60}
			if _, err := c.p.CreateSensor(ctx, campMgr, s); err != nil {
				t.Fatal(err)
			}
			if tc.adjacent {
				prof := &bluehelm.CampProfile{Population: 100, ZoneIDs: []int64{c.north, c.south}, AdjacentZones: [][2]int64{{c.north, c.south}}}
				if _, err := c.p.PutCampProfile(ctx, campMgr, c.camp, 0, prof); err != nil {
					t.Fatal(err)
				}
			}
			rs := []bluehelm.Reading{rd("C1-PIR-1", t0, 1, "count"), rd("C1-SEIS-S", t0.Add(20*time.Second), 1, s.Unit)}
			if _, err := c.p.IngestReadings(ctx, campMgr, rs); err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, a := range c.sensorAlerts(t) {
				if a.Rule == "confirmed_intrusion" {
					got++
				}
			}
			if got != tc.want {
				t.Errorf("%d confirmed intrusions, want %d (alerts %+v)", got, tc.want, c.sensorAlerts(t))
			}
		})
	}
}
