package ingest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
	"github.com/prometheus/client_golang/prometheus"
)

// The sensor reading path:
//
//	IngestReadings: authorise → validate each reading against its sensor →
//	quarantine the bad ones → group commit (durable) → alarm engine and
//	roll-ups, in commit order → alarms queued for alerts → return.
//
// Group commit. Every caller's accepted readings go to one committer goroutine,
// which stores whatever has queued up meanwhile in one transaction
// (InsertReadings) and then runs the engine and the roll-ups over it. SQLite
// spends about as much on a transaction of ten readings as on one of a
// thousand, so many small callers (one MQTT message, one HTTP POST each) share
// a commit instead of each paying for one. The engine sees readings in the
// order they were stored, so that alarms depend on what is stored, not on
// which caller won a lock.
//
// Readings that are not evaluated. A duplicate (same sensor and time as a
// stored reading) is counted and neither stored again nor evaluated, so a
// device resending after a lost acknowledgement raises nothing twice. A reading
// older than its sensor's last evaluated one (out of order) is stored, but the
// engine does not evaluate it (camp.Engine counts it in Stats.OutOfOrder): a
// rate or a hysteresis state computed from the past would be wrong for the
// present. The roll-ups take it while its minute is open; once the minute is
// closed (camp.Rollups' grace) it stays a raw reading only and is counted late.
//
// Alarms become alerts off the hot path, on a bounded queue: when the queue is
// full the committer waits, so callers are slowed rather than alarms dropped.

