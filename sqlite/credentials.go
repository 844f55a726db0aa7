package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// schemaV8 holds what the sensor reading path needs beside the readings: each
// sensor's secret (hashed) and the readings refused at ingest.
const schemaV8 = `
CREATE TABLE sensor_credentials (
	sensor_id  INTEGER PRIMARY KEY,
	hash       BLOB NOT NULL,       -- bluehelm.HashSensorSecret of the current secret
	created_at INTEGER NOT NULL     -- unix µs
);

-- Bounded (maxQuarantined rows): a device stuck sending garbage must not fill
-- the disk. The newest rows are the ones a maintainer looks at.
CREATE TABLE quarantined_readings (
	id          INTEGER PRIMARY KEY,
	received_at INTEGER NOT NULL,   -- unix µs
	sensor_id   INTEGER NOT NULL,   -- 0 when unknown
	sensor_code TEXT NOT NULL,
	t           INTEGER NOT NULL,   -- the reading's time, unix µs (0 when missing)
	value       REAL NOT NULL,
	unit        TEXT NOT NULL,
	field       TEXT NOT NULL,
	reason      TEXT NOT NULL,
	source      TEXT NOT NULL
);
CREATE INDEX quarantined_readings_code ON quarantined_readings (sensor_code, id);
`

// maxQuarantined bounds the quarantine table.
const maxQuarantined = 100_000

