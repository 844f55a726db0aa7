package webhook_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/bluehelm/bluehelm/webhook"
)

// TestMain lets the test binary act as a process that queues a message and is
// then killed with SIGKILL before it could send it.
func TestMain(m *testing.M) {
	if path := os.Getenv("BLUEHELM_WEBHOOK_CHILD_DB"); path != "" {
		db, err := sqlite.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		now := time.Now().UTC()
		d := &bluehelm.WebhookDelivery{Key: "alert/7/escalation/1", URL: os.Getenv("BLUEHELM_WEBHOOK_CHILD_URL"), Body: []byte(`{"event":"alert.escalated"}`), NextAt: now, CreatedAt: now}
		if err := db.EnqueueWebhook(context.Background(), d); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("queued")
		select {} // wait for the kill
	}
	os.Exit(m.Run())
}

func TestQueuedMessageSurvivesKill9(t *testing.T) {
	rcv := &receiver{secret: []byte("s")}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BLUEHELM_WEBHOOK_CHILD_DB="+path, "BLUEHELM_WEBHOOK_CHILD_URL="+srv.URL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "queued" {
		_ = cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db := open(t, path)
	defer db.Close()
	s := webhook.New(webhook.Config{Outbox: db, Secret: []byte("s")})
	if n, err := s.Flush(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the kill: delivered %d, %v", n, err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.keys) != 1 || rcv.keys[0] != "alert/7/escalation/1" {
		t.Errorf("received %v", rcv.keys)
	}
}
