package nats

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultStream         = "BLUEHELM_LIVE"
	DefaultSubjectPrefix  = "bluehelm.live"
	DefaultMaxAge         = time.Hour
	DefaultMaxBytes       = 512 << 20
	DefaultMaxPerSubject  = 16
	DefaultPublishTimeout = 30 * time.Second
	DefaultConsumeBuffer  = 1024
)

// Message headers. The body of a message is the event's Data unchanged, so a
// node fans out exactly the bytes the origin encoded.
const (
	hdrNode  = "Bluehelm-Node"
	hdrEvent = "Bluehelm-Event" // JSON of eventMeta
	hdrTime  = "Bluehelm-Time"  // origin's wall clock at publish, Unix ns, for the lag metric
)

// eventMeta is what a live.Event carries besides Data.
type eventMeta struct {
	Layer    string           `json:"l"`
	Key      string           `json:"k"`
	Marking  bluehelm.Marking `json:"m"`
	Where    [4]float64       `json:"w"`
	Coalesce bool             `json:"c,omitempty"`
	Origin   string           `json:"o,omitempty"`
}

// Options configure a Bus.
type Options struct {
	// NodeID names this node; unique in the cluster and stable across restarts
	// (the server name of an embedded server). Required.
	NodeID string
	// Conn is the connection to NATS (in-process to an embedded server, or to an
	// external cluster). The Bus does not close it.
	Conn *natsgo.Conn
	// Hub is this node's hub: local events and other nodes' events go to it.
	Hub *live.Hub
	// Picture is this node's live picture: other nodes' positions are applied to
	// it, so that a snapshot on this node shows every node's tracks.
	Picture *live.Picture
	// OnRemote, if set, is called with every other node's event after it was
	// applied to the picture and published to the hub (e.g. to give areas to the
	// geofencer). It runs on the consuming goroutine and must not block for long.
	OnRemote func(live.Event)

	// Stream and SubjectPrefix name the JetStream stream and its subjects.
	Stream, SubjectPrefix string
	// Replicas is the stream's replication: 3 in a cluster of three or more, so
	// that losing a node loses nothing the stream acknowledged; 0 means 1.
	Replicas int
	// MaxAge, MaxBytes and MaxPerSubject bound the stream. Every message is the
	// whole state of its key (a position, an incident), so keeping the last few
	// per key loses nothing a consumer needs.
	MaxAge        time.Duration
	MaxBytes      int64
	MaxPerSubject int64
	// PublishTimeout is how long Publish keeps trying (a leader election after a
	// node loss takes a few seconds) before it gives up, logs and counts the event
	// as failed. Zero: DefaultPublishTimeout.
	PublishTimeout time.Duration
	// ConsumeBuffer bounds the messages fetched ahead of the consumer.
	ConsumeBuffer int

	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Bus carries the pipeline's changes between the nodes of a cluster. It implements
// ingest.Publisher: Publish hands the event to the local hub, then to a JetStream
// stream, and returns once the stream has acknowledged it. Every node consumes the
// stream and applies the other nodes' events to its own picture (positions) and
// hub, where its own subscribers' access rules apply.
//
// What "acknowledged" means. A client's write is acknowledged (HTTP 2xx, CoT
// accepted) when the pipeline returns, which is after the store committed it and
// after Publish returned. Publish returns when the stream has stored the event
// (with Replicas 3, on a majority of the nodes), so an acknowledged write is both
// in the shared store and in the stream: a node killed right after cannot take it
// with it, and every surviving node applies it. If the stream stays unavailable
// beyond PublishTimeout (no quorum), Publish stops waiting (error log,
// bluehelm_bus_publish_failed_total): the write is in the store, and the event
// is deferred, sent again in the background until the stream takes it, with
// every later event joining it at once rather than waiting (deferred.go).
//
// Order: one stream holds every event in publish order, and the subject is per
// layer and key, so events of one key (one track uid) reach every node in the
// order they were published. Redeliveries are harmless: the stream drops a
// repeated Msg-Id, and the picture ignores a position that is not newer.
//
// Memory is bounded: Publish waits for its acknowledgement instead of queueing
// (back-pressure on the pipeline), the consumer fetches at most ConsumeBuffer
// messages ahead, and the hub's queues are bounded per subscriber.
type Bus struct {
	opts   Options
	js     jetstream.JetStream
	log    *slog.Logger
	boot   string // distinguishes this process's Msg-Ids from a previous run's
	seq    atomic.Uint64
	m      busMetrics
	cc     jetstream.ConsumeContext
	mu     sync.Mutex
	closed bool

	// Events the stream did not take, sent again in the background
	// (deferred.go).
	pub      streamPublisher
	dmu      sync.Mutex
	deferred map[string]deferredMsg // by subject
	kick     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}

	// The consumer's progress, for watch.
	stream  jetstream.Stream
	lastSeq atomic.Uint64 // stream sequence of the last message applied (or skipped as ours)
	lastMsg atomic.Int64  // unix ns of the last message, or of the consumer's start
	watched chan struct{}
}

