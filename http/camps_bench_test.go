package http

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Issue 7's dashboard target: the camp dashboard for a camp of 200 sensors
// with 30 days of minute roll-ups and a year of hourly roll-ups, out of 5,000
// sensors stored, in ≤ 200 ms.
const (
	benchSensors     = 5000
	benchCampSensors = 200
	benchMinuteDays  = 30
	benchHourDays    = 365
	benchOtherHours  = 7 * 24 // hourly roll-ups of each sensor of other camps
)

// campKinds is the camp's sensor mix: mostly perimeter detectors, then
// tanks, power, water and cold stores.
var campKinds = func() []bluehelm.SensorKind {
	mix := []struct {
		k bluehelm.SensorKind
		n int
	}{
		{bluehelm.SensorPIR, 60}, {bluehelm.SensorSeismic, 30}, {bluehelm.SensorFence, 24}, {bluehelm.SensorCamera, 6},
		{bluehelm.SensorGeneratorKW, 4}, {bluehelm.SensorGeneratorFuel, 4}, {bluehelm.SensorSolarKW, 4}, {bluehelm.SensorLoadKW, 2},
		{bluehelm.SensorBatterySoC, 2}, {bluehelm.SensorWaterLevel, 10}, {bluehelm.SensorWaterFlow, 8}, {bluehelm.SensorWaterQuality, 4},
		{bluehelm.SensorFuelLevel, 10}, {bluehelm.SensorColdStoreTemp, 16}, {bluehelm.SensorWasteFillLevel, 16},
	}
	var out []bluehelm.SensorKind
	for _, m := range mix {
		for range m.n {
			out = append(out, m.k)
		}
	}
	return out
}()

// benchValue is a plausible value of a sensor of kind k at t.
func benchValue(k bluehelm.SensorKind, id int64, t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	switch k {
	case bluehelm.SensorSolarKW:
		return math.Max(0, 80*math.Sin((h-6)/12*math.Pi))
	case bluehelm.SensorGeneratorKW:
		if h < 6 || h >= 18 {
			return 120 + float64(id%7)
		}
		return 0
	case bluehelm.SensorGeneratorFuel:
		if h < 6 || h >= 18 {
			return 36
		}
		return 0
	case bluehelm.SensorLoadKW:
		return 150 + 30*math.Sin(h/24*2*math.Pi)
	case bluehelm.SensorWaterFlow:
		return 40 + 20*math.Sin(h/24*2*math.Pi)
	case bluehelm.SensorColdStoreTemp:
		return 4
	case bluehelm.SensorCamera:
		return 90
	}
	if k.Perimeter() {
		if (t.Unix()/60+id)%97 == 0 {
			return 1
		}
		return 0
	}
	return 60
}

