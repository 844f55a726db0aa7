package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// readingsPerStatement bounds the arrays one INSERT carries: a batch of a
// hundred thousand readings goes in a few statements of one transaction
// rather than one message of many megabytes.
const readingsPerStatement = 10_000

// readingKey is a reading's identity as stored: sensor and time to the µs.
type readingKey struct {
	sensor int64
	micros int64
}

// readingBatch is a validated batch reduced to its first copy of each key, in
// key order.
type readingBatch struct {
	first   []int // index in the caller's batch of each key's first copy, key order
	ids     []int64
	times   []time.Time
	values  []float64
	sensors []int64 // the distinct sensors
}

// prepareReadings validates rs and keeps the first copy of each (sensor, time)
// key. Deduplicating here, rather than leaving it to ON CONFLICT inside one
// statement, makes "the first of a batch wins" independent of the order in
// which the server inserts rows. Sorting by key makes every writer insert in
// the same order, so two nodes storing overlapping batches wait for each
// other instead of deadlocking.
func prepareReadings(rs []bluehelm.Reading) (*readingBatch, error) {
	order := make([]int, len(rs))
	keys := make([]readingKey, len(rs))
	for i, r := range rs {
		switch {
		case r.SensorID <= 0:
			return nil, bluehelm.Invalid("["+strconv.Itoa(i)+"].sensor_id", "is required")
		case r.Time.IsZero():
			return nil, bluehelm.Invalid("["+strconv.Itoa(i)+"].time", "is required")
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			return nil, bluehelm.Invalid("["+strconv.Itoa(i)+"].value", "is not a number")
		}
		order[i] = i
		keys[i] = readingKey{r.SensorID, utc(r.Time).UnixMicro()}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := keys[a], keys[b]
		if c := cmp.Compare(ka.sensor, kb.sensor); c != 0 {
			return c
		}
		return cmp.Compare(ka.micros, kb.micros)
	})
	b := &readingBatch{}
	var last readingKey
	for n, i := range order {
		k := keys[i]
		if n > 0 && k == last {
			continue // a later copy within the batch: stable sort put the first first
		}
		if len(b.sensors) == 0 || b.sensors[len(b.sensors)-1] != k.sensor {
			b.sensors = append(b.sensors, k.sensor)
		}
		last = k
		b.first = append(b.first, i)
		b.ids = append(b.ids, k.sensor)
		b.times = append(b.times, time.UnixMicro(k.micros).UTC())
		b.values = append(b.values, rs[i].Value)
	}
	return b, nil
}

