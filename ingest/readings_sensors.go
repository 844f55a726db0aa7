package ingest

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

// Sensors and alarm rules are written through the pipeline like every other
// record: authorised (camp.manage), validated, stored with their audit entry,
// and then the alarm engine is rebuilt so that the change is in force for the
// next reading.

// checkSensor validates a sensor and that its camp (and zone) are areas.
func (p *Pipeline) checkSensor(ctx context.Context, by bluehelm.Principal, s *bluehelm.Sensor) error {
	if s.Component == "" {
		s.Component = by.Component
	}
	if s.Component == "" {
		s.Component = bluehelm.Support
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if !by.CanSee(s.Marking) {
		return bluehelm.Errorf(bluehelm.EFORBIDDEN, "you may not mark a sensor above your clearance or outside your component")
	}
	for _, x := range []struct {
		field string
		id    int64
		kind  bluehelm.AreaKind
	}{{"camp_id", s.CampID, bluehelm.AreaCamp}, {"zone_id", s.ZoneID, bluehelm.AreaCampZone}} {
		if x.id == 0 {
			continue
		}
		a, err := p.store.Area(ctx, x.id)
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return bluehelm.Invalid(x.field, "no area %d", x.id)
		} else if err != nil {
			return err
		}
		// The camp dashboard and perimeter correlation find sensors by their
		// camp and zone areas: a sensor placed in a patrol sector is lost.
		if a.Kind != x.kind {
			return bluehelm.Invalid(x.field, "area %d is a %s, not a %s", x.id, a.Kind, x.kind)
		}
	}
	return nil
}

// CreateSensor registers a sensor and returns its token, the only time it is
// shown: it is the MQTT password and the HTTP bearer token, stored hashed.
func (p *Pipeline) CreateSensor(ctx context.Context, by bluehelm.Principal, s *bluehelm.Sensor) (string, error) {
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return "", p.reject("sensor", err)
	}
	rp, err := p.readingPath(ctx)
	if err != nil {
		return "", err
	}
	now := p.now()
	s.ID, s.Version, s.CreatedAt, s.UpdatedAt = 0, 0, now, now
	if err := p.checkSensor(ctx, by, s); err != nil {
		return "", p.reject("sensor", err)
	}
	if err := p.store.CreateSensor(ctx, s, p.audit(by, "sensor.create", "", map[string]any{"code": s.Code, "kind": s.Kind})); err != nil {
		return "", p.reject("sensor", err)
	}
	token := newToken(s.ID)
	if err := p.store.SetSensorSecret(ctx, s.ID, bluehelm.HashSensorSecret(token), p.audit(by, "sensor.token", objectID("sensor", s.ID), nil)); err != nil {
		// The sensor exists without a token; rotating gives it one.
		rp.reload(ctx)
		return "", p.reject("sensor", err)
	}
	rp.reload(ctx)
	return token, nil
}

// UpdateSensor replaces sensor id if it is still at expectVersion. Disabling a
// sensor (Disabled) refuses its readings and its connections from then on.
func (p *Pipeline) UpdateSensor(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.Sensor) (*bluehelm.Sensor, error) {
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return nil, p.reject("sensor", err)
	}
	rp, err := p.readingPath(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := p.VisibleSensor(ctx, by, id)
	if err != nil {
		return nil, p.reject("sensor", err)
	}
	if cur.Version != expectVersion {
		return nil, p.reject("sensor", bluehelm.Errorf(bluehelm.ECONFLICT, "sensor %d is at version %d, not %d", id, cur.Version, expectVersion))
	}
	next.ID, next.Version, next.CreatedAt, next.UpdatedAt = cur.ID, cur.Version, cur.CreatedAt, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkSensor(ctx, by, next); err != nil {
		return nil, p.reject("sensor", err)
	}
	if err := p.store.UpdateSensor(ctx, next, p.audit(by, "sensor.update", objectID("sensor", id), map[string]any{"version": cur.Version + 1, "disabled": next.Disabled})); err != nil {
		return nil, p.reject("sensor", err)
	}
	rp.forget(cur.Code)
	rp.forget(next.Code)
	rp.reload(ctx)
	return next, nil
}

