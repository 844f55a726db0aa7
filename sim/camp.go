package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
	"github.com/paulmach/orb"
)

// The demo camp: the first base of the scenario with its perimeter zones, about
// forty sensors of every kind, alarm rules of every kind, the assets a base runs
// (generators, solar arrays, tanks, cold stores, towers, cameras), a stock book with
// a month of history, and live readings: a day/night solar curve, generators
// following the deficit, a fuel tank draining, a cold store whose door is left open
// now and then, a waste sensor whose battery died, occasional lone perimeter
// triggers and, every quarter of an hour, an intrusion across two adjacent zones.
// Everything goes through the camp records' API and the one reading path, as a
// gateway on the camp network would send it.

// CampWriter is what the demo camp needs from the server. It is declared here,
// at its one consumer, so that the demo can be wired to whichever service holds
// each record (cmd/bluehelm adapts the pipeline's methods to it).
type CampWriter interface {
	CreateArea(ctx context.Context, by bluehelm.Principal, a *bluehelm.Area) error
	// CreateSensor registers s and sets s.ID.
	CreateSensor(ctx context.Context, by bluehelm.Principal, s *bluehelm.Sensor) error
	// CreateAlarmRule stores r and sets r.ID.
	CreateAlarmRule(ctx context.Context, by bluehelm.Principal, r *bluehelm.AlarmRule) error
	// SetCampProfile stores the camp's profile (population, standards,
	// escalation, zone adjacency).
	SetCampProfile(ctx context.Context, by bluehelm.Principal, p *CampProfile) error
	// CreateAsset stores a and sets a.ID.
	CreateAsset(ctx context.Context, by bluehelm.Principal, a *CampAsset) error
	// CreateStockItem stores it and sets it.ID.
	CreateStockItem(ctx context.Context, by bluehelm.Principal, it *bluehelm.StockItem) error
	// AddStockMovement books m against its item.
	AddStockMovement(ctx context.Context, by bluehelm.Principal, m *bluehelm.StockMovement) error
	// IngestReadings sends a batch through the reading path; it returns how
	// many readings were accepted.
	IngestReadings(ctx context.Context, by bluehelm.Principal, rs []bluehelm.Reading) (accepted int, err error)
}

// CampProfile is the demo's camp profile, in the terms of the camp records.
type CampProfile struct {
	CampID           int64
	Population       int
	WaterStandardLPD float64
	// Escalation lists who is told, in turn, of an alarm nobody acknowledged.
	Escalation []EscalationStep
	// GeneratorLitresPerKWh and DieselKgCO2PerLitre are the factors for fuel
	// saved and CO2 avoided.
	GeneratorLitresPerKWh float64
	DieselKgCO2PerLitre   float64
	ZoneIDs               []int64
	// AdjacentZones pairs the zones that touch: an intruder crossing from one
	// into the other trips sensors in both.
	AdjacentZones [][2]int64
}

// EscalationStep is one step of the camp's escalation list.
type EscalationStep struct {
	Role         bluehelm.Role
	AfterMinutes int
}

// CampAsset is one asset of the demo camp.
type CampAsset struct {
	ID            int64
	CampID        int64
	ZoneID        int64
	Kind          string // generator, solar_array, battery, water_tank, water_treatment, fuel_tank, cold_store, incinerator, tower, camera
	Name          string
	Position      bluehelm.Point
	RatedKW       float64
	SensorIDs     []int64
	HourMeterBase float64 // the hour meter when it was registered
	ServicePlans  []camp.ServicePlan
}

// Demo camp constants. The population, water standard and factors are the
// demo's, stated so that the dashboard's figures can be checked by hand.
const (
	campPopulation = 800
	// campWaterLPD is the demo's standard of litres per person per day.
	campWaterLPD = 84
	// campLitresPerKWh: a mid-sized diesel set at a reasonable load.
	campLitresPerKWh = 0.3
	campKgCO2PerL    = 2.68
	fuelTankLitres   = 30000
	waterTankLitres  = 60000
	// DefaultIntrusionEvery is how often the demo stages an intrusion.
	DefaultIntrusionEvery = 15 * time.Minute
	// campInterval is every demo sensor's reporting interval.
	campInterval = 60 * time.Second
	// backfillDays is how far back the demo's history of readings goes: readings
	// older than bluehelm.MaxReadingAge are refused, so less than that.
	backfillDays = 6
	backfillStep = 15 * time.Minute
)

// DemoCamp is the demo camp: its records once seeded, and the state its live
// readings evolve from.
type DemoCamp struct {
	Base   *Camp
	CampID int64
	// Zones are the perimeter zones, in order north, east, south, west.
	Zones   []*bluehelm.Area
	Sensors []*bluehelm.Sensor
	Rules   []*bluehelm.AlarmRule
	Assets  []*CampAsset
	Items   []*bluehelm.StockItem
	Profile *CampProfile
	// IntrusionEvery is how often Step stages a two-zone intrusion.
	IntrusionEvery time.Duration

	rng   *rand.Rand
	loc   *time.Location // the camp's local time, for the sun and the day's rhythm
	bySub map[string]*bluehelm.Sensor
	// zoneSensors are the perimeter sensors of each zone (by zone index).
	zoneSensors [][]*bluehelm.Sensor
	adjacent    [][2]int // zone index pairs

	energy        energyState
	fuelLitres    float64 // what the main fuel tank holds
	waterLitres   [2]float64
	dieselMovs    []bluehelm.StockMovement // the diesel book as seeded
	lastStep      time.Time
	lastIntrusion time.Time
	lastTrigger   time.Time // the last detection staged, lone or not
	// Intrusions counts the intrusions staged, for tests and the log.
	Intrusions int
}