// ReadingRejection is one refused reading of a batch.
type ReadingRejection struct {
	Index  int    `json:"index"`            // position in the batch
	Sensor string `json:"sensor,omitempty"` // code
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// ReadingsResult is what IngestReadings did with a batch.
type ReadingsResult struct {
	Accepted   int                `json:"accepted"`
	Duplicates int                `json:"duplicates"`
	Rejected   []ReadingRejection `json:"rejected,omitempty"`
}

// Reading path limits.
const (
	// MaxReadingsBatch bounds one IngestReadings call.
	MaxReadingsBatch = 10_000
	// maxGroup bounds one group commit: past a few thousand readings a bigger
	// transaction saves nothing and only delays the first caller in it.
	maxGroup = 4096
	// alarmQueue bounds the alarms waiting to become alerts.
	alarmQueue = 4096
	// badDataAlertAfter rejections of one sensor within badDataWindow raise one
	// low-severity alert: a device that keeps sending garbage needs a visit.
	badDataAlertAfter = 20
	badDataWindow     = 10 * time.Minute
)

// sensorPrefix marks a sensor principal's username. Usernames of people cannot
// contain ':' (bluehelm.User.Validate), so no user can pass for a sensor.
const sensorPrefix = "sensor:"

// SensorPrincipal is who a sensor acts as once its token is checked: it may post
// its own readings and nothing else.
func SensorPrincipal(s *bluehelm.Sensor) bluehelm.Principal {
	return bluehelm.Principal{Username: sensorPrefix + s.Code, Role: bluehelm.RoleViewer,
		Component: s.Component, Clearance: s.Classification}
}

// sensorOf returns the code of a sensor principal.
func sensorOf(by bluehelm.Principal) (string, bool) {
	if by.System || by.UserID != 0 {
		return "", false
	}
	return strings.CutPrefix(by.Username, sensorPrefix)
}

// IngestReadings validates, stores (durably, before returning), evaluates alarm
// rules on and rolls up a batch. Each reading names its sensor by SensorCode (or
// SensorID). by must be a sensor principal for that same sensor, or a principal
// with camp.manage. Bad readings are rejected one by one (quarantined with their
// reason), good ones of the same batch are kept. An error is returned only when
// nothing could be stored.
func (p *Pipeline) IngestReadings(ctx context.Context, by bluehelm.Principal, rs []bluehelm.Reading) (ReadingsResult, error) {
	return p.ingestReadings(ctx, by, rs, "api")
}

// IngestReadingsFrom is IngestReadings naming the adapter the readings came
// through ("http", "mqtt", "demo"), for the quarantine and the metrics.
func (p *Pipeline) IngestReadingsFrom(ctx context.Context, by bluehelm.Principal, rs []bluehelm.Reading, source string) (ReadingsResult, error) {
	return p.ingestReadings(ctx, by, rs, source)
}

func (p *Pipeline) ingestReadings(ctx context.Context, by bluehelm.Principal, rs []bluehelm.Reading, source string) (ReadingsResult, error) {
	var res ReadingsResult
	rp, err := p.readingPath(ctx)
	if err != nil {
		return res, err
	}
	own, isSensor := sensorOf(by)
	if !isSensor {
		if err := by.Require(bluehelm.ActManageCamp); err != nil {
			return res, p.reject("reading", err)
		}
	}
	if len(rs) == 0 {
		return res, p.reject("reading", bluehelm.Invalid("readings", "is empty"))
	}
	if len(rs) > MaxReadingsBatch {
		return res, p.reject("reading", bluehelm.Invalid("readings", "%d readings in one batch, at most %d", len(rs), MaxReadingsBatch))
	}
	now := p.now()
	good := make([]bluehelm.Reading, 0, len(rs))
	idx := make([]int, 0, len(rs))
	var quarantine []bluehelm.QuarantinedReading
	refuse := func(i int, s *bluehelm.Sensor, r bluehelm.Reading, err error) {
		code := r.SensorCode
		q := bluehelm.QuarantinedReading{ReceivedAt: now, SensorCode: code, Time: r.Time, Value: r.Value, Unit: r.Unit,
			Field: bluehelm.ErrorField(err), Reason: bluehelm.ErrorMessage(err), Source: source}
		if s != nil {
			q.SensorID, q.SensorCode, code = s.ID, s.Code, s.Code
		}
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			q.Reason += fmt.Sprintf(" (sent %v)", r.Value)
		}
		quarantine = append(quarantine, q)
		res.Rejected = append(res.Rejected, ReadingRejection{Index: i, Sensor: code, Field: q.Field, Reason: q.Reason})
	}
	type key struct {
		id int64
		t  int64
	}
	seen := make(map[key]bool, len(rs))
	rp.mu.RLock()
	for i, r := range rs {
		s := rp.lookup(r)
		switch {
		case s == nil:
			refuse(i, nil, r, bluehelm.Invalid("sensor_code", "unknown sensor %s", readingName(r)))
			continue
		case isSensor && s.Code != own:
			refuse(i, s, r, bluehelm.Errorf(bluehelm.EFORBIDDEN, "sensor %s may post only its own readings, not %s's", own, s.Code))
			continue
		}
		if err := r.Validate(s, now); err != nil {
			refuse(i, s, r, err)
			continue
		}
		r.SensorID, r.SensorCode, r.Time = s.ID, s.Code, r.Time.UTC()
		// A batch repeating a (sensor, time) holds one reading and a copy: the
		// copy counts as a duplicate, exactly as if it had come later.
		k := key{s.ID, r.Time.Truncate(time.Microsecond).UnixMicro()}
		if seen[k] {
			res.Duplicates++
			continue
		}
		seen[k] = true
		good = append(good, r)
		idx = append(idx, i)
	}
	rp.mu.RUnlock()

	if len(quarantine) > 0 {
		rp.quarantine(ctx, quarantine)
	}
	if len(good) == 0 {
		if len(res.Rejected) > 0 {
			err := bluehelm.Invalid(prefixIndex(res.Rejected[0].Index, res.Rejected[0].Field), "%s", res.Rejected[0].Reason)
			if len(res.Rejected) > 1 {
				err = bluehelm.Invalid(err.Field, "%s (and %d more rejected)", res.Rejected[0].Reason, len(res.Rejected)-1)
			}
			return res, p.reject("reading", err)
		}
		return res, nil // every reading a copy of another in the batch: nothing new
	}
	stored, err := rp.commit(ctx, good)
	if err != nil {
		return res, p.reject("reading", err)
	}
	for _, ok := range stored {
		if ok {
			res.Accepted++
		} else {
			res.Duplicates++
		}
	}
	rp.m.accepted.WithLabelValues(source).Add(float64(res.Accepted))
	rp.m.duplicates.Add(float64(res.Duplicates))
	return res, nil
}

