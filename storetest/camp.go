package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Smart camp storage: sensors, readings, roll-ups, alarm rules and the stock
// book. Beyond the rules in the package comment:
//
//   - A sensor's code is unique (ECONFLICT on create or update, exact match);
//     sensors are listed by code, alarm rules and stock items by id; a deleted
//     alarm rule's id is never given to a new one.
//   - Readings: a (sensor, time) is stored once, the first copy wins, within a
//     batch as across batches; a batch naming an unknown sensor or carrying a
//     NaN stores nothing (EINVALID). Readings come back in time order with the
//     sensor's code and unit; [from, to) with zero open; limit keeps the
//     earliest. PruneReadings deletes those before its time and no others.
//   - Roll-ups: storing a bucket again replaces it; Rollups lists by sensor
//     then start, [from, to) on the start, one resolution at a time.
//   - Stock: the book never goes negative at any time, so a movement that
//     would make it so (an issue beyond the balance, a late issue before a
//     later one it leaves uncovered) is EINVALID and stores nothing, nor an
//     audit entry; movements list by time, then the order they were stored.

func newSensor(code string, kind bluehelm.SensorKind) *bluehelm.Sensor {
	return &bluehelm.Sensor{
		Code: code, Kind: kind, CampID: 7, ZoneID: 3, Position: bluehelm.Point{Lon: 31.58, Lat: 4.86},
		Unit: kind.Spec().Unit, IntervalSeconds: 60, Marking: unclassified,
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func testSensors(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	fuel, pir := newSensor("CAMP1-FUEL-1", bluehelm.SensorFuelLevel), newSensor("CAMP1-PIR-07", bluehelm.SensorPIR)
	fuel.ZoneID, fuel.CapacityLitres = 0, 50000
	pir.Disabled = true
	for _, sn := range []*bluehelm.Sensor{pir, fuel} {
		before := auditCount(t, s)
		must(t, s.CreateSensor(ctx, sn, entry("sensor.create")), "CreateSensor")
		if sn.ID == 0 || sn.Version != 1 {
			t.Fatalf("after create: id %d version %d", sn.ID, sn.Version)
		}
		checkAudited(t, s, before, "sensor.create", "sensor", sn.ID)
	}
	for _, get := range []func() (*bluehelm.Sensor, error){
		func() (*bluehelm.Sensor, error) { return s.Sensor(ctx, fuel.ID) },
		func() (*bluehelm.Sensor, error) { return s.SensorByCode(ctx, "CAMP1-FUEL-1") },
	} {
		got, err := get()
		must(t, err, "get sensor")
		sameJSON(t, got, fuel, "stored sensor")
	}

	before := auditCount(t, s)
	wantCode(t, s.CreateSensor(ctx, newSensor("CAMP1-PIR-07", bluehelm.SensorSeismic), entry("sensor.create")), bluehelm.ECONFLICT, "CreateSensor with a taken code")
	taken := *fuel
	taken.Code = pir.Code
	wantCode(t, s.UpdateSensor(ctx, &taken, entry("sensor.update")), bluehelm.ECONFLICT, "UpdateSensor to a taken code")
	checkNoAudit(t, s, before, "duplicate codes")

	stale := *fuel
	fuel.IntervalSeconds, fuel.CapacityLitres = 300, 60000
	before = auditCount(t, s)
	must(t, s.UpdateSensor(ctx, fuel, entry("sensor.update")), "UpdateSensor")
	checkAudited(t, s, before, "sensor.update", "sensor", fuel.ID)
	if fuel.Version != 2 {
		t.Errorf("version after update %d, want 2", fuel.Version)
	}
	before = auditCount(t, s)
	wantCode(t, s.UpdateSensor(ctx, &stale, entry("sensor.update")), bluehelm.ECONFLICT, "UpdateSensor from a stale version")
	checkNoAudit(t, s, before, "stale UpdateSensor")

	all, err := s.Sensors(ctx)
	must(t, err, "Sensors")
	sameJSON(t, all, []*bluehelm.Sensor{fuel, pir}, "Sensors (by code)")
	_, err = s.Sensor(ctx, 424242)
	wantCode(t, err, bluehelm.ENOTFOUND, "Sensor of unknown id")
	_, err = s.SensorByCode(ctx, "camp1-fuel-1")
	wantCode(t, err, bluehelm.ENOTFOUND, "SensorByCode in another case")

	// Every write above is one link of the audit chain, in order.
	log, err := s.AuditLog(ctx, 0, 100)
	must(t, err, "AuditLog")
	if len(log) != 3 {
		t.Fatalf("%d audit entries, want 3 (two creates, one update)", len(log))
	}
	for i := 1; i < len(log); i++ {
		if log[i].PrevHash != log[i-1].Hash || log[i].Seq != log[i-1].Seq+1 {
			t.Errorf("audit entry %d is not chained to %d", log[i].Seq, log[i-1].Seq)
		}
	}
}

func testReadings(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	a, b := newSensor("CAMP1-FUEL-1", bluehelm.SensorFuelLevel), newSensor("CAMP1-GEN-1", bluehelm.SensorGeneratorKW)
	must(t, s.CreateSensor(ctx, a, entry("sensor.create")), "CreateSensor")
	must(t, s.CreateSensor(ctx, b, entry("sensor.create")), "CreateSensor")
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	rd := func(id int64, sec int, v float64) bluehelm.Reading {
		return bluehelm.Reading{SensorID: id, Time: at(sec), Value: v}
	}

	for _, c := range []struct {
		name         string
		batch        []bluehelm.Reading
		stored, dups int
		code         string
	}{
		{"first batch, out of order", []bluehelm.Reading{rd(a.ID, 20, 80), rd(a.ID, 0, 82), rd(b.ID, 0, 40), rd(a.ID, 10, 81)}, 4, 0, ""},
		{"a replay with other values changes nothing", []bluehelm.Reading{rd(a.ID, 10, 5), rd(a.ID, 20, 80)}, 0, 2, ""},
		{"duplicates within a batch: the first wins", []bluehelm.Reading{rd(a.ID, 30, 79), rd(a.ID, 30, 1), rd(a.ID, 40, 78)}, 2, 1, ""},
		{"an unknown sensor stores nothing", []bluehelm.Reading{rd(a.ID, 50, 77), rd(424242, 50, 1)}, 0, 0, bluehelm.EINVALID},
		{"a NaN stores nothing", []bluehelm.Reading{rd(a.ID, 50, 77), rd(a.ID, 60, math.NaN())}, 0, 0, bluehelm.EINVALID},
		{"no sensor id", []bluehelm.Reading{{Time: at(70), Value: 1}}, 0, 0, bluehelm.EINVALID},
		{"an empty batch", nil, 0, 0, ""},
	} {
		stored, dups, err := s.AppendReadings(ctx, c.batch)
		if c.code != "" {
			wantCode(t, err, c.code, c.name)
			continue
		}
		must(t, err, c.name)
		if stored != c.stored || dups != c.dups {
			t.Errorf("%s: stored %d, duplicates %d; want %d, %d", c.name, stored, dups, c.stored, c.dups)
		}
	}

	want := func(id int64, code, unit string, secsVals ...float64) []bluehelm.Reading {
		var out []bluehelm.Reading
		for i := 0; i < len(secsVals); i += 2 {
			out = append(out, bluehelm.Reading{SensorID: id, SensorCode: code, Unit: unit, Time: at(int(secsVals[i])), Value: secsVals[i+1]})
		}
		return out
	}
	fa := func(sv ...float64) []bluehelm.Reading { return want(a.ID, a.Code, a.Unit, sv...) }
	for _, c := range []struct {
		name     string
		sensor   int64
		from, to time.Time
		limit    int
		want     []bluehelm.Reading
	}{
		{"all, in time order", a.ID, time.Time{}, time.Time{}, 0, fa(0, 82, 10, 81, 20, 80, 30, 79, 40, 78)},
		{"[from, to)", a.ID, at(10), at(30), 0, fa(10, 81, 20, 80)},
		{"limit keeps the earliest", a.ID, at(10), time.Time{}, 2, fa(10, 81, 20, 80)},
		{"another sensor", b.ID, time.Time{}, time.Time{}, 0, want(b.ID, b.Code, b.Unit, 0, 40)},
		{"an empty range", a.ID, at(41), at(100), 0, nil},
	} {
		got, err := s.Readings(ctx, c.sensor, c.from, c.to, c.limit)
		must(t, err, c.name)
		sameJSON(t, got, c.want, "Readings: "+c.name)
	}
	_, err := s.Readings(ctx, 424242, time.Time{}, time.Time{}, 0)
	wantCode(t, err, bluehelm.ENOTFOUND, "Readings of an unknown sensor")

	n, err := s.PruneReadings(ctx, at(20))
	must(t, err, "PruneReadings")
	if n != 3 {
		t.Errorf("PruneReadings deleted %d, want 3 (two of a, one of b)", n)
	}
	got, err := s.Readings(ctx, a.ID, time.Time{}, time.Time{}, 0)
	must(t, err, "Readings")
	sameJSON(t, got, fa(20, 80, 30, 79, 40, 78), "Readings after prune")
	n, err = s.PruneReadings(ctx, at(20))
	must(t, err, "PruneReadings")
	if n != 0 {
		t.Errorf("a second prune deleted %d, want 0", n)
	}
}

func testRollups(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	minute := func(id int64, m int, count int, lo, hi, sum, last float64) bluehelm.SensorRollup {
		start := t0.Add(time.Duration(m) * time.Minute)
		return bluehelm.SensorRollup{SensorID: id, Resolution: bluehelm.RollupMinute, Start: start,
			Count: count, Min: lo, Max: hi, Sum: sum, Last: last, LastTime: start.Add(50 * time.Second)}
	}
	hour := bluehelm.SensorRollup{SensorID: 1, Resolution: bluehelm.RollupHour, Start: t0, Count: 120, Min: 1, Max: 9, Sum: 600, Last: 4, LastTime: t0.Add(59 * time.Minute)}
	must(t, s.AppendRollups(ctx, []bluehelm.SensorRollup{minute(1, 0, 2, 1, 2, 3, 2), minute(1, 1, 1, 5, 5, 5, 5), minute(2, 0, 1, 7, 7, 7, 7), minute(1, 2, 1, 3, 3, 3, 3), hour}), "AppendRollups")
	// A bucket written again (a late reading merged before it closed, a retry)
	// replaces the stored one.
	must(t, s.AppendRollups(ctx, []bluehelm.SensorRollup{minute(1, 1, 2, 4, 5, 9, 4)}), "AppendRollups again")

	for _, c := range []struct {
		name     string
		ids      []int64
		res      bluehelm.RollupResolution
		from, to time.Time
		want     []bluehelm.SensorRollup
	}{
		{"every sensor, by sensor then start", nil, bluehelm.RollupMinute, time.Time{}, time.Time{},
			[]bluehelm.SensorRollup{minute(1, 0, 2, 1, 2, 3, 2), minute(1, 1, 2, 4, 5, 9, 4), minute(1, 2, 1, 3, 3, 3, 3), minute(2, 0, 1, 7, 7, 7, 7)}},
		{"one sensor, [from, to) on the start", []int64{1}, bluehelm.RollupMinute, t0.Add(time.Minute), t0.Add(2 * time.Minute),
			[]bluehelm.SensorRollup{minute(1, 1, 2, 4, 5, 9, 4)}},
		{"two sensors from a time", []int64{2, 1}, bluehelm.RollupMinute, t0.Add(30 * time.Second), time.Time{},
			[]bluehelm.SensorRollup{minute(1, 1, 2, 4, 5, 9, 4), minute(1, 2, 1, 3, 3, 3, 3)}},
		{"hours", nil, bluehelm.RollupHour, time.Time{}, time.Time{}, []bluehelm.SensorRollup{hour}},
		{"no sensors", []int64{}, bluehelm.RollupMinute, time.Time{}, time.Time{}, nil},
	} {
		got, err := s.Rollups(ctx, c.ids, c.res, c.from, c.to)
		must(t, err, c.name)
		sameJSON(t, got, c.want, "Rollups: "+c.name)
	}
	_, err := s.Rollups(ctx, nil, "day", time.Time{}, time.Time{})
	wantCode(t, err, bluehelm.EINVALID, "Rollups at an unknown resolution")
	bad := minute(1, 3, 1, 1, 1, 1, 1)
	bad.Start = bad.Start.Add(time.Second)
	wantCode(t, s.AppendRollups(ctx, []bluehelm.SensorRollup{bad}), bluehelm.EINVALID, "AppendRollups of a bucket not starting on its minute")
}

func testStock(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	it := &bluehelm.StockItem{Name: "Diesel, fuel farm", Kind: bluehelm.StockDiesel, Unit: "L", CampID: 7, Store: "fuel farm",
		MinDaysOfSupply: 14, TankSensorIDs: []int64{1, 2}, Marking: unclassified, CreatedAt: t0, UpdatedAt: t0}
	before := auditCount(t, s)
	must(t, s.CreateStockItem(ctx, it, entry("stock.create")), "CreateStockItem")
	checkAudited(t, s, before, "stock.create", "stock_item", it.ID)
	got, err := s.StockItem(ctx, it.ID)
	must(t, err, "StockItem")
	sameJSON(t, got, it, "stored stock item")

	day := func(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }
	mv := func(kind bluehelm.MovementKind, q float64, d int) *bluehelm.StockMovement {
		return &bluehelm.StockMovement{ItemID: it.ID, Kind: kind, Quantity: q, Time: day(d), By: "log1", Note: "voucher"}
	}
	late := func(m *bluehelm.StockMovement) *bluehelm.StockMovement { m.Time = m.Time.Add(12 * time.Hour); return m }
	for _, c := range []struct {
		name    string
		m       *bluehelm.StockMovement
		balance float64
		code    string
	}{
		{"a receipt", mv(bluehelm.MoveReceipt, 10000, 1), 10000, ""},
		{"an issue", mv(bluehelm.MoveIssue, 4000, 3), 6000, ""},
		{"an issue beyond the balance", mv(bluehelm.MoveIssue, 6001, 4), 0, bluehelm.EINVALID},
		{"an issue of the whole balance", mv(bluehelm.MoveIssue, 6000, 4), 0, ""},
		{"a late issue leaving a later one uncovered", mv(bluehelm.MoveIssue, 1, 2), 0, bluehelm.EINVALID},
		{"a receipt", mv(bluehelm.MoveReceipt, 5000, 5), 5000, ""},
		{"a count", mv(bluehelm.MoveCount, 4800, 6), 4800, ""},
		{"a late issue before the count is covered", late(mv(bluehelm.MoveIssue, 1000, 5)), 4800, ""},
		{"a late receipt before the count changes no balance", mv(bluehelm.MoveReceipt, 300, 5), 4800, ""},
		{"a negative quantity", mv(bluehelm.MoveReceipt, -5, 7), 0, bluehelm.EINVALID},
		{"a NaN quantity", mv(bluehelm.MoveReceipt, math.NaN(), 7), 0, bluehelm.EINVALID},
		{"a zero issue", mv(bluehelm.MoveIssue, 0, 7), 0, bluehelm.EINVALID},
		{"an unknown item", &bluehelm.StockMovement{ItemID: 424242, Kind: bluehelm.MoveReceipt, Quantity: 1, Time: day(7)}, 0, bluehelm.ENOTFOUND},
	} {
		before := auditCount(t, s)
		bal, err := s.AppendStockMovement(ctx, c.m, entry("stock.move"))
		if c.code != "" {
			wantCode(t, err, c.code, c.name)
			checkNoAudit(t, s, before, c.name)
			continue
		}
		must(t, err, c.name)
		checkAudited(t, s, before, "stock.move", "stock_item", it.ID)
		if c.m.ID == 0 {
			t.Errorf("%s: no id set", c.name)
		}
		if bal != c.balance {
			t.Errorf("%s: balance %v, want %v", c.name, bal, c.balance)
		}
	}
	bal, err := s.StockBalance(ctx, it.ID)
	must(t, err, "StockBalance")
	if bal != 4800 {
		t.Errorf("StockBalance %v, want 4800", bal)
	}

	type row struct {
		Kind     bluehelm.MovementKind
		Quantity float64
		Time     time.Time
	}
	var rows []row
	movs, err := s.StockMovements(ctx, it.ID, day(3), day(5).Add(12*time.Hour))
	must(t, err, "StockMovements")
	for _, m := range movs {
		if m.ItemID != it.ID || m.By != "log1" || m.Note != "voucher" {
			t.Errorf("StockMovements: movement %+v lost its item, author or note", m)
		}
		rows = append(rows, row{m.Kind, m.Quantity, m.Time})
	}
	sameJSON(t, rows, []row{{bluehelm.MoveIssue, 4000, day(3)}, {bluehelm.MoveIssue, 6000, day(4)},
		{bluehelm.MoveReceipt, 5000, day(5)}, {bluehelm.MoveReceipt, 300, day(5)}}, "StockMovements in [from, to), ties in stored order")

	all, err := s.StockItems(ctx)
	must(t, err, "StockItems")
	sameJSON(t, all, []*bluehelm.StockItem{it}, "StockItems")
	stale := *it
	it.MinDaysOfSupply = 21
	must(t, s.UpdateStockItem(ctx, it, entry("stock.update")), "UpdateStockItem")
	wantCode(t, s.UpdateStockItem(ctx, &stale, entry("stock.update")), bluehelm.ECONFLICT, "UpdateStockItem from a stale version")
	if bal, err := s.StockBalance(ctx, it.ID); err != nil || bal != 4800 {
		t.Errorf("StockBalance after editing the item: %v, %v; want 4800 (an edit keeps the book)", bal, err)
	}
	_, err = s.StockBalance(ctx, 424242)
	wantCode(t, err, bluehelm.ENOTFOUND, "StockBalance of an unknown item")
}

func testAlarmRules(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	fuel, gen := newSensor("CAMP1-FUEL-1", bluehelm.SensorFuelLevel), newSensor("CAMP1-GEN-1", bluehelm.SensorGeneratorKW)
	must(t, s.CreateSensor(ctx, fuel, entry("sensor.create")), "CreateSensor")
	must(t, s.CreateSensor(ctx, gen, entry("sensor.create")), "CreateSensor")
	low := &bluehelm.AlarmRule{Name: "Fuel low", Kind: bluehelm.AlarmThreshold, CampID: 7, SensorID: fuel.ID, Side: bluehelm.SideLow,
		Level: 20, Hysteresis: 5, Severity: bluehelm.SevWarning}
	theft := &bluehelm.AlarmRule{Name: "Fuel theft", Kind: bluehelm.AlarmRate, CampID: 7, SensorID: fuel.ID, Side: bluehelm.SideLow,
		Level: 4, Hysteresis: 1, WindowSeconds: 1800, Severity: bluehelm.SevCritical}
	stale := &bluehelm.AlarmRule{Name: "Generator silent", Kind: bluehelm.AlarmStale, CampID: 7, SensorID: gen.ID, StaleFactor: 5, Severity: bluehelm.SevInfo}
	perim := &bluehelm.AlarmRule{Name: "Perimeter", Kind: bluehelm.AlarmPerimeter, CampID: 7, WindowSeconds: 60, Severity: bluehelm.SevWarning, Disabled: true}
	for _, r := range []*bluehelm.AlarmRule{low, theft, stale, perim} {
		before := auditCount(t, s)
		must(t, s.CreateAlarmRule(ctx, r, entry("alarm_rule.create")), "CreateAlarmRule")
		if r.ID == 0 || r.Version != 1 {
			t.Fatalf("after create: id %d version %d", r.ID, r.Version)
		}
		checkAudited(t, s, before, "alarm_rule.create", "alarm_rule", r.ID)
	}

	old := *low
	low.Level, low.Hysteresis = 25, 3
	before := auditCount(t, s)
	must(t, s.UpdateAlarmRule(ctx, low, entry("alarm_rule.update")), "UpdateAlarmRule")
	checkAudited(t, s, before, "alarm_rule.update", "alarm_rule", low.ID)
	before = auditCount(t, s)
	wantCode(t, s.UpdateAlarmRule(ctx, &old, entry("alarm_rule.update")), bluehelm.ECONFLICT, "UpdateAlarmRule from a stale version")
	wantCode(t, s.DeleteAlarmRule(ctx, low.ID, 1, entry("alarm_rule.delete")), bluehelm.ECONFLICT, "DeleteAlarmRule of a stale version")
	checkNoAudit(t, s, before, "stale writes")

	// The newest rule is deleted: its id, the largest, is not given again.
	before = auditCount(t, s)
	must(t, s.DeleteAlarmRule(ctx, perim.ID, 1, entry("alarm_rule.delete")), "DeleteAlarmRule")
	checkAudited(t, s, before, "alarm_rule.delete", "alarm_rule", perim.ID)
	wantCode(t, s.DeleteAlarmRule(ctx, perim.ID, 1, entry("alarm_rule.delete")), bluehelm.ENOTFOUND, "DeleteAlarmRule twice")
	again := *perim
	again.ID, again.Version = 0, 0
	must(t, s.CreateAlarmRule(ctx, &again, entry("alarm_rule.create")), "CreateAlarmRule")
	if again.ID == perim.ID {
		t.Errorf("new rule reuses the deleted id %d", perim.ID)
	}

	for _, c := range []struct {
		name   string
		sensor int64
		want   []*bluehelm.AlarmRule
	}{
		{"all, by id", 0, []*bluehelm.AlarmRule{low, theft, stale, &again}},
		{"one sensor's", fuel.ID, []*bluehelm.AlarmRule{low, theft}},
		{"another sensor's", gen.ID, []*bluehelm.AlarmRule{stale}},
		{"a sensor without rules", 424242, nil},
	} {
		got, err := s.AlarmRules(ctx, c.sensor)
		must(t, err, c.name)
		sameJSON(t, got, c.want, "AlarmRules: "+c.name)
	}
}
