// Package mqtt adapts MQTT to the sensor ingest: an embedded broker
// (github.com/mochi-mqtt/server/v2) for the devices on a camp network.
//
// Each sensor connects with its own credentials: the MQTT username is the
// sensor code and the password its secret. Anonymous clients and anything the
// SensorAuth refuses get CONNACK "bad user name or password".
//
// Topics, for a sensor with code C:
//
//	bluehelm/sensors/C/readings  the only topic C may publish to
//	bluehelm/sensors/C/errors    rejections of C's readings, published by the server
//
// C may subscribe to those two topics only (no wildcards). The maintainer of a
// device reads its errors topic with the device's own credentials (or watches the
// device's log if it subscribes itself). The latest rejection is retained, so a
// maintainer who connects later still sees it, with its time.
//
// A reading payload is one JSON object {"time":"RFC 3339","value":number,"unit":"…"}
// or an array of them (at most MaxBatch). Every reading is checked with
// bluehelm.Reading.ValidateAge against the authenticated sensor; the good ones of
// a message go to the Sink in one call, the bad ones never do: they are counted,
// logged with the reason and described on the errors topic (and handed to the
// Sink's Quarantine method if it has one). The Sink may refuse some of the good
// ones in turn (a duplicate-free reading its own checks refuse) by returning a
// *RejectedError: the message is acknowledged and those refusals join the report
// at their positions in the payload. MQTT 3.1.1 has no negative
// acknowledgement, hence the errors topic.
//
// Acknowledgement (QoS 1 and 2). mochi runs the OnPublish hook synchronously in
// the client's read loop, before it writes PUBACK (PUBREC for QoS 2), so the
// server calls the Sink there and the guarantees are:
//   - a PUBACK/PUBREC is sent only after the Sink returned nil for the good
//     readings of that message (or the message had no good reading: a bad
//     reading is acknowledged, since resending it cannot make it good, and its
//     rejection is on the errors topic);
//   - if the Sink fails, no success acknowledgement is sent: an MQTT 5 client
//     gets PUBACK with reason code 0x80 (unspecified error); an MQTT 3.1.1 client
//     is disconnected, so that it resends the unacknowledged message when it
//     reconnects (with a persistent session, as at-least-once requires);
//   - so delivery is at least once: a device that resends after a lost PUBACK
//     hands the Sink the same readings again, and the Sink must treat a
//     duplicate (same sensor and time) as already stored;
//   - a QoS 0 message has no acknowledgement: if the Sink fails it is lost (logged
//     and counted).
//
// Wills are refused at CONNECT: mochi publishes a will without an ACL check, so a
// will is the one way a sensor could write to a topic not its own.
package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/bluehelm/bluehelm"
)

// Limits.
const (
	// DefaultAddr is loopback: a camp broker is exposed on purpose, not by default.
	DefaultAddr = "127.0.0.1:1883"
	// MaxBatch bounds the readings of one message: a device that buffered through
	// a long outage sends several messages, and one message cannot hold the Sink
	// (and the client's read loop) for long.
	MaxBatch = 1000
	// MaxPacketSize is about MaxBatch readings of ~100 bytes with room to spare.
	MaxPacketSize = 256 << 10
	// callTimeout bounds one SensorAuth or Sink call, so that a stuck store cannot
	// hold a device's connection forever; the device resends after a failure.
	callTimeout = 10 * time.Second
)

// SensorAuth checks a sensor's credentials. It returns an error (or a nil sensor)
// for unknown codes and wrong secrets alike.
type SensorAuth interface {
	Authenticate(ctx context.Context, code, secret string) (*bluehelm.Sensor, error)
}

// Sink takes validated readings of one sensor. It returns nil only once the
// readings are stored: the server acknowledges QoS 1 messages on that. A Sink
// that stored some readings and refused others (or refused all of them for a
// reason a resend cannot change) returns a *RejectedError: the message is
// acknowledged and the refusals go on the errors topic.
type Sink interface {
	Readings(ctx context.Context, sensor *bluehelm.Sensor, rs []bluehelm.Reading) error
}

// RejectedError lists the readings a Sink refused; Index is the position in
// the slice the Sink was given (the server reports payload positions).
type RejectedError struct {
	Rejected []Rejection
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("%d readings refused", len(e.Rejected))
}

// Quarantiner is an optional Sink method: it is given the readings the server
// refused itself (undecodable, or invalid for the sensor), so that they are
// kept beside the ones the Sink refuses.
type Quarantiner interface {
	Quarantine(ctx context.Context, sensor *bluehelm.Sensor, rejected []Rejection)
}