func readingName(r bluehelm.Reading) string {
	if r.SensorCode != "" {
		return strconv.Quote(r.SensorCode)
	}
	if r.SensorID != 0 {
		return strconv.FormatInt(r.SensorID, 10)
	}
	return "(no sensor_code)"
}

func prefixIndex(i int, field string) string {
	f := "readings[" + strconv.Itoa(i) + "]"
	if field != "" {
		f += "." + field
	}
	return f
}

// lookup finds a reading's sensor by id or code; both must agree. Caller holds mu.
func (rp *readingPath) lookup(r bluehelm.Reading) *bluehelm.Sensor {
	var s *bluehelm.Sensor
	if r.SensorID != 0 {
		s = rp.sensors[r.SensorID]
		if s != nil && r.SensorCode != "" && s.Code != r.SensorCode {
			return nil
		}
		return s
	}
	return rp.byCode[r.SensorCode]
}

// LastReadings returns each sensor's last accepted reading time and value (from
// the engine state, falling back to the store after a restart) — the
// dashboard's "last state".
func (p *Pipeline) LastReadings() map[int64]bluehelm.Reading {
	rp, err := p.readingPath(context.Background())
	if err != nil {
		p.log.Error("loading the sensor reading path", "err", err)
		return map[int64]bluehelm.Reading{}
	}
	rp.emu.Lock()
	defer rp.emu.Unlock()
	out := make(map[int64]bluehelm.Reading, len(rp.last))
	for id, r := range rp.last {
		out[id] = r
	}
	return out
}

// quarantine keeps refused readings, counts them and watches for sensors that
// keep sending bad data. A failure to store them is logged: the caller has its
// answer already, and the quarantine is a maintainer's aid, not the truth.
func (rp *readingPath) quarantine(ctx context.Context, qs []bluehelm.QuarantinedReading) {
	for _, q := range qs {
		rp.m.rejected.WithLabelValues(rejectReason(q.Field)).Inc()
	}
	if err := rp.p.store.QuarantineReadings(context.WithoutCancel(ctx), qs); err != nil {
		rp.p.log.Error("quarantining readings", "err", err, "count", len(qs))
	}
	now := rp.p.now()
	rp.bmu.Lock()
	var raise []bluehelm.QuarantinedReading
	for _, q := range qs {
		b := rp.bad[q.SensorCode]
		if b == nil || now.Sub(b.since) > badDataWindow {
			b = &badTally{since: now}
			rp.bad[q.SensorCode] = b
		}
		b.n++
		if b.n == badDataAlertAfter {
			raise = append(raise, q)
		}
	}
	rp.bmu.Unlock()
	for _, q := range raise {
		rp.enqueue(ctx, alarmItem{bad: &q, accepted: now})
	}
}

type badTally struct {
	since time.Time
	n     int
}

// rejectReason is the metric label for a refusal: the field at fault, from a
// short fixed list so that the label set stays small.
func rejectReason(field string) string {
	switch field {
	case "sensor_code", "sensor_id", "time", "unit", "value":
		return field
	}
	return "other"
}

// commitReq is one caller's share of a group commit.
type commitReq struct {
	rs     []bluehelm.Reading
	stored []bool
	err    error
	done   chan struct{}
}