// bulkLoad writes sensors and roll-ups straight into the database file in
// large transactions: through the store's audited writes, building this data
// would take far longer than the benchmark itself.
func bulkLoad(b *testing.B, path string, campID int64, zones []int64, now time.Time) (campIDs []int64) {
	raw, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_busy_timeout=30000&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	ctx := context.Background()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	kinds := map[int64]bluehelm.SensorKind{}
	for id := int64(1); id <= benchSensors; id++ {
		s := bluehelm.Sensor{ID: id, Version: 1, Code: fmt.Sprintf("S-%05d", id), CampID: 9000 + id/200, Position: bluehelm.Point{Lon: 31.5, Lat: 4.8},
			IntervalSeconds: 60, Marking: bluehelm.Marking{Component: bluehelm.Military}, CreatedAt: now, UpdatedAt: now}
		s.Kind = campKinds[int(id)%len(campKinds)]
		if id <= benchCampSensors {
			s.CampID, s.Kind = campID, campKinds[id-1]
			s.Position = bluehelm.Point{Lon: 31.5 + float64(id%20)*0.004, Lat: 4.8 + float64(id/20)*0.008}
			campIDs = append(campIDs, id)
		}
		if s.Kind.Perimeter() {
			s.ZoneID = zones[int(id)%len(zones)]
		}
		if s.Kind == bluehelm.SensorFuelLevel || s.Kind == bluehelm.SensorWaterLevel {
			s.CapacityLitres = 50000
		}
		s.Unit = s.Kind.Spec().Unit
		kinds[id] = s.Kind
		doc, _ := json.Marshal(s)
		if _, err := tx.ExecContext(ctx, `INSERT INTO sensors (id, version, code, doc) VALUES (?, 1, ?, ?)`, id, s.Code, string(doc)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}

	// Roll-ups in key order, 100 rows a statement, a transaction per sensor.
	const per = 100
	stmt := `INSERT INTO sensor_rollups (sensor_id, res, start, count, min, max, sum, last, last_t) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", per), ", ")
	rows := 0
	write := func(tx *sql.Tx, ps *sql.Stmt, id int64, res time.Duration, from time.Time, n int) {
		args := make([]any, 0, 9*per)
		flush := func() {
			if len(args) == 0 {
				return
			}
			var err error
			if len(args) == 9*per {
				_, err = ps.ExecContext(ctx, args...)
			} else {
				q := `INSERT INTO sensor_rollups (sensor_id, res, start, count, min, max, sum, last, last_t) VALUES ` +
					strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(args)/9), ", ")
				_, err = tx.ExecContext(ctx, q, args...)
			}
			if err != nil {
				b.Fatal(err)
			}
			args = args[:0]
		}
		count := int(res / time.Minute)
		for i := range n {
			t := from.Add(time.Duration(i) * res)
			v := benchValue(kinds[id], id, t)
			args = append(args, id, int64(res/time.Second), t.UnixMicro(), count, v, v, v*float64(count), v, t.Add(res-time.Second).UnixMicro())
			if len(args) == 9*per {
				flush()
			}
		}
		flush()
		rows += n
	}
	hourNow := now.Truncate(time.Hour)
	minNow := now.Truncate(time.Minute)
	for id := int64(1); id <= benchSensors; id++ {
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		ps, err := tx.PrepareContext(ctx, stmt)
		if err != nil {
			b.Fatal(err)
		}
		if id <= benchCampSensors {
			write(tx, ps, id, time.Minute, minNow.Add(-benchMinuteDays*24*time.Hour), benchMinuteDays*24*60)
			write(tx, ps, id, time.Hour, hourNow.Add(-benchHourDays*24*time.Hour), benchHourDays*24)
		} else {
			write(tx, ps, id, time.Hour, hourNow.Add(-benchOtherHours*time.Hour), benchOtherHours)
		}
		ps.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d sensors and %d roll-ups", benchSensors, rows)
	return campIDs
}

// BenchmarkCampDashboard builds the database once (about a minute on two
// cores) and then measures GET /api/v1/camps/{id}/dashboard?days=30 end to
// end: authentication, the store reads, assembly and JSON encoding.
func BenchmarkCampDashboard(b *testing.B) {
	e := newEnv(b)
	e.user("ops1", bluehelm.RoleOperations, bluehelm.Military, bluehelm.StrictlyConfidential)
	e.user("campmgr", bluehelm.RoleCamp, bluehelm.Military, bluehelm.Confidential)
	e.user("viewer", bluehelm.RoleViewer, bluehelm.Military, bluehelm.Unclassified)
	square := func(lon, lat, d float64) map[string]any {
		return map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}}
	}
	var a bluehelm.Area
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: map[string]any{"name": "Camp Bench", "kind": "camp", "geometry": square(31.49, 4.79, 0.1)}}, http.StatusCreated, &a)
	campID := a.ID
	var zones []int64
	for i := range 8 {
		e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: map[string]any{"name": fmt.Sprintf("Zone %d", i), "kind": "camp_zone",
			"geometry": square(31.5+float64(i%4)*0.02, 4.8+float64(i/4)*0.04, 0.02)}}, http.StatusCreated, &a)
		zones = append(zones, a.ID)
	}
	start := time.Now()
	ids := bulkLoad(b, e.db.Path(), campID, zones, e.now)
	b.Logf("bulk load took %s", time.Since(start).Round(time.Second))

	e.ok(req{method: "PUT", path: fmt.Sprintf("/api/v1/camps/%d/profile", campID), as: "campmgr", body: map[string]any{"population": 800,
		"escalation": []map[string]any{{"role": "camp_manager", "after_minutes": 5}}}}, http.StatusOK, nil)
	yearAgo := e.now.AddDate(-1, 0, 0).Format(time.RFC3339)
	for i, id := range ids {
		if campKinds[i] != bluehelm.SensorGeneratorKW {
			continue
		}
		e.ok(req{method: "POST", path: "/api/v1/assets", as: "campmgr", body: map[string]any{"camp_id": campID, "kind": "generator", "name": fmt.Sprintf("Genset %d", id),
			"position": map[string]any{"type": "Point", "coordinates": []float64{31.52, 4.82}}, "rated_kw": 250, "sensor_ids": []int64{id},
			"hour_meter_base": 10000, "hour_meter_at": yearAgo,
			"service_plans": []map[string]any{{"task": "oil change", "every_hours": 250, "lead_hours": 25, "last_done_at_hours": 14230}, {"task": "overhaul", "every_hours": 20000, "lead_hours": 100}}}}, http.StatusCreated, nil)
	}
	for _, kind := range []string{"diesel", "potable_water", "rations", "medical_consumables", "aviation_fuel"} {
		var it bluehelm.StockItem
		unit := map[string]string{"diesel": "L", "potable_water": "L", "rations": "ration", "medical_consumables": "unit", "aviation_fuel": "L"}[kind]
		e.ok(req{method: "POST", path: "/api/v1/stock-items", as: "campmgr", body: map[string]any{"name": kind, "kind": kind, "unit": unit,
			"camp_id": campID, "store": "main store", "min_days_of_supply": 14}}, http.StatusCreated, &it)
		path := fmt.Sprintf("/api/v1/stock-items/%d/movements", it.ID)
		e.ok(req{method: "POST", path: path, as: "campmgr", body: map[string]any{"kind": "receipt", "quantity": 100000, "time": e.now.AddDate(0, 0, -29).Format(time.RFC3339)}}, http.StatusCreated, nil)
		for d := 28; d >= 1; d-- {
			e.ok(req{method: "POST", path: path, as: "campmgr", body: map[string]any{"kind": "issue", "quantity": 1000 + 10*d, "time": e.now.AddDate(0, 0, -d).Format(time.RFC3339)}}, http.StatusCreated, nil)
		}
	}
	for i := range 20 {
		al := &bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: "single_trigger", Key: fmt.Sprintf("1/single_trigger/%d", ids[i]), Severity: bluehelm.SevWarning,
			Title: fmt.Sprintf("Trigger %d", i), AreaID: campID, Marking: bluehelm.Marking{Component: bluehelm.Military}}
		if err := e.pipeline.RaiseAlert(e.ctx, bluehelm.SystemPrincipal("sensor"), al); err != nil {
			b.Fatal(err)
		}
	}
	path := fmt.Sprintf("/api/v1/camps/%d/dashboard?days=30", campID)
	var d CampDashboard
	e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &d)
	if len(d.Sensors) != benchCampSensors || len(d.Energy.Series) != 30*24 || len(d.Stocks) != 5 || len(d.Alarms) != 20 {
		b.Fatalf("dashboard: %d sensors, %d energy rows, %d stocks, %d alarms", len(d.Sensors), len(d.Energy.Series), len(d.Stocks), len(d.Alarms))
	}

	b.Run(fmt.Sprintf("sensors=%d/camp=%d/days=30", benchSensors, benchCampSensors), func(b *testing.B) {
		var size int
		for b.Loop() {
			r := e.do(req{method: "GET", path: path, as: "viewer"})
			if r.StatusCode != http.StatusOK {
				b.Fatalf("status %d", r.StatusCode)
			}
			size = len(r.body)
		}
		b.ReportMetric(float64(size), "bytes/answer")
	})
}
