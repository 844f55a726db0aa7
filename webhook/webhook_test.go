package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/bluehelm/bluehelm/webhook"
)

// receiver is a webhook endpoint that fails while down is set and records what
// it accepted, checking each signature.
type receiver struct {
	mu       sync.Mutex
	down     bool
	secret   []byte
	got      []string // bodies accepted
	keys     []string
	badSigs  int
	attempts int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if !webhook.Verify(r.secret, body, req.Header.Get(webhook.SignatureHeader)) {
		r.badSigs++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.down {
		http.Error(w, "gateway down", http.StatusBadGateway)
		return
	}
	r.got = append(r.got, string(body))
	r.keys = append(r.keys, req.Header.Get(webhook.DeliveryHeader))
	w.WriteHeader(http.StatusAccepted)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDeliveryRetriesUntilAcknowledged(t *testing.T) {
	ctx := context.Background()
	secret := []byte("s3cret")
	rcv := &receiver{down: true, secret: secret}
	srv := httptest.NewServer(rcv) // listens on 127.0.0.1
	defer srv.Close()

	path := filepath.Join(t.TempDir(), "db")
	db := open(t, path)
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	d := &bluehelm.WebhookDelivery{Key: "alert/1/escalation/1", URL: srv.URL + "/hook", Body: []byte(`{"event":"alert.escalated"}`), NextAt: clk.Now(), CreatedAt: clk.Now()}
	if err := db.EnqueueWebhook(ctx, d); err != nil {
		t.Fatal(err)
	}
	cfg := webhook.Config{Outbox: db, Secret: secret, Now: clk.Now, MinBackoff: time.Minute, MaxBackoff: 10 * time.Minute}
	s := webhook.New(cfg)

	// The gateway is down: each attempt fails and the next waits longer.
	waits := []time.Duration{}
	for i := range 4 {
		n, err := s.Flush(ctx)
		if err != nil || n != 0 {
			t.Fatalf("attempt %d: delivered %d, %v", i, n, err)
		}
		got, err := db.Webhook(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Attempts != i+1 || got.DeliveredAt != nil || got.LastError == "" {
			t.Fatalf("after attempt %d: %+v", i, got)
		}
		wait := got.NextAt.Sub(clk.Now())
		waits = append(waits, wait)
		// Not due before its time.
		if n, _ := s.Flush(ctx); n != 0 {
			t.Fatal("retried before the backoff")
		}
		clk.Add(wait)
	}
	for i, w := range waits {
		base := min(time.Minute<<i, 10*time.Minute)
		if w < base || w > base+base/10 {
			t.Errorf("wait after failure %d: %v, want %v plus up to 10%%", i+1, w, base)
		}
	}

	// A restart (the store closed and opened again) keeps the message.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, path)
	defer db.Close()
	cfg.Outbox = db
	s = webhook.New(cfg)

	rcv.mu.Lock()
	rcv.down = false
	rcv.mu.Unlock()
	if n, err := s.Flush(ctx); err != nil || n != 1 {
		t.Fatalf("after recovery: delivered %d, %v", n, err)
	}
	clk.Add(time.Hour)
	if n, _ := s.Flush(ctx); n != 0 {
		t.Error("an acknowledged message was sent again")
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.got) != 1 || rcv.got[0] != `{"event":"alert.escalated"}` || rcv.keys[0] != d.Key || rcv.badSigs != 0 || rcv.attempts != 5 {
		t.Errorf("receiver: %d bodies %v keys %v, %d bad signatures, %d attempts", len(rcv.got), rcv.got, rcv.keys, rcv.badSigs, rcv.attempts)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	ctx := context.Background()
	rcv := &receiver{secret: []byte("right")}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	db := open(t, filepath.Join(t.TempDir(), "db"))
	defer db.Close()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := db.EnqueueWebhook(ctx, &bluehelm.WebhookDelivery{Key: "k", URL: srv.URL, Body: []byte(`{}`), NextAt: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	s := webhook.New(webhook.Config{Outbox: db, Secret: []byte("wrong"), Now: func() time.Time { return now }})
	if n, err := s.Flush(ctx); err != nil || n != 0 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	if rcv.badSigs != 1 {
		t.Errorf("bad signatures seen %d", rcv.badSigs)
	}
}

func TestSignVerify(t *testing.T) {
	for _, c := range []struct {
		name   string
		secret string
		body   string
		header string
		want   bool
	}{
		// HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), the
		// published test value.
		{"known value", "key", "The quick brown fox jumps over the lazy dog", "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", true},
		{"other body", "key", "The quick brown fox jumps over the lazy cat", "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", false},
		{"empty header", "key", "x", "", false},
	} {
		if got := webhook.Verify([]byte(c.secret), []byte(c.body), c.header); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
