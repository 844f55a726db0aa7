package ingest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
)

// readingPath is the pipeline's state for camp sensors: the sensors and rules
// in force, the one alarm engine and the roll-ups, the committer and the alarm
// queue. It is built on first use (readingPath), from the store.
type readingPath struct {
	p *Pipeline

	// mu guards sensors, byCode and rules (read on every reading; written when
	// a sensor or rule changes).
	mu      sync.RWMutex
	sensors map[int64]*bluehelm.Sensor
	byCode  map[string]*bluehelm.Sensor
	rules   []bluehelm.AlarmRule

	// emu guards the engine, the roll-ups, last and closed: the committer
	// holds it while it evaluates a group, the timers while they tick.
	emu     sync.Mutex
	engine  *camp.Engine
	rollups *camp.Rollups
	last    map[int64]bluehelm.Reading
	closed  []camp.Aggregate // closed buckets not yet stored

	commits chan *commitReq
	alarms  chan alarmItem

	amu  sync.Mutex
	auth map[string]*authEntry

	bmu sync.Mutex
	bad map[string]*badTally

	// open maps an alarm's identity (rule/key) to its open or acknowledged
	// alert. Only the alarm loop touches it. It spares a scan of the open alerts
	// for every alarm, which made a burst of alarms (the first readings of a
	// camp) slow to drain; it is filled from the store on first use.
	open       map[string]int64
	openLoaded bool

	m readingMetrics
}

// sensorPath holds the reading path on the Pipeline; built once, on first use.
type sensorPath struct {
	mu sync.Mutex
	rp *readingPath
}

// alarmItem is one entry of the alarm queue.
type alarmItem struct {
	alarm    camp.Alarm
	bad      *bluehelm.QuarantinedReading // a sensor that keeps sending bad data
	accepted time.Time                    // when the reading was stored
	sync     chan struct{}                // a marker: closed when reached
	resolve  *bluehelm.Alert              // an alert to resolve (reconciliation)
	why      string
}

// readingPath returns the reading path, loading it from the store the first
// time.
func (p *Pipeline) readingPath(ctx context.Context) (*readingPath, error) {
	p.sensors.mu.Lock()
	defer p.sensors.mu.Unlock()
	if p.sensors.rp != nil {
		return p.sensors.rp, nil
	}
	rp := &readingPath{p: p, last: map[int64]bluehelm.Reading{}, commits: make(chan *commitReq, 1024),
		alarms: make(chan alarmItem, alarmQueue), auth: map[string]*authEntry{}, bad: map[string]*badTally{},
		rollups: camp.NewRollups(0)}
	rp.m = newReadingMetrics(func() float64 { return float64(len(rp.alarms)) })
	// The loops live as long as the process: they hold no resource but two
	// goroutines, and a pipeline is built once per process.
	go rp.commitLoop()
	go rp.alarmLoop()
	if err := rp.load(ctx, true); err != nil {
		return nil, fmt.Errorf("loading sensors: %w", err)
	}
	if r := p.opts.Registerer; r != nil {
		r.MustRegister(rp.m.accepted, rp.m.rejected, rp.m.duplicates, rp.m.outOfOrder, rp.m.late, rp.m.alarms, rp.m.latency, rp.m.queue)
	}
	p.sensors.rp = rp
	return rp, nil
}

// LoadSensors builds the reading path from the store: sensors, alarm rules, the
// engine replayed from recent readings and the open roll-up buckets rebuilt
// from raw readings, so that a restart leaves no hole. Call it once before
// serving (IngestReadings does it on first use otherwise).
func (p *Pipeline) LoadSensors(ctx context.Context) error {
	_, err := p.readingPath(ctx)
	return err
}