// SetSensorSecret replaces the sensor's secret hash.
func (db *DB) SetSensorSecret(ctx context.Context, sensorID int64, hash []byte, e bluehelm.AuditEntry) error {
	if len(hash) == 0 {
		return bluehelm.Invalid("hash", "is required")
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sensors WHERE id = ?`, sensorID).Scan(&n); err != nil {
			return dbErr(err)
		}
		if n == 0 {
			return bluehelm.Errorf(bluehelm.ENOTFOUND, "sensor %d not found", sensorID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sensor_credentials (sensor_id, hash, created_at) VALUES (?, ?, ?)
			ON CONFLICT (sensor_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`,
			sensorID, hash, time.Now().UnixMicro()); err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, "sensor/"+strconv.FormatInt(sensorID, 10))
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
	err = r.QueryRowContext(ctx, `SELECT hash FROM sensor_credentials WHERE sensor_id = ?`, s.ID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
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

// QuarantineReadings stores refused readings and trims the table to its bound.
func (db *DB) QuarantineReadings(ctx context.Context, qs []bluehelm.QuarantinedReading) error {
	if len(qs) == 0 {
		return nil
	}
	args := make([]any, 0, 9*len(qs))
	for _, q := range qs {
		v := q.Value
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		var t int64
		if !q.Time.IsZero() {
			t = truncMicros(q.Time).UnixMicro()
		}
		args = append(args, truncMicros(q.ReceivedAt).UnixMicro(), q.SensorID, clip(q.SensorCode, 64), t, v,
			clip(q.Unit, 32), clip(q.Field, 64), clip(q.Reason, 500), clip(q.Source, 32))
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := multiInsert(ctx, tx, `INSERT INTO quarantined_readings (received_at, sensor_id, sensor_code, t, value, unit, field, reason, source) VALUES `,
			``, 9, []int{64, 16, 4, 1}, args); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM quarantined_readings WHERE id <= (SELECT max(id) FROM quarantined_readings) - ?`, maxQuarantined)
		return dbErr(err)
	})
	if err != nil {
		return fmt.Errorf("quarantine readings: %w", err)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// QuarantinedReadings returns the newest quarantined readings first.
func (db *DB) QuarantinedReadings(ctx context.Context, sensorCode string, limit int) ([]bluehelm.QuarantinedReading, error) {
	switch {
	case limit < 0:
		return nil, bluehelm.Invalid("limit", "must not be negative")
	case limit == 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + quarantineCols + ` FROM quarantined_readings `
	args := []any{}
	if sensorCode != "" {
		q += `WHERE sensor_code = ? `
		args = append(args, sensorCode)
	}
	q += `ORDER BY id DESC LIMIT ?`
	return queryAll(ctx, r, q, append(args, limit), scanQuarantined)
}

const quarantineCols = `id, received_at, sensor_id, sensor_code, t, value, unit, field, reason, source`

func scanQuarantined(sc scanner) (bluehelm.QuarantinedReading, error) {
	var (
		x     bluehelm.QuarantinedReading
		rc, t int64
	)
	err := sc.Scan(&x.ID, &rc, &x.SensorID, &x.SensorCode, &t, &x.Value, &x.Unit, &x.Field, &x.Reason, &x.Source)
	x.ReceivedAt = time.UnixMicro(rc).UTC()
	if t != 0 {
		x.Time = time.UnixMicro(t).UTC()
	}
	return x, err
}

// PruneRollups deletes the buckets of one resolution starting before before.
// The (sensor_id, res, start) key makes it a range per sensor; like
// PruneReadings it goes a few sensors per transaction.
func (db *DB) PruneRollups(ctx context.Context, res bluehelm.RollupResolution, before time.Time) (int, error) {
	d := res.Duration()
	if d == 0 {
		return 0, bluehelm.Invalid("resolution", "unknown resolution %q (want minute or hour)", res)
	}
	r, err := db.reader()
	if err != nil {
		return 0, err
	}
	ids, err := queryAll(ctx, r, `SELECT id FROM sensors ORDER BY id`, nil, func(s scanner) (int64, error) {
		var id int64
		return id, s.Scan(&id)
	})
	if err != nil {
		return 0, err
	}
	lo, _ := microRange(before, time.Time{})
	total := 0
	for chunk := range slices.Chunk(ids, pruneSensorsPerTx) {
		err := db.writeTx(ctx, func(tx *sql.Tx) error {
			del, err := tx.PrepareContext(ctx, `DELETE FROM sensor_rollups WHERE sensor_id = ? AND res = ? AND start < ?`)
			if err != nil {
				return dbErr(err)
			}
			defer del.Close()
			for _, id := range chunk {
				res, err := del.ExecContext(ctx, id, int64(d/time.Second), lo)
				if err != nil {
					return dbErr(err)
				}
				n, err := res.RowsAffected()
				if err != nil {
					return dbErr(err)
				}
				total += int(n)
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune roll-ups: %w", err)
		}
	}
	return total, nil
}

// InsertReadings stores the batch in one durable transaction like
// AppendReadings, and reads back (RETURNING) the keys it inserted, so that the
// caller learns which readings were duplicates. The first of a batch's
// readings with one key wins, as in AppendReadings.
func (db *DB) InsertReadings(ctx context.Context, rs []bluehelm.Reading) ([]bool, error) {
	stored := make([]bool, len(rs))
	if len(rs) == 0 {
		return stored, nil
	}
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	key := func(i int) int64 { return truncMicros(rs[i].Time).UnixMicro() }
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmpInt64(rs[a].SensorID, rs[b].SensorID); c != 0 {
			return c
		}
		return cmpInt64(key(a), key(b))
	})
	args := make([]any, 0, 3*len(rs))
	var ids []int64
	for _, i := range order {
		r := rs[i]
		switch {
		case r.SensorID <= 0:
			return nil, bluehelm.Invalid("["+strconv.Itoa(i)+"].sensor_id", "is required")
		case r.Time.IsZero():
			return nil, bluehelm.Invalid("["+strconv.Itoa(i)+"].time", "is required")
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			return nil, bluehelm.Invalid("["+strconv.Itoa(i)+"].value", "is not a number")
		}
		if len(ids) == 0 || ids[len(ids)-1] != r.SensorID {
			ids = append(ids, r.SensorID)
		}
		args = append(args, r.SensorID, key(i), r.Value)
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	type k struct{ id, t int64 }
	inserted := make(map[k]bool, len(rs))
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		var missing int64
		err := tx.QueryRowContext(ctx, `SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM sensors) LIMIT 1`, idList).Scan(&missing)
		switch {
		case err == nil:
			return bluehelm.Invalid("sensor_id", "unknown sensor %d", missing)
		case !errors.Is(err, sql.ErrNoRows):
			return dbErr(err)
		}
		row := "(?, ?, ?)"
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		for rest := args; len(rest) > 0; {
			n := 1
			for _, s := range readingSizes {
				if s <= len(rest)/3 {
					n = s
					break
				}
			}
			st := stmts[n]
			if st == nil {
				if st, err = tx.PrepareContext(ctx, `INSERT INTO readings (sensor_id, t, value) VALUES `+
					strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")+` ON CONFLICT DO NOTHING RETURNING sensor_id, t`); err != nil {
					return dbErr(err)
				}
				stmts[n] = st
			}
			rows, err := st.QueryContext(ctx, rest[:3*n]...)
			if err != nil {
				return dbErr(err)
			}
			for rows.Next() {
				var x k
				if err := rows.Scan(&x.id, &x.t); err != nil {
					rows.Close()
					return dbErr(err)
				}
				inserted[x] = true
			}
			if err := rows.Close(); err != nil {
				return dbErr(err)
			}
			if err := rows.Err(); err != nil {
				return dbErr(err)
			}
			rest = rest[3*n:]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insert readings: %w", err)
	}
	for i := range rs {
		x := k{rs[i].SensorID, key(i)}
		if inserted[x] {
			stored[i] = true
			delete(inserted, x) // a later reading with the key is the duplicate
		}
	}
	return stored, nil
}
