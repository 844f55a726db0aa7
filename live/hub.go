package live

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/tidwall/rtree"
)

// Default bounds of a subscriber's queue.
const (
	DefaultQueueSize = 256   // non-coalescing events (incidents, alerts, areas) waiting
	DefaultMaxKeys   = 16384 // distinct coalescing keys (track uids) waiting
)

// HubOptions configures a Hub. The zero value is usable.
type HubOptions struct {
	// QueueSize bounds each subscriber's FIFO of non-coalescing events unless the
	// subscriber asks for another size. 0 means DefaultQueueSize.
	QueueSize int
	// MaxKeys bounds the distinct coalescing keys waiting in one subscriber's queue.
	// Coalescing already keeps one event per key, so this only bites for a stalled
	// subscriber watching more tracks than this; it then lags and resyncs rather
	// than holding megabytes. 0 means DefaultMaxKeys.
	MaxKeys int
	// OnDeliver, if set, is called by Drain with the publish-to-drain lag of every
	// event it returns, e.g. to feed a latency histogram. It runs on the draining
	// goroutine, outside any lock, and must be cheap and safe for concurrent use.
	OnDeliver func(lag time.Duration)
}

// HubStats are the hub's counters since it was created.
type HubStats struct {
	Subscribers int
	Published   uint64 // events passed to Publish
	Delivered   uint64 // events handed to subscribers by Drain
	Dropped     uint64 // events a subscriber did not get because its queue was full
	Coalesced   uint64 // queued events replaced by a newer one with the same Key
}

// Hub fans events out to subscribers. Publish does bounded work and never waits for
// a subscriber: each subscriber has its own bounded queue, which keeps only the
// newest coalescing event per Key, and a subscriber that falls further behind loses
// events, is told so (lagged) and resyncs from a snapshot.
//
// Subscribers are found through an R-tree of their boxes, so an event costs a
// lookup plus work for the subscribers that actually watch its place, not a pass
// over all subscribers. The access rule is Principal.CanSee on Event.Marking, with
// the subscriber's viewer; nothing else decides visibility.
//
// Events are delivered to a subscriber in the order Publish was called, except that
// a coalescing event moves to the back of the queue when a newer one with the same
// Key replaces it. Publishers must not publish events of one Key concurrently if
// they care which one is kept (the ingest pipeline applies a track's positions in
// order).
//
// The zero value is not usable; call NewHub.
type Hub struct {
	opts  HubOptions
	epoch time.Time // Published is nanoseconds on the monotonic clock since epoch

	mu     sync.RWMutex // guards the index and every subscription's filter
	index  rtree.RTreeG[*Subscription]
	n      int
	closed bool

	published, delivered, dropped, coalesced atomic.Uint64
}

// NewHub returns a hub without subscribers.
func NewHub(opts HubOptions) *Hub {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	return &Hub{opts: opts, epoch: time.Now()}
}

// now reads the monotonic clock: time.Since uses the monotonic reading of epoch, so
// wall-clock steps (NTP, a laptop resuming) do not distort lags.
func (h *Hub) now() int64 { return int64(time.Since(h.epoch)) }

// Lag returns how long ago e was published on this hub.
func (h *Hub) Lag(e Event) time.Duration { return time.Duration(h.now() - e.Published) }

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.RLock()
	n := h.n
	h.mu.RUnlock()
	return HubStats{
		Subscribers: n,
		Published:   h.published.Load(),
		Delivered:   h.delivered.Load(),
		Dropped:     h.dropped.Load(),
		Coalesced:   h.coalesced.Load(),
	}
}

// Publish sets e.Published and queues e for every subscriber whose layers include
// e.Layer, whose box intersects e.Where and whose viewer may see e.Marking.
// e.Data is shared by all of them and must not be modified afterwards.
func (h *Hub) Publish(e Event) {
	e.Published = h.now()
	h.published.Add(1)
	ev := &e // one allocation per event, shared by every queue it lands in
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return
	}
	h.index.Search([2]float64{e.Where.MinLon, e.Where.MinLat}, [2]float64{e.Where.MaxLon, e.Where.MaxLat},
		func(_, _ [2]float64, s *Subscription) bool {
			if s.wantsLayer(ev.Layer) && s.viewer.CanSee(ev.Marking) {
				s.enqueue(ev)
			}
			return true
		})
}

