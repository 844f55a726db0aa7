package ingest

import (
	"context"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

func (p *Pipeline) audit(by bluehelm.Principal, action, object string, detail any) bluehelm.AuditEntry {
	e := bluehelm.NewAudit(by, action, object, detail)
	e.At = p.now()
	return e
}

// visibleIncident loads an incident and hides it (ENOTFOUND) from a principal who may
// not see it, so that its existence does not leak.
func (p *Pipeline) visibleIncident(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Incident, error) {
	inc, err := p.store.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(inc.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "incident %d not found", id)
	}
	return inc, nil
}

// CreateIncident files a new report by `by`. It starts as a draft, or as submitted
// when the report asks for it (a field report sent straight to the JOC).
func (p *Pipeline) CreateIncident(ctx context.Context, by bluehelm.Principal, inc *bluehelm.Incident) error {
	if err := by.Require(bluehelm.ActReportIncident); err != nil {
		return p.reject("incident", err)
	}
	switch inc.Status {
	case "", bluehelm.StatusDraft:
		inc.Status = bluehelm.StatusDraft
	case bluehelm.StatusSubmitted:
	default:
		return p.reject("incident", bluehelm.Invalid("status", "a new incident is a draft or submitted, not %s", inc.Status))
	}
	now := p.now()
	inc.ID, inc.Version = 0, 0
	inc.ReportedBy, inc.ReportedAt, inc.UpdatedAt = by.Username, now, now
	inc.VerifiedBy, inc.ApprovedBy, inc.RejectedBy, inc.RejectReason = "", "", "", ""
	inc.Conflicts = nil // only a federation merge records them
	if inc.Component == "" {
		inc.Component = by.Component
	}
	if inc.TimePrecision == "" {
		inc.TimePrecision = bluehelm.TimeExact
	}
	if inc.GeoPrecision == "" {
		inc.GeoPrecision = bluehelm.GeoExact
	}
	if err := inc.Validate(now); err != nil {
		return p.reject("incident", err)
	}
	if !by.CanSee(inc.Marking) {
		return p.reject("incident", bluehelm.Errorf(bluehelm.EFORBIDDEN, "you may not file a report marked above your clearance or outside your component"))
	}
	start := time.Now()
	if err := p.store.CreateIncident(ctx, inc, p.audit(by, "incident.create", "", map[string]any{"title": inc.Title, "status": inc.Status})); err != nil {
		return p.reject("incident", err)
	}
	p.timed("create_incident", start)
	p.publishIncident(inc)
	return nil
}

// UpdateIncident replaces the content of incident id with next, if the stored version
// is still expectVersion.
func (p *Pipeline) UpdateIncident(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.Incident) (*bluehelm.Incident, error) {
	inc, err := p.visibleIncident(ctx, by, id)
	if err != nil {
		return nil, p.reject("incident", err)
	}
	if err := inc.CanEdit(by); err != nil {
		return nil, p.reject("incident", err)
	}
	if inc.Version != expectVersion {
		return nil, p.reject("incident", bluehelm.Errorf(bluehelm.ECONFLICT, "incident %d is at version %d, not %d: reload and reapply your change", id, inc.Version, expectVersion))
	}
	if next.Component == "" {
		next.Marking = inc.Marking
	}
	if next.TimePrecision == "" {
		next.TimePrecision = inc.TimePrecision
	}
	if next.GeoPrecision == "" {
		next.GeoPrecision = inc.GeoPrecision
	}
	inc.ApplyEdit(next)
	now := p.now()
	inc.UpdatedAt = now
	if err := inc.Validate(now); err != nil {
		return nil, p.reject("incident", err)
	}
	if !by.CanSee(inc.Marking) {
		return nil, p.reject("incident", bluehelm.Errorf(bluehelm.EFORBIDDEN, "you may not mark a report above your clearance or outside your component"))
	}
	start := time.Now()
	if err := p.store.UpdateIncident(ctx, inc, "edit", p.audit(by, "incident.edit", objectID("incident", id), map[string]any{"version": inc.Version + 1})); err != nil {
		return nil, p.reject("incident", err)
	}
	p.timed("update_incident", start)
	p.publishIncident(inc)
	return inc, nil
}