// insertReadings stores the batch in tx and returns how many readings the
// server inserted, that is, whose key was not stored. With stored non-nil it
// also reads those keys back (RETURNING) and calls stored with the position
// (in b) of each; AppendReadings, which only counts, spares that traffic.
func insertReadings(ctx context.Context, tx pgx.Tx, b *readingBatch, stored func(int)) (int, error) {
	// One statement for the batch's sensors: a lookup per reading cost as much
	// as storing it. Sensors are never deleted, so the check cannot go stale.
	var missing int64
	err := tx.QueryRow(ctx, `SELECT x FROM unnest($1::bigint[]) AS x WHERE NOT EXISTS (SELECT 1 FROM sensors WHERE id = x) LIMIT 1`, b.sensors).Scan(&missing)
	switch {
	case err == nil:
		return 0, bluehelm.Invalid("sensor_id", "unknown sensor %d", missing)
	case !errors.Is(err, pgx.ErrNoRows):
		return 0, err
	}
	const insert = `INSERT INTO readings (sensor_id, t, value)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[]) ON CONFLICT DO NOTHING`
	n := 0
	for lo := 0; lo < len(b.ids); lo += readingsPerStatement {
		hi := min(lo+readingsPerStatement, len(b.ids))
		if stored == nil {
			tag, err := tx.Exec(ctx, insert, b.ids[lo:hi], b.times[lo:hi], b.values[lo:hi])
			if err != nil {
				return n, err
			}
			n += int(tag.RowsAffected())
			continue
		}
		rows, err := tx.Query(ctx, insert+` RETURNING sensor_id, t`, b.ids[lo:hi], b.times[lo:hi], b.values[lo:hi])
		if err != nil {
			return n, err
		}
		// The keys of one statement are distinct and sorted: find each
		// returned one by binary search in its slice.
		for rows.Next() {
			var (
				id int64
				t  time.Time
			)
			if err := rows.Scan(&id, &t); err != nil {
				rows.Close()
				return n, err
			}
			k := readingKey{id, t.UnixMicro()}
			pos, found := searchReadingKey(b, lo, hi, k)
			if !found {
				rows.Close()
				return n, fmt.Errorf("postgres: the server returned reading (%d, %s) it was not given", id, t)
			}
			stored(pos)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// searchReadingKey finds k among b's keys in [lo, hi).
func searchReadingKey(b *readingBatch, lo, hi int, k readingKey) (int, bool) {
	i, j := lo, hi
	for i < j {
		m := int(uint(i+j) >> 1)
		mk := readingKey{b.ids[m], b.times[m].UnixMicro()}
		if mk.sensor < k.sensor || (mk.sensor == k.sensor && mk.micros < k.micros) {
			i = m + 1
		} else {
			j = m
		}
	}
	if i < hi && b.ids[i] == k.sensor && b.times[i].UnixMicro() == k.micros {
		return i, true
	}
	return 0, false
}

// AppendReadings stores the batch in one transaction, durable at commit. The
// (sensor, time) key skips duplicates of stored readings, and the batch's own
// later copies are dropped before it is sent, so the rows inserted are the
// readings stored and the rest are duplicates.
func (db *DB) AppendReadings(ctx context.Context, rs []bluehelm.Reading) (stored, duplicates int, err error) {
	if len(rs) == 0 {
		return 0, 0, nil
	}
	b, err := prepareReadings(rs)
	if err != nil {
		return 0, 0, err
	}
	var n int
	err = db.writeTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = insertReadings(ctx, tx, b, nil)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("append readings: %w", err)
	}
	return n, len(rs) - n, nil
}

// InsertReadings is AppendReadings telling which readings were stored: the
// server returns the keys it inserted; a reading whose key it did not insert,
// or a later copy within the batch, is a duplicate.
func (db *DB) InsertReadings(ctx context.Context, rs []bluehelm.Reading) ([]bool, error) {
	stored := make([]bool, len(rs))
	if len(rs) == 0 {
		return stored, nil
	}
	b, err := prepareReadings(rs)
	if err != nil {
		return nil, err
	}
	err = db.writeTx(ctx, func(tx pgx.Tx) error {
		_, err := insertReadings(ctx, tx, b, func(pos int) { stored[b.first[pos]] = true })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("insert readings: %w", err)
	}
	return stored, nil
}

// campTimeRange appends to args and returns the SQL conditions of col in
// [from, to), a zero bound being open.
func campTimeRange(col string, from, to time.Time, args *[]any) string {
	var s string
	if !from.IsZero() {
		*args = append(*args, ceilMicro(from))
		s += ` AND ` + col + ` >= $` + strconv.Itoa(len(*args))
	}
	if !to.IsZero() {
		*args = append(*args, ceilMicro(to))
		s += ` AND ` + col + ` < $` + strconv.Itoa(len(*args))
	}
	return s
}

// Readings returns the sensor's readings in [from, to) by time.
func (db *DB) Readings(ctx context.Context, sensorID int64, from, to time.Time, limit int) ([]bluehelm.Reading, error) {
	limit, err := clampLimit(limit, 10_000, 100_000)
	if err != nil {
		return nil, err
	}
	s, err := db.Sensor(ctx, sensorID)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	args := []any{sensorID, limit}
	rows, err := r.Query(ctx, `SELECT t, value FROM readings WHERE sensor_id = $1`+campTimeRange("t", from, to, &args)+` ORDER BY t LIMIT $2`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.Reading
	for rows.Next() {
		rd := bluehelm.Reading{SensorID: s.ID, SensorCode: s.Code, Unit: s.Unit}
		if err := rows.Scan(&rd.Time, &rd.Value); err != nil {
			return nil, dbErr(err)
		}
		rd.Time = rd.Time.UTC()
		out = append(out, rd)
	}
	return out, dbErr(rows.Err())
}

// pruneSensorsPerTx bounds one retention transaction, so that pruning days of
// readings of thousands of sensors never holds locks and WAL for long.
const pruneSensorsPerTx = 64

// pruneBySensor runs del (a DELETE with $1 a bigint[] of sensors and its
// other arguments after) over every sensor, a few per transaction: a prune
// stopped half way is simply finished by the next one. Deleting by the key's
// leading sensor_id keeps it a range scan of the primary key per sensor.
func (db *DB) pruneBySensor(ctx context.Context, del string, args ...any) (int, error) {
	r, err := db.reader()
	if err != nil {
		return 0, err
	}
	rows, err := r.Query(ctx, `SELECT id FROM sensors ORDER BY id`)
	if err != nil {
		return 0, dbErr(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, dbErr(err)
	}
	total := 0
	for chunk := range slices.Chunk(ids, pruneSensorsPerTx) {
		err := db.writeTx(ctx, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, del, append([]any{chunk}, args...)...)
			if err != nil {
				return err
			}
			total += int(tag.RowsAffected())
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// PruneReadings deletes the readings before before, sensor by sensor.
func (db *DB) PruneReadings(ctx context.Context, before time.Time) (int, error) {
	n, err := db.pruneBySensor(ctx, `DELETE FROM readings WHERE sensor_id = ANY($1) AND t < $2`, ceilMicro(before))
	if err != nil {
		return n, fmt.Errorf("prune readings: %w", err)
	}
	return n, nil
}

// PruneRollups deletes the buckets of one resolution starting before before.
func (db *DB) PruneRollups(ctx context.Context, res bluehelm.RollupResolution, before time.Time) (int, error) {
	d := res.Duration()
	if d == 0 {
		return 0, bluehelm.Invalid("resolution", "unknown resolution %q (want minute or hour)", res)
	}
	n, err := db.pruneBySensor(ctx, `DELETE FROM sensor_rollups WHERE sensor_id = ANY($1) AND res = $2 AND start < $3`,
		int(d/time.Second), ceilMicro(before))
	if err != nil {
		return n, fmt.Errorf("prune roll-ups: %w", err)
	}
	return n, nil
}

// AppendRollups upserts closed buckets in one transaction. A bucket given
// twice in a batch is stored as its last copy (ON CONFLICT DO UPDATE may not
// touch a row twice in one statement), and buckets go in key order so that
// concurrent writers lock rows in the same order.
func (db *DB) AppendRollups(ctx context.Context, rs []bluehelm.SensorRollup) error {
	if len(rs) == 0 {
		return nil
	}
	type key struct {
		sensor int64
		res    int
		start  int64
	}
	last := make(map[key]int, len(rs))
	for i := range rs {
		r := rs[i]
		if err := r.Validate(); err != nil {
			return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
		}
		last[key{r.SensorID, int(r.Resolution.Duration() / time.Second), utc(r.Start).UnixMicro()}] = i
	}
	keys := make([]key, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.sensor, b.sensor), cmp.Compare(a.res, b.res), cmp.Compare(a.start, b.start))
	})
	n := len(keys)
	var (
		ids, counts              = make([]int64, n), make([]int64, n)
		ress                     = make([]int32, n)
		starts, lastTs           = make([]time.Time, n), make([]time.Time, n)
		mins, maxs, sums, lastVs = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	)
	for j, k := range keys {
		r := rs[last[k]]
		ids[j], ress[j], starts[j] = k.sensor, int32(k.res), time.UnixMicro(k.start).UTC()
		counts[j], mins[j], maxs[j], sums[j], lastVs[j], lastTs[j] = int64(r.Count), r.Min, r.Max, r.Sum, r.Last, utc(r.LastTime)
	}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sensor_rollups (sensor_id, res, start, count, min, max, sum, last, last_t)
			SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::bigint[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::timestamptz[])
			ON CONFLICT (sensor_id, res, start) DO UPDATE SET count = excluded.count, min = excluded.min, max = excluded.max,
				sum = excluded.sum, last = excluded.last, last_t = excluded.last_t`,
			ids, ress, starts, counts, mins, maxs, sums, lastVs, lastTs)
		return err
	})
	if err != nil {
		return fmt.Errorf("append roll-ups: %w", err)
	}
	return nil
}

// maxRollupSensors bounds one query's list of sensors, as on the SQLite store.
const maxRollupSensors = 10_000

const rollupCols = `sensor_id, start, count, min, max, sum, last, last_t`

func scanRollups(rows pgx.Rows, res bluehelm.RollupResolution) ([]bluehelm.SensorRollup, error) {
	defer rows.Close()
	var out []bluehelm.SensorRollup
	for rows.Next() {
		ru := bluehelm.SensorRollup{Resolution: res}
		if err := rows.Scan(&ru.SensorID, &ru.Start, &ru.Count, &ru.Min, &ru.Max, &ru.Sum, &ru.Last, &ru.LastTime); err != nil {
			return nil, dbErr(err)
		}
		ru.Start, ru.LastTime = ru.Start.UTC(), ru.LastTime.UTC()
		out = append(out, ru)
	}
	return out, dbErr(rows.Err())
}

// Rollups returns the buckets at res of the sensors (nil: all) starting in
// [from, to), by sensor then start: a range of the primary key per sensor.
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
	args := []any{int(d / time.Second)}
	q := `SELECT ` + rollupCols + ` FROM sensor_rollups WHERE res = $1`
	if sensorIDs != nil {
		args = append(args, sensorIDs)
		q += ` AND sensor_id = ANY($2)`
	}
	rows, err := r.Query(ctx, q+campTimeRange("start", from, to, &args)+` ORDER BY sensor_id, start`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return scanRollups(rows, res)
}

// LatestRollups returns each sensor's last bucket at res, in the order of
// sensorIDs, leaving out sensors without one: one descending seek of the
// primary key per sensor, in one statement.
func (db *DB) LatestRollups(ctx context.Context, sensorIDs []int64, res bluehelm.RollupResolution) ([]bluehelm.SensorRollup, error) {
	d := res.Duration()
	if d == 0 {
		return nil, bluehelm.Invalid("resolution", "unknown resolution %q (want minute or hour)", res)
	}
	if len(sensorIDs) > maxRollupSensors {
		return nil, bluehelm.Invalid("sensor_ids", "at most %d", maxRollupSensors)
	}
	if len(sensorIDs) == 0 {
		return []bluehelm.SensorRollup{}, nil
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, `SELECT x.id, b.start, b.count, b.min, b.max, b.sum, b.last, b.last_t
		FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, ord)
		CROSS JOIN LATERAL (SELECT start, count, min, max, sum, last, last_t FROM sensor_rollups
			WHERE sensor_id = x.id AND res = $2 ORDER BY start DESC LIMIT 1) AS b
		ORDER BY x.ord`, sensorIDs, int(d/time.Second))
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := scanRollups(rows, res)
	if out == nil && err == nil {
		out = []bluehelm.SensorRollup{}
	}
	return out, err
}

// RunningHours counts the distinct hourly buckets in [from, to) (zero: open)
// in which any of the sensors shows output above zero, in the database: a
// year of a generator's hours is counted without bringing 8,760 rows over.
func (db *DB) RunningHours(ctx context.Context, sensorIDs []int64, from, to time.Time) (float64, error) {
	if len(sensorIDs) == 0 {
		return 0, nil
	}
	if len(sensorIDs) > maxRollupSensors {
		return 0, bluehelm.Invalid("sensor_ids", "at most %d", maxRollupSensors)
	}
	r, err := db.reader()
	if err != nil {
		return 0, err
	}
	args := []any{sensorIDs}
	var n int64
	if err := r.QueryRow(ctx, `SELECT count(DISTINCT start) FROM sensor_rollups WHERE sensor_id = ANY($1) AND res = 3600 AND max > 0`+
		campTimeRange("start", from, to, &args), args...).Scan(&n); err != nil {
		return 0, dbErr(err)
	}
	return float64(n), nil
}
