package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
)

// fakeCamp is the camp records and the reading path as the demo camp sees them:
// it checks every record as the domain does and keeps what it was given.
type fakeCamp struct {
	now      time.Time
	nextID   int64
	areas    map[int64]*bluehelm.Area
	sensors  map[string]*bluehelm.Sensor // by code
	rules    []*bluehelm.AlarmRule
	profile  *CampProfile
	assets   []*CampAsset
	items    map[int64]*bluehelm.StockItem
	balances map[int64]float64
	movs     map[int64][]bluehelm.StockMovement
	readings []bluehelm.Reading // accepted, SensorID set
	last     map[int64]time.Time
}

func newFakeCamp(now time.Time) *fakeCamp {
	return &fakeCamp{now: now, nextID: 100, areas: map[int64]*bluehelm.Area{}, sensors: map[string]*bluehelm.Sensor{},
		items: map[int64]*bluehelm.StockItem{}, balances: map[int64]float64{}, movs: map[int64][]bluehelm.StockMovement{}, last: map[int64]time.Time{}}
}

func (f *fakeCamp) id() int64 { f.nextID++; return f.nextID }

func (f *fakeCamp) CreateArea(_ context.Context, _ bluehelm.Principal, a *bluehelm.Area) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.ID = f.id()
	f.areas[a.ID] = a
	return nil
}

func (f *fakeCamp) CreateSensor(_ context.Context, _ bluehelm.Principal, s *bluehelm.Sensor) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if _, dup := f.sensors[s.Code]; dup {
		return bluehelm.Invalid("code", "%s is taken", s.Code)
	}
	if s.ZoneID != 0 && f.areas[s.ZoneID] == nil {
		return bluehelm.Invalid("zone_id", "unknown zone %d", s.ZoneID)
	}
	s.ID = f.id()
	f.sensors[s.Code] = s
	return nil
}

