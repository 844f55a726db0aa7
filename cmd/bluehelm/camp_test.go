package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/paulmach/orb"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/mqtt"
	"github.com/bluehelm/bluehelm/sqlite"
)

// campFixture registers, directly in a fresh data directory, a camp with a fuel
// tank sensor (with a token) and a low-level rule: the state an operator would
// reach through POST /api/v1/sensors.
func campFixture(t *testing.T, dir string) (code, token string, sensorID int64) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(dir, "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	sys := bluehelm.SystemPrincipal("test")
	entry := func(a string) bluehelm.AuditEntry { return bluehelm.NewAudit(sys, a, "", nil) }
	ring := orb.Ring{{31, 5}, {31.01, 5}, {31.01, 5.01}, {31, 5.01}, {31, 5}}
	camp := &bluehelm.Area{Name: "Camp 1", Kind: bluehelm.AreaCamp, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}},
		Marking: bluehelm.Marking{Component: bluehelm.Support}, CreatedBy: "test"}
	if err := store.CreateArea(ctx, camp, entry("area.create")); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	s := &bluehelm.Sensor{Code: "C1-FUEL-1", Kind: bluehelm.SensorFuelLevel, CampID: camp.ID, Position: bluehelm.Point{Lon: 31.005, Lat: 5.005},
		Unit: "%", IntervalSeconds: 60, Marking: bluehelm.Marking{Component: bluehelm.Support}, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateSensor(ctx, s, entry("sensor.create")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	// the token format of the ingest package: bhs1.<id>.<random>
	token = "bhs1." + strconv.FormatInt(s.ID, 10) + "." + base64.RawURLEncoding.EncodeToString(b)
	if err := store.SetSensorSecret(ctx, s.ID, bluehelm.HashSensorSecret(token), entry("sensor.token")); err != nil {
		t.Fatal(err)
	}
	rule := &bluehelm.AlarmRule{Name: "fuel low", Kind: bluehelm.AlarmThreshold, CampID: camp.ID, SensorID: s.ID,
		Side: bluehelm.SideLow, Level: 20, Hysteresis: 5, Severity: bluehelm.SevWarning}
	if err := store.CreateAlarmRule(ctx, rule, entry("alarm_rule.create")); err != nil {
		t.Fatal(err)
	}
	return s.Code, token, s.ID
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCampSensorsThroughServe runs "bluehelm serve --mqtt" in a child process and
// drives it as devices do: a real MQTT client (Paho) with the sensor's code and
// token, and the HTTP batch endpoint with the token as bearer. A bad reading
// comes back on the errors topic; a low level raises an alert; then the server
// is killed with SIGKILL while readings stream in, and every reading the broker
// acknowledged (PUBACK) must be in the store.
func TestCampSensorsThroughServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	cli(t, "user", "create", "--data", dir, "--username", "campmgr", "--role", "camp_manager", "--component", "support", "--clearance", "U")
	userTok := strings.TrimSpace(cli(t, "user", "token", "campmgr", "--data", dir, "--name", "camp test"))
	code, token, sensorID := campFixture(t, dir)
	mqttAddr := freePort(t)
	t.Setenv("BLUEHELM_MQTT", mqttAddr)
	cmd, base := startChild(t, dir)

	opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID(code).SetUsername(code).SetPassword(token).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	errs := make(chan []byte, 16)
	if tok := c.Subscribe(mqtt.ErrorsTopic(code), 1, func(_ paho.Client, m paho.Message) { errs <- m.Payload() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	publish := func(payload string) error {
		tok := c.Publish(mqtt.ReadingsTopic(code), 1, false, payload)
		if !tok.WaitTimeout(10 * time.Second) {
			return fmt.Errorf("publish timed out")
		}
		return tok.Error()
	}
	reading := func(at time.Time, v float64) string {
		return fmt.Sprintf(`{"time":%q,"value":%g,"unit":"%%"}`, at.UTC().Format(time.RFC3339Nano), v)
	}
	start := time.Now().Add(-time.Minute)
	if err := publish("[" + reading(start, 60) + "," + reading(start.Add(time.Millisecond), 300) + "]"); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-errs:
		if !bytes.Contains(b, []byte("outside 0..100")) || !bytes.Contains(b, []byte(`"accepted":1`)) {
			t.Errorf("errors topic: %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no rejection on the errors topic")
	}

	client := &nethttp.Client{Timeout: 30 * time.Second}
	do := func(method, path, bearer string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := nethttp.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+bearer)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// The tank drops below 20 % (HTTP, with the sensor token): one alert.
	if st, b := do("POST", "/api/v1/readings", token, map[string]any{"readings": []any{
		map[string]any{"sensor_code": code, "time": start.Add(2 * time.Millisecond).UTC().Format(time.RFC3339Nano), "value": 12, "unit": "%"}}}); st != 200 {
		t.Fatalf("POST /readings: %d %s", st, b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, b := do("GET", "/api/v1/alerts", userTok, nil)
		if bytes.Contains(b, []byte(`"rule":"threshold"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sensor alert: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Stream readings and kill the server mid-stream.
	var (
		mu    sync.Mutex
		acked []time.Time
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			at := start.Add(time.Second + time.Duration(i)*time.Millisecond)
			if publish(reading(at, 50)) != nil {
				return
			}
			mu.Lock()
			acked = append(acked, at)
			mu.Unlock()
		}
	}()
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("only %d readings acknowledged", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	c.Disconnect(0)
	<-done

	store, err := sqlite.Open(filepath.Join(dir, "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got, err := store.Readings(context.Background(), sensorID, time.Time{}, time.Time{}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, r := range got {
		stored[r.Time.UnixMicro()] = true
	}
	mu.Lock()
	defer mu.Unlock()
	for _, at := range acked {
		if !stored[at.Truncate(time.Microsecond).UnixMicro()] {
			t.Fatalf("reading at %s acknowledged over MQTT but lost after SIGKILL", at)
		}
	}
	q, err := store.QuarantinedReadings(context.Background(), code, 10)
	if err != nil || len(q) != 1 || q[0].Source != "mqtt" {
		t.Errorf("quarantine: %+v %v", q, err)
	}
	t.Logf("SIGKILL after %d MQTT readings acknowledged: none lost", len(acked))
}
