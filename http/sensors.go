package http

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// This file serves camp sensors, their alarm rules and the reading path of
// issue 7: sensor registration with a token shown once, readings posted in
// batches by a sensor (its token) or a gateway (a user with camp.manage),
// a sensor's history raw or rolled up, and the quarantine of refused readings.

// limitReadings fits MaxReadingsBatch readings of about 100 bytes.
const limitReadings = 2 << 20

// sensorStore is what these handlers read; the SQLite store has it. It is
// asserted rather than added to Store so that the route table (and the OpenAPI
// test) can be built without a store.
type sensorStore interface {
	Sensor(ctx context.Context, id int64) (*bluehelm.Sensor, error)
	Sensors(ctx context.Context) ([]*bluehelm.Sensor, error)
	AlarmRules(ctx context.Context, sensorID int64) ([]*bluehelm.AlarmRule, error)
	Readings(ctx context.Context, sensorID int64, from, to time.Time, limit int) ([]bluehelm.Reading, error)
	Rollups(ctx context.Context, sensorIDs []int64, res bluehelm.RollupResolution, from, to time.Time) ([]bluehelm.SensorRollup, error)
	QuarantinedReadings(ctx context.Context, sensorCode string, limit int) ([]bluehelm.QuarantinedReading, error)
}

func (s *Server) sensorStore() (sensorStore, error) {
	st, ok := s.cfg.Store.(sensorStore)
	if !ok {
		return nil, bluehelm.Errorf(bluehelm.EUNAVAILABLE, "this store keeps no camp sensors")
	}
	return st, nil
}

func (s *Server) sensorsResource() resource[bluehelm.Sensor] {
	return resource[bluehelm.Sensor]{kind: "sensor", base: "/api/v1/sensors/", limit: limitSmall,
		load: func(ctx context.Context, id int64) (*bluehelm.Sensor, error) {
			st, err := s.sensorStore()
			if err != nil {
				return nil, err
			}
			return st.Sensor(ctx, id)
		},
		meta: func(v *bluehelm.Sensor) (int64, int, bluehelm.Marking) { return v.ID, v.Version, v.Marking }}
}

// Alarm rules carry no marking of their own: who may see the camp's sensors
// may see the rules watching them.
func (s *Server) alarmRulesResource() resource[bluehelm.AlarmRule] {
	return resource[bluehelm.AlarmRule]{kind: "alarm rule", base: "/api/v1/alarm-rules/", limit: limitSmall,
		load: func(ctx context.Context, id int64) (*bluehelm.AlarmRule, error) {
			return s.cfg.Pipeline.AlarmRule(ctx, id)
		},
		meta: func(v *bluehelm.AlarmRule) (int64, int, bluehelm.Marking) {
			return v.ID, v.Version, bluehelm.Marking{Classification: bluehelm.Unclassified}
		}}
}

// sensorIssued is the answer to creating a sensor or rotating its token: the
// only time the token is shown.
type sensorIssued struct {
	Sensor *bluehelm.Sensor `json:"sensor"`
	Token  string           `json:"token"`
}

