package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/mqtt"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

const (
	codeA, secretA = "CAMP1-BAT-01", "secret-a"
	codeB, secretB = "CAMP1-BAT-02", "secret-b"
)

// fakeAuth knows two battery sensors.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, code, secret string) (*bluehelm.Sensor, error) {
	secrets := map[string]string{codeA: secretA, codeB: secretB}
	ids := map[string]int64{codeA: 1, codeB: 2}
	if s, ok := secrets[code]; !ok || s != secret {
		return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "bad credentials")
	}
	return &bluehelm.Sensor{ID: ids[code], Code: code, Kind: bluehelm.SensorBatterySoC, CampID: 1,
		Unit: "%", IntervalSeconds: 60}, nil
}

// fakeSink records what it is handed, or fails when told to.
type fakeSink struct {
	mu   sync.Mutex
	got  []bluehelm.Reading
	who  []string
	fail error
	ch   chan struct{}
}

func newSink() *fakeSink { return &fakeSink{ch: make(chan struct{}, 1<<16)} }

func (f *fakeSink) Readings(_ context.Context, s *bluehelm.Sensor, rs []bluehelm.Reading) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	for _, r := range rs {
		f.got = append(f.got, r)
		f.who = append(f.who, s.Code)
		f.ch <- struct{}{}
	}
	return nil
}

func (f *fakeSink) readings() ([]bluehelm.Reading, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bluehelm.Reading(nil), f.got...), append([]string(nil), f.who...)
}

func (f *fakeSink) wait(t testing.TB, n int) {
	t.Helper()
	for range n {
		select {
		case <-f.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("sink did not receive %d readings", n)
		}
	}
}

