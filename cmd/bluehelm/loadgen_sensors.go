package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	nethttp "net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/bluehelm/bluehelm/mqtt"
)

// runSensorLoad drives camp sensor load through a running bluehelm: it
// registers a camp and N battery sensors over the HTTP API (a user token with
// camp.manage), each with a low-level alarm rule, then connects one MQTT client
// per sensor with the sensor's own code and token and publishes QoS 1 batches
// at the given rate. A PUBACK means the readings are stored and evaluated, so
// the publish → PUBACK time is the ingestion latency a device sees.
func runSensorLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen sensors", stderr)
	var (
		baseURL, token, broker string
		sensors, batch         int
		rate                   float64
		duration               time.Duration
		asJSON                 bool
	)
	fs.StringVar(&baseURL, "url", env("url", "http://127.0.0.1:8080"), "the server's HTTP base URL, to register sensors [BLUEHELM_URL]")
	fs.StringVar(&token, "token", env("token", ""), "API token of a user with camp.manage (camp manager, administrator) [BLUEHELM_TOKEN]")
	fs.StringVar(&broker, "mqtt", env("mqtt", mqtt.DefaultAddr), "the server's MQTT address [BLUEHELM_MQTT]")
	fs.IntVar(&sensors, "sensors", 100, "sensors (one MQTT connection each)")
	fs.Float64Var(&rate, "rate", 10, "readings per second per sensor")
	fs.IntVar(&batch, "batch", 10, "readings per MQTT message")
	fs.DurationVar(&duration, "duration", 10*time.Second, "how long to publish")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bluehelm loadgen sensors --token TOKEN [--url URL] [--mqtt HOST:PORT]
                        [--sensors N] [--rate R] [--batch B] [--duration D] [--json]

Registers a camp and N sensors (each with a low-level rule) on a running bluehelm,
publishes N×R readings/s over MQTT in QoS 1 messages of B readings, and reports the
readings acknowledged per second and the publish → PUBACK latency.`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("--token is required (bluehelm user token USER --name loadgen)")
	}
	if sensors < 1 || batch < 1 || batch > mqtt.MaxBatch || rate <= 0 || duration <= 0 {
		return fmt.Errorf("--sensors, --rate, --duration must be positive and --batch 1..%d", mqtt.MaxBatch)
	}
	api := &sensorAPI{base: strings.TrimSuffix(baseURL, "/"), token: token, client: &nethttp.Client{Timeout: 30 * time.Second}}
	run := time.Now().UTC().Format("150405")
	var campID int64
	if err := api.post(ctx, "/api/v1/areas", map[string]any{
		"name": "loadgen camp " + run, "kind": "camp", "component": "support",
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{{31, 5}, {31.01, 5}, {31.01, 5.01}, {31, 5.01}, {31, 5}}}},
	}, &struct {
		ID *int64 `json:"id"`
	}{&campID}); err != nil {
		return fmt.Errorf("creating the camp: %w", err)
	}
	type dev struct {
		code, token string
		id          int64
	}
	devs := make([]dev, sensors)
	for i := range devs {
		var out struct {
			Sensor struct {
				ID   int64  `json:"id"`
				Code string `json:"code"`
			} `json:"sensor"`
			Token string `json:"token"`
		}
		if err := api.post(ctx, "/api/v1/sensors", map[string]any{
			"code": fmt.Sprintf("LG%s-BAT-%05d", run, i), "kind": "battery_soc", "unit": "%", "camp_id": campID,
			"interval_seconds": max(1, int(math.Ceil(float64(batch)/rate))),
			"position":         map[string]any{"type": "Point", "coordinates": []float64{31.005, 5.005}}, "component": "support",
		}, &out); err != nil {
			return fmt.Errorf("registering sensor %d: %w", i, err)
		}
		devs[i] = dev{out.Sensor.Code, out.Token, out.Sensor.ID}
		if err := api.post(ctx, "/api/v1/alarm-rules", map[string]any{
			"name": "battery low", "kind": "threshold", "camp_id": campID, "sensor_id": out.Sensor.ID,
			"side": "low", "level": 10, "hysteresis": 5, "severity": "info",
		}, nil); err != nil {
			return fmt.Errorf("alarm rule of sensor %d: %w", i, err)
		}
	}
	if !asJSON {
		fmt.Fprintf(stderr, "registered camp %d and %d sensors; publishing %.0f readings/s for %s\n", campID, sensors, float64(sensors)*rate, duration)
	}

	var (
		acked, failed atomic.Int64
		mu            sync.Mutex
		lat           []time.Duration
	)
	interval := time.Duration(float64(batch) / rate * float64(time.Second))
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	began := time.Now()
	for i, d := range devs {
		opts := paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(d.code).SetUsername(d.code).SetPassword(d.token).
			SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
		c := paho.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return fmt.Errorf("MQTT connect of %s: %v", d.code, tok.Error())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Disconnect(100)
			// spread the senders over the interval so that they do not all publish at once
			t := time.NewTimer(interval * time.Duration(i) / time.Duration(len(devs)))
			defer t.Stop()
			var local []time.Duration
			for n := 0; ; n++ {
				select {
				case <-runCtx.Done():
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
					return
				case <-t.C:
				}
				t.Reset(interval)
				var b bytes.Buffer
				b.WriteByte('[')
				now := time.Now().UTC()
				for k := range batch {
					if k > 0 {
						b.WriteByte(',')
					}
					// a slow saw between 0 and 100 %: each battery goes low (and
					// raises its alarm) once a minute
					v := math.Mod(float64(now.Unix()+int64(i)), 60) * 100 / 60
					fmt.Fprintf(&b, `{"time":%q,"value":%.1f,"unit":"%%"}`, now.Add(time.Duration(k)*time.Microsecond).Format(time.RFC3339Nano), v)
				}
				b.WriteByte(']')
				start := time.Now()
				tok := c.Publish(mqtt.ReadingsTopic(d.code), 1, false, b.Bytes())
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					failed.Add(int64(batch))
					continue
				}
				local = append(local, time.Since(start))
				acked.Add(int64(batch))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
	}
	report := map[string]any{
		"sensors": sensors, "batch": batch, "target_readings_per_s": float64(sensors) * rate,
		"acked": acked.Load(), "failed": failed.Load(), "seconds": elapsed.Seconds(),
		"readings_per_s": float64(acked.Load()) / elapsed.Seconds(),
		"puback_p50_ms":  q(0.5), "puback_p99_ms": q(0.99), "puback_max_ms": q(1),
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(report)
	}
	fmt.Fprintf(stdout, "sensors %d, batch %d: %d readings acknowledged in %.1f s = %.0f readings/s (target %.0f), %d failed\n",
		sensors, batch, acked.Load(), elapsed.Seconds(), report["readings_per_s"], float64(sensors)*rate, failed.Load())
	fmt.Fprintf(stdout, "publish → PUBACK: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", q(0.5), q(0.99), q(1))
	return nil
}

// sensorAPI is the few calls the sensor load generator makes.
type sensorAPI struct {
	base, token string
	client      *nethttp.Client
}

func (a *sensorAPI) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := nethttp.NewRequestWithContext(ctx, "POST", a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}
