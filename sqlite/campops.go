package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// schemaV9 holds the camp manager's records. Profiles are keyed by their camp
// area. Assets and work orders are documents with the columns their lists
// filter on. auto_key is set only on automatic work orders: its UNIQUE index is
// what guarantees one automatic order per asset, task and due reading, even
// when two checks race. The webhook outbox is rows, not documents: the sender
// reads the due ones by next_at, and key makes enqueueing idempotent.
const schemaV9 = `
CREATE TABLE camp_profiles (
	camp_id INTEGER PRIMARY KEY,
	version INTEGER NOT NULL,
	doc     TEXT NOT NULL
);

CREATE TABLE assets (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	version INTEGER NOT NULL,
	camp_id INTEGER NOT NULL DEFAULT 0,
	doc     TEXT NOT NULL
);
CREATE INDEX assets_camp ON assets (camp_id, id);

CREATE TABLE work_orders (
	id       INTEGER PRIMARY KEY,
	version  INTEGER NOT NULL,
	camp_id  INTEGER NOT NULL,
	asset_id INTEGER NOT NULL,
	status   TEXT NOT NULL,
	auto_key TEXT UNIQUE,
	doc      TEXT NOT NULL
);
CREATE INDEX work_orders_camp ON work_orders (camp_id, status, id);
CREATE INDEX work_orders_asset ON work_orders (asset_id, id);

CREATE TABLE webhook_outbox (
	id           INTEGER PRIMARY KEY,
	key          TEXT NOT NULL UNIQUE,
	url          TEXT NOT NULL,
	body         BLOB NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,   -- unix µs
	created_at   INTEGER NOT NULL,   -- unix µs
	delivered_at INTEGER,            -- unix µs; NULL while waiting
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_at) WHERE delivered_at IS NULL;

-- The camp dashboard reads one camp's sensors out of thousands: decoding
-- every sensor document to find them cost more than the rest of the answer.
CREATE INDEX sensors_camp ON sensors (json_extract(doc, '$.camp_id'), code);
`

// PutCampProfile creates (p.Version 0) or replaces (optimistic on p.Version)
// a camp's profile.
func (db *DB) PutCampProfile(ctx context.Context, p *bluehelm.CampProfile, e bluehelm.AuditEntry) error {
	next := *p
	next.UpdatedAt = truncMicros(next.UpdatedAt)
	was := p.Version
	next.Version = was + 1
	doc, err := encodeDoc(&next)
	if err != nil {
		return err
	}
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if was == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO camp_profiles (camp_id, version, doc) VALUES (?, 1, ?) ON CONFLICT (camp_id) DO NOTHING`, next.CampID, doc)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE camp_profiles SET version = ?, doc = ? WHERE camp_id = ? AND version = ?`, next.Version, doc, next.CampID, was)
		}
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			var cur int
			err := tx.QueryRowContext(ctx, `SELECT version FROM camp_profiles WHERE camp_id = ?`, next.CampID).Scan(&cur)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("camp profile", next.CampID)
			} else if err != nil {
				return dbErr(err)
			}
			return bluehelm.Errorf(bluehelm.ECONFLICT, "camp profile %d is at version %d, not %d", next.CampID, cur, was)
		}
		return appendAudit(ctx, tx, e, "camp_profile/"+strconv.FormatInt(next.CampID, 10))
	})
	if err != nil {
		return fmt.Errorf("put camp profile %d: %w", p.CampID, err)
	}
	*p = next
	return nil
}

func scanProfile(s scanner) (*bluehelm.CampProfile, error) {
	var (
		id      int64
		version int
		doc     string
	)
	if err := s.Scan(&id, &version, &doc); err != nil {
		return nil, err
	}
	p := new(bluehelm.CampProfile)
	if err := json.Unmarshal([]byte(doc), p); err != nil {
		return nil, fmt.Errorf("sqlite: camp profile %d: corrupt document: %w", id, err)
	}
	p.CampID, p.Version = id, version
	return p, nil
}