// Config configures a Server.
type Config struct {
	Addr    string // host:port to listen on; DefaultAddr when empty, ":0" picks a port
	Sensors SensorAuth
	Sink    Sink
	Logger  *slog.Logger     // slog.Default() when nil
	Now     func() time.Time // time.Now when nil; readings are checked against it
}

// Stats counts what the server did with readings since it started.
type Stats struct {
	Accepted   uint64 // readings handed to the Sink, which returned nil
	Rejected   uint64 // readings refused by validation
	SinkFailed uint64 // readings the Sink returned an error for
}

// Server is the embedded broker.
type Server struct {
	cfg    Config
	log    *slog.Logger
	broker *mochi.Server

	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool // detaches the close-on-ctx-done hook

	// mu guards sensors and closed. Hook calls that reach SensorAuth or the Sink
	// hold the read lock, so Close (write lock) returns only after the last of
	// them, and the Sink is never called after Close.
	mu      sync.RWMutex
	sensors map[*mochi.Client]*bluehelm.Sensor
	closed  bool
	started bool

	closeOnce                      sync.Once
	accepted, rejected, sinkFailed atomic.Uint64
}

// New returns a server; Start listens.
func New(cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, log: cfg.Logger, sensors: map[*mochi.Client]*bluehelm.Sensor{}}
}

// Start listens on the configured address and returns the bound address. The
// server closes when ctx is done or Close is called.
func (s *Server) Start(ctx context.Context) (string, error) {
	if s.cfg.Sensors == nil || s.cfg.Sink == nil {
		return "", errors.New("mqtt: Config.Sensors and Config.Sink are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return "", errors.New("mqtt: server already started")
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacketSize
	b := mochi.New(&mochi.Options{
		InlineClient: true, // the server publishes rejections on the errors topics
		Capabilities: caps,
		Logger:       s.log.With("component", "mqtt"),
	})
	if err := b.AddHook(&hook{s: s}, nil); err != nil {
		return "", fmt.Errorf("mqtt: add hook: %w", err)
	}
	l := &tcpListener{TCP: listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: s.cfg.Addr}), broker: b}
	if err := b.AddListener(l); err != nil {
		return "", fmt.Errorf("mqtt: listen on %s: %w", s.cfg.Addr, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := b.Serve(); err != nil {
		s.cancel()
		_ = b.Close()
		return "", fmt.Errorf("mqtt: serve: %w", err)
	}
	s.broker = b
	s.started = true
	// AfterFunc rather than a goroutine waiting on ctx: nothing runs (or leaks)
	// until ctx is done, and Close detaches it.
	s.stop = context.AfterFunc(ctx, s.Close)
	return l.Address(), nil
}

// tcpListener is mochi's TCP listener with a close that cannot deadlock.
// mochi v2.7.9 closes a listener's clients after listing them with
// Clients.GetByListener, which takes the client map's read lock twice (it calls
// Len under it); a client disconnecting at that moment queues a write lock
// between the two, and the broker, and so the server's shutdown, hang for good
// (seen once in CI). This close lists the clients with GetAll, which locks once.
type tcpListener struct {
	*listeners.TCP
	broker *mochi.Server
}

func (l *tcpListener) Close(listeners.CloseFn) {
	l.TCP.Close(func(id string) {
		for _, cl := range l.broker.Clients.GetAll() {
			if cl.Net.Listener == id && !cl.Closed() {
				_ = l.broker.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
	})
}

// Close disconnects every client and stops listening. It waits for SensorAuth and
// Sink calls in progress (their context is cancelled first).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.RLock()
		started := s.started
		s.mu.RUnlock()
		if !started {
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
			return
		}
		s.stop()
		s.cancel()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.broker.Close()
	})
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), SinkFailed: s.sinkFailed.Load()}
}

// ReadingsTopic is where the sensor with the code publishes its readings.
func ReadingsTopic(code string) string { return "bluehelm/sensors/" + code + "/readings" }

// ErrorsTopic is where the server publishes rejections of the sensor's readings.
func ErrorsTopic(code string) string { return "bluehelm/sensors/" + code + "/errors" }

func (s *Server) sensor(cl *mochi.Client) *bluehelm.Sensor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sensors[cl]
}

// hook is the broker's view of the server: authentication, ACL and ingest.
type hook struct {
	mochi.HookBase
	s *Server
}

func (h *hook) ID() string { return "bluehelm-sensors" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish, mochi.OnDisconnect:
		return true
	}
	return false
}

