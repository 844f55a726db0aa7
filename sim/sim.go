// Package sim plays a scenario for the demo, exercises and load tests. It does not
// write anything itself: it drives the real ingest pipeline, as devices and reporters
// would, so the demo exercises the same path as a deployed mission.
package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/paulmach/orb"
)

// Writer is the part of the ingest pipeline the simulator drives.
type Writer interface {
	Positions(ctx context.Context, by bluehelm.Principal, reports []ingest.Report) error
	CreateIncident(ctx context.Context, by bluehelm.Principal, inc *bluehelm.Incident) error
	TransitionIncident(ctx context.Context, by bluehelm.Principal, id int64, version int, a bluehelm.WorkflowAction, reason string) (*bluehelm.Incident, error)
	CreateArea(ctx context.Context, by bluehelm.Principal, a *bluehelm.Area) error
	RaiseAlert(ctx context.Context, by bluehelm.Principal, a *bluehelm.Alert) error
}

// Scenario is a mission area with camps, areas and patrolling units.
type Scenario struct {
	Name  string
	Camps []*Camp
	Units []UnitSpec
	rng   *rand.Rand
	// Speedup makes units move faster than their reported speed, so that a demo shows
	// patrols reaching their destinations (and no-go areas) within minutes. 1 is real time.
	Speedup float64
	// Reporters are the users incidents are filed as (field reporters); the first is
	// used when the list is empty.
	Reporters []bluehelm.Principal

	openingAlert int64 // the alert Seed raises, which SeedOperations sends a unit to
	// CampAreaIDs are the camps' perimeter areas as Seed created them, in the
	// order of Camps (the demo camp's sensors belong to the first).
	CampAreaIDs []int64
}