// CampProfile returns a camp's profile.
func (db *DB) CampProfile(ctx context.Context, campID int64) (*bluehelm.CampProfile, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	p, err := scanProfile(r.QueryRowContext(ctx, `SELECT camp_id, version, doc FROM camp_profiles WHERE camp_id = ?`, campID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("camp profile", campID)
	}
	return p, dbErr(err)
}

// CampProfiles returns every profile by camp id.
func (db *DB) CampProfiles(ctx context.Context) ([]*bluehelm.CampProfile, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, `SELECT camp_id, version, doc FROM camp_profiles ORDER BY camp_id`, nil, scanProfile)
}

var assets = &docTable[bluehelm.Asset]{
	table: "assets", kind: "asset",
	cols:   []string{"camp_id"},
	ident:  func(a *bluehelm.Asset) (*int64, *int) { return &a.ID, &a.Version },
	row:    func(a *bluehelm.Asset) []any { return []any{a.CampID} },
	autoID: true,
}

// CreateAsset stores a as version 1, setting a.ID and a.Version.
func (db *DB) CreateAsset(ctx context.Context, a *bluehelm.Asset, e bluehelm.AuditEntry) error {
	return assets.create(ctx, db, a, e)
}

// UpdateAsset stores a as version a.Version+1 if the stored version is still
// a.Version (ECONFLICT otherwise).
func (db *DB) UpdateAsset(ctx context.Context, a *bluehelm.Asset, e bluehelm.AuditEntry) error {
	return assets.update(ctx, db, a, e)
}

// DeleteAsset deletes an asset still at version.
func (db *DB) DeleteAsset(ctx context.Context, id int64, version int, e bluehelm.AuditEntry) error {
	return assets.delete(ctx, db, id, version, e)
}

// Asset returns one asset.
func (db *DB) Asset(ctx context.Context, id int64) (*bluehelm.Asset, error) {
	return assets.get(ctx, db, "id", id)
}

// Assets returns the assets of a camp (0: all) by id.
func (db *DB) Assets(ctx context.Context, campID int64) ([]*bluehelm.Asset, error) {
	if campID == 0 {
		return assets.list(ctx, db, `SELECT id, version, doc FROM assets ORDER BY id`)
	}
	return assets.list(ctx, db, `SELECT id, version, doc FROM assets WHERE camp_id = ? ORDER BY id`, campID)
}

// autoKey names an automatic work order's asset, task and due reading.
func autoKey(w *bluehelm.WorkOrder) any {
	if !w.Auto {
		return nil
	}
	return strconv.FormatInt(w.AssetID, 10) + "\x00" + w.Task + "\x00" + strconv.FormatFloat(w.DueAtHours, 'f', 3, 64)
}

