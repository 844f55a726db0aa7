// Package webhook delivers bluehelm's outbound webhook messages (alert
// escalations) to outside gateways, e-mail or SMS relays among them.
//
// Messages wait in a persisted outbox (the store), so one queued before a
// crash is sent after the restart. Each is POSTed as JSON with an HMAC-SHA256
// signature of the body:
//
//	X-Bluehelm-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//	X-Bluehelm-Delivery:  <the message's key, stable across retries>
//
// and retried with exponential backoff until the receiver answers 2xx. A
// receiver should check the signature with a constant-time comparison and may
// drop a delivery key it has already seen (a retry whose answer was lost).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Headers set on every delivery.
const (
	SignatureHeader = "X-Bluehelm-Signature"
	DeliveryHeader  = "X-Bluehelm-Delivery"
)

// Outbox is the persisted queue the sender works from.
type Outbox interface {
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]bluehelm.WebhookDelivery, error)
	WebhookDelivered(ctx context.Context, id int64, at time.Time) error
	WebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error
}

// Config configures a Sender.
type Config struct {
	Outbox Outbox
	// Secret signs every body; empty sends unsigned messages (a receiver
	// should then refuse them: say so in the logs).
	Secret []byte
	// Client sends the requests (nil: one with a 10 s timeout).
	Client *http.Client
	// Every is how often the outbox is polled when nothing wakes the sender
	// (0: 5 s). Backoff starts at MinBackoff (0: 5 s) and doubles up to
	// MaxBackoff (0: 1 h), with a little jitter so that many messages to one
	// recovering gateway do not all arrive in the same second.
	Every, MinBackoff, MaxBackoff time.Duration
	Now                           func() time.Time
	Logger                        *slog.Logger
}

// Sender posts due messages from the outbox.
type Sender struct {
	cfg  Config
	wake chan struct{}
	// unsigned warns once, at the first message sent without a signature:
	// a server with no webhook at all has nothing to warn about.
	unsigned sync.Once
}

// New returns a sender.
func New(cfg Config) *Sender {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header value in constant time.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// Wake makes a running sender look at the outbox now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Every)
	defer t.Stop()
	for {
		if _, err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("webhook outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Flush attempts every due message once and returns how many were delivered.
func (s *Sender) Flush(ctx context.Context) (int, error) {
	due, err := s.cfg.Outbox.DueWebhooks(ctx, s.cfg.Now(), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if err := s.post(ctx, d); err != nil {
			attempts := d.Attempts + 1
			next := s.cfg.Now().Add(s.backoff(attempts))
			s.cfg.Logger.Warn("webhook delivery failed", "key", d.Key, "attempt", attempts, "retry_at", next, "err", err)
			if err := s.cfg.Outbox.WebhookFailed(ctx, d.ID, attempts, next, err.Error()); err != nil {
				return n, err
			}
			continue
		}
		if err := s.cfg.Outbox.WebhookDelivered(ctx, d.ID, s.cfg.Now()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// backoff is the wait after the attempts-th failure.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d + time.Duration(rand.Int64N(int64(d/10)+1))
}

func (s *Sender) post(ctx context.Context, d bluehelm.WebhookDelivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bluehelm-webhook")
	req.Header.Set(DeliveryHeader, d.Key)
	if len(s.cfg.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(s.cfg.Secret, d.Body))
	} else {
		s.unsigned.Do(func() {
			s.cfg.Logger.Warn("webhook: no signing secret (--webhook-secret); receivers cannot tell these messages from forgeries")
		})
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
