package live

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func pointBox(lon, lat float64) bluehelm.BBox {
	return bluehelm.BBox{MinLon: lon, MinLat: lat, MaxLon: lon, MaxLat: lat}
}

func positionEvent(uid string, seq int, m bluehelm.Marking, lon, lat float64) Event {
	return Event{Layer: LayerTracks, Key: uid, Marking: m, Where: pointBox(lon, lat), Coalesce: true,
		Data: []byte(uid + "#" + strconv.Itoa(seq))}
}

func alertEvent(id int, m bluehelm.Marking, where bluehelm.BBox) Event {
	return Event{Layer: LayerAlerts, Key: "alert/" + strconv.Itoa(id), Marking: m, Where: where,
		Data: []byte("alert/" + strconv.Itoa(id))}
}

func data(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Data))
	}
	return out
}

// waitReady fails the test if no wake-up arrives: every publish that queues must signal.
func waitReady(t *testing.T, s *Subscription) {
	t.Helper()
	select {
	case <-s.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("Ready not signalled")
	}
}

// waitClosed fails the test unless s's Ready channel is (or soon becomes) closed.
func waitClosed(t *testing.T, s *Subscription) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.Ready():
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("Ready not closed")
		}
	}
}

func TestHubFiltering(t *testing.T) {
	juba := bluehelm.BBox{MinLon: 31, MinLat: 4.5, MaxLon: 32, MaxLat: 5}
	malakal := bluehelm.BBox{MinLon: 31, MinLat: 9, MaxLon: 32, MaxLat: 10}
	inJuba := pointBox(31.6, 4.85)

	subs := []struct {
		name string
		opts SubscribeOptions
	}{
		{"mil-juba-all", SubscribeOptions{Viewer: milC, BBox: juba}},
		{"mil-juba-tracks", SubscribeOptions{Viewer: milC, BBox: juba, Layers: []string{LayerTracks}}},
		{"pol-juba", SubscribeOptions{Viewer: polC, BBox: juba}},
		{"civ-world", SubscribeOptions{Viewer: civU}},
		{"mil-malakal", SubscribeOptions{Viewer: milC, BBox: malakal}},
		{"system-world", SubscribeOptions{Viewer: system, BBox: bluehelm.World}},
	}
	tests := []struct {
		name string
		ev   Event
		want []string // subscriber names that get it
	}{
		{"unclassified track in Juba", positionEvent("t", 1, unclass, 31.6, 4.85),
			[]string{"mil-juba-all", "mil-juba-tracks", "pol-juba", "civ-world", "system-world"}},
		{"confidential police track never reaches military", positionEvent("t", 1, confPol, 31.6, 4.85),
			[]string{"pol-juba", "system-world"}},
		{"confidential police track released to military", positionEvent("t", 1, confPolRM, 31.6, 4.85),
			[]string{"mil-juba-all", "mil-juba-tracks", "pol-juba", "system-world"}},
		{"strictly confidential above every clearance", positionEvent("t", 1, strictMil, 31.6, 4.85),
			[]string{"system-world"}},
		{"alert only to subscribers of the alerts layer", alertEvent(1, confMil, inJuba),
			[]string{"mil-juba-all", "system-world"}},
		{"alert with no place reaches every box", alertEvent(1, unclass, bluehelm.World),
			[]string{"mil-juba-all", "pol-juba", "civ-world", "mil-malakal", "system-world"}},
		{"area whose extent touches Malakal", Event{Layer: LayerAreas, Key: "area/1", Marking: unclass,
			Where: bluehelm.BBox{MinLon: 30, MinLat: 8, MaxLon: 31, MaxLat: 9}}, // corner touches
			[]string{"civ-world", "mil-malakal", "system-world"}},
		{"track nowhere near", positionEvent("t", 1, unclass, 25, 7), []string{"civ-world", "system-world"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHub(HubOptions{})
			got := map[string]*Subscription{}
			for _, s := range subs {
				got[s.name] = h.Subscribe(s.opts)
			}
			h.Publish(tc.ev)
			var receivers []string
			for _, s := range subs {
				evs, lagged := got[s.name].Drain(nil)
				if lagged {
					t.Errorf("%s lagged", s.name)
				}
				switch len(evs) {
				case 0:
				case 1:
					receivers = append(receivers, s.name)
					if string(evs[0].Data) != string(tc.ev.Data) || evs[0].Key != tc.ev.Key {
						t.Errorf("%s got %+v", s.name, evs[0])
					}
				default:
					t.Errorf("%s got %d events", s.name, len(evs))
				}
			}
			if !slices.Equal(receivers, tc.want) {
				t.Errorf("received by %v, want %v", receivers, tc.want)
			}
			if st := h.Stats(); st.Published != 1 || st.Delivered != uint64(len(tc.want)) || st.Subscribers != len(subs) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestHubCoalescesSlowSubscriber(t *testing.T) {
	h := NewHub(HubOptions{})
	s := h.Subscribe(SubscribeOptions{Viewer: milC})
	defer s.Close()
	// 1000 positions for 10 uids, nobody draining.
	for i := range 1000 {
		uid := fmt.Sprint("u", i%10)
		h.Publish(positionEvent(uid, i, unclass, 30+float64(i)/1000, 5))
	}
	if n := s.Len(); n != 10 {
		t.Errorf("Len = %d, want 10", n)
	}
	evs, lagged := s.Drain(nil)
	if lagged {
		t.Error("coalescing must not count as lag")
	}
	// Newest per uid, in the order of their last publish.
	var want []string
	for i := 990; i < 1000; i++ {
		want = append(want, fmt.Sprintf("u%d#%d", i%10, i))
	}
	if got := data(evs); !slices.Equal(got, want) {
		t.Errorf("drained %v\nwant %v", got, want)
	}
	st := h.Stats()
	if st.Coalesced != 990 || st.Dropped != 0 || st.Delivered != 10 {
		t.Errorf("stats %+v, want 990 coalesced, 0 dropped, 10 delivered", st)
	}
	if evs, _ := s.Drain(evs); len(evs) != 0 {
		t.Errorf("second drain got %d events", len(evs))
	}
}

func TestHubOrderMixesCoalescedAndFIFO(t *testing.T) {
	h := NewHub(HubOptions{})
	s := h.Subscribe(SubscribeOptions{Viewer: milC})
	h.Publish(positionEvent("a", 1, unclass, 30, 5))
	h.Publish(positionEvent("b", 2, unclass, 30, 5))
	h.Publish(alertEvent(3, unclass, bluehelm.World))
	h.Publish(positionEvent("a", 4, unclass, 30, 5)) // replaces a#1 and goes behind the alert
	h.Publish(alertEvent(5, unclass, bluehelm.World))
	evs, _ := s.Drain(nil)
	if got, want := data(evs), []string{"b#2", "alert/3", "a#4", "alert/5"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestHubFIFOOverflow(t *testing.T) {
	h := NewHub(HubOptions{QueueSize: 100})
	small := h.Subscribe(SubscribeOptions{Viewer: milC, QueueSize: 5})
	roomy := h.Subscribe(SubscribeOptions{Viewer: milC})
	for i := range 8 {
		h.Publish(alertEvent(i, unclass, bluehelm.World))
	}
	h.Publish(positionEvent("a", 9, unclass, 30, 5)) // positions are bounded separately
	evs, lagged := small.Drain(nil)
	if got, want := data(evs), []string{"alert/0", "alert/1", "alert/2", "alert/3", "alert/4", "a#9"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !lagged {
		t.Error("lagged not reported after drops")
	}
	if small.Dropped() != 3 || h.Stats().Dropped != 3 {
		t.Errorf("dropped: subscriber %d, hub %d; want 3, 3", small.Dropped(), h.Stats().Dropped)
	}
	if evs, lagged := roomy.Drain(nil); len(evs) != 9 || lagged || roomy.Dropped() != 0 {
		t.Errorf("roomy subscriber: %d events, lagged %v, dropped %d", len(evs), lagged, roomy.Dropped())
	}
	// Lagged is reported once: the consumer resyncs, then the stream is whole again.
	h.Publish(alertEvent(10, unclass, bluehelm.World))
	if evs, lagged := small.Drain(evs); lagged || len(evs) != 1 {
		t.Errorf("after resync: %d events, lagged %v", len(evs), lagged)
	}
}

func TestHubMaxKeys(t *testing.T) {
	h := NewHub(HubOptions{MaxKeys: 3})
	s := h.Subscribe(SubscribeOptions{Viewer: milC})
	for i := range 5 {
		h.Publish(positionEvent(fmt.Sprint("u", i), i, unclass, 30, 5))
	}
	h.Publish(positionEvent("u0", 5, unclass, 30, 5)) // a known key still coalesces
	evs, lagged := s.Drain(nil)
	if got, want := data(evs), []string{"u1#1", "u2#2", "u0#5"}; !slices.Equal(got, want) || !lagged {
		t.Errorf("got %v lagged %v, want %v lagged", got, lagged, want)
	}
}

func TestHubCompactsDeadSlots(t *testing.T) {
	h := NewHub(HubOptions{})
	s := h.Subscribe(SubscribeOptions{Viewer: milC})
	for i := range 10000 {
		h.Publish(positionEvent(fmt.Sprint("u", i%3), i, unclass, 30, 5))
	}
	s.mu.Lock()
	n := len(s.q)
	s.mu.Unlock()
	if n > 2*3+65 {
		t.Errorf("queue holds %d slots for 3 live events: dead slots are not compacted", n)
	}
	evs, _ := s.Drain(nil)
	if got, want := data(evs), []string{"u0#9999", "u1#9997", "u2#9998"}; !slices.Equal(sorted(got), want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestHubUpdate(t *testing.T) {
	h := NewHub(HubOptions{})
	west := bluehelm.BBox{MinLon: 24, MinLat: 3.5, MaxLon: 30, MaxLat: 12.5}
	east := bluehelm.BBox{MinLon: 30.5, MinLat: 3.5, MaxLon: 36, MaxLat: 12.5}
	s := h.Subscribe(SubscribeOptions{Viewer: milC, BBox: west})
	h.Publish(positionEvent("w", 1, unclass, 25, 5))
	h.Publish(positionEvent("e", 2, unclass, 35, 5))
	h.Publish(alertEvent(3, unclass, pointBox(25, 5)))
	if got := data(mustDrain(t, s)); !slices.Equal(got, []string{"w#1", "alert/3"}) {
		t.Fatalf("before update: %v", got)
	}

	// Queued before the update and outside the new view: discarded.
	h.Publish(positionEvent("w", 4, unclass, 25, 5))
	h.Publish(alertEvent(5, unclass, pointBox(25, 5)))
	h.Publish(alertEvent(6, unclass, bluehelm.World))
	s.Update(east, []string{LayerTracks})
	h.Publish(positionEvent("w", 7, unclass, 25, 5))
	h.Publish(positionEvent("e", 8, unclass, 35, 5))
	h.Publish(alertEvent(9, unclass, pointBox(35, 5)))
	if got := data(mustDrain(t, s)); !slices.Equal(got, []string{"e#8"}) {
		t.Errorf("after update: %v, want [e#8]", got)
	}

	// Back to everything: the zero box and no layers.
	s.Update(bluehelm.BBox{}, nil)
	h.Publish(positionEvent("w", 10, unclass, 25, 5))
	h.Publish(alertEvent(11, unclass, pointBox(35, 5)))
	if got := data(mustDrain(t, s)); !slices.Equal(got, []string{"w#10", "alert/11"}) {
		t.Errorf("after widening: %v", got)
	}
}

func mustDrain(t *testing.T, s *Subscription) []Event {
	t.Helper()
	evs, lagged := s.Drain(nil)
	if lagged {
		t.Error("unexpected lag")
	}
	return evs
}

func TestHubClose(t *testing.T) {
	h := NewHub(HubOptions{})
	s := h.Subscribe(SubscribeOptions{Viewer: milC})
	other := h.Subscribe(SubscribeOptions{Viewer: milC})
	h.Publish(positionEvent("a", 1, unclass, 30, 5))
	waitReady(t, s)
	s.Close()
	s.Close() // idempotent
	waitClosed(t, s)
	h.Publish(positionEvent("a", 2, unclass, 30, 5))
	if evs, _ := s.Drain(nil); len(evs) != 0 {
		t.Errorf("closed subscription drained %v", data(evs))
	}
	s.Update(bluehelm.World, nil) // no effect, no panic
	if st := h.Stats(); st.Subscribers != 1 {
		t.Errorf("Subscribers = %d, want 1", st.Subscribers)
	}
	if got := data(mustDrain(t, other)); !slices.Equal(got, []string{"a#2"}) {
		t.Errorf("other subscriber got %v", got)
	}

	h.Close()
	waitClosed(t, other)
	waitClosed(t, h.Subscribe(SubscribeOptions{Viewer: milC})) // a closed hub takes no subscribers
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("Subscribers = %d after Hub.Close", st.Subscribers)
	}
}

func TestHubOnDeliverAndLag(t *testing.T) {
	var n atomic.Int64
	var neg atomic.Bool
	h := NewHub(HubOptions{OnDeliver: func(lag time.Duration) {
		n.Add(1)
		if lag < 0 {
			neg.Store(true)
		}
	}})
	s := h.Subscribe(SubscribeOptions{Viewer: milC})
	h.Publish(positionEvent("a", 1, unclass, 30, 5))
	h.Publish(alertEvent(2, unclass, bluehelm.World))
	time.Sleep(2 * time.Millisecond)
	evs, _ := s.Drain(nil)
	if n.Load() != 2 || neg.Load() {
		t.Errorf("OnDeliver called %d times (negative lag %v), want 2", n.Load(), neg.Load())
	}
	for _, e := range evs {
		if l := s.Lag(e); l < 2*time.Millisecond || l > time.Minute {
			t.Errorf("Lag = %v, want about 2ms", l)
		}
	}
}

// TestHubConcurrent runs publishers, consumers and churning subscribers together, for
// the race detector and for the guarantee that a subscriber never sees a track move
// backwards: per key, sequence numbers only increase.
func TestHubConcurrent(t *testing.T) {
	h := NewHub(HubOptions{QueueSize: 16})
	const (
		publishers = 4
		perPub     = 3000
		consumers  = 20
	)
	var drained atomic.Uint64
	var wg sync.WaitGroup
	errs := make(chan error, consumers+1)
	for c := range consumers {
		bbox := bluehelm.BBox{MinLon: 24 + float64(c%6)*2, MinLat: 3.5, MaxLon: 26 + float64(c%6)*2, MaxLat: 12.5}
		s := h.Subscribe(SubscribeOptions{Viewer: []bluehelm.Principal{milC, polC, civU}[c%3], BBox: bbox})
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := map[string]int{}
			var buf []Event
			for range s.Ready() {
				var lagged bool
				buf, lagged = s.Drain(buf)
				_ = lagged // alerts may overflow the small FIFO: fine here
				drained.Add(uint64(len(buf)))
				for _, e := range buf {
					if !s.viewer.CanSee(e.Marking) {
						errs <- fmt.Errorf("viewer %s got %+v", s.viewer.Username, e.Marking)
						return
					}
					if !e.Coalesce {
						continue
					}
					seq, _ := strconv.Atoi(string(e.Data[len(e.Key)+1:]))
					if seq <= last[e.Key] {
						errs <- fmt.Errorf("key %s went from %d back to %d", e.Key, last[e.Key], seq)
						return
					}
					last[e.Key] = seq
				}
			}
		}()
	}
	// Churn: subscribers come, move their box and go while events flow.
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := h.Subscribe(SubscribeOptions{Viewer: milC, BBox: randomBox(r, 1)})
			s.Update(randomBox(r, 2), []string{LayerTracks})
			evs, _ := s.Drain(nil)
			drained.Add(uint64(len(evs)))
			s.Close()
		}
	}()
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			r := rand.New(rand.NewPCG(uint64(p), 7))
			for i := 1; i <= perPub; i++ {
				// Each publisher owns its keys, as the ingest pipeline owns a track.
				uid := fmt.Sprintf("p%d-u%d", p, r.IntN(50))
				m := []bluehelm.Marking{unclass, confMil, confPol, confPolRM}[r.IntN(4)]
				if i%50 == 0 {
					h.Publish(alertEvent(i, m, bluehelm.World))
					continue
				}
				h.Publish(positionEvent(uid, i, m, 24+r.Float64()*12, 3.5+r.Float64()*9))
			}
		}()
	}
	pubs.Wait()
	close(stop)
	churn.Wait()
	// Wait for the consumers to empty their queues before closing them.
	deadline := time.Now().Add(10 * time.Second)
	for pendingTotal(h) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p := pendingTotal(h); p > 0 {
		t.Errorf("%d events still pending after 10s", p)
	}
	if st := h.Stats(); st.Published != publishers*perPub || st.Subscribers != consumers {
		t.Errorf("stats %+v", st)
	}
	h.Close() // ends the consumers' Ready loops
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("consumers still waiting on Ready after Hub.Close")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if drained.Load() == 0 {
		t.Error("nothing delivered")
	}
	if h.Stats().Delivered != drained.Load() {
		t.Errorf("hub counted %d delivered, consumers drained %d", h.Stats().Delivered, drained.Load())
	}
}

func pendingTotal(h *Hub) int {
	var subs []*Subscription
	h.mu.RLock()
	h.index.Scan(func(_, _ [2]float64, s *Subscription) bool { subs = append(subs, s); return true })
	h.mu.RUnlock()
	n := 0
	for _, s := range subs {
		n += s.Len()
	}
	return n
}

// randomBox returns a box covering about pct percent of South Sudan.
func randomBox(r *rand.Rand, pct float64) bluehelm.BBox {
	const minLon, minLat, maxLon, maxLat = 24.0, 3.5, 36.0, 12.5
	f := math.Sqrt(pct / 100)
	w, hgt := (maxLon-minLon)*f, (maxLat-minLat)*f
	x := minLon + r.Float64()*(maxLon-minLon-w)
	y := minLat + r.Float64()*(maxLat-minLat-hgt)
	return bluehelm.BBox{MinLon: x, MinLat: y, MaxLon: x + w, MaxLat: y + hgt}
}

func TestMoveExtentReachesTheViewLeft(t *testing.T) {
	h := NewHub(HubOptions{})
	west := h.Subscribe(SubscribeOptions{Viewer: milC, BBox: bluehelm.BBox{MinLon: 24, MinLat: 3.5, MaxLon: 30, MaxLat: 12.5}})
	east := h.Subscribe(SubscribeOptions{Viewer: milC, BBox: bluehelm.BBox{MinLon: 31, MinLat: 3.5, MaxLon: 36, MaxLat: 12.5}})
	from, to := bluehelm.Point{Lon: 29.9, Lat: 5}, bluehelm.Point{Lon: 30.2, Lat: 4.9}
	ev := positionEvent("a", 1, unclass, to.Lon, to.Lat)
	ev.Where = MoveExtent(from, to)
	if want := (bluehelm.BBox{MinLon: 29.9, MinLat: 4.9, MaxLon: 30.2, MaxLat: 5}); ev.Where != want {
		t.Fatalf("MoveExtent = %+v, want %+v", ev.Where, want)
	}
	h.Publish(ev)
	if evs, _ := west.Drain(nil); len(evs) != 1 {
		t.Errorf("the view the track left got %d events, want 1", len(evs))
	}
	if evs, _ := east.Drain(nil); len(evs) != 0 {
		t.Errorf("a view the track never touched got %d events", len(evs))
	}
}
