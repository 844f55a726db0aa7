package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/paulmach/orb"
)

// Operator is the part of the pipeline that plans and runs operations: units,
// medical facilities, patrols and response tasks.
type Operator interface {
	CreateUnit(ctx context.Context, by bluehelm.Principal, u *bluehelm.Unit) error
	CreateFacility(ctx context.Context, by bluehelm.Principal, f *bluehelm.MedicalFacility) error
	CreatePatrol(ctx context.Context, by bluehelm.Principal, p *bluehelm.Patrol) error
	PatrolAction(ctx context.Context, by bluehelm.Principal, id int64, version int, a bluehelm.PatrolAction, reason string) (*bluehelm.Patrol, error)
	DispatchUnit(ctx context.Context, by bluehelm.Principal, d ingest.Dispatch) (*bluehelm.Task, error)
}

// UnitCode is the code under which a simulated unit is registered.
func (u UnitSpec) UnitCode() string { return strings.TrimPrefix(u.UID, "sim-") }

// Demo patrols with a story: each raises its alert within minutes of the demo's
// start, so that a visitor sees the monitoring at work.
const (
	// SilentPatrol is underway but its long-range reconnaissance team never
	// reports: it is reported silent after its check-in interval.
	SilentPatrol = "MONBATT LRP 3 (Bentiu–Leer)"
	// OffRoutePatrol drives its usual town loop, but its plan follows another
	// loop 16 km east (10 km from its own at the nearest): it is reported off route
	// wherever on its loop it is.
	OffRoutePatrol = "Civil Affairs Bor (joint, community visits)"
	// LatePatrol was approved to start 25 minutes before the demo and has not.
	LatePatrol = "INDBATT-2 dawn patrol (Malakal–Kodok)"
)

// silentUID is the track of the silent patrol: registered with its unit but never
// reporting.
const silentUID = "sim-MONBATT-LRP3"

