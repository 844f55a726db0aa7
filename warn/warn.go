// Package warn runs early warning inside the server: a forecast of the mission
// area refreshed daily and after each import, kept in memory for the map's risk
// layer and for route risk, alerts when a cell crosses a threshold, and alerts
// when a near-repeat window opens after an IED or an attack on UN personnel and a
// planned or underway patrol route passes through it.
//
// What it forecasts from: the incidents that everyone may see (unclassified),
// because the surface is shown to every user of the map; a forecast built from
// confidential reports would leak them through its probabilities. Near-repeat
// alerts, which name one incident to the people of one patrol, use every
// incident and carry the combined marking.
package warn

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/forecast"
	"github.com/paulmach/orb"
)

// Store is what the service reads.
type Store interface {
	FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error)
	FindPatrols(ctx context.Context, f bluehelm.PatrolFilter) ([]*bluehelm.Patrol, error)
	AuditLog(ctx context.Context, afterSeq int64, limit int) ([]bluehelm.AuditEntry, error)
}

// Alerter raises an alert unless the same one is open (the ingest pipeline).
type Alerter interface {
	RaiseRuleAlert(ctx context.Context, rule string, a *bluehelm.Alert)
}

// Config tunes the service. Zero fields take the defaults.
type Config struct {
	Horizon    time.Duration // default 30 days
	CellKm     float64       // default 5
	History    time.Duration // incidents read for a fit; default 10 years
	Every      time.Duration // refresh period; default 24 h
	Threshold  float64       // a cell's probability that raises an alert when crossed; default 0.5
	Categories []bluehelm.Category
	// Near repeat: an IED, explosive or attack on UN personnel opens a window of
	// NearRepeatWindow (default 72 h) within NearRepeatKm (default 1 km).
	NearRepeatKm     float64
	NearRepeatWindow time.Duration
	// Model is the forecasting model; nil means the self-exciting model.
	Model forecast.Model
}

func (c Config) withDefaults() Config {
	if c.Horizon <= 0 {
		c.Horizon = 30 * 24 * time.Hour
	}
	if !(c.CellKm > 0) {
		c.CellKm = 5
	}
	if c.History <= 0 {
		c.History = 10 * 365 * 24 * time.Hour
	}
	if c.Every <= 0 {
		c.Every = 24 * time.Hour
	}
	if !(c.Threshold > 0) {
		c.Threshold = 0.5
	}
	if !(c.NearRepeatKm > 0) {
		c.NearRepeatKm = 1
	}
	if c.NearRepeatWindow <= 0 {
		c.NearRepeatWindow = 72 * time.Hour
	}
	if c.Model == nil {
		c.Model = forecast.NewHawkes(forecast.HawkesConfig{})
	}
	return c
}

// Surface is one forecast of the mission area.
type Surface struct {
	Origin   time.Time
	Horizon  time.Duration
	Model    string
	Grid     *forecast.Grid
	Forecast forecast.Forecast
}

// Probability implements plan.Surface: the probability of the cell holding p,
// false outside the grid or when the forecast is for another time (more than
// a horizon away from its origin).
func (s *Surface) Probability(p bluehelm.Point, at time.Time) (float64, bool) {
	if s == nil || at.Before(s.Origin.Add(-s.Horizon)) || at.After(s.Origin.Add(s.Horizon)) {
		return 0, false
	}
	i, ok := s.Grid.Cell(p)
	if !ok {
		return 0, false
	}
	return s.Forecast.Probability(i), true
}

// Service is the early-warning service.
type Service struct {
	store   Store
	alerter Alerter
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	refresh chan struct{}

	auditSeq  int64 // the audit chain read so far, for imports
	auditRead bool

	mu      sync.RWMutex
	surface *Surface
}

// New returns a service; call Run to start it.
func New(store Store, alerter Alerter, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, alerter: alerter, cfg: cfg.withDefaults(), now: now, log: log, refresh: make(chan struct{}, 1)}
}

// Surface returns the latest forecast, nil before the first.
func (s *Service) Surface() *Surface {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.surface
}

// Trigger asks for a new forecast soon (after an import).
func (s *Service) Trigger() {
	select {
	case s.refresh <- struct{}{}:
	default:
	}
}

