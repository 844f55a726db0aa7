package live

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
)

// FindingKind says what the monitor found.
type FindingKind string

const (
	FindOffRoute   FindingKind = "off_route"   // an underway patrol's track farther from its route than Patrol.Deviation()
	FindSilent     FindingKind = "silent"      // an underway patrol without a position for longer than Patrol.CheckIn()
	FindLateStart  FindingKind = "late_start"  // an approved patrol neither started nor moving after PlannedStart + grace
	FindLateReturn FindingKind = "late_return" // an underway patrol still out after PlannedEnd + grace
	FindNoGo       FindingKind = "no_go"       // an underway patrol's track entered a restricted area
	FindProximity  FindingKind = "proximity"   // a proximity rule's A and B tracks came within its distance
	FindEnRoute    FindingKind = "en_route"    // a task's track left its start point
	FindOnScene    FindingKind = "on_scene"    // a task's track arrived within ArrivalMeters of the task's location
)

// Finding is something the monitor noticed about a patrol, a task or a pair of
// tracks. Each condition is reported once when it starts; off_route and silent
// also report when they end (Cleared), so that the picture can say "back on
// route" — those are not new alerts.
type Finding struct {
	Kind     FindingKind
	Cleared  bool
	PatrolID int64
	TaskID   int64
	RuleID   int64  // proximity
	AreaID   int64  // no_go
	UID      string // the track concerned, if one is (A for proximity)
	OtherUID string // proximity: the B track
	At       time.Time
	Where    *bluehelm.Point // nil when there is no place (late start before any position)
	// Value is the finding's measure: metres off route, minutes silent or late,
	// metres apart, metres from the scene.
	Value    float64
	Severity bluehelm.Severity
	// Marking is for what the finding reveals: the patrol's (task's, rule's)
	// marking combined with the track's (see bluehelm.Combine).
	Marking bluehelm.Marking
	Text    string // one English sentence for the alert's title
}

// MonitorOptions tunes a Monitor. The zero value gives the defaults.
type MonitorOptions struct {
	// LateStartGrace is how long after PlannedStart an approved patrol may be
	// neither started nor moving before it is reported late. Default 15 min.
	LateStartGrace time.Duration
	// LateReturnGrace is how long after PlannedEnd an underway patrol may still be
	// out before it is reported late. Default 30 min.
	LateReturnGrace time.Duration
	// MoveMeters is how far a track must go from where it was to count as moving:
	// for a patrol's start, and for a task's unit leaving its start point.
	// Default 200.
	MoveMeters float64
	// ArrivalMeters is how close to a task's location its track counts as on
	// scene. Default 200.
	ArrivalMeters float64
	// OnRouteFactor: a patrol reported off route is back on route when all its
	// tracks are within Deviation() times this factor (hysteresis). Default 0.8.
	OnRouteFactor float64
	// ProximityRearm: a pair that fired a proximity rule fires again only after
	// being farther apart than the distance times this factor. Default 1.2.
	ProximityRearm float64
	// ProximityMaxAge: the other track of a pair counts only if its last report is
	// at most this much older than the moving track's. Default 30 min.
	ProximityMaxAge time.Duration
	// NoGo tunes the geofencer that watches restricted areas.
	NoGo GeofenceOptions
	// Last gives a track's latest known state (the live Picture's Get), so that a
	// patrol or task set while its tracks are quiet has a start point and a last
	// report. Optional.
	Last func(uid string) (bluehelm.TrackState, bool)
}

func (o MonitorOptions) withDefaults() MonitorOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.LateStartGrace, 15*time.Minute)
	def(&o.LateReturnGrace, 30*time.Minute)
	def(&o.ProximityMaxAge, 30*time.Minute)
	deff(&o.MoveMeters, 200)
	deff(&o.ArrivalMeters, 200)
	deff(&o.ProximityRearm, 1.2)
	if o.OnRouteFactor <= 0 || o.OnRouteFactor >= 1 {
		o.OnRouteFactor = 0.8
	}
	return o
}

