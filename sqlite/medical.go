package sqlite

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

// Medical facilities are a small registry read whole by the route risk
// assessment and CASEVAC, so they are documents with only the name as a column
// (the order they are listed in).
var facilities = &docTable[bluehelm.MedicalFacility]{
	table: "medical_facilities", kind: "facility",
	cols:  []string{"name"},
	ident: func(f *bluehelm.MedicalFacility) (*int64, *int) { return &f.ID, &f.Version },
	row:   func(f *bluehelm.MedicalFacility) []any { return []any{f.Name} },
}

// CreateFacility stores f as version 1, setting f.ID and f.Version.
func (db *DB) CreateFacility(ctx context.Context, f *bluehelm.MedicalFacility, e bluehelm.AuditEntry) error {
	return facilities.create(ctx, db, f, e)
}

// UpdateFacility stores f as version f.Version+1 if the stored version is
// still f.Version (ECONFLICT otherwise), and increments f.Version.
func (db *DB) UpdateFacility(ctx context.Context, f *bluehelm.MedicalFacility, e bluehelm.AuditEntry) error {
	return facilities.update(ctx, db, f, e)
}

// Facility returns one facility.
func (db *DB) Facility(ctx context.Context, id int64) (*bluehelm.MedicalFacility, error) {
	return facilities.get(ctx, db, "id", id)
}

// Facilities returns every facility, out of service ones included, ordered by
// name (ties by id).
func (db *DB) Facilities(ctx context.Context) ([]*bluehelm.MedicalFacility, error) {
	return facilities.list(ctx, db, `SELECT id, version, doc FROM medical_facilities ORDER BY name, id`)
}