// load reads sensors and rules and rebuilds the engine; at start it also
// rebuilds the roll-ups.
func (rp *readingPath) load(ctx context.Context, start bool) error {
	p := rp.p
	ss, err := p.store.Sensors(ctx)
	if err != nil {
		return err
	}
	rules, err := p.store.AlarmRules(ctx, 0)
	if err != nil {
		return err
	}
	sensors := make(map[int64]*bluehelm.Sensor, len(ss))
	byCode := make(map[string]*bluehelm.Sensor, len(ss))
	for _, s := range ss {
		sensors[s.ID], byCode[s.Code] = s, s
	}
	rs := make([]bluehelm.AlarmRule, 0, len(rules))
	for _, r := range rules {
		rs = append(rs, *r)
	}
	// Which zones touch is in the camp profiles: an intruder crossing a wall
	// trips detectors on both sides, and only then is the pair one intrusion.
	profiles, err := p.store.CampProfiles(ctx)
	if err != nil {
		return err
	}
	var adjacent [][2]int64
	for _, pr := range profiles {
		adjacent = append(adjacent, pr.AdjacentZones...)
	}
	now := p.now()
	// What to replay, at start. For the engine: the last hour or two
	// (hysteresis, rate windows up to that); more would make a restart of a busy
	// camp slow, and a longer rate window starts empty. For the roll-ups: everything
	// after each sensor's last stored hour bucket, which may be open, or closed
	// but not stored when the process stopped (an hour bucket is stored in the
	// same write as its last minutes, so a stored hour has all its minutes).
	from := now.Truncate(time.Hour).Add(-time.Hour)
	since := map[int64]time.Time{}
	if start {
		hours, err := p.store.Rollups(ctx, nil, bluehelm.RollupHour, now.Add(-bluehelm.MaxReadingAge), time.Time{})
		if err != nil {
			return err
		}
		rp.emu.Lock()
		for _, h := range hours {
			s := sensors[h.SensorID]
			if s == nil {
				continue
			}
			if l, ok := rp.last[h.SensorID]; !ok || h.LastTime.After(l.Time) {
				// the last reading of sensors silent since before the replay
				rp.last[h.SensorID] = bluehelm.Reading{SensorID: s.ID, SensorCode: s.Code, Unit: s.Unit, Time: h.LastTime, Value: h.Last}
			}
			if end := h.Start.Add(time.Hour); end.After(since[h.SensorID]) {
				since[h.SensorID] = end
			}
		}
		rp.emu.Unlock()
	}
	var replay []bluehelm.Reading
	for _, s := range ss {
		if !start {
			// A reload (a sensor or rule changed) replays each sensor's last
			// reading only: reading the recent history of every sensor again
			// for each change made registering a few hundred sensors on a
			// busy camp take minutes. Rate windows start again empty.
			break
		}
		f := since[s.ID]
		if f.IsZero() {
			f = now.Add(-bluehelm.MaxReadingAge)
		}
		since[s.ID] = f
		got, err := p.store.Readings(ctx, s.ID, minTime(f, from), time.Time{}, 100_000)
		if err != nil {
			return err
		}
		replay = append(replay, got...)
	}
	// A sensor's last reading before the replay still decides its threshold
	// state: replay it first, so a level alarm of a sensor that reports rarely
	// survives a reload.
	heard := map[int64]bool{}
	for _, r := range replay {
		heard[r.SensorID] = true
	}
	rebuild := replay // the roll-ups take stored readings only
	rp.emu.Lock()
	for id, l := range rp.last {
		if !heard[id] {
			replay = append(replay, l)
		}
	}
	rp.emu.Unlock()
	byTime := func(a, b bluehelm.Reading) int { return a.Time.Compare(b.Time) }
	slices.SortStableFunc(rebuild, byTime)
	replay = slices.Clone(replay)
	slices.SortStableFunc(replay, byTime)

	rp.mu.Lock()
	rp.sensors, rp.byCode, rp.rules = sensors, byCode, rs
	rp.mu.Unlock()

	rp.emu.Lock()
	eng := camp.NewEngine(camp.Config{Sensors: ss, Rules: rs, AdjacentZones: adjacent})
	active := map[string]camp.Alarm{}
	apply := func(as []camp.Alarm) {
		for _, a := range as {
			if a.State == camp.AlarmRaised {
				active[a.Key()] = a
			} else {
				delete(active, a.Key())
			}
		}
	}
	for _, r := range replay {
		apply(eng.Observe(r))
		if l, ok := rp.last[r.SensorID]; !ok || r.Time.After(l.Time) {
			rp.last[r.SensorID] = r
		}
	}
	apply(eng.Tick(now))
	rp.engine = eng
	var closed []camp.Aggregate
	if start {
		ru := camp.NewRollups(0)
		for _, r := range rebuild {
			if f, ok := since[r.SensorID]; ok && !r.Time.Before(f) {
				c, _ := ru.Add(r)
				closed = append(closed, c...)
			}
		}
		closed = append(closed, ru.Flush(now)...)
		rp.rollups = ru
	}
	rp.emu.Unlock()

	if start {
		if err := p.store.AppendRollups(ctx, toRollups(closed)); err != nil {
			return err
		}
	}
	inForce := map[int64]bool{}
	for _, r := range rs {
		if !r.Disabled {
			inForce[r.ID] = true
		}
	}
	return rp.reconcile(ctx, active, start, inForce)
}

