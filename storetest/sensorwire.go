package storetest

import (
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// The sensor reading path's storage (credentials, quarantine, InsertReadings,
// PruneRollups):
//
//   - A sensor's secret is stored hashed and replaced by SetSensorSecret;
//     VerifySensorSecret accepts only the current secret of that code, and
//     answers EUNAUTHENTICATED alike for an unknown code, a sensor with no
//     secret and a wrong (or the previous) secret.
//   - InsertReadings tells which readings it stored: a duplicate of a stored
//     reading, or of an earlier one of the batch, is false.
//   - Quarantined readings come back newest first, filtered by code.
//   - PruneRollups deletes one resolution's buckets before a time, no others.

func testSensorCredentials(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	a, b := newSensor("CAMP1-FUEL-1", bluehelm.SensorFuelLevel), newSensor("CAMP1-GEN-1", bluehelm.SensorGeneratorKW)
	must(t, s.CreateSensor(ctx, a, entry("sensor.create")), "CreateSensor")
	must(t, s.CreateSensor(ctx, b, entry("sensor.create")), "CreateSensor")

	_, err := s.VerifySensorSecret(ctx, a.Code, "")
	wantCode(t, err, bluehelm.EUNAUTHENTICATED, "a sensor without a secret")
	before := auditCount(t, s)
	must(t, s.SetSensorSecret(ctx, a.ID, bluehelm.HashSensorSecret("first"), entry("sensor.token")), "SetSensorSecret")
	if auditCount(t, s) != before+1 {
		t.Error("SetSensorSecret is not audited")
	}
	got, err := s.VerifySensorSecret(ctx, a.Code, "first")
	must(t, err, "VerifySensorSecret")
	if got.ID != a.ID {
		t.Errorf("VerifySensorSecret returned sensor %d, want %d", got.ID, a.ID)
	}
	must(t, s.SetSensorSecret(ctx, a.ID, bluehelm.HashSensorSecret("second"), entry("sensor.token")), "SetSensorSecret (rotate)")
	for _, c := range []struct{ name, code, secret string }{
		{"the previous secret", a.Code, "first"},
		{"a wrong secret", a.Code, "guess"},
		{"another sensor's code", b.Code, "second"},
		{"an unknown code", "NOPE", "second"},
	} {
		_, err := s.VerifySensorSecret(ctx, c.code, c.secret)
		wantCode(t, err, bluehelm.EUNAUTHENTICATED, c.name)
	}
	if _, err := s.VerifySensorSecret(ctx, a.Code, "second"); err != nil {
		t.Errorf("the rotated secret: %v", err)
	}
	before = auditCount(t, s)
	wantCode(t, s.SetSensorSecret(ctx, 424242, bluehelm.HashSensorSecret("x"), entry("sensor.token")), bluehelm.ENOTFOUND, "SetSensorSecret of an unknown sensor")
	checkNoAudit(t, s, before, "SetSensorSecret of an unknown sensor")
}

func testInsertReadings(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	a := newSensor("CAMP1-FUEL-1", bluehelm.SensorFuelLevel)
	must(t, s.CreateSensor(ctx, a, entry("sensor.create")), "CreateSensor")
	rd := func(sec int, v float64) bluehelm.Reading {
		return bluehelm.Reading{SensorID: a.ID, Time: t0.Add(time.Duration(sec) * time.Second), Value: v}
	}
	for _, c := range []struct {
		name  string
		batch []bluehelm.Reading
		want  []bool
		code  string
	}{
		{"new readings, out of order", []bluehelm.Reading{rd(20, 1), rd(10, 2)}, []bool{true, true}, ""},
		{"a resent one and a new one", []bluehelm.Reading{rd(10, 9), rd(30, 3)}, []bool{false, true}, ""},
		{"the same time twice in a batch: the first wins", []bluehelm.Reading{rd(40, 4), rd(40, 5)}, []bool{true, false}, ""},
		{"an unknown sensor stores nothing", []bluehelm.Reading{rd(50, 1), {SensorID: 424242, Time: t0, Value: 1}}, nil, bluehelm.EINVALID},
		{"empty", nil, []bool{}, ""},
	} {
		got, err := s.InsertReadings(ctx, c.batch)
		if c.code != "" {
			wantCode(t, err, c.code, c.name)
			continue
		}
		must(t, err, c.name)
		sameJSON(t, got, c.want, c.name)
	}
	got, err := s.Readings(ctx, a.ID, time.Time{}, time.Time{}, 0)
	must(t, err, "Readings")
	var vals []float64
	for _, r := range got {
		vals = append(vals, r.Value)
	}
	sameJSON(t, vals, []float64{2, 1, 3, 4}, "stored values (the first copy of each time)")
}

func testQuarantine(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	q := func(code, reason string) bluehelm.QuarantinedReading {
		return bluehelm.QuarantinedReading{ReceivedAt: t0, SensorCode: code, Time: t0, Value: 300, Unit: "%", Field: "value", Reason: reason, Source: "http"}
	}
	must(t, s.QuarantineReadings(ctx, []bluehelm.QuarantinedReading{q("A", "one"), q("B", "two"), q("A", "three")}), "QuarantineReadings")
	got, err := s.QuarantinedReadings(ctx, "A", 0)
	must(t, err, "QuarantinedReadings")
	if len(got) != 2 || got[0].Reason != "three" || got[1].Reason != "one" || got[0].Value != 300 || !got[0].Time.Equal(t0) {
		t.Errorf("QuarantinedReadings(A) = %+v, want three then one", got)
	}
	all, err := s.QuarantinedReadings(ctx, "", 2)
	must(t, err, "QuarantinedReadings all")
	if len(all) != 2 || all[0].Reason != "three" || all[1].Reason != "two" {
		t.Errorf("QuarantinedReadings(all, 2) = %+v", all)
	}
}

func testPruneRollups(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	a := newSensor("CAMP1-FUEL-1", bluehelm.SensorFuelLevel)
	must(t, s.CreateSensor(ctx, a, entry("sensor.create")), "CreateSensor")
	bucket := func(res bluehelm.RollupResolution, start time.Time) bluehelm.SensorRollup {
		return bluehelm.SensorRollup{SensorID: a.ID, Resolution: res, Start: start, Count: 1, Min: 1, Max: 1, Sum: 1, Last: 1, LastTime: start}
	}
	h := t0.Truncate(time.Hour)
	must(t, s.AppendRollups(ctx, []bluehelm.SensorRollup{
		bucket(bluehelm.RollupMinute, h), bucket(bluehelm.RollupMinute, h.Add(time.Minute)), bucket(bluehelm.RollupMinute, h.Add(2*time.Minute)),
		bucket(bluehelm.RollupHour, h), bucket(bluehelm.RollupHour, h.Add(time.Hour)),
	}), "AppendRollups")
	n, err := s.PruneRollups(ctx, bluehelm.RollupMinute, h.Add(2*time.Minute))
	must(t, err, "PruneRollups")
	if n != 2 {
		t.Errorf("PruneRollups(minute) deleted %d, want 2", n)
	}
	mins, err := s.Rollups(ctx, nil, bluehelm.RollupMinute, time.Time{}, time.Time{})
	must(t, err, "Rollups")
	hours, err := s.Rollups(ctx, nil, bluehelm.RollupHour, time.Time{}, time.Time{})
	must(t, err, "Rollups")
	if len(mins) != 1 || !mins[0].Start.Equal(h.Add(2*time.Minute)) || len(hours) != 2 {
		t.Errorf("after pruning minutes: %d minute buckets (want the last one), %d hour buckets (want 2)", len(mins), len(hours))
	}
	_, err = s.PruneRollups(ctx, "day", h)
	wantCode(t, err, bluehelm.EINVALID, "PruneRollups of an unknown resolution")
}