// SubscribeOptions says what a subscriber wants.
type SubscribeOptions struct {
	// Viewer is who the events are for; it is fixed for the subscription's life
	// (a changed clearance means a new subscription).
	Viewer bluehelm.Principal
	// BBox is the area watched; the zero BBox means the whole world.
	BBox bluehelm.BBox
	// Layers are the Layer constants wanted; none means every layer.
	Layers []string
	// QueueSize bounds the FIFO of non-coalescing events; 0 means the hub's default.
	QueueSize int
}

// Subscription is one subscriber's queue. Its consumer waits on Ready and calls
// Drain; any goroutine may call Update and Close.
type Subscription struct {
	hub    *Hub
	viewer bluehelm.Principal

	// Guarded by hub.mu, read by Publish under its read lock.
	bbox    bluehelm.BBox
	layers  []string
	indexed bool

	mu      sync.Mutex
	q       []*Event       // pending in publish order; nil marks a coalesced-away slot
	keys    map[string]int // Key → index in q of the pending coalescing event
	live    int            // non-nil entries of q
	fifo    int            // pending non-coalescing events
	limit   int
	maxKeys int
	lagged  bool
	dropped uint64
	closed  bool
	ready   chan struct{}
}

// Subscribe registers a subscriber. Call Close when done with it.
func (h *Hub) Subscribe(o SubscribeOptions) *Subscription {
	s := &Subscription{
		hub:     h,
		viewer:  o.Viewer,
		bbox:    orWorld(o.BBox),
		layers:  slices.Clone(o.Layers),
		keys:    make(map[string]int),
		limit:   o.QueueSize,
		maxKeys: h.opts.MaxKeys,
		ready:   make(chan struct{}, 1),
	}
	if s.limit <= 0 {
		s.limit = h.opts.QueueSize
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.closed = true
		close(s.ready)
		return s
	}
	min, max := boxKeys(s.bbox)
	h.index.Insert(min, max, s)
	s.indexed = true
	h.n++
	return s
}

func boxKeys(b bluehelm.BBox) (min, max [2]float64) {
	return [2]float64{b.MinLon, b.MinLat}, [2]float64{b.MaxLon, b.MaxLat}
}

// Close ends every subscription (their Ready channels close) and refuses new ones;
// for shutdown.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	var subs []*Subscription
	h.index.Scan(func(_, _ [2]float64, s *Subscription) bool {
		subs = append(subs, s)
		return true
	})
	h.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
}

func (s *Subscription) wantsLayer(l string) bool {
	return len(s.layers) == 0 || slices.Contains(s.layers, l)
}

func (s *Subscription) matches(e *Event, bbox bluehelm.BBox, layers []string) bool {
	return (len(layers) == 0 || slices.Contains(layers, e.Layer)) && bbox.Intersects(e.Where)
}

