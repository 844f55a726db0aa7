package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// TestCampReopen checks that sensors, rules, readings, roll-ups and the stock
// book written before Close are there after Open, on a database created at
// schema 6 (before they existed) and upgraded: the storetest suite opens a new
// store each time, so it can check neither.
func TestCampReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), raw, migrations[:6]); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatalf("upgrade from schema 6: %v", err)
	}
	ctx := t.Context()
	audit := func(action string) bluehelm.AuditEntry { return bluehelm.NewAudit(sys, action, "", nil) }
	s := &bluehelm.Sensor{Code: "C1-FUEL-1", Kind: bluehelm.SensorFuelLevel, CampID: 1, Unit: "%", IntervalSeconds: 60}
	rule := &bluehelm.AlarmRule{Kind: bluehelm.AlarmStale, CampID: 1, Severity: bluehelm.SevInfo}
	it := &bluehelm.StockItem{Name: "Diesel", Kind: bluehelm.StockDiesel, Unit: "L", CampID: 1, Store: "farm"}
	if err := db.CreateSensor(ctx, s, audit("sensor.create")); err != nil {
		t.Fatal(err)
	}
	rule.SensorID = s.ID
	ru := bluehelm.SensorRollup{SensorID: s.ID, Resolution: bluehelm.RollupHour, Start: t0, Count: 2, Min: 1, Max: 2, Sum: 3, Last: 2, LastTime: t0.Add(time.Minute)}
	for _, step := range []struct {
		name string
		run  func() error
	}{
		{"CreateAlarmRule", func() error { return db.CreateAlarmRule(ctx, rule, audit("alarm_rule.create")) }},
		{"AppendReadings", func() error {
			_, _, err := db.AppendReadings(ctx, []bluehelm.Reading{{SensorID: s.ID, Time: t0, Value: 40}, {SensorID: s.ID, Time: t0.Add(time.Minute), Value: 39}})
			return err
		}},
		{"AppendRollups", func() error { return db.AppendRollups(ctx, []bluehelm.SensorRollup{ru}) }},
		{"CreateStockItem", func() error { return db.CreateStockItem(ctx, it, audit("stock.create")) }},
		{"AppendStockMovement", func() error {
			_, err := db.AppendStockMovement(ctx, &bluehelm.StockMovement{ItemID: it.ID, Kind: bluehelm.MoveReceipt, Quantity: 900, Time: t0}, audit("stock.move"))
			return err
		}},
	} {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if got, err := db.SensorByCode(ctx, s.Code); err != nil || got.ID != s.ID {
		t.Errorf("sensor after reopen: %+v, %v", got, err)
	}
	if rs, err := db.AlarmRules(ctx, s.ID); err != nil || len(rs) != 1 || rs[0].ID != rule.ID {
		t.Errorf("alarm rules after reopen: %v, %v", rs, err)
	}
	if rs, err := db.Readings(ctx, s.ID, time.Time{}, time.Time{}, 0); err != nil || len(rs) != 2 || rs[1].Value != 39 {
		t.Errorf("readings after reopen: %v, %v", rs, err)
	}
	if rs, err := db.Rollups(ctx, nil, bluehelm.RollupHour, time.Time{}, time.Time{}); err != nil || len(rs) != 1 || rs[0] != ru {
		t.Errorf("roll-ups after reopen: %v, %v; want %v", rs, err, ru)
	}
	if bal, err := db.StockBalance(ctx, it.ID); err != nil || bal != 900 {
		t.Errorf("stock balance after reopen: %v, %v; want 900", bal, err)
	}
	if n, err := db.VerifyAudit(ctx); n != 4 || err != nil {
		t.Errorf("VerifyAudit after reopen = %d, %v; want 4, nil", n, err)
	}
}

// TestCampQueryPlans pins the plans that keep camp reads in proportion to
// what they return: readings, roll-ups and prunes walk the tables' keys, a
// sensor's rules and an item's movements their indexes, none sorts.
func TestCampQueryPlans(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	explain := func(q string, args ...any) string {
		t.Helper()
		rows, err := db.w.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	rollups := func(ids []int64) string {
		q, args := rollupsQuery(ids, time.Minute, 0, 1)
		return explain(q, args...)
	}
	for _, tc := range []struct {
		name string
		plan string
		want string
		// sorts is the sort a plan may have: SQLite sorts each sensor's
		// roll-ups again when it scans them all, whatever the ORDER BY says.
		sorts string
	}{
		{"readings", explain(readingsQuery, 1, 0, 1, 10), "SEARCH readings USING PRIMARY KEY (sensor_id=? AND t>? AND t<?)", ""},
		{"prune", explain(pruneQuery, 1, 0), "SEARCH readings USING PRIMARY KEY (sensor_id=? AND t<?)", ""},
		{"roll-ups of sensors", rollups([]int64{3, 1, 2}), "SEARCH sensor_rollups USING PRIMARY KEY (sensor_id=? AND res=? AND start>? AND start<?)", ""},
		{"roll-ups of all", rollups(nil), "SCAN sensor_rollups", "USE TEMP B-TREE FOR LAST TERM OF ORDER BY"},
		{"movements", explain(movementsQuery, 1, 0, 1), "SEARCH stock_movements USING INDEX stock_movements_item (item_id=? AND t>? AND t<?)", ""},
		{"rules of a sensor", explain(`SELECT id, version, doc FROM alarm_rules WHERE sensor_id = ? ORDER BY id`, 1), "SEARCH alarm_rules USING INDEX alarm_rules_sensor (sensor_id=?)", ""},
		{"sensors by code", explain(`SELECT id, version, doc FROM sensors ORDER BY code`), "SCAN sensors USING INDEX", ""},
	} {
		if !strings.Contains(tc.plan, tc.want) {
			t.Errorf("%s plan lacks %q:\n%s", tc.name, tc.want, tc.plan)
		}
		plan := tc.plan
		if tc.sorts != "" {
			plan = strings.Replace(plan, tc.sorts, "", 1)
		}
		if strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s plan sorts:\n%s", tc.name, tc.plan)
		}
	}
}
