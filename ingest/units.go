package ingest

import (
	"context"
	"strconv"

	"github.com/bluehelm/bluehelm"
)

// CreateUnit registers a unit that patrols and tasks can be assigned to.
func (p *Pipeline) CreateUnit(ctx context.Context, by bluehelm.Principal, u *bluehelm.Unit) error {
	if err := by.Require(bluehelm.ActManageUnits); err != nil {
		return p.reject("unit", err)
	}
	u.ID, u.Version, u.UpdatedBy, u.UpdatedAt = 0, 0, by.Username, p.now()
	if err := p.checkMarked(by, &u.Marking, u.Validate); err != nil {
		return p.reject("unit", err)
	}
	if err := p.store.CreateUnit(ctx, u, p.audit(by, "unit.create", "", map[string]any{"code": u.Code})); err != nil {
		return p.reject("unit", err)
	}
	p.monitor.SetUnit(u)
	return nil
}

// UpdateUnit replaces unit id if it is still at expectVersion. The code may not
// change: patrols and tasks on record name the unit by it.
func (p *Pipeline) UpdateUnit(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.Unit) (*bluehelm.Unit, error) {
	cur, err := current(ctx, by, bluehelm.ActManageUnits, "unit", id, expectVersion, p.store.Unit,
		func(u *bluehelm.Unit) (int, bluehelm.Marking) { return u.Version, u.Marking })
	if err != nil {
		return nil, p.reject("unit", err)
	}
	if next.Code != cur.Code {
		return nil, p.reject("unit", bluehelm.Invalid("code", "a unit's code cannot change (it is %q): register a new unit and disable this one", cur.Code))
	}
	next.ID, next.Version, next.UpdatedBy, next.UpdatedAt = cur.ID, cur.Version, by.Username, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkMarked(by, &next.Marking, next.Validate); err != nil {
		return nil, p.reject("unit", err)
	}
	if err := p.store.UpdateUnit(ctx, next, p.audit(by, "unit.update", objectID("unit", id), map[string]any{"version": cur.Version + 1, "disabled": next.Disabled})); err != nil {
		return nil, p.reject("unit", err)
	}
	p.monitor.SetUnit(next)
	return next, nil
}

// CreateFacility registers a medical facility.
func (p *Pipeline) CreateFacility(ctx context.Context, by bluehelm.Principal, f *bluehelm.MedicalFacility) error {
	if err := by.Require(bluehelm.ActManageMedical); err != nil {
		return p.reject("facility", err)
	}
	f.ID, f.Version, f.UpdatedBy, f.UpdatedAt = 0, 0, by.Username, p.now()
	if err := p.checkMarked(by, &f.Marking, f.Validate); err != nil {
		return p.reject("facility", err)
	}
	if err := p.store.CreateFacility(ctx, f, p.audit(by, "facility.create", "", map[string]any{"name": f.Name, "level": f.Level})); err != nil {
		return p.reject("facility", err)
	}
	return nil
}

