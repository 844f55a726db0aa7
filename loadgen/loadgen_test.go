package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/cot"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// fake is a tiny CoT relay: every event from one connection goes to every other
// connection, in that connection's format. Its options make it misbehave in the
// ways loadgen must tell apart.
type fake struct {
	fakeOpts
	ln     net.Listener
	mu     sync.Mutex
	conns  map[*fconn]struct{}
	n      atomic.Int64
	closed chan struct{}
	wg     sync.WaitGroup
}

type fakeOpts struct {
	offer     bool          // offer TAK protocol v1 on connect
	refuse    bool          // … but answer the request with status="false"
	dropEvery int           // drop every n-th event it receives from a loadgen sender
	coalesce  time.Duration // hold events and deliver only the newest per uid, at this interval
}

type fconn struct {
	nc      net.Conn
	mu      sync.Mutex // serialises writes; guards v1 and the pending events
	v1      bool
	pending map[string]*cot.Event
	order   []string
}

func (f *fake) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln, f.conns, f.closed = ln, map[*fconn]struct{}{}, make(chan struct{})
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := &fconn{nc: nc, pending: map[string]*cot.Event{}}
			f.mu.Lock()
			f.conns[c] = struct{}{}
			f.mu.Unlock()
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.serve(c) }()
		}
	}()
	if f.coalesce > 0 {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			tick := time.NewTicker(f.coalesce)
			defer tick.Stop()
			for {
				select {
				case <-f.closed:
					return
				case <-tick.C:
				}
				for _, c := range f.all() {
					c.flush()
				}
			}
		}()
	}
	t.Cleanup(func() {
		close(f.closed)
		ln.Close()
		for _, c := range f.all() {
			c.nc.Close()
		}
		f.wg.Wait()
	})
	return ln.Addr().String()
}

func (f *fake) all() []*fconn {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*fconn, 0, len(f.conns))
	for c := range f.conns {
		out = append(out, c)
	}
	return out
}

func control(uid, typ, detail string) *cot.Event {
	now := time.Now().UTC()
	return &cot.Event{UID: uid, Type: typ, How: "m-g", Time: now, Start: now, Stale: now.Add(time.Minute),
		Point:  cot.Point{HAE: 999999, CE: 999999, LE: 999999},
		Detail: cot.Detail{XML: []byte(detail)}}
}

func (f *fake) serve(c *fconn) {
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		c.nc.Close()
	}()
	if f.offer {
		c.write(control("protouid", typeOffer, `<TakControl><TakProtocolSupport version="1"/></TakControl>`))
	}
	br := bufio.NewReader(c.nc)
	xr := cot.NewXMLReader(br, cot.MaxEventSize)
	var fr *cot.FrameReader
	for {
		var (
			b   []byte
			ev  *cot.Event
			err error
		)
		if fr != nil {
			if b, err = fr.Next(); err == nil {
				ev, _, err = cot.DecodeProto(b)
			}
		} else if b, err = xr.Next(); err == nil {
			ev, err = cot.DecodeXML(b)
		}
		if err != nil {
			var de *cot.DecodeError
			if errors.As(err, &de) {
				continue
			}
			return
		}
		switch ev.Type {
		case typePing:
			c.write(control("takPong", "t-x-c-t-r", ""))
			continue
		case typeRequest:
			if !f.offer {
				continue
			}
			status := "true"
			if f.refuse {
				status = "false"
			}
			c.mu.Lock()
			c.nc.Write(control("protouid", typeAnswer, `<TakControl><TakResponse status="`+status+`"/></TakControl>`).AppendXML(nil))
			c.v1 = !f.refuse
			c.mu.Unlock()
			if !f.refuse {
				fr = cot.NewFrameReader(br, cot.MaxEventSize)
			}
			continue
		}
		if f.dropEvery > 0 && strings.HasPrefix(ev.UID, "loadgen-s-") && f.n.Add(1)%int64(f.dropEvery) == 0 {
			continue
		}
		for _, to := range f.all() {
			if to != c {
				to.deliver(ev, f.coalesce > 0)
			}
		}
	}
}

func (c *fconn) write(ev *cot.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLocked(ev)
}

func (c *fconn) writeLocked(ev *cot.Event) {
	if c.v1 {
		c.nc.Write(ev.AppendFramed(nil))
	} else {
		c.nc.Write(ev.AppendXML(nil))
	}
}