func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	s := h.s
	code, secret := string(pk.Connect.Username), string(pk.Connect.Password)
	refuse := func(reason string, args ...any) bool {
		s.log.Warn("mqtt: connection refused", append([]any{"reason", reason, "code", code, "remote", cl.Net.Remote}, args...)...)
		return false
	}
	if code == "" || !pk.Connect.PasswordFlag {
		return refuse("no credentials")
	}
	// The client identifier keys the broker's sessions: a sensor connecting with
	// another's identifier would take over that session and its subscriptions.
	if id := pk.Connect.ClientIdentifier; id != "" && id != code {
		return refuse("client identifier must be empty or the sensor code", "client_id", id)
	}
	if pk.Connect.WillFlag {
		return refuse("wills are not accepted")
	}
	sensor, err := s.authenticate(code, secret)
	if err != nil || sensor == nil {
		return refuse("bad credentials", "error", err)
	}
	if sensor.Code != code {
		// The topic ACL is by code; a SensorAuth that matched another sensor would
		// hand this client that sensor's topics.
		return refuse("authenticated sensor has another code", "sensor", sensor.Code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	// Keyed by client, not by code or client identifier: a session taken over by
	// a new connection must not lose (or inherit) the entry of the old one.
	s.sensors[cl] = sensor
	return true
}

func (s *Server) authenticate(code, secret string) (*bluehelm.Sensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errors.New("server closed")
	}
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	return s.cfg.Sensors.Authenticate(ctx, code, secret)
}

func (h *hook) OnDisconnect(cl *mochi.Client, err error, expire bool) {
	h.s.mu.Lock()
	delete(h.s.sensors, cl)
	h.s.mu.Unlock()
}

func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	sensor := h.s.sensor(cl)
	if sensor == nil {
		return false
	}
	ok := topic == ReadingsTopic(sensor.Code) || (!write && topic == ErrorsTopic(sensor.Code))
	if !ok {
		h.s.log.Warn("mqtt: topic refused", "code", sensor.Code, "topic", topic, "write", write)
	}
	return ok
}

// Rejection describes one refused reading on the errors topic.
type Rejection struct {
	Index int    `json:"index"` // position in the array; 0 for a single object, -1 for the whole message
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// errorReport is the errors topic payload.
type errorReport struct {
	Time     time.Time   `json:"time"`
	Topic    string      `json:"topic"`
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
}

func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	s := h.s
	if cl.Net.Inline {
		return pk, nil // the server's own errors reports
	}
	sensor := s.sensor(cl)
	if sensor == nil || pk.TopicName != ReadingsTopic(sensor.Code) {
		return pk, packets.ErrRejectPacket // the ACL check refuses these first
	}
	now := s.cfg.Now()
	rs, idx, bad := decode(pk.Payload, sensor, now)
	if len(bad) > 0 {
		s.rejected.Add(uint64(len(bad)))
		for _, b := range bad {
			s.log.Warn("mqtt: reading rejected", "code", sensor.Code, "index", b.Index, "field", b.Field, "reason", b.Error)
		}
		s.quarantine(sensor, bad)
	}
	report := func(accepted int) {
		if len(bad) > 0 {
			slices.SortFunc(bad, func(a, b Rejection) int { return a.Index - b.Index })
			s.report(errorReport{Time: now.UTC(), Topic: pk.TopicName, Accepted: accepted, Rejected: bad}, sensor.Code)
		}
	}
	if len(rs) == 0 {
		report(0)
		return pk, nil
	}
	err := s.sink(sensor, rs)
	var rej *RejectedError
	if errors.As(err, &rej) {
		// Stored what could be; what the Sink refused is reported like the
		// server's own refusals, at its position in the payload.
		for _, r := range rej.Rejected {
			if r.Index >= 0 && r.Index < len(idx) {
				r.Index = idx[r.Index]
			}
			bad = append(bad, r)
		}
		s.rejected.Add(uint64(len(rej.Rejected)))
		s.accepted.Add(uint64(len(rs) - len(rej.Rejected)))
		report(len(rs) - len(rej.Rejected))
		return pk, nil
	}
	report(len(rs))
	if err != nil {
		s.sinkFailed.Add(uint64(len(rs)))
		s.log.Error("mqtt: sink failed", "code", sensor.Code, "readings", len(rs), "qos", pk.FixedHeader.Qos, "error", err)
		if pk.FixedHeader.Qos == 0 {
			return pk, packets.ErrRejectPacket
		}
		if cl.Properties.ProtocolVersion == 5 {
			// mochi answers a packets.Code error with a PUBACK carrying it.
			return pk, packets.ErrUnspecifiedError
		}
		// MQTT 3.1.1 cannot refuse a publish: without PUBACK the client resends
		// only on reconnection, so end the connection now.
		cl.Stop(fmt.Errorf("mqtt: readings not stored: %w", err))
		return pk, packets.ErrRejectPacket
	}
	s.accepted.Add(uint64(len(rs)))
	return pk, nil
}