// commit hands readings to the committer and waits until they are stored and
// evaluated. If ctx ends first the caller gets its error, and the readings may
// still be stored: a resend is then a duplicate, which is harmless.
func (rp *readingPath) commit(ctx context.Context, rs []bluehelm.Reading) ([]bool, error) {
	req := &commitReq{rs: rs, done: make(chan struct{})}
	select {
	case rp.commits <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-req.done:
		return req.stored, req.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// commitLoop is the committer: it gathers whatever requests are waiting, up
// to maxGroup readings, and commits them together.
func (rp *readingPath) commitLoop() {
	var group []*commitReq
	for first := range rp.commits {
		group = append(group[:0], first)
		n := len(first.rs)
	gather:
		for n < maxGroup {
			select {
			case r := <-rp.commits:
				group = append(group, r)
				n += len(r.rs)
			default:
				break gather
			}
		}
		rp.commitGroup(group, n)
	}
}

func (rp *readingPath) commitGroup(group []*commitReq, n int) {
	ctx := context.Background()
	all := make([]bluehelm.Reading, 0, n)
	for _, r := range group {
		all = append(all, r.rs...)
	}
	start := time.Now()
	stored, err := rp.p.store.InsertReadings(ctx, all)
	rp.p.timed("insert_readings", start)
	if err != nil && len(group) > 1 && bluehelm.ErrorCode(err) == bluehelm.EINVALID {
		// One caller's readings name a sensor the store does not have: commit
		// each caller alone, so the others are not refused with it.
		for _, r := range group {
			rp.commitGroup([]*commitReq{r}, len(r.rs))
		}
		return
	}
	if err != nil {
		for _, r := range group {
			r.err = err
			close(r.done)
		}
		return
	}
	off := 0
	for _, r := range group {
		r.stored = stored[off : off+len(r.rs)]
		off += len(r.rs)
	}
	fresh := make([]bluehelm.Reading, 0, len(all))
	for i, ok := range stored {
		if ok {
			fresh = append(fresh, all[i])
		}
	}
	alarms := rp.evaluate(fresh)
	accepted := time.Now()
	for _, a := range alarms {
		rp.enqueue(ctx, alarmItem{alarm: a, accepted: accepted})
	}
	for _, r := range group {
		close(r.done)
	}
}

// evaluate runs the stored readings through the engine and the roll-ups, in
// time order (a batch from a device that buffered is in its own order; two
// sensors' readings of one group are correlated by time).
func (rp *readingPath) evaluate(rs []bluehelm.Reading) []camp.Alarm {
	slices.SortStableFunc(rs, func(a, b bluehelm.Reading) int { return a.Time.Compare(b.Time) })
	rp.emu.Lock()
	defer rp.emu.Unlock()
	var out []camp.Alarm
	before := rp.engine.Stats().OutOfOrder
	late := 0
	for _, r := range rs {
		out = append(out, rp.engine.Observe(r)...)
		closed, isLate := rp.rollups.Add(r)
		if isLate {
			late++
		}
		rp.closed = append(rp.closed, closed...)
		if l, ok := rp.last[r.SensorID]; !ok || r.Time.After(l.Time) {
			rp.last[r.SensorID] = r
		}
	}
	rp.m.outOfOrder.Add(float64(rp.engine.Stats().OutOfOrder - before))
	rp.m.late.Add(float64(late))
	return out
}

// newToken returns a fresh sensor token: "bhs1.<sensor id>.<32 random bytes>".
// The id lets the HTTP endpoint find the sensor from the bearer token alone;
// over MQTT the username (the code) names it and the token is the password.
func newToken(sensorID int64) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "bhs1." + strconv.FormatInt(sensorID, 10) + "." + base64.RawURLEncoding.EncodeToString(b)
}

func tokenSensorID(token string) (int64, bool) {
	rest, ok := strings.CutPrefix(token, "bhs1.")
	if !ok {
		return 0, false
	}
	idStr, _, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(idStr, 10, 64)
	return id, err == nil && id > 0
}

// IsSensorToken reports whether a bearer token has the shape of a sensor token,
// so that the HTTP layer can tell it from a user's API token.
func IsSensorToken(token string) bool { _, ok := tokenSensorID(token); return ok }

// authEntry caches a verified credential for a short while: an MQTT device
// reconnecting in a loop must not cost a store query each time.
type authEntry struct {
	hash   string
	sensor *bluehelm.Sensor
	until  time.Time
}

const authCacheTTL = time.Minute

// Authenticate checks a sensor's code and token (mqtt.SensorAuth). A disabled
// sensor is refused.
func (p *Pipeline) Authenticate(ctx context.Context, code, token string) (*bluehelm.Sensor, error) {
	rp, err := p.readingPath(ctx)
	if err != nil {
		return nil, err
	}
	bad := bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "unknown sensor or wrong token")
	if id, ok := tokenSensorID(token); !ok {
		return nil, bad
	} else {
		rp.mu.RLock()
		s := rp.sensors[id]
		rp.mu.RUnlock()
		if s == nil || s.Code != code {
			return nil, bad
		}
	}
	h := string(bluehelm.HashSensorSecret(token))
	now := time.Now()
	rp.amu.Lock()
	e := rp.auth[code]
	rp.amu.Unlock()
	if e != nil && e.hash == h && now.Before(e.until) {
		return e.sensor, nil
	}
	s, err := p.store.VerifySensorSecret(ctx, code, token)
	if err != nil {
		return nil, err
	}
	if s.Disabled {
		return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "sensor %s is disabled", code)
	}
	rp.amu.Lock()
	rp.auth[code] = &authEntry{hash: h, sensor: s, until: now.Add(authCacheTTL)}
	rp.amu.Unlock()
	return s, nil
}