// reconcile makes the open sensor alerts agree with a rebuilt engine: alarms
// active after the replay are raised (raiseOnce keeps the open alert), and open
// threshold, rate and stale alerts whose alarm is no longer active are resolved.
// Perimeter alerts are left to people, as always.
//
// After a reload (not a start) a rate rule's window is empty, so its state is
// unknown: its open alert is kept unless the rule is gone.
func (rp *readingPath) reconcile(ctx context.Context, active map[string]camp.Alarm, start bool, rules map[int64]bool) error {
	p := rp.p
	open, err := p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("sensor"),
		States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 1000})
	if err != nil {
		return err
	}
	for _, a := range open {
		if a.Source != bluehelm.AlertSensor || a.Key == "" {
			continue
		}
		switch bluehelm.AlarmKind(a.Rule) {
		case bluehelm.AlarmThreshold, bluehelm.AlarmRate, bluehelm.AlarmStale:
		default:
			continue
		}
		ruleID, _, _ := strings.Cut(a.Key, "/")
		id, _ := strconv.ParseInt(ruleID, 10, 64)
		if !start && bluehelm.AlarmKind(a.Rule) == bluehelm.AlarmRate && rules[id] {
			continue
		}
		if _, ok := active[a.Key]; !ok {
			rp.alarms <- alarmItem{resolve: a, why: "cleared: the condition no longer holds (rules reloaded)"}
		}
	}
	keys := make([]string, 0, len(active))
	for k, a := range active {
		// A replayed perimeter trigger is history: if someone resolved its
		// alert, raising it again would be a false alarm.
		if a.Kind != bluehelm.AlarmPerimeter {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		rp.alarms <- alarmItem{alarm: active[k]}
	}
	return nil
}

func toRollups(as []camp.Aggregate) []bluehelm.SensorRollup {
	out := make([]bluehelm.SensorRollup, 0, len(as))
	for _, a := range as {
		out = append(out, bluehelm.SensorRollup{SensorID: a.SensorID, Resolution: bluehelm.ResolutionOf(a.Resolution),
			Start: a.Start, Count: a.Count, Min: a.Min, Max: a.Max, Sum: a.Sum, Last: a.Last, LastTime: a.LastTime})
	}
	return out
}

// reload rebuilds the engine after a sensor or rule changed. The committer is
// paused meanwhile by emu.
func (rp *readingPath) reload(ctx context.Context) {
	if err := rp.load(ctx, false); err != nil {
		rp.p.log.Error("reloading the alarm engine", "err", err)
	}
}

// enqueue puts an item on the alarm queue, waiting while it is full: a burst
// of alarms slows ingestion down rather than losing an alarm.
func (rp *readingPath) enqueue(ctx context.Context, it alarmItem) {
	select {
	case rp.alarms <- it:
	case <-ctx.Done():
		// The caller gave up; the alarm still must not be lost.
		rp.alarms <- it
	}
}

