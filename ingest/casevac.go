package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/plan"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// CasevacStepInput is a step of a casualty evacuation with what it may set:
// approval names the destination and means (from the recommendation or the
// approver's choice), launch the evacuating asset.
type CasevacStepInput struct {
	Action     bluehelm.CasevacAction `json:"action"`
	Note       string                 `json:"note,omitempty"`
	FacilityID int64                  `json:"facility_id,omitempty"`
	Means      string                 `json:"means,omitempty"`
	AssetUnit  string                 `json:"asset_unit,omitempty"`
	Version    int                    `json:"version,omitempty"` // expected version; 0: any
}

// Radii within which the asset's position shows it at the pick-up site and at
// the facility (or one of its landing sites).
const (
	casevacPickupRadiusM   = 300
	casevacFacilityRadiusM = 500
)

var openCasevac = []bluehelm.CasevacStatus{bluehelm.CasevacRequested, bluehelm.CasevacApproved, bluehelm.CasevacLaunched, bluehelm.CasevacPickedUp}

func (p *Pipeline) visibleCasevac(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Casevac, error) {
	c, err := p.store.Casevac(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(c.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "casevac %d not found", id)
	}
	return c, nil
}

// missionArea returns the geometries of the areas of responsibility (none: the
// mission has not drawn its area, and every pick-up site is accepted).
func (p *Pipeline) missionArea(ctx context.Context) ([]bluehelm.Geometry, error) {
	areas, err := p.store.Areas(ctx)
	if err != nil {
		return nil, err
	}
	var out []bluehelm.Geometry
	for _, a := range areas {
		if a.Kind == bluehelm.AreaAOR {
			out = append(out, a.Geometry)
		}
	}
	return out, nil
}

// RequestCasevac files a 9-line request from the web, the API or a TAK client
// (c.Source). It starts as requested; the marking is the incident's when one is
// named. A request with a CoTUID already filed returns the one filed.
func (p *Pipeline) RequestCasevac(ctx context.Context, by bluehelm.Principal, c *bluehelm.Casevac) (*bluehelm.Casevac, error) {
	if err := by.Require(bluehelm.ActRequestCasevac); err != nil {
		return nil, p.reject("casevac", err)
	}
	if c.CoTUID != "" {
		got, err := p.store.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: bluehelm.SystemPrincipal("casevac"), CoTUID: c.CoTUID, Limit: 1})
		if err != nil {
			return nil, p.reject("casevac", err)
		}
		if len(got) > 0 {
			return got[0], nil
		}
	}
	now := p.now()
	c.ID, c.Version, c.Status = 0, 0, bluehelm.CasevacRequested
	c.RequestedBy, c.RequestedAt, c.UpdatedAt = by.Username, now, now
	c.Notification, c.Alerted = bluehelm.CasualtyNotification{}, nil
	c.FacilityID, c.Means, c.AssetUnit, c.AssetTrack = 0, "", "", ""
	c.Timeline = []bluehelm.CasevacStep{{Status: bluehelm.CasevacRequested, At: now, By: by.Username}}
	// First aid already given is part of the report (the buddy applied a
	// tourniquet before calling): it stands for the 10-minute clock.
	if !c.FirstAidAt.IsZero() {
		if c.FirstAidAt.Before(c.WoundedAt) || c.FirstAidAt.After(now.Add(time.Minute)) {
			return nil, p.reject("casevac", bluehelm.Invalid("first_aid_at", "must be between the wounding and now"))
		}
		c.Timeline = append([]bluehelm.CasevacStep{{Status: "first_aid", At: c.FirstAidAt, By: by.Username}}, c.Timeline...)
	}
	if c.Source == "" {
		c.Source = "api"
	}
	if c.Component == "" {
		c.Component = by.Component
	}
	if c.Component == "" {
		c.Component = bluehelm.Military
	}
	if c.IncidentID != 0 {
		inc, err := p.visibleIncident(ctx, by, c.IncidentID)
		if err != nil {
			return nil, p.reject("casevac", bluehelm.PrefixField("incident_id", err))
		}
		c.Marking = inc.Marking
	}
	if !by.System && !by.CanSee(c.Marking) {
		return nil, p.reject("casevac", bluehelm.Invalid("classification", "above your clearance or outside your component: you could not see your own request"))
	}
	mission, err := p.missionArea(ctx)
	if err != nil {
		return nil, p.reject("casevac", err)
	}
	if err := c.Validate(now, mission); err != nil {
		return nil, p.reject("casevac", err)
	}
	if err := p.store.CreateCasevac(ctx, c, p.audit(by, "casevac.request", "",
		map[string]any{"incident_id": c.IncidentID, "source": c.Source, "patients": c.Patients.Total()})); err != nil {
		return nil, p.reject("casevac", err)
	}
	p.publishCasevac(c)
	p.checkCasevac(ctx, c, now)
	return c, nil
}

