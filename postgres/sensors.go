package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Sensors are thousands at most and read whole by the ingest pipeline at
// start, so they are documents with the code as a column (unique: it is how a
// device names itself) and the camp, which the camp dashboard filters on.
var sensors = &docTable[bluehelm.Sensor]{
	table: "sensors", kind: "sensor",
	cols:  []string{"code", "camp_id"},
	ident: func(s *bluehelm.Sensor) (*int64, *int) { return &s.ID, &s.Version },
	row:   func(s *bluehelm.Sensor) []any { return []any{s.Code, s.CampID} },
	// Asking first gives a message naming the sensor holding the code; the
	// unique index stays the guarantee when two nodes race.
	check: func(ctx context.Context, tx pgx.Tx, s *bluehelm.Sensor) error {
		var other int64
		err := tx.QueryRow(ctx, `SELECT id FROM sensors WHERE code = $1 AND id <> $2`, s.Code, s.ID).Scan(&other)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		return bluehelm.Errorf(bluehelm.ECONFLICT, "sensor code %q is already used by sensor %d", s.Code, other)
	},
}

// CreateSensor stores s as version 1, setting s.ID and s.Version. A code
// another sensor has is ECONFLICT.
func (db *DB) CreateSensor(ctx context.Context, s *bluehelm.Sensor, e bluehelm.AuditEntry) error {
	return sensors.create(ctx, db, s, e)
}

// UpdateSensor stores s as version s.Version+1 if the stored version is still
// s.Version (ECONFLICT otherwise), and increments s.Version.
func (db *DB) UpdateSensor(ctx context.Context, s *bluehelm.Sensor, e bluehelm.AuditEntry) error {
	return sensors.update(ctx, db, s, e)
}

// Sensor returns one sensor.
func (db *DB) Sensor(ctx context.Context, id int64) (*bluehelm.Sensor, error) {
	return sensors.get(ctx, db, "id", id)
}

// SensorByCode returns the sensor with that code (exactly, case included).
func (db *DB) SensorByCode(ctx context.Context, code string) (*bluehelm.Sensor, error) {
	return sensors.get(ctx, db, "code", code)
}

// Sensors returns every sensor, disabled ones included, ordered by code.
func (db *DB) Sensors(ctx context.Context) ([]*bluehelm.Sensor, error) {
	return sensors.list(ctx, db, `SELECT id, version, doc FROM sensors ORDER BY code`)
}

// CampSensors returns the sensors of one camp by code, through sensors_camp.
func (db *DB) CampSensors(ctx context.Context, campID int64) ([]*bluehelm.Sensor, error) {
	return sensors.list(ctx, db, `SELECT id, version, doc FROM sensors WHERE camp_id = $1 ORDER BY code`, campID)
}

// Alarm rules are documents with the sensor as a column, so the rules of one
// sensor are found without decoding the camp's others. Ids come from the
// identity sequence: a deleted rule's id (alarms name rules by id) is never
// given again.
var alarmRules = &docTable[bluehelm.AlarmRule]{
	table: "alarm_rules", kind: "alarm_rule",
	cols:  []string{"sensor_id"},
	ident: func(r *bluehelm.AlarmRule) (*int64, *int) { return &r.ID, &r.Version },
	row:   func(r *bluehelm.AlarmRule) []any { return []any{r.SensorID} },
}

// CreateAlarmRule stores r as version 1, setting r.ID and r.Version.
func (db *DB) CreateAlarmRule(ctx context.Context, r *bluehelm.AlarmRule, e bluehelm.AuditEntry) error {
	return alarmRules.create(ctx, db, r, e)
}

// UpdateAlarmRule stores r as version r.Version+1 if the stored version is
// still r.Version (ECONFLICT otherwise), and increments r.Version.
func (db *DB) UpdateAlarmRule(ctx context.Context, r *bluehelm.AlarmRule, e bluehelm.AuditEntry) error {
	return alarmRules.update(ctx, db, r, e)
}

// DeleteAlarmRule deletes a rule if it is still at version (ECONFLICT
// otherwise).
func (db *DB) DeleteAlarmRule(ctx context.Context, id int64, version int, e bluehelm.AuditEntry) error {
	return alarmRules.delete(ctx, db, id, version, e)
}

// AlarmRules returns the rules about one sensor, or all for sensorID 0, by id.
func (db *DB) AlarmRules(ctx context.Context, sensorID int64) ([]*bluehelm.AlarmRule, error) {
	if sensorID == 0 {
		return alarmRules.list(ctx, db, `SELECT id, version, doc FROM alarm_rules ORDER BY id`)
	}
	return alarmRules.list(ctx, db, `SELECT id, version, doc FROM alarm_rules WHERE sensor_id = $1 ORDER BY id`, sensorID)
}

