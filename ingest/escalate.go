package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Escalation: an alert of a camp (AreaID = the camp area) that nobody has
// acknowledged is taken up the camp profile's list, one step per deadline: the
// alert is updated through the pipeline (so the web app's stream and TAK
// clients receive it again, saying to whom it was escalated) and a webhook
// message is put in the persisted outbox for the camp's gateway.

// EscalationEvent is the body of an escalation webhook.
type EscalationEvent struct {
	Event string `json:"event"` // "alert.escalated"
	// Delivery identifies the message: a receiver that sees it twice (a retry
	// whose acknowledgement was lost) may drop the second.
	Delivery string          `json:"delivery"`
	CampID   int64           `json:"camp_id"`
	Camp     string          `json:"camp,omitempty"`
	Step     int             `json:"step"` // 1 for the first escalation
	Role     bluehelm.Role   `json:"role"`
	At       time.Time       `json:"at"`
	Alert    *bluehelm.Alert `json:"alert"`
}

// Outbox is where escalation messages wait for the webhook sender.
type Outbox interface {
	EnqueueWebhook(ctx context.Context, d *bluehelm.WebhookDelivery) error
}

// EscalatorConfig configures an Escalator.
type EscalatorConfig struct {
	// Every is how often open alerts are checked (0: 30 seconds).
	Every time.Duration
	// FallbackURL receives the escalations of camps whose profile names no
	// webhook; empty: those are escalated in the UI and to TAK clients only.
	FallbackURL string
	// Outbox takes the webhook messages; nil: the pipeline's store if it has
	// an outbox, else none are sent.
	Outbox Outbox
	// Queued is called after messages were put in the outbox (to wake the
	// sender); nil for none.
	Queued func()
}

// Escalator walks the open alerts of camps through their escalation lists.
type Escalator struct {
	p        *Pipeline
	cfg      EscalatorConfig
	requeued bool // the first Tick's requeue is done (Tick is not called concurrently)
}

// NewEscalator returns an escalator over the pipeline (its clock included).
func (p *Pipeline) NewEscalator(cfg EscalatorConfig) *Escalator {
	if cfg.Every <= 0 {
		cfg.Every = 30 * time.Second
	}
	if cfg.Outbox == nil {
		if o, ok := p.store.(Outbox); ok {
			cfg.Outbox = o
		}
	}
	return &Escalator{p: p, cfg: cfg}
}

// Run checks every cfg.Every until ctx ends.
func (e *Escalator) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := e.Tick(ctx); err != nil {
				e.p.log.Error("escalation", "err", err)
			}
		}
	}
}

// Tick takes each open alert of a camp whose next step is due one step up and
// returns how many it escalated. Ticks must not overlap (Run calls it in turn).
func (e *Escalator) Tick(ctx context.Context) (int, error) {
	cs, err := e.p.camps()
	if err != nil {
		return 0, err
	}
	profiles, err := cs.CampProfiles(ctx)
	if err != nil {
		return 0, err
	}
	byCamp := map[int64]*bluehelm.CampProfile{}
	for _, pr := range profiles {
		if len(pr.Escalation) > 0 {
			byCamp[pr.CampID] = pr
		}
	}
	if len(byCamp) == 0 {
		return 0, nil
	}
	sys := bluehelm.SystemPrincipal("escalation")
	queued := false
	if !e.requeued {
		if queued, err = e.requeue(ctx, sys, byCamp); err != nil {
			return 0, err
		}
		e.requeued = true
	}
	open, err := e.p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: sys, States: []bluehelm.AlertState{bluehelm.AlertOpen}, Limit: 5000})
	if err != nil {
		return 0, err
	}
	now := e.p.now()
	n := 0
	for _, a := range open {
		pr := byCamp[a.AreaID]
		step, i, ok := pr.NextEscalation(a, now)
		if !ok {
			continue
		}
		q, err := e.escalate(ctx, sys, a, pr, step, i, now)
		queued = queued || q
		if err != nil {
			// Acknowledged meanwhile, or changed by someone: the next tick sees it.
			e.p.log.Warn("escalating alert", "alert", a.ID, "err", err)
			continue
		}
		n++
	}
	if queued && e.cfg.Queued != nil {
		e.cfg.Queued()
	}
	return n, nil
}