type busMetrics struct {
	published  prometheus.Counter
	failed     prometheus.Counter
	retries    prometheus.Counter
	publishDur prometheus.Histogram
	applied    *prometheus.CounterVec
	stale      prometheus.Counter
	bad        prometheus.Counter
	lag        prometheus.Histogram
	pending    prometheus.Gauge
	deferred   prometheus.Gauge
	dropped    prometheus.Counter
	restarts   prometheus.Counter
}

func newBusMetrics() busMetrics {
	return busMetrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_published_total",
			Help: "Events this node published to the cluster stream and had acknowledged."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_publish_failed_total",
			Help: "Events the cluster stream did not acknowledge within the publish timeout (stored, but other nodes missed them live)."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_publish_retries_total",
			Help: "Publish attempts repeated after an error or timeout (leader elections, lost nodes)."}),
		publishDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bluehelm_bus_publish_seconds",
			Help: "Time from Publish to the stream's acknowledgement.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_bus_applied_total",
			Help: "Other nodes' events applied to this node's picture and hub, by layer."}, []string{"layer"}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_stale_total",
			Help: "Other nodes' positions not applied because this node's picture already had that report or a newer one."}),
		bad: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_bad_messages_total",
			Help: "Stream messages that could not be decoded (skipped and logged)."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bluehelm_bus_lag_seconds",
			Help:    "Time from an event's publish on its node to its application here (wall clocks of two machines).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bluehelm_bus_pending",
			Help: "Stream messages not yet consumed by this node."}),
		deferred: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bluehelm_bus_deferred",
			Help: "Keys whose latest event the cluster stream has not taken yet (kept and sent again)."}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_consumer_restarts_total",
			Help: "Times this node's consumer of the cluster stream stalled and was started again."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_bus_deferred_dropped_total",
			Help: "Deferred events dropped because too many keys waited (other nodes see those keys at their next change)."}),
	}
}

