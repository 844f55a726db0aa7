package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// readingSizes are the row counts of the multi-row statements a batch is cut
// into: one statement per row would cost more in database/sql than SQLite
// spends storing the row. 256 rows × 3 values stays far below SQLite's limit
// on bound variables.
var readingSizes = []int{256, 64, 16, 4, 1}

// multiInsert runs prefix + n value rows + suffix over args (cols values a
// row) in statements of the sizes given, prepared once each within tx, and
// returns the rows the statements changed.
func multiInsert(ctx context.Context, tx *sql.Tx, prefix, suffix string, cols int, sizes []int, args []any) (int64, error) {
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	var changed int64
	row := "(" + placeholders(cols) + ")"
	for len(args) > 0 {
		rows := len(args) / cols
		n := 1
		for _, s := range sizes {
			if s <= rows {
				n = s
				break
			}
		}
		st, ok := stmts[n]
		if !ok {
			var err error
			if st, err = tx.PrepareContext(ctx, prefix+strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")+suffix); err != nil {
				return changed, dbErr(err)
			}
			stmts[n] = st
		}
		res, err := st.ExecContext(ctx, args[:n*cols]...)
		if err != nil {
			return changed, dbErr(err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return changed, dbErr(err)
		}
		changed += k
		args = args[n*cols:]
	}
	return changed, nil
}

// AppendReadings stores the batch in one transaction, durable at commit
// (synchronous=FULL, as every write). The (sensor, time) key skips
// duplicates, so the rows the inserts changed are the readings stored.
func (db *DB) AppendReadings(ctx context.Context, rs []bluehelm.Reading) (stored, duplicates int, err error) {
	if len(rs) == 0 {
		return 0, 0, nil
	}
	// Rows go in in key order: SQLite then walks the B-tree forwards, each
	// sensor's leaf page once, instead of jumping between pages.
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmpInt64(rs[a].SensorID, rs[b].SensorID); c != 0 {
			return c
		}
		// as stored, to the µs, so that the first of a batch's duplicates wins
		return cmpInt64(truncMicros(rs[a].Time).UnixMicro(), truncMicros(rs[b].Time).UnixMicro())
	})
	args := make([]any, 0, 3*len(rs))
	var ids []int64
	for _, i := range order {
		r := rs[i]
		switch {
		case r.SensorID <= 0:
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].sensor_id", "is required")
		case r.Time.IsZero():
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].time", "is required")
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].value", "is not a number")
		}
		if len(ids) == 0 || ids[len(ids)-1] != r.SensorID {
			ids = append(ids, r.SensorID)
		}
		args = append(args, r.SensorID, truncMicros(r.Time).UnixMicro(), r.Value)
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return 0, 0, err
	}
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		// The sensor check is here rather than a foreign key, and one statement
		// for the batch's sensors: a lookup per reading (or per sensor through
		// database/sql) cost as much as storing the readings.
		var known int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sensors WHERE id IN (SELECT value FROM json_each(?))`, idList).Scan(&known); err != nil {
			return dbErr(err)
		}
		if known != len(ids) {
			var missing int64
			if err := tx.QueryRowContext(ctx, `SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM sensors) LIMIT 1`, idList).Scan(&missing); err != nil {
				return dbErr(err)
			}
			return bluehelm.Invalid("sensor_id", "unknown sensor %d", missing)
		}
		n, err := multiInsert(ctx, tx, `INSERT INTO readings (sensor_id, t, value) VALUES `, ` ON CONFLICT DO NOTHING`, 3, readingSizes, args)
		stored = int(n)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("append readings: %w", err)
	}
	return stored, len(rs) - stored, nil
}

// Queries whose plans camp_test.go pins.
const (
	readingsQuery = `SELECT t, value FROM readings WHERE sensor_id = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?`
	pruneQuery    = `DELETE FROM readings WHERE sensor_id = ? AND t < ?`
)

// Readings returns the sensor's readings in [from, to) by time.
func (db *DB) Readings(ctx context.Context, sensorID int64, from, to time.Time, limit int) ([]bluehelm.Reading, error) {
	switch {
	case limit < 0:
		return nil, bluehelm.Invalid("limit", "must not be negative")
	case limit == 0:
		limit = 10_000
	case limit > 100_000:
		limit = 100_000
	}
	s, err := db.Sensor(ctx, sensorID)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	lo, hi := microRange(from, to)
	return queryAll(ctx, r, readingsQuery,
		[]any{sensorID, lo, hi, limit}, func(sc scanner) (bluehelm.Reading, error) {
			var (
				rd bluehelm.Reading
				t  int64
			)
			err := sc.Scan(&t, &rd.Value)
			rd.SensorID, rd.SensorCode, rd.Unit, rd.Time = s.ID, s.Code, s.Unit, time.UnixMicro(t).UTC()
			return rd, err
		})
}

// pruneSensorsPerTx bounds one retention transaction, so that pruning days of
// readings of thousands of sensors never holds the writer for long.
const pruneSensorsPerTx = 64

// PruneReadings deletes the readings before before, sensor by sensor through
// the primary key (see schemaV7), in several transactions: a prune stopped
// half way is simply finished by the next one.
func (db *DB) PruneReadings(ctx context.Context, before time.Time) (int, error) {
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
			del, err := tx.PrepareContext(ctx, pruneQuery)
			if err != nil {
				return dbErr(err)
			}
			defer del.Close()
			for _, id := range chunk {
				res, err := del.ExecContext(ctx, id, lo)
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
			return total, fmt.Errorf("prune readings: %w", err)
		}
	}
	return total, nil
}

// AppendRollups upserts closed buckets in one transaction.
func (db *DB) AppendRollups(ctx context.Context, rs []bluehelm.SensorRollup) error {
	if len(rs) == 0 {
		return nil
	}
	args := make([]any, 0, 9*len(rs))
	for i := range rs {
		r := rs[i]
		if err := r.Validate(); err != nil {
			return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
		}
		args = append(args, r.SensorID, int64(r.Resolution.Duration()/time.Second), r.Start.UnixMicro(),
			r.Count, r.Min, r.Max, r.Sum, r.Last, truncMicros(r.LastTime).UnixMicro())
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := multiInsert(ctx, tx, `INSERT INTO sensor_rollups (sensor_id, res, start, count, min, max, sum, last, last_t) VALUES `,
			` ON CONFLICT (sensor_id, res, start) DO UPDATE SET count = excluded.count, min = excluded.min, max = excluded.max,
				sum = excluded.sum, last = excluded.last, last_t = excluded.last_t`, 9, []int{64, 16, 4, 1}, args)
		return err
	})
	if err != nil {
		return fmt.Errorf("append roll-ups: %w", err)
	}
	return nil
}

// maxRollupSensors bounds one Rollups query's list of sensors (SQLite bounds
// the variables of a statement).
const maxRollupSensors = 10_000

// Rollups returns the buckets at res of the sensors (nil: all) starting in
// [from, to), by sensor then start.
func (db *DB) Rollups(ctx context.Context, sensorIDs []int64, res bluehelm.RollupResolution, from, to time.Time) ([]bluehelm.SensorRollup, error) {
	d := res.Duration()
	if d == 0 {
		return nil, bluehelm.Invalid("resolution", "unknown resolution %q (want minute or hour)", res)
	}
	if len(sensorIDs) > maxRollupSensors {
		return nil, bluehelm.Invalid("sensor_ids", "at most %d", maxRollupSensors)
	}
	if sensorIDs != nil && len(sensorIDs) == 0 {
		return nil, nil
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	lo, hi := microRange(from, to)
	q, args := rollupsQuery(sensorIDs, d, lo, hi)
	return queryAll(ctx, r, q, args, scanRollup)
}

const rollupCols = `sensor_id, res, start, count, min, max, sum, last, last_t`

func scanRollup(s scanner) (bluehelm.SensorRollup, error) {
	var (
		ru                bluehelm.SensorRollup
		res, start, lastT int64
	)
	err := s.Scan(&ru.SensorID, &res, &start, &ru.Count, &ru.Min, &ru.Max, &ru.Sum, &ru.Last, &lastT)
	ru.Resolution = bluehelm.ResolutionOf(time.Duration(res) * time.Second)
	ru.Start, ru.LastTime = time.UnixMicro(start).UTC(), time.UnixMicro(lastT).UTC()
	return ru, err
}

// rollupsQuery reads a range of the (sensor_id, res, start) key for each
// sensor, already in the order returned. With no sensor named SQLite scans
// the key and sorts each sensor's rows again (a sort per sensor, not of the
// whole result): dashboards name their sensors.
func rollupsQuery(sensorIDs []int64, d time.Duration, lo, hi int64) (string, []any) {
	q := `SELECT ` + rollupCols + ` FROM sensor_rollups WHERE `
	var args []any
	if sensorIDs != nil {
		q += `sensor_id IN (` + placeholders(len(sensorIDs)) + `) AND `
		for _, id := range sensorIDs {
			args = append(args, id)
		}
	}
	q += `res = ? AND start >= ? AND start < ? ORDER BY sensor_id, start`
	return q, append(args, int64(d/time.Second), lo, hi)
}
