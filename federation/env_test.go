package federation

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var (
	joc     = bluehelm.Principal{UserID: 2, Username: "joc", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
	unpol   = bluehelm.Principal{UserID: 3, Username: "unpol", Role: bluehelm.RoleOperations, Component: bluehelm.Police, Clearance: bluehelm.StrictlyConfidential}
	testCtx = context.Background()
)

// node is one bluehelm node of a test: a store, a pipeline and its end of the
// federation links.
type node struct {
	name  string
	srv   *Server
	fed   *Node
	p     *ingest.Pipeline
	store *sqlite.DB
	hub   *live.Hub
	pic   *live.Picture
	reg   *prometheus.Registry
	clock atomic.Int64 // offset of this node's clock, nanoseconds
	stop  func()       // stops the node (once)
}

func (n *node) now() time.Time { return time.Now().UTC().Add(time.Duration(n.clock.Load())) }

type nodeOpts struct {
	links      []Link
	leafListen bool
	federateTo string
	clock      time.Duration
	maxBatch   int
	heartbeat  time.Duration // zero: 100 ms
	flush      time.Duration // zero: 200 ms
	dir        string        // keeps the node's data across a restart; empty: a new one
	leafAddr   string        // with leafListen: the address; empty: a random port
	checkpoint time.Duration // zero: the default (30 s)
	leafTLS    *tls.Config   // ServerOptions.LeafTLS
	queueMax   int64         // Options.QueueMaxBytes; zero: the default
}

func startNode(t testing.TB, name string, o nodeOpts) *node {
	t.Helper()
	n := &node{name: name, reg: prometheus.NewRegistry()}
	n.clock.Store(int64(o.clock))
	if o.flush == 0 {
		o.flush = 200 * time.Millisecond
	}
	if o.heartbeat == 0 {
		o.heartbeat = 100 * time.Millisecond
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	so := ServerOptions{Node: name, StoreDir: filepath.Join(o.dir, "nats"), Reconnect: 100 * time.Millisecond}
	if o.leafListen {
		so.LeafListen = "127.0.0.1:0"
		if o.leafAddr != "" {
			so.LeafListen = o.leafAddr
		}
		for _, l := range o.links {
			so.Peers = append(so.Peers, l.Peer)
		}
	}
	so.FederateTo = o.federateTo
	so.LeafTLS = o.leafTLS
	srv, err := StartServer(so)
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	store, err := sqlite.Open(filepath.Join(o.dir, name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	n.store = store
	fed, err := New(testCtx, Options{Config: &Config{Node: name, Links: o.links}, Server: srv, Registerer: n.reg,
		Now: n.now, Heartbeat: o.heartbeat, MaxSkew: 30 * time.Second, Flush: o.flush, MaxBatch: o.maxBatch, Checkpoint: o.checkpoint, QueueMaxBytes: o.queueMax})
	if err != nil {
		t.Fatal(err)
	}
	n.fed = fed
	n.hub = live.NewHub(live.HubOptions{})
	n.pic = live.NewPicture()
	n.p = ingest.New(store, n.pic, live.NewGeofencer(), n.hub, ingest.Options{Out: fed.Tap(n.hub), Now: n.now})
	if err := n.p.Load(testCtx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = fed.Run(ctx, Local{Pipeline: n.p, Store: store, Changes: store, Track: n.pic.Get})
	}()
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			fed.Close()
			srv.Shutdown()
			srv.WaitForShutdown()
			store.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// pair starts an HQ and a camp joined through a counting, cuttable proxy.
func pair(t testing.TB, hqLink, campLink Link, campOpts nodeOpts) (hq, camp *node, px *linkProxy) {
	t.Helper()
	hqLink.Peer, campLink.Peer = "camp1", "hq"
	hq = startNode(t, "hq", nodeOpts{links: []Link{hqLink}, leafListen: true, heartbeat: campOpts.heartbeat, flush: campOpts.flush})
	px = newLinkProxy(t, fmt.Sprintf("127.0.0.1:%d", hq.srv.LeafPort))
	campOpts.links = []Link{campLink}
	campOpts.federateTo = "nats-leaf://" + px.Addr()
	camp = startNode(t, "camp1", campOpts)
	waitFor(t, 20*time.Second, "link up", func() bool { return hq.fed.LinkUp("camp1") && camp.fed.LinkUp("hq") })
	return hq, camp, px
}

func openLink() Link {
	return Link{MaxClassification: bluehelm.StrictlyConfidential, ReleasableTo: bluehelm.Components}
}

// waitFor polls cond until it holds; the bound is generous because CI
// machines are shared, and the tests assert outcomes, not durations.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func report(uid string, at time.Time, i int) ingest.Report {
	return ingest.Report{
		Track: bluehelm.Track{UID: uid, Callsign: strings.ToUpper(uid), Kind: bluehelm.KindVehicle,
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}},
		Position: bluehelm.Position{UID: uid, Time: at, Lat: 4.85 + float64(i)*1e-4, Lon: 31.58 + float64(i)*2e-4, Speed: 3.5, Course: 90, Source: "sim"},
	}
}

func newIncident(title string, mk bluehelm.Marking) *bluehelm.Incident {
	return &bluehelm.Incident{
		Title: title, Category: "armed_clash", Status: bluehelm.StatusSubmitted,
		OccurredStart: time.Now().UTC().Add(-time.Hour).Truncate(time.Second),
		Location:      bluehelm.Point{Lon: 31.6, Lat: 4.85}, Narrative: "Shots heard near the market.",
		Marking: mk,
	}
}

func positionsOf(t testing.TB, n *node, uid string) []bluehelm.Position {
	t.Helper()
	ps, err := n.store.Positions(testCtx, bluehelm.PositionQuery{UID: uid})
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func fedIncident(t testing.TB, n *node, origin string, id int64) *bluehelm.Incident {
	t.Helper()
	inc, err := n.store.IncidentByExternalID(testCtx, fedExternalID(origin, id))
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func counter(c *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(c.WithLabelValues(labels...))
}