func (c *fconn) deliver(ev *cot.Event, coalesce bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !coalesce {
		c.writeLocked(ev)
		return
	}
	if _, ok := c.pending[ev.UID]; !ok {
		c.order = append(c.order, ev.UID)
	}
	c.pending[ev.UID] = ev // the newest report of a uid replaces the queued one
}

func (c *fconn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, uid := range c.order {
		c.writeLocked(c.pending[uid])
	}
	clear(c.pending)
	c.order = c.order[:0]
}

// small is a run short enough for a unit test. The drain is generous because
// test machines are shared: a starved process must still read everything.
func small(addr, format string) Config {
	return Config{Addr: addr, Format: format, Senders: 4, Receivers: 3, Rate: 20,
		Duration: time.Second, Warmup: 100 * time.Millisecond, Drain: time.Second,
		Negotiate: 5 * time.Second}
}

// dropped checks the count for a fake that drops every 10th sender event: the
// drops are exact, so the expectation is too, whatever rate a busy machine let
// the senders achieve.
func dropped(t *testing.T, rep *Report) {
	t.Helper()
	want := rep.Sent / 10 * uint64(rep.Receivers)
	if rep.Missing != want {
		t.Errorf("missing %d, want %d (every 10th of %d events, at %d receivers)", rep.Missing, want, rep.Sent, rep.Receivers)
	}
	if got, want := rep.LossPct+rep.SkippedPct, 100*float64(want)/float64(rep.Expected); math.Abs(got-want) > 1e-9 {
		t.Errorf("loss + skipped %.3f%%, want %.3f%%", got, want)
	}
	// A drop while the receiver is caught up is not coalescing. A goroutine stalled
	// by a busy test machine looks like a receiver that fell behind, so allow some
	// gaps misjudged, not most.
	if rep.Skipped*2 > rep.Missing {
		t.Errorf("%d of %d gaps counted as coalesced", rep.Skipped, rep.Missing)
	}
}

func TestCounting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fake   fakeOpts
		format string
		check  func(t *testing.T, rep *Report)
	}{
		{"no loss, xml", fakeOpts{}, FormatXML, noLoss},
		{"no loss, xml to a server offering v1", fakeOpts{offer: true}, FormatXML, noLoss},
		{"no loss, v1", fakeOpts{offer: true}, FormatV1, noLoss},
		{"every 10th dropped", fakeOpts{dropEvery: 10}, FormatXML, dropped},
		{"every 10th dropped, v1", fakeOpts{offer: true, dropEvery: 10}, FormatV1, dropped},
		{"coalescing", fakeOpts{coalesce: 150 * time.Millisecond}, FormatXML, func(t *testing.T, rep *Report) {
			// 20 Hz against a 150 ms flush: about two reports in three are replaced.
			if rep.SkippedPct < 20 || rep.Lost*10 > rep.Skipped {
				t.Errorf("skipped %.2f%%, lost %.2f%%: want most gaps counted as coalesced", rep.SkippedPct, rep.LossPct)
			}
			if rep.Received+rep.Missing != rep.Expected {
				t.Errorf("received %d + missing %d ≠ expected %d", rep.Received, rep.Missing, rep.Expected)
			}
			if err := rep.Check(0.1, -1); err != nil {
				t.Errorf("gate without a skipped limit: %v", err)
			}
			if err := rep.Check(0.1, 10); err == nil {
				t.Errorf("gate with a 10%% skipped limit passed")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fake{fakeOpts: tc.fake}
			addr := f.start(t)
			rep, err := Run(context.Background(), small(addr, tc.format))
			if err != nil {
				t.Fatal(err)
			}
			// No bounds on the rate: a starved test machine misses ticks.
			if rep.Sent == 0 || rep.Sent > 84 { // 4 × 20 Hz × 1 s
				t.Errorf("sent %d, want up to 80", rep.Sent)
			}
			if rep.Expected != rep.Sent*3 {
				t.Errorf("expected %d, want sent × receivers = %d", rep.Expected, rep.Sent*3)
			}
			if rep.ConnectErrors+rep.Disconnects+rep.WriteErrors != 0 {
				t.Errorf("connection trouble: %v", rep.Errors)
			}
			if rep.Bogus+rep.Refused != 0 {
				t.Errorf("%d bogus markers, %d refused elements", rep.Bogus, rep.Refused)
			}
			if rep.Duplicates != 0 {
				t.Errorf("%d duplicates", rep.Duplicates)
			}
			tc.check(t, rep)
			if t.Failed() {
				var sb strings.Builder
				rep.WriteText(&sb)
				t.Log("\n" + sb.String())
			}
		})
	}
}