type energyState struct {
	soc float64 // battery state of charge, %
}

// NewDemoCamp prepares the demo camp at base; utcOffset is the camp's local time.
func NewDemoCamp(base *Camp, seed uint64, utcOffset time.Duration) *DemoCamp {
	return &DemoCamp{
		Base: base, IntrusionEvery: DefaultIntrusionEvery,
		rng:         rand.New(rand.NewPCG(seed, seed^0x5bd1e995)),
		loc:         time.FixedZone("camp", int(utcOffset.Seconds())),
		bySub:       map[string]*bluehelm.Sensor{},
		energy:      energyState{soc: 60},
		waterLitres: [2]float64{0.7 * waterTankLitres, 0.65 * waterTankLitres},
		fuelLitres:  0.5 * fuelTankLitres,
	}
}

func rect(w, s, e, n float64) bluehelm.Geometry {
	return bluehelm.Geometry{Geometry: orb.Polygon{orb.Ring{{w, s}, {e, s}, {e, n}, {w, n}, {w, s}}}}
}

// The camp perimeter is the square Seed draws (half side 0.008°); its zones are
// strips along the walls, 0.0015° (about 165 m) deep.
const (
	campHalf  = 0.008
	wallDepth = 0.0015
)

var zoneNames = []string{"North wall", "East wall", "South wall", "West wall"}

// Seed lays the camp out through w: zones, profile, sensors, rules, assets, the
// stock book with a month of history, and backfillDays of readings. campID is
// the camp perimeter area (Scenario.Seed creates it).
func (c *DemoCamp) Seed(ctx context.Context, w CampWriter, campID int64, now time.Time) error {
	by := bluehelm.SystemPrincipal("demo")
	c.CampID = campID
	p := c.Base.Point
	x0, x1, y0, y1 := p.Lon-campHalf, p.Lon+campHalf, p.Lat-campHalf, p.Lat+campHalf
	geoms := []bluehelm.Geometry{
		rect(x0, y1-wallDepth, x1, y1),                     // north
		rect(x1-wallDepth, y0+wallDepth, x1, y1-wallDepth), // east
		rect(x0, y0, x1, y0+wallDepth),                     // south
		rect(x0, y0+wallDepth, x0+wallDepth, y1-wallDepth), // west
	}
	support := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}
	for i, g := range geoms {
		z := &bluehelm.Area{Name: c.Base.Name + " base: " + zoneNames[i], Kind: bluehelm.AreaCampZone, Geometry: g,
			Description: "Perimeter zone of the " + c.Base.Name + " base", Marking: support}
		if err := w.CreateArea(ctx, by, z); err != nil {
			return fmt.Errorf("demo camp zone %s: %w", z.Name, err)
		}
		c.Zones = append(c.Zones, z)
	}
	// The walls form a ring: each touches the next at a corner.
	c.adjacent = [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}}
	c.Profile = &CampProfile{
		CampID: campID, Population: campPopulation, WaterStandardLPD: campWaterLPD,
		Escalation: []EscalationStep{
			{Role: bluehelm.RoleOperations, AfterMinutes: 5},
			{Role: bluehelm.RoleCommander, AfterMinutes: 15},
		},
		GeneratorLitresPerKWh: campLitresPerKWh, DieselKgCO2PerLitre: campKgCO2PerL,
	}
	for _, z := range c.Zones {
		c.Profile.ZoneIDs = append(c.Profile.ZoneIDs, z.ID)
	}
	for _, a := range c.adjacent {
		c.Profile.AdjacentZones = append(c.Profile.AdjacentZones, [2]int64{c.Zones[a[0]].ID, c.Zones[a[1]].ID})
	}
	if err := w.SetCampProfile(ctx, by, c.Profile); err != nil {
		return fmt.Errorf("demo camp profile: %w", err)
	}
	if err := c.seedSensors(ctx, w, by); err != nil {
		return err
	}
	if err := c.seedRules(ctx, w, by); err != nil {
		return err
	}
	if err := c.seedAssets(ctx, w, by); err != nil {
		return err
	}
	if err := c.seedStock(ctx, w, by, now); err != nil {
		return err
	}
	return c.backfill(ctx, w, by, now)
}

// code makes a sensor code: C1-PIR-N1 and so on.
func code(sub string) string { return "C1-" + sub }

func (c *DemoCamp) sensor(sub string) *bluehelm.Sensor { return c.bySub[sub] }

