package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sqlite"
)

// TestMain lets the test binary act as the bluehelm server in a child process, so the
// crash test can kill a real server with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("BLUEHELM_TEST_CHILD") == "serve" {
		err := run(context.Background(), []string{"serve"}, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func cli(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("bluehelm %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// startChild runs "bluehelm serve" on dir in a child process and returns its base URL.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BLUEHELM_TEST_CHILD=serve", "BLUEHELM_DATA="+dir, "BLUEHELM_LISTEN=127.0.0.1:0",
		"BLUEHELM_COT_TLS=127.0.0.1:0", "BLUEHELM_COT_TCP=127.0.0.1:0", "BLUEHELM_MARTI=127.0.0.1:0", "BLUEHELM_ENROLL=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return cmd, u
	case <-time.After(60 * time.Second):
		t.Fatal("server child did not start")
	}
	return nil, ""
}

// TestCrashLosesNoAcknowledgedWrite kills a server with SIGKILL while clients are
// filing incidents and posting positions, then checks that everything the server
// acknowledged is in the store and the audit chain is intact.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts a server process")
	}
	dir := t.TempDir()
	cli(t, "user", "create", "--data", dir, "--username", "joc", "--role", "operations", "--component", "military", "--clearance", "SC")
	token := strings.TrimSpace(cli(t, "user", "token", "joc", "--data", dir, "--name", "crash test"))

	cmd, base := startChild(t, dir)
	type ack struct {
		id    int64
		title string
	}
	var (
		mu       sync.Mutex
		acked    []ack
		posAcked []bluehelm.Position
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &nethttp.Client{Timeout: 30 * time.Second}
	post := func(path string, body any) (*nethttp.Response, []byte, error) {
		b, _ := json.Marshal(body)
		req, _ := nethttp.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		return resp, rb, err
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				title := fmt.Sprintf("crash test w%d n%d", w, i)
				resp, body, err := post("/api/v1/incidents", map[string]any{
					"title": title, "category": "armed_clash", "occurred_start": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339),
					"location":       map[string]any{"type": "Point", "coordinates": []float64{31.5 + float64(w)/10, 4.8 + float64(i%100)/1000}},
					"classification": "CONFIDENTIAL", "component": "military",
				})
				if err != nil {
					return // the server is gone
				}
				if resp.StatusCode != nethttp.StatusCreated {
					t.Errorf("create incident: %d %s", resp.StatusCode, body)
					return
				}
				var got struct {
					ID int64 `json:"id"`
				}
				if err := json.Unmarshal(body, &got); err != nil || got.ID == 0 {
					t.Errorf("create incident: no id in %s", body)
					return
				}
				mu.Lock()
				acked = append(acked, ack{got.ID, title})
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			batch := make([]bluehelm.Position, 50)
			ts := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
			for j := range batch {
				batch[j] = bluehelm.Position{UID: fmt.Sprintf("crash-%d", j), Time: ts.Add(time.Duration(i) * time.Millisecond), Lat: 5 + float64(i%90)/100, Lon: 30}
			}
			resp, body, err := post("/api/v1/positions", map[string]any{"positions": batch})
			if err != nil {
				return
			}
			if resp.StatusCode >= 300 {
				t.Errorf("post positions: %d %s", resp.StatusCode, body)
				return
			}
			mu.Lock()
			posAcked = append(posAcked, batch...)
			mu.Unlock()
		}
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n, np := len(acked), len(posAcked)
		mu.Unlock()
		if n >= 300 && np >= 2000 {
			break
		}
		if time.Now().After(deadline) || t.Failed() {
			t.Fatalf("only %d incidents and %d positions acknowledged before the deadline", n, np)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Kill); err != nil { // SIGKILL: no shutdown code runs
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cancel()
	wg.Wait()

	store, err := sqlite.Open(filepath.Join(dir, "bluehelm.db"))
	if err != nil {
		t.Fatalf("reopening after crash: %v", err)
	}
	defer store.Close()
	bg := context.Background()
	mu.Lock()
	defer mu.Unlock()
	for _, a := range acked {
		inc, err := store.Incident(bg, a.id)
		if err != nil {
			t.Fatalf("acknowledged incident %d lost: %v", a.id, err)
		}
		if inc.Title != a.title {
			t.Fatalf("incident %d: title %q, want %q", a.id, inc.Title, a.title)
		}
	}
	want := map[string]int{}
	for _, p := range posAcked {
		want[p.UID]++
	}
	for uid, n := range want {
		got, err := store.Positions(bg, bluehelm.PositionQuery{UID: uid, Limit: 1 << 30})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < n {
			t.Fatalf("track %s: %d positions stored, %d acknowledged", uid, len(got), n)
		}
	}
	if n, err := store.VerifyAudit(bg); err != nil {
		t.Fatalf("audit chain after crash (%d entries): %v", n, err)
	}
	t.Logf("SIGKILL after %d incidents and %d positions acknowledged: none lost", len(acked), len(posAcked))
}
