package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm/live"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeStream is a cluster stream that can be made unavailable.
type fakeStream struct {
	mu    sync.Mutex
	down  bool
	calls int
	got   []*natsgo.Msg // what it took, in order
}

func (f *fakeStream) PublishMsg(ctx context.Context, msg *natsgo.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return nil, errors.New("nats: no responders available for request")
	}
	f.got = append(f.got, msg)
	return &jetstream.PubAck{}, nil
}

func (f *fakeStream) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

// taken returns the incident versions the stream took, by key, in order.
func (f *fakeStream) taken() map[string][]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]int{}
	for _, m := range f.got {
		var d incidentData
		if err := json.Unmarshal(m.Data, &d); err != nil {
			panic(err)
		}
		k := "incident/" + strconv.Itoa(d.Data.ID)
		out[k] = append(out[k], d.Data.Version)
	}
	return out
}

func newTestBus(t *testing.T, f *fakeStream) *Bus {
	t.Helper()
	b := newBus(Options{NodeID: "node-a", Hub: live.NewHub(live.HubOptions{}), Picture: live.NewPicture(),
		Stream: DefaultStream, SubjectPrefix: DefaultSubjectPrefix, PublishTimeout: 300 * time.Millisecond, Logger: testLogger()}, nil)
	b.pub = f
	go func() { defer close(b.stopped); b.redeliver(b.stop) }()
	t.Cleanup(b.Close)
	return b
}

// An event the stream does not take within the timeout is deferred, later
// events join it without waiting, only the latest of each key is kept, and
// all reach the stream once it is back, oldest first; a newer event taken
// directly is never followed by an older deferred one.
func TestDeferredUntilTheStreamIsBack(t *testing.T) {
	f := &fakeStream{}
	b := newTestBus(t, f)
	ctx := context.Background()
	if err := b.PublishWait(ctx, incidentEvent(1, 1, open)); err != nil {
		t.Fatal(err)
	}
	f.set(true)
	if err := b.PublishWait(ctx, incidentEvent(1, 2, open)); !errors.Is(err, ErrDeferred) {
		t.Fatalf("publishing to a stream that is down: %v, want ErrDeferred", err)
	}
	// Now the bus knows: no more waiting for the timeout per event.
	start := time.Now()
	for v := 1; v <= 50; v++ {
		if err := b.PublishWait(ctx, incidentEvent(2, v, open)); !errors.Is(err, ErrDeferred) {
			t.Fatalf("v%d: %v, want ErrDeferred", v, err)
		}
	}
	if err := b.PublishWait(ctx, incidentEvent(1, 3, open)); !errors.Is(err, ErrDeferred) {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("51 events on a broken stream took %s: each waited", took)
	}
	b.dmu.Lock()
	n := len(b.deferred)
	b.dmu.Unlock()
	if n != 2 {
		t.Fatalf("%d keys deferred, want 2 (the latest of each)", n)
	}

	f.set(false)
	waitFor(t, "the deferred events in the stream", 30*time.Second, func() bool {
		b.dmu.Lock()
		defer b.dmu.Unlock()
		return len(b.deferred) == 0
	})
	got := f.taken()
	if fmt.Sprint(got["incident/1"]) != "[1 3]" || fmt.Sprint(got["incident/2"]) != "[50]" {
		t.Fatalf("the stream took %v, want incident/1 [1 3] and incident/2 [50]", got)
	}

	// Directly published newer events drop older deferred ones.
	f.set(true)
	if err := b.PublishWait(ctx, incidentEvent(3, 1, open)); !errors.Is(err, ErrDeferred) {
		t.Fatal(err)
	}
	b.published(b.subject(incidentEvent(3, 2, open)), b.seq.Add(1)) // as a concurrent direct publish of v2 would
	b.dmu.Lock()
	n = len(b.deferred)
	b.dmu.Unlock()
	if n != 0 {
		t.Fatal("an older deferred event survived a newer one taken by the stream")
	}
}

