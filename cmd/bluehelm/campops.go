package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/webhook"
)

// escalationFlags configure the camp manager's background work: escalation of
// unacknowledged camp alerts (to the web app, TAK clients and a webhook) and
// the daily stock-cover and maintenance checks.
type escalationFlags struct {
	webhookURL    string
	webhookSecret string
	escalateEvery time.Duration
	checksEvery   time.Duration
}

func (c *escalationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.webhookURL, "webhook-url", env("webhook-url", ""),
		"webhook for camp escalations whose camp profile names none (an e-mail or SMS gateway); empty for none [BLUEHELM_WEBHOOK_URL]")
	fs.StringVar(&c.webhookSecret, "webhook-secret", env("webhook-secret", ""),
		"secret signing webhook bodies (HMAC-SHA256, header X-Bluehelm-Signature); prefer the environment variable, a flag shows in the process list [BLUEHELM_WEBHOOK_SECRET]")
	fs.DurationVar(&c.escalateEvery, "escalate-every", envDuration("escalate-every", 30*time.Second),
		"how often unacknowledged camp alerts are checked for escalation [BLUEHELM_ESCALATE_EVERY]")
	fs.DurationVar(&c.checksEvery, "camp-checks-every", envDuration("camp-checks-every", time.Hour),
		"how often every stock item's cover and every asset's service plan are checked (also at start; an asset is also checked when written, a stock item after each movement) [BLUEHELM_CAMP_CHECKS_EVERY]")
}

// defaultEscalationFlags are the flags' defaults without a flag set: for
// commands that do not offer them (the demo), so that escalation and the
// camp checks run there too.
func defaultEscalationFlags() escalationFlags {
	return escalationFlags{escalateEvery: 30 * time.Second, checksEvery: time.Hour}
}

// envDuration is env for a duration flag; a malformed value falls back to def
// and is then reported by flag parsing of the default text.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, def.String())); err == nil {
		return d
	}
	return def
}

func (c *escalationFlags) check() error {
	if c.webhookURL != "" {
		if err := bluehelm.ValidateWebhookURL(c.webhookURL); err != nil {
			return fmt.Errorf("--webhook-url: %s", bluehelm.ErrorMessage(err))
		}
	}
	if c.escalateEvery < time.Second || c.checksEvery < time.Minute {
		return fmt.Errorf("--escalate-every must be at least 1s and --camp-checks-every at least 1m")
	}
	return nil
}

// startCampOps starts the webhook sender, the escalator and the camp checks.
// The returned stop waits for them, and must run before the store closes.
func (a *app) startCampOps(ctx context.Context, c escalationFlags, log *slog.Logger) (stop func(), err error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sender := webhook.New(webhook.Config{Outbox: a.store, Secret: []byte(c.webhookSecret), Logger: log})
	esc := a.pipeline.NewEscalator(ingest.EscalatorConfig{Every: c.escalateEvery, FallbackURL: c.webhookURL, Outbox: a.store, Queued: sender.Wake})
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){sender.Run, esc.Run, func(ctx context.Context) { a.pipeline.RunCampChecks(ctx, c.checksEvery) }} {
		wg.Add(1)
		go func() { defer wg.Done(); a.lead.led(ctx, run) }()
	}
	return func() { cancel(); wg.Wait() }, nil
}