// Monitor watches patrols, response tasks and proximity rules against the tracks'
// positions:
//
//   - Observe is called with every applied position (as Geofencer.Check is) and
//     returns what the position causes: off route, back on route, reporting again,
//     no-go entry, task en route and on scene, proximity.
//   - Tick is called every few seconds with the server clock and returns the
//     conditions that come from time passing: silent, late start, late return.
//
// A patrol is watched while it is Active (approved or underway); SetPatrol with
// any other status forgets it. Its tracks are its TrackUIDs, or its units' (as
// set with SetUnit) when it has none. A task is watched while it is open and not
// yet on scene and has a TrackUID. Restricted areas come from SetArea (any area
// may be passed: the others are ignored); entries are found by an internal
// Geofencer, with its line-between-fixes test and hysteresis.
//
// Every condition fires once and again only after it has cleared: off route
// clears when the patrol's tracks are all back within OnRouteFactor × Deviation,
// silent when a position arrives, late start and late return when the patrol moves
// on (started, completed, aborted: SetPatrol), no-go when the track leaves the area.
// The monitor's state is in memory only: after a restart conditions that still hold
// fire again, so whoever raises alerts should skip one while the same alert is open.
//
// Observe calls for one track must not run concurrently with each other; calls for
// different tracks may, and the other methods may be called at any time.
type Monitor struct {
	opts   MonitorOptions
	nogo   *Geofencer
	prox   *proximity
	mu     sync.Mutex
	areas  map[int64]*bluehelm.Area // restricted areas, as given (the no-go fences carry a rule copy)
	units  map[string]*bluehelm.Unit
	unitOf map[string]string // track uid → code of the registered unit it belongs to
	// patrols and tasks by ID, and who watches each track.
	patrols  map[int64]*watchedPatrol
	tasks    map[int64]*watchedTask
	byTrack  map[string][]*watchedPatrol
	taskByTr map[string][]*watchedTask
}

type watchedPatrol struct {
	p      *bluehelm.Patrol
	tracks []string
	route  *routeIndex
	// lastAt is the latest position time of any of its tracks; lastWhere where.
	lastAt    time.Time
	lastWhere *bluehelm.Point
	off       map[string]bool // tracks now off route
	// anchor is each track's last position before PlannedStart; moved says one of
	// them has since moved MoveMeters (the patrol has set out, started or not).
	anchor                       map[string]bluehelm.Point
	moved                        bool
	offFired, silent             bool
	lateStartFired, lateRetFired bool
}

type watchedTask struct {
	t        *bluehelm.Task
	start    *bluehelm.Point
	departed bool
}

// NewMonitor returns a monitor with nothing to watch.
func NewMonitor(o MonitorOptions) *Monitor {
	o = o.withDefaults()
	return &Monitor{opts: o, nogo: NewGeofencerWith(o.NoGo), prox: newProximity(o.ProximityRearm, o.ProximityMaxAge),
		areas: map[int64]*bluehelm.Area{}, units: map[string]*bluehelm.Unit{}, unitOf: map[string]string{},
		patrols: map[int64]*watchedPatrol{}, tasks: map[int64]*watchedTask{},
		byTrack: map[string][]*watchedPatrol{}, taskByTr: map[string][]*watchedTask{}}
}

// SetArea adds, replaces or (if it is no longer restricted) forgets a restricted
// area. Treat a as immutable afterwards.
func (m *Monitor) SetArea(a *bluehelm.Area) {
	if a.Kind != bluehelm.AreaRestricted || !polygonal(a.Geometry) {
		m.RemoveArea(a.ID)
		return
	}
	fenced := *a
	fenced.Rules = []bluehelm.AreaRule{{Trigger: bluehelm.TriggerEnter, Severity: bluehelm.SevCritical}}
	m.mu.Lock()
	m.areas[a.ID] = a
	m.mu.Unlock()
	m.nogo.SetArea(&fenced)
}

// RemoveArea forgets a restricted area.
func (m *Monitor) RemoveArea(id int64) {
	m.mu.Lock()
	delete(m.areas, id)
	m.mu.Unlock()
	m.nogo.RemoveArea(id)
}

