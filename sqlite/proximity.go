package sqlite

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

// Proximity rules are few and read whole by the live monitor: documents only.
var proximityRules = &docTable[bluehelm.ProximityRule]{
	table: "proximity_rules", kind: "proximity_rule",
	ident:  func(r *bluehelm.ProximityRule) (*int64, *int) { return &r.ID, &r.Version },
	row:    func(*bluehelm.ProximityRule) []any { return nil },
	autoID: true,
}

// CreateProximityRule stores r as version 1, setting r.ID and r.Version.
func (db *DB) CreateProximityRule(ctx context.Context, r *bluehelm.ProximityRule, e bluehelm.AuditEntry) error {
	return proximityRules.create(ctx, db, r, e)
}

// UpdateProximityRule stores r as version r.Version+1 if the stored version is
// still r.Version (ECONFLICT otherwise), and increments r.Version.
func (db *DB) UpdateProximityRule(ctx context.Context, r *bluehelm.ProximityRule, e bluehelm.AuditEntry) error {
	return proximityRules.update(ctx, db, r, e)
}

// DeleteProximityRule deletes a rule if it is still at version (ECONFLICT
// otherwise).
func (db *DB) DeleteProximityRule(ctx context.Context, id int64, version int, e bluehelm.AuditEntry) error {
	return proximityRules.delete(ctx, db, id, version, e)
}

// ProximityRule returns one rule.
func (db *DB) ProximityRule(ctx context.Context, id int64) (*bluehelm.ProximityRule, error) {
	return proximityRules.get(ctx, db, "id", id)
}

// ProximityRules returns every rule, disabled ones included, ordered by id.
func (db *DB) ProximityRules(ctx context.Context) ([]*bluehelm.ProximityRule, error) {
	return proximityRules.list(ctx, db, `SELECT id, version, doc FROM proximity_rules ORDER BY id`)
}