func start(t testing.TB, sink mqtt.Sink) (*mqtt.Server, string) {
	t.Helper()
	srv := mqtt.New(mqtt.Config{Addr: "127.0.0.1:0", Sensors: fakeAuth{}, Sink: sink,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
	addr, err := srv.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, addr
}

func connect(t testing.TB, addr, user, pass string) (paho.Client, error) {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(user).
		SetUsername(user).SetPassword(pass).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func mustConnect(t testing.TB, addr, user, pass string) paho.Client {
	t.Helper()
	c, err := connect(t, addr, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func publish(t testing.TB, c paho.Client, topic string, qos byte, payload string) error {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(5 * time.Second) {
		return errors.New("publish timed out")
	}
	return tok.Error()
}

func reading(ts time.Time, v float64, unit string) string {
	b, _ := json.Marshal(map[string]any{"time": ts.Format(time.RFC3339), "value": v, "unit": unit})
	return string(b)
}

func TestPublishReachesSink(t *testing.T) {
	for _, tc := range []struct {
		name    string
		qos     byte
		payload string
		want    []float64
	}{
		{"qos0 object", 0, reading(now.Add(-time.Minute), 55, "%"), []float64{55}},
		{"qos1 object", 1, reading(now, 56.5, "%"), []float64{56.5}},
		{"qos1 array", 1, "[" + reading(now.Add(-2*time.Minute), 1, "%") + "," + reading(now.Add(-time.Minute), 2, "%") + "]", []float64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newSink()
			srv, addr := start(t, sink)
			c := mustConnect(t, addr, codeA, secretA)
			if err := publish(t, c, mqtt.ReadingsTopic(codeA), tc.qos, tc.payload); err != nil {
				t.Fatal(err)
			}
			if tc.qos == 1 {
				// Acknowledged means stored: no waiting needed.
				if got, _ := sink.readings(); len(got) != len(tc.want) {
					t.Fatalf("after PUBACK the sink has %d readings, want %d", len(got), len(tc.want))
				}
			}
			sink.wait(t, len(tc.want))
			got, who := sink.readings()
			for i, r := range got {
				if r.Value != tc.want[i] || r.Unit != "%" || who[i] != codeA {
					t.Errorf("reading %d = %+v from %s, want %v %% from %s", i, r, who[i], tc.want[i], codeA)
				}
			}
			if st := srv.Stats(); st.Accepted != uint64(len(tc.want)) || st.Rejected != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	_, addr := start(t, newSink())
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", codeA, "guess"},
		{"unknown sensor", "CAMP9-X", secretA},
		{"anonymous", "", ""},
		{"another sensor's password", codeA, secretB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := connect(t, addr, tc.user, tc.pass); err == nil {
				t.Fatal("connected")
			}
		})
	}
	t.Run("client id of another sensor", func(t *testing.T) {
		opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(codeB).
			SetUsername(codeA).SetPassword(secretA).SetAutoReconnect(false)
		c := paho.NewClient(opts)
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(100)
			t.Fatal("connected")
		}
	})
}

func TestOtherSensorsTopicsRefused(t *testing.T) {
	sink := newSink()
	_, addr := start(t, sink)

	t.Run("subscribe", func(t *testing.T) {
		c := mustConnect(t, addr, codeA, secretA)
		for _, filter := range []string{mqtt.ReadingsTopic(codeB), mqtt.ErrorsTopic(codeB), "bluehelm/#", "bluehelm/sensors/+/readings"} {
			tok := c.Subscribe(filter, 1, nil)
			if !tok.WaitTimeout(5 * time.Second) {
				t.Fatal("subscribe timed out")
			}
			if code := tok.(*paho.SubscribeToken).Result()[filter]; code < 0x80 && tok.Error() == nil {
				t.Errorf("subscribe %s granted (code %#x)", filter, code)
			}
		}
		tok := c.Subscribe(mqtt.ErrorsTopic(codeA), 1, nil)
		tok.WaitTimeout(5 * time.Second)
		if code := tok.(*paho.SubscribeToken).Result()[mqtt.ErrorsTopic(codeA)]; code >= 0x80 || tok.Error() != nil {
			t.Errorf("own errors topic refused: %#x %v", code, tok.Error())
		}
	})
	t.Run("publish", func(t *testing.T) {
		for _, qos := range []byte{0, 1} {
			c := mustConnect(t, addr, codeA, secretA)
			err := publish(t, c, mqtt.ReadingsTopic(codeB), qos, reading(now, 50, "%"))
			if qos == 1 && err == nil && c.IsConnectionOpen() {
				// MQTT 3.1.1 has no negative PUBACK: mochi drops the connection.
				time.Sleep(100 * time.Millisecond)
				if c.IsConnectionOpen() {
					t.Error("qos 1 publish to another sensor's topic accepted")
				}
			}
			c.Disconnect(100)
		}
		// The good publish after the refused ones proves the refused ones are gone,
		// not merely slow: the broker handles one client's packets in order.
		c := mustConnect(t, addr, codeA, secretA)
		if err := publish(t, c, mqtt.ReadingsTopic(codeA), 1, reading(now, 42, "%")); err != nil {
			t.Fatal(err)
		}
		got, who := sink.readings()
		if len(got) != 1 || got[0].Value != 42 || who[0] != codeA {
			t.Fatalf("sink got %+v from %v, want only 42 %% from %s", got, who, codeA)
		}
	})
}

func TestBadReadingsRejected(t *testing.T) {
	sink := newSink()
	srv, addr := start(t, sink)
	c := mustConnect(t, addr, codeA, secretA)
	reports := make(chan map[string]any, 16)
	tok := c.Subscribe(mqtt.ErrorsTopic(codeA), 1, func(_ paho.Client, m paho.Message) {
		var r map[string]any
		if err := json.Unmarshal(m.Payload(), &r); err != nil {
			t.Errorf("errors topic payload %q: %v", m.Payload(), err)
		}
		reports <- r
	})
	if tok.WaitTimeout(5 * time.Second); tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	ts := now.Format(time.RFC3339)
	for _, tc := range []struct {
		name, payload, field, msg string
	}{
		{"wrong unit", reading(now, 50, "L"), "unit", `not "L"`},
		{"NaN string", `{"time":"` + ts + `","value":"NaN","unit":"%"}`, "value", "not the string"},
		{"Infinity string", `{"time":"` + ts + `","value":"+Inf","unit":"%"}`, "value", "not the string"},
		{"300 %", reading(now, 300, "%"), "value", "outside 0..100"},
		{"far future", reading(now.Add(24*time.Hour), 50, "%"), "time", "in the future"},
		{"too old", reading(now.Add(-8*24*time.Hour), 50, "%"), "time", "older than"},
		{"missing value", `{"time":"` + ts + `","unit":"%"}`, "value", "is required"},
		{"misspelt field", `{"time":"` + ts + `","vlaue":5,"unit":"%"}`, "", "unknown field"},
		{"not RFC 3339", `{"time":"27/11/2026","value":5,"unit":"%"}`, "time", "RFC 3339"},
		{"not JSON", `hello`, "", "not a reading"},
		{"array with a bad one", "[" + reading(now, 300, "%") + "]", "[0].value", "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// QoS 1: the rejection is published before the PUBACK.
			if err := publish(t, c, mqtt.ReadingsTopic(codeA), 1, tc.payload); err != nil {
				t.Fatal(err)
			}
			var r map[string]any
			select {
			case r = <-reports:
			case <-time.After(5 * time.Second):
				t.Fatal("no message on the errors topic")
			}
			rej, _ := r["rejected"].([]any)
			if len(rej) != 1 {
				t.Fatalf("report %v: want one rejection", r)
			}
			first := rej[0].(map[string]any)
			field, _ := first["field"].(string)
			msg, _ := first["error"].(string)
			if field != tc.field || !strings.Contains(msg, tc.msg) {
				t.Errorf("rejection %v, want field %q and a message with %q", first, tc.field, tc.msg)
			}
		})
	}
	if got, _ := sink.readings(); len(got) != 0 {
		t.Fatalf("bad readings reached the sink: %+v", got)
	}

	// A mixed array: the good reading is stored, the bad one reported.
	payload := "[" + reading(now, 20, "%") + "," + reading(now, -5, "%") + "]"
	if err := publish(t, c, mqtt.ReadingsTopic(codeA), 1, payload); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reports:
		if r["accepted"] != 1.0 || r["rejected"].([]any)[0].(map[string]any)["field"] != "[1].value" {
			t.Errorf("mixed report = %v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no report for the mixed array")
	}
	if got, _ := sink.readings(); len(got) != 1 || got[0].Value != 20 {
		t.Fatalf("sink got %+v, want the one good reading", got)
	}
	if st := srv.Stats(); st.Rejected != 12 || st.Accepted != 1 {
		t.Errorf("stats = %+v, want 12 rejected and 1 accepted", st)
	}
}

func TestSinkFailureIsNotAcknowledged(t *testing.T) {
	sink := newSink()
	sink.fail = errors.New("disk full")
	srv, addr := start(t, sink)
	c := mustConnect(t, addr, codeA, secretA)
	err := publish(t, c, mqtt.ReadingsTopic(codeA), 1, reading(now, 50, "%"))
	// The broker drops an MQTT 3.1.1 connection instead of acknowledging; Paho
	// fails the token or at least sees the connection gone.
	deadline := time.Now().Add(2 * time.Second)
	for err == nil && c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err == nil && c.IsConnectionOpen() {
		t.Fatal("publish acknowledged and connection kept although the sink failed")
	}
	if st := srv.Stats(); st.SinkFailed != 1 || st.Accepted != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	sink := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	srv := mqtt.New(mqtt.Config{Addr: "127.0.0.1:0", Sensors: fakeAuth{}, Sink: sink,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
	addr, err := srv.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(codeA).
		SetUsername(codeA).SetPassword(secretA).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := c.Publish(mqtt.ReadingsTopic(codeA), 1, false, reading(now, 1, "%")); tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	// Cancelling the Start context closes the server, connected client and all.
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.IsConnectionOpen() {
		t.Fatal("client still connected after the server closed")
	}
	c.Disconnect(0)
	srv.Close() // idempotent
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
