package mqtt_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/mqtt"
)

// countSink only counts, so the benchmark measures the broker, the decoding and
// the validation, not a store.
type countSink struct{ n atomic.Int64 }

func (c *countSink) Readings(_ context.Context, _ *bluehelm.Sensor, rs []bluehelm.Reading) error {
	c.n.Add(int64(len(rs)))
	return nil
}

// BenchmarkPublish sends readings from one Paho publisher through the broker to
// the Sink and reports readings/s. Each op is one message; "batch" messages hold
// an array of 100 readings.
func BenchmarkPublish(b *testing.B) {
	for _, bc := range []struct {
		name  string
		qos   byte
		batch int
	}{
		{"qos0", 0, 1}, {"qos1", 1, 1}, {"qos1-batch100", 1, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sink := &countSink{}
			_, addr := start(b, sink)
			opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(codeA).
				SetUsername(codeA).SetPassword(secretA).SetAutoReconnect(false).
				SetWriteTimeout(10 * time.Second)
			c := paho.NewClient(opts)
			if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
				b.Fatal(tok.Error())
			}
			defer c.Disconnect(100)
			one := reading(now, 50, "%")
			payload := one
			if bc.batch > 1 {
				payload = "[" + strings.Repeat(one+",", bc.batch-1) + one + "]"
			}
			topic := mqtt.ReadingsTopic(codeA)
			want := int64(b.N * bc.batch)
			// A window of outstanding QoS 1 messages, as a device with a send
			// buffer would keep; waiting for each PUBACK would time the round trip.
			const window = 256
			var pending []paho.Token
			b.ResetTimer()
			for range b.N {
				tok := c.Publish(topic, bc.qos, false, payload)
				if bc.qos > 0 {
					pending = append(pending, tok)
					if len(pending) == window {
						for _, t := range pending {
							if t.Wait(); t.Error() != nil {
								b.Fatal(t.Error())
							}
						}
						pending = pending[:0]
					}
				}
			}
			for _, t := range pending {
				if t.Wait(); t.Error() != nil {
					b.Fatal(t.Error())
				}
			}
			deadline := time.Now().Add(30 * time.Second)
			for sink.n.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			if got := sink.n.Load(); got != want {
				b.Fatalf("sink got %d readings, want %d", got, want)
			}
			b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}