// CasevacStep records a step (approve, launch, pick up, arrive, first aid,
// cancel) by a person.
func (p *Pipeline) CasevacStep(ctx context.Context, by bluehelm.Principal, id int64, in CasevacStepInput) (*bluehelm.Casevac, error) {
	c, err := p.visibleCasevac(ctx, by, id)
	if err != nil {
		return nil, p.reject("casevac", err)
	}
	if in.Version != 0 && c.Version != in.Version {
		return nil, p.reject("casevac", stale("casevac", id, c.Version, in.Version))
	}
	switch in.Action {
	case bluehelm.CasevacApprove:
		if in.Means != "" && in.Means != plan.MeansRoad && in.Means != plan.MeansAir {
			return nil, p.reject("casevac", bluehelm.Invalid("means", "want road or air"))
		}
		if in.FacilityID != 0 {
			if _, err := p.store.Facility(ctx, in.FacilityID); err != nil {
				return nil, p.reject("casevac", bluehelm.PrefixField("facility_id", err))
			}
		}
	}
	if err := c.Step(in.Action, by, p.now(), in.Note, false); err != nil {
		return nil, p.reject("casevac", err)
	}
	switch in.Action {
	case bluehelm.CasevacApprove:
		if in.FacilityID != 0 {
			c.FacilityID = in.FacilityID
		}
		if in.Means != "" {
			c.Means = in.Means
		}
		if in.AssetUnit != "" {
			c.AssetUnit = in.AssetUnit
		}
	case bluehelm.CasevacLaunch:
		if in.AssetUnit != "" {
			c.AssetUnit = in.AssetUnit
		}
	}
	if (in.Action == bluehelm.CasevacApprove || in.Action == bluehelm.CasevacLaunch) && c.AssetUnit != "" {
		u, err := p.store.UnitByCode(ctx, c.AssetUnit)
		if err != nil {
			return nil, p.reject("casevac", bluehelm.PrefixField("asset_unit", err))
		}
		if len(u.TrackUIDs) > 0 {
			c.AssetTrack = p.nearestTrack(u, c.Location)
		}
	}
	return c, p.storeCasevac(ctx, by, c, "casevac."+string(in.Action), nil)
}

// nearestTrack is the unit's track nearest to pt now (its first when none reports).
func (p *Pipeline) nearestTrack(u *bluehelm.Unit, pt bluehelm.Point) string {
	best, bestD := u.TrackUIDs[0], -1.0
	for _, f := range p.fixes(bluehelm.SystemPrincipal("casevac"), u, p.now(), responderMaxAge) {
		if d := meters(f.Point, pt); bestD < 0 || d < bestD {
			best, bestD = f.TrackUID, d
		}
	}
	return best
}

func meters(a, b bluehelm.Point) float64 {
	return geo.DistanceHaversine(orb.Point{a.Lon, a.Lat}, orb.Point{b.Lon, b.Lat})
}