// SouthSudan returns a scenario in the UNMISS area: five bases (Juba, Bor, Malakal,
// Bentiu, Wau), their contingents, patrols on the roads between real towns.
func SouthSudan(seed uint64) *Scenario {
	camps := []*Camp{
		{Place: juba, Contingent: "RWABATT", Nationality: "RWA"},
		{Place: bor, Contingent: "INDBATT", Nationality: "IND"},
		{Place: malakal, Contingent: "INDBATT-2", Nationality: "IND"},
		{Place: bentiu, Contingent: "MONBATT", Nationality: "MNG"},
		{Place: wau, Contingent: "BANBATT", Nationality: "BGD"},
	}
	routes := map[string][]Route{
		"Juba":    {{"Juba–Yei road", []Place{juba, yei}}, {"Juba–Terekeka road", []Place{juba, terekeka}}, {"Juba–Torit road", []Place{juba, torit}}},
		"Bor":     {{"Bor–Pibor", []Place{bor, pibor}}, {"Bor–Mingkaman", []Place{bor, mingkaman}}, {"Bor–Akobo", []Place{bor, akobo}}},
		"Malakal": {{"Malakal–Kodok", []Place{malakal, kodok}}, {"Malakal–Nasir", []Place{malakal, nasir}}},
		"Bentiu":  {{"Bentiu–Leer", []Place{bentiu, leer}}, {"Bentiu–Mayom", []Place{bentiu, rubkona, mayom}}},
		"Wau":     {{"Wau–Kuajok", []Place{wau, kuajok}}, {"Wau–Jur River", []Place{wau, jur}}, {"Wau–Rumbek", []Place{wau, rumbek}}},
	}
	s := &Scenario{Name: "UNMISS (South Sudan)", Camps: camps, Speedup: 1, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	n := 0
	for _, c := range camps {
		for i, r := range routes[c.Name] {
			n++
			s.Units = append(s.Units, UnitSpec{
				UID: fmt.Sprintf("sim-%s-%d", c.Contingent, i+1), Callsign: fmt.Sprintf("%s %d-%d", c.Contingent, i+1, n%3+1),
				Kind: bluehelm.KindUnit, CoTType: "a-f-G-U-C-I", SIDC: "SFGPUCI----D", Component: bluehelm.Military,
				Camp: c, Route: r, SpeedMS: 8 + float64(i)*2, Offset: float64(n) * 0.137,
			})
		}
		// A formed police unit and a civilian vehicle in every camp town.
		s.Units = append(s.Units,
			UnitSpec{UID: "sim-FPU-" + c.Name, Callsign: "FPU " + c.Name, Kind: bluehelm.KindVehicle, CoTType: "a-f-G-E-V", SIDC: "SFGPEVA----",
				Component: bluehelm.Police, Camp: c, Route: Route{c.Name + " town patrol", loop(c.Point, 0.03)}, SpeedMS: 5, Offset: float64(n) * 0.21},
			UnitSpec{UID: "sim-CA-" + c.Name, Callsign: "Civil Affairs " + c.Name, Kind: bluehelm.KindVehicle, CoTType: "a-n-G-E-V", SIDC: "SNGPEVA----",
				Component: bluehelm.Civilian, Camp: c, Route: Route{c.Name + " community visits", loop(c.Point, 0.06)}, SpeedMS: 6, Offset: float64(n) * 0.33},
		)
	}
	return s
}

// loop makes a small square circuit around a town for town patrols.
func loop(c bluehelm.Point, d float64) []Place {
	return []Place{
		{Point: c}, {Point: bluehelm.Point{Lon: c.Lon + d, Lat: c.Lat}}, {Point: bluehelm.Point{Lon: c.Lon + d, Lat: c.Lat + d}},
		{Point: bluehelm.Point{Lon: c.Lon, Lat: c.Lat + d}}, {Point: c},
	}
}

// Seed creates the scenario's areas, an opening alert and a month of incident history.
func (s *Scenario) Seed(ctx context.Context, w Writer, now time.Time) error {
	sys := bluehelm.SystemPrincipal("demo")
	for _, c := range s.Camps {
		camp := &bluehelm.Area{
			Name: "UNMISS base " + c.Name, Kind: bluehelm.AreaCamp, Geometry: square(c.Point, 0.008),
			Description: c.Contingent + " base perimeter",
			Rules:       []bluehelm.AreaRule{{Trigger: bluehelm.TriggerEnter, TrackKinds: []bluehelm.TrackKind{bluehelm.KindPerson, bluehelm.KindUAV}, Severity: bluehelm.SevCritical}},
			Marking:     bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support},
		}
		aor := &bluehelm.Area{
			Name: c.Name + " company operating base AOR", Kind: bluehelm.AreaAOR, Geometry: square(c.Point, 0.9),
			Rules:   []bluehelm.AreaRule{{Trigger: bluehelm.TriggerExit, TrackKinds: []bluehelm.TrackKind{bluehelm.KindUnit}, Severity: bluehelm.SevWarning}},
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military},
		}
		for _, a := range []*bluehelm.Area{camp, aor} {
			if err := w.CreateArea(ctx, sys, a); err != nil {
				return fmt.Errorf("seeding area %s: %w", a.Name, err)
			}
		}
		s.CampAreaIDs = append(s.CampAreaIDs, camp.ID)
	}
	// A no-go area astride the Bor–Pibor road: patrols that drive through it raise
	// the demo's geofence alerts.
	mid := lerp(bor.Point, pibor.Point, 0.45)
	nogo := &bluehelm.Area{
		Name: "Reported IED belt (Bor–Pibor road)", Kind: bluehelm.AreaRestricted, Geometry: square(mid, 0.12),
		Description: "Restricted after two IED finds; convoys need route clearance.",
		Rules:       []bluehelm.AreaRule{{Trigger: bluehelm.TriggerEnter, Severity: bluehelm.SevCritical}},
		Marking:     bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police, bluehelm.Civilian, bluehelm.Support}},
	}
	if err := w.CreateArea(ctx, sys, nogo); err != nil {
		return fmt.Errorf("seeding no-go area: %w", err)
	}
	pt := pibor.Point
	opening := &bluehelm.Alert{
		Source: bluehelm.AlertManual, Severity: bluehelm.SevWarning, Title: "Cattle-raid tension reported near Pibor",
		Detail:   "Community alert network reports armed youth gathering east of Pibor town. Patrol requested.",
		Location: &pt, Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Civilian},
	}
	if err := w.RaiseAlert(ctx, sys, opening); err != nil {
		return fmt.Errorf("seeding alert: %w", err)
	}
	s.openingAlert = opening.ID
	for range 60 {
		inc := s.incident(now.Add(-time.Duration(s.rng.Int64N(int64(30 * 24 * time.Hour)))))
		if err := s.file(ctx, w, inc); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) reporter() bluehelm.Principal {
	if len(s.Reporters) == 0 {
		return bluehelm.SystemPrincipal("demo")
	}
	return s.Reporters[s.rng.IntN(len(s.Reporters))]
}