// RotateSensorToken gives sensor id a new token; the old one stops working at
// once (connections already open keep going until they reconnect).
func (p *Pipeline) RotateSensorToken(ctx context.Context, by bluehelm.Principal, id int64) (string, error) {
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return "", p.reject("sensor", err)
	}
	rp, err := p.readingPath(ctx)
	if err != nil {
		return "", err
	}
	s, err := p.VisibleSensor(ctx, by, id)
	if err != nil {
		return "", p.reject("sensor", err)
	}
	token := newToken(s.ID)
	if err := p.store.SetSensorSecret(ctx, s.ID, bluehelm.HashSensorSecret(token), p.audit(by, "sensor.token", objectID("sensor", s.ID), map[string]any{"rotated": true})); err != nil {
		return "", p.reject("sensor", err)
	}
	rp.forget(s.Code)
	return token, nil
}

// VisibleSensor loads a sensor and hides it from whoever may not see it.
func (p *Pipeline) VisibleSensor(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Sensor, error) {
	s, err := p.store.Sensor(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(s.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "sensor %d not found", id)
	}
	return s, nil
}

func (p *Pipeline) checkRule(ctx context.Context, r *bluehelm.AlarmRule) error {
	var s *bluehelm.Sensor
	if r.SensorID != 0 {
		var err error
		s, err = p.store.Sensor(ctx, r.SensorID)
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return bluehelm.Invalid("sensor_id", "unknown sensor %d", r.SensorID)
		} else if err != nil {
			return err
		}
	}
	return r.Validate(s)
}

// CreateAlarmRule stores a new alarm rule and puts it in force.
func (p *Pipeline) CreateAlarmRule(ctx context.Context, by bluehelm.Principal, r *bluehelm.AlarmRule) error {
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return p.reject("alarm_rule", err)
	}
	rp, err := p.readingPath(ctx)
	if err != nil {
		return err
	}
	r.ID, r.Version = 0, 0
	if err := p.checkRule(ctx, r); err != nil {
		return p.reject("alarm_rule", err)
	}
	if err := p.store.CreateAlarmRule(ctx, r, p.audit(by, "alarm_rule.create", "", map[string]any{"name": r.Name, "kind": r.Kind, "sensor_id": r.SensorID})); err != nil {
		return p.reject("alarm_rule", err)
	}
	rp.reload(ctx)
	return nil
}

// UpdateAlarmRule replaces rule id if it is still at expectVersion.
func (p *Pipeline) UpdateAlarmRule(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.AlarmRule) (*bluehelm.AlarmRule, error) {
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return nil, p.reject("alarm_rule", err)
	}
	rp, err := p.readingPath(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := p.AlarmRule(ctx, id)
	if err != nil {
		return nil, p.reject("alarm_rule", err)
	}
	if cur.Version != expectVersion {
		return nil, p.reject("alarm_rule", bluehelm.Errorf(bluehelm.ECONFLICT, "alarm rule %d is at version %d, not %d", id, cur.Version, expectVersion))
	}
	next.ID, next.Version = cur.ID, cur.Version
	if err := p.checkRule(ctx, next); err != nil {
		return nil, p.reject("alarm_rule", err)
	}
	if err := p.store.UpdateAlarmRule(ctx, next, p.audit(by, "alarm_rule.update", objectID("alarm_rule", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("alarm_rule", err)
	}
	rp.reload(ctx)
	return next, nil
}

// DeleteAlarmRule deletes rule id if it is still at expectVersion.
func (p *Pipeline) DeleteAlarmRule(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int) error {
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return p.reject("alarm_rule", err)
	}
	rp, err := p.readingPath(ctx)
	if err != nil {
		return err
	}
	cur, err := p.AlarmRule(ctx, id)
	if err != nil {
		return p.reject("alarm_rule", err)
	}
	if err := p.store.DeleteAlarmRule(ctx, id, expectVersion, p.audit(by, "alarm_rule.delete", objectID("alarm_rule", id), map[string]any{"name": cur.Name})); err != nil {
		return p.reject("alarm_rule", err)
	}
	rp.reload(ctx)
	return nil
}

// AlarmRule returns one rule (the store lists rules; there are few).
func (p *Pipeline) AlarmRule(ctx context.Context, id int64) (*bluehelm.AlarmRule, error) {
	rules, err := p.store.AlarmRules(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "alarm rule %d not found", id)
}
