package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// PutCampProfile creates (p.Version 0) or replaces (optimistic on p.Version)
// a camp's profile. Profiles are keyed by their camp area, not by an identity,
// so they are not a docTable.
func (db *DB) PutCampProfile(ctx context.Context, p *bluehelm.CampProfile, e bluehelm.AuditEntry) error {
	next := *p
	next.UpdatedAt = utc(next.UpdatedAt)
	was := p.Version
	next.Version = was + 1
	doc, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("postgres: encode camp profile: %w", err)
	}
	err = db.writeTx(ctx, func(tx pgx.Tx) error {
		var (
			n   int64
			err error
		)
		if was == 0 {
			tag, e := tx.Exec(ctx, `INSERT INTO camp_profiles (camp_id, version, doc) VALUES ($1, 1, $2) ON CONFLICT (camp_id) DO NOTHING`, next.CampID, doc)
			n, err = tag.RowsAffected(), e
		} else {
			tag, e := tx.Exec(ctx, `UPDATE camp_profiles SET version = $1, doc = $2 WHERE camp_id = $3 AND version = $4`, next.Version, doc, next.CampID, was)
			n, err = tag.RowsAffected(), e
		}
		if err != nil {
			return err
		}
		if n == 0 {
			var cur int
			err := tx.QueryRow(ctx, `SELECT version FROM camp_profiles WHERE camp_id = $1`, next.CampID).Scan(&cur)
			if errors.Is(err, pgx.ErrNoRows) {
				return notFound("camp profile", next.CampID)
			} else if err != nil {
				return err
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

func (db *DB) campProfiles(ctx context.Context, query string, args ...any) ([]*bluehelm.CampProfile, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []*bluehelm.CampProfile
	for rows.Next() {
		var (
			id      int64
			version int
			doc     []byte
		)
		if err := rows.Scan(&id, &version, &doc); err != nil {
			return nil, dbErr(err)
		}
		p := new(bluehelm.CampProfile)
		if err := json.Unmarshal(doc, p); err != nil {
			return nil, fmt.Errorf("postgres: camp profile %d: corrupt document: %w", id, err)
		}
		p.CampID, p.Version = id, version
		out = append(out, p)
	}
	return out, dbErr(rows.Err())
}

// CampProfile returns a camp's profile.
func (db *DB) CampProfile(ctx context.Context, campID int64) (*bluehelm.CampProfile, error) {
	ps, err := db.campProfiles(ctx, `SELECT camp_id, version, doc FROM camp_profiles WHERE camp_id = $1`, campID)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, notFound("camp profile", campID)
	}
	return ps[0], nil
}

// CampProfiles returns every profile by camp id.
func (db *DB) CampProfiles(ctx context.Context) ([]*bluehelm.CampProfile, error) {
	return db.campProfiles(ctx, `SELECT camp_id, version, doc FROM camp_profiles ORDER BY camp_id`)
}

var assets = &docTable[bluehelm.Asset]{
	table: "assets", kind: "asset",
	cols:  []string{"camp_id"},
	ident: func(a *bluehelm.Asset) (*int64, *int) { return &a.ID, &a.Version },
	row:   func(a *bluehelm.Asset) []any { return []any{a.CampID} },
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

// DeleteAsset deletes an asset still at version; its id is never given again.
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
	return assets.list(ctx, db, `SELECT id, version, doc FROM assets WHERE camp_id = $1 ORDER BY id`, campID)
}

// workOrderAutoKey names an automatic work order's asset, task and due
// reading; NULL for a manual one, which is never refused as a duplicate.
func workOrderAutoKey(w *bluehelm.WorkOrder) *string {
	if !w.Auto {
		return nil
	}
	k := strconv.FormatInt(w.AssetID, 10) + "\x1f" + w.Task + "\x1f" + strconv.FormatFloat(w.DueAtHours, 'f', 3, 64)
	k = strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "") // text may not hold NUL
	return &k
}

var workOrders = &docTable[bluehelm.WorkOrder]{
	table: "work_orders", kind: "work_order",
	cols:  []string{"camp_id", "asset_id", "status", "auto_key"},
	ident: func(w *bluehelm.WorkOrder) (*int64, *int) { return &w.ID, &w.Version },
	row: func(w *bluehelm.WorkOrder) []any {
		return []any{w.CampID, w.AssetID, string(w.Status), workOrderAutoKey(w)}
	},
	norm: func(w *bluehelm.WorkOrder) { w.CreatedAt, w.UpdatedAt = utc(w.CreatedAt), utc(w.UpdatedAt) },
	// Asking first gives a message naming the existing order; the UNIQUE
	// index stays the guarantee when two nodes' checks race.
	check: func(ctx context.Context, tx pgx.Tx, w *bluehelm.WorkOrder) error {
		k := workOrderAutoKey(w)
		if k == nil {
			return nil
		}
		var other int64
		err := tx.QueryRow(ctx, `SELECT id FROM work_orders WHERE auto_key = $1 AND id <> $2`, *k, w.ID).Scan(&other)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
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
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		if err := campUpdateDoc(ctx, tx, workOrders, &nw, w.Version); err != nil {
			return err
		}
		if err := campUpdateDoc(ctx, tx, assets, &na, a.Version); err != nil {
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

// campUpdateDoc writes v (already at its new version) over the row still at
// was, inside tx: docTable.update is a transaction of its own, and a
// completion writes two records in one.
func campUpdateDoc[T any](ctx context.Context, tx pgx.Tx, d *docTable[T], v *T, was int) error {
	idp, version := d.ident(v)
	vals, err := d.values(v)
	if err != nil {
		return err
	}
	set := []string{"version = $1"}
	for i, c := range append(d.cols[:len(d.cols):len(d.cols)], "doc") {
		set = append(set, c+" = $"+strconv.Itoa(i+2))
	}
	n := len(set)
	tag, err := tx.Exec(ctx, `UPDATE `+d.table+` SET `+strings.Join(set, ", ")+` WHERE id = $`+strconv.Itoa(n+1)+` AND version = $`+strconv.Itoa(n+2),
		append(append([]any{*version}, vals...), *idp, was)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
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
	q := `SELECT id, version, doc FROM work_orders WHERE true`
	var args []any
	if f.CampID != 0 {
		args = append(args, f.CampID)
		q += ` AND camp_id = $` + strconv.Itoa(len(args))
	}
	if f.AssetID != 0 {
		args = append(args, f.AssetID)
		q += ` AND asset_id = $` + strconv.Itoa(len(args))
	}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			st[i] = string(s)
		}
		args = append(args, st)
		q += ` AND status = ANY($` + strconv.Itoa(len(args)) + `)`
	}
	return workOrders.list(ctx, db, q+` ORDER BY id`, args...)
}

// EnqueueWebhook stores d unless its key is stored already, and sets d.ID to
// the stored message's id either way. Two nodes enqueueing one key at once:
// the second insert waits for the first to commit and then does nothing, and
// its next statement (a fresh read-committed snapshot) finds the first's row.
func (db *DB) EnqueueWebhook(ctx context.Context, d *bluehelm.WebhookDelivery) error {
	if d.Key == "" || d.URL == "" {
		return bluehelm.Invalid("key", "a webhook delivery needs a key and a URL")
	}
	next := *d
	next.CreatedAt, next.NextAt = utc(next.CreatedAt), utc(next.NextAt)
	body := next.Body
	if body == nil {
		body = []byte{}
	}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_outbox (key, url, body, attempts, next_at, created_at) VALUES ($1, $2, $3, 0, $4, $5)
			ON CONFLICT (key) DO NOTHING`, next.Key, next.URL, body, next.NextAt, next.CreatedAt); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id FROM webhook_outbox WHERE key = $1`, next.Key).Scan(&next.ID)
	})
	if err != nil {
		return fmt.Errorf("enqueue webhook: %w", err)
	}
	*d = next
	return nil
}

const outboxCols = `id, key, url, body, attempts, next_at, created_at, delivered_at, last_error`

func scanDeliveries(rows pgx.Rows) ([]bluehelm.WebhookDelivery, error) {
	defer rows.Close()
	var out []bluehelm.WebhookDelivery
	for rows.Next() {
		var (
			d         bluehelm.WebhookDelivery
			delivered *time.Time
		)
		if err := rows.Scan(&d.ID, &d.Key, &d.URL, &d.Body, &d.Attempts, &d.NextAt, &d.CreatedAt, &delivered, &d.LastError); err != nil {
			return nil, dbErr(err)
		}
		d.NextAt, d.CreatedAt = d.NextAt.UTC(), d.CreatedAt.UTC()
		if delivered != nil {
			t := delivered.UTC()
			d.DeliveredAt = &t
		}
		out = append(out, d)
	}
	return out, dbErr(rows.Err())
}

// DueWebhooks returns undelivered messages due at now, oldest first, through
// the partial index of undelivered messages.
func (db *DB) DueWebhooks(ctx context.Context, now time.Time, limit int) ([]bluehelm.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, `SELECT `+outboxCols+` FROM webhook_outbox WHERE delivered_at IS NULL AND next_at <= $1 ORDER BY next_at, id LIMIT $2`,
		utc(now), limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return scanDeliveries(rows)
}

// Webhook returns one outbox message.
func (db *DB) Webhook(ctx context.Context, id int64) (*bluehelm.WebhookDelivery, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, `SELECT `+outboxCols+` FROM webhook_outbox WHERE id = $1`, id)
	if err != nil {
		return nil, dbErr(err)
	}
	ds, err := scanDeliveries(rows)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, notFound("webhook delivery", id)
	}
	return &ds[0], nil
}

// WebhookDelivered marks a message acknowledged by its receiver.
func (db *DB) WebhookDelivered(ctx context.Context, id int64, at time.Time) error {
	return db.outboxUpdate(ctx, id, `UPDATE webhook_outbox SET delivered_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2`,
		utc(at), id)
}

// WebhookFailed records a failed attempt; a message delivered meanwhile (by
// another node's sender) stays delivered.
func (db *DB) WebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	return db.outboxUpdate(ctx, id, `UPDATE webhook_outbox SET attempts = $1, next_at = $2, last_error = $3 WHERE id = $4 AND delivered_at IS NULL`,
		attempts, utc(next), quarantineClip(reason, 1000), id)
}

func (db *DB) outboxUpdate(ctx context.Context, id int64, query string, args ...any) error {
	return db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("webhook delivery", id)
		}
		return nil
	})
}
