package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	natsgo "github.com/nats-io/nats.go"
)

// testNode is one bluehelm node of a test cluster: its NATS server, connection,
// live picture, hub and bus.
type testNode struct {
	id  string
	srv *Server
	nc  *natsgo.Conn
	pic *live.Picture
	hub *live.Hub
	bus *Bus

	srvOpts ServerOptions // to start it again
	busOpts Options
	mu      sync.Mutex
	dead    bool
}

// kill ends the node abruptly: the connection is closed without draining and the
// server shut down, as the other nodes see a process that died.
func (n *testNode) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		return
	}
	n.dead = true
	n.nc.Close()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	if n.bus != nil {
		n.bus.Close()
	}
}

// restart starts a killed node again on its data, with a new picture and hub,
// as a restarted process would (ready once its bus is: New waits for the
// cluster to form).
func (n *testNode) restart() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	srv, err := StartServer(n.srvOpts)
	if err != nil {
		return err
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		return err
	}
	n.srv, n.nc, n.pic, n.hub = srv, nc, live.NewPicture(), live.NewHub(live.HubOptions{})
	o := n.busOpts
	o.Conn, o.Hub, o.Picture = nc, n.hub, n.pic
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if n.bus, err = New(ctx, o); err != nil {
		nc.Close()
		srv.Shutdown()
		return err
	}
	n.dead = false
	return nil
}

// ingest does what the pipeline does after storing a position: apply it to the
// node's picture, then publish it.
func (n *testNode) ingest(ctx context.Context, ev live.Event) error {
	var pm positionMsg
	if err := json.Unmarshal(ev.Data, &pm); err != nil {
		return err
	}
	n.pic.Apply(pm.Data.Track, pm.Data.Position)
	return n.bus.PublishWait(ctx, ev)
}

