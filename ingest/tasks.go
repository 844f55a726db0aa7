package ingest

import (
	"context"
	"strings"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

// Dispatch is a request to send a unit somewhere: to an incident, to an alert, or
// to a place. The task's place, title and marking come from the incident or alert
// when one is named.
type Dispatch struct {
	IncidentID int64           `json:"incident_id,omitempty"`
	AlertID    int64           `json:"alert_id,omitempty"`
	Location   *bluehelm.Point `json:"location,omitempty"`
	Unit       string          `json:"unit"`
	Title      string          `json:"title,omitempty"`
	Note       string          `json:"note,omitempty"`
}

func (p *Pipeline) visibleTask(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Task, error) {
	t, err := p.store.Task(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(t.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "task %d not found", id)
	}
	return t, nil
}

// DispatchUnit creates a response task: the unit is sent, its ETA estimated from
// its nearest reporting track, and its progress then follows its positions.
func (p *Pipeline) DispatchUnit(ctx context.Context, by bluehelm.Principal, d Dispatch) (*bluehelm.Task, error) {
	if err := by.Require(bluehelm.ActDispatch); err != nil {
		return nil, p.reject("task", err)
	}
	now := p.now()
	t := &bluehelm.Task{Unit: strings.TrimSpace(d.Unit), Title: strings.TrimSpace(d.Title), Note: d.Note,
		Status: bluehelm.TaskAssigned, AssignedBy: by.Username, AssignedAt: now, UpdatedAt: now,
		Marking: bluehelm.Marking{Component: by.Component}}
	if by.System && t.Component == "" {
		t.Component = bluehelm.Military
	}
	// The place to go is the incident's or the alert's; a location given with an
	// alert that has none (a radio call) fills the gap.
	loc := d.Location
	switch {
	case d.IncidentID != 0 && d.AlertID != 0:
		return nil, p.reject("task", bluehelm.Invalid("alert_id", "name an incident or an alert, not both"))
	case d.IncidentID != 0:
		inc, err := p.visibleIncident(ctx, by, d.IncidentID)
		if err != nil {
			return nil, p.reject("task", bluehelm.PrefixField("incident_id", err))
		}
		t.IncidentID, loc, t.Marking, t.ReportedAt = inc.ID, &inc.Location, inc.Marking, inc.ReportedAt
		if t.Title == "" {
			t.Title = inc.Title
		}
	case d.AlertID != 0:
		a, err := p.store.Alert(ctx, d.AlertID)
		if err == nil && !by.CanSee(a.Marking) {
			err = bluehelm.Errorf(bluehelm.ENOTFOUND, "alert %d not found", d.AlertID)
		}
		if err != nil {
			return nil, p.reject("task", bluehelm.PrefixField("alert_id", err))
		}
		if a.Location != nil {
			loc = a.Location
		}
		t.AlertID, t.Marking, t.ReportedAt = a.ID, a.Marking, a.RaisedAt
		if t.Title == "" {
			t.Title = a.Title
		}
	}
	if loc == nil {
		return nil, p.reject("task", bluehelm.Invalid("location", "name an incident, an alert with a place, or a location"))
	}
	t.Location = *loc
	if err := t.Validate(); err != nil {
		return nil, p.reject("task", err)
	}
	if err := p.checkUnits(ctx, "unit", []string{t.Unit}); err != nil {
		return nil, p.reject("task", err)
	}
	u, err := p.store.UnitByCode(ctx, t.Unit)
	if err != nil {
		return nil, p.reject("task", err)
	}
	if eta, ok := p.estimateArrival(u, t.Location); ok {
		t.TrackUID, t.ETASeconds, t.DistanceMeters, t.ETAEstimated = eta.TrackUID, eta.ETASeconds, eta.DistanceMeters, eta.ETAEstimated
	}
	if err := p.store.CreateTask(ctx, t, p.audit(by, "task.dispatch", "", map[string]any{"unit": t.Unit, "incident_id": t.IncidentID, "alert_id": t.AlertID})); err != nil {
		return nil, p.reject("task", err)
	}
	p.monitor.SetTask(t)
	p.publishTask(t)
	return t, nil
}

// TaskAction moves task id along: en route, on scene, closed, cancelled.
func (p *Pipeline) TaskAction(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, a bluehelm.TaskAction, note string) (*bluehelm.Task, error) {
	t, err := p.visibleTask(ctx, by, id)
	if err != nil {
		return nil, p.reject("task", err)
	}
	if expectVersion != 0 && t.Version != expectVersion {
		return nil, p.reject("task", stale("task", id, t.Version, expectVersion))
	}
	if err := t.Transition(a, by, p.now(), note); err != nil {
		return nil, p.reject("task", err)
	}
	return t, p.storeTask(ctx, by, t, "task."+string(a))
}

func (p *Pipeline) storeTask(ctx context.Context, by bluehelm.Principal, t *bluehelm.Task, action string) error {
	t.UpdatedAt = p.now()
	if err := p.store.UpdateTask(ctx, t, p.audit(by, action, objectID("task", t.ID), map[string]any{"status": t.Status})); err != nil {
		return p.reject("task", err)
	}
	if t.Status.Open() {
		p.monitor.SetTask(t)
	} else {
		p.monitor.RemoveTask(t.ID)
	}
	p.publishTask(t)
	return nil
}

func (p *Pipeline) publishTask(t *bluehelm.Task) {
	p.out.Publish(live.Event{Layer: live.LayerOperations, Key: objectID("task", t.ID), Marking: t.Marking,
		Where: pointBox(t.Location), Data: encode("task", t)})
}