// VerifyCasualty and ConfirmCasualty are the two steps of a casualty
// notification, by two different people, each audited.
func (p *Pipeline) VerifyCasualty(ctx context.Context, by bluehelm.Principal, id int64, note string) (*bluehelm.Casevac, error) {
	c, err := p.visibleCasevac(ctx, by, id)
	if err != nil {
		return nil, p.reject("casevac", err)
	}
	if err := c.VerifyNotification(by, p.now(), note); err != nil {
		return nil, p.reject("casevac", err)
	}
	return c, p.storeCasevac(ctx, by, c, "casualty.verify", nil)
}

func (p *Pipeline) ConfirmCasualty(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Casevac, error) {
	c, err := p.visibleCasevac(ctx, by, id)
	if err != nil {
		return nil, p.reject("casevac", err)
	}
	if err := c.ConfirmNotification(by, p.now()); err != nil {
		return nil, p.reject("casevac", err)
	}
	return c, p.storeCasevac(ctx, by, c, "casualty.confirm", map[string]any{"verified_by": c.Notification.VerifiedBy})
}

func (p *Pipeline) storeCasevac(ctx context.Context, by bluehelm.Principal, c *bluehelm.Casevac, action string, detail map[string]any) error {
	c.UpdatedAt = p.now()
	if detail == nil {
		detail = map[string]any{}
	}
	detail["status"] = c.Status
	if err := p.store.UpdateCasevac(ctx, c, p.audit(by, action, objectID("casevac", c.ID), detail)); err != nil {
		return p.reject("casevac", err)
	}
	p.publishCasevac(c)
	return nil
}

func (p *Pipeline) publishCasevac(c *bluehelm.Casevac) {
	p.out.Publish(live.Event{Layer: live.LayerOperations, Key: objectID("casevac", c.ID), Marking: c.Marking,
		Where: pointBox(c.Location), Data: encode("casevac", c)})
}

// CasevacNow is the pipeline's clock, which the CASEVAC clocks run on.
func (p *Pipeline) CasevacNow() time.Time { return p.now() }

// FindCasevacs lists requests (f.Viewer applies the access rule).
func (p *Pipeline) FindCasevacs(ctx context.Context, f bluehelm.CasevacFilter) ([]*bluehelm.Casevac, error) {
	return p.store.FindCasevacs(ctx, f)
}

// Casevac returns a request by may see.
func (p *Pipeline) Casevac(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.Casevac, error) {
	return p.visibleCasevac(ctx, by, id)
}

// evacAssets are the units that can evacuate (road ambulances: mounted;
// helicopters: air), not disabled, not already on an open evacuation, at the
// latest recent position of their nearest track.
func (p *Pipeline) evacAssets(ctx context.Context, by bluehelm.Principal, near bluehelm.Point) ([]plan.EvacAsset, error) {
	units, err := p.store.Units(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	open, err := p.store.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: bluehelm.SystemPrincipal("casevac"),
		Statuses: []bluehelm.CasevacStatus{bluehelm.CasevacApproved, bluehelm.CasevacLaunched, bluehelm.CasevacPickedUp}, Limit: 5000})
	if err != nil {
		return nil, err
	}
	for _, c := range open {
		busy[c.AssetUnit] = true
	}
	// Once any unit is marked as an evacuation asset only those count: an
	// infantry company's trucks are not ambulances. A mission that has marked
	// none yet still gets a recommendation from every vehicle and aircraft.
	marked := slices.ContainsFunc(units, func(u *bluehelm.Unit) bool { return u.Medevac && !u.Disabled })
	var out []plan.EvacAsset
	for _, u := range units {
		if u.Disabled || busy[u.Code] || (u.Mobility != bluehelm.MobilityMounted && u.Mobility != bluehelm.MobilityAir) || (marked && !u.Medevac) {
			continue
		}
		var best *plan.Fix
		fixes := p.fixes(by, u, p.now(), responderMaxAge)
		for i := range fixes {
			if best == nil || meters(fixes[i].Point, near) < meters(best.Point, near) {
				best = &fixes[i]
			}
		}
		if best != nil {
			out = append(out, plan.EvacAsset{Unit: u.Code, TrackUID: best.TrackUID, Mobility: u.Mobility, Position: best.Point})
		}
	}
	return out, nil
}

