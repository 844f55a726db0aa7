package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/plan"
)

// CasevacWriter is the part of the pipeline the demo casualty needs.
type CasevacWriter interface {
	Writer
	CreateUnit(ctx context.Context, by bluehelm.Principal, u *bluehelm.Unit) error
	RequestCasevac(ctx context.Context, by bluehelm.Principal, c *bluehelm.Casevac) (*bluehelm.Casevac, error)
	RecommendCasevac(ctx context.Context, by bluehelm.Principal, id int64) (plan.Recommendation, error)
	CasevacStep(ctx context.Context, by bluehelm.Principal, id int64, in ingest.CasevacStepInput) (*bluehelm.Casevac, error)
}

// Demo evacuation: an air medevac helicopter on the Juba Level 2 helipad, and a
// peacekeeper wounded in an ambush on the Juba–Bor road six minutes before the
// demo starts, first aid given, the evacuation approved to the recommended
// destination and launched. Its 10-1-2 clocks run from there (the 1-hour
// warning comes 48 minutes after the wounding).
const (
	CasevacHeliUnit = "UNAVN-MI8-MEDEVAC"
	casevacHeliUID  = "sim-UNAVN-MI8-1"
	CasevacCallSign = "TIGER 3"
)

// SeedCasevac files the demo casualty's incident and its running evacuation.
func (s *Scenario) SeedCasevac(ctx context.Context, w CasevacWriter, now time.Time) (*bluehelm.Casevac, error) {
	sys := bluehelm.SystemPrincipal("demo")
	now = now.UTC().Truncate(time.Second)
	mil := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	heli := &bluehelm.Unit{Code: CasevacHeliUnit, Name: "Air medevac Mi-8 with aeromedical team", Mobility: bluehelm.MobilityAir, Medevac: true,
		Nationality: "BGD", TrackUIDs: []string{casevacHeliUID}, Marking: mil}
	if err := w.CreateUnit(ctx, sys, heli); err != nil {
		return nil, fmt.Errorf("seeding the medevac helicopter: %w", err)
	}
	pad := bluehelm.Point{Lon: juba.Point.Lon + 0.004, Lat: juba.Point.Lat - 0.004}
	if err := w.Positions(ctx, sys, []ingest.Report{{
		Track:    bluehelm.Track{UID: casevacHeliUID, Callsign: "MEDEVAC 1", Kind: bluehelm.KindAircraft, CoTType: "a-f-A-M-H-H", Unit: CasevacHeliUnit, Marking: mil},
		Position: bluehelm.Position{UID: casevacHeliUID, Time: now.Add(-time.Minute), Lon: pad.Lon, Lat: pad.Lat, Source: "sim"},
	}}); err != nil {
		return nil, fmt.Errorf("placing the medevac helicopter: %w", err)
	}
	wounded := now.Add(-6 * time.Minute)
	site := bluehelm.Point{Lon: 31.64, Lat: 5.19} // the Juba–Bor road near Mangalla
	inc := &bluehelm.Incident{Title: "Ambush on a UN convoy, Juba–Bor road near Mangalla", Category: bluehelm.CatAttackOnUN,
		Narrative:     "A logistics convoy came under small-arms fire; one peacekeeper wounded, CASEVAC requested.",
		OccurredStart: wounded, Location: site, PlaceName: "Mangalla", Marking: mil}
	if err := s.file(ctx, w, inc); err != nil {
		return nil, err
	}
	c, err := w.RequestCasevac(ctx, sys, &bluehelm.Casevac{IncidentID: inc.ID, Source: "demo",
		NineLine: bluehelm.NineLine{Location: site, Frequency: "45.300", CallSign: CasevacCallSign,
			Patients: bluehelm.PatientCounts{UrgentSurgical: 1}, Equipment: []string{"none"}, Litter: 1,
			Security: "possible_enemy", PickupMarking: "smoke", Categories: []bluehelm.PatientCategory{bluehelm.PatUNMilitary},
			Terrain: "Open ground east of the road; power line to the north."},
		WoundedAt: wounded, FirstAidAt: wounded.Add(3 * time.Minute),
		Note: "Gunshot wound to the thigh, tourniquet applied."})
	if err != nil {
		return nil, fmt.Errorf("requesting the demo CASEVAC: %w", err)
	}
	rec, err := w.RecommendCasevac(ctx, sys, c.ID)
	if err != nil {
		return nil, err
	}
	in := ingest.CasevacStepInput{Action: bluehelm.CasevacApprove, Note: rec.Reason}
	if rec.Best != nil {
		in.FacilityID, in.Means, in.AssetUnit = rec.Best.FacilityID, rec.Best.Means, rec.Best.AssetUnit
	}
	if c, err = w.CasevacStep(ctx, sys, c.ID, in); err != nil {
		return nil, fmt.Errorf("approving the demo CASEVAC: %w", err)
	}
	if rec.Best == nil {
		return c, nil // nothing to launch: the board shows why
	}
	if c, err = w.CasevacStep(ctx, sys, c.ID, ingest.CasevacStepInput{Action: bluehelm.CasevacLaunch}); err != nil {
		return nil, fmt.Errorf("launching the demo CASEVAC: %w", err)
	}
	return c, nil
}