// Run refreshes the forecast at start, every Every, on Trigger and after an
// import (found in the audit chain every few minutes, so that a `bluehelm import`
// run beside the server counts too), and checks near-repeat windows every
// minute, until ctx ends.
func (s *Service) Run(ctx context.Context) {
	every := time.NewTicker(s.cfg.Every)
	minute := time.NewTicker(time.Minute)
	imports := time.NewTicker(5 * time.Minute)
	defer every.Stop()
	defer minute.Stop()
	defer imports.Stop()
	s.Trigger()
	if _, err := s.Imported(ctx); err != nil && ctx.Err() == nil { // reads up to the chain's end
		s.log.Error("reading the audit chain for imports", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.refresh:
			if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("early warning forecast", "err", err)
			}
		case <-every.C:
			s.Trigger()
		case <-imports.C:
			if yes, err := s.Imported(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("reading the audit chain for imports", "err", err)
			} else if yes {
				s.Trigger()
			}
		case <-minute.C:
			if err := s.CheckNearRepeat(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("near-repeat check", "err", err)
			}
		}
	}
}

// Imported reports whether incidents were imported since the last call; the
// first call only finds the end of the audit chain.
func (s *Service) Imported(ctx context.Context) (bool, error) {
	found := false
	for {
		es, err := s.store.AuditLog(ctx, s.auditSeq, 1000)
		if err != nil {
			return false, err
		}
		for _, e := range es {
			s.auditSeq = e.Seq
			if e.Action == "incident.import" {
				found = true
			}
		}
		if len(es) < 1000 {
			break
		}
	}
	first := !s.auditRead
	s.auditRead = true
	return found && !first, nil
}

