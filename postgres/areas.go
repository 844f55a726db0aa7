package postgres

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

// Areas are few (tens to hundreds) and read whole by the geofence engine, so
// they are documents without query columns or a spatial index.
var areaTable = &docTable[bluehelm.Area]{
	table: "areas",
	kind:  "area",
	ident: func(a *bluehelm.Area) (*int64, *int) { return &a.ID, &a.Version },
	row:   func(*bluehelm.Area) []any { return nil },
}

// CreateArea stores a as version 1, setting a.ID and a.Version.
func (db *DB) CreateArea(ctx context.Context, a *bluehelm.Area, e bluehelm.AuditEntry) error {
	return areaTable.create(ctx, db, a, e)
}

// UpdateArea stores a as version a.Version+1 if the stored version is still
// a.Version (ECONFLICT otherwise), and increments a.Version.
func (db *DB) UpdateArea(ctx context.Context, a *bluehelm.Area, e bluehelm.AuditEntry) error {
	return areaTable.update(ctx, db, a, e)
}

// DeleteArea deletes an area if it is still at version (ECONFLICT otherwise).
func (db *DB) DeleteArea(ctx context.Context, id int64, version int, e bluehelm.AuditEntry) error {
	return areaTable.delete(ctx, db, id, version, e)
}

// Area returns one area.
func (db *DB) Area(ctx context.Context, id int64) (*bluehelm.Area, error) {
	return areaTable.get(ctx, db, "id", id)
}

// Areas returns every area ordered by id.
func (db *DB) Areas(ctx context.Context) ([]*bluehelm.Area, error) {
	return areaTable.list(ctx, db, `SELECT id, version, doc FROM areas ORDER BY id`)
}