// New makes the stream (or updates its limits) and starts consuming the events
// other nodes publish from now on. Start it before loading the picture from the
// store, so that nothing falls between the load and the first event consumed:
// an event seen twice is harmless.
//
// In a cluster that is still forming, New retries until ctx ends.
func New(ctx context.Context, o Options) (*Bus, error) {
	if o.NodeID == "" || o.Conn == nil || o.Hub == nil || o.Picture == nil {
		return nil, errors.New("nats: Bus needs NodeID, Conn, Hub and Picture")
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.SubjectPrefix == "" {
		o.SubjectPrefix = DefaultSubjectPrefix
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPerSubject <= 0 {
		o.MaxPerSubject = DefaultMaxPerSubject
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.ConsumeBuffer <= 0 {
		o.ConsumeBuffer = DefaultConsumeBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	js, err := jetstream.New(o.Conn)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	b := newBus(o, js)
	if o.Registerer != nil {
		o.Registerer.MustRegister(b.m.published, b.m.failed, b.m.retries, b.m.publishDur,
			b.m.applied, b.m.stale, b.m.bad, b.m.lag, b.m.pending, b.m.deferred, b.m.dropped, b.m.restarts)
	}

	cfg := jetstream.StreamConfig{
		Name:              o.Stream,
		Description:       "bluehelm live changes shared by the nodes of a cluster",
		Subjects:          []string{o.SubjectPrefix + ".>"},
		Storage:           jetstream.FileStorage,
		Replicas:          o.Replicas,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxAge:            o.MaxAge,
		MaxBytes:          o.MaxBytes,
		MaxMsgsPerSubject: o.MaxPerSubject,
		Duplicates:        2 * time.Minute,
	}
	var stream jetstream.Stream
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		stream, err = js.CreateOrUpdateStream(actx, cfg)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("nats: creating stream %s: %w", o.Stream, err)
		}
		// A forming cluster answers "no JetStream leader" or "insufficient
		// resources" until enough nodes have met.
		if attempt%10 == 0 {
			b.log.Info("waiting for the NATS cluster to form", "stream", o.Stream, "replicas", o.Replicas, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}

	// Where this node starts following the stream: after what it holds now
	// (asked with short deadlines: a forming cluster may not answer at once).
	for ctx.Err() == nil {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		si, err := stream.Info(ictx)
		cancel()
		if err == nil {
			b.lastSeq.Store(si.State.LastSeq)
			break
		}
	}
	b.stream = stream
	if err := b.consume(ctx, 0); err != nil {
		return nil, err
	}
	go b.watch()
	go func() { defer close(b.stopped); b.redeliver(b.stop) }()
	b.log.Info("cluster bus started", "stream", o.Stream, "replicas", o.Replicas, "subjects", o.SubjectPrefix+".>")
	return b, nil
}

// consume starts following the stream with an ordered consumer, from
// startSeq (0: new messages only). An ordered consumer is ephemeral and never
// acknowledged: it follows the stream in order and, when the node serving it
// goes away, is recreated from the last sequence it delivered, so a lost node
// costs a pause, not events.
func (b *Bus) consume(ctx context.Context, startSeq uint64) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if startSeq > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: startSeq}
	}
	cons, err := b.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("nats: consumer on %s: %w", b.opts.Stream, err)
	}
	cc, err := cons.Consume(b.apply,
		jetstream.PullMaxMessages(b.opts.ConsumeBuffer),
		// Short pull expiry and heartbeat: a consumer whose stream leader died
		// notices within a couple of seconds and is recreated elsewhere.
		jetstream.PullExpiry(2*time.Second),
		jetstream.PullHeartbeat(time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.log.Warn("consuming the cluster stream", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("nats: consuming %s: %w", b.opts.Stream, err)
	}
	b.lastMsg.Store(time.Now().UnixNano())
	b.cc = cc
	return nil
}

// watch restarts the consumer when it has stalled: the stream holds
// messages past the last one this node applied and none came for a while.
// After a node loss the client's ordered consumer was seen (once in CI) to
// stop for good after a missed heartbeat, leaving this node's picture
// frozen; a stream that is merely quiet is left alone.
func (b *Bus) watch() {
	defer close(b.watched)
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, b.lastMsg.Load())) < 10*time.Second {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		si, err := b.stream.Info(ctx)
		cancel()
		last := b.lastSeq.Load()
		if err != nil || si.State.LastSeq <= last {
			continue
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return
		}
		b.log.Warn("the cluster stream consumer stalled; starting it again", "from", last+1, "stream_last", si.State.LastSeq)
		b.cc.Stop()
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		if err := b.consume(ctx, last+1); err != nil {
			b.log.Error("restarting the cluster stream consumer; trying again", "err", err)
		}
		cancel()
		b.m.restarts.Inc()
		b.mu.Unlock()
	}
}