// enqueue is called by Publish with the hub's read lock held.
func (s *Subscription) enqueue(e *Event) {
	h := s.hub
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if e.Coalesce {
		if i, ok := s.keys[e.Key]; ok {
			s.q[i] = nil
			s.live--
			h.coalesced.Add(1)
		} else if len(s.keys) >= s.maxKeys {
			s.dropLocked()
			return
		}
		s.keys[e.Key] = len(s.q)
	} else {
		if s.fifo >= s.limit {
			s.dropLocked()
			return
		}
		s.fifo++
	}
	s.q = append(s.q, e)
	s.live++
	// A slow subscriber with few moving tracks would otherwise accumulate nil
	// slots; compacting when they outnumber the live ones keeps q within twice the
	// live events, at amortised constant cost.
	if dead := len(s.q) - s.live; dead > 64 && dead > s.live {
		s.compactLocked()
	}
	select {
	case s.ready <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (s *Subscription) dropLocked() {
	s.dropped++
	s.lagged = true
	s.hub.dropped.Add(1)
}

func (s *Subscription) compactLocked() {
	j := 0
	for _, e := range s.q {
		if e == nil {
			continue
		}
		if e.Coalesce {
			s.keys[e.Key] = j
		}
		s.q[j] = e
		j++
	}
	clear(s.q[j:])
	s.q = s.q[:j]
}

// Ready is signalled when events are waiting, and closed by Close. A consumer loops
// on it and drains:
//
//	for range sub.Ready() {
//		evs, lagged := sub.Drain(evs)
//		if lagged { /* send a fresh snapshot first */ }
//		...
//	}
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Drain returns the waiting events in order, reusing buf's storage, and whether
// events were dropped since the last Drain: the consumer then cannot trust its
// picture and should resync from a snapshot (Picture.Search and the stores) before
// applying the events. After Close it returns nothing.
func (s *Subscription) Drain(buf []Event) (events []Event, lagged bool) {
	events = buf[:0]
	s.mu.Lock()
	for _, e := range s.q {
		if e == nil {
			continue
		}
		events = append(events, *e)
		if e.Coalesce {
			// Deleting key by key costs what was drained; clear(s.keys) would cost
			// the map's capacity, which stays at its high-water mark after a burst.
			delete(s.keys, e.Key)
		}
	}
	clear(s.q) // let the events' data go
	s.q = s.q[:0]
	s.live, s.fifo = 0, 0
	lagged, s.lagged = s.lagged, false
	// The queue is empty now, so a pending wake-up would only be a spurious one.
	select {
	case <-s.ready:
	default:
	}
	s.mu.Unlock()

	if n := len(events); n > 0 {
		s.hub.delivered.Add(uint64(n))
		if f := s.hub.opts.OnDeliver; f != nil {
			now := s.hub.now()
			for i := range events {
				f(time.Duration(now - events[i].Published))
			}
		}
	}
	return events, lagged
}

// Lag returns how long ago e was published; for consumers that time their writes.
func (s *Subscription) Lag(e Event) time.Duration { return s.hub.Lag(e) }

// Len returns the number of events waiting.
func (s *Subscription) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Dropped returns how many events this subscriber lost to a full queue.
func (s *Subscription) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Update changes the box and layers watched (the zero BBox means the whole world,
// no layers every layer). Waiting events that no longer match are discarded: the
// consumer follows an Update with a snapshot of the new view anyway, and events
// about a place it left are noise. Events published after Update returns use the
// new filter.
func (s *Subscription) Update(bbox bluehelm.BBox, layers []string) {
	bbox = orWorld(bbox)
	layers = slices.Clone(layers)
	h := s.hub
	h.mu.Lock()
	if !s.indexed {
		h.mu.Unlock()
		return
	}
	omin, omax := boxKeys(s.bbox)
	h.index.Delete(omin, omax, s)
	nmin, nmax := boxKeys(bbox)
	h.index.Insert(nmin, nmax, s)
	s.bbox, s.layers = bbox, layers
	h.mu.Unlock()

	// Every Publish that used the old filter has finished (it held the read lock),
	// so purging after unlocking cannot miss an event queued under the old filter.
	s.mu.Lock()
	defer s.mu.Unlock()
	purged := false
	for i, e := range s.q {
		if e == nil || s.matches(e, bbox, layers) {
			continue
		}
		s.q[i] = nil
		s.live--
		if e.Coalesce {
			delete(s.keys, e.Key)
		} else {
			s.fifo--
		}
		purged = true
	}
	if purged {
		s.compactLocked()
	}
}

// Close unregisters the subscriber, discards what is waiting and closes Ready.
// It may be called more than once.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	if s.indexed {
		min, max := boxKeys(s.bbox)
		h.index.Delete(min, max, s)
		s.indexed = false
		h.n--
	}
	h.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	clear(s.q)
	s.q = nil
	s.keys = nil
	s.live, s.fifo = 0, 0
	close(s.ready)
}