var workOrders = &docTable[bluehelm.WorkOrder]{
	table: "work_orders", kind: "work_order",
	cols:  []string{"camp_id", "asset_id", "status", "auto_key"},
	ident: func(w *bluehelm.WorkOrder) (*int64, *int) { return &w.ID, &w.Version },
	row:   func(w *bluehelm.WorkOrder) []any { return []any{w.CampID, w.AssetID, string(w.Status), autoKey(w)} },
	norm: func(w *bluehelm.WorkOrder) {
		w.CreatedAt, w.UpdatedAt = truncMicros(w.CreatedAt), truncMicros(w.UpdatedAt)
	},
	// Asking first gives a message naming the existing order; the UNIQUE
	// index stays the guarantee.
	check: func(ctx context.Context, tx *sql.Tx, w *bluehelm.WorkOrder) error {
		k := autoKey(w)
		if k == nil {
			return nil
		}
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM work_orders WHERE auto_key = ? AND id != ?`, k, w.ID).Scan(&other)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return dbErr(err)
		}
		return bluehelm.Errorf(bluehelm.ECONFLICT, "work order %d already covers %q due at %v h on asset %d", other, w.Task, w.DueAtHours, w.AssetID)
	},
}

// CreateWorkOrder stores w as version 1; a second automatic order for the same
// asset, task and due reading is ECONFLICT.
func (db *DB) CreateWorkOrder(ctx context.Context, w *bluehelm.WorkOrder, e bluehelm.AuditEntry) error {
	return workOrders.create(ctx, db, w, e)
}

// UpdateWorkOrder stores w as version w.Version+1 if the stored version is
// still w.Version.
func (db *DB) UpdateWorkOrder(ctx context.Context, w *bluehelm.WorkOrder, e bluehelm.AuditEntry) error {
	return workOrders.update(ctx, db, w, e)
}

// CompleteWorkOrder stores the done order and its asset's updated plan in one
// transaction, so the next service is never counted from a reading that was
// not recorded (nor recorded twice).
func (db *DB) CompleteWorkOrder(ctx context.Context, w *bluehelm.WorkOrder, a *bluehelm.Asset, e bluehelm.AuditEntry) error {
	nw, na := *w, *a
	workOrders.norm(&nw)
	nw.Version, na.Version = w.Version+1, a.Version+1
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if err := updateDocIn(ctx, tx, workOrders, &nw, w.Version); err != nil {
			return err
		}
		if err := updateDocIn(ctx, tx, assets, &na, a.Version); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e, workOrders.object(w.ID))
	})
	if err != nil {
		return fmt.Errorf("complete work order %d: %w", w.ID, err)
	}
	*w, *a = nw, na
	return nil
}

// updateDocIn writes v (already at its new version) over the row still at
// was, inside tx.
func updateDocIn[T any](ctx context.Context, tx *sql.Tx, d *docTable[T], v *T, was int) error {
	idp, version := d.ident(v)
	vals, err := d.values(v)
	if err != nil {
		return err
	}
	set := []string{"version = ?"}
	for _, c := range append(d.cols[:len(d.cols):len(d.cols)], "doc") {
		set = append(set, c+" = ?")
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+d.table+` SET `+strings.Join(set, ", ")+` WHERE id = ? AND version = ?`,
		append(append([]any{*version}, vals...), *idp, was)...)
	if err != nil {
		return dbErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(err)
	} else if n == 0 {
		return staleOrMissing(ctx, tx, d.table, d.kind, *idp, was)
	}
	return nil
}

// WorkOrder returns one work order.
func (db *DB) WorkOrder(ctx context.Context, id int64) (*bluehelm.WorkOrder, error) {
	return workOrders.get(ctx, db, "id", id)
}

// WorkOrders returns the selected work orders by id.
func (db *DB) WorkOrders(ctx context.Context, f bluehelm.WorkOrderFilter) ([]*bluehelm.WorkOrder, error) {
	q := `SELECT id, version, doc FROM work_orders WHERE 1`
	var args []any
	if f.CampID != 0 {
		q += ` AND camp_id = ?`
		args = append(args, f.CampID)
	}
	if f.AssetID != 0 {
		q += ` AND asset_id = ?`
		args = append(args, f.AssetID)
	}
	if len(f.Statuses) > 0 {
		q += ` AND status IN (` + placeholders(len(f.Statuses)) + `)`
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	return workOrders.list(ctx, db, q+` ORDER BY id`, args...)
}

// LatestRollups reads each sensor's last bucket with one descending seek of
// the (sensor_id, res, start) key per sensor.
func (db *DB) LatestRollups(ctx context.Context, sensorIDs []int64, res bluehelm.RollupResolution) ([]bluehelm.SensorRollup, error) {
	d := res.Duration()
	if d == 0 {
		return nil, bluehelm.Invalid("resolution", "unknown resolution %q (want minute or hour)", res)
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	stmt, err := r.PrepareContext(ctx, `SELECT start, count, min, max, sum, last, last_t FROM sensor_rollups
		WHERE sensor_id = ? AND res = ? ORDER BY start DESC LIMIT 1`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer stmt.Close()
	out := make([]bluehelm.SensorRollup, 0, len(sensorIDs))
	for _, id := range sensorIDs {
		ru := bluehelm.SensorRollup{SensorID: id, Resolution: res}
		var start, lastT int64
		err := stmt.QueryRowContext(ctx, id, int64(d/time.Second)).Scan(&start, &ru.Count, &ru.Min, &ru.Max, &ru.Sum, &ru.Last, &lastT)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, dbErr(err)
		}
		ru.Start, ru.LastTime = time.UnixMicro(start).UTC(), time.UnixMicro(lastT).UTC()
		out = append(out, ru)
	}
	return out, nil
}

// CampSensors returns the sensors of one camp by code, through the index on
// the document's camp_id.
func (db *DB) CampSensors(ctx context.Context, campID int64) ([]*bluehelm.Sensor, error) {
	return sensors.list(ctx, db, `SELECT id, version, doc FROM sensors WHERE json_extract(doc, '$.camp_id') = ? ORDER BY code`, campID)
}

// RunningHours counts the distinct hourly buckets in [from, to) (zero: open)
// in which any of the sensors shows output above zero, reading only the
// (sensor_id, res, start) key range of each: a year of a generator's hours is
// counted without bringing its 8,760 rows to Go.
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
	lo, hi := microRange(from, to)
	args := make([]any, 0, len(sensorIDs)+3)
	for _, id := range sensorIDs {
		args = append(args, id)
	}
	q := `SELECT count(*) FROM sensor_rollups WHERE sensor_id = ? AND res = 3600 AND start >= ? AND start < ? AND max > 0`
	if len(sensorIDs) > 1 {
		q = `SELECT count(DISTINCT start) FROM sensor_rollups WHERE sensor_id IN (` + placeholders(len(sensorIDs)) + `) AND res = 3600 AND start >= ? AND start < ? AND max > 0`
	}
	var n int64
	if err := r.QueryRowContext(ctx, q, append(args, lo, hi)...).Scan(&n); err != nil {
		return 0, dbErr(err)
	}
	return float64(n), nil
}

// EnqueueWebhook stores d unless its key is stored already.
func (db *DB) EnqueueWebhook(ctx context.Context, d *bluehelm.WebhookDelivery) error {
	if d.Key == "" || d.URL == "" {
		return bluehelm.Invalid("key", "a webhook delivery needs a key and a URL")
	}
	next := *d
	next.CreatedAt, next.NextAt = truncMicros(next.CreatedAt), truncMicros(next.NextAt)
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_outbox (key, url, body, attempts, next_at, created_at) VALUES (?, ?, ?, 0, ?, ?)
			ON CONFLICT (key) DO NOTHING`, next.Key, next.URL, next.Body, next.NextAt.UnixMicro(), next.CreatedAt.UnixMicro()); err != nil {
			return dbErr(err)
		}
		return dbErr(tx.QueryRowContext(ctx, `SELECT id FROM webhook_outbox WHERE key = ?`, next.Key).Scan(&next.ID))
	})
	if err != nil {
		return fmt.Errorf("enqueue webhook: %w", err)
	}
	*d = next
	return nil
}