// file creates an incident as a reporter, submitted to the JOC.
func (s *Scenario) file(ctx context.Context, w Writer, inc *bluehelm.Incident) error {
	by := s.reporter()
	inc.Status = bluehelm.StatusSubmitted
	if inc.Component == "" || (!by.System && !by.CanSee(inc.Marking)) {
		comp := by.Component
		if comp == "" { // the system files as civil affairs would
			comp = bluehelm.Civilian
		}
		inc.Marking = bluehelm.Marking{Classification: bluehelm.Unclassified, Component: comp}
	}
	if err := w.CreateIncident(ctx, by, inc); err != nil {
		return fmt.Errorf("filing incident %q: %w", inc.Title, err)
	}
	return nil
}

var incidentTemplates = []struct {
	cat   bluehelm.Category
	sub   string
	title string
	narr  string
	dead  int
}{
	{bluehelm.CatRobbery, "cattle_raid", "Cattle raid", "Armed youth raided a cattle camp; herders fled toward the river.", 3},
	{bluehelm.CatArmedClash, "armed_clash", "Exchange of fire between armed groups", "Heavy gunfire heard for about forty minutes; patrol held position.", 2},
	{bluehelm.CatProtest, "peaceful_protest", "Demonstration at county headquarters", "About 200 people protested delayed salaries; dispersed peacefully.", 0},
	{bluehelm.CatExplosive, "ied_found", "Suspected IED found on road", "Patrol found a suspicious object on the road shoulder; area cordoned, EOD requested.", 0},
	{bluehelm.CatViolenceCivs, "abduction", "Abduction of women collecting firewood", "Two women reported abducted near the PoC site perimeter.", 0},
	{bluehelm.CatThreat, "hate_speech", "Hate speech on local radio", "Civil Affairs reports inflammatory broadcast against a community.", 0},
	{bluehelm.CatMovement, "armed_group_movement", "Armed group movement reported", "Community members report a column of armed men moving north.", 0},
	{bluehelm.CatHumanitarian, "access_denied", "Humanitarian convoy denied passage", "Checkpoint refused passage to a food convoy; negotiation ongoing.", 0},
	{bluehelm.CatDisplacement, "displacement", "New arrivals at PoC site", "About 300 people arrived at the protection site after clashes.", 0},
	{bluehelm.CatAttackOnUN, "obstruction", "UN patrol obstructed at checkpoint", "Patrol stopped for two hours by armed men demanding fees.", 0},
	{bluehelm.CatNaturalHazard, "flood", "Flooding cuts road", "Road impassable after heavy rain; alternative route via the dyke.", 0},
}

// incident makes a plausible incident near one of the scenario's towns.
func (s *Scenario) incident(at time.Time) *bluehelm.Incident {
	t := incidentTemplates[s.rng.IntN(len(incidentTemplates))]
	towns := []Place{juba, bor, malakal, bentiu, wau, yei, torit, pibor, leer, mayom, nasir, akobo, rumbek, yambio, kodok}
	p := towns[s.rng.IntN(len(towns))]
	loc := bluehelm.Point{Lon: p.Point.Lon + (s.rng.Float64()-0.5)*0.3, Lat: p.Point.Lat + (s.rng.Float64()-0.5)*0.3}
	inc := &bluehelm.Incident{
		Title: t.title + " near " + p.Name, Category: t.cat, Subcategory: t.sub,
		OccurredStart: at.UTC().Truncate(time.Minute), TimePrecision: bluehelm.TimeExact,
		Location: loc, GeoPrecision: bluehelm.GeoNear, Country: "South Sudan", Admin1: p.Admin1, PlaceName: p.Name,
		Narrative: t.narr, Sources: []bluehelm.Source{{Name: "UNMISS patrol report", Reliability: "B", Credibility: 2}},
	}
	if t.dead > 0 {
		n := s.rng.IntN(t.dead*2) + 1
		inc.Casualties = []bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: n, Best: n, High: n + 2}}
	}
	return inc
}