// RecommendCasevac chooses the destination and means for request id now.
func (p *Pipeline) RecommendCasevac(ctx context.Context, by bluehelm.Principal, id int64) (plan.Recommendation, error) {
	c, err := p.visibleCasevac(ctx, by, id)
	if err != nil {
		return plan.Recommendation{}, err
	}
	return p.recommendFor(ctx, by, c)
}

func (p *Pipeline) recommendFor(ctx context.Context, by bluehelm.Principal, c *bluehelm.Casevac) (plan.Recommendation, error) {
	fs, err := p.facilities(ctx, by)
	if err != nil {
		return plan.Recommendation{}, err
	}
	assets, err := p.evacAssets(ctx, by, c.Location)
	if err != nil {
		return plan.Recommendation{}, err
	}
	return plan.Recommend(plan.CasevacQuery{Pickup: c.Location, WoundedAt: c.WoundedAt, Now: p.now(),
		Patients: c.Patients.Total(), Surgical: c.Patients.UrgentSurgical > 0}, fs, assets, p.opts.Plan), nil
}

// CasevacCoverage is the coverage grid over the mission area now.
func (p *Pipeline) CasevacCoverage(ctx context.Context, by bluehelm.Principal, cellKm float64) (*plan.MedicalCoverage, error) {
	mission, err := p.missionArea(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := p.facilities(ctx, by)
	if err != nil {
		return nil, err
	}
	assets, err := p.evacAssets(ctx, by, bluehelm.Point{})
	if err != nil {
		return nil, err
	}
	return plan.CasevacCoverage(mission, fs, assets, p.opts.Plan, p.now(), cellKm)
}

// CheckCasevacs runs the CASEVAC clocks once at the pipeline's now: for each
// open request, a step the evacuating asset's position shows (at the pick-up
// site, at the facility) and the 10-1-2 alerts — when a clock passes
// ClockWarnShare of its time and when it is missed, each once per request
// (the request remembers it, so a restart or a resolved alert raises nothing
// again). RunCasevac calls it every few seconds; tests call it with a fake clock.
func (p *Pipeline) CheckCasevacs(ctx context.Context) {
	sys := bluehelm.SystemPrincipal("casevac")
	open, err := p.store.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: sys, Statuses: openCasevac, Limit: 5000})
	if err != nil {
		p.log.Error("loading open casevacs", "err", err)
		return
	}
	now := p.now()
	for _, c := range open {
		p.advanceCasevac(ctx, c)
		p.checkCasevac(ctx, c, now)
	}
}

// RunCasevac runs CheckCasevacs every `every` (0: 5 seconds) until ctx ends.
func (p *Pipeline) RunCasevac(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.CheckCasevacs(ctx)
		}
	}
}

// advanceCasevac records pick-up and arrival from the asset's latest position,
// at the time of that position (never before the step before: Step sees to it).
func (p *Pipeline) advanceCasevac(ctx context.Context, c *bluehelm.Casevac) {
	if c.AssetTrack == "" || (c.Status != bluehelm.CasevacLaunched && c.Status != bluehelm.CasevacApproved && c.Status != bluehelm.CasevacPickedUp) {
		return
	}
	st, ok := p.picture.Get(c.AssetTrack)
	if !ok {
		return
	}
	launched := c.StepAt(bluehelm.CasevacLaunched)
	if launched.IsZero() {
		launched = c.StepAt(bluehelm.CasevacApproved)
	}
	if st.Position.Time.Before(launched) {
		return // where the asset was before it set off says nothing
	}
	pos := st.Position.Point()
	var a bluehelm.CasevacAction
	switch {
	case c.Status != bluehelm.CasevacPickedUp && meters(pos, c.Location) <= casevacPickupRadiusM:
		a = bluehelm.CasevacPickUp
	case c.Status == bluehelm.CasevacPickedUp && c.FacilityID != 0:
		f, err := p.store.Facility(ctx, c.FacilityID)
		if err != nil {
			return
		}
		if !slices.ContainsFunc(append([]bluehelm.Point{f.Location}, f.HelicopterLandingSites...),
			func(q bluehelm.Point) bool { return meters(pos, q) <= casevacFacilityRadiusM }) {
			return
		}
		a = bluehelm.CasevacArrive
	default:
		return
	}
	sys := bluehelm.SystemPrincipal("casevac")
	if err := c.Step(a, sys, st.Position.Time, "from the positions of "+c.AssetTrack, true); err != nil {
		p.log.Debug("casevac step from positions not applied", "casevac", c.ID, "err", err)
		return
	}
	if err := p.storeCasevac(ctx, sys, c, "casevac."+string(a), map[string]any{"from_positions": true}); err != nil {
		p.log.Error("recording casevac step from positions", "err", err, "casevac", c.ID)
	}
}

