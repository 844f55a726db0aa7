package camp

import (
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

var t0 = time.Date(2026, 11, 16, 6, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const (
	campID = 1
	// zones of the worked examples: 10 and 11 touch (the north fence and the
	// north gate), 12 is the south fence across the camp.
	zoneNorth, zoneGate, zoneSouth = 10, 11, 12
)

func sensor(id int64, kind bluehelm.SensorKind, zone int64, interval int) *bluehelm.Sensor {
	return &bluehelm.Sensor{ID: id, Code: "S" + string(rune('A'+id%26)), Kind: kind, CampID: campID, ZoneID: zone,
		Unit: kind.Spec().Unit, IntervalSeconds: interval}
}

func rd(id int64, d time.Duration, v float64) bluehelm.Reading {
	return bluehelm.Reading{SensorID: id, Time: at(d), Value: v}
}

// step is one reading fed to the engine and the alarm states it must produce
// ("" for none), as "raised" / "cleared" per alarm in order.
type step struct {
	r    bluehelm.Reading
	want []AlarmState
}

func run(t *testing.T, e *Engine, steps []step) {
	t.Helper()
	for i, s := range steps {
		got := e.Observe(s.r)
		var states []AlarmState
		for _, a := range got {
			states = append(states, a.State)
		}
		if !slices.Equal(states, s.want) {
			t.Fatalf("step %d (value %v at %s): got %v, want %v (%+v)", i, s.r.Value, s.r.Time.Sub(t0), states, s.want, got)
		}
	}
}

var (
	raised  = []AlarmState{AlarmRaised}
	cleared = []AlarmState{AlarmCleared}
)

// TestThresholdHysteresis: cold store, high limit 8 °C, hysteresis 2 °C: raised
// at ≥ 8, cleared at ≤ 6. Noise of ±0.5 °C around 8 must not flap.
//
//	7.9 → nothing; 8.0 → raised; 7.6, 8.4, 7.5, 8.2, 6.1 → nothing (still
//	above 6); 6.0 → cleared; 7.9 → nothing (below 8); 8.1 → raised again.
//
// Low side, battery 20 % with 5 % hysteresis: raised at ≤ 20, cleared at ≥ 25.
func TestThresholdHysteresis(t *testing.T) {
	cases := []struct {
		name  string
		kind  bluehelm.SensorKind
		side  bluehelm.Side
		level float64
		hyst  float64
		steps []step
	}{
		{"high with noise", bluehelm.SensorColdStoreTemp, bluehelm.SideHigh, 8, 2, []step{
			{rd(1, 0, 7.9), nil}, {rd(1, 1*time.Minute, 8.0), raised},
			{rd(1, 2*time.Minute, 7.6), nil}, {rd(1, 3*time.Minute, 8.4), nil}, {rd(1, 4*time.Minute, 7.5), nil},
			{rd(1, 5*time.Minute, 8.2), nil}, {rd(1, 6*time.Minute, 6.1), nil},
			{rd(1, 7*time.Minute, 6.0), cleared}, {rd(1, 8*time.Minute, 7.9), nil}, {rd(1, 9*time.Minute, 8.1), raised},
		}},
		{"low side", bluehelm.SensorBatterySoC, bluehelm.SideLow, 20, 5, []step{
			{rd(1, 0, 30), nil}, {rd(1, time.Minute, 20), raised}, {rd(1, 2*time.Minute, 22), nil},
			{rd(1, 3*time.Minute, 18), nil}, {rd(1, 4*time.Minute, 24.9), nil}, {rd(1, 5*time.Minute, 25), cleared},
		}},
		{"no hysteresis clears at the level", bluehelm.SensorWasteFillLevel, bluehelm.SideHigh, 90, 0, []step{
			{rd(1, 0, 90), raised}, {rd(1, time.Minute, 90), cleared},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewEngine(Config{Sensors: []*bluehelm.Sensor{sensor(1, c.kind, 1, 60)},
				Rules: []bluehelm.AlarmRule{{ID: 5, Kind: bluehelm.AlarmThreshold, CampID: campID, SensorID: 1,
					Side: c.side, Level: c.level, Hysteresis: c.hyst, Severity: bluehelm.SevWarning}}})
			run(t, e, c.steps)
		})
	}
}

// TestRateOfChange: fuel tank level, rule "falling faster than 2 %/h over 30 min,
// clears at ≤ 1 %/h". The rate is judged once samples span ≥ 15 min.
//
//	normal burn 0.5 %/h: 80.0 at 0, 79.875 at 15 min → −0.5 %/h: nothing.
//	theft: 79.75 at 30 min, then 78.0 at 45 min: window [15, 45] →
//	  (78.0 − 79.875) / 0.5 h = −3.75 %/h > 2 → raised (once; 77.0 at 50 min
//	  is −2.875/0.5833 h ≈ −4.9 %/h, still raised, nothing new).
//	settles: 76.9 at 80 min: window [50, 80] starts with 77.0 at 50 min →
//	  (76.9 − 77.0) / 0.5 h = −0.2 %/h ≤ 2 − 1 → cleared (once; 76.85 at 95 min
//	  is (76.85 − 76.9) / 0.25 h = −0.2 %/h, nothing new).
//	A single noisy pair seconds apart (first 15 min) is never judged.
func TestRateOfChange(t *testing.T) {
	e := NewEngine(Config{Sensors: []*bluehelm.Sensor{sensor(1, bluehelm.SensorFuelLevel, 1, 60)},
		Rules: []bluehelm.AlarmRule{{ID: 6, Kind: bluehelm.AlarmRate, CampID: campID, SensorID: 1, Side: bluehelm.SideLow,
			Level: 2, Hysteresis: 1, WindowSeconds: 1800, Severity: bluehelm.SevCritical}}})
	run(t, e, []step{
		{rd(1, 0, 80.0), nil},
		{rd(1, 10*time.Second, 79.0), nil}, // −360 %/h over 10 s, but the span is too short to judge
		{rd(1, 15*time.Minute, 79.875), nil},
		{rd(1, 30*time.Minute, 79.75), nil},
		{rd(1, 45*time.Minute, 78.0), raised},
		{rd(1, 50*time.Minute, 77.0), nil},
		{rd(1, 80*time.Minute, 76.9), cleared},
		{rd(1, 95*time.Minute, 76.85), nil},
	})
}

// TestStale: interval 60 s, factor 3 → stale after 180 s of silence. A sensor
// never heard from counts from the first Tick. Raised once, cleared by the next
// reading.
func TestStale(t *testing.T) {
	e := NewEngine(Config{
		Sensors: []*bluehelm.Sensor{sensor(1, bluehelm.SensorWaterFlow, 1, 60), sensor(2, bluehelm.SensorWaterFlow, 1, 60)},
		Rules: []bluehelm.AlarmRule{
			{ID: 7, Kind: bluehelm.AlarmStale, CampID: campID, SensorID: 1, StaleFactor: 3, Severity: bluehelm.SevWarning},
			{ID: 8, Kind: bluehelm.AlarmStale, CampID: campID, SensorID: 2, Severity: bluehelm.SevWarning},
		}})
	ticks := []struct {
		d    time.Duration
		feed bool    // sensor 1 reports at d before the tick
		want []int64 // sensors raised stale
	}{
		{0, false, nil},
		{100 * time.Second, true, nil},
		{180 * time.Second, false, nil}, // sensor 2: exactly 3 × 60 s, not yet beyond
		{181 * time.Second, false, []int64{2}},
		{280 * time.Second, false, nil},        // sensor 1: 180 s since 100 s
		{281 * time.Second, false, []int64{1}}, // 181 s > 180 s
		{400 * time.Second, false, nil},        // once only
	}
	for _, tk := range ticks {
		if tk.feed {
			if got := e.Observe(rd(1, tk.d, 5)); len(got) != 0 {
				t.Fatalf("reading of a fresh sensor raised %v", got)
			}
		}
		var ids []int64
		for _, a := range e.Tick(at(tk.d)) {
			if a.State != AlarmRaised || a.Kind != bluehelm.AlarmStale {
				t.Fatalf("unexpected %+v", a)
			}
			ids = append(ids, a.SensorID)
		}
		if !slices.Equal(ids, tk.want) {
			t.Fatalf("tick %s: stale %v, want %v", tk.d, ids, tk.want)
		}
	}
	got := e.Observe(rd(1, 410*time.Second, 5))
	if len(got) != 1 || got[0].State != AlarmCleared || got[0].SensorID != 1 {
		t.Fatalf("reading after silence: %+v, want one cleared", got)
	}
}

// TestPerimeterCorrelation: window 60 s; zones north and gate touch, south is
// across the camp.
func TestPerimeterCorrelation(t *testing.T) {
	sensors := []*bluehelm.Sensor{
		sensor(1, bluehelm.SensorPIR, zoneNorth, 300),
		sensor(2, bluehelm.SensorFence, zoneGate, 300),
		sensor(3, bluehelm.SensorSeismic, zoneSouth, 300),
		sensor(4, bluehelm.SensorCamera, zoneNorth, 300),
	}
	type want struct {
		state    AlarmState
		rule     string
		severity bluehelm.Severity
		ids      []int64
	}
	single := func(id int64) want { return want{AlarmRaised, RuleSingleTrigger, bluehelm.SevInfo, []int64{id}} }
	quiet := func(id int64) want { return want{AlarmCleared, RuleSingleTrigger, bluehelm.SevInfo, []int64{id}} }
	confirmed := func(a, b int64) want { return want{AlarmRaised, RuleIntrusion, bluehelm.SevCritical, []int64{a, b}} }
	cases := []struct {
		name  string
		feed  []bluehelm.Reading
		wants [][]want // per reading
	}{
		{"adjacent zones within the window: confirmed",
			[]bluehelm.Reading{rd(1, 0, 1), rd(2, 40*time.Second, 1)},
			[][]want{{single(1)}, {confirmed(1, 2)}}},
		{"same zone, two sensors: confirmed",
			[]bluehelm.Reading{rd(1, 0, 1), rd(4, 10*time.Second, 137)},
			[][]want{{single(1)}, {confirmed(1, 4)}}},
		{"adjacent zones far apart in time: two low alerts",
			[]bluehelm.Reading{rd(1, 0, 1), rd(2, 61*time.Second, 1)},
			[][]want{{single(1)}, {quiet(1), single(2)}}},
		{"zones across the camp: two low alerts",
			[]bluehelm.Reading{rd(1, 0, 1), rd(3, 5*time.Second, 1)},
			[][]want{{single(1)}, {single(3)}}},
		{"one sensor firing repeatedly is not a second sensor",
			[]bluehelm.Reading{rd(1, 0, 1), rd(1, 5*time.Second, 1), rd(1, 10*time.Second, 1), rd(1, 2*time.Minute, 1)},
			[][]want{{single(1)}, nil, nil, {quiet(1), single(1)}}},
		{"a zero value is no trigger",
			[]bluehelm.Reading{rd(1, 0, 0), rd(2, 10*time.Second, 1)},
			[][]want{nil, {single(2)}}},
		{"an intrusion moving on is one alarm",
			[]bluehelm.Reading{rd(1, 0, 1), rd(2, 20*time.Second, 1), rd(4, 50*time.Second, 1), rd(1, 70*time.Second, 1)},
			[][]want{{single(1)}, {confirmed(1, 2)}, nil, {quiet(1)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewEngine(Config{Sensors: sensors, AdjacentZones: [][2]int64{{zoneNorth, zoneGate}},
				Rules: []bluehelm.AlarmRule{{ID: 9, Kind: bluehelm.AlarmPerimeter, CampID: campID, WindowSeconds: 60, Severity: bluehelm.SevInfo}}})
			for i, r := range c.feed {
				got := e.Observe(r)
				if len(got) != len(c.wants[i]) {
					t.Fatalf("reading %d: got %+v, want %v", i, got, c.wants[i])
				}
				for j, a := range got {
					w := c.wants[i][j]
					ids := a.SensorIDs
					if ids == nil {
						ids = []int64{a.SensorID}
					}
					if a.Rule != w.rule || a.Severity != w.severity || !slices.Equal(ids, w.ids) || a.State != w.state {
						t.Fatalf("reading %d: got %+v, want %+v", i, a, w)
					}
				}
			}
		})
	}
}

// TestPerimeterClears: window 60 s. Sensor 1 (north) at 0 and sensor 2 (gate)
// at 20 s confirm an intrusion; sensor 2 again at 50 s extends it. Tick at
// 110 s: sensor 1 quiet since 0 → its lone alarm cleared, stamped 60 s; the
// intrusion's last trigger was 50 s, 60 s ago, not beyond the window → open.
// Tick 1 ns later: the intrusion cleared, stamped 110 s, with both sensors.
func TestPerimeterClears(t *testing.T) {
	e := NewEngine(Config{Sensors: []*bluehelm.Sensor{sensor(1, bluehelm.SensorPIR, zoneNorth, 300), sensor(2, bluehelm.SensorFence, zoneGate, 300)},
		AdjacentZones: [][2]int64{{zoneNorth, zoneGate}},
		Rules:         []bluehelm.AlarmRule{{ID: 9, Kind: bluehelm.AlarmPerimeter, CampID: campID, WindowSeconds: 60, Severity: bluehelm.SevInfo}}})
	for _, r := range []bluehelm.Reading{rd(1, 0, 1), rd(2, 20*time.Second, 1), rd(2, 50*time.Second, 1)} {
		e.Observe(r)
	}
	ticks := []struct {
		d     time.Duration
		rules []string
		at    []time.Duration
	}{
		{110 * time.Second, []string{RuleSingleTrigger}, []time.Duration{60 * time.Second}},
		{110*time.Second + 1, []string{RuleIntrusion}, []time.Duration{110 * time.Second}},
		{200 * time.Second, nil, nil},
	}
	for _, tk := range ticks {
		var rules []string
		var ats []time.Duration
		for _, a := range e.Tick(at(tk.d)) {
			if a.State != AlarmCleared {
				t.Fatalf("tick %s: %+v", tk.d, a)
			}
			if a.Rule == RuleIntrusion && !slices.Equal(a.SensorIDs, []int64{1, 2}) {
				t.Fatalf("intrusion cleared with sensors %v", a.SensorIDs)
			}
			rules, ats = append(rules, a.Rule), append(ats, a.At.Sub(t0))
		}
		if !slices.Equal(rules, tk.rules) || !slices.Equal(ats, tk.at) {
			t.Fatalf("tick %s: cleared %v at %v, want %v at %v", tk.d, rules, ats, tk.rules, tk.at)
		}
	}
}

func TestEngineBadOrder(t *testing.T) {
	e := NewEngine(Config{Sensors: []*bluehelm.Sensor{sensor(1, bluehelm.SensorColdStoreTemp, 1, 60)},
		Rules: []bluehelm.AlarmRule{{ID: 5, Kind: bluehelm.AlarmThreshold, CampID: campID, SensorID: 1, Side: bluehelm.SideHigh, Level: 8, Severity: bluehelm.SevWarning}}})
	tests := []struct {
		name string
		r    bluehelm.Reading
		want Stats
	}{
		{"first", rd(1, time.Minute, 5), Stats{Observed: 1}},
		{"unknown sensor", rd(99, time.Minute, 5), Stats{Observed: 1, UnknownSensor: 1}},
		{"older than the last: not evaluated", rd(1, 0, 20), Stats{Observed: 1, UnknownSensor: 1, OutOfOrder: 1}},
		{"same time is a duplicate, evaluated", rd(1, time.Minute, 5), Stats{Observed: 2, UnknownSensor: 1, OutOfOrder: 1}},
	}
	for _, tc := range tests {
		if got := e.Observe(tc.r); len(got) != 0 {
			t.Fatalf("%s: alarms %+v", tc.name, got)
		}
		if e.Stats() != tc.want {
			t.Fatalf("%s: stats %+v, want %+v", tc.name, e.Stats(), tc.want)
		}
	}
	if tm, v, ok := e.Last(1); !ok || v != 5 || !tm.Equal(at(time.Minute)) {
		t.Fatalf("last %v %v %v", tm, v, ok)
	}
}
