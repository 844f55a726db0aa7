package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

// loadOperations arms the monitor with what the store holds: units, the patrols
// that are approved or underway, the open tasks and the proximity rules.
func (p *Pipeline) loadOperations(ctx context.Context) error {
	sys := bluehelm.SystemPrincipal("monitor")
	units, err := p.store.Units(ctx)
	if err != nil {
		return err
	}
	for _, u := range units {
		p.monitor.SetUnit(u)
	}
	patrols, err := p.store.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys,
		Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolApproved, bluehelm.PatrolUnderway}, Limit: 5000})
	if err != nil {
		return err
	}
	for _, pt := range patrols {
		p.monitor.SetPatrol(pt)
	}
	tasks, err := p.store.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys,
		Statuses: []bluehelm.TaskStatus{bluehelm.TaskAssigned, bluehelm.TaskEnRoute, bluehelm.TaskOnScene}, Limit: 5000})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		p.monitor.SetTask(t)
	}
	rules, err := p.store.ProximityRules(ctx)
	if err != nil {
		return err
	}
	for _, r := range rules {
		p.monitor.SetProximityRule(r)
	}
	return nil
}

// handleFinding acts on what the monitor found: a task's unit leaving or
// arriving moves the task along; a patrol condition or a proximity raises an
// alert (once while it is open). A condition that cleared (back on route,
// reporting again) raises nothing: the alert stays for a person to resolve,
// since why the patrol was off route or silent still needs asking.
func (p *Pipeline) handleFinding(ctx context.Context, f live.Finding) {
	if f.Cleared {
		return
	}
	switch f.Kind {
	case live.FindEnRoute, live.FindOnScene:
		p.advanceTask(ctx, f)
		return
	}
	a := &bluehelm.Alert{Source: bluehelm.AlertPatrol, Rule: string(f.Kind), Severity: f.Severity, Title: f.Text, Location: f.Where,
		TrackUID: f.UID, AreaID: f.AreaID, PatrolID: f.PatrolID, Marking: f.Marking}
	if f.Kind == live.FindProximity {
		a.Source = bluehelm.AlertProximity
	}
	if a.Severity == "" {
		a.Severity = bluehelm.SevWarning
	}
	a.Detail = fmt.Sprintf("%s (%s at %s).", f.Text, f.Kind, f.At.UTC().Format("2006-01-02 15:04:05Z"))
	if len(a.Title) > 200 {
		a.Title = a.Title[:197] + "…"
	}
	p.raiseOnce(ctx, "monitor", a)
}

// advanceTask records a task's unit leaving or arriving, at the time of the
// position that showed it.
func (p *Pipeline) advanceTask(ctx context.Context, f live.Finding) {
	sys := bluehelm.SystemPrincipal("monitor")
	t, err := p.store.Task(ctx, f.TaskID)
	if err != nil {
		p.log.Error("loading task for a monitor finding", "err", err, "task", f.TaskID)
		return
	}
	a := bluehelm.TaskDepart
	if f.Kind == live.FindOnScene {
		a = bluehelm.TaskArrive
	}
	// A step is never dated before the dispatch or the step before it: a position
	// reported late (store and forward, a slow device clock) may be older than
	// the task, and the arrival is interpolated back from the fix that showed it,
	// while response times must not come out negative.
	at := f.At
	for _, floor := range []time.Time{t.AssignedAt, t.EnRouteAt} {
		if at.Before(floor) {
			at = floor
		}
	}
	if err := t.Transition(a, sys, at, ""); err != nil {
		// Someone already recorded it (the unit radioed in first): nothing to do.
		p.log.Debug("task step from positions not applied", "task", t.ID, "step", a, "err", err)
		return
	}
	if err := p.storeTask(ctx, sys, t, "task."+string(a)); err != nil {
		p.log.Error("recording task step from positions", "err", err, "task", t.ID)
	}
}