// SetProximityRule adds or replaces a proximity rule (a disabled one is removed).
// Pairs that fired under the rule's previous version may fire again. A rule sees a
// track from the track's next position on.
func (m *Monitor) SetProximityRule(r *bluehelm.ProximityRule) { m.prox.set(r) }

// RemoveProximityRule forgets a proximity rule.
func (m *Monitor) RemoveProximityRule(id int64) { m.prox.remove(id) }

// RemoveTrack forgets a track that expired or was deleted (as for the Geofencer).
func (m *Monitor) RemoveTrack(uid string) {
	m.prox.removeTrack(uid)
	m.nogo.RemoveTrack(uid)
}

// SetUnit adds or replaces a unit: the patrols that name it and have no TrackUIDs
// of their own follow its tracks.
func (m *Monitor) SetUnit(u *bluehelm.Unit) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.units[u.Code]; old != nil {
		for _, uid := range old.TrackUIDs {
			delete(m.unitOf, uid)
		}
	}
	m.units[u.Code] = u
	for _, uid := range u.TrackUIDs {
		m.unitOf[uid] = u.Code
	}
	for _, wp := range m.patrols {
		if len(wp.p.TrackUIDs) == 0 && slices.Contains(wp.p.Units, u.Code) {
			wp.tracks = m.patrolTracks(wp.p)
		}
	}
	m.reindex()
}

// RemoveUnit forgets a unit.
func (m *Monitor) RemoveUnit(code string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.units[code]; old != nil {
		for _, uid := range old.TrackUIDs {
			delete(m.unitOf, uid)
		}
	}
	delete(m.units, code)
	for _, wp := range m.patrols {
		if slices.Contains(wp.p.Units, code) {
			wp.tracks = m.patrolTracks(wp.p)
		}
	}
	m.reindex()
}

func (m *Monitor) patrolTracks(p *bluehelm.Patrol) []string {
	if len(p.TrackUIDs) > 0 {
		return slices.Clone(p.TrackUIDs)
	}
	var out []string
	for _, code := range p.Units {
		if u := m.units[code]; u != nil {
			for _, uid := range u.TrackUIDs {
				if !slices.Contains(out, uid) {
					out = append(out, uid)
				}
			}
		}
	}
	return out
}

