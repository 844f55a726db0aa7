package ingest

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/plan"
	"github.com/paulmach/orb"
)

// maxRiskIncidents bounds the incident history one route assessment reads: a
// route through the busiest province of a mission sees tens of thousands.
const maxRiskIncidents = 200000

// AssessRoute assesses a route's risk for a patrol in [at, until] as `by` may
// know it: from the incidents by may see within reach of the route over the
// configured lookback, the restricted areas by may see and the medical
// facilities in service. The report names incident IDs, which is why it is
// built from what the requester may see. until may be zero.
func (p *Pipeline) AssessRoute(ctx context.Context, by bluehelm.Principal, route orb.LineString, at, until time.Time) (*bluehelm.RiskReport, error) {
	cfg := p.opts.Plan
	if err := cfg.Validate(); err != nil {
		return nil, bluehelm.Errorf(bluehelm.EINTERNAL, "plan configuration: %v", err)
	}
	def := plan.DefaultConfig()
	radius, lookback := orDefault(cfg.RadiusKm, def.RadiusKm), cfg.Lookback
	if lookback == 0 {
		lookback = def.Lookback
	}
	if len(route) == 0 {
		return nil, bluehelm.Invalid("route", "is required: a LineString of at least two points")
	}
	b := route.Bound()
	// Degrees of the search radius, widened for latitude: a box too large only
	// reads a few more incidents, one too small misses some.
	maxLat := math.Max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))
	dLat := radius / 111.0
	dLon := dLat / math.Max(math.Cos(maxLat*math.Pi/180), 0.01)
	box := bluehelm.BBox{MinLon: math.Max(b.Min[0]-dLon, -180), MinLat: math.Max(b.Min[1]-dLat, -90),
		MaxLon: math.Min(b.Max[0]+dLon, 180), MaxLat: math.Min(b.Max[1]+dLat, 90)}
	f := bluehelm.IncidentFilter{Viewer: by, BBox: &box, From: at.Add(-lookback), To: at, Limit: 10000}
	var summaries []*bluehelm.IncidentSummary
	for {
		page, err := p.store.FindIncidentSummaries(ctx, f)
		if err != nil {
			return nil, err
		}
		summaries = append(summaries, page.Summaries...)
		if page.NextCursor == "" || len(summaries) >= maxRiskIncidents {
			break
		}
		f.Cursor = page.NextCursor
	}
	areas, err := p.store.Areas(ctx)
	if err != nil {
		return nil, err
	}
	visible := areas[:0]
	for _, a := range areas {
		if by.CanSee(a.Marking) {
			visible = append(visible, a)
		}
	}
	facilities, err := p.facilities(ctx, by)
	if err != nil {
		return nil, err
	}
	in := plan.Inputs{Incidents: plan.IndexSummaries(summaries), Areas: visible, Facilities: facilities, Until: until,
		Coverage: p.riskCoverage(ctx, by)}
	if p.opts.Surface != nil {
		in.Surface = p.opts.Surface()
	}
	rep, err := plan.Assess(route, in, cfg, at)
	if err != nil {
		return nil, err
	}
	rep.ComputedAt = p.now()
	return rep, nil
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// facilities returns the medical facilities by may see; plan leaves out those
// out of service.
func (p *Pipeline) facilities(ctx context.Context, by bluehelm.Principal) ([]*bluehelm.MedicalFacility, error) {
	all, err := p.store.Facilities(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, f := range all {
		if by.CanSee(f.Marking) {
			out = append(out, f)
		}
	}
	return out, nil
}

// fixes returns the latest positions of a unit's tracks that by may see, no
// older than maxAge: a unit whose devices went quiet yesterday is not where its
// last report says.
func (p *Pipeline) fixes(by bluehelm.Principal, u *bluehelm.Unit, now time.Time, maxAge time.Duration) []plan.Fix {
	var out []plan.Fix
	for _, uid := range u.TrackUIDs {
		st, ok := p.picture.Get(uid)
		if !ok || !by.CanSee(st.Marking) || now.Sub(st.Position.Time) > maxAge {
			continue
		}
		out = append(out, plan.Fix{TrackUID: uid, Point: st.Position.Point(), At: st.Position.Time})
	}
	return out
}

// responderMaxAge is how old a unit's last position may be and still count as
// where it is.
const responderMaxAge = 30 * time.Minute

// estimateArrival estimates when unit u can be at loc, from its nearest track.
func (p *Pipeline) estimateArrival(u *bluehelm.Unit, loc bluehelm.Point) (plan.Ranked, bool) {
	rs := plan.Rank(loc, []plan.Candidate{{Unit: u, Positions: p.fixes(bluehelm.SystemPrincipal("dispatch"), u, p.now(), responderMaxAge)}}, p.opts.ETA)
	if len(rs) == 0 || !rs[0].HasETA {
		return plan.Ranked{}, false
	}
	return rs[0], true
}

// Responders ranks the units by may see by their estimated time of arrival at
// scene: free units first, then units already on a task or an underway patrol.
func (p *Pipeline) Responders(ctx context.Context, by bluehelm.Principal, scene bluehelm.Point) ([]plan.Ranked, error) {
	if err := scene.Validate(); err != nil {
		return nil, err
	}
	units, err := p.store.Units(ctx)
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	tasks, err := p.store.FindTasks(ctx, bluehelm.TaskFilter{Viewer: bluehelm.SystemPrincipal("dispatch"),
		Statuses: []bluehelm.TaskStatus{bluehelm.TaskAssigned, bluehelm.TaskEnRoute, bluehelm.TaskOnScene}, Limit: 5000})
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		busy[t.Unit] = true
	}
	patrols, err := p.store.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: bluehelm.SystemPrincipal("dispatch"),
		Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolUnderway}, Limit: 5000})
	if err != nil {
		return nil, err
	}
	for _, pt := range patrols {
		for _, u := range pt.Units {
			busy[u] = true
		}
	}
	now := p.now()
	cands := make([]plan.Candidate, 0, len(units))
	for _, u := range units {
		if u.Disabled || !by.CanSee(u.Marking) {
			continue
		}
		cands = append(cands, plan.Candidate{Unit: u, Positions: p.fixes(by, u, now, responderMaxAge), Busy: busy[u.Code]})
	}
	return plan.Rank(scene, cands, p.opts.ETA), nil
}