// incidents reads the incidents seen by viewer that occurred in [from, to).
func (s *Service) incidents(ctx context.Context, viewer bluehelm.Principal, from, to time.Time, cats []bluehelm.Category) ([]*bluehelm.Incident, error) {
	f := bluehelm.IncidentFilter{Viewer: viewer, From: from, To: to, Categories: cats, Limit: 1000}
	var out []*bluehelm.Incident
	for {
		page, err := s.store.FindIncidents(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Incidents...)
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// publicViewer sees what every user may see: unclassified records.
var publicViewer = bluehelm.Principal{Username: "early-warning", Clearance: bluehelm.Unclassified}

// Refresh fits the model on the unclassified history and replaces the surface;
// cells that crossed the threshold since the previous surface raise an alert.
func (s *Service) Refresh(ctx context.Context) error {
	origin := s.now().UTC()
	incs, err := s.incidents(ctx, publicViewer, origin.Add(-s.cfg.History), origin, nil)
	if err != nil {
		return err
	}
	events := make([]forecast.Event, 0, len(incs))
	for _, inc := range incs {
		if inc.Status == bluehelm.StatusRejected {
			continue
		}
		e := forecast.EventOf(inc)
		if forecast.FinePrecision.Keeps(e) {
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		return nil // nothing to forecast from yet
	}
	g, err := forecast.BacktestGrid(events, forecast.GridSpec{CellKm: s.cfg.CellKm})
	if err != nil {
		return err
	}
	fc, err := s.cfg.Model.Fit(events, origin, g, forecast.Target{Categories: s.cfg.Categories, Horizon: s.cfg.Horizon})
	if err != nil {
		return fmt.Errorf("fitting %s: %w", s.cfg.Model.Name(), err)
	}
	next := &Surface{Origin: origin, Horizon: s.cfg.Horizon, Model: s.cfg.Model.Name(), Grid: g, Forecast: fc}
	s.mu.Lock()
	prev := s.surface
	s.surface = next
	s.mu.Unlock()
	s.log.Info("early warning forecast", "model", next.Model, "events", len(events), "cells", g.Len())
	s.thresholdAlerts(ctx, prev, next)
	return nil
}

// thresholdAlerts raises one alert per cell whose probability reached the
// threshold and was below it in the previous forecast (or had none).
func (s *Service) thresholdAlerts(ctx context.Context, prev, next *Surface) {
	for i := 0; i < next.Grid.Len(); i++ {
		p := next.Forecast.Probability(i)
		if p < s.cfg.Threshold {
			continue
		}
		c := next.Grid.Center(i)
		if before, ok := prev.Probability(c, next.Origin); ok && before >= s.cfg.Threshold {
			continue
		}
		pt := c
		s.alerter.RaiseRuleAlert(ctx, "forecast", &bluehelm.Alert{
			Source: bluehelm.AlertForecast, Rule: "threshold", Key: cellKey(c), Severity: bluehelm.SevWarning, Location: &pt,
			Title:   fmt.Sprintf("Early warning: %.0f %% chance of violence within %d days near %.3f, %.3f", 100*p, int(s.cfg.Horizon.Hours()/24), c.Lat, c.Lon),
			Detail:  fmt.Sprintf("The %s forecast of %s puts this %g km cell at or above the %.0f %% threshold.", next.Model, next.Origin.Format("2006-01-02"), s.cfg.CellKm, 100*s.cfg.Threshold),
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military},
		})
	}
}

func cellKey(c bluehelm.Point) string { return fmt.Sprintf("cell:%.4f,%.4f", c.Lon, c.Lat) }

// nearRepeatCategories open a near-repeat window.
var nearRepeatCategories = []bluehelm.Category{bluehelm.CatExplosive, bluehelm.CatAttackOnUN}

// CheckNearRepeat raises an alert for every planned or underway patrol whose
// route passes within NearRepeatKm of an IED or attack of the last
// NearRepeatWindow, once per patrol and incident while the alert is open.
func (s *Service) CheckNearRepeat(ctx context.Context) error {
	now := s.now().UTC()
	sys := bluehelm.SystemPrincipal("early-warning")
	incs, err := s.incidents(ctx, sys, now.Add(-s.cfg.NearRepeatWindow), now.Add(time.Minute), nearRepeatCategories)
	if err != nil || len(incs) == 0 {
		return err
	}
	patrols, err := s.store.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys,
		Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolApproved, bluehelm.PatrolUnderway}, Limit: 5000})
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if inc.Status == bluehelm.StatusRejected {
			continue
		}
		closes := inc.OccurredStart.Add(s.cfg.NearRepeatWindow)
		for _, pt := range patrols {
			// A window matters to a patrol that is out while it is open.
			if !pt.PlannedStart.Before(closes) || !pt.PlannedEnd.After(now) {
				continue
			}
			d := distanceKm(pt.RouteLine(), inc.Location)
			if d > s.cfg.NearRepeatKm {
				continue
			}
			m, ok := bluehelm.Combine(pt.Marking, inc.Marking)
			if !ok {
				continue // nobody may see both: the patrol's people cannot be told about this incident
			}
			loc := inc.Location
			s.alerter.RaiseRuleAlert(ctx, "early-warning", &bluehelm.Alert{
				Source: bluehelm.AlertForecast, Rule: "near_repeat", Severity: bluehelm.SevCritical, Location: &loc,
				IncidentID: inc.ID, PatrolID: pt.ID, Marking: m,
				Title: fmt.Sprintf("Near-repeat risk on patrol %s: %s %.0f m from its route", pt.Name, inc.Title, 1000*d),
				Detail: fmt.Sprintf("%s (%s) on %s; the risk of another attack is highest within %g km for %.0f hours (until %s). Consider route clearance or another route.",
					inc.Title, inc.Category, inc.OccurredStart.UTC().Format("2006-01-02 15:04Z"), s.cfg.NearRepeatKm, s.cfg.NearRepeatWindow.Hours(), closes.UTC().Format("2006-01-02 15:04Z")),
			})
		}
	}
	return nil
}

// distanceKm is the shortest distance from p to the line, in km, in a local
// equirectangular frame (routes are short against the Earth's curvature).
func distanceKm(line orb.LineString, p bluehelm.Point) float64 {
	const kmPerDeg = 111.32
	kx := kmPerDeg * math.Cos(p.Lat*math.Pi/180)
	best := math.Inf(1)
	for i := 0; i+1 < len(line); i++ {
		ax, ay := (line[i][0]-p.Lon)*kx, (line[i][1]-p.Lat)*kmPerDeg
		bx, by := (line[i+1][0]-p.Lon)*kx, (line[i+1][1]-p.Lat)*kmPerDeg
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
		}
		best = math.Min(best, math.Hypot(ax+t*dx, ay+t*dy))
	}
	if len(line) == 1 {
		best = math.Hypot((line[0][0]-p.Lon)*kx, (line[0][1]-p.Lat)*kmPerDeg)
	}
	return best
}
