package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Sensors are thousands at most and read whole by the ingest pipeline at
// start, so they are documents with the code as a column: it is unique, and it
// is how a device names itself.
var sensors = &docTable[bluehelm.Sensor]{
	table: "sensors", kind: "sensor",
	cols:  []string{"code"},
	ident: func(s *bluehelm.Sensor) (*int64, *int) { return &s.ID, &s.Version },
	row:   func(s *bluehelm.Sensor) []any { return []any{s.Code} },
	// As for units: asking first gives a message naming the sensor holding the
	// code, where the unique index would only refuse.
	check: func(ctx context.Context, tx *sql.Tx, s *bluehelm.Sensor) error {
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM sensors WHERE code = ? AND id != ?`, s.Code, s.ID).Scan(&other)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return dbErr(err)
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

// Alarm rules are documents with the sensor as a column, so the rules of one
// sensor are found without decoding the camp's others.
var alarmRules = &docTable[bluehelm.AlarmRule]{
	table: "alarm_rules", kind: "alarm_rule",
	cols:   []string{"sensor_id"},
	ident:  func(r *bluehelm.AlarmRule) (*int64, *int) { return &r.ID, &r.Version },
	row:    func(r *bluehelm.AlarmRule) []any { return []any{r.SensorID} },
	autoID: true,
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
	return alarmRules.list(ctx, db, `SELECT id, version, doc FROM alarm_rules WHERE sensor_id = ? ORDER BY id`, sensorID)
}

// Stock items are documents; their balance is a column beside the document,
// written only by movements, so that editing an item cannot undo a movement
// stored meanwhile.
var stockItems = &docTable[bluehelm.StockItem]{
	table: "stock_items", kind: "stock_item",
	ident: func(it *bluehelm.StockItem) (*int64, *int) { return &it.ID, &it.Version },
	row:   func(*bluehelm.StockItem) []any { return nil },
}

// CreateStockItem stores it as version 1 with a balance of 0.
func (db *DB) CreateStockItem(ctx context.Context, it *bluehelm.StockItem, e bluehelm.AuditEntry) error {
	return stockItems.create(ctx, db, it, e)
}

// UpdateStockItem stores it as version it.Version+1 if the stored version is
// still it.Version (ECONFLICT otherwise); the balance is not changed.
func (db *DB) UpdateStockItem(ctx context.Context, it *bluehelm.StockItem, e bluehelm.AuditEntry) error {
	return stockItems.update(ctx, db, it, e)
}

// StockItem returns one item.
func (db *DB) StockItem(ctx context.Context, id int64) (*bluehelm.StockItem, error) {
	return stockItems.get(ctx, db, "id", id)
}

// StockItems returns every item by id.
func (db *DB) StockItems(ctx context.Context) ([]*bluehelm.StockItem, error) {
	return stockItems.list(ctx, db, `SELECT id, version, doc FROM stock_items ORDER BY id`)
}

// StockBalance returns the item's book balance.
func (db *DB) StockBalance(ctx context.Context, itemID int64) (float64, error) {
	r, err := db.reader()
	if err != nil {
		return 0, err
	}
	var bal float64
	err = r.QueryRowContext(ctx, `SELECT balance FROM stock_items WHERE id = ?`, itemID).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("stock item", itemID)
	}
	return bal, dbErr(err)
}

// AppendStockMovement stores m and the item's new balance in one transaction.
// A movement at or after the item's latest is checked against the stored
// balance alone. A late entry (a voucher typed in days after the issue) is
// checked by replaying the item's book with it in place, because it changes
// every balance after it: an issue entered late may leave a later issue
// uncovered, and a count after it makes its effect vanish.
func (db *DB) AppendStockMovement(ctx context.Context, m *bluehelm.StockMovement, e bluehelm.AuditEntry) (float64, error) {
	if m == nil {
		return 0, bluehelm.Invalid("", "no movement")
	}
	next := *m
	next.Time = truncMicros(next.Time.UTC())
	if err := next.Validate(time.Now()); err != nil {
		return 0, err
	}
	var bal float64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var stored float64
		err := tx.QueryRowContext(ctx, `SELECT balance FROM stock_items WHERE id = ?`, next.ItemID).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("stock item", next.ItemID)
		}
		if err != nil {
			return dbErr(err)
		}
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(t) FROM stock_movements WHERE item_id = ?`, next.ItemID).Scan(&last); err != nil {
			return dbErr(err)
		}
		if !last.Valid || next.Time.UnixMicro() >= last.Int64 {
			bal, err = next.Apply(stored)
		} else {
			bal, err = replayStock(ctx, tx, &next)
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO stock_movements (item_id, kind, quantity, t, by_user, note)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, next.ItemID, string(next.Kind), next.Quantity, next.Time.UnixMicro(), next.By, next.Note).Scan(&next.ID); err != nil {
			return dbErr(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE stock_items SET balance = ? WHERE id = ?`, bal, next.ItemID); err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, stockItems.object(next.ItemID))
	})
	if err != nil {
		return 0, fmt.Errorf("stock movement of item %d: %w", m.ItemID, err)
	}
	*m = next
	return bal, nil
}

// replayStock returns the balance after the item's stored movements with m
// inserted at its time (after those of the same time, as it is stored last),
// or EINVALID when any balance on the way would be negative.
func replayStock(ctx context.Context, tx *sql.Tx, m *bluehelm.StockMovement) (float64, error) {
	movs, err := queryAll(ctx, tx, `SELECT id, item_id, kind, quantity, t, by_user, note FROM stock_movements
		WHERE item_id = ? ORDER BY t, id`, []any{m.ItemID}, scanMovement)
	if err != nil {
		return 0, err
	}
	bal, placed := 0.0, false
	for i := 0; i <= len(movs); i++ {
		if !placed && (i == len(movs) || movs[i].Time.After(m.Time)) {
			placed = true
			if bal, err = m.Apply(bal); err != nil {
				return 0, err
			}
		}
		if i == len(movs) {
			break
		}
		if bal, err = movs[i].Apply(bal); err != nil {
			return 0, bluehelm.Invalid("time", "entered at %s, it leaves the later %s of %v on %s without stock",
				m.Time.Format(time.RFC3339), movs[i].Kind, movs[i].Quantity, movs[i].Time.Format(time.RFC3339))
		}
	}
	return bal, nil
}

func scanMovement(s scanner) (bluehelm.StockMovement, error) {
	var (
		m    bluehelm.StockMovement
		kind string
		t    int64
	)
	err := s.Scan(&m.ID, &m.ItemID, &kind, &m.Quantity, &t, &m.By, &m.Note)
	m.Kind, m.Time = bluehelm.MovementKind(kind), time.UnixMicro(t).UTC()
	return m, err
}

const movementsQuery = `SELECT id, item_id, kind, quantity, t, by_user, note FROM stock_movements
	WHERE item_id = ? AND t >= ? AND t < ? ORDER BY t, id`

// StockMovements returns the item's movements in [from, to) by time, then id.
func (db *DB) StockMovements(ctx context.Context, itemID int64, from, to time.Time) ([]bluehelm.StockMovement, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	lo, hi := microRange(from, to)
	return queryAll(ctx, r, movementsQuery, []any{itemID, lo, hi}, scanMovement)
}

// microRange turns [from, to) with zero meaning open into µs bounds.
func microRange(from, to time.Time) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !from.IsZero() {
		lo = from.UnixMicro()
		if !truncMicros(from).Equal(from) {
			lo++
		}
	}
	if !to.IsZero() {
		// a bound inside a µs still excludes the instants after it
		hi = to.UnixMicro()
		if !truncMicros(to).Equal(to) {
			hi++
		}
	}
	return lo, hi
}