// Figures counts patrols and response tasks in [from, to) for by, with the share
// of area of responsibility aorID (0: none) patrolled in the 7 and 30 days
// before to.
func (p *Pipeline) Figures(ctx context.Context, by bluehelm.Principal, from, to time.Time, aorID int64) (*bluehelm.PatrolFigures, error) {
	patrols, err := p.store.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: by, From: from, To: to, Limit: 5000})
	if err != nil {
		return nil, err
	}
	tasks, err := p.store.FindTasks(ctx, bluehelm.TaskFilter{Viewer: by, Since: from, Limit: 5000})
	if err != nil {
		return nil, err
	}
	f := bluehelm.Figures(patrols, tasks, from, to)
	if aorID == 0 {
		return &f, nil
	}
	aor, err := p.store.Area(ctx, aorID)
	if err == nil && !by.CanSee(aor.Marking) {
		err = bluehelm.Errorf(bluehelm.ENOTFOUND, "area %d not found", aorID)
	}
	if err != nil {
		return nil, bluehelm.PrefixField("aor", err)
	}
	if aor.Kind == bluehelm.AreaRoute {
		return nil, bluehelm.Invalid("aor", "area %d is a route, not an area of responsibility", aorID)
	}
	c7, c30, err := p.coverage(ctx, by, aor, to)
	if err != nil {
		return nil, err
	}
	f.Coverage7d, f.Coverage30d = &c7.Share, &c30.Share
	return &f, nil
}

// coverageStep thins the position history read for coverage: a patrol at 40
// km/h covers 1.3 km in two minutes, about one cell of the grid.
const coverageStep = 2 * time.Minute

// coverage is the share of aor visited by the tracks of registered units in the
// 7 and 30 days before to.
func (p *Pipeline) coverage(ctx context.Context, by bluehelm.Principal, aor *bluehelm.Area, to time.Time) (c7, c30 plan.Coverage, err error) {
	units, err := p.store.Units(ctx)
	if err != nil {
		return c7, c30, err
	}
	tracks := map[string]bool{}
	for _, u := range units {
		if by.CanSee(u.Marking) {
			for _, uid := range u.TrackUIDs {
				tracks[uid] = true
			}
		}
	}
	b := aor.Geometry.Bound()
	from := to.Add(-30 * 24 * time.Hour)
	ps, err := p.store.SamplePositions(ctx, bluehelm.PositionQuery{BBox: &b, From: from, To: to, Limit: 2_000_000}, coverageStep)
	if err != nil {
		return c7, c30, err
	}
	byUID := map[string][]plan.Fix{}
	for _, pos := range ps {
		if tracks[pos.UID] {
			byUID[pos.UID] = append(byUID[pos.UID], plan.Fix{TrackUID: pos.UID, Point: pos.Point(), At: pos.Time})
		}
	}
	traces := make([][]plan.Fix, 0, len(byUID))
	for _, t := range byUID {
		traces = append(traces, t)
	}
	if c30, err = plan.PatrolCoverage(aor.Geometry, traces, plan.CoverageConfig{Since: from}); err != nil {
		return c7, c30, err
	}
	c7, err = plan.PatrolCoverage(aor.Geometry, traces, plan.CoverageConfig{Since: to.Add(-7 * 24 * time.Hour)})
	return c7, c30, err
}

// Route risk weighs the CASEVAC coverage on a coarser grid than the coverage
// layer's 1 km, and reuses it for a while: evacuation assets move, but a plan
// looked at for a few minutes does not need their every fix, and the grid of a
// country-sized mission costs up to half a second.
const (
	riskCoverageCellKm = 2
	riskCoverageTTL    = 5 * time.Minute
)

type coverageEntry struct {
	cov *plan.MedicalCoverage
	at  time.Time
}

// riskCoverage is the CASEVAC coverage route risk weighs, as the viewer may
// see the facilities and assets, or nil when there is none to weigh: with no
// evacuation asset reporting its position every stretch would read as out of
// coverage, which says nothing about one route against another (the reach
// from the facilities themselves is in the report already).
func (p *Pipeline) riskCoverage(ctx context.Context, by bluehelm.Principal) *plan.MedicalCoverage {
	key := fmt.Sprint(by.Clearance, "/", by.Component, "/", by.System)
	now := p.now()
	p.covMu.Lock()
	e, ok := p.covCache[key]
	p.covMu.Unlock()
	if ok && now.Sub(e.at) < riskCoverageTTL && !now.Before(e.at) {
		return e.cov
	}
	var cov *plan.MedicalCoverage
	if assets, err := p.evacAssets(ctx, by, bluehelm.Point{}); err == nil && len(assets) > 0 {
		c, err := p.CasevacCoverage(ctx, by, riskCoverageCellKm)
		if err != nil {
			p.log.Warn("CASEVAC coverage for route risk", "err", err)
		} else {
			cov = c
		}
	}
	p.covMu.Lock()
	if p.covCache == nil {
		p.covCache = map[string]coverageEntry{}
	}
	p.covCache[key] = coverageEntry{cov: cov, at: now}
	p.covMu.Unlock()
	return cov
}