// TestQuorumLostThenBack: two of three nodes die; the survivor's events are
// deferred (its pipeline is not held for the publish timeout on each); the
// two come back, and a restarted node receives what the survivor published
// meanwhile, the latest state of each key.
func TestQuorumLostThenBack(t *testing.T) {
	nodes := startClusterTimeout(t, 3, 3, 2*time.Second)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx := context.Background()
	if err := a.bus.PublishWait(ctx, incidentEvent(7, 1, open)); err != nil {
		t.Fatal(err)
	}
	b.kill()
	c.kill()
	var deferred int
	start := time.Now()
	for v := 2; v <= 20; v++ {
		if err := a.bus.PublishWait(ctx, incidentEvent(7, v, open)); errors.Is(err, ErrDeferred) {
			deferred++
		} else if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
	}
	if deferred == 0 {
		t.Fatal("without quorum every event was taken")
	}
	t.Logf("19 events without quorum: %d deferred, in %s", deferred, time.Since(start).Round(time.Millisecond))

	// b and c come back (each waits for the other: a stream of three
	// replicas needs two), and the stream ends with the latest state.
	errs := make(chan error, 2)
	for _, n := range []*testNode{b, c} {
		go func() { errs <- n.restart() }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the latest deferred incident in the stream", 120*time.Second, func() bool {
		st, err := b.bus.js.Stream(ctx, DefaultStream)
		if err != nil {
			return false
		}
		m, err := st.GetLastMsgForSubject(ctx, b.bus.subject(incidentEvent(7, 20, open)))
		if err != nil {
			return false
		}
		var d incidentData
		return json.Unmarshal(m.Data, &d) == nil && d.Data.Version == 20
	})
	// The loop forgets an event once the stream has acknowledged it, just
	// after the stream shows it.
	waitFor(t, "nothing left deferred", 30*time.Second, func() bool {
		a.bus.dmu.Lock()
		defer a.bus.dmu.Unlock()
		return len(a.bus.deferred) == 0
	})
}

// TestPublishBatch: a batch published with pipelined acknowledgements reaches
// the other nodes whole, in order per key, and the local hub at once.
func TestPublishBatch(t *testing.T) {
	nodes := startCluster(t, 3, 3)
	a, c := nodes[0], nodes[2]
	subC := c.hub.Subscribe(live.SubscribeOptions{Viewer: soldier})
	defer subC.Close()
	atC := collect(subC)
	subA := a.hub.Subscribe(live.SubscribeOptions{Viewer: soldier})
	defer subA.Close()
	atA := collect(subA)

	const uids, per = 60, 25 // 1,500 events: more than one window
	var evs []live.Event
	for i := range per {
		for u := range uids {
			evs = append(evs, positionEvent(fmt.Sprintf("batch-%02d", u), open, t0.Add(time.Duration(i)*time.Second), 30+float64(i)/100, 4))
		}
	}
	a.bus.PublishBatch(evs)
	last := t0.Add((per - 1) * time.Second)
	waitFor(t, "every track's last position in c's picture", 60*time.Second, func() bool {
		for u := range uids {
			if st, ok := c.pic.Get(fmt.Sprintf("batch-%02d", u)); !ok || !st.Position.Time.Equal(last) {
				return false
			}
		}
		return true
	})
	// c's subscriber saw each track move forward only (the hub may coalesce a
	// lagging subscriber's positions, never reorder them).
	seen := map[string]time.Time{}
	for _, ev := range atC.snapshot() {
		var pm positionMsg
		if ev.Layer != live.LayerTracks || json.Unmarshal(ev.Data, &pm) != nil {
			continue
		}
		if prev, ok := seen[ev.Key]; ok && !pm.Data.Position.Time.After(prev) {
			t.Fatalf("%s went from %s back to %s", ev.Key, prev, pm.Data.Position.Time)
		}
		seen[ev.Key] = pm.Data.Position.Time
	}
	waitFor(t, "a's own subscriber to get the batch", 30*time.Second, func() bool { return len(atA.snapshot()) > 0 })
	a.bus.dmu.Lock()
	left := len(a.bus.deferred)
	a.bus.dmu.Unlock()
	if left != 0 {
		t.Fatalf("%d events deferred with the stream up", left)
	}
}