// SyncSensorAlarms waits until every alarm queued before the call has become an
// alert (tests, the benchmark, and shutdown).
func (p *Pipeline) SyncSensorAlarms(ctx context.Context) error {
	rp, err := p.readingPath(ctx)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	select {
	case rp.alarms <- alarmItem{sync: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (rp *readingPath) alarmLoop() {
	ctx := context.Background()
	for it := range rp.alarms {
		switch {
		case it.sync != nil:
			close(it.sync)
			continue
		case it.resolve != nil:
			rp.resolve(ctx, it.resolve, it.why)
		case it.bad != nil:
			rp.raiseBadData(ctx, it.bad)
		default:
			rp.handleAlarm(ctx, it.alarm)
		}
		if !it.accepted.IsZero() && it.resolve == nil {
			rp.m.latency.Observe(time.Since(it.accepted).Seconds())
		}
	}
}

// alertOf turns an alarm into an alert as the contract says: source sensor,
// rule = alarm kind (or the perimeter sub-rule), key = alarm.Key(), area = the
// camp, location = the sensor (an intrusion: the midpoint of its sensors).
func (rp *readingPath) alertOf(a camp.Alarm) *bluehelm.Alert {
	rp.mu.RLock()
	s := rp.sensors[a.SensorID]
	var pts []bluehelm.Point
	for _, id := range a.SensorIDs {
		if o := rp.sensors[id]; o != nil {
			pts = append(pts, o.Position)
		}
	}
	rule := ""
	for _, r := range rp.rules {
		if r.ID == a.RuleID {
			rule = r.Name
		}
	}
	rp.mu.RUnlock()
	al := &bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: string(a.Kind), Key: a.Key(), Severity: a.Severity,
		AreaID: a.CampID, Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	if a.Kind == bluehelm.AlarmPerimeter {
		al.Rule = a.Rule
	}
	code := fmt.Sprintf("sensor %d", a.SensorID)
	if s != nil {
		code, al.Marking = s.Code, s.Marking
		pos := s.Position
		al.Location = &pos
	}
	if len(pts) > 1 {
		var mid bluehelm.Point
		for _, pt := range pts {
			mid.Lon += pt.Lon / float64(len(pts))
			mid.Lat += pt.Lat / float64(len(pts))
		}
		al.Location = &mid
	}
	switch {
	case a.Rule == camp.RuleIntrusion:
		al.Title = fmt.Sprintf("Confirmed intrusion at %s", code)
	case a.Rule == camp.RuleSingleTrigger:
		al.Title = fmt.Sprintf("Perimeter sensor %s triggered", code)
	case a.Kind == bluehelm.AlarmThreshold:
		al.Title = fmt.Sprintf("%s out of limits", code)
	case a.Kind == bluehelm.AlarmRate:
		al.Title = fmt.Sprintf("%s changing too fast", code)
	case a.Kind == bluehelm.AlarmStale:
		al.Title = fmt.Sprintf("%s has stopped reporting", code)
	default:
		al.Title = fmt.Sprintf("%s alarm", code)
	}
	al.Detail = a.Message + "."
	if rule != "" {
		al.Detail = fmt.Sprintf("%s (rule %q).", a.Message, rule)
	}
	return al
}

func openKey(a *bluehelm.Alert) string { return a.Rule + "|" + a.Key }

// loadOpen fills the open-alert map from the store (once; again after an error).
func (rp *readingPath) loadOpen(ctx context.Context) bool {
	if rp.openLoaded {
		return true
	}
	open, err := rp.p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("sensor"),
		States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 1000})
	if err != nil {
		rp.p.log.Error("loading open sensor alerts", "err", err)
		return false
	}
	rp.open = map[string]int64{}
	for _, o := range open {
		if o.Source == bluehelm.AlertSensor {
			rp.open[openKey(o)] = o.ID
		}
	}
	rp.openLoaded = true
	return true
}

// openAlert returns the open or acknowledged alert of the alarm, if any: one
// read by id, since a person may have resolved it meanwhile.
func (rp *readingPath) openAlert(ctx context.Context, al *bluehelm.Alert) *bluehelm.Alert {
	id, ok := rp.open[openKey(al)]
	if !ok {
		return nil
	}
	cur, err := rp.p.store.Alert(ctx, id)
	if err != nil || cur.State == bluehelm.AlertResolved {
		delete(rp.open, openKey(al))
		return nil
	}
	return cur
}

// raise raises the alarm's alert unless it is still open (raiseOnce's rule,
// from the map rather than a scan of every open alert).
func (rp *readingPath) raise(ctx context.Context, al *bluehelm.Alert) {
	if !rp.loadOpen(ctx) {
		rp.p.raiseOnce(ctx, "sensor", al)
		return
	}
	if rp.openAlert(ctx, al) != nil {
		return
	}
	if err := rp.p.RaiseAlert(ctx, bluehelm.SystemPrincipal("sensor"), al); err != nil {
		rp.p.log.Error("raising a sensor alert", "err", err, "title", al.Title)
		return
	}
	rp.open[openKey(al)] = al.ID
}

func (rp *readingPath) handleAlarm(ctx context.Context, a camp.Alarm) {
	rp.m.alarms.WithLabelValues(string(a.Kind), string(a.State)).Inc()
	al := rp.alertOf(a)
	if a.State == camp.AlarmRaised {
		rp.raise(ctx, al)
		return
	}
	if a.Kind == bluehelm.AlarmPerimeter {
		return // an intrusion is closed by a person who has looked, never by silence
	}
	if !rp.loadOpen(ctx) {
		return
	}
	if cur := rp.openAlert(ctx, al); cur != nil {
		rp.resolve(ctx, cur, "cleared: "+a.Message)
	}
}

func (rp *readingPath) resolve(ctx context.Context, a *bluehelm.Alert, why string) {
	if _, err := rp.p.ResolveAlert(ctx, bluehelm.SystemPrincipal("sensor"), a.ID, 0, why); err != nil && bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		rp.p.log.Error("resolving a sensor alert", "err", err, "alert", a.ID)
		return
	}
	if rp.open[openKey(a)] == a.ID {
		delete(rp.open, openKey(a))
	}
}

