package ingest

import (
	"context"
	"fmt"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

func (p *Pipeline) checkArea(by bluehelm.Principal, a *bluehelm.Area) error {
	if a.Component == "" {
		a.Component = by.Component
	}
	if err := a.Validate(); err != nil {
		return err
	}
	if !by.CanSee(a.Marking) {
		return bluehelm.Errorf(bluehelm.EFORBIDDEN, "you may not mark an area above your clearance or outside your component")
	}
	return nil
}

// CreateArea stores a new area and arms its geofence rules.
func (p *Pipeline) CreateArea(ctx context.Context, by bluehelm.Principal, a *bluehelm.Area) error {
	if err := by.Require(bluehelm.ActWriteArea); err != nil {
		return p.reject("area", err)
	}
	now := p.now()
	a.ID, a.Version, a.CreatedBy, a.CreatedAt, a.UpdatedAt = 0, 0, by.Username, now, now
	if err := p.checkArea(by, a); err != nil {
		return p.reject("area", err)
	}
	if err := p.store.CreateArea(ctx, a, p.audit(by, "area.create", "", map[string]any{"name": a.Name, "kind": a.Kind})); err != nil {
		return p.reject("area", err)
	}
	p.fence.SetArea(a)
	p.monitor.SetArea(a)
	p.publishArea("area", a)
	return nil
}

// UpdateArea replaces area id if it is still at expectVersion.
func (p *Pipeline) UpdateArea(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.Area) (*bluehelm.Area, error) {
	if err := by.Require(bluehelm.ActWriteArea); err != nil {
		return nil, p.reject("area", err)
	}
	cur, err := p.visibleArea(ctx, by, id)
	if err != nil {
		return nil, p.reject("area", err)
	}
	if cur.Version != expectVersion {
		return nil, p.reject("area", bluehelm.Errorf(bluehelm.ECONFLICT, "area %d is at version %d, not %d", id, cur.Version, expectVersion))
	}
	next.ID, next.Version, next.CreatedBy, next.CreatedAt, next.UpdatedAt = cur.ID, cur.Version, cur.CreatedBy, cur.CreatedAt, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkArea(by, next); err != nil {
		return nil, p.reject("area", err)
	}
	if err := p.store.UpdateArea(ctx, next, p.audit(by, "area.update", objectID("area", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("area", err)
	}
	p.fence.SetArea(next)
	p.monitor.SetArea(next)
	p.publishArea("area", next)
	return next, nil
}

// DeleteArea removes area id if it is still at expectVersion.
func (p *Pipeline) DeleteArea(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int) error {
	if err := by.Require(bluehelm.ActWriteArea); err != nil {
		return p.reject("area", err)
	}
	cur, err := p.visibleArea(ctx, by, id)
	if err != nil {
		return p.reject("area", err)
	}
	if err := p.store.DeleteArea(ctx, id, expectVersion, p.audit(by, "area.delete", objectID("area", id), map[string]any{"name": cur.Name})); err != nil {
		return p.reject("area", err)
	}
	p.fence.RemoveArea(id)
	p.monitor.RemoveArea(id)
	p.out.Publish(live.Event{Layer: live.LayerAreas, Key: objectID("area", id), Marking: cur.Marking,
		Where: cur.Geometry.Bound(), Data: encode("area.deleted", map[string]int64{"id": id})})
	return nil
}

func (p *Pipeline) visibleArea(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Area, error) {
	a, err := p.store.Area(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(a.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "area %d not found", id)
	}
	return a, nil
}

func (p *Pipeline) publishArea(typ string, a *bluehelm.Area) {
	p.out.Publish(live.Event{Layer: live.LayerAreas, Key: objectID("area", a.ID), Marking: a.Marking,
		Where: a.Geometry.Bound(), Data: encode(typ, a)})
}

// RaiseAlert stores and fans out a new alert raised by a person (emergency, manual)
// or by the system (rules).
func (p *Pipeline) RaiseAlert(ctx context.Context, by bluehelm.Principal, a *bluehelm.Alert) error {
	if err := by.Require(bluehelm.ActRaiseAlert); err != nil {
		return p.reject("alert", err)
	}
	now := p.now()
	a.ID, a.Version, a.State, a.RaisedAt, a.RaisedBy = 0, 0, bluehelm.AlertOpen, now, by.Username
	a.AckBy, a.AckAt, a.ResolvedBy, a.ResolvedAt, a.Resolution = "", nil, "", nil, ""
	// Escalation is the escalator's to record, never the raiser's to claim.
	a.Escalation, a.EscalatedTo, a.EscalatedAt = 0, "", nil
	if a.Component == "" {
		a.Component = by.Component
	}
	if err := a.Validate(); err != nil {
		return p.reject("alert", err)
	}
	if !by.CanSee(a.Marking) {
		return p.reject("alert", bluehelm.Errorf(bluehelm.EFORBIDDEN, "you may not mark an alert above your clearance or outside your component"))
	}
	if err := p.store.CreateAlert(ctx, a, p.audit(by, "alert.raise", "", map[string]any{"title": a.Title, "severity": a.Severity, "source": a.Source})); err != nil {
		return p.reject("alert", err)
	}
	p.m.alerts.Inc()
	p.publishAlert(a)
	return nil
}

// AcknowledgeAlert and ResolveAlert move an alert along; expectVersion guards against
// two officers acting on the same alert at once.
func (p *Pipeline) AcknowledgeAlert(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int) (*bluehelm.Alert, error) {
	return p.changeAlert(ctx, by, id, expectVersion, "alert.acknowledge", func(a *bluehelm.Alert) error {
		return a.Acknowledge(by, p.now())
	})
}

func (p *Pipeline) ResolveAlert(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, resolution string) (*bluehelm.Alert, error) {
	return p.changeAlert(ctx, by, id, expectVersion, "alert.resolve", func(a *bluehelm.Alert) error {
		return a.Resolve(by, p.now(), resolution)
	})
}

func (p *Pipeline) changeAlert(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, action string, change func(*bluehelm.Alert) error) (*bluehelm.Alert, error) {
	a, err := p.store.Alert(ctx, id)
	if err != nil {
		return nil, p.reject("alert", err)
	}
	if !by.CanSee(a.Marking) {
		return nil, p.reject("alert", bluehelm.Errorf(bluehelm.ENOTFOUND, "alert %d not found", id))
	}
	if expectVersion != 0 && a.Version != expectVersion {
		return nil, p.reject("alert", bluehelm.Errorf(bluehelm.ECONFLICT, "alert %d is at version %d, not %d: someone else acted on it", id, a.Version, expectVersion))
	}
	if err := change(a); err != nil {
		return nil, p.reject("alert", err)
	}
	if err := p.store.UpdateAlert(ctx, a, p.audit(by, action, objectID("alert", id), map[string]any{"state": a.State})); err != nil {
		return nil, p.reject("alert", err)
	}
	p.publishAlert(a)
	return a, nil
}

func (p *Pipeline) publishAlert(a *bluehelm.Alert) {
	where := bluehelm.World
	if a.Location != nil {
		where = pointBox(*a.Location)
	}
	p.out.Publish(live.Event{Layer: live.LayerAlerts, Key: objectID("alert", a.ID), Marking: a.Marking,
		Where: where, Data: encode("alert", a)})
}

// raiseCrossing turns a geofence crossing into an alert. The alert reveals both the
// track and the area, so it carries a marking only those who may see both can see.
func (p *Pipeline) raiseCrossing(ctx context.Context, c live.Crossing) {
	name := c.State.Callsign
	if name == "" {
		name = c.State.UID
	}
	verb := map[bluehelm.Trigger]string{bluehelm.TriggerEnter: "entered", bluehelm.TriggerExit: "left", bluehelm.TriggerDwell: "is staying in"}[c.Rule.Trigger]
	// Where the outline was crossed, not where the track is now: a fast vehicle may
	// already be well past a small fence.
	pt := c.Where
	a := &bluehelm.Alert{
		Source: bluehelm.AlertGeofence, Rule: string(c.Rule.Trigger), Severity: c.Rule.Severity,
		Title:    fmt.Sprintf("%s %s %s", name, verb, c.Area.Name),
		Detail:   fmt.Sprintf("%s (%s) %s %s %q at %s.", name, c.State.Kind, verb, c.Area.Kind, c.Area.Name, c.At.UTC().Format("2006-01-02 15:04:05Z")),
		Location: &pt, TrackUID: c.State.UID, AreaID: c.Area.ID,
	}
	m, ok := bluehelm.Combine(c.State.Marking, c.Area.Marking)
	if !ok {
		// Nobody may see both the track and the area: tell the track's people that it
		// crossed a rule, without naming the area they may not know about.
		m = c.State.Marking
		a.Title = fmt.Sprintf("%s %s a controlled area", name, verb)
		a.Detail, a.AreaID = "", 0
	}
	a.Marking = m
	// One open alert per track, area and rule is enough: a patrol shuttling through a
	// no-go area, or dwell clocks restarted after a restart, must not bury the duty
	// officer in copies of an alert nobody has resolved yet.
	p.raiseOnce(ctx, "geofence", a)
}

// RaiseRuleAlert raises an alert of a rule (the early-warning service's)
// unless the same one is still open or acknowledged: see raiseOnce.
func (p *Pipeline) RaiseRuleAlert(ctx context.Context, rule string, a *bluehelm.Alert) {
	p.raiseOnce(ctx, rule, a)
}

// raiseOnce raises a rule's alert unless the same one (source, rule, key, track,
// area, patrol and incident; the title too for alerts without a rule) is still
// open or acknowledged.
func (p *Pipeline) raiseOnce(ctx context.Context, rule string, a *bluehelm.Alert) {
	by := bluehelm.SystemPrincipal(rule)
	open, err := p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: by,
		States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 1000})
	if err != nil {
		p.log.Error("checking open alerts", "err", err, "rule", rule)
	}
	for _, o := range open {
		if o.Source == a.Source && o.Rule == a.Rule && o.Key == a.Key && o.TrackUID == a.TrackUID && o.AreaID == a.AreaID &&
			o.PatrolID == a.PatrolID && o.IncidentID == a.IncidentID && (a.Rule != "" || o.Title == a.Title) {
			return
		}
	}
	if err := p.RaiseAlert(ctx, by, a); err != nil {
		p.log.Error("raising alert", "err", err, "rule", rule, "title", a.Title)
	}
}