func testLogger() *slog.Logger {
	if os.Getenv("BLUEHELM_TEST_NATS_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// freePorts reserves n loopback ports: every node's routes must name all the
// others before any of them starts. The ports are released just before use; a
// collision in that instant fails the start loudly, it does not corrupt a test.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startCluster starts n nodes joined by routes, each with a bus on a stream of
// the given replication.
func startCluster(t testing.TB, n, replicas int) []*testNode {
	return startClusterTimeout(t, n, replicas, 20*time.Second)
}

func startClusterTimeout(t testing.TB, n, replicas int, publishTimeout time.Duration) []*testNode {
	t.Helper()
	ports := freePorts(t, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(p))
	}
	log := testLogger()
	nodes := make([]*testNode, n)
	for i := range n {
		id := fmt.Sprintf("node-%c", 'a'+i)
		so := ServerOptions{
			Name: id, StoreDir: t.TempDir(), ClusterName: "test",
			ClusterListen: "127.0.0.1:" + strconv.Itoa(ports[i]), Routes: routes, Logger: log,
		}
		srv, err := StartServer(so)
		if err != nil {
			t.Fatal(err)
		}
		nc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &testNode{id: id, srv: srv, nc: nc, pic: live.NewPicture(), hub: live.NewHub(live.HubOptions{}), srvOpts: so,
			busOpts: Options{NodeID: id, Replicas: replicas, Logger: log, PublishTimeout: publishTimeout}}
		t.Cleanup(nodes[i].kill)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, nd := range nodes {
		wg.Go(func() {
			o := nd.busOpts
			o.Conn, o.Hub, o.Picture = nd.nc, nd.hub, nd.pic
			nd.bus, errs[i] = New(ctx, o)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

var (
	t0       = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	secret   = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}
	open     = bluehelm.Marking{Component: bluehelm.Military}
	soldier  = bluehelm.Principal{Username: "soldier", Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	police   = bluehelm.Principal{Username: "police", Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	everyone = bluehelm.World
)

// positionEvent builds the event the pipeline publishes for a position report.
func positionEvent(uid string, m bluehelm.Marking, at time.Time, lon, lat float64) live.Event {
	st := bluehelm.TrackState{
		Track:    bluehelm.Track{UID: uid, Callsign: uid, Marking: m, UpdatedAt: at},
		Position: bluehelm.Position{UID: uid, Time: at, Lon: lon, Lat: lat, Source: "api"},
	}
	data, err := json.Marshal(positionMsg{Type: "position", Data: st})
	if err != nil {
		panic(err)
	}
	return live.Event{Layer: live.LayerTracks, Key: uid, Marking: m, Coalesce: true, Origin: "api",
		Where: bluehelm.BBox{MinLon: lon, MinLat: lat, MaxLon: lon, MaxLat: lat}, Data: data}
}

func incidentEvent(id, version int, m bluehelm.Marking) live.Event {
	data := fmt.Appendf(nil, `{"type":"incident","data":{"id":%d,"version":%d}}`, id, version)
	return live.Event{Layer: live.LayerIncidents, Key: "incident/" + strconv.Itoa(id), Marking: m,
		Where: bluehelm.BBox{MinLon: 31, MinLat: 4, MaxLon: 31, MaxLat: 4}, Data: data}
}

type incidentData struct {
	Type string `json:"type"`
	Data struct {
		ID      int `json:"id"`
		Version int `json:"version"`
	} `json:"data"`
}

// collector drains a subscription in the background and keeps what it got.
type collector struct {
	mu     sync.Mutex
	events []live.Event
	lagged bool
	done   chan struct{}
}

func collect(sub *live.Subscription) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		var buf []live.Event
		for range sub.Ready() {
			evs, lagged := sub.Drain(buf)
			c.mu.Lock()
			c.events = append(c.events, evs...)
			c.lagged = c.lagged || lagged
			c.mu.Unlock()
			buf = evs[:0]
		}
	}()
	return c
}

func (c *collector) snapshot() []live.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]live.Event(nil), c.events...)
}

// waitFor polls cond until it holds or the deadline passes: a bound for a test
// that would otherwise hang, not a timing assertion.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasKey(evs []live.Event, key string) bool {
	for _, e := range evs {
		if e.Key == key {
			return true
		}
	}
	return false
}

// TestFanOut: an event published on node A reaches hub subscribers on node C in
// order per key, each subscriber gets only what its clearance and component
// allow, C's picture takes A's positions, and A's own subscribers get each of its
// events once (not again from the stream).
func TestFanOut(t *testing.T) {
	nodes := startCluster(t, 3, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()

	subs := map[string]*collector{}
	for _, s := range []struct {
		name string
		n    *testNode
		p    bluehelm.Principal
	}{{"c/soldier", c, soldier}, {"c/police", c, police}, {"a/soldier", a, soldier}} {
		sub := s.n.hub.Subscribe(live.SubscribeOptions{Viewer: s.p})
		t.Cleanup(sub.Close)
		subs[s.name] = collect(sub)
	}

	const versions = 20
	for v := 1; v <= versions; v++ {
		// A confidential incident and a track: the police subscriber may see neither.
		if err := a.bus.PublishWait(ctx, incidentEvent(7, v, secret)); err != nil {
			t.Fatal(err)
		}
		if err := a.bus.PublishWait(ctx, positionEvent("t.1/x", secret, t0.Add(time.Duration(v)*time.Second), 31+float64(v)/100, 4)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.bus.PublishWait(ctx, incidentEvent(8, 1, open)); err != nil {
		t.Fatal(err)
	}
	// A marker from B, after all of A's events in the stream: once every node
	// has it, every node has consumed (or skipped) everything A published.
	if err := b.bus.PublishWait(ctx, incidentEvent(9, 1, open)); err != nil {
		t.Fatal(err)
	}
	for name, col := range subs {
		waitFor(t, name+" to get the marker", 30*time.Second, func() bool { return hasKey(col.snapshot(), "incident/9") })
	}

	tests := []struct {
		sub           string
		wantIncidents []int // versions of incident/7, in order
		wantTrack     bool
		wantOpen      bool
	}{
		{"c/soldier", seq(versions), true, true},
		{"c/police", nil, false, true},
		{"a/soldier", seq(versions), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.sub, func(t *testing.T) {
			col := subs[tt.sub]
			evs := col.snapshot()
			if col.lagged {
				t.Fatal("subscriber lagged")
			}
			var got []int
			var last time.Time
			var sawTrack, sawOpen bool
			for _, e := range evs {
				switch e.Key {
				case "incident/7":
					var d incidentData
					if err := json.Unmarshal(e.Data, &d); err != nil {
						t.Fatal(err)
					}
					got = append(got, d.Data.Version)
				case "incident/8":
					sawOpen = true
				case "t.1/x":
					sawTrack = true
					var pm positionMsg
					if err := json.Unmarshal(e.Data, &pm); err != nil {
						t.Fatal(err)
					}
					// Positions coalesce in a slow queue, but never go backwards.
					if !pm.Data.Position.Time.After(last) {
						t.Errorf("position at %s after one at %s", pm.Data.Position.Time, last)
					}
					last = pm.Data.Position.Time
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantIncidents) {
				t.Errorf("incident/7 versions %v, want %v (in order, once each)", got, tt.wantIncidents)
			}
			if sawTrack != tt.wantTrack || sawOpen != tt.wantOpen {
				t.Errorf("track seen %v (want %v), unclassified incident seen %v (want %v)", sawTrack, tt.wantTrack, sawOpen, tt.wantOpen)
			}
			if tt.wantTrack && !last.Equal(t0.Add(versions*time.Second)) {
				t.Errorf("last position at %s, want %s", last, t0.Add(versions*time.Second))
			}
		})
	}

	// The pictures of B and C took A's track, so their snapshots show it, to
	// those allowed to see it.
	for _, n := range []*testNode{b, c} {
		st, ok := n.pic.Get("t.1/x")
		if !ok || !st.Position.Time.Equal(t0.Add(versions*time.Second)) || st.Marking.Classification != bluehelm.Confidential {
			t.Errorf("%s: picture has %+v (%v), want the last position with its marking", n.id, st, ok)
		}
		if uids := search(n.pic, police); len(uids) != 0 {
			t.Errorf("%s: police snapshot shows %v", n.id, uids)
		}
		if uids := search(n.pic, soldier); len(uids) != 1 {
			t.Errorf("%s: soldier snapshot shows %v", n.id, uids)
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

func search(pc *live.Picture, p bluehelm.Principal) map[string]bluehelm.TrackState {
	out := map[string]bluehelm.TrackState{}
	pc.Search(everyone, p, func(st bluehelm.TrackState) bool {
		out[st.UID] = st
		return true
	})
	return out
}

// TestNodeKilledUnderLoad: the stream leader's node is killed abruptly while it
// and another node publish positions. Every position whose publish was
// acknowledged reaches the survivors' pictures, the surviving writer goes on,
// and a client reconnecting to a survivor gets every track in its snapshot.
func TestNodeKilledUnderLoad(t *testing.T) {
	nodes := startCluster(t, 3, 3)
	ctx := context.Background()

	// Kill the node that leads the stream: the hardest case (a new leader must be
	// elected, and every consumer served there must move).
	info, err := nodes[0].bus.js.Stream(ctx, DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	si, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim, writer, watcher *testNode
	for _, n := range nodes {
		switch {
		case si.Cluster != nil && n.id == si.Cluster.Leader:
			victim = n
		case writer == nil:
			writer = n
		default:
			watcher = n
		}
	}
	if victim == nil {
		t.Fatalf("no stream leader among the nodes: %+v", si.Cluster)
	}
	t.Logf("killing %s (stream leader); %s writes, %s watches", victim.id, writer.id, watcher.id)

	// Acknowledged positions: uid → time of the last one whose publish returned.
	var mu sync.Mutex
	acked := map[string]time.Time{}
	counts := map[*testNode]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const writersPerNode, uidsPerWriter = 3, 10
	for _, n := range []*testNode{victim, writer} {
		for w := range writersPerNode {
			wg.Go(func() {
				// One goroutine per uid set keeps each uid's reports in order, as the
				// pipeline does.
				for i := 1; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					uid := fmt.Sprintf("%s-w%d-u%d", n.id, w, i%uidsPerWriter)
					at := t0.Add(time.Duration(i) * time.Millisecond)
					if err := n.ingest(ctx, positionEvent(uid, open, at, 30+float64(i%100)/100, 5)); err != nil {
						if n == victim {
							return // killed: what failed was never acknowledged
						}
						t.Errorf("%s: %v", n.id, err)
						return
					}
					mu.Lock()
					acked[uid] = at
					counts[n]++
					mu.Unlock()
				}
			})
		}
	}
	published := func(n *testNode) int {
		mu.Lock()
		defer mu.Unlock()
		return counts[n]
	}
	waitFor(t, "load before the kill", 60*time.Second, func() bool { return published(victim) >= 300 && published(writer) >= 300 })
	victim.kill()
	before := published(writer)
	t.Logf("killed %s after %d acknowledged publishes", victim.id, published(victim))
	// The others go on: the surviving writer's publishes are acknowledged again
	// once a new leader is elected.
	waitFor(t, "the surviving writer to go on", 60*time.Second, func() bool { return published(writer) >= before+300 })
	close(stop)
	wg.Wait()

	mu.Lock()
	want := maps.Clone(acked)
	mu.Unlock()
	t.Logf("%d uids, %d acknowledged publishes on %s, %d on %s", len(want), published(victim), victim.id, published(writer), writer.id)
	// Each survivor's picture has every acknowledged position (or a newer one:
	// a publish that failed on the killed node may still have been stored).
	for _, n := range []*testNode{writer, watcher} {
		missing := func() []string {
			var out []string
			for uid, at := range want {
				if st, ok := n.pic.Get(uid); !ok || st.Position.Time.Before(at) {
					out = append(out, fmt.Sprintf("%s at %s, want %s", uid, st.Position.Time.Format("15:04:05.000"), at.Format("15:04:05.000")))
				}
			}
			return out
		}
		deadline := time.Now().Add(60 * time.Second)
		for len(missing()) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if m := missing(); len(m) > 0 {
			t.Fatalf("%s misses %d acknowledged positions: %v", n.id, len(m), m)
		}
	}
	// A client of the killed node reconnects to the watcher: its snapshot (what
	// the stream handler sends from the picture) has every track.
	snap := search(watcher.pic, police)
	for uid, at := range want {
		if st, ok := snap[uid]; !ok || st.Position.Time.Before(at) {
			t.Errorf("snapshot on %s: %s has %v (%v), want at least %s", watcher.id, uid, st.Position.Time, ok, at)
		}
	}
	// And it goes on receiving live updates from the surviving writer.
	sub := watcher.hub.Subscribe(live.SubscribeOptions{Viewer: police})
	defer sub.Close()
	col := collect(sub)
	if err := writer.bus.PublishWait(ctx, positionEvent("after-kill", open, t0, 31, 4)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a live update after the kill", 30*time.Second, func() bool { return hasKey(col.snapshot(), "after-kill") })
}

// TestExternalServer: two nodes share one NATS server they reach over TCP (the
// --nats mode): each gets the other's events, not its own twice.
func TestExternalServer(t *testing.T) {
	srv, err := StartServer(ServerOptions{Name: "external", ClientListen: "127.0.0.1:0", StoreDir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ctx := context.Background()
	var nodes []*testNode
	for _, id := range []string{"x", "y"} {
		nc, err := natsgo.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		n := &testNode{id: id, nc: nc, pic: live.NewPicture(), hub: live.NewHub(live.HubOptions{})}
		if n.bus, err = New(ctx, Options{NodeID: id, Conn: nc, Hub: n.hub, Picture: n.pic, Logger: testLogger()}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.bus.Close)
		nodes = append(nodes, n)
	}
	x, y := nodes[0], nodes[1]
	cx := collect(x.hub.Subscribe(live.SubscribeOptions{Viewer: soldier}))
	cy := collect(y.hub.Subscribe(live.SubscribeOptions{Viewer: soldier}))
	if err := x.ingest(ctx, positionEvent("ext-1", secret, t0, 31, 4)); err != nil {
		t.Fatal(err)
	}
	if err := y.bus.PublishWait(ctx, incidentEvent(1, 1, open)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "y to get x's position", 30*time.Second, func() bool { return hasKey(cy.snapshot(), "ext-1") })
	waitFor(t, "x to get y's incident", 30*time.Second, func() bool { return hasKey(cx.snapshot(), "incident/1") })
	if st, ok := y.pic.Get("ext-1"); !ok || !st.Position.Time.Equal(t0) {
		t.Errorf("y's picture: %+v %v", st, ok)
	}
	// y's incident came after x's position in the stream, so x has consumed
	// (and skipped) its own position by now.
	if n := len(cx.snapshot()); n != 2 {
		t.Errorf("x got %d events, want its position once and y's incident", n)
	}
}