func (f *fakeCamp) sensorByID(id int64) *bluehelm.Sensor {
	for _, s := range f.sensors {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func (f *fakeCamp) CreateAlarmRule(_ context.Context, _ bluehelm.Principal, r *bluehelm.AlarmRule) error {
	if err := r.Validate(f.sensorByID(r.SensorID)); err != nil {
		return err
	}
	r.ID = f.id()
	f.rules = append(f.rules, r)
	return nil
}

func (f *fakeCamp) SetCampProfile(_ context.Context, _ bluehelm.Principal, p *CampProfile) error {
	f.profile = p
	return nil
}

func (f *fakeCamp) CreateAsset(_ context.Context, _ bluehelm.Principal, a *CampAsset) error {
	for _, id := range a.SensorIDs {
		if f.sensorByID(id) == nil {
			return bluehelm.Invalid("sensor_ids", "unknown sensor %d", id)
		}
	}
	a.ID = f.id()
	f.assets = append(f.assets, a)
	return nil
}

func (f *fakeCamp) CreateStockItem(_ context.Context, _ bluehelm.Principal, it *bluehelm.StockItem) error {
	if err := it.Validate(); err != nil {
		return err
	}
	it.ID = f.id()
	f.items[it.ID] = it
	return nil
}

func (f *fakeCamp) AddStockMovement(_ context.Context, _ bluehelm.Principal, m *bluehelm.StockMovement) error {
	if err := m.Validate(f.now); err != nil {
		return err
	}
	if f.items[m.ItemID] == nil {
		return bluehelm.Invalid("item_id", "unknown item")
	}
	// Movements arrive in time order, so the running balance is the book's.
	if n := len(f.movs[m.ItemID]); n > 0 && m.Time.Before(f.movs[m.ItemID][n-1].Time) {
		return bluehelm.Invalid("time", "movement out of order")
	}
	bal, err := m.Apply(f.balances[m.ItemID])
	if err != nil {
		return err
	}
	f.balances[m.ItemID] = bal
	f.movs[m.ItemID] = append(f.movs[m.ItemID], *m)
	return nil
}

func (f *fakeCamp) IngestReadings(_ context.Context, _ bluehelm.Principal, rs []bluehelm.Reading) (int, error) {
	for i, r := range rs {
		s := f.sensors[r.SensorCode]
		if err := r.Validate(s, f.now); err != nil {
			return 0, fmt.Errorf("reading %d (%s at %s): %w", i, r.SensorCode, r.Time.Format(time.RFC3339), err)
		}
		if !r.Time.After(f.last[s.ID]) {
			return 0, fmt.Errorf("reading %d (%s): %s is not after the sensor's last reading", i, r.SensorCode, r.Time.Format(time.RFC3339))
		}
		f.last[s.ID] = r.Time
		r.SensorID = s.ID
		f.readings = append(f.readings, r)
	}
	return len(rs), nil
}

func (f *fakeCamp) sensorList() []*bluehelm.Sensor {
	out := make([]*bluehelm.Sensor, 0, len(f.sensors))
	for _, s := range f.sensors {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// seededCamp lays the demo camp out on a fake at now, as the demo does.
func seededCamp(t *testing.T, now time.Time) (*DemoCamp, *fakeCamp) {
	t.Helper()
	f := newFakeCamp(now)
	scen := SouthSudan(1)
	campArea := &bluehelm.Area{Name: "UNMISS base Juba", Kind: bluehelm.AreaCamp, Geometry: square(scen.Camps[0].Point, 0.008),
		Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	if err := f.CreateArea(context.Background(), bluehelm.SystemPrincipal("t"), campArea); err != nil {
		t.Fatal(err)
	}
	c := NewDemoCamp(scen.Camps[0], 7, 2*time.Hour)
	if err := c.Seed(context.Background(), f, campArea.ID, now); err != nil {
		t.Fatal(err)
	}
	return c, f
}

// demoNow is 20:00 in Juba: generators run, the sun is down.
var demoNow = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)

func TestDemoCampSeed(t *testing.T) {
	c, f := seededCamp(t, demoNow)

	t.Run("zones and adjacency", func(t *testing.T) {
		if len(c.Zones) < 4 || len(f.profile.ZoneIDs) != len(c.Zones) {
			t.Fatalf("%d zones, profile lists %d", len(c.Zones), len(f.profile.ZoneIDs))
		}
		for _, p := range f.profile.AdjacentZones {
			if !slices.Contains(f.profile.ZoneIDs, p[0]) || !slices.Contains(f.profile.ZoneIDs, p[1]) || p[0] == p[1] {
				t.Errorf("adjacency %v names a zone the camp does not have", p)
			}
		}
		// Every zone touches another, or an intruder there could never be confirmed
		// by a second zone.
		for _, z := range f.profile.ZoneIDs {
			if !slices.ContainsFunc(f.profile.AdjacentZones, func(p [2]int64) bool { return p[0] == z || p[1] == z }) {
				t.Errorf("zone %d is adjacent to none", z)
			}
		}
		if f.profile.Population <= 0 || f.profile.WaterStandardLPD <= 0 || len(f.profile.Escalation) == 0 {
			t.Errorf("profile %+v lacks population, water standard or escalation", f.profile)
		}
	})

	t.Run("sensors of every kind", func(t *testing.T) {
		if n := len(f.sensors); n < 36 || n > 50 {
			t.Errorf("%d sensors, want about forty", n)
		}
		kinds := map[bluehelm.SensorKind]int{}
		for _, s := range f.sensors {
			kinds[s.Kind]++
			if s.CampID != c.CampID {
				t.Errorf("%s in camp %d, not %d", s.Code, s.CampID, c.CampID)
			}
		}
		for _, k := range bluehelm.SensorKinds {
			if kinds[k] == 0 {
				t.Errorf("no %s sensor", k)
			}
		}
		if kinds[bluehelm.SensorGeneratorKW] != 2 {
			t.Errorf("%d generator power sensors, want 2", kinds[bluehelm.SensorGeneratorKW])
		}
		for i := range c.Zones {
			if len(c.zoneSensors[i]) < 3 {
				t.Errorf("zone %s has %d detectors", zoneNames[i], len(c.zoneSensors[i]))
			}
		}
	})

	t.Run("rules of every kind", func(t *testing.T) {
		kinds := map[bluehelm.AlarmKind]bool{}
		for _, r := range f.rules {
			kinds[r.Kind] = true
		}
		for _, k := range bluehelm.AlarmKinds {
			if !kinds[k] {
				t.Errorf("no %s rule", k)
			}
		}
	})

	t.Run("one generator due for service", func(t *testing.T) {
		var due, notDue []string
		for _, a := range f.assets {
			if a.Kind != "generator" {
				continue
			}
			for _, p := range a.ServicePlans {
				if p.AssetID != a.ID {
					t.Errorf("%s: plan %q names asset %d", a.Name, p.Task, p.AssetID)
				}
				if _, ok := p.Due(a.HourMeterBase, 18, demoNow); ok {
					due = append(due, a.Name+": "+p.Task)
				} else {
					notDue = append(notDue, a.Name+": "+p.Task)
				}
			}
		}
		if len(due) != 1 || len(notDue) == 0 {
			t.Errorf("due %q, not due %q: want exactly one service within its lead", due, notDue)
		}
		kinds := map[string]bool{}
		for _, a := range f.assets {
			kinds[a.Kind] = true
		}
		for _, k := range []string{"generator", "solar_array", "battery", "water_tank", "fuel_tank", "cold_store", "tower", "camera"} {
			if !kinds[k] {
				t.Errorf("no %s asset", k)
			}
		}
	})

	t.Run("stock cover", func(t *testing.T) {
		loc := time.FixedZone("camp", 7200)
		for _, it := range f.items {
			movs := f.movs[it.ID]
			bal, err := camp.Balance(movs)
			if err != nil {
				t.Fatalf("%s: %v", it.Name, err)
			}
			from := demoNow.AddDate(0, 0, -stockDays)
			m := camp.FitConsumption(camp.DailyIssues(movs, from, stockDays, loc), from, loc)
			sup := camp.ProjectSupply(it, bal, m, demoNow, 0)
			t.Logf("%s: balance %.0f %s, %.1f days of supply (minimum %.0f)", it.Name, bal, it.Unit, sup.DaysOfSupply, it.MinDaysOfSupply)
			switch it.Kind {
			case bluehelm.StockDiesel:
				// Heading for its minimum: above it today, below it within five days.
				if sup.DaysOfSupply <= it.MinDaysOfSupply || sup.DaysOfSupply > it.MinDaysOfSupply+5 {
					t.Errorf("diesel: %.1f days of supply, want between %.0f and %.0f", sup.DaysOfSupply, it.MinDaysOfSupply, it.MinDaysOfSupply+5)
				}
				if len(movs) < stockDays {
					t.Errorf("diesel: %d movements, want a month of them", len(movs))
				}
			default:
				if sup.Reorder {
					t.Errorf("%s below its minimum: only diesel should be short", it.Name)
				}
			}
		}
	})

	t.Run("history of readings", func(t *testing.T) {
		if len(f.readings) < 10000 {
			t.Fatalf("%d readings of history", len(f.readings))
		}
		solar := f.sensors[code("SOLAR-A")].ID
		var night, noon float64
		for _, r := range f.readings {
			if r.SensorID != solar {
				continue
			}
			switch h := c.hourOf(r.Time); {
			case h < 5:
				night = math.Max(night, r.Value)
			case h >= 12 && h < 13:
				noon = math.Max(noon, r.Value)
			}
		}
		if night != 0 || noon < 50 {
			t.Errorf("solar A: %.1f kW at night, %.1f kW at noon; want 0 and a good share of 120", night, noon)
		}
		// The fuel tank agrees with the book within a little more than a day's burn.
		fuel := f.sensors[code("FUEL-1")]
		var level float64
		for _, r := range f.readings {
			if r.SensorID == fuel.ID {
				level = r.Value
			}
		}
		book := 0.0
		for _, it := range f.items {
			if it.Kind == bluehelm.StockDiesel {
				book = f.balances[it.ID]
			}
		}
		rec := camp.Reconcile(book, []float64{level}, []float64{fuel.CapacityLitres}, 0.05)
		if rec.Alarm {
			t.Errorf("tank %.0f L against a book of %.0f L: the demo's tank and book disagree", rec.SensorLitres, book)
		}
	})
}

// TestDemoCampLive plays a day of live readings into the real alarm engine and
// checks what the demo promises: the sun and the generators follow the day, the
// fuel tank drains, the cold store's door raises and clears its alarm, a dead
// sensor goes stale, lone triggers stay lone, and every quarter of an hour an
// intrusion is confirmed across two adjacent zones.
func TestDemoCampLive(t *testing.T) {
	for _, tc := range []struct {
		name     string
		adjacent bool
	}{
		{"zone adjacency known", true},
		// The engine confirms within one zone too: the demo's intruder trips two
		// detectors of the second wall, so intrusions show without adjacency.
		{"zone adjacency unknown", false},
	} {
		t.Run(tc.name, func(t *testing.T) { playDemoDay(t, tc.adjacent) })
	}
}

func playDemoDay(t *testing.T, adjacent bool) {
	c, f := seededCamp(t, demoNow)
	var rules []bluehelm.AlarmRule
	for _, r := range f.rules {
		rules = append(rules, *r)
	}
	cfg := camp.Config{Sensors: f.sensorList(), Rules: rules}
	if adjacent {
		cfg.AdjacentZones = f.profile.AdjacentZones
	}
	eng := camp.NewEngine(cfg)
	for _, r := range f.readings {
		eng.Observe(r)
	}
	history := len(f.readings)
	zoneOf := map[int64]int64{}
	for _, s := range f.sensors {
		zoneOf[s.ID] = s.ZoneID
	}
	near := func(a, b int64) bool {
		return a == b || slices.ContainsFunc(f.profile.AdjacentZones, func(p [2]int64) bool { return p == [2]int64{a, b} || p == [2]int64{b, a} })
	}

	raised := map[string]int{}
	cleared := map[string]int{}
	var fuelFirst, fuelLast, waterLitres float64
	type sample struct{ solar, gen, load float64 }
	hours := map[int]*sample{}
	start := demoNow.Add(time.Minute)
	for i := range 24 * 60 {
		now := start.Add(time.Duration(i) * time.Minute)
		f.now = now.Add(time.Minute)
		rs := c.Step(now)
		if _, err := f.IngestReadings(context.Background(), bluehelm.SystemPrincipal("t"), rs); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		byTime := f.readings[len(f.readings)-len(rs):]
		sort.SliceStable(byTime, func(a, b int) bool { return byTime[a].Time.Before(byTime[b].Time) })
		var alarms []camp.Alarm
		for _, r := range byTime {
			alarms = append(alarms, eng.Observe(r)...)
			switch f.sensorByID(r.SensorID).Code {
			case code("FUEL-1"):
				if fuelFirst == 0 {
					fuelFirst = r.Value
				}
				fuelLast = r.Value
			case code("WFLOW"):
				waterLitres += r.Value // L/min, one reading a minute
			}
		}
		alarms = append(alarms, eng.Tick(now.Add(30*time.Second))...)
		for _, a := range alarms {
			key := string(a.Kind) + "/" + a.Rule
			if a.Kind != bluehelm.AlarmPerimeter {
				key = string(a.Kind) + "/" + f.sensorByID(a.SensorID).Code
			}
			if a.State == camp.AlarmRaised {
				raised[key]++
			} else {
				cleared[key]++
			}
			if a.Rule == camp.RuleIntrusion && a.State == camp.AlarmRaised {
				if len(a.SensorIDs) < 2 || !near(zoneOf[a.SensorIDs[0]], zoneOf[a.SensorIDs[1]]) {
					t.Errorf("intrusion at %s confirmed by %v: not two sensors in adjacent zones", a.At.Format(time.TimeOnly), a.SensorIDs)
				}
			}
		}
		h := now.In(c.loc).Hour()
		if hours[h] == nil {
			hours[h] = &sample{}
		}
		for _, r := range byTime {
			switch f.sensorByID(r.SensorID).Kind {
			case bluehelm.SensorSolarKW:
				hours[h].solar += r.Value
			case bluehelm.SensorGeneratorKW:
				hours[h].gen += r.Value
			case bluehelm.SensorLoadKW:
				hours[h].load += r.Value
			}
		}
	}
	t.Logf("%d readings of history, %d live; raised %v; cleared %v", history, len(f.readings)-history, raised, cleared)

	for _, tc := range []struct {
		key      string
		min, max int
	}{
		{"perimeter/" + camp.RuleIntrusion, 96, 96}, // one a quarter hour, and no lone triggers adding up to more
		{"perimeter/" + camp.RuleSingleTrigger, 50, 1000},
		{"threshold/" + code("COLD-2"), 2, 2}, // the door, at 10:00 and 16:00
		{"stale/" + code("WASTE-2"), 1, 1},
		{"rate/" + code("FUEL-1"), 0, 0}, // the generators' burn is no theft
		{"threshold/" + code("FUEL-1"), 0, 0},
		{"stale/" + code("LOAD"), 0, 0},
	} {
		if n := raised[tc.key]; n < tc.min || n > tc.max {
			t.Errorf("%s raised %d times in a day, want %d to %d", tc.key, n, tc.min, tc.max)
		}
	}
	if cleared["threshold/"+code("COLD-2")] != 2 {
		t.Errorf("the cold store's alarm cleared %d times, want 2 (once the door is shut)", cleared["threshold/"+code("COLD-2")])
	}
	// The camp draws 72 L a person a day, below its standard of 84.
	if lpd := waterLitres / campPopulation; math.Abs(lpd-72) > 2 {
		t.Errorf("water: %.1f L per person in a day, want 72", lpd)
	}
	if !(fuelLast < fuelFirst) {
		t.Errorf("fuel tank went from %.2f %% to %.2f %% in a day without a delivery; want it to drain", fuelFirst, fuelLast)
	}
	// Local hours: solar at noon, none at night; at night the generators carry
	// the load, less what the battery gives (at most 60 kW).
	if hours[12].solar <= 0 || hours[2].solar != 0 {
		t.Errorf("solar %.0f at noon, %.0f at 02:00 (sums of the hour)", hours[12].solar, hours[2].solar)
	}
	for _, h := range []int{0, 2, 4, 21, 23} {
		s := hours[h]
		if s.gen < s.load-60*60 {
			t.Errorf("%02d:00: generators %.0f kW·min against a load of %.0f kW·min: the deficit is not covered", h, s.gen, s.load)
		}
	}
}

// TestDemoCampResume: a demo restarted on its data directory finds its camp's
// sensors by code, zone by zone, and goes on from the tanks' last levels.
func TestDemoCampResume(t *testing.T) {
	seeded, f := seededCamp(t, demoNow)
	last := map[int64]bluehelm.Reading{}
	for _, r := range f.readings {
		last[r.SensorID] = r
	}
	tests := []struct {
		name    string
		sensors []*bluehelm.Sensor
		want    bool
	}{
		{"all sensors", f.sensorList(), true},
		{"fuel tank missing", slices.DeleteFunc(f.sensorList(), func(s *bluehelm.Sensor) bool { return s.Code == code("FUEL-1") }), false},
		{"no camp", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewDemoCamp(seeded.Base, 9, 2*time.Hour)
			if got := c.Resume(tc.sensors, last, demoNow.Add(time.Hour)); got != tc.want {
				t.Fatalf("Resume = %v, want %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			if c.CampID != seeded.CampID {
				t.Errorf("camp %d, want %d", c.CampID, seeded.CampID)
			}
			for i := range seeded.zoneSensors {
				var want, got []string
				for _, s := range seeded.zoneSensors[i] {
					want = append(want, s.Code)
				}
				for _, s := range c.zoneSensors[i] {
					got = append(got, s.Code)
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("zone %s: %q, want %q", zoneNames[i], got, want)
				}
			}
			if math.Abs(c.fuelLitres-seeded.fuelLitres) > 0.01*fuelTankLitres {
				t.Errorf("fuel tank resumes at %.0f L, was %.0f L", c.fuelLitres, seeded.fuelLitres)
			}
			if rs := c.Step(demoNow.Add(time.Hour + time.Minute)); len(rs) < len(f.sensors)-1 {
				t.Errorf("a step after resuming sends %d readings for %d sensors", len(rs), len(f.sensors))
			}
		})
	}
}
