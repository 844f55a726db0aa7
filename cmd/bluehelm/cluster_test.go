package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/coder/websocket"
)

// clusterChild is one "bluehelm serve" process of a test cluster.
type clusterChild struct {
	cmd   *exec.Cmd
	base  string
	token string
}

// startClusterChildren starts n serve processes joined by embedded NATS servers,
// each on its own data directory (its own SQLite store: whatever a node shows of
// another's positions came over the bus), and waits until all serve HTTP.
func startClusterChildren(t *testing.T, n int) []*clusterChild {
	t.Helper()
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		l.Close()
	}
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats://127.0.0.1:"+p)
	}
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	children := make([]*clusterChild, n)
	found := make(chan struct{}, n)
	for i := range n {
		dir := t.TempDir()
		cli(t, "user", "create", "--data", dir, "--username", "joc", "--role", "operations", "--component", "military", "--clearance", "SC")
		c := &clusterChild{token: strings.TrimSpace(cli(t, "user", "token", "joc", "--data", dir, "--name", "cluster test"))}
		c.cmd = exec.Command(os.Args[0], "-test.run=^$")
		c.cmd.Env = append(os.Environ(), "BLUEHELM_TEST_CHILD=serve", "BLUEHELM_DATA="+dir, "BLUEHELM_LISTEN=127.0.0.1:0",
			"BLUEHELM_COT_TLS=", "BLUEHELM_COT_TCP=", "BLUEHELM_MARTI=", "BLUEHELM_ENROLL=",
			"BLUEHELM_NODE_ID=node-"+strconv.Itoa(i), "BLUEHELM_NATS_LISTEN=127.0.0.1:"+ports[i],
			"BLUEHELM_NATS_ROUTES="+strings.Join(routes, ","))
		stderr, err := c.cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
		children[i] = c
		base := make(chan string, 1)
		// A failing test shows the nodes' logs: a cluster's failures are in them.
		logs := &childLog{}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("node-%d log (last lines):\n%s", i, logs.tail(80))
			}
		})
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				logs.add(sc.Text())
				if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
					base <- m[1]
				}
				if os.Getenv("BLUEHELM_TEST_NATS_LOG") != "" {
					fmt.Fprintf(os.Stderr, "node-%d: %s\n", i, sc.Text())
				}
			}
		}()
		go func() { c.base = <-base; found <- struct{}{} }()
	}
	for range n {
		select {
		case <-found:
		case <-time.After(120 * time.Second):
			t.Fatal("cluster nodes did not start")
		}
	}
	return children
}