// escalate takes the alert one step up, then queues the webhook under a key
// naming the alert and step. In this order a user who acknowledges the alert
// at the same moment wins (the update fails on the version) and no message
// claims an escalation that did not happen; a crash between the two writes is
// made good by requeue at the next start (the key makes it idempotent).
func (e *Escalator) escalate(ctx context.Context, sys bluehelm.Principal, a *bluehelm.Alert, pr *bluehelm.CampProfile, step bluehelm.EscalationStep, i int, now time.Time) (queued bool, err error) {
	note := fmt.Sprintf("Escalated to %s: not acknowledged after %d minutes.", step.Role, step.AfterMinutes)
	at := now
	next, err := e.p.changeAlert(ctx, sys, a.ID, a.Version, "alert.escalate", func(cur *bluehelm.Alert) error {
		if cur.State != bluehelm.AlertOpen || cur.Escalation != i {
			return bluehelm.Errorf(bluehelm.ECONFLICT, "alert %d changed meanwhile", a.ID)
		}
		cur.Escalation, cur.EscalatedTo, cur.EscalatedAt = i+1, step.Role, &at
		cur.Detail = appendLine(cur.Detail, note, 5000)
		return nil
	})
	if err != nil {
		return false, err
	}
	return e.enqueue(ctx, next, pr)
}

// enqueue puts the webhook message of the alert's latest escalation in the
// outbox (nothing when the camp has no webhook).
func (e *Escalator) enqueue(ctx context.Context, a *bluehelm.Alert, pr *bluehelm.CampProfile) (bool, error) {
	url := pr.WebhookURL
	if url == "" {
		url = e.cfg.FallbackURL
	}
	if url == "" || e.cfg.Outbox == nil || a.Escalation == 0 || a.EscalatedAt == nil {
		return false, nil
	}
	campName := ""
	if area, err := e.p.store.Area(ctx, pr.CampID); err == nil {
		campName = area.Name
	}
	key := "alert/" + strconv.FormatInt(a.ID, 10) + "/escalation/" + strconv.Itoa(a.Escalation)
	ev := EscalationEvent{Event: "alert.escalated", Delivery: key, CampID: pr.CampID, Camp: campName, Step: a.Escalation, Role: a.EscalatedTo,
		At: *a.EscalatedAt, Alert: webhookView(a)}
	body, err := json.Marshal(ev)
	if err != nil {
		return false, err
	}
	now := e.p.now()
	d := &bluehelm.WebhookDelivery{Key: key, URL: url, Body: body, NextAt: now, CreatedAt: now}
	if err := e.cfg.Outbox.EnqueueWebhook(ctx, d); err != nil {
		return false, err
	}
	return true, nil
}

// requeue queues again the latest escalation of every escalated alert not yet
// resolved: after a crash between an escalation and its message, the message
// is sent; for all others the outbox already holds the key and nothing changes.
func (e *Escalator) requeue(ctx context.Context, sys bluehelm.Principal, byCamp map[int64]*bluehelm.CampProfile) (bool, error) {
	live, err := e.p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: sys, States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 5000})
	if err != nil {
		return false, err
	}
	queued := false
	for _, a := range live {
		if pr := byCamp[a.AreaID]; pr != nil && a.Escalation > 0 {
			q, err := e.enqueue(ctx, a, pr)
			if err != nil {
				return queued, err
			}
			queued = queued || q
		}
	}
	return queued, nil
}

// webhookView is what an outside gateway is told of an alert. A gateway (an
// SMS or e-mail relay) is outside bluehelm's access rule, so only an
// unclassified alert is sent whole; of any other only that it needs attention.
func webhookView(a *bluehelm.Alert) *bluehelm.Alert {
	if a.Classification == bluehelm.Unclassified {
		return a
	}
	return &bluehelm.Alert{ID: a.ID, Version: a.Version, Source: a.Source, Severity: a.Severity, State: a.State,
		Title: "A " + string(a.Severity) + " alert needs attention (see bluehelm)", AreaID: a.AreaID, Marking: a.Marking,
		RaisedAt: a.RaisedAt, Escalation: a.Escalation, EscalatedTo: a.EscalatedTo, EscalatedAt: a.EscalatedAt}
}

func appendLine(text, line string, max int) string {
	if text != "" {
		text += "\n"
	}
	text += line
	if r := []rune(text); len(r) > max {
		text = string(r[len(r)-max:])
	}
	return text
}