// SeedOperations registers the scenario's units and medical facilities and lays
// out a patrol plan: a patrol underway on every road patrol route, the three
// patrols with a story above, plans awaiting approval, patrols completed over the
// past week, and a unit sent to the opening alert.
func (s *Scenario) SeedOperations(ctx context.Context, w Operator, now time.Time) error {
	sys := bluehelm.SystemPrincipal("demo")
	now = now.UTC().Truncate(time.Minute)
	for _, u := range s.Units {
		unit := &bluehelm.Unit{Code: u.UnitCode(), Name: u.Callsign, Mobility: bluehelm.MobilityMounted, Nationality: u.Camp.Nationality,
			TrackUIDs: []string{u.UID}, Marking: bluehelm.Marking{Component: u.Component}}
		if err := w.CreateUnit(ctx, sys, unit); err != nil {
			return fmt.Errorf("seeding unit %s: %w", unit.Code, err)
		}
	}
	lrp := &bluehelm.Unit{Code: "MONBATT-LRP3", Name: "MONBATT long-range reconnaissance team 3", Mobility: bluehelm.MobilityMounted,
		Nationality: "MNG", TrackUIDs: []string{silentUID}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	qrf := &bluehelm.Unit{Code: "INDBATT-2-QRF", Name: "INDBATT-2 quick reaction force", Mobility: bluehelm.MobilityMounted,
		Nationality: "IND", Marking: bluehelm.Marking{Component: bluehelm.Military}}
	for _, u := range []*bluehelm.Unit{lrp, qrf} {
		if err := w.CreateUnit(ctx, sys, u); err != nil {
			return fmt.Errorf("seeding unit %s: %w", u.Code, err)
		}
	}

	for _, f := range s.facilities() {
		if err := w.CreateFacility(ctx, sys, f); err != nil {
			return fmt.Errorf("seeding medical facility %s: %w", f.Name, err)
		}
	}

	planner := s.reporter()
	if !planner.Can(bluehelm.ActPlanPatrol) {
		planner = sys
	}
	plan := func(name string, typ bluehelm.PatrolType, units []string, route []Place, start time.Time, hours float64, checkIn, women int, purpose string) (*bluehelm.Patrol, error) {
		ls := make(orb.LineString, 0, 2*len(route))
		for _, p := range route {
			ls = append(ls, orb.Point{p.Point.Lon, p.Point.Lat})
		}
		for i := len(route) - 2; i >= 0; i-- { // and back to base
			ls = append(ls, orb.Point{route[i].Point.Lon, route[i].Point.Lat})
		}
		p := &bluehelm.Patrol{Name: name, Type: typ, Units: units, Strength: 24, Women: women, Route: bluehelm.Geometry{Geometry: ls},
			PlannedStart: start, PlannedEnd: start.Add(time.Duration(hours * float64(time.Hour))), CheckInMinutes: checkIn, Purpose: purpose,
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}}
		if err := w.CreatePatrol(ctx, planner, p); err != nil {
			return nil, fmt.Errorf("seeding patrol %s: %w", name, err)
		}
		return p, nil
	}
	step := func(p *bluehelm.Patrol, actions ...bluehelm.PatrolAction) error {
		for _, a := range actions {
			by := sys
			if a == bluehelm.PatrolSubmit {
				by = planner
			}
			next, err := w.PatrolAction(ctx, by, p.ID, 0, a, "")
			if err != nil {
				return fmt.Errorf("patrol %s: %s: %w", p.Name, a, err)
			}
			*p = *next
		}
		return nil
	}
	underway := []bluehelm.PatrolAction{bluehelm.PatrolSubmit, bluehelm.PatrolApprove, bluehelm.PatrolStart}

	// Every road patrol is underway along the road it drives.
	for i, u := range s.Units {
		if u.Kind != bluehelm.KindUnit {
			continue
		}
		p, err := plan(u.Callsign+" — "+u.Route.Name, bluehelm.PatrolMobile, []string{u.UnitCode()}, u.Route.Waypoints,
			now.Add(-time.Hour), 10, 20, i%3, "Area domination and presence on "+u.Route.Name)
		if err != nil {
			return err
		}
		if err := step(p, underway...); err != nil {
			return err
		}
	}
	// The silent long-range patrol.
	p, err := plan(SilentPatrol, bluehelm.PatrolLongRange, []string{lrp.Code}, []Place{bentiu, leer}, now.Add(-30*time.Minute), 30, 3, 2,
		"Long-range reconnaissance toward Leer after reports of armed group movement")
	if err != nil {
		return err
	}
	if err := step(p, underway...); err != nil {
		return err
	}
	// The civil affairs vehicle in Bor, planned on a loop 16 km east of the one it
	// drives. (At 5 km the two loops came within 1.1 km of each other, and a demo
	// started while the vehicle was on that side raised nothing for minutes.)
	for _, u := range s.Units {
		if u.UID != "sim-CA-Bor" {
			continue
		}
		shifted := loop(bluehelm.Point{Lon: bor.Point.Lon + 0.15, Lat: bor.Point.Lat}, 0.06)
		p, err := plan(OffRoutePatrol, bluehelm.PatrolJointCivilian, []string{u.UnitCode()}, shifted[:len(shifted)-1], now.Add(-30*time.Minute), 6, 30, 3,
			"Joint visit with civil affairs to community leaders east of Bor")
		if err != nil {
			return err
		}
		p.DeviationMeters = 1000
		if err := step(p, underway...); err != nil {
			return err
		}
	}
	// Approved, due 25 minutes ago, not started.
	p, err = plan(LatePatrol, bluehelm.PatrolMobile, []string{qrf.Code}, []Place{malakal, kodok}, now.Add(-25*time.Minute), 8, 20, 4,
		"Dawn presence patrol along the Nile road")
	if err != nil {
		return err
	}
	if err := step(p, bluehelm.PatrolSubmit, bluehelm.PatrolApprove); err != nil {
		return err
	}
	// Tomorrow's plans: one waiting for the operations officer, one still a draft.
	p, err = plan("RWABATT night patrol (Juba–Yei)", bluehelm.PatrolMobile, []string{"RWABATT-1"}, []Place{juba, yei}, now.Add(20*time.Hour), 12, 30, 3,
		"Night presence on the Yei road after carjackings")
	if err != nil {
		return err
	}
	if err := step(p, bluehelm.PatrolSubmit); err != nil {
		return err
	}
	if _, err := plan("FPU Wau market foot patrol", bluehelm.PatrolJointPolice, []string{"FPU-Wau"}, []Place{wau, {Point: bluehelm.Point{Lon: wau.Point.Lon + 0.02, Lat: wau.Point.Lat + 0.01}}},
		now.Add(26*time.Hour), 3, 15, 6, "Community engagement patrol with the host-state police"); err != nil {
		return err
	}
	// Completed over the past week, for the commander's figures.
	for d := 1; d <= 6; d++ {
		u := s.Units[(d*2)%len(s.Units)]
		p, err := plan(fmt.Sprintf("%s patrol, day -%d", u.Callsign, d), bluehelm.PatrolMobile, []string{u.UnitCode()}, u.Route.Waypoints,
			now.Add(-time.Duration(d)*24*time.Hour), 8, 30, d%2*3, "Routine presence patrol")
		if err != nil {
			return err
		}
		if err := step(p, bluehelm.PatrolSubmit, bluehelm.PatrolApprove, bluehelm.PatrolStart, bluehelm.PatrolComplete); err != nil {
			return err
		}
	}
	// The opening alert near Pibor gets the Bor–Pibor patrol sent to it.
	if _, err := w.DispatchUnit(ctx, sys, ingest.Dispatch{AlertID: s.openingAlert, Unit: "INDBATT-1", Note: "Investigate and report; engage community leaders."}); err != nil {
		return fmt.Errorf("seeding response task: %w", err)
	}
	return nil
}