const outboxCols = `id, key, url, body, attempts, next_at, created_at, delivered_at, last_error`

func scanDelivery(s scanner) (bluehelm.WebhookDelivery, error) {
	var (
		d             bluehelm.WebhookDelivery
		next, created int64
		delivered     sql.NullInt64
	)
	if err := s.Scan(&d.ID, &d.Key, &d.URL, &d.Body, &d.Attempts, &next, &created, &delivered, &d.LastError); err != nil {
		return d, err
	}
	d.NextAt, d.CreatedAt = time.UnixMicro(next).UTC(), time.UnixMicro(created).UTC()
	if delivered.Valid {
		t := time.UnixMicro(delivered.Int64).UTC()
		d.DeliveredAt = &t
	}
	return d, nil
}

// DueWebhooks returns undelivered messages due at now, oldest first.
func (db *DB) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]bluehelm.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, `SELECT `+outboxCols+` FROM webhook_outbox WHERE delivered_at IS NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?`,
		[]any{truncMicros(now).UnixMicro(), limit}, scanDelivery)
}

// Webhook returns one outbox message.
func (db *DB) Webhook(ctx context.Context, id int64) (*bluehelm.WebhookDelivery, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	d, err := scanDelivery(r.QueryRowContext(ctx, `SELECT `+outboxCols+` FROM webhook_outbox WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("webhook delivery", id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return &d, nil
}

// WebhookDelivered marks a message acknowledged by its receiver.
func (db *DB) WebhookDelivered(ctx context.Context, id int64, at time.Time) error {
	return db.outboxUpdate(ctx, id, `UPDATE webhook_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`,
		truncMicros(at).UnixMicro(), id)
}

// WebhookFailed records a failed attempt.
func (db *DB) WebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	return db.outboxUpdate(ctx, id, `UPDATE webhook_outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ? AND delivered_at IS NULL`,
		attempts, truncMicros(next).UnixMicro(), reason, id)
}

func (db *DB) outboxUpdate(ctx context.Context, id int64, q string, args ...any) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return notFound("webhook delivery", id)
		}
		return nil
	})
}