// newBus is the Bus without its stream and consumer (New makes them).
func newBus(o Options, js jetstream.JetStream) *Bus {
	b := &Bus{opts: o, js: js, log: o.Logger.With("component", "bus", "node", o.NodeID),
		boot: strconv.FormatInt(time.Now().UnixNano(), 36), m: newBusMetrics(),
		deferred: map[string]deferredMsg{}, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), stopped: make(chan struct{}), watched: make(chan struct{})}
	if js != nil {
		b.pub = js
	}
	return b
}

// Close stops consuming and redelivering deferred events (what is still
// deferred is logged). It does not close the connection.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	if b.cc != nil {
		b.cc.Stop()
	}
	close(b.stop)
	<-b.stopped
	if b.stream != nil {
		b.mu.Unlock() // watch may be waiting for mu to see closed
		<-b.watched
		b.mu.Lock()
	}
}

// subject is per layer and key, so that the stream's per-subject limit keeps the
// last few states of each key. Keys are free text ("incident/42", CoT uids with
// dots): base64url keeps them one valid subject token.
func (b *Bus) subject(ev live.Event) string {
	return b.opts.SubjectPrefix + "." + ev.Layer + "." + base64.RawURLEncoding.EncodeToString([]byte(ev.Key))
}

// Publish implements ingest.Publisher: it gives ev to the local hub and waits
// until the cluster stream has it (see PublishWait); a failure is logged and
// counted, never returned, as the Publisher contract has no error.
func (b *Bus) Publish(ev live.Event) {
	_ = b.PublishWait(context.Background(), ev)
}

// PublishWait gives ev to the local hub, then publishes it to the cluster stream
// and returns when the stream acknowledged it, retrying through leader elections
// until PublishTimeout or ctx ends. The local hub comes first: this node's own
// clients need not wait for the cluster.
func (b *Bus) PublishWait(ctx context.Context, ev live.Event) error {
	b.opts.Hub.Publish(ev)
	m, err := b.message(ev)
	if err != nil {
		return err
	}
	if b.deferIfWaiting(m) {
		return ErrDeferred
	}
	return b.send(ctx, ev, m, time.Now())
}

// message builds the stream message of ev, numbered in publication order.
func (b *Bus) message(ev live.Event) (deferredMsg, error) {
	meta, err := json.Marshal(eventMeta{Layer: ev.Layer, Key: ev.Key, Marking: ev.Marking,
		Where:    [4]float64{ev.Where.MinLon, ev.Where.MinLat, ev.Where.MaxLon, ev.Where.MaxLat},
		Coalesce: ev.Coalesce, Origin: ev.Origin})
	if err != nil {
		return deferredMsg{}, fmt.Errorf("nats: encoding event: %w", err)
	}
	seq := b.seq.Add(1)
	msg := &natsgo.Msg{Subject: b.subject(ev), Data: ev.Data, Header: natsgo.Header{}}
	msg.Header.Set(hdrNode, b.opts.NodeID)
	msg.Header.Set(hdrEvent, string(meta))
	msg.Header.Set(hdrTime, strconv.FormatInt(time.Now().UnixNano(), 10))
	return deferredMsg{msg: msg, id: b.opts.NodeID + "." + b.boot + "." + strconv.FormatUint(seq, 36), seq: seq}, nil
}

// deferIfWaiting defers m when events already wait for the stream: it was
// unavailable for a whole timeout, so new events join them at once.
func (b *Bus) deferIfWaiting(m deferredMsg) bool {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	if len(b.deferred) == 0 {
		return false
	}
	b.deferLocked(m)
	return true
}