func noLoss(t *testing.T, rep *Report) {
	t.Helper()
	if rep.Received != rep.Expected || rep.Missing != 0 || rep.LossPct != 0 {
		t.Errorf("received %d of %d (loss %.3f%%, skipped %d)", rep.Received, rep.Expected, rep.LossPct, rep.Skipped)
	}
	if rep.MinReceiver.Received != rep.Sent {
		t.Errorf("min receiver %+v, want all %d", rep.MinReceiver, rep.Sent)
	}
	if rep.Latency == nil || rep.Latency.Count != rep.Expected {
		t.Errorf("latency %+v, want one sample per delivery", rep.Latency)
	}
	if err := rep.Check(0.1, -1); err != nil {
		t.Error(err)
	}
	// Receivers get each other's announcements and their pongs; those are "other".
	if rep.Other == 0 {
		t.Error("no other events counted")
	}
}

func TestNoV1(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fake fakeOpts
		want string
	}{
		{"never offered", fakeOpts{}, "no TakControl offer"},
		{"refused", fakeOpts{offer: true, refuse: true}, `status="false"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fake{fakeOpts: tc.fake}
			cfg := small(f.start(t), FormatV1)
			cfg.Negotiate = 300 * time.Millisecond
			rep, err := Run(context.Background(), cfg)
			if !errors.Is(err, ErrNoV1) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v (report %v), want ErrNoV1 saying %q", err, rep, tc.want)
			}
		})
	}
}

func TestNothingListening(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Run(context.Background(), small(addr, FormatXML)); err == nil || !strings.Contains(err.Error(), "no connection") {
		t.Fatalf("err %v, want no connection", err)
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	base := Config{Addr: "127.0.0.1:1", Senders: 1, Receivers: 1, Rate: 1, Duration: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no address", func(c *Config) { c.Addr = "" }},
		{"bad format", func(c *Config) { c.Format = "json" }},
		{"no senders", func(c *Config) { c.Senders = 0 }},
		{"zero rate", func(c *Config) { c.Rate = 0 }},
		{"NaN rate", func(c *Config) { c.Rate = math.NaN() }},
		{"no duration", func(c *Config) { c.Duration = 0 }},
		{"too many events", func(c *Config) { c.Rate = 1e6; c.Duration = time.Hour }},
	} {
		c := base
		tc.edit(&c)
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	var h hist
	for i := 1; i <= 100000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	var w wideHist
	w.add(&h)
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := w.quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 1.0/128 {
			t.Errorf("q%.2f = %s, want %s within 0.8%%", tc.q, got, tc.want)
		}
	}
	if w.max != int64(100*time.Millisecond) {
		t.Errorf("max %d", w.max)
	}
	// Every value maps into a bucket whose midpoint is within 0.8 %.
	for v := int64(0); v < 1<<22; v = v*9/8 + 1 {
		if got := histValue(histIndex(v)); math.Abs(float64(got-v)) > float64(v)/128+0.5 {
			t.Fatalf("value %d → bucket %d → %d", v, histIndex(v), got)
		}
	}
	if histIndex(math.MaxInt64) != histBuckets-1 {
		t.Error("huge value not clamped")
	}
}

func TestMarkerParsing(t *testing.T) {
	t.Parallel()
	r := newRun(Config{Senders: 2, Rate: 1, Duration: 10 * time.Second})
	r.id, r.base = "abc", 0
	rc := newReceiver(r, 0)
	for _, in := range []string{
		`<event><detail><__loadgen run="abc" s="1" seq="3" sent="1000"/></detail></event>`,
		// Re-serialised: other quotes, other order, spaces around '='.
		`<event><detail><__loadgen sent = '2000' seq='4' s='1' run='abc'></__loadgen></detail></event>`,
		`<event><detail><__loadgen run="abc" s="1" seq="4" sent="2000"/></detail></event>`, // duplicate
		`<event><detail><__loadgen run="old" s="1" seq="5" sent="3000"/></detail></event>`, // other run
		`<event><detail><__loadgen run="abc" s="7" seq="5" sent="3000"/></detail></event>`, // no such sender
		`<event><detail><__loadgen run="abc" s="1" seq="-1" sent="3000"/></detail></event>`,
		`<event><detail><contact callsign="x"/></detail></event>`,
	} {
		rc.observe([]byte(in), 5000)
	}
	if rc.unique != 2 || rc.dups != 1 || rc.stale != 1 || rc.bogus != 2 || rc.other != 1 {
		t.Errorf("unique %d dups %d stale %d bogus %d other %d", rc.unique, rc.dups, rc.stale, rc.bogus, rc.other)
	}
	if rc.maxSeq[1] != 4 || rc.maxSeq[0] != -1 {
		t.Errorf("max seq %v", rc.maxSeq)
	}
}

// TestAgainstBluehelm runs a small load through the real bluehelm CoT server,
// built in-process on SQLite as the server's own tests build it.
func TestAgainstBluehelm(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the full server")
	}
	t.Parallel()
	for _, format := range []string{FormatXML, FormatV1} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			addr := startBluehelm(t)
			cfg := Config{Addr: addr, Format: format, Senders: 5, Receivers: 5, Rate: 5,
				Duration: 2 * time.Second, Warmup: 200 * time.Millisecond, Drain: 2 * time.Second}
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			rep.WriteText(&sb)
			t.Log("\n" + sb.String())
			if rep.Sent == 0 {
				t.Error("nothing sent")
			}
			// bluehelm never drops a position at this load. It may coalesce one if a
			// shared test machine stalls it; that is allowed, and shown.
			if rep.Lost != 0 || rep.LossPct != 0 {
				t.Errorf("received %d of %d: lost %d, skipped %d", rep.Received, rep.Expected, rep.Lost, rep.Skipped)
			}
			if rep.Skipped != 0 {
				t.Logf("%d deliveries coalesced by the server", rep.Skipped)
			}
			if rep.ConnectErrors+rep.Disconnects+rep.WriteErrors != 0 {
				t.Errorf("connection trouble: %v", rep.Errors)
			}
			if rep.Duplicates != 0 {
				t.Errorf("%d duplicates", rep.Duplicates)
			}
			if rep.ServerIn == nil {
				t.Error("bluehelm stamps flow tags, but no server split was measured")
			}
		})
	}
}

func startBluehelm(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	hub, picture := live.NewHub(live.HubOptions{}), live.NewPicture()
	pipeline := ingest.New(db, picture, live.NewGeofencer(), hub, ingest.Options{Logger: log, Registerer: reg})
	lab := &bluehelm.User{Username: "lab", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Unclassified}
	if err := db.CreateUser(ctx, lab, bluehelm.NewAudit(bluehelm.SystemPrincipal("test"), "user.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	srv := cot.New(cot.Config{Ingest: pipeline, Directory: db, Chat: db, Hub: hub, Picture: picture, Records: db,
		Logger: log, Registry: reg, LabUser: lab, Version: "test"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.Run(ctx) }()
	go func() { defer wg.Done(); srv.Serve(ctx, ln, cot.ListenerTCP) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Wait()
		db.Close()
	})
	return ln.Addr().String()
}

// BenchmarkReceive is what one delivery costs a receiver once the bytes are in
// its buffer: stream splitting, the marker, sequence bookkeeping, latency and
// the flow-tag split. Socket reads come on top and depend on how the server
// batches its writes.
func BenchmarkReceive(b *testing.B) {
	for _, format := range []string{FormatXML, FormatV1} {
		b.Run(format, func(b *testing.B) {
			const senders, events = 100, 4096
			r := newRun(Config{Senders: senders, Format: format, Rate: 10, Duration: events / senders * time.Second / 10})
			var stream []byte
			enc := encoder{v1: format == FormatV1}
			for k := 0; k < events; k++ {
				ev := selfReport("loadgen-s-"+strconv.Itoa(k%senders), k%senders)
				ev.Detail.Track = &cot.Track{Speed: 20, Course: 90}
				now := time.Now()
				stamp(ev, now, 2*time.Minute)
				ev.Detail.XML = fmt.Appendf(nil, `<__loadgen run="%s" s="%d" seq="%d" sent="%d"/><_flow-tags_ bluehelm-bluehelm="%s"/>`,
					r.id, k%senders, k/senders, now.UnixNano(), cot.FormatTime(now))
				stream = append(stream, enc.encode(ev)...)
			}
			b.SetBytes(int64(len(stream) / events))
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += events {
				rc := newReceiver(r, 0)
				err := rc.read(nil, bufio.NewReaderSize(bytes.NewReader(stream), 64<<10))
				if err != io.EOF || rc.unique != events {
					b.Fatalf("%v, %d of %d counted", err, rc.unique, events)
				}
			}
		})
	}
}