// UpdateFacility replaces facility id if it is still at expectVersion.
func (p *Pipeline) UpdateFacility(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.MedicalFacility) (*bluehelm.MedicalFacility, error) {
	cur, err := current(ctx, by, bluehelm.ActManageMedical, "medical facility", id, expectVersion, p.store.Facility,
		func(f *bluehelm.MedicalFacility) (int, bluehelm.Marking) { return f.Version, f.Marking })
	if err != nil {
		return nil, p.reject("facility", err)
	}
	next.ID, next.Version, next.UpdatedBy, next.UpdatedAt = cur.ID, cur.Version, by.Username, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkMarked(by, &next.Marking, next.Validate); err != nil {
		return nil, p.reject("facility", err)
	}
	if err := p.store.UpdateFacility(ctx, next, p.audit(by, "facility.update", objectID("facility", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("facility", err)
	}
	return next, nil
}

// checkMarked defaults a record's component to the writer's, validates it, and
// refuses a marking the writer could not read back.
func (p *Pipeline) checkMarked(by bluehelm.Principal, m *bluehelm.Marking, validate func() error) error {
	if m.Component == "" {
		m.Component = by.Component
		if by.System && m.Component == "" {
			m.Component = bluehelm.Military
		}
	}
	if err := validate(); err != nil {
		return err
	}
	if !by.CanSee(*m) {
		return bluehelm.Errorf(bluehelm.EFORBIDDEN, "you may not mark a record above your clearance or outside your component")
	}
	return nil
}

// stale is the ECONFLICT of an optimistic write against an older version.
func stale(kind string, id int64, have, want int) error {
	return bluehelm.Errorf(bluehelm.ECONFLICT, "%s %s is at version %d, not %d: someone else changed it", kind, strconv.FormatInt(id, 10), have, want)
}

// CreateProximityRule stores a proximity (roaming geofence) rule and arms it.
// Writing rules that raise alerts is the geofence writers' right.
func (p *Pipeline) CreateProximityRule(ctx context.Context, by bluehelm.Principal, r *bluehelm.ProximityRule) error {
	if err := by.Require(bluehelm.ActWriteArea); err != nil {
		return p.reject("proximity_rule", err)
	}
	now := p.now()
	r.ID, r.Version, r.CreatedBy, r.CreatedAt, r.UpdatedAt = 0, 0, by.Username, now, now
	if err := p.checkMarked(by, &r.Marking, r.Validate); err != nil {
		return p.reject("proximity_rule", err)
	}
	if err := p.store.CreateProximityRule(ctx, r, p.audit(by, "proximity_rule.create", "", map[string]any{"name": r.Name})); err != nil {
		return p.reject("proximity_rule", err)
	}
	p.monitor.SetProximityRule(r)
	return nil
}

// UpdateProximityRule replaces rule id if it is still at expectVersion.
func (p *Pipeline) UpdateProximityRule(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.ProximityRule) (*bluehelm.ProximityRule, error) {
	cur, err := p.visibleRule(ctx, by, id, expectVersion)
	if err != nil {
		return nil, p.reject("proximity_rule", err)
	}
	next.ID, next.Version, next.CreatedBy, next.CreatedAt, next.UpdatedAt = cur.ID, cur.Version, cur.CreatedBy, cur.CreatedAt, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkMarked(by, &next.Marking, next.Validate); err != nil {
		return nil, p.reject("proximity_rule", err)
	}
	if err := p.store.UpdateProximityRule(ctx, next, p.audit(by, "proximity_rule.update", objectID("proximity_rule", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("proximity_rule", err)
	}
	p.monitor.SetProximityRule(next)
	return next, nil
}

// DeleteProximityRule removes rule id if it is still at expectVersion.
func (p *Pipeline) DeleteProximityRule(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int) error {
	cur, err := p.visibleRule(ctx, by, id, expectVersion)
	if err != nil {
		return p.reject("proximity_rule", err)
	}
	if err := p.store.DeleteProximityRule(ctx, id, expectVersion, p.audit(by, "proximity_rule.delete", objectID("proximity_rule", id), map[string]any{"name": cur.Name})); err != nil {
		return p.reject("proximity_rule", err)
	}
	p.monitor.RemoveProximityRule(id)
	return nil
}

func (p *Pipeline) visibleRule(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int) (*bluehelm.ProximityRule, error) {
	return current(ctx, by, bluehelm.ActWriteArea, "proximity rule", id, expectVersion, p.store.ProximityRule,
		func(r *bluehelm.ProximityRule) (int, bluehelm.Marking) { return r.Version, r.Marking })
}

// current loads record id for a change by `by`, who needs the right act: it is
// hidden (ENOTFOUND) from whoever may not see it, so that its existence does not
// leak, and ECONFLICT when it is no longer at expectVersion.
func current[T any](ctx context.Context, by bluehelm.Principal, act bluehelm.Action, kind string, id int64, expectVersion int,
	load func(context.Context, int64) (*T, error), meta func(*T) (int, bluehelm.Marking)) (*T, error) {
	if err := by.Require(act); err != nil {
		return nil, err
	}
	cur, err := load(ctx, id)
	if err != nil {
		return nil, err
	}
	version, m := meta(cur)
	if !by.CanSee(m) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "%s %d not found", kind, id)
	}
	if version != expectVersion {
		return nil, stale(kind, id, version, expectVersion)
	}
	return cur, nil
}