// TransitionIncident moves incident id through its workflow.
func (p *Pipeline) TransitionIncident(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, action bluehelm.WorkflowAction, reason string) (*bluehelm.Incident, error) {
	inc, err := p.visibleIncident(ctx, by, id)
	if err != nil {
		return nil, p.reject("incident", err)
	}
	if expectVersion != 0 && inc.Version != expectVersion {
		return nil, p.reject("incident", bluehelm.Errorf(bluehelm.ECONFLICT, "incident %d is at version %d, not %d: reload it first", id, inc.Version, expectVersion))
	}
	if err := inc.Transition(action, by, reason); err != nil {
		return nil, p.reject("incident", err)
	}
	inc.UpdatedAt = p.now()
	detail := map[string]any{"status": inc.Status, "version": inc.Version + 1}
	if reason != "" {
		detail["reason"] = reason
	}
	if err := p.store.UpdateIncident(ctx, inc, string(action), p.audit(by, "incident."+string(action), objectID("incident", id), detail)); err != nil {
		return nil, p.reject("incident", err)
	}
	p.publishIncident(inc)
	if action == bluehelm.WfReconcile {
		p.ResolveConflictAlerts(ctx, id, "conflict reconciled by "+by.Username)
	}
	return inc, nil
}

// ConflictRule is the rule of the alert a federation conflict raises.
const ConflictRule = "federation_conflict"

// ResolveConflictAlerts resolves the open federation-conflict alerts of an
// incident once its conflicts are reconciled (here, or on the other side of
// the link). The alert was the system's; so is its resolution, which names
// who reconciled.
func (p *Pipeline) ResolveConflictAlerts(ctx context.Context, incidentID int64, resolution string) {
	by := bluehelm.SystemPrincipal(ConflictRule)
	open, err := p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: by,
		States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 1000})
	if err != nil {
		p.log.Error("finding the conflict alerts of an incident", "err", err, "incident", incidentID)
		return
	}
	for _, a := range open {
		if a.Source != bluehelm.AlertFederated || a.Rule != ConflictRule || a.IncidentID != incidentID {
			continue
		}
		if _, err := p.ResolveAlert(ctx, by, a.ID, a.Version, resolution); err != nil {
			p.log.Error("resolving a conflict alert", "err", err, "alert", a.ID, "incident", incidentID)
		}
	}
}

// ImportIncidents stores incidents read from an external dataset (UCDP, ACLED), keyed
// by ExternalID so that a re-import changes nothing. Imports are history: they are
// not fanned out one by one.
func (p *Pipeline) ImportIncidents(ctx context.Context, by bluehelm.Principal, source string, incs []*bluehelm.Incident) (created, updated int, err error) {
	if err := by.Require(bluehelm.ActImport); err != nil {
		return 0, 0, p.reject("import", err)
	}
	now := p.now()
	for i, inc := range incs {
		if inc.ExternalID == "" {
			return 0, 0, p.reject("import", bluehelm.Invalid("external_id", "row %d has no external id", i))
		}
		if inc.ReportedBy == "" {
			inc.ReportedBy = by.Username
		}
		if inc.ReportedAt.IsZero() {
			inc.ReportedAt = now
		}
		inc.UpdatedAt = now
		if err := inc.Validate(now); err != nil {
			return 0, 0, p.reject("import", bluehelm.PrefixField(inc.ExternalID, err))
		}
	}
	const chunk = 5000
	for lo := 0; lo < len(incs); lo += chunk {
		hi := min(lo+chunk, len(incs))
		c, u, err := p.store.ImportIncidents(ctx, incs[lo:hi], p.audit(by, "incident.import", source, map[string]any{"rows": hi - lo, "first": incs[lo].ExternalID}))
		created, updated = created+c, updated+u
		if err != nil {
			return created, updated, err
		}
	}
	return created, updated, nil
}

func (p *Pipeline) publishIncident(inc *bluehelm.Incident) {
	p.out.Publish(live.Event{
		Layer: live.LayerIncidents, Key: objectID("incident", inc.ID), Marking: inc.Marking,
		Where: pointBox(inc.Location), Data: encode("incident", inc),
	})
}