func (s *Server) sink(sensor *bluehelm.Sensor, rs []bluehelm.Reading) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errors.New("server closed")
	}
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	return s.cfg.Sink.Readings(ctx, sensor, rs)
}

// quarantine hands the server's own refusals to the Sink, if it keeps them.
func (s *Server) quarantine(sensor *bluehelm.Sensor, bad []Rejection) {
	q, ok := s.cfg.Sink.(Quarantiner)
	if !ok {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	q.Quarantine(ctx, sensor, bad)
}

func (s *Server) report(r errorReport, code string) {
	b, err := json.Marshal(r)
	if err != nil {
		s.log.Error("mqtt: encode rejection", "error", err)
		return
	}
	// Retained, so that a maintainer who subscribes later sees the latest one.
	if err := s.broker.Publish(ErrorsTopic(code), b, true, 0); err != nil {
		s.log.Error("mqtt: publish rejection", "code", code, "error", err)
	}
}

// wireReading is a reading as a device sends it. Value is raw so that a missing
// value is told apart from 0 and a string ("NaN") gets a clear message.
type wireReading struct {
	Time  *string         `json:"time"`
	Value json.RawMessage `json:"value"`
	Unit  string          `json:"unit"`
}

// decode splits a payload into valid readings and rejections.
func decode(payload []byte, sensor *bluehelm.Sensor, now time.Time) ([]bluehelm.Reading, []int, []Rejection) {
	var raws []json.RawMessage
	array := false
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) > 0 && p[0] == '[' {
		array = true
		if err := json.Unmarshal(p, &raws); err != nil {
			return nil, nil, []Rejection{{Index: -1, Error: "payload is not a JSON array of readings: " + err.Error()}}
		}
		if len(raws) == 0 {
			return nil, nil, []Rejection{{Index: -1, Error: "empty array"}}
		}
		if len(raws) > MaxBatch {
			return nil, nil, []Rejection{{Index: -1, Error: fmt.Sprintf("%d readings in one message, at most %d", len(raws), MaxBatch)}}
		}
	} else {
		raws = []json.RawMessage{payload}
	}
	rs := make([]bluehelm.Reading, 0, len(raws))
	idx := make([]int, 0, len(raws))
	var bad []Rejection
	for i, raw := range raws {
		r, err := decodeOne(raw)
		if err == nil {
			err = r.ValidateAge(sensor, now, bluehelm.MaxReadingAge)
		}
		if err != nil {
			rej := Rejection{Index: i, Error: err.Error()}
			var e *bluehelm.Error
			if errors.As(err, &e) {
				rej.Field, rej.Error = e.Field, e.Message
			}
			if array && rej.Field != "" {
				rej.Field = fmt.Sprintf("[%d].%s", i, rej.Field)
			}
			bad = append(bad, rej)
			continue
		}
		rs = append(rs, r)
		idx = append(idx, i)
	}
	return rs, idx, bad
}

func decodeOne(raw []byte) (bluehelm.Reading, error) {
	var w wireReading
	dec := json.NewDecoder(bytes.NewReader(raw))
	// A misspelt field ("vlaue") would otherwise leave the value missing, or
	// worse, silently zero.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return bluehelm.Reading{}, bluehelm.Invalid("", "not a reading object %s: %v", `{"time","value","unit"}`, err)
	}
	if dec.More() {
		return bluehelm.Reading{}, bluehelm.Invalid("", "trailing data after the reading")
	}
	var r bluehelm.Reading
	if w.Time != nil {
		t, err := time.Parse(time.RFC3339, *w.Time)
		if err != nil {
			return r, bluehelm.Invalid("time", "%q is not an RFC 3339 time", *w.Time)
		}
		r.Time = t
	}
	if len(w.Value) == 0 || string(w.Value) == "null" {
		return r, bluehelm.Invalid("value", "is required")
	}
	if w.Value[0] == '"' {
		return r, bluehelm.Invalid("value", "must be a JSON number, not the string %s", w.Value)
	}
	if err := json.Unmarshal(w.Value, &r.Value); err != nil || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return r, bluehelm.Invalid("value", "%s is not a number", w.Value)
	}
	r.Unit = w.Unit
	return r, nil
}