func (rp *readingPath) raiseBadData(ctx context.Context, q *bluehelm.QuarantinedReading) {
	rp.mu.RLock()
	s := rp.sensors[q.SensorID]
	rp.mu.RUnlock()
	al := &bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: "bad_data", Key: q.SensorCode, Severity: bluehelm.SevInfo,
		Title:   fmt.Sprintf("Sensor %s keeps sending bad readings", q.SensorCode),
		Detail:  fmt.Sprintf("%d readings refused within %s; the latest: %s (%s). The refused readings are in the quarantine.", badDataAlertAfter, badDataWindow, q.Reason, q.Field),
		Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	if s != nil {
		al.AreaID, al.Marking = s.CampID, s.Marking
		pos := s.Position
		al.Location = &pos
	}
	rp.raise(ctx, al)
}

// SensorRunOptions tune RunSensors.
type SensorRunOptions struct {
	TickEvery  time.Duration // stale checks and perimeter expiry; 0: 10 s
	FlushEvery time.Duration // closed roll-up buckets stored; 0: 10 s
	// Retention; zero keeps forever.
	RawRetention    time.Duration
	MinuteRetention time.Duration
	HourRetention   time.Duration
	PruneEvery      time.Duration // 0: 1 h
}

// RunSensors does the reading path's periodic work until ctx ends: the engine's
// clock (stale sensors, quiet perimeter alarms), storing closed roll-up
// buckets, and retention. It stores the closed buckets once more on the way out.
func (p *Pipeline) RunSensors(ctx context.Context, o SensorRunOptions) error {
	if _, err := p.readingPath(ctx); err != nil {
		return err
	}
	if o.TickEvery <= 0 {
		o.TickEvery = 10 * time.Second
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 10 * time.Second
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	tick := time.NewTicker(o.TickEvery)
	flush := time.NewTicker(o.FlushEvery)
	prune := time.NewTicker(o.PruneEvery)
	defer tick.Stop()
	defer flush.Stop()
	defer prune.Stop()
	p.PruneSensors(ctx, o)
	for {
		select {
		case <-ctx.Done():
			p.FlushRollups(context.WithoutCancel(ctx))
			_ = p.SyncSensorAlarms(context.WithoutCancel(ctx))
			return nil
		case <-tick.C:
			p.TickSensors(ctx)
		case <-flush.C:
			p.FlushRollups(ctx)
		case <-prune.C:
			p.PruneSensors(ctx, o)
		}
	}
}

// TickSensors runs the engine's clock once at p.now (RunSensors does it on a
// timer; tests with a fake clock call it).
func (p *Pipeline) TickSensors(ctx context.Context) {
	rp, err := p.readingPath(ctx)
	if err != nil {
		p.log.Error("sensor tick", "err", err)
		return
	}
	rp.emu.Lock()
	alarms := rp.engine.Tick(p.now())
	rp.emu.Unlock()
	now := time.Now()
	for _, a := range alarms {
		rp.enqueue(ctx, alarmItem{alarm: a, accepted: now})
	}
}

// FlushRollups stores the roll-up buckets closed by readings or by the clock.
// A failed write keeps them for the next flush.
func (p *Pipeline) FlushRollups(ctx context.Context) {
	rp, err := p.readingPath(ctx)
	if err != nil {
		p.log.Error("flushing roll-ups", "err", err)
		return
	}
	rp.emu.Lock()
	rp.closed = append(rp.closed, rp.rollups.Flush(p.now())...)
	out := rp.closed
	rp.closed = nil
	rp.emu.Unlock()
	if len(out) == 0 {
		return
	}
	if err := p.store.AppendRollups(ctx, toRollups(out)); err != nil {
		p.log.Error("storing roll-ups", "err", err, "buckets", len(out))
		rp.emu.Lock()
		rp.closed = append(out, rp.closed...)
		rp.emu.Unlock()
	}
}

// PruneSensors applies retention: raw readings, minute and hour roll-ups
// older than their retention are deleted.
func (p *Pipeline) PruneSensors(ctx context.Context, o SensorRunOptions) {
	now := p.now()
	if o.RawRetention > 0 {
		if n, err := p.store.PruneReadings(ctx, now.Add(-o.RawRetention)); err != nil {
			p.log.Error("pruning readings", "err", err)
		} else if n > 0 {
			p.log.Info("pruned raw readings", "count", n)
		}
	}
	for _, x := range []struct {
		res bluehelm.RollupResolution
		ret time.Duration
	}{{bluehelm.RollupMinute, o.MinuteRetention}, {bluehelm.RollupHour, o.HourRetention}} {
		if x.ret <= 0 {
			continue
		}
		if n, err := p.store.PruneRollups(ctx, x.res, now.Add(-x.ret)); err != nil {
			p.log.Error("pruning roll-ups", "err", err, "resolution", x.res)
		} else if n > 0 {
			p.log.Info("pruned roll-ups", "count", n, "resolution", x.res)
		}
	}
}

// OpenRollups returns a sensor's open (not yet stored) buckets at res: the
// current minute and hour a chart shows before they close.
func (p *Pipeline) OpenRollups(sensorID int64, res bluehelm.RollupResolution) []bluehelm.SensorRollup {
	rp, err := p.readingPath(context.Background())
	if err != nil {
		return nil
	}
	rp.emu.Lock()
	defer rp.emu.Unlock()
	return toRollups(rp.rollups.Open(sensorID, res.Duration()))
}

// SensorEngineStats returns the engine's counters.
func (p *Pipeline) SensorEngineStats() camp.Stats {
	rp, err := p.readingPath(context.Background())
	if err != nil {
		return camp.Stats{}
	}
	rp.emu.Lock()
	defer rp.emu.Unlock()
	return rp.engine.Stats()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
