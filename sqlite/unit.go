package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/bluehelm/bluehelm"
)

// Units are few (tens to hundreds) and read whole by dispatch and the planner,
// so they are documents with only the code as a column: it is unique, and it is
// how patrols and tasks name a unit.
var units = &docTable[bluehelm.Unit]{
	table: "units", kind: "unit",
	cols:  []string{"code"},
	ident: func(u *bluehelm.Unit) (*int64, *int) { return &u.ID, &u.Version },
	row:   func(u *bluehelm.Unit) []any { return []any{u.Code} },
	// The unique index would refuse a taken code too; asking first gives the
	// person a message that names the unit holding it.
	check: func(ctx context.Context, tx *sql.Tx, u *bluehelm.Unit) error {
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM units WHERE code = ? AND id != ?`, u.Code, u.ID).Scan(&other)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return dbErr(err)
		}
		return bluehelm.Errorf(bluehelm.ECONFLICT, "unit code %q is already used by unit %d", u.Code, other)
	},
}

// CreateUnit stores u as version 1, setting u.ID and u.Version. A code another
// unit has is ECONFLICT.
func (db *DB) CreateUnit(ctx context.Context, u *bluehelm.Unit, e bluehelm.AuditEntry) error {
	return units.create(ctx, db, u, e)
}

// UpdateUnit stores u as version u.Version+1 if the stored version is still
// u.Version (ECONFLICT otherwise), and increments u.Version.
func (db *DB) UpdateUnit(ctx context.Context, u *bluehelm.Unit, e bluehelm.AuditEntry) error {
	return units.update(ctx, db, u, e)
}

// Unit returns one unit.
func (db *DB) Unit(ctx context.Context, id int64) (*bluehelm.Unit, error) {
	return units.get(ctx, db, "id", id)
}

// UnitByCode returns the unit with that code (exactly, case included).
func (db *DB) UnitByCode(ctx context.Context, code string) (*bluehelm.Unit, error) {
	return units.get(ctx, db, "code", code)
}

// Units returns every unit, disabled ones included, ordered by code.
func (db *DB) Units(ctx context.Context) ([]*bluehelm.Unit, error) {
	return units.list(ctx, db, `SELECT id, version, doc FROM units ORDER BY code`)
}