// SetPatrol starts or keeps watching a patrol that is Active and forgets one that
// is not. Treat p as immutable afterwards. What has fired stays fired across
// updates of the same patrol, except that starting it clears late start and a
// changed route or deviation re-judges off route.
func (m *Monitor) SetPatrol(p *bluehelm.Patrol) {
	if !p.Active() {
		m.RemovePatrol(p.ID)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	wp := m.patrols[p.ID]
	if wp == nil {
		wp = &watchedPatrol{off: map[string]bool{}, anchor: map[string]bluehelm.Point{}}
		m.patrols[p.ID] = wp
	}
	old := wp.p
	wp.p = p
	if old == nil || !slices.Equal(old.RouteLine(), p.RouteLine()) || old.Deviation() != p.Deviation() {
		wp.route = newRouteIndex(p.RouteLine())
		clear(wp.off)
		wp.offFired = false
	}
	wp.tracks = m.patrolTracks(p)
	if p.Status == bluehelm.PatrolUnderway {
		wp.lateStartFired = false
	}
	if m.opts.Last != nil {
		for _, uid := range wp.tracks {
			if s, ok := m.opts.Last(uid); ok {
				pt := s.Position.Point()
				if s.Position.Time.After(wp.lastAt) {
					wp.lastAt, wp.lastWhere = s.Position.Time, &pt
				}
				if _, ok := wp.anchor[uid]; !ok && !s.Position.Time.After(p.PlannedStart) {
					wp.anchor[uid] = pt
				}
			}
		}
	}
	m.reindex()
}

// RemovePatrol stops watching a patrol.
func (m *Monitor) RemovePatrol(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.patrols[id]; ok {
		delete(m.patrols, id)
		m.reindex()
	}
}

// SetTask starts or keeps watching an open task with a track, and forgets one that
// is on scene, closed or cancelled. Treat t as immutable afterwards.
func (m *Monitor) SetTask(t *bluehelm.Task) {
	if !t.Status.Open() || t.Status == bluehelm.TaskOnScene || t.TrackUID == "" {
		m.RemoveTask(t.ID)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	wt := m.tasks[t.ID]
	if wt == nil || wt.t.TrackUID != t.TrackUID {
		wt = &watchedTask{}
		m.tasks[t.ID] = wt
		if m.opts.Last != nil {
			if s, ok := m.opts.Last(t.TrackUID); ok {
				pt := s.Position.Point()
				wt.start = &pt
			}
		}
	}
	wt.t = t
	wt.departed = wt.departed || t.Status == bluehelm.TaskEnRoute
	m.reindex()
}

// RemoveTask stops watching a task.
func (m *Monitor) RemoveTask(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tasks[id]; ok {
		delete(m.tasks, id)
		m.reindex()
	}
}

// reindex rebuilds who watches which track, and makes the no-go geofencer forget
// the tracks that no underway patrol has any more (so that a later patrol is not
// told about an entry made meanwhile).
func (m *Monitor) reindex() {
	underwayBefore := map[string]bool{}
	for uid, ws := range m.byTrack {
		if slices.ContainsFunc(ws, func(w *watchedPatrol) bool { return w.p.Status == bluehelm.PatrolUnderway }) {
			underwayBefore[uid] = true
		}
	}
	clear(m.byTrack)
	for _, wp := range m.patrols {
		for _, uid := range wp.tracks {
			m.byTrack[uid] = append(m.byTrack[uid], wp)
		}
	}
	for uid := range underwayBefore {
		if !slices.ContainsFunc(m.byTrack[uid], func(w *watchedPatrol) bool { return w.p.Status == bluehelm.PatrolUnderway }) {
			m.nogo.RemoveTrack(uid)
		}
	}
	clear(m.taskByTr)
	for _, wt := range m.tasks {
		m.taskByTr[wt.t.TrackUID] = append(m.taskByTr[wt.t.TrackUID], wt)
	}
	for _, ws := range m.byTrack {
		slices.SortFunc(ws, func(a, b *watchedPatrol) int { return cmp.Compare(a.p.ID, b.p.ID) })
	}
	for _, ws := range m.taskByTr {
		slices.SortFunc(ws, func(a, b *watchedTask) int { return cmp.Compare(a.t.ID, b.t.ID) })
	}
}

// Observe takes a track's new position (prev is its previous state, nil for a
// track seen for the first time) and returns the findings it causes, in order.
func (m *Monitor) Observe(prev *bluehelm.TrackState, cur bluehelm.TrackState) []Finding {
	out := m.observeWatched(prev, cur)
	m.mu.Lock()
	unit := m.unitOf[cur.UID]
	m.mu.Unlock()
	return append(out, m.prox.observe(cur, unit)...)
}

func (m *Monitor) observeWatched(prev *bluehelm.TrackState, cur bluehelm.TrackState) []Finding {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws, ts := m.byTrack[cur.UID], m.taskByTr[cur.UID]
	if len(ws) == 0 && len(ts) == 0 {
		return nil
	}
	var out []Finding
	pt := cur.Position.Point()
	at := cur.Position.Time
	underway := false
	for _, wp := range ws {
		p := wp.p
		switch p.Status {
		case bluehelm.PatrolApproved:
			if at.After(p.PlannedStart) {
				anchor, ok := wp.anchor[cur.UID]
				if !ok {
					anchor = pt
					if prev != nil {
						anchor = prev.Position.Point()
					}
					wp.anchor[cur.UID] = anchor
				}
				if metres(anchor, pt) > m.opts.MoveMeters {
					wp.moved = true
				}
			} else {
				wp.anchor[cur.UID] = pt
			}
		case bluehelm.PatrolUnderway:
			underway = true
			if at.After(wp.lastAt) {
				wp.lastAt, wp.lastWhere = at, &pt
			}
			if wp.silent {
				wp.silent = false
				out = append(out, m.patrolFinding(wp, FindSilent, cur, at, &pt, 0, bluehelm.SevInfo,
					fmt.Sprintf("Patrol %s is reporting again (%s)", p.Name, trackName(cur)), true))
			}
			out = m.checkRoute(out, wp, cur)
		}
	}
	if underway {
		for _, c := range m.nogo.Check(prev, cur) {
			where := c.Where
			for _, wp := range ws {
				if wp.p.Status != bluehelm.PatrolUnderway {
					continue
				}
				a := m.areas[c.Area.ID]
				if a == nil {
					continue
				}
				f := m.patrolFinding(wp, FindNoGo, cur, c.At, &where, 0, bluehelm.SevCritical,
					fmt.Sprintf("Patrol %s (%s) entered the restricted area %s", wp.p.Name, trackName(cur), a.Name), false)
				f.AreaID = a.ID
				if mk, ok := bluehelm.Combine(f.Marking, a.Marking); ok {
					f.Marking = mk
				} else {
					f.AreaID = 0
					f.Text = fmt.Sprintf("Patrol %s (%s) entered a restricted area", wp.p.Name, trackName(cur))
				}
				out = append(out, f)
			}
		}
	}
	for _, wt := range ts {
		out = m.checkTask(out, wt, prev, cur)
	}
	return out
}

// checkRoute judges one underway patrol's track against its route.
func (m *Monitor) checkRoute(out []Finding, wp *watchedPatrol, cur bluehelm.TrackState) []Finding {
	if wp.route == nil {
		return out
	}
	dev := wp.p.Deviation()
	pt := cur.Position.Point()
	d := wp.route.distance(pt, dev)
	switch {
	case d > dev && !wp.off[cur.UID]:
		wp.off[cur.UID] = true
		if !wp.offFired {
			wp.offFired = true
			// The distance beyond the search box is not measured: say "more than".
			out = append(out, m.patrolFinding(wp, FindOffRoute, cur, cur.Position.Time, &pt, dev, bluehelm.SevWarning,
				fmt.Sprintf("Patrol %s is off its route: %s is more than %.0f m from it", wp.p.Name, trackName(cur), dev), false))
		}
	case wp.off[cur.UID] && d <= dev*m.opts.OnRouteFactor:
		delete(wp.off, cur.UID)
		if wp.offFired && len(wp.off) == 0 {
			wp.offFired = false
			out = append(out, m.patrolFinding(wp, FindOffRoute, cur, cur.Position.Time, &pt, math.Round(d), bluehelm.SevInfo,
				fmt.Sprintf("Patrol %s is back on its route (%s is %.0f m from it)", wp.p.Name, trackName(cur), d), true))
		}
	}
	return out
}

// checkTask follows a task's track from its start to the scene.
func (m *Monitor) checkTask(out []Finding, wt *watchedTask, prev *bluehelm.TrackState, cur bluehelm.TrackState) []Finding {
	t := wt.t
	pt := cur.Position.Point()
	if wt.start == nil {
		s := pt
		if prev != nil {
			s = prev.Position.Point()
		}
		wt.start = &s
	}
	finding := func(k FindingKind, at time.Time, where bluehelm.Point, v float64, text string) Finding {
		f := Finding{Kind: k, TaskID: t.ID, UID: cur.UID, At: at, Where: &where, Value: math.Round(v),
			Severity: bluehelm.SevInfo, Text: text}
		f.Marking, _ = bluehelm.Combine(t.Marking, cur.Marking)
		if f.Marking.Component == "" {
			f.Marking = t.Marking
		}
		return f
	}
	if !wt.departed && metres(*wt.start, pt) > m.opts.MoveMeters {
		wt.departed = true
		out = append(out, finding(FindEnRoute, cur.Position.Time, pt, metres(*wt.start, pt),
			fmt.Sprintf("%s is en route to %s", t.Unit, t.Title)))
	}
	from := pt
	t0 := cur.Position.Time
	if prev != nil {
		from, t0 = prev.Position.Point(), prev.Position.Time
	}
	if f, ok := firstWithin(from, pt, t.Location, m.opts.ArrivalMeters); ok {
		at := t0.Add(time.Duration(f * float64(cur.Position.Time.Sub(t0))))
		where := bluehelm.Point{Lon: from.Lon + f*(pt.Lon-from.Lon), Lat: from.Lat + f*(pt.Lat-from.Lat)}
		if !wt.departed {
			wt.departed = true // arriving is leaving too; Task.Transition skips en route
		}
		out = append(out, finding(FindOnScene, at, where, metres(where, t.Location),
			fmt.Sprintf("%s is on scene at %s", t.Unit, t.Title)))
		delete(m.tasks, t.ID)
		m.taskByTr[t.TrackUID] = slices.DeleteFunc(m.taskByTr[t.TrackUID], func(w *watchedTask) bool { return w == wt })
	}
	return out
}

func (m *Monitor) patrolFinding(wp *watchedPatrol, k FindingKind, cur bluehelm.TrackState, at time.Time, where *bluehelm.Point, v float64, sev bluehelm.Severity, text string, cleared bool) Finding {
	f := Finding{Kind: k, Cleared: cleared, PatrolID: wp.p.ID, UID: cur.UID, At: at, Where: where, Value: v, Severity: sev, Text: text}
	if mk, ok := bluehelm.Combine(wp.p.Marking, cur.Marking); ok {
		f.Marking = mk
	} else {
		f.Marking = wp.p.Marking
	}
	return f
}

// Tick returns the findings that time passing causes at now (the server clock):
// silent, late start and late return, ordered by patrol ID. Call it every few
// seconds; each fires at the first Tick after it is due. Positions are dated by
// their reports, so a device clock that runs late makes its patrol look silent
// early.
func (m *Monitor) Tick(now time.Time) []Finding {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Finding
	for _, wp := range m.patrols {
		p := wp.p
		f := Finding{PatrolID: p.ID, Marking: p.Marking, Where: wp.lastWhere}
		switch p.Status {
		case bluehelm.PatrolApproved:
			due := p.PlannedStart.Add(m.opts.LateStartGrace)
			if !wp.lateStartFired && !wp.moved && now.After(due) {
				wp.lateStartFired = true
				f.Kind, f.At, f.Severity = FindLateStart, due, bluehelm.SevWarning
				f.Value = math.Floor(now.Sub(p.PlannedStart).Minutes())
				f.Text = fmt.Sprintf("Patrol %s has not started: planned for %s, %.0f min ago", p.Name, p.PlannedStart.UTC().Format("15:04Z"), f.Value)
				out = append(out, f)
			}
		case bluehelm.PatrolUnderway:
			last := wp.lastAt
			if last.Before(p.StartedAt) {
				last = p.StartedAt // nothing since the start: count from the start
			}
			if last.IsZero() {
				last = p.PlannedStart
			}
			if due := last.Add(p.CheckIn()); !wp.silent && now.After(due) {
				wp.silent = true
				g := f
				g.Kind, g.At, g.Severity = FindSilent, due, bluehelm.SevWarning
				g.Value = math.Floor(now.Sub(last).Minutes())
				g.Text = fmt.Sprintf("Patrol %s is silent: no position for %.0f min (check-in every %d min)", p.Name, g.Value, p.CheckInMinutes)
				out = append(out, g)
			}
			if due := p.PlannedEnd.Add(m.opts.LateReturnGrace); !wp.lateRetFired && now.After(due) {
				wp.lateRetFired = true
				g := f
				g.Kind, g.At, g.Severity = FindLateReturn, due, bluehelm.SevWarning
				g.Value = math.Floor(now.Sub(p.PlannedEnd).Minutes())
				g.Text = fmt.Sprintf("Patrol %s is late: due back at %s, %.0f min ago", p.Name, p.PlannedEnd.UTC().Format("15:04Z"), g.Value)
				out = append(out, g)
			}
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.PatrolID, b.PatrolID), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}
