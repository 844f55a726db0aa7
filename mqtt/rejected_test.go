package mqtt_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/mqtt"
)

// pickySink stores readings but refuses those of value 13 (as the pipeline
// refuses a duplicate-free but otherwise bad reading), and keeps what the
// server quarantined itself.
type pickySink struct {
	mu          sync.Mutex
	stored      []float64
	quarantined []mqtt.Rejection
}

func (p *pickySink) Readings(_ context.Context, _ *bluehelm.Sensor, rs []bluehelm.Reading) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var rej mqtt.RejectedError
	for i, r := range rs {
		if r.Value == 13 {
			rej.Rejected = append(rej.Rejected, mqtt.Rejection{Index: i, Field: "value", Error: "unlucky"})
			continue
		}
		p.stored = append(p.stored, r.Value)
	}
	if len(rej.Rejected) > 0 {
		return &rej
	}
	return nil
}

func (p *pickySink) Quarantine(_ context.Context, _ *bluehelm.Sensor, bad []mqtt.Rejection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quarantined = append(p.quarantined, bad...)
}

// TestSinkRejectionsReported checks that readings a Sink refuses are
// acknowledged (a resend cannot make them good) and reported on the errors
// topic at their position in the payload, beside the server's own refusals,
// which the Sink is given to quarantine.
func TestSinkRejectionsReported(t *testing.T) {
	sink := &pickySink{}
	srv, addr := start(t, sink)
	c := mustConnect(t, addr, codeA, secretA)
	reports := make(chan []byte, 4)
	if tok := c.Subscribe(mqtt.ErrorsTopic(codeA), 1, func(_ paho.Client, m paho.Message) { reports <- m.Payload() }); tok.WaitTimeout(5*time.Second) && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	payload := "[" + reading(now.Add(-3*time.Second), 300, "%") + "," + reading(now.Add(-2*time.Second), 13, "%") + "," +
		reading(now.Add(-time.Second), 40, "%") + "]"
	if err := publish(t, c, mqtt.ReadingsTopic(codeA), 1, payload); err != nil {
		t.Fatalf("a message with refused readings was not acknowledged: %v", err)
	}
	var r struct {
		Accepted int              `json:"accepted"`
		Rejected []mqtt.Rejection `json:"rejected"`
	}
	select {
	case b := <-reports:
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no report on the errors topic")
	}
	if r.Accepted != 1 || len(r.Rejected) != 2 || r.Rejected[0].Index != 0 || r.Rejected[1].Index != 1 || r.Rejected[1].Error != "unlucky" {
		t.Errorf("report = %+v, want 1 accepted, payload positions 0 (server) and 1 (sink)", r)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.stored) != 1 || sink.stored[0] != 40 {
		t.Errorf("stored %v, want [40]", sink.stored)
	}
	if len(sink.quarantined) != 1 || sink.quarantined[0].Index != 0 {
		t.Errorf("quarantined %+v, want the 300 %% reading", sink.quarantined)
	}
	if st := srv.Stats(); st.Accepted != 1 || st.Rejected != 2 {
		t.Errorf("stats = %+v", st)
	}
}