// SetSensorSecret replaces the sensor's secret hash.
func (db *DB) SetSensorSecret(ctx context.Context, sensorID int64, hash []byte, e bluehelm.AuditEntry) error {
	if len(hash) == 0 {
		return bluehelm.Invalid("hash", "is required")
	}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM sensors WHERE id = $1`, sensorID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("sensor", sensorID)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sensor_credentials (sensor_id, hash, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (sensor_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`,
			sensorID, hash, utc(time.Now())); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e, sensors.object(sensorID))
	})
	if err != nil {
		return fmt.Errorf("set sensor secret: %w", err)
	}
	return nil
}

// VerifySensorSecret checks code and secret in constant time for the hash.
func (db *DB) VerifySensorSecret(ctx context.Context, code, secret string) (*bluehelm.Sensor, error) {
	bad := bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "unknown sensor or wrong secret")
	s, err := db.SensorByCode(ctx, code)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var hash []byte
	err = r.QueryRow(ctx, `SELECT hash FROM sensor_credentials WHERE sensor_id = $1`, s.ID).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, bad
	}
	if err != nil {
		return nil, dbErr(err)
	}
	if subtle.ConstantTimeCompare(hash, bluehelm.HashSensorSecret(secret)) != 1 {
		return nil, bad
	}
	return s, nil
}

// maxQuarantined bounds the quarantine table.
const maxQuarantined = 100_000

// QuarantineReadings stores refused readings and trims the table to its
// bound. Ids come from a sequence, so "the newest maxQuarantined ids" is the
// bound; writers on several nodes may each leave their own batch above it
// until the next trim, which is still bounded.
func (db *DB) QuarantineReadings(ctx context.Context, qs []bluehelm.QuarantinedReading) error {
	if len(qs) == 0 {
		return nil
	}
	n := len(qs)
	var (
		received = make([]time.Time, n)
		ids      = make([]int64, n)
		codes    = make([]string, n)
		times    = make([]*time.Time, n)
		values   = make([]float64, n)
		units    = make([]string, n)
		fields   = make([]string, n)
		reasons  = make([]string, n)
		sources  = make([]string, n)
	)
	for i, q := range qs {
		v := q.Value
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0 // the reason says what was sent
		}
		received[i], ids[i], values[i] = utc(q.ReceivedAt), q.SensorID, v
		if !q.Time.IsZero() {
			t := utc(q.Time)
			times[i] = &t
		}
		codes[i], units[i], fields[i] = quarantineClip(q.SensorCode, 64), quarantineClip(q.Unit, 32), quarantineClip(q.Field, 64)
		reasons[i], sources[i] = quarantineClip(q.Reason, 500), quarantineClip(q.Source, 32)
	}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		// ORDINALITY keeps the batch's order in the ids, so "newest first"
		// lists a batch backwards, as the SQLite store does.
		if _, err := tx.Exec(ctx, `INSERT INTO quarantined_readings (received_at, sensor_id, sensor_code, t, value, unit, field, reason, source)
			SELECT r, i, c, t, v, u, f, re, s FROM unnest($1::timestamptz[], $2::bigint[], $3::text[], $4::timestamptz[], $5::float8[],
				$6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY AS x(r, i, c, t, v, u, f, re, s, ord) ORDER BY ord`,
			received, ids, codes, times, values, units, fields, reasons, sources); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM quarantined_readings WHERE id <= (SELECT max(id) FROM quarantined_readings) - $1`, maxQuarantined)
		return err
	})
	if err != nil {
		return fmt.Errorf("quarantine readings: %w", err)
	}
	return nil
}

// quarantineClip makes s storable in a text column and cuts it to at most n
// bytes: what a broken device sends is kept for its maintainer, not stored at
// any length, and PostgreSQL refuses both invalid UTF-8 and NUL in text (SQLite
// took them), so they become U+FFFD rather than failing the whole batch.
func quarantineClip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// QuarantinedReadings returns the newest quarantined readings first.
func (db *DB) QuarantinedReadings(ctx context.Context, sensorCode string, limit int) ([]bluehelm.QuarantinedReading, error) {
	limit, err := clampLimit(limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	q := `SELECT id, received_at, sensor_id, sensor_code, t, value, unit, field, reason, source FROM quarantined_readings `
	args := []any{limit}
	if sensorCode != "" {
		q += `WHERE sensor_code = $2 `
		args = append(args, sensorCode)
	}
	rows, err := r.Query(ctx, q+`ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.QuarantinedReading
	for rows.Next() {
		var (
			x bluehelm.QuarantinedReading
			t *time.Time
		)
		if err := rows.Scan(&x.ID, &x.ReceivedAt, &x.SensorID, &x.SensorCode, &t, &x.Value, &x.Unit, &x.Field, &x.Reason, &x.Source); err != nil {
			return nil, dbErr(err)
		}
		x.ReceivedAt = x.ReceivedAt.UTC()
		if t != nil {
			x.Time = t.UTC()
		}
		out = append(out, x)
	}
	return out, dbErr(rows.Err())
}
