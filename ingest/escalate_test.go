package ingest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/webhook"
)

// hookReceiver is a webhook endpoint on 127.0.0.1.
type hookReceiver struct {
	mu     sync.Mutex
	events []ingest.EscalationEvent
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	var ev ingest.EscalationEvent
	if !webhook.Verify([]byte("k"), body, r.Header.Get(webhook.SignatureHeader)) || json.Unmarshal(body, &ev) != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.events = append(h.events, ev)
}

func TestEscalation(t *testing.T) {
	e := newCampOpsEnv(t)
	rcv := &hookReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	prof := &bluehelm.CampProfile{Population: 800, WebhookURL: srv.URL + "/alerts",
		Escalation: []bluehelm.EscalationStep{{Role: bluehelm.RoleCamp, AfterMinutes: 5}, {Role: bluehelm.RoleCommander, AfterMinutes: 15}}}
	if _, err := e.p.PutCampProfile(ctx, viewer, e.camp.ID, 0, prof); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("a viewer set a profile: %v", err)
	}
	if _, err := e.p.PutCampProfile(ctx, manager, e.camp.ID, 0, prof); err != nil {
		t.Fatal(err)
	}
	sub := e.hub.Subscribe(live.SubscribeOptions{Viewer: joc, Layers: []string{live.LayerAlerts}})
	defer sub.Close()
	raise := func(title string) *bluehelm.Alert {
		a := &bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: "threshold", Key: "1/threshold/" + title, Severity: bluehelm.SevWarning, Title: title, AreaID: e.camp.ID,
			Marking: bluehelm.Marking{Component: bluehelm.Military}}
		if err := e.p.RaiseAlert(ctx, bluehelm.SystemPrincipal("sensor"), a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	elsewhere := &bluehelm.Alert{Source: bluehelm.AlertManual, Severity: bluehelm.SevWarning, Title: "not a camp's", Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.RaiseAlert(ctx, joc, elsewhere); err != nil {
		t.Fatal(err)
	}
	cold := raise("Cold store above 8 °C")
	acked := raise("Water tank low")
	if _, err := e.p.AcknowledgeAlert(ctx, manager, acked.ID, acked.Version); err != nil {
		t.Fatal(err)
	}
	esc := e.p.NewEscalator(ingest.EscalatorConfig{})
	sender := webhook.New(webhook.Config{Outbox: e.store, Secret: []byte("k"), Now: e.clock.Now})
	sub.Drain(nil)

	for _, step := range []struct {
		after time.Duration
		want  int
		role  bluehelm.Role
	}{
		{4 * time.Minute, 0, ""},
		{time.Minute, 1, bluehelm.RoleCamp}, // 5 min
		{time.Minute, 0, bluehelm.RoleCamp},
		{9 * time.Minute, 1, bluehelm.RoleCommander}, // 15 min
		{time.Hour, 0, bluehelm.RoleCommander},       // the list is exhausted
	} {
		e.clock.Add(step.after)
		n, err := esc.Tick(ctx)
		if err != nil || n != step.want {
			t.Fatalf("at +%v: escalated %d, %v; want %d", e.clock.Now().Sub(cold.RaisedAt), n, err, step.want)
		}
		got, _ := e.store.Alert(ctx, cold.ID)
		if got.EscalatedTo != step.role {
			t.Fatalf("escalated to %q, want %q", got.EscalatedTo, step.role)
		}
		if step.want > 0 {
			if !strings.Contains(got.Detail, "Escalated to "+string(step.role)) || got.EscalatedAt == nil {
				t.Errorf("detail %q", got.Detail)
			}
			// The update reached the stream (and so TAK clients) again.
			evs, _ := sub.Drain(nil)
			if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"escalated_to":"`+string(step.role)+`"`) {
				t.Errorf("stream after escalation: %d events", len(evs))
			}
			if n, err := sender.Flush(ctx); err != nil || n != 1 {
				t.Errorf("webhook: delivered %d, %v", n, err)
			}
		}
	}
	if got, _ := e.store.Alert(ctx, acked.ID); got.Escalation != 0 {
		t.Errorf("an acknowledged alert was escalated %d times", got.Escalation)
	}
	if got, _ := e.store.Alert(ctx, elsewhere.ID); got.Escalation != 0 {
		t.Errorf("an alert of no camp was escalated")
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.bad != 0 || len(rcv.events) != 2 || rcv.events[0].Step != 1 || rcv.events[1].Role != bluehelm.RoleCommander ||
		rcv.events[1].Alert.ID != cold.ID || rcv.events[0].Camp != "Camp Alpha" || rcv.events[0].Event != "alert.escalated" {
		t.Errorf("webhook events %+v (bad %d)", rcv.events, rcv.bad)
	}
}

// A crash between an escalation and its message (here: an escalator without
// an outbox) is made good by the next escalator's first tick, once.
func TestEscalationRequeuedAfterCrash(t *testing.T) {
	e := newCampOpsEnv(t)
	rcv := &hookReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	prof := &bluehelm.CampProfile{WebhookURL: srv.URL, Escalation: []bluehelm.EscalationStep{{Role: bluehelm.RoleCommander, AfterMinutes: 5}}}
	if _, err := e.p.PutCampProfile(ctx, manager, e.camp.ID, 0, prof); err != nil {
		t.Fatal(err)
	}
	a := &bluehelm.Alert{Source: bluehelm.AlertCamp, Rule: ingest.RuleReorder, Key: "stock_item/1", Severity: bluehelm.SevWarning, Title: "Reorder diesel",
		AreaID: e.camp.ID, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.RaiseAlert(ctx, bluehelm.SystemPrincipal("reorder"), a); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(6 * time.Minute)
	lost := e.p.NewEscalator(ingest.EscalatorConfig{Outbox: noOutbox{}})
	if n, err := lost.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("escalated %d, %v", n, err)
	}
	sender := webhook.New(webhook.Config{Outbox: e.store, Secret: []byte("k"), Now: e.clock.Now})
	if n, _ := sender.Flush(ctx); n != 0 {
		t.Fatalf("%d messages before the restart", n)
	}
	restarted := e.p.NewEscalator(ingest.EscalatorConfig{})
	for range 2 {
		if n, err := restarted.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("after the restart: escalated %d, %v", n, err)
		}
		e.clock.Add(time.Minute)
	}
	if n, err := sender.Flush(ctx); err != nil || n != 1 {
		t.Fatalf("after the restart: delivered %d, %v", n, err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.events) != 1 || rcv.events[0].Step != 1 || rcv.events[0].Role != bluehelm.RoleCommander || rcv.events[0].Alert.ID != a.ID {
		t.Errorf("events %+v", rcv.events)
	}
}

// noOutbox drops every message, as a crash right after the escalation would.
type noOutbox struct{}

func (noOutbox) EnqueueWebhook(context.Context, *bluehelm.WebhookDelivery) error { return nil }

// A raiser cannot claim an escalation: the escalator alone records one, so an
// alert posted with escalation fields starts at step zero like any other.
func TestRaiseAlertIgnoresEscalationFields(t *testing.T) {
	e := newCampOpsEnv(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &bluehelm.Alert{Source: bluehelm.AlertManual, Severity: bluehelm.SevWarning, Title: "claims to be escalated",
		Escalation: 3, EscalatedTo: bluehelm.RoleCommander, EscalatedAt: &at, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.RaiseAlert(ctx, joc, a); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Alert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Escalation != 0 || got.EscalatedTo != "" || got.EscalatedAt != nil {
		t.Errorf("stored escalation %d to %q at %v, want none", got.Escalation, got.EscalatedTo, got.EscalatedAt)
	}
}