// facilities are the scenario's medical support: a Level 1 clinic in every base,
// Level 2 hospitals in Juba, Malakal and Wau (as in UNMISS's sector hubs), and the
// host nation's teaching hospital in Juba.
func (s *Scenario) facilities() []*bluehelm.MedicalFacility {
	var out []*bluehelm.MedicalFacility
	for _, c := range s.Camps {
		hls := []bluehelm.Point{{Lon: c.Point.Lon + 0.004, Lat: c.Point.Lat - 0.004}}
		out = append(out, &bluehelm.MedicalFacility{Name: c.Contingent + " Level 1 clinic, " + c.Name, Level: "1", Location: c.Point,
			Capabilities: []string{bluehelm.CapLab}, Beds: 10, HelicopterLandingSites: hls, Operator: c.Contingent,
			Marking: bluehelm.Marking{Component: bluehelm.Support}})
		if c.Name == "Juba" || c.Name == "Malakal" || c.Name == "Wau" {
			out = append(out, &bluehelm.MedicalFacility{Name: "UNMISS Level 2 hospital, " + c.Name, Level: "2",
				Location:     bluehelm.Point{Lon: c.Point.Lon + 0.003, Lat: c.Point.Lat + 0.002},
				Capabilities: []string{bluehelm.CapSurgery, bluehelm.CapBlood, bluehelm.CapICU, bluehelm.CapImaging, bluehelm.CapAeromedical},
				Beds:         40, HelicopterLandingSites: hls, Operator: c.Contingent, Marking: bluehelm.Marking{Component: bluehelm.Support}})
		}
	}
	return append(out, &bluehelm.MedicalFacility{Name: "Juba Teaching Hospital", Level: "2",
		Location: bluehelm.Point{Lon: 31.597, Lat: 4.851}, Capabilities: []string{bluehelm.CapSurgery, bluehelm.CapBlood},
		Beds: 500, Operator: "Ministry of Health", Marking: bluehelm.Marking{Component: bluehelm.Civilian}})
}