// SensorByToken checks a bearer token alone (the HTTP readings endpoint) and
// returns its sensor.
func (p *Pipeline) SensorByToken(ctx context.Context, token string) (*bluehelm.Sensor, error) {
	rp, err := p.readingPath(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := tokenSensorID(token)
	if !ok {
		return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "not a sensor token")
	}
	rp.mu.RLock()
	s := rp.sensors[id]
	rp.mu.RUnlock()
	if s == nil {
		return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "unknown sensor or wrong token")
	}
	return p.Authenticate(ctx, s.Code, token)
}

func (rp *readingPath) forget(code string) {
	rp.amu.Lock()
	delete(rp.auth, code)
	rp.amu.Unlock()
}

// readingMetrics count the reading path.
type readingMetrics struct {
	accepted   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	duplicates prometheus.Counter
	outOfOrder prometheus.Counter
	late       prometheus.Counter
	alarms     *prometheus.CounterVec
	latency    prometheus.Histogram
	queue      prometheus.GaugeFunc
}

func newReadingMetrics(queueLen func() float64) readingMetrics {
	return readingMetrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bluehelm_readings_accepted_total", Help: "Sensor readings stored, by source."}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bluehelm_readings_rejected_total", Help: "Sensor readings refused and quarantined, by the field at fault."}, []string{"field"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_readings_duplicate_total", Help: "Sensor readings already stored (same sensor and time)."}),
		outOfOrder: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_readings_out_of_order_total", Help: "Readings stored but not evaluated by the alarm rules: older than their sensor's last."}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_readings_late_total", Help: "Readings stored raw but too late for their (closed) roll-up bucket."}),
		alarms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bluehelm_sensor_alarms_total", Help: "Alarm state changes handled, by kind and state."}, []string{"kind", "state"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bluehelm_sensor_alarm_latency_seconds", Help: "From a reading stored to its alarm's alert stored and published.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bluehelm_sensor_alarm_queue", Help: "Alarms waiting to become alerts."}, queueLen),
	}
}

// QuarantineReadings keeps readings an adapter refused before they reached the
// pipeline (an MQTT payload that does not decode, a reading invalid for its
// sensor), counted and watched for bad-data alerts like IngestReadings' own.
func (p *Pipeline) QuarantineReadings(ctx context.Context, qs []bluehelm.QuarantinedReading) {
	rp, err := p.readingPath(ctx)
	if err != nil {
		p.log.Error("quarantining readings", "err", err)
		return
	}
	rp.quarantine(ctx, qs)
}