// Positions returns every unit's report at time t. Units shuttle out and back along
// their routes, so positions are a pure function of time and the demo is repeatable.
func (s *Scenario) Positions(t time.Time) []ingest.Report {
	out := make([]ingest.Report, 0, len(s.Units))
	for _, u := range s.Units {
		pt, course := u.positionAt(float64(t.UnixMilli()) / 1000 * max(s.Speedup, 1))
		out = append(out, ingest.Report{
			Track: bluehelm.Track{UID: u.UID, Callsign: u.Callsign, Kind: u.Kind, CoTType: u.CoTType, SIDC: u.SIDC,
				Unit: u.Camp.Contingent, Nationality: u.Camp.Nationality,
				Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: u.Component}},
			Position: bluehelm.Position{UID: u.UID, Time: t.UTC(), Lat: pt.Lat, Lon: pt.Lon, CE: 10, Course: course, Speed: u.SpeedMS, Battery: 80, Source: "sim"},
		})
	}
	return out
}

// positionAt returns where the unit is after sec seconds of scenario time.
func (u UnitSpec) positionAt(sec float64) (bluehelm.Point, float64) {
	wps := u.Route.Waypoints
	legs := make([]float64, len(wps)-1)
	total := 0.0
	for i := range legs {
		legs[i] = metres(wps[i].Point, wps[i+1].Point)
		total += legs[i]
	}
	if total == 0 {
		return wps[0].Point, 0
	}
	round := 2 * total / u.SpeedMS // seconds for out and back
	phase := math.Mod(sec/round+u.Offset, 1)
	d := phase * 2 * total
	back := d > total
	if back {
		d = 2*total - d
	}
	for i, l := range legs {
		if d <= l || i == len(legs)-1 {
			f := math.Min(d/l, 1)
			a, b := wps[i].Point, wps[i+1].Point
			course := bearing(a, b)
			if back {
				course = math.Mod(course+180, 360)
			}
			return lerp(a, b, f), course
		}
		d -= l
	}
	return wps[len(wps)-1].Point, 0
}

// Run reports every unit's position each tick and files a new incident now and then,
// until ctx ends.
func (s *Scenario) Run(ctx context.Context, w Writer, tick, incidentEvery time.Duration) error {
	sys := bluehelm.SystemPrincipal("sim")
	pos := time.NewTicker(tick)
	inc := time.NewTicker(incidentEvery)
	defer pos.Stop()
	defer inc.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-pos.C:
			if err := w.Positions(ctx, sys, s.Positions(now)); err != nil && ctx.Err() == nil {
				return fmt.Errorf("sim positions: %w", err)
			}
		case now := <-inc.C:
			if err := s.file(ctx, w, s.incident(now.Add(-time.Duration(s.rng.IntN(20))*time.Minute))); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}

func square(c bluehelm.Point, half float64) bluehelm.Geometry {
	r := orb.Ring{{c.Lon - half, c.Lat - half}, {c.Lon + half, c.Lat - half}, {c.Lon + half, c.Lat + half}, {c.Lon - half, c.Lat + half}, {c.Lon - half, c.Lat - half}}
	return bluehelm.Geometry{Geometry: orb.Polygon{r}}
}

func lerp(a, b bluehelm.Point, f float64) bluehelm.Point {
	return bluehelm.Point{Lon: a.Lon + (b.Lon-a.Lon)*f, Lat: a.Lat + (b.Lat-a.Lat)*f}
}

// metres is the haversine distance.
func metres(a, b bluehelm.Point) float64 {
	const r = 6371000
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dla, dlo := la2-la1, (b.Lon-a.Lon)*math.Pi/180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

func bearing(a, b bluehelm.Point) float64 {
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dlo := (b.Lon - a.Lon) * math.Pi / 180
	y := math.Sin(dlo) * math.Cos(la2)
	x := math.Cos(la1)*math.Sin(la2) - math.Sin(la1)*math.Cos(la2)*math.Cos(dlo)
	return math.Mod(math.Atan2(y, x)*180/math.Pi+360, 360)
}