// checkCasevac raises the clock alerts c is due and records them on c.
func (p *Pipeline) checkCasevac(ctx context.Context, c *bluehelm.Casevac, now time.Time) {
	if !c.Status.Open() {
		return
	}
	var raised []string
	for _, k := range c.Clocks(now) {
		var kinds []string
		switch k.State {
		case bluehelm.ClockWarning:
			kinds = []string{"warning"}
		case bluehelm.ClockMissed:
			// A clock already missed when first seen warns no more: only the miss.
			kinds = []string{"warning", "missed"}
		}
		for _, kind := range kinds {
			key := k.Name + "." + kind
			if slices.Contains(c.Alerted, key) {
				continue
			}
			raised = append(raised, key)
			if kind == "warning" && k.State == bluehelm.ClockMissed {
				continue
			}
			p.raiseOnce(ctx, "casevac", clockAlert(c, k, kind))
		}
	}
	if len(raised) == 0 {
		return
	}
	sys := bluehelm.SystemPrincipal("casevac")
	// A person may have taken a step since c was read: then record the alerts
	// on the fresh copy (once more at most), so that none is raised twice.
	for try := 0; ; try++ {
		for _, k := range raised {
			if !slices.Contains(c.Alerted, k) {
				c.Alerted = append(c.Alerted, k)
			}
		}
		err := p.storeCasevac(ctx, sys, c, "casevac.clock", map[string]any{"alerts": raised})
		if err == nil {
			return
		}
		if bluehelm.ErrorCode(err) != bluehelm.ECONFLICT || try > 0 {
			p.log.Error("recording casevac clock alerts", "err", err, "casevac", c.ID)
			return
		}
		fresh, gerr := p.store.Casevac(ctx, c.ID)
		if gerr != nil {
			p.log.Error("recording casevac clock alerts", "err", gerr, "casevac", c.ID)
			return
		}
		c = fresh
	}
}

var clockWhat = map[string]string{
	"10m": "life-saving first aid (10 minutes)",
	"1h":  "advanced care (1 hour)",
	"2h":  "damage-control surgery (2 hours)",
}

func clockAlert(c *bluehelm.Casevac, k bluehelm.CasevacClock, kind string) *bluehelm.Alert {
	loc := c.Location
	a := &bluehelm.Alert{Source: bluehelm.AlertCasevac, Rule: "clock_" + k.Name + "_" + kind,
		Key: objectID("casevac", c.ID), Location: &loc, IncidentID: c.IncidentID, Marking: c.Marking}
	deadline := k.Deadline.UTC().Format("15:04Z")
	if kind == "missed" {
		a.Severity = bluehelm.SevCritical
		a.Title = fmt.Sprintf("CASEVAC %s: %s deadline missed", c.CallSign, k.Name)
	} else {
		a.Severity = bluehelm.SevWarning
		a.Title = fmt.Sprintf("CASEVAC %s: %s deadline at %s", c.CallSign, k.Name, deadline)
	}
	a.Detail = fmt.Sprintf("Casualty evacuation %d (%s, %d patients, wounded %s): %s due by %s; the evacuation is %s.",
		c.ID, c.CallSign, c.Patients.Total(), c.WoundedAt.UTC().Format("2006-01-02 15:04Z"), clockWhat[k.Name], deadline,
		strings.ReplaceAll(string(c.Status), "_", " "))
	return a
}
