// Package camp is the pure logic of camp telemetry and resources: the alarm rules
// engine, minute and hour roll-ups, stock balances and consumption forecasts,
// energy and water figures and maintenance due dates. It does no I/O and reads
// no clock: the caller passes every time in, so that the same readings always
// give the same alarms (in tests, in replays, on every node).
package camp

import (
	"fmt"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// AlarmState says whether an alarm starts or ends.
type AlarmState string

const (
	AlarmRaised  AlarmState = "raised"
	AlarmCleared AlarmState = "cleared"
)

// Perimeter alarm rules, in Alarm.Rule.
const (
	RuleSingleTrigger = "single_trigger"
	RuleIntrusion     = "confirmed_intrusion"
)

// Alarm is a change of an alarm's state: raised once when its condition starts and
// cleared once when it ends, so that the caller can open and close one alert per
// alarm without deduplicating.
type Alarm struct {
	RuleID   int64              `json:"rule_id"`
	Kind     bluehelm.AlarmKind `json:"kind"`
	Rule     string             `json:"rule,omitempty"` // within a perimeter rule: single_trigger or confirmed_intrusion
	State    AlarmState         `json:"state"`
	Severity bluehelm.Severity  `json:"severity"`
	CampID   int64              `json:"camp_id"`
	ZoneID   int64              `json:"zone_id,omitempty"`
	SensorID int64              `json:"sensor_id,omitempty"`
	// SensorIDs are the perimeter sensors whose triggers confirmed an intrusion.
	SensorIDs []int64   `json:"sensor_ids,omitempty"`
	At        time.Time `json:"at"`
	Value     float64   `json:"value"` // the reading, rate per hour or silence in seconds
	Message   string    `json:"message"`
}

// Key identifies the alarm within its rule: one open alert per key.
func (a Alarm) Key() string {
	if a.Kind == bluehelm.AlarmPerimeter && a.Rule == RuleIntrusion {
		return fmt.Sprintf("%d/%s/%d", a.RuleID, a.Rule, a.SensorIDs[0])
	}
	return fmt.Sprintf("%d/%s/%d", a.RuleID, a.Rule, a.SensorID)
}

// Config is what the engine watches.
type Config struct {
	Sensors []*bluehelm.Sensor
	Rules   []bluehelm.AlarmRule
	// AdjacentZones lists pairs of camp zones that touch: an intruder crossing
	// from one into the other trips sensors in both.
	AdjacentZones [][2]int64
}

// Stats counts what the engine did not use.
type Stats struct {
	Observed      int64 // readings applied
	UnknownSensor int64 // readings of sensors the engine does not know
	OutOfOrder    int64 // readings older than the sensor's last one: not evaluated
}

// Engine evaluates alarm rules on readings. It keeps per-sensor state (last
// value, whether each threshold is active, the rate window) so that each
// reading costs a map look-up and a few comparisons. It is not safe for
// concurrent use: the ingest pipeline owns one per partition of sensors.
type Engine struct {
	sensors  map[int64]*sensorState
	camps    map[int64]*perimeterState
	campIDs  []int64 // perimeter rules' camps, in rule order, so Tick's output is stable
	adjacent map[[2]int64]bool
	stale    []*staleState
	started  time.Time // the first Tick: the baseline for sensors never heard from
	stats    Stats
}

type sensorState struct {
	sensor    *bluehelm.Sensor
	seen      bool
	lastTime  time.Time
	lastValue float64
	levels    []*levelState
	rates     []*rateState
	stale     []*staleState
	perimeter *perimeterState
}

type levelState struct {
	rule   bluehelm.AlarmRule
	active bool
}

type sample struct {
	t int64 // unix nanoseconds
	v float64
}

type rateState struct {
	rule   bluehelm.AlarmRule
	window int64 // nanoseconds
	buf    []sample
	head   int
	active bool
}

type staleState struct {
	rule   bluehelm.AlarmRule
	sensor *sensorState
	limit  time.Duration
	active bool
}

type trigger struct {
	sensor int64
	zone   int64
	at     time.Time
}

type perimeterState struct {
	rule   bluehelm.AlarmRule
	window time.Duration
	recent []trigger // triggers within the window, oldest first
	// lone holds the open single-trigger alarms by sensor: a detector that fires
	// every second for a minute raises one alarm, not sixty, and it clears once
	// the detector has been quiet for a window.
	lone map[int64]*loneTrigger
	// confirmed are the open intrusions: a new trigger near one within the
	// window extends it rather than raising another.
	confirmed []*intrusion
}

type loneTrigger struct {
	sensor *sensorState
	last   time.Time
}

type intrusion struct {
	raised  Alarm
	zones   map[int64]bool
	sensors []int64
	last    time.Time
}

// NewEngine builds an engine. Rules are assumed validated against their sensors;
// rules about unknown sensors, and disabled rules, are ignored.
func NewEngine(cfg Config) *Engine {
	e := &Engine{
		sensors:  make(map[int64]*sensorState, len(cfg.Sensors)),
		camps:    map[int64]*perimeterState{},
		adjacent: map[[2]int64]bool{},
	}
	for _, s := range cfg.Sensors {
		e.sensors[s.ID] = &sensorState{sensor: s}
	}
	for _, p := range cfg.AdjacentZones {
		e.adjacent[[2]int64{p[0], p[1]}] = true
		e.adjacent[[2]int64{p[1], p[0]}] = true
	}
	for _, r := range cfg.Rules {
		if r.Disabled {
			continue
		}
		if r.Kind == bluehelm.AlarmPerimeter {
			e.camps[r.CampID] = &perimeterState{rule: r, window: r.Window(), lone: map[int64]*loneTrigger{}}
			e.campIDs = append(e.campIDs, r.CampID)
			continue
		}
		st := e.sensors[r.SensorID]
		if st == nil {
			continue
		}
		switch r.Kind {
		case bluehelm.AlarmThreshold:
			st.levels = append(st.levels, &levelState{rule: r})
		case bluehelm.AlarmRate:
			st.rates = append(st.rates, &rateState{rule: r, window: int64(r.Window())})
		case bluehelm.AlarmStale:
			ss := &staleState{rule: r, sensor: st, limit: time.Duration(float64(st.sensor.Interval()) * r.Factor())}
			st.stale = append(st.stale, ss)
			e.stale = append(e.stale, ss)
		}
	}
	for _, st := range e.sensors {
		if st.sensor.Kind.Perimeter() {
			st.perimeter = e.camps[st.sensor.CampID]
		}
	}
	return e
}

// Stats returns the counters.
func (e *Engine) Stats() Stats { return e.stats }

// Observe applies one validated reading and returns the alarms it raises or
// clears. Readings of one sensor must come in time order: a reading older than
// the sensor's last is counted and not evaluated, because a rate or a hysteresis
// state computed from a reading in the past would be wrong for the present.
// (Roll-ups still take it; see Rollups.)
func (e *Engine) Observe(r bluehelm.Reading) []Alarm {
	st := e.sensors[r.SensorID]
	if st == nil {
		e.stats.UnknownSensor++
		return nil
	}
	if st.seen && r.Time.Before(st.lastTime) {
		e.stats.OutOfOrder++
		return nil
	}
	e.stats.Observed++
	st.seen, st.lastTime, st.lastValue = true, r.Time, r.Value
	var out []Alarm
	for _, ss := range st.stale {
		if ss.active {
			ss.active = false
			out = append(out, e.alarm(ss.rule, st, AlarmCleared, r.Time, r.Value,
				fmt.Sprintf("%s reports again", st.sensor.Code)))
		}
	}
	for _, ls := range st.levels {
		out = ls.observe(e, st, r, out)
	}
	for _, rs := range st.rates {
		out = rs.observe(e, st, r, out)
	}
	if st.perimeter != nil && r.Value > 0 {
		out = st.perimeter.observe(e, st, r, out)
	}
	return out
}

func (e *Engine) alarm(rule bluehelm.AlarmRule, st *sensorState, state AlarmState, at time.Time, v float64, msg string) Alarm {
	return Alarm{RuleID: rule.ID, Kind: rule.Kind, State: state, Severity: rule.Severity, CampID: st.sensor.CampID,
		ZoneID: st.sensor.ZoneID, SensorID: st.sensor.ID, At: at, Value: v, Message: msg}
}

// observe applies the threshold with hysteresis: a high rule fires at v ≥ level
// and clears at v ≤ level − hysteresis; a low rule fires at v ≤ level and clears
// at v ≥ level + hysteresis. Between the two the state holds, so noise smaller
// than the hysteresis cannot make it flap.
func (ls *levelState) observe(e *Engine, st *sensorState, r bluehelm.Reading, out []Alarm) []Alarm {
	rule := ls.rule
	var fire, clear bool
	if rule.Side == bluehelm.SideHigh {
		fire, clear = r.Value >= rule.Level, r.Value <= rule.Level-rule.Hysteresis
	} else {
		fire, clear = r.Value <= rule.Level, r.Value >= rule.Level+rule.Hysteresis
	}
	unit := st.sensor.Unit
	switch {
	case !ls.active && fire:
		ls.active = true
		return append(out, e.alarm(rule, st, AlarmRaised, r.Time, r.Value,
			fmt.Sprintf("%s at %g %s (%s limit %g)", st.sensor.Code, r.Value, unit, rule.Side, rule.Level)))
	case ls.active && clear:
		ls.active = false
		return append(out, e.alarm(rule, st, AlarmCleared, r.Time, r.Value,
			fmt.Sprintf("%s back to %g %s", st.sensor.Code, r.Value, unit)))
	}
	return out
}

// observe applies the rate rule. The rate is the change per hour between the
// oldest sample within the window and this one, judged only once the samples span
// at least half the window: two readings a second apart with a little noise
// between them would otherwise be an absurd rate per hour.
func (rs *rateState) observe(e *Engine, st *sensorState, r bluehelm.Reading, out []Alarm) []Alarm {
	t := r.Time.UnixNano()
	// drop samples that have left the window; compact when the dead prefix is large
	for rs.head < len(rs.buf) && rs.buf[rs.head].t < t-rs.window {
		rs.head++
	}
	if rs.head > 64 && rs.head*2 > len(rs.buf) {
		n := copy(rs.buf, rs.buf[rs.head:])
		rs.buf, rs.head = rs.buf[:n], 0
	}
	rs.buf = append(rs.buf, sample{t, r.Value})
	first := rs.buf[rs.head]
	span := t - first.t
	if span*2 < rs.window {
		return out
	}
	perHour := (r.Value - first.v) / (float64(span) / float64(time.Hour))
	rule := rs.rule
	rate := perHour // the rate in the rule's direction: rising for high, falling for low
	if rule.Side == bluehelm.SideLow {
		rate = -perHour
	}
	switch {
	case !rs.active && rate > rule.Level:
		rs.active = true
		return append(out, e.alarm(rule, st, AlarmRaised, r.Time, rate,
			fmt.Sprintf("%s %s at %.3g %s/h (limit %g)", st.sensor.Code, direction(rule.Side), rate, st.sensor.Unit, rule.Level)))
	case rs.active && rate <= rule.Level-rule.Hysteresis:
		rs.active = false
		return append(out, e.alarm(rule, st, AlarmCleared, r.Time, rate,
			fmt.Sprintf("%s %s at %.3g %s/h again", st.sensor.Code, direction(rule.Side), rate, st.sensor.Unit)))
	}
	return out
}

func direction(s bluehelm.Side) string {
	if s == bluehelm.SideLow {
		return "falling"
	}
	return "rising"
}

func (e *Engine) near(a, b int64) bool { return a == b || e.adjacent[[2]int64{a, b}] }

// observe correlates a perimeter trigger with the camp's recent ones. A trigger
// from another sensor in the same or an adjacent zone within the window confirms
// an intrusion (critical, once: later triggers near it extend it). Otherwise it is
// a lone trigger, raised at the rule's severity once per sensor until the sensor
// has been quiet for a window.
func (ps *perimeterState) observe(e *Engine, st *sensorState, r bluehelm.Reading, out []Alarm) []Alarm {
	s := st.sensor
	out = ps.expire(r.Time, out)
	cut := r.Time.Add(-ps.window)
	i := 0
	for i < len(ps.recent) && ps.recent[i].at.Before(cut) {
		i++
	}
	ps.recent = append(ps.recent[:0], ps.recent[i:]...)
	defer func() { ps.recent = append(ps.recent, trigger{s.ID, s.ZoneID, r.Time}) }()

	for _, in := range ps.confirmed {
		for z := range in.zones {
			if e.near(z, s.ZoneID) {
				in.zones[s.ZoneID], in.last = true, r.Time
				if !containsID(in.sensors, s.ID) {
					in.sensors = append(in.sensors, s.ID)
				}
				return out
			}
		}
	}
	for j := len(ps.recent) - 1; j >= 0; j-- {
		o := ps.recent[j]
		if o.sensor == s.ID || !e.near(o.zone, s.ZoneID) {
			continue
		}
		a := Alarm{RuleID: ps.rule.ID, Kind: bluehelm.AlarmPerimeter, Rule: RuleIntrusion, State: AlarmRaised,
			Severity: bluehelm.SevCritical, CampID: s.CampID, ZoneID: s.ZoneID, SensorID: s.ID,
			SensorIDs: []int64{o.sensor, s.ID}, At: r.Time, Value: r.Value,
			Message: fmt.Sprintf("confirmed intrusion: %s and sensor %d within %s", s.Code, o.sensor, r.Time.Sub(o.at))}
		ps.confirmed = append(ps.confirmed, &intrusion{raised: a, zones: map[int64]bool{o.zone: true, s.ZoneID: true},
			sensors: []int64{o.sensor, s.ID}, last: r.Time})
		return append(out, a)
	}
	if l := ps.lone[s.ID]; l != nil {
		l.last = r.Time
		return out
	}
	ps.lone[s.ID] = &loneTrigger{sensor: st, last: r.Time}
	a := e.alarm(ps.rule, st, AlarmRaised, r.Time, r.Value, fmt.Sprintf("%s triggered", s.Code))
	a.Rule = RuleSingleTrigger
	return append(out, a)
}

// expire clears the perimeter alarms quiet for longer than the window at now.
// A cleared alarm carries the moment it went quiet (its last trigger plus the
// window), not now, so the record does not depend on how often Tick runs.
func (ps *perimeterState) expire(now time.Time, out []Alarm) []Alarm {
	cut := now.Add(-ps.window)
	live := ps.confirmed[:0]
	for _, in := range ps.confirmed {
		if !in.last.Before(cut) {
			live = append(live, in)
			continue
		}
		a := in.raised
		a.State, a.At, a.SensorIDs = AlarmCleared, in.last.Add(ps.window), in.sensors
		a.Message = fmt.Sprintf("intrusion quiet for %s", ps.window)
		out = append(out, a)
	}
	clear(ps.confirmed[len(live):])
	ps.confirmed = live
	var quiet []int64
	for id, l := range ps.lone {
		if l.last.Before(cut) {
			quiet = append(quiet, id)
		}
	}
	slices.Sort(quiet)
	for _, id := range quiet {
		l := ps.lone[id]
		delete(ps.lone, id)
		a := Alarm{RuleID: ps.rule.ID, Kind: bluehelm.AlarmPerimeter, Rule: RuleSingleTrigger, State: AlarmCleared,
			Severity: ps.rule.Severity, CampID: l.sensor.sensor.CampID, ZoneID: l.sensor.sensor.ZoneID, SensorID: id,
			At: l.last.Add(ps.window), Message: fmt.Sprintf("%s quiet for %s", l.sensor.sensor.Code, ps.window)}
		out = append(out, a)
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Tick raises stale alarms for sensors silent beyond their interval × factor at
// now, and clears perimeter alarms quiet for their window. A sensor never heard
// from counts from the first Tick, so a sensor that is registered but never
// reports is found too.
func (e *Engine) Tick(now time.Time) []Alarm {
	if e.started.IsZero() {
		e.started = now
	}
	var out []Alarm
	for _, id := range e.campIDs {
		out = e.camps[id].expire(now, out)
	}
	for _, ss := range e.stale {
		if ss.active {
			continue
		}
		last := ss.sensor.lastTime
		if !ss.sensor.seen {
			last = e.started
		}
		if silent := now.Sub(last); silent > ss.limit {
			ss.active = true
			out = append(out, e.alarm(ss.rule, ss.sensor, AlarmRaised, now, silent.Seconds(),
				fmt.Sprintf("%s silent for %s (expected every %s)", ss.sensor.sensor.Code, silent.Round(time.Second), ss.sensor.sensor.Interval())))
		}
	}
	return out
}

// Last returns a sensor's last reading time and value (ok false when none).
func (e *Engine) Last(sensorID int64) (time.Time, float64, bool) {
	st := e.sensors[sensorID]
	if st == nil || !st.seen {
		return time.Time{}, 0, false
	}
	return st.lastTime, st.lastValue, true
}