// sensorRoutes are the routes of this file, in one block for the route table.
func (s *Server) sensorRoutes(v1 string) []route {
	sensors, rules := s.sensorsResource(), s.alarmRulesResource()
	return []route{
		{method: "GET", path: v1 + "/sensors", h: sensors.list("sensors", func(ctx context.Context) ([]*bluehelm.Sensor, error) {
			st, err := s.sensorStore()
			if err != nil {
				return nil, err
			}
			return st.Sensors(ctx)
		}, func(q *query) func(*bluehelm.Sensor) bool {
			camp := q.get("camp_id")
			return func(v *bluehelm.Sensor) bool { return camp == "" || itoa64(v.CampID) == camp }
		})},
		{method: "POST", path: v1 + "/sensors", h: s.createSensor},
		{method: "GET", path: v1 + "/sensors/{id}", h: sensors.get()},
		{method: "PUT", path: v1 + "/sensors/{id}", h: sensors.update(func(ctx context.Context, by bluehelm.Principal, id int64, want int, next *bluehelm.Sensor) (*bluehelm.Sensor, error) {
			return s.cfg.Pipeline.UpdateSensor(ctx, by, id, want, next)
		})},
		{method: "POST", path: v1 + "/sensors/{id}/token", h: s.rotateSensorToken},
		{method: "GET", path: v1 + "/sensors/{id}/readings", h: s.sensorReadings},

		{method: "GET", path: v1 + "/alarm-rules", h: rules.list("alarm_rules", func(ctx context.Context) ([]*bluehelm.AlarmRule, error) {
			st, err := s.sensorStore()
			if err != nil {
				return nil, err
			}
			return st.AlarmRules(ctx, 0)
		}, nil)},
		{method: "POST", path: v1 + "/alarm-rules", h: rules.create(func(ctx context.Context, by bluehelm.Principal, r *bluehelm.AlarmRule) error {
			return s.cfg.Pipeline.CreateAlarmRule(ctx, by, r)
		})},
		{method: "GET", path: v1 + "/alarm-rules/{id}", h: rules.get()},
		{method: "PUT", path: v1 + "/alarm-rules/{id}", h: rules.update(func(ctx context.Context, by bluehelm.Principal, id int64, want int, next *bluehelm.AlarmRule) (*bluehelm.AlarmRule, error) {
			return s.cfg.Pipeline.UpdateAlarmRule(ctx, by, id, want, next)
		})},
		{method: "DELETE", path: v1 + "/alarm-rules/{id}", h: rules.remove(func(ctx context.Context, by bluehelm.Principal, id int64, want int) error {
			return s.cfg.Pipeline.DeleteAlarmRule(ctx, by, id, want)
		})},

		// Authenticated by the handler: a sensor token or a user (see postReadings).
		{method: "POST", path: v1 + "/readings", public: true, h: s.postReadings},
		{method: "GET", path: v1 + "/readings/rejected", h: s.rejectedReadings},
	}
}

func (s *Server) createSensor(w http.ResponseWriter, r *http.Request) error {
	v := new(bluehelm.Sensor)
	if err := decodeJSON(w, r, limitSmall, v); err != nil {
		return err
	}
	tok, err := s.cfg.Pipeline.CreateSensor(r.Context(), principal(r), v)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/sensors/"+itoa64(v.ID))
	w.Header().Set("ETag", etag(v.Version))
	return writeJSON(w, http.StatusCreated, sensorIssued{Sensor: v, Token: tok})
}

func (s *Server) rotateSensorToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tok, err := s.cfg.Pipeline.RotateSensorToken(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	v, err := s.cfg.Pipeline.VisibleSensor(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sensorIssued{Sensor: v, Token: tok})
}

// readingIn is a posted reading. Value is a pointer so that a missing value is
// refused rather than read as 0.
type readingIn struct {
	SensorCode string    `json:"sensor_code"`
	SensorID   int64     `json:"sensor_id"`
	Time       time.Time `json:"time"`
	Value      *float64  `json:"value"`
	Unit       string    `json:"unit"`
}