// snapshotTracks opens the live stream on c, subscribes to tracks and returns the
// newest position time per uid of the snapshot; events, if not nil, then gets the
// live positions until ctx ends.
func snapshotTracks(ctx context.Context, c *clusterChild, events chan<- string) (map[string]time.Time, error) {
	ws, _, err := websocket.Dial(ctx, strings.Replace(c.base, "http", "ws", 1)+"/api/v1/stream",
		&websocket.DialOptions{HTTPHeader: nethttp.Header{"Authorization": {"Bearer " + c.token}}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","layers":["tracks"]}`)); err != nil {
		ws.CloseNow()
		return nil, err
	}
	got := map[string]time.Time{}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			ws.CloseNow()
			return nil, err
		}
		var m struct {
			Type string              `json:"type"`
			Data bluehelm.TrackState `json:"data"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			ws.CloseNow()
			return nil, err
		}
		switch m.Type {
		case "position":
			if m.Data.Position.Time.After(got[m.Data.UID]) {
				got[m.Data.UID] = m.Data.Position.Time
			}
		case "snapshot.end":
			if events == nil {
				ws.Close(websocket.StatusNormalClosure, "")
				return got, nil
			}
			go func() {
				defer ws.CloseNow()
				for {
					_, b, err := ws.Read(ctx)
					if err != nil {
						return
					}
					var m struct {
						Data bluehelm.TrackState `json:"data"`
					}
					if json.Unmarshal(b, &m) == nil {
						events <- m.Data.UID
					}
				}
			}()
			return got, nil
		}
	}
}

// TestClusterNodeKilled runs three serve processes joined by embedded NATS,
// posts positions to one, kills it with SIGKILL, and checks that a client
// reconnecting to another node gets every acknowledged position in its snapshot,
// and that the surviving nodes go on sharing live updates.
func TestClusterNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	nodes := startClusterChildren(t, 3)
	victim, writer, watcher := nodes[0], nodes[1], nodes[2]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	client := &nethttp.Client{Timeout: 30 * time.Second}
	post := func(ctx context.Context, c *clusterChild, ps []bluehelm.Position) error {
		b, _ := json.Marshal(map[string]any{"positions": ps})
		req, _ := nethttp.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/positions", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	var mu sync.Mutex
	acked := map[string]time.Time{}
	batches := 0
	wctx, stopWriting := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
		for i := 0; wctx.Err() == nil; i++ {
			batch := make([]bluehelm.Position, 20)
			at := start.Add(time.Duration(i) * time.Millisecond)
			for j := range batch {
				batch[j] = bluehelm.Position{UID: fmt.Sprintf("kill-%d", j), Time: at, Lat: 5 + float64(i%90)/100, Lon: 30}
			}
			if err := post(wctx, victim, batch); err != nil {
				return // killed: this batch was never acknowledged
			}
			mu.Lock()
			for _, p := range batch {
				acked[p.UID] = p.Time
			}
			batches++
			mu.Unlock()
		}
	}()
	for {
		mu.Lock()
		n := batches
		mu.Unlock()
		if n >= 100 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d batches acknowledged", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := victim.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	stopWriting()
	<-done
	mu.Lock()
	t.Logf("SIGKILL after %d acknowledged batches of 20 positions", batches)
	want := acked
	mu.Unlock()

	// The victim's clients reconnect to the watcher. Its picture follows the
	// stream, so a client may briefly see a little less than was acknowledged:
	// it reconnects until the snapshot has everything, within a bound.
	var missing []string
	for deadline := time.Now().Add(60 * time.Second); ; {
		got, err := snapshotTracks(ctx, watcher, nil)
		if err != nil {
			t.Fatal(err)
		}
		missing = missing[:0]
		for uid, at := range want {
			if got[uid].Before(at) {
				missing = append(missing, fmt.Sprintf("%s at %s, want %s", uid, got[uid], at))
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("the snapshot on another node misses acknowledged positions: %v", missing)
	}

	// The survivors go on: positions posted to the writer reach a client of
	// the watcher live. On a loaded machine the stream may still be electing a
	// leader after the kill (a publish then waits, and may give up), so the
	// writer keeps posting a fresh track until one arrives.
	events := make(chan string, 64)
	if _, err := snapshotTracks(ctx, watcher, events); err != nil {
		t.Fatal(err)
	}
	posted := map[string]bool{}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		uid := fmt.Sprintf("after-kill-%d", i)
		if err := post(ctx, writer, []bluehelm.Position{{UID: uid, Time: time.Now().UTC().Truncate(time.Millisecond), Lat: 4.8, Lon: 31.5}}); err != nil {
			t.Fatal(err)
		}
		posted[uid] = true
	wait:
		for {
			select {
			case got := <-events:
				if posted[got] {
					t.Logf("live update from a survivor after %d posts", i+1)
					return
				}
			case <-tick.C:
				break wait
			case <-ctx.Done():
				t.Fatalf("no live update from a surviving node after %d posts", i+1)
			}
		}
	}
}

// TestServeClusterFlags: the cluster flags are checked, and two nodes with
// embedded NATS servers start, form a cluster, serve and shut down cleanly.
func TestServeClusterFlags(t *testing.T) {
	var ports []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		l.Close()
	}
	routes := "nats://127.0.0.1:" + ports[0] + ",nats://127.0.0.1:" + ports[1]
	serve := func(ctx context.Context, stderr io.Writer, extra ...string) chan error {
		args := append([]string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--cot-tls", "", "--cot-tcp", "",
			"--marti", "", "--enroll", ""}, extra...)
		done := make(chan error, 1)
		go func() { done <- run(ctx, args, io.Discard, stderr) }()
		return done
	}
	refused := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"external and embedded at once", []string{"--nats", "nats://127.0.0.1:1", "--nats-listen", "127.0.0.1:0"}, "not both"},
		{"bad route", []string{"--nats-listen", "127.0.0.1:0", "--nats-routes", "::nope"}, "route"},
		{"cluster listen without routes", []string{"--nats-listen", "127.0.0.1:0"}, "routes"},
		{"a cluster of one", []string{"--nats-listen", "127.0.0.1:" + ports[0], "--nats-routes", "nats://127.0.0.1:" + ports[0]}, "other nodes"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := <-serve(context.Background(), io.Discard, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one about %s", err, tt.wantErr)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs [2]syncBuffer
	var dones [2]chan error
	for i := range 2 {
		dones[i] = serve(ctx, &logs[i], "--nats-listen", "127.0.0.1:"+ports[i], "--nats-routes", routes, "--node-id", "node-"+strconv.Itoa(i))
	}
	for i := range 2 {
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(logs[i].String(), "bluehelm serving") {
			select {
			case err := <-dones[i]:
				t.Fatalf("node %d ended: %v\n%s", i, err, logs[i].String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d did not start:\n%s", i, logs[i].String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(logs[i].String(), "cluster bus started") {
			t.Errorf("node %d: no bus in the log:\n%s", i, logs[i].String())
		}
	}
	cancel()
	for i := range 2 {
		select {
		case err := <-dones[i]:
			if err != nil {
				t.Errorf("node %d: %v", i, err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("node %d did not shut down", i)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader on two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// childLog keeps a child process's log lines for a failure report.
type childLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *childLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if len(l.lines) > 2000 {
		l.lines = l.lines[len(l.lines)-1000:]
	}
}

func (l *childLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}
