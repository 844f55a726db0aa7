package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Stock items are documents; their balance is a column beside the document,
// written only by movements, so that editing an item cannot undo a movement
// stored meanwhile (docTable's update writes the document columns only).
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
	err = r.QueryRow(ctx, `SELECT balance FROM stock_items WHERE id = $1`, itemID).Scan(&bal)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("stock item", itemID)
	}
	return bal, dbErr(err)
}

// AppendStockMovement stores m and the item's new balance in one transaction.
//
// The book must never go negative, and movements of one item come from
// several nodes at once (two storemen issuing diesel from the same farm). So
// the transaction first locks the item's row (SELECT … FOR UPDATE): a second
// movement of the item waits there until the first commits, and then — each
// statement of a read-committed transaction reading a fresh snapshot — sees
// its balance and its movement. The check and the write are thus one step per
// item, whatever node they run on; movements of other items do not wait.
//
// A movement at or after the item's latest is checked against the stored
// balance alone. A late entry (a voucher typed in days after the issue) is
// checked by replaying the item's book with it in place, because it changes
// every balance after it: an issue entered late may leave a later issue
// uncovered, and a count after it makes its effect vanish.
//
// Lock order: the item row, then the audit chain's advisory lock (taken last
// by every write), so movements cannot deadlock with other writes.
func (db *DB) AppendStockMovement(ctx context.Context, m *bluehelm.StockMovement, e bluehelm.AuditEntry) (float64, error) {
	if m == nil {
		return 0, bluehelm.Invalid("", "no movement")
	}
	next := *m
	next.Time = utc(next.Time)
	if err := next.Validate(time.Now()); err != nil {
		return 0, err
	}
	var bal float64
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		var stored float64
		err := tx.QueryRow(ctx, `SELECT balance FROM stock_items WHERE id = $1 FOR UPDATE`, next.ItemID).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("stock item", next.ItemID)
		}
		if err != nil {
			return err
		}
		var last *time.Time
		if err := tx.QueryRow(ctx, `SELECT max(t) FROM stock_movements WHERE item_id = $1`, next.ItemID).Scan(&last); err != nil {
			return err
		}
		if last == nil || !next.Time.Before(*last) {
			bal, err = next.Apply(stored)
		} else {
			bal, err = replayStock(ctx, tx, &next)
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO stock_movements (item_id, kind, quantity, t, by_user, note)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, next.ItemID, string(next.Kind), next.Quantity, next.Time, next.By, next.Note).Scan(&next.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE stock_items SET balance = $1 WHERE id = $2`, bal, next.ItemID); err != nil {
			return err
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
// or EINVALID when any balance on the way would be negative. The caller holds
// the item's row lock, so the book cannot change under the replay.
func replayStock(ctx context.Context, tx pgx.Tx, m *bluehelm.StockMovement) (float64, error) {
	movs, err := queryMovements(ctx, tx, `SELECT `+movementCols+` FROM stock_movements WHERE item_id = $1 ORDER BY t, id`, m.ItemID)
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

const movementCols = `id, item_id, kind, quantity, t, by_user, note`

func queryMovements(ctx context.Context, r q, query string, args ...any) ([]bluehelm.StockMovement, error) {
	rows, err := r.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bluehelm.StockMovement
	for rows.Next() {
		var (
			m    bluehelm.StockMovement
			kind string
		)
		if err := rows.Scan(&m.ID, &m.ItemID, &kind, &m.Quantity, &m.Time, &m.By, &m.Note); err != nil {
			return nil, err
		}
		m.Kind, m.Time = bluehelm.MovementKind(kind), m.Time.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// StockMovements returns the item's movements in [from, to) by time, then id
// (the order they were stored: ids are taken under the item's lock).
func (db *DB) StockMovements(ctx context.Context, itemID int64, from, to time.Time) ([]bluehelm.StockMovement, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	args := []any{itemID}
	out, err := queryMovements(ctx, r, `SELECT `+movementCols+` FROM stock_movements WHERE item_id = $1`+
		campTimeRange("t", from, to, &args)+` ORDER BY t, id`, args...)
	return out, dbErr(err)
}