// postReadings takes a batch from a sensor (Authorization: Bearer <sensor
// token>, its own readings only) or from a user with camp.manage (a session or
// an API token: gateways, imports). The answer is 200 with what was accepted
// and what was refused, each refusal with its reason; 422 with the same body
// when every reading was refused.
func (s *Server) postReadings(w http.ResponseWriter, r *http.Request) error {
	by, err := s.readingsPrincipal(r)
	if err != nil {
		return err
	}
	var body struct {
		Readings []readingIn `json:"readings"`
	}
	if err := decodeJSON(w, r, limitReadings, &body); err != nil {
		return err
	}
	if len(body.Readings) == 0 {
		return bluehelm.Invalid("readings", "is required")
	}
	rs := make([]bluehelm.Reading, len(body.Readings))
	for i, in := range body.Readings {
		if in.Value == nil {
			return bluehelm.Invalid("readings["+itoa64(int64(i))+"].value", "is required")
		}
		rs[i] = bluehelm.Reading{SensorCode: in.SensorCode, SensorID: in.SensorID, Time: in.Time, Value: *in.Value, Unit: in.Unit}
	}
	res, err := s.cfg.Pipeline.IngestReadingsFrom(r.Context(), by, rs, "http")
	if err != nil {
		if len(res.Rejected) > 0 && bluehelm.ErrorCode(err) == bluehelm.EINVALID {
			return writeJSON(w, http.StatusUnprocessableEntity, res)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// readingsPrincipal authenticates POST /readings: a sensor token names its
// sensor; anything else is a user, checked as on every other route.
func (s *Server) readingsPrincipal(r *http.Request) (bluehelm.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if ok && strings.EqualFold(scheme, "Bearer") && ingest.IsSensorToken(tok) {
			sn, err := s.cfg.Pipeline.SensorByToken(r.Context(), tok)
			if err != nil {
				return bluehelm.Principal{}, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "unknown, rotated or disabled sensor token")
			}
			p := ingest.SensorPrincipal(sn)
			if info := requestInfoOf(r.Context()); info != nil {
				info.user = p.Username
			}
			return p, nil
		}
	}
	id, err := s.authenticate(r, false)
	if err != nil {
		return bluehelm.Principal{}, err
	}
	if err := checkCSRF(r, id); err != nil {
		return bluehelm.Principal{}, err
	}
	if info := requestInfoOf(r.Context()); info != nil {
		info.user = id.principal.Username
	}
	return id.principal, nil
}

// point is a raw reading in a history answer.
type point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// rollupPoint is a roll-up bucket in a history answer.
type rollupPoint struct {
	Time  time.Time `json:"time"`
	Count int       `json:"count"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Mean  float64   `json:"mean"`
	Last  float64   `json:"last"`
}

// sensorReadings answers a sensor's history: raw readings (kept for days) or
// minute or hour roll-ups, the still open buckets included, so a chart is
// current to the last reading.
func (s *Server) sensorReadings(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := newQuery(r)
	from, err := q.time("from")
	if err != nil {
		return err
	}
	to, err := q.time("to")
	if err != nil {
		return err
	}
	res := q.get("resolution")
	if res == "" {
		res = "raw"
	}
	limit, err := q.int("limit", 10_000, 1, 100_000)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	if !to.IsZero() && !from.IsZero() && !from.Before(to) {
		return bluehelm.Invalid("from", "must be before to")
	}
	if _, err := s.sensorsResource().visible(r, id); err != nil {
		return err
	}
	st, err := s.sensorStore()
	if err != nil {
		return err
	}
	ctx := r.Context()
	if res == "raw" {
		rs, err := st.Readings(ctx, id, from, to, limit)
		if err != nil {
			return err
		}
		pts := make([]point, len(rs))
		for i, x := range rs {
			pts[i] = point{x.Time.UTC(), x.Value}
		}
		return writeJSON(w, http.StatusOK, map[string]any{"resolution": res, "points": pts})
	}
	rr := bluehelm.RollupResolution(res)
	if !rr.Valid() {
		return bluehelm.Invalid("resolution", "unknown resolution %q (want raw, minute or hour)", res)
	}
	buckets, err := st.Rollups(ctx, []int64{id}, rr, from, to)
	if err != nil {
		return err
	}
	for _, b := range s.cfg.Pipeline.OpenRollups(id, rr) {
		if (from.IsZero() || !b.Start.Before(from)) && (to.IsZero() || b.Start.Before(to)) &&
			(len(buckets) == 0 || b.Start.After(buckets[len(buckets)-1].Start)) {
			buckets = append(buckets, b)
		}
	}
	if len(buckets) > limit {
		buckets = buckets[len(buckets)-limit:]
	}
	pts := make([]rollupPoint, len(buckets))
	for i, b := range buckets {
		pts[i] = rollupPoint{Time: b.Start.UTC(), Count: b.Count, Min: b.Min, Max: b.Max, Mean: b.Mean(), Last: b.Last}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"resolution": res, "points": pts})
}

// rejectedReadings lists the quarantine, newest first: for whoever maintains
// the devices (camp.manage).
func (s *Server) rejectedReadings(w http.ResponseWriter, r *http.Request) error {
	if err := principal(r).Require(bluehelm.ActManageCamp); err != nil {
		return err
	}
	q := newQuery(r)
	code := q.get("sensor")
	limit, err := q.int("limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	st, err := s.sensorStore()
	if err != nil {
		return err
	}
	qs, err := st.QuarantinedReadings(r.Context(), code, limit)
	if err != nil {
		return err
	}
	if qs == nil {
		qs = []bluehelm.QuarantinedReading{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rejected": qs})
}
