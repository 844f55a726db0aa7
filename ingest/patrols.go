package ingest

import (
	"context"
	"strconv"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

// visiblePatrol loads a patrol and hides it (ENOTFOUND) from whoever may not see it.
func (p *Pipeline) visiblePatrol(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Patrol, error) {
	pt, err := p.store.Patrol(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(pt.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "patrol %d not found", id)
	}
	return pt, nil
}

// checkUnits refuses a patrol or task assigned to a unit that is not registered or
// is disabled: a plan naming a unit that cannot go is not a plan.
func (p *Pipeline) checkUnits(ctx context.Context, field string, codes []string) error {
	for i, c := range codes {
		f := field
		if len(codes) > 1 || field == "units" {
			f = field + "[" + strconv.Itoa(i) + "]"
		}
		u, err := p.store.UnitByCode(ctx, c)
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return bluehelm.Invalid(f, "unknown unit %q", c)
		}
		if err != nil {
			return err
		}
		if u.Disabled {
			return bluehelm.Invalid(f, "unit %q is disabled and cannot be assigned", c)
		}
	}
	return nil
}

// CreatePatrol files a patrol plan as a draft, with the risk of its route.
func (p *Pipeline) CreatePatrol(ctx context.Context, by bluehelm.Principal, pt *bluehelm.Patrol) error {
	if err := by.Require(bluehelm.ActPlanPatrol); err != nil {
		return p.reject("patrol", err)
	}
	now := p.now()
	*pt = bluehelm.Patrol{
		Name: pt.Name, Type: pt.Type, Units: pt.Units, TrackUIDs: pt.TrackUIDs, Strength: pt.Strength, Women: pt.Women,
		Route: pt.Route, PlannedStart: pt.PlannedStart.UTC(), PlannedEnd: pt.PlannedEnd.UTC(), CheckInMinutes: pt.CheckInMinutes,
		DeviationMeters: pt.DeviationMeters, Purpose: pt.Purpose, Marking: pt.Marking,
		Status: bluehelm.PatrolDraft, PlannedBy: by.Username, CreatedAt: now, UpdatedAt: now,
	}
	if err := p.checkMarked(by, &pt.Marking, pt.Validate); err != nil {
		return p.reject("patrol", err)
	}
	if err := p.checkUnits(ctx, "units", pt.Units); err != nil {
		return p.reject("patrol", err)
	}
	risk, err := p.AssessRoute(ctx, by, pt.RouteLine(), pt.PlannedStart, pt.PlannedEnd)
	if err != nil {
		return p.reject("patrol", err)
	}
	pt.Risk = risk
	if err := p.store.CreatePatrol(ctx, pt, p.audit(by, "patrol.create", "", map[string]any{"name": pt.Name, "units": pt.Units})); err != nil {
		return p.reject("patrol", err)
	}
	p.publishPatrol(pt)
	return nil
}

// UpdatePatrol changes the plan of patrol id if it is still at expectVersion. A
// submitted plan that changes returns to draft.
func (p *Pipeline) UpdatePatrol(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.Patrol) (*bluehelm.Patrol, error) {
	cur, err := p.visiblePatrol(ctx, by, id)
	if err != nil {
		return nil, p.reject("patrol", err)
	}
	if cur.Version != expectVersion {
		return nil, p.reject("patrol", stale("patrol", id, cur.Version, expectVersion))
	}
	if err := cur.CanEdit(by); err != nil {
		return nil, p.reject("patrol", err)
	}
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	next.PlannedStart, next.PlannedEnd = next.PlannedStart.UTC(), next.PlannedEnd.UTC()
	cur.ApplyEdit(next)
	cur.UpdatedAt = p.now()
	if err := p.checkMarked(by, &cur.Marking, cur.Validate); err != nil {
		return nil, p.reject("patrol", err)
	}
	if err := p.checkUnits(ctx, "units", cur.Units); err != nil {
		return nil, p.reject("patrol", err)
	}
	if cur.Risk, err = p.AssessRoute(ctx, by, cur.RouteLine(), cur.PlannedStart, cur.PlannedEnd); err != nil {
		return nil, p.reject("patrol", err)
	}
	if err := p.store.UpdatePatrol(ctx, cur, p.audit(by, "patrol.update", objectID("patrol", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("patrol", err)
	}
	p.publishPatrol(cur)
	return cur, nil
}

// PatrolAction moves patrol id along its workflow. An approval stores the route's
// risk as assessed at that moment, so the record shows what the approver saw.
// expectVersion 0 skips the version check (a patrol leader pressing "start"
// should not fail because the JOC just edited the purpose; the workflow rules
// still apply to the stored state).
func (p *Pipeline) PatrolAction(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, action bluehelm.PatrolAction, reason string) (*bluehelm.Patrol, error) {
	pt, err := p.visiblePatrol(ctx, by, id)
	if err != nil {
		return nil, p.reject("patrol", err)
	}
	if expectVersion != 0 && pt.Version != expectVersion {
		return nil, p.reject("patrol", stale("patrol", id, pt.Version, expectVersion))
	}
	now := p.now()
	var risk *bluehelm.RiskReport
	if action == bluehelm.PatrolApprove {
		if risk, err = p.AssessRoute(ctx, by, pt.RouteLine(), pt.PlannedStart, pt.PlannedEnd); err != nil {
			return nil, p.reject("patrol", err)
		}
	}
	if action == bluehelm.PatrolStart {
		// Units may have been disabled since the plan was approved.
		if err := p.checkUnits(ctx, "units", pt.Units); err != nil {
			return nil, p.reject("patrol", err)
		}
	}
	if err := pt.Transition(action, by, now, reason, risk); err != nil {
		return nil, p.reject("patrol", err)
	}
	pt.UpdatedAt = now
	detail := map[string]any{"status": pt.Status}
	if reason != "" {
		detail["reason"] = reason
	}
	if err := p.store.UpdatePatrol(ctx, pt, p.audit(by, "patrol."+string(action), objectID("patrol", id), detail)); err != nil {
		return nil, p.reject("patrol", err)
	}
	p.monitor.SetPatrol(pt)
	p.publishPatrol(pt)
	return pt, nil
}

func (p *Pipeline) publishPatrol(pt *bluehelm.Patrol) {
	p.out.Publish(live.Event{Layer: live.LayerOperations, Key: objectID("patrol", pt.ID), Marking: pt.Marking,
		Where: pt.Route.Bound(), Data: encode("patrol", pt)})
}