// send publishes m and waits for the stream's acknowledgement, retrying
// through leader elections until PublishTimeout (counted from start) or ctx
// ends; then it defers m.
func (b *Bus) send(ctx context.Context, ev live.Event, m deferredMsg, start time.Time) error {
	ctx, cancel := context.WithDeadline(ctx, start.Add(b.opts.PublishTimeout))
	defer cancel()
	wait := 50 * time.Millisecond
	var err error
	for attempt := 0; ; attempt++ {
		// Each attempt gets a short deadline of its own: an attempt sent to a
		// server that just died would otherwise use up the whole timeout.
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = b.pub.PublishMsg(actx, m.msg, jetstream.WithMsgID(m.id), jetstream.WithExpectStream(b.opts.Stream))
		acancel()
		if err == nil {
			b.published(m.msg.Subject, m.seq)
			b.m.published.Inc()
			b.m.publishDur.Observe(time.Since(start).Seconds())
			if attempt > 0 {
				b.log.Info("event published after retries", "key", ev.Key, "attempts", attempt+1, "took", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, natsgo.ErrConnectionClosed) {
			break
		}
		b.m.retries.Inc()
		if attempt == 0 {
			b.log.Warn("cluster stream did not acknowledge; retrying", "key", ev.Key, "err", err)
		}
		// The same Msg-Id on every attempt: if an earlier one was stored after
		// all, the stream drops this one as a duplicate.
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
	b.m.failed.Inc()
	if errors.Is(err, natsgo.ErrConnectionClosed) {
		b.log.Error("event not delivered to the cluster: the connection is closed; other nodes see the key at its next change",
			"layer", ev.Layer, "key", ev.Key)
		return fmt.Errorf("nats: publishing %s %s: %w", ev.Layer, ev.Key, err)
	}
	b.log.Error("the cluster stream did not take an event: deferred, and sent again until it does (new events wait with it)",
		"layer", ev.Layer, "key", ev.Key, "took", time.Since(start).Round(time.Millisecond), "err", err)
	b.dmu.Lock()
	b.deferLocked(m)
	b.dmu.Unlock()
	return fmt.Errorf("nats: publishing %s %s: %w: %w", ev.Layer, ev.Key, ErrDeferred, err)
}

// asyncPublisher is JetStream's pipelined publishing.
type asyncPublisher interface {
	PublishMsgAsync(msg *natsgo.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// batchWindow bounds the publishes in flight in PublishBatch (below the
// client's own limit of 4,000 outstanding).
const batchWindow = 1000

// PublishBatch implements ingest.BatchPublisher: PublishWait for every event,
// but with the publishes pipelined and their acknowledgements awaited
// together, so a batch of a thousand positions costs about one round trip to
// the replicas, not a thousand. Events of one key keep their order: they
// leave in order on one connection and the stream stores them so; one that
// needs a retry is published again after its successors, which is harmless
// for positions (the pictures keep the newest) and is why only the pipeline's
// positions come this way.
func (b *Bus) PublishBatch(evs []live.Event) {
	ap, ok := b.pub.(asyncPublisher)
	if !ok {
		for _, ev := range evs {
			_ = b.PublishWait(context.Background(), ev)
		}
		return
	}
	for _, ev := range evs {
		b.opts.Hub.Publish(ev)
	}
	start := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(b.opts.PublishTimeout))
	defer cancel()
	type sent struct {
		ev live.Event
		m  deferredMsg
		f  jetstream.PubAckFuture // nil: deferred, or to be sent one by one
	}
	for lo := 0; lo < len(evs); lo += batchWindow {
		var batch []sent
		for _, ev := range evs[lo:min(lo+batchWindow, len(evs))] {
			m, err := b.message(ev)
			if err != nil {
				b.log.Error("encoding an event for the cluster", "key", ev.Key, "err", err)
				continue
			}
			s := sent{ev: ev, m: m}
			if !b.deferIfWaiting(m) {
				if f, err := ap.PublishMsgAsync(m.msg, jetstream.WithMsgID(m.id), jetstream.WithExpectStream(b.opts.Stream)); err == nil {
					s.f = f
				}
			}
			batch = append(batch, s)
		}
		for _, s := range batch {
			if s.f != nil {
				select {
				case <-s.f.Ok():
					b.published(s.m.msg.Subject, s.m.seq)
					b.m.published.Inc()
					b.m.publishDur.Observe(time.Since(start).Seconds())
					continue
				case <-s.f.Err():
				case <-ctx.Done():
				}
			} else if b.isDeferred(s.m) {
				continue
			}
			// One by one now, retrying and then deferring as PublishWait
			// does (past the timeout: deferred at once). The same Msg-Id:
			// if the pipelined publish lands after all, the stream drops
			// the copy.
			_ = b.send(context.Background(), s.ev, s.m, start)
		}
	}
}

// isDeferred reports whether m itself waits in the deferred set.
func (b *Bus) isDeferred(m deferredMsg) bool {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	d, ok := b.deferred[m.msg.Subject]
	return ok && d.seq >= m.seq
}

// positionMsg is the part of a position event the picture needs.
type positionMsg struct {
	Type string              `json:"type"`
	Data bluehelm.TrackState `json:"data"`
}

// apply handles one stream message on the consuming goroutine: an ordered
// consumer delivers one at a time, in stream order.
func (b *Bus) apply(msg jetstream.Msg) {
	if md, err := msg.Metadata(); err == nil {
		b.m.pending.Set(float64(md.NumPending))
		if md.Sequence.Stream <= b.lastSeq.Load() {
			return // seen already (a restarted consumer may repeat one)
		}
		b.lastSeq.Store(md.Sequence.Stream)
	}
	b.lastMsg.Store(time.Now().UnixNano())
	h := msg.Headers()
	if h.Get(hdrNode) == b.opts.NodeID {
		return // this node's own event: its hub had it at publish
	}
	if ns, err := strconv.ParseInt(h.Get(hdrTime), 10, 64); err == nil {
		b.m.lag.Observe(max(0, time.Since(time.Unix(0, ns)).Seconds()))
	}
	var meta eventMeta
	if err := json.Unmarshal([]byte(h.Get(hdrEvent)), &meta); err != nil || meta.Layer == "" {
		b.m.bad.Inc()
		b.log.Error("skipping an undecodable stream message", "subject", msg.Subject(), "from", h.Get(hdrNode), "err", err)
		return
	}
	ev := live.Event{Layer: meta.Layer, Key: meta.Key, Marking: meta.Marking, Coalesce: meta.Coalesce, Origin: meta.Origin,
		Where: bluehelm.BBox{MinLon: meta.Where[0], MinLat: meta.Where[1], MaxLon: meta.Where[2], MaxLat: meta.Where[3]},
		Data:  msg.Data()}
	if ev.Layer == live.LayerTracks {
		var pm positionMsg
		if err := json.Unmarshal(ev.Data, &pm); err != nil || pm.Data.UID == "" {
			b.m.bad.Inc()
			b.log.Error("skipping an undecodable position", "key", ev.Key, "from", h.Get(hdrNode), "err", err)
			return
		}
		if pm.Type == "position" {
			st := pm.Data
			prev, had, applied := b.opts.Picture.Apply(st.Track, st.Position)
			if !applied {
				b.m.stale.Inc()
				return
			}
			if had {
				// This node's previous position of the track may differ from the
				// origin's: span both moves, so a subscriber whose view the track
				// left here learns it too.
				m := live.MoveExtent(prev.Position.Point(), st.Position.Point())
				ev.Where = bluehelm.BBox{MinLon: min(m.MinLon, ev.Where.MinLon), MinLat: min(m.MinLat, ev.Where.MinLat),
					MaxLon: max(m.MaxLon, ev.Where.MaxLon), MaxLat: max(m.MaxLat, ev.Where.MaxLat)}
			}
		}
	}
	b.opts.Hub.Publish(ev)
	b.m.applied.WithLabelValues(ev.Layer).Inc()
	if b.opts.OnRemote != nil {
		b.opts.OnRemote(ev)
	}
}