func (c *DemoCamp) addSensor(ctx context.Context, w CampWriter, by bluehelm.Principal, sub string, kind bluehelm.SensorKind, zone int, at bluehelm.Point, capacity float64) error {
	s := &bluehelm.Sensor{Code: code(sub), Kind: kind, CampID: c.CampID, Position: at, Unit: kind.Spec().Unit,
		IntervalSeconds: int(campInterval / time.Second), CapacityLitres: capacity,
		Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	if zone >= 0 {
		s.ZoneID = c.Zones[zone].ID
	}
	if err := w.CreateSensor(ctx, by, s); err != nil {
		return fmt.Errorf("demo camp sensor %s: %w", s.Code, err)
	}
	c.Sensors = append(c.Sensors, s)
	c.bySub[sub] = s
	if kind.Perimeter() {
		for len(c.zoneSensors) <= zone {
			c.zoneSensors = append(c.zoneSensors, nil)
		}
		c.zoneSensors[zone] = append(c.zoneSensors[zone], s)
	}
	return nil
}

// along returns the point at fraction f along zone i's wall, on the fence line.
func (c *DemoCamp) along(i int, f float64) bluehelm.Point {
	p := c.Base.Point
	in := campHalf - wallDepth/3
	switch i {
	case 0:
		return bluehelm.Point{Lon: p.Lon - campHalf + 2*campHalf*f, Lat: p.Lat + in}
	case 1:
		return bluehelm.Point{Lon: p.Lon + in, Lat: p.Lat + campHalf - 2*campHalf*f}
	case 2:
		return bluehelm.Point{Lon: p.Lon + campHalf - 2*campHalf*f, Lat: p.Lat - in}
	default:
		return bluehelm.Point{Lon: p.Lon - in, Lat: p.Lat - campHalf + 2*campHalf*f}
	}
}

// inside returns a point at (dx, dy) degrees from the camp's centre.
func (c *DemoCamp) inside(dx, dy float64) bluehelm.Point {
	return bluehelm.Point{Lon: c.Base.Point.Lon + dx, Lat: c.Base.Point.Lat + dy}
}

func (c *DemoCamp) seedSensors(ctx context.Context, w CampWriter, by bluehelm.Principal) error {
	walls := []string{"N", "E", "S", "W"}
	// Five detectors per wall: three infrared, a ground sensor and the fence's
	// vibration sensor; a camera on two corners. 22 in all.
	for i, wl := range walls {
		for j, f := range []float64{0.15, 0.5, 0.85} {
			if err := c.addSensor(ctx, w, by, fmt.Sprintf("PIR-%s%d", wl, j+1), bluehelm.SensorPIR, i, c.along(i, f), 0); err != nil {
				return err
			}
		}
		if err := c.addSensor(ctx, w, by, "SEIS-"+wl, bluehelm.SensorSeismic, i, c.along(i, 0.33), 0); err != nil {
			return err
		}
		if err := c.addSensor(ctx, w, by, "FENCE-"+wl, bluehelm.SensorFence, i, c.along(i, 0.66), 0); err != nil {
			return err
		}
	}
	if err := c.addSensor(ctx, w, by, "CAM-NE", bluehelm.SensorCamera, 0, c.along(0, 0.97), 0); err != nil {
		return err
	}
	if err := c.addSensor(ctx, w, by, "CAM-SW", bluehelm.SensorCamera, 2, c.along(2, 0.97), 0); err != nil {
		return err
	}
	// The utilities, inside the walls.
	for _, s := range []struct {
		sub      string
		kind     bluehelm.SensorKind
		dx, dy   float64
		capacity float64
	}{
		{"SOLAR-A", bluehelm.SensorSolarKW, -0.004, 0.003, 0},
		{"SOLAR-B", bluehelm.SensorSolarKW, -0.004, 0.0015, 0},
		{"GEN-1", bluehelm.SensorGeneratorKW, 0.004, -0.004, 0},
		{"GEN-2", bluehelm.SensorGeneratorKW, 0.0045, -0.004, 0},
		{"GEN-1-FUEL", bluehelm.SensorGeneratorFuel, 0.004, -0.0043, 0},
		{"GEN-2-FUEL", bluehelm.SensorGeneratorFuel, 0.0045, -0.0043, 0},
		{"BATT", bluehelm.SensorBatterySoC, -0.0025, 0.002, 0},
		{"LOAD", bluehelm.SensorLoadKW, 0, 0, 0},
		{"WTANK-1", bluehelm.SensorWaterLevel, 0.003, 0.004, waterTankLitres},
		{"WTANK-2", bluehelm.SensorWaterLevel, 0.0037, 0.004, waterTankLitres},
		{"WFLOW", bluehelm.SensorWaterFlow, 0.0033, 0.0035, 0},
		{"WQUAL", bluehelm.SensorWaterQuality, 0.0035, 0.0035, 0},
		{"FUEL-1", bluehelm.SensorFuelLevel, 0.005, -0.005, fuelTankLitres},
		{"COLD-1", bluehelm.SensorColdStoreTemp, -0.003, -0.003, 0},
		{"COLD-2", bluehelm.SensorColdStoreTemp, -0.0025, -0.003, 0},
		{"WASTE-1", bluehelm.SensorWasteFillLevel, -0.005, -0.005, 0},
		{"WASTE-2", bluehelm.SensorWasteFillLevel, -0.0045, -0.005, 0},
	} {
		if err := c.addSensor(ctx, w, by, s.sub, s.kind, -1, c.inside(s.dx, s.dy), s.capacity); err != nil {
			return err
		}
	}
	return nil
}

func (c *DemoCamp) seedRules(ctx context.Context, w CampWriter, by bluehelm.Principal) error {
	add := func(r *bluehelm.AlarmRule) error {
		r.CampID = c.CampID
		if err := w.CreateAlarmRule(ctx, by, r); err != nil {
			return fmt.Errorf("demo camp rule %q: %w", r.Name, err)
		}
		c.Rules = append(c.Rules, r)
		return nil
	}
	id := func(sub string) int64 { return c.sensor(sub).ID }
	rules := []*bluehelm.AlarmRule{
		// One perimeter rule covers every detector: a lone trigger is a low
		// alert, two in the same or adjacent zones within two minutes an intrusion.
		{Name: "Perimeter", Kind: bluehelm.AlarmPerimeter, WindowSeconds: 120, Severity: bluehelm.SevInfo},
		{Name: "Fuel tank low", Kind: bluehelm.AlarmThreshold, SensorID: id("FUEL-1"), Side: bluehelm.SideLow, Level: 25, Hysteresis: 3, Severity: bluehelm.SevWarning},
		// The generators burn well under 1 % of the tank an hour: faster than
		// 3 % an hour is a leak or theft.
		{Name: "Fuel tank dropping fast", Kind: bluehelm.AlarmRate, SensorID: id("FUEL-1"), Side: bluehelm.SideLow, Level: 3, Hysteresis: 1, WindowSeconds: 1800, Severity: bluehelm.SevCritical},
		{Name: "Cold store 1 warm", Kind: bluehelm.AlarmThreshold, SensorID: id("COLD-1"), Side: bluehelm.SideHigh, Level: 8, Hysteresis: 1, Severity: bluehelm.SevWarning},
		{Name: "Cold store 2 warm", Kind: bluehelm.AlarmThreshold, SensorID: id("COLD-2"), Side: bluehelm.SideHigh, Level: 8, Hysteresis: 1, Severity: bluehelm.SevWarning},
		{Name: "Battery low", Kind: bluehelm.AlarmThreshold, SensorID: id("BATT"), Side: bluehelm.SideLow, Level: 20, Hysteresis: 5, Severity: bluehelm.SevWarning},
		{Name: "Water tank 1 low", Kind: bluehelm.AlarmThreshold, SensorID: id("WTANK-1"), Side: bluehelm.SideLow, Level: 20, Hysteresis: 5, Severity: bluehelm.SevWarning},
		{Name: "Chlorine low", Kind: bluehelm.AlarmThreshold, SensorID: id("WQUAL"), Side: bluehelm.SideLow, Level: 0.2, Hysteresis: 0.05, Severity: bluehelm.SevWarning},
		{Name: "Waste skip full", Kind: bluehelm.AlarmThreshold, SensorID: id("WASTE-1"), Side: bluehelm.SideHigh, Level: 90, Hysteresis: 10, Severity: bluehelm.SevInfo},
	}
	for _, sub := range []string{"LOAD", "FUEL-1", "COLD-1", "COLD-2", "WASTE-2", "GEN-1", "GEN-2"} {
		rules = append(rules, &bluehelm.AlarmRule{Name: "Silent: " + code(sub), Kind: bluehelm.AlarmStale, SensorID: id(sub), Severity: bluehelm.SevWarning})
	}
	for _, r := range rules {
		if err := add(r); err != nil {
			return err
		}
	}
	return nil
}

// Generator service: an oil and filter change every 250 running hours, raised
// 100 hours ahead. Generator 1 is 90 hours from its service when the demo starts,
// within the lead: its work order is raised at once. Generator 2 was serviced
// recently.
const (
	gen1Meter = 4760.0
	gen2Meter = 1195.0
)

func (c *DemoCamp) seedAssets(ctx context.Context, w CampWriter, by bluehelm.Principal) error {
	ids := func(subs ...string) []int64 {
		var out []int64
		for _, s := range subs {
			out = append(out, c.sensor(s).ID)
		}
		return out
	}
	at := func(sub string) bluehelm.Point { return c.sensor(sub).Position }
	oil := func(last float64) []camp.ServicePlan {
		return []camp.ServicePlan{
			{Task: "Oil and filter change", EveryHours: 250, LastDoneAtHours: last, LeadHours: 100},
			{Task: "Major service (injectors, belts, coolant)", EveryHours: 2000, LastDoneAtHours: 4000, LeadHours: 150},
		}
	}
	assets := []*CampAsset{
		{Kind: "generator", Name: "Generator 1 (250 kVA)", Position: at("GEN-1"), RatedKW: 200, SensorIDs: ids("GEN-1", "GEN-1-FUEL"), HourMeterBase: gen1Meter, ServicePlans: oil(4600)},
		{Kind: "generator", Name: "Generator 2 (250 kVA)", Position: at("GEN-2"), RatedKW: 200, SensorIDs: ids("GEN-2", "GEN-2-FUEL"), HourMeterBase: gen2Meter,
			ServicePlans: []camp.ServicePlan{{Task: "Oil and filter change", EveryHours: 250, LastDoneAtHours: 1150, LeadHours: 100}}},
		{Kind: "solar_array", Name: "Solar array A (120 kWp)", Position: at("SOLAR-A"), RatedKW: 120, SensorIDs: ids("SOLAR-A")},
		{Kind: "solar_array", Name: "Solar array B (80 kWp)", Position: at("SOLAR-B"), RatedKW: 80, SensorIDs: ids("SOLAR-B")},
		{Kind: "battery", Name: "Battery bank (400 kWh)", Position: at("BATT"), SensorIDs: ids("BATT")},
		{Kind: "water_tank", Name: "Water tank 1 (60 m³)", Position: at("WTANK-1"), SensorIDs: ids("WTANK-1")},
		{Kind: "water_tank", Name: "Water tank 2 (60 m³)", Position: at("WTANK-2"), SensorIDs: ids("WTANK-2")},
		{Kind: "water_treatment", Name: "Water treatment unit", Position: at("WQUAL"), SensorIDs: ids("WFLOW", "WQUAL")},
		{Kind: "fuel_tank", Name: "Fuel farm tank (20 m³)", Position: at("FUEL-1"), SensorIDs: ids("FUEL-1")},
		{Kind: "cold_store", Name: "Cold store 1 (rations)", Position: at("COLD-1"), SensorIDs: ids("COLD-1")},
		{Kind: "cold_store", Name: "Cold store 2 (medical)", Position: at("COLD-2"), SensorIDs: ids("COLD-2")},
		{Kind: "incinerator", Name: "Incinerator", Position: at("WASTE-1"), SensorIDs: ids("WASTE-1", "WASTE-2")},
		{Kind: "camera", Name: "Camera north-east", ZoneID: c.Zones[0].ID, Position: at("CAM-NE"), SensorIDs: ids("CAM-NE")},
		{Kind: "camera", Name: "Camera south-west", ZoneID: c.Zones[2].ID, Position: at("CAM-SW"), SensorIDs: ids("CAM-SW")},
	}
	for i, z := range c.Zones {
		assets = append(assets, &CampAsset{Kind: "tower", Name: "Watchtower, " + zoneNames[i], ZoneID: z.ID, Position: c.along(i, 0.5)})
	}
	for _, a := range assets {
		a.CampID = c.CampID
		if err := w.CreateAsset(ctx, by, a); err != nil {
			return fmt.Errorf("demo camp asset %s: %w", a.Name, err)
		}
		for i := range a.ServicePlans {
			a.ServicePlans[i].AssetID = a.ID
		}
		c.Assets = append(c.Assets, a)
	}
	return nil
}

// stockSpec is an item of the demo's book with its month: opening stock, daily
// issues (a level, a weekday pattern and a trend) and receipts.
type stockSpec struct {
	item     bluehelm.StockItem
	opening  float64
	daily    float64 // issues a day at the start of the month
	trend    float64 // change of the daily issue per day
	weekend  float64 // factor on Fridays and Sundays (fewer convoys and work parties)
	receipts map[int]float64
	// receiptHour is when the day's receipt is booked (default 10:00, after the
	// 07:00 issue); treated water is booked at 05:00, before the day's draw.
	receiptHour int
}

// stockDays is the month of history.
const stockDays = 30

func (c *DemoCamp) stockSpecs() []stockSpec {
	m := func(name string, kind bluehelm.StockKind, store string, minDays float64, tanks ...int64) bluehelm.StockItem {
		return bluehelm.StockItem{Name: name, Kind: kind, Unit: bluehelm.StockKinds[kind], CampID: c.CampID, Store: store, MinDaysOfSupply: minDays, TankSensorIDs: tanks,
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	}
	return []stockSpec{
		// Diesel: the dry season's heat pushes the generators up by ~5 L a day
		// each day; the last convoy came 12 days ago. At about 16 days of supply
		// against a minimum of 14, it falls below its minimum within days. Each
		// morning's issue books the previous day's metered burn.
		{item: m("Diesel (generators)", bluehelm.StockDiesel, "Fuel farm", 14, c.sensor("FUEL-1").ID), opening: 23100, daily: 700, trend: 5, weekend: 0.9,
			receipts: map[int]float64{6: 6000, 18: 8000}},
		// Water is treated on site every day and drawn the same day: a day of
		// cover is normal.
		{item: m("Potable water", bluehelm.StockPotableWater, "Water point", 1), opening: 70000, daily: campPopulation * 72, weekend: 1,
			receipts: everyDay(stockDays, campPopulation*72), receiptHour: 5},
		{item: m("Rations (combat ration packs)", bluehelm.StockRations, "Cold store 1", 21), opening: 14000, daily: campPopulation, weekend: 1,
			receipts: map[int]float64{10: 28000}},
		{item: m("Medical consumables", bluehelm.StockMedical, "Level 1 clinic", 30), opening: 3400, daily: 28, trend: 0.2, weekend: 0.6,
			receipts: map[int]float64{15: 600}},
	}
}

func everyDay(days int, q float64) map[int]float64 {
	out := map[int]float64{}
	for d := range days {
		out[d] = q
	}
	return out
}

func (c *DemoCamp) seedStock(ctx context.Context, w CampWriter, by bluehelm.Principal, now time.Time) error {
	start := dayStartIn(now, c.loc).AddDate(0, 0, -stockDays)
	for _, sp := range c.stockSpecs() {
		it := sp.item
		if err := w.CreateStockItem(ctx, by, &it); err != nil {
			return fmt.Errorf("demo stock item %s: %w", it.Name, err)
		}
		c.Items = append(c.Items, &it)
		movs := c.movements(sp, it.ID, start)
		if it.Kind == bluehelm.StockDiesel {
			c.dieselMovs = movs
		}
		for _, m := range movs {
			if err := w.AddStockMovement(ctx, by, &m); err != nil {
				return fmt.Errorf("demo stock movement of %s on %s: %w", it.Name, m.Time.Format(time.DateOnly), err)
			}
		}
	}
	return nil
}

// movements writes an item's month: the opening count, then each day's issue
// (at 07:00, before the day's work) and receipt, in time order.
func (c *DemoCamp) movements(sp stockSpec, itemID int64, start time.Time) []bluehelm.StockMovement {
	out := []bluehelm.StockMovement{{ItemID: itemID, Kind: bluehelm.MoveCount, Quantity: sp.opening, Time: start.Add(-time.Hour), By: "demo", Note: "Opening count"}}
	rh := sp.receiptHour
	if rh == 0 {
		rh = 10
	}
	for d := range stockDays {
		day := start.AddDate(0, 0, d)
		receipt, received := sp.receipts[d]
		if received && rh < 7 {
			out = append(out, bluehelm.StockMovement{ItemID: itemID, Kind: bluehelm.MoveReceipt, Quantity: receipt, Time: day.Add(time.Duration(rh) * time.Hour), By: "demo", Note: "Treated and stored"})
		}
		q := sp.daily + sp.trend*float64(d)
		if wd := day.Weekday(); wd == time.Friday || wd == time.Sunday {
			q *= sp.weekend
		}
		q *= 1 + (c.rng.Float64()-0.5)*0.06
		out = append(out, bluehelm.StockMovement{ItemID: itemID, Kind: bluehelm.MoveIssue, Quantity: math.Round(q), Time: day.Add(7 * time.Hour), By: "demo", Note: "Daily issue (previous day's meter)"})
		if received && rh >= 7 {
			out = append(out, bluehelm.StockMovement{ItemID: itemID, Kind: bluehelm.MoveReceipt, Quantity: receipt, Time: day.Add(time.Duration(rh) * time.Hour), By: "demo", Note: "Convoy delivery"})
		}
	}
	return out
}

func dayStartIn(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// SensorCount is how many sensors the camp reports for.
func (c *DemoCamp) SensorCount() int { return len(c.bySub) }

// Resume takes up the live readings of a demo camp seeded in an earlier run
// (a demo restarted on its data directory): its sensors are found by their
// codes, and the tanks continue from their last readings (last, by sensor id).
// It reports false when the camp's sensors are not all there.
func (c *DemoCamp) Resume(sensors []*bluehelm.Sensor, last map[int64]bluehelm.Reading, now time.Time) bool {
	walls := map[byte]int{'N': 0, 'E': 1, 'S': 2, 'W': 3}
	c.zoneSensors = make([][]*bluehelm.Sensor, 4)
	for _, s := range sensors {
		sub, ok := strings.CutPrefix(s.Code, "C1-")
		if !ok || s.Disabled {
			continue
		}
		c.bySub[sub] = s
		c.CampID = s.CampID
		if s.Kind.Perimeter() {
			w := sub[len(sub)-1]
			if s.Kind == bluehelm.SensorCamera || s.Kind == bluehelm.SensorPIR {
				w = sub[strings.IndexByte(sub, '-')+1]
			}
			if i, ok := walls[w]; ok {
				c.zoneSensors[i] = append(c.zoneSensors[i], s)
			}
		}
	}
	for _, sub := range []string{"SOLAR-A", "SOLAR-B", "GEN-1", "GEN-2", "GEN-1-FUEL", "GEN-2-FUEL", "BATT", "LOAD", "WTANK-1", "WTANK-2", "WFLOW", "WQUAL", "FUEL-1", "COLD-1", "COLD-2", "WASTE-1"} {
		if c.bySub[sub] == nil {
			return false
		}
	}
	for _, zs := range c.zoneSensors {
		if len(zs) < 2 {
			return false
		}
	}
	c.adjacent = [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}}
	if r, ok := last[c.sensor("FUEL-1").ID]; ok {
		c.fuelLitres = r.Value / 100 * fuelTankLitres
	}
	for i, sub := range []string{"WTANK-1", "WTANK-2"} {
		if r, ok := last[c.sensor(sub).ID]; ok {
			c.waterLitres[i] = r.Value / 100 * waterTankLitres
		}
	}
	if r, ok := last[c.sensor("BATT").ID]; ok {
		c.energy.soc = r.Value
	}
	c.lastStep = now
	c.lastIntrusion = now.Add(-c.IntrusionEvery + 3*time.Minute)
	return true
}

// --- the camp's physics ------------------------------------------------------------------

// power is the camp's electrical state at a moment.
type power struct {
	solarA, solarB, load, gen1, gen2, soc float64
}

// hourOf is the local hour of t as a fraction (13.5 is half past one).
func (c *DemoCamp) hourOf(t time.Time) float64 {
	l := t.In(c.loc)
	return float64(l.Hour()) + float64(l.Minute())/60 + float64(l.Second())/3600
}

// sun is the clear-sky share of the arrays' peak at hour h: a half sine from 06:30
// to 18:30 (near the equator the day hardly changes length through the year).
func sun(h float64) float64 {
	if h < 6.5 || h > 18.5 {
		return 0
	}
	return math.Sin((h - 6.5) / 12 * math.Pi)
}

// camp load: a base, air conditioning in the afternoon heat, lights and kitchens
// in the evening.
func loadAt(h float64) float64 {
	return 110 + 50*math.Exp(-math.Pow((h-14.5)/3, 2)) + 35*math.Exp(-math.Pow((h-20)/1.5, 2))
}

// step advances the power model by dt to t: solar from the sun (with passing
// clouds), the battery covering what it can, generator 1 the deficit beyond it and
// generator 2 what generator 1 cannot. It returns the state and the fuel burnt.
func (c *DemoCamp) step(t time.Time, dt time.Duration, noise bool) (power, float64) {
	h := c.hourOf(t)
	cloud := 1.0
	jitter := func(x float64) float64 { return x }
	if noise {
		cloud = 0.8 + 0.2*c.rng.Float64()
		jitter = func(x float64) float64 { return x * (1 + (c.rng.Float64()-0.5)*0.04) }
	}
	p := power{solarA: 120 * sun(h) * cloud * 0.85, solarB: 80 * sun(h) * cloud * 0.85, load: jitter(loadAt(h))}
	hours := dt.Hours()
	const batteryKWh, batteryKW = 400.0, 60.0
	net := p.solarA + p.solarB - p.load // surplus (+) or deficit (−)
	soc := c.energy.soc
	if net > 0 {
		charge := math.Min(net, batteryKW)
		soc = math.Min(95, soc+charge*hours/batteryKWh*100)
		// What the battery cannot take is curtailed.
	} else {
		deficit := -net
		give := math.Min(deficit, batteryKW)
		if soc <= 30 {
			give = 0 // the battery is kept for the night's outages
		}
		soc = math.Max(20, soc-give*hours/batteryKWh*100)
		rest := deficit - give
		if rest > 0 {
			p.gen1 = math.Min(rest, 200)
			// Generator 1 runs at least at 40 kW: a diesel set never idles for long.
			p.gen1 = math.Max(p.gen1, 40)
			p.gen2 = math.Max(0, rest-200)
		}
	}
	c.energy.soc = soc
	p.soc = soc
	fuel := 0.0
	for _, g := range []float64{p.gen1, p.gen2} {
		if g > 0 {
			fuel += (2 + campLitresPerKWh*g) * hours // idle burn plus per kWh
		}
	}
	return p, fuel
}

// fuelRate is a running generator's burn in L/h.
func fuelRate(kw float64) float64 {
	if kw <= 0 {
		return 0
	}
	return 2 + campLitresPerKWh*kw
}

// waterUse is the camp's draw in L/min at hour h: morning and evening peaks
// over a base, scaled so that the day's draw is 72 L a person (below the
// camp's standard, as the dashboard shows).
func waterUse(h float64) float64 {
	mean := campPopulation * 72.0 / 1440
	// The profile's integral over the day, in hours: a base and two Gaussian peaks.
	hours := 0.45*24 + (1.1*1.5+0.9*1.8)*math.Sqrt(math.Pi)
	return mean * 24 / hours * (0.45 + 1.1*math.Exp(-math.Pow((h-7)/1.5, 2)) + 0.9*math.Exp(-math.Pow((h-18.5)/1.8, 2)))
}

// readingsAt returns one reading of every live utility sensor at t (perimeter
// detectors are not included: see perimeter), advancing the model by dt.
func (c *DemoCamp) readingsAt(t time.Time, dt time.Duration, noise bool) []bluehelm.Reading {
	p, fuel := c.step(t, dt, noise)
	h := c.hourOf(t)
	c.fuelLitres = math.Max(0, c.fuelLitres-fuel)
	use := waterUse(h) * dt.Minutes()
	// The treatment unit refills the tanks at night, when the camp draws little:
	// seven hours at the rate that makes up a day's draw.
	fill := 0.0
	if h < 5 || h >= 22 {
		fill = campPopulation * 72.0 / 7 * dt.Hours()
	}
	for i := range c.waterLitres {
		c.waterLitres[i] = math.Max(0, math.Min(waterTankLitres, c.waterLitres[i]+(fill-use)/2))
	}
	cold2 := 4 + 0.5*math.Sin(h/24*2*math.Pi)
	// The medical cold store's door is left open for a quarter of an hour at
	// 10:00 and 16:00: its temperature alarm is raised, and clears once it is
	// closed.
	if (h >= 10 && h < 10.25) || (h >= 16 && h < 16.25) {
		cold2 = 9.5
	}
	day := float64(t.In(c.loc).YearDay())
	chlorine := 0.5 + 0.08*math.Sin(h/24*2*math.Pi)
	r := func(sub string, v float64) bluehelm.Reading {
		s := c.sensor(sub)
		spec := s.Kind.Spec()
		v = math.Max(spec.Min, math.Min(spec.Max, v))
		return bluehelm.Reading{SensorCode: s.Code, Time: t.UTC(), Value: math.Round(v*100) / 100, Unit: spec.Unit}
	}
	out := []bluehelm.Reading{
		r("SOLAR-A", p.solarA), r("SOLAR-B", p.solarB),
		r("GEN-1", p.gen1), r("GEN-2", p.gen2),
		r("GEN-1-FUEL", fuelRate(p.gen1)), r("GEN-2-FUEL", fuelRate(p.gen2)),
		r("BATT", p.soc), r("LOAD", p.load),
		r("WTANK-1", c.waterLitres[0]/waterTankLitres*100), r("WTANK-2", c.waterLitres[1]/waterTankLitres*100),
		r("WFLOW", waterUse(h)), r("WQUAL", chlorine),
		r("FUEL-1", c.fuelLitres/fuelTankLitres*100),
		r("COLD-1", 3+0.4*math.Sin(h/24*2*math.Pi)), r("COLD-2", cold2),
		// The skip fills over a week and is emptied on Mondays.
		r("WASTE-1", 10+80*math.Mod(day+h/24, 7)/7),
	}
	return out
}

// --- readings --------------------------------------------------------------------------------

// backfill sends backfillDays of utility readings every backfillStep (and the
// perimeter detectors' quiet heartbeats every hour of the last day), so that the
// dashboard's charts and sparklines have a history from the first minute. The
// fuel tank's history follows the book.
func (c *DemoCamp) backfill(ctx context.Context, w CampWriter, by bluehelm.Principal, now time.Time) error {
	from := now.Add(-backfillDays * 24 * time.Hour).Truncate(backfillStep)
	c.energy.soc = 60
	c.waterLitres = [2]float64{0.6 * waterTankLitres, 0.55 * waterTankLitres}
	tank := c.fuelTank()
	var batch []bluehelm.Reading
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := w.IngestReadings(ctx, by, batch); err != nil {
			return fmt.Errorf("demo camp history: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	for t := from; t.Before(now); t = t.Add(backfillStep) {
		// A little evaporation and meter error: the reconciliation shows it.
		c.fuelLitres = tank(t) - 150
		rs := c.readingsAt(t, backfillStep, true)
		// The second waste sensor's battery died before the demo began: it has a
		// history, and then silence.
		batch = append(batch, rs...)
		batch = append(batch, bluehelm.Reading{SensorCode: c.sensor("WASTE-2").Code, Time: t.UTC(), Value: 35, Unit: "%"})
		if now.Sub(t) <= 24*time.Hour && t.Minute() == 0 {
			for _, s := range c.perimeterSensors() {
				batch = append(batch, bluehelm.Reading{SensorCode: s.Code, Time: t.UTC(), Value: 0, Unit: s.Unit})
			}
		}
		if len(batch) >= 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	// The last readings are the present's, so that no sensor looks silent until
	// the first live minute.
	c.fuelLitres = tank(now) - 150
	batch = append(batch, c.readingsAt(now, now.Sub(from.Add(time.Duration(int(now.Sub(from)/backfillStep))*backfillStep)), true)...)
	for _, s := range c.perimeterSensors() {
		batch = append(batch, bluehelm.Reading{SensorCode: s.Code, Time: now.UTC(), Value: 0, Unit: s.Unit})
	}
	c.lastStep = now
	// The first intrusion comes a few minutes into the demo, not a quarter hour in.
	c.lastIntrusion = now.Add(-c.IntrusionEvery + 3*time.Minute)
	return flush()
}

// fuelTank returns what the fuel tank held at any time of the month seeded: the
// book's receipts at once, and each morning's issue drawn evenly over the day
// before it (the issue books the previous day's metered burn), so that the level
// falls as smoothly as generators burn and the book agrees with it each morning.
func (c *DemoCamp) fuelTank() func(time.Time) float64 {
	movs := c.dieselMovs
	return func(t time.Time) float64 {
		v := 0.0
		for _, m := range movs {
			switch m.Kind {
			case bluehelm.MoveCount:
				if !m.Time.After(t) {
					v = m.Quantity
				}
			case bluehelm.MoveReceipt:
				if !m.Time.After(t) {
					v += m.Quantity
				}
			case bluehelm.MoveIssue:
				f := t.Sub(m.Time.Add(-24*time.Hour)).Hours() / 24
				v -= m.Quantity * math.Max(0, math.Min(1, f))
			}
		}
		return math.Max(0, v)
	}
}

func (c *DemoCamp) perimeterSensors() []*bluehelm.Sensor {
	var out []*bluehelm.Sensor
	for _, zs := range c.zoneSensors {
		out = append(out, zs...)
	}
	return out
}

// Step returns the readings of every live sensor at now: the utilities (the
// second waste sensor stays silent), every detector's heartbeat, now and then a
// lone trigger, and every IntrusionEvery detectors in two adjacent zones
// triggered seconds apart.
func (c *DemoCamp) Step(now time.Time) []bluehelm.Reading {
	dt := now.Sub(c.lastStep)
	if c.lastStep.IsZero() || dt <= 0 || dt > time.Hour {
		dt = campInterval
	}
	c.lastStep = now
	out := c.readingsAt(now, dt, true)
	triggered := map[string]float64{}
	// About one lone trigger every eight minutes: an animal, a gust on the fence.
	// Never within three minutes of another detection, so that two lone triggers
	// never add up to an intrusion nobody staged.
	if c.rng.Float64() < dt.Minutes()/8 && now.Sub(c.lastTrigger) >= 3*time.Minute && c.lastIntrusion.Add(c.IntrusionEvery).Sub(now) >= 3*time.Minute {
		c.lastTrigger = now
		zs := c.zoneSensors[c.rng.IntN(len(c.zoneSensors))]
		s := zs[c.rng.IntN(len(zs))]
		triggered[s.Code] = triggerValue(s, c.rng)
	}
	var late []bluehelm.Reading
	if now.Sub(c.lastIntrusion) >= c.IntrusionEvery {
		c.lastIntrusion = now
		c.lastTrigger = now
		c.Intrusions++
		pair := c.adjacent[c.rng.IntN(len(c.adjacent))]
		zb := c.zoneSensors[pair[1]]
		a := c.zoneSensors[pair[0]][c.rng.IntN(len(c.zoneSensors[pair[0]]))]
		i := c.rng.IntN(len(zb))
		b, b2 := zb[i], zb[(i+1+c.rng.IntN(len(zb)-1))%len(zb)]
		triggered[a.Code] = triggerValue(a, c.rng)
		// An intruder crossing the corner trips one detector of the first wall,
		// then, 20 and 40 s later, two of the next: the second detection
		// confirms the intrusion across the adjacent zones, and the third would
		// confirm it within the one zone even where adjacency is not known.
		late = append(late,
			bluehelm.Reading{SensorCode: b.Code, Time: now.UTC().Add(20 * time.Second), Value: triggerValue(b, c.rng), Unit: b.Unit},
			bluehelm.Reading{SensorCode: b2.Code, Time: now.UTC().Add(40 * time.Second), Value: triggerValue(b2, c.rng), Unit: b2.Unit})
	}
	for _, s := range c.perimeterSensors() {
		out = append(out, bluehelm.Reading{SensorCode: s.Code, Time: now.UTC(), Value: triggered[s.Code], Unit: s.Unit})
	}
	return append(out, late...)
}

// triggerValue is a detection: a count of events, or a camera's bearing.
func triggerValue(s *bluehelm.Sensor, rng *rand.Rand) float64 {
	if s.Kind == bluehelm.SensorCamera {
		return float64(1 + rng.IntN(359))
	}
	return float64(1 + rng.IntN(3))
}

// Run sends Step's readings every tick until ctx ends. A failed batch is
// reported through onErr and the demo goes on: a camp network drops messages too.
func (c *DemoCamp) Run(ctx context.Context, w CampWriter, tick time.Duration, onErr func(error)) {
	by := bluehelm.SystemPrincipal("demo-camp")
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			rs := c.Step(now)
			// Readings dated a few seconds ahead (the second detector of an
			// intrusion) wait until their time, as a device would send them.
			var due, later []bluehelm.Reading
			for _, r := range rs {
				if r.Time.After(now) {
					later = append(later, r)
				} else {
					due = append(due, r)
				}
			}
			if _, err := w.IngestReadings(ctx, by, due); err != nil && ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
			for _, r := range later {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(r.Time)):
				}
				if _, err := w.IngestReadings(ctx, by, []bluehelm.Reading{r}); err != nil && ctx.Err() == nil && onErr != nil {
					onErr(err)
				}
			}
		}
	}
}
