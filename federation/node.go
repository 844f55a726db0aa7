package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Origin is the source of every change a federation link applies: positions
// carry it as their source, live events as their Origin, and the tap never
// sends such changes back over a link.
const Origin = "federation"

// Pipeline is what a node needs of the receiving side's ingest pipeline.
type Pipeline interface {
	Positions(ctx context.Context, by bluehelm.Principal, reports []ingest.Report) error
	RaiseRuleAlert(ctx context.Context, rule string, a *bluehelm.Alert)
	ResolveConflictAlerts(ctx context.Context, incidentID int64, resolution string)
}

// IncidentStore is what a node needs of the store to merge incidents.
type IncidentStore interface {
	CreateIncident(ctx context.Context, inc *bluehelm.Incident, a bluehelm.AuditEntry) error
	UpdateIncident(ctx context.Context, inc *bluehelm.Incident, action string, a bluehelm.AuditEntry) error
	Incident(ctx context.Context, id int64) (*bluehelm.Incident, error)
	IncidentByExternalID(ctx context.Context, externalID string) (*bluehelm.Incident, error)
}

// Options configure a Node.
type Options struct {
	Config *Config
	Server *Server
	Logger *slog.Logger
	// Registerer receives the federation metrics; nil: not registered.
	Registerer prometheus.Registerer
	Now        func() time.Time
	// Heartbeat is how often the node tells its peers it is there and what its
	// clock says; zero: 1 s. A peer is down after three missed heartbeats.
	Heartbeat time.Duration
	// MaxSkew is the clock difference with a peer that is reported; zero: 30 s.
	MaxSkew time.Duration
	// Flush is how long positions wait to be batched while the link is up;
	// zero: 1 s. MaxBatch bounds a batch; zero: 2000.
	Flush    time.Duration
	MaxBatch int
	// Retention is how long changes wait for a peer that does not come back;
	// zero: 7 days.
	Retention time.Duration
	// Checkpoint is how often the point up to which every change is known
	// to have reached the links moves on (see catchup.go); zero: 30 s.
	Checkpoint time.Duration
	// QueueMaxBytes bounds the positions waiting for links that are down;
	// past it the oldest are dropped. Zero: 1 GiB (some 2.5 million
	// positions: seven hours of 100 updates/s).
	QueueMaxBytes int64
}

// Node is one bluehelm node's end of its federation links.
type Node struct {
	o     Options
	self  string
	log   *slog.Logger
	m     *metrics
	codec *codec
	nc    *nats.Conn
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	now   func() time.Time

	ctx    context.Context // the links' work: ends with Run's context or Close
	cancel context.CancelFunc
	// pub is the tap's: it ends only with Close, so that changes the
	// pipeline still makes while the node shuts down are stored for the peers.
	pub       context.Context
	pubCancel context.CancelFunc
	wg        sync.WaitGroup

	// persistTrouble counts failed attempts to store a change for the
	// peers; while it moves, the checkpoint waits (catchup.go).
	persistTrouble atomic.Int64
	queueFull      bool // watchQueue's, on the checkpoints goroutine

	mu    sync.Mutex
	peers map[string]*peerState
	out   ingest.Publisher // where applied inbound changes go (not through the tap)
}

type peerState struct {
	link     Link
	lastSeen time.Time
	skew     time.Duration
	skewBad  bool
	up       bool
}

// Subjects and streams. Every subject starts with the name of the node that
// publishes it, so that nodes joined by leaf links never capture each other's
// messages.
func queueSubject(self string) string { return "fed." + self + ".q" }
func outSubject(self, peer, kind string) string {
	return "fed." + self + ".out." + peer + "." + kind
}
func hbSubject(node string) string   { return "fed." + node + ".hb" }
func batcherName(peer string) string { return "batch_" + peer }
func outStream(peer string) string   { return "FEDOUT_" + peer }
func outConsumer(peer string) string { return "to_" + peer }
func fedExternalID(origin string, id int64) string {
	return "fed:" + origin + ":" + strconv.FormatInt(id, 10)
}

const (
	syncBucket  = "FED_SYNC"
	queueStream = "FEDQ"
)

// New connects to the node's server and creates its streams: a queue of
// positions waiting to be batched, and for each link the outbound stream the peer
// pulls from across the leaf link (with the consumer the peer uses, so that
// changes are kept for it from the first one, even before it ever connects).
func New(ctx context.Context, o Options) (*Node, error) {
	if o.Config == nil || o.Server == nil {
		return nil, errors.New("federation: a configuration and a server are required")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 30 * time.Second
	}
	if o.Flush <= 0 {
		o.Flush = time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 2000
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Checkpoint <= 0 {
		o.Checkpoint = 30 * time.Second
	}
	if o.QueueMaxBytes <= 0 {
		o.QueueMaxBytes = 1 << 30
	}
	nc, err := o.Server.Connect("bluehelm-federation")
	if err != nil {
		return nil, fmt.Errorf("federation: connecting to the embedded server: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	n := &Node{o: o, self: o.Config.Node, log: o.Logger.With("node", o.Config.Node), m: newMetrics(o.Registerer),
		codec: newCodec(), nc: nc, js: js, now: o.Now, peers: map[string]*peerState{}}
	if err := n.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.pub, n.pubCancel = context.WithCancel(context.Background())
	return n, nil
}

func (n *Node) setup(ctx context.Context) error {
	kv, err := n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: syncBucket, Storage: jetstream.FileStorage, History: 1})
	if err != nil {
		return fmt.Errorf("federation: sync state bucket: %w", err)
	}
	n.kv = kv
	// One queue of positions for all links, each link's batcher reading it
	// with its own consumer: the pipeline stores a position once however
	// many links carry it, and a position is gone once every link took it.
	//
	// The queue is bounded, oldest dropped first: it holds positions only
	// (superseded by each track's next report), and a link down for days
	// must not fill the disk and then block this node's pipeline, which
	// waits for every change to be stored for the links.
	if _, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: queueStream, Subjects: []string{queueSubject(n.self)},
		Retention: jetstream.InterestPolicy, Storage: jetstream.FileStorage, MaxAge: n.o.Retention,
		MaxBytes: n.o.QueueMaxBytes, Discard: jetstream.DiscardOld,
	}); err != nil {
		return fmt.Errorf("federation: position queue: %w", err)
	}
	// A link taken out of the file must not hold the queue forever.
	q, err := n.js.Stream(ctx, queueStream)
	if err != nil {
		return err
	}
	names := q.ConsumerNames(ctx)
	for name := range names.Name() {
		if _, ok := n.o.Config.Link(strings.TrimPrefix(name, "batch_")); !ok {
			if err := q.DeleteConsumer(ctx, name); err != nil {
				return fmt.Errorf("federation: removing the queue consumer of an old link: %w", err)
			}
		}
	}
	if err := names.Err(); err != nil {
		return err
	}
	for _, l := range n.o.Config.Links {
		n.peers[l.Peer] = &peerState{link: l}
		if _, err := n.js.CreateOrUpdateConsumer(ctx, queueStream, jetstream.ConsumerConfig{
			Durable: batcherName(l.Peer), AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, MaxAckPending: -1,
		}); err != nil {
			return fmt.Errorf("federation: queue consumer for %s: %w", l.Peer, err)
		}
		if _, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: outStream(l.Peer), Subjects: []string{outSubject(n.self, l.Peer, ">")},
			Storage: jetstream.FileStorage, MaxAge: n.o.Retention, Duplicates: 10 * time.Minute,
		}); err != nil {
			return fmt.Errorf("federation: outbound stream for %s: %w", l.Peer, err)
		}
		// The peer acknowledges each message once it has applied it; what it
		// has not acknowledged is delivered again, so nothing acknowledged is
		// lost and a redelivery is absorbed by the idempotent apply. A short
		// AckWait brings back soon what was in flight when the link was cut
		// (the receiver marks long applies in progress).
		if _, err := n.js.CreateOrUpdateConsumer(ctx, outStream(l.Peer), jetstream.ConsumerConfig{
			Durable: outConsumer(l.Peer), AckPolicy: jetstream.AckExplicitPolicy, AckWait: 5 * time.Second,
			MaxAckPending: 256, MaxRequestBatch: 256,
		}); err != nil {
			return fmt.Errorf("federation: outbound consumer for %s: %w", l.Peer, err)
		}
	}
	return nil
}

// Tap returns the Publisher to give the pipeline (ingest.Options.Out): it
// hands every change to next (the hub or the bus) and stores what each link
// may carry for its peer before returning, so nothing the pipeline published
// is lost by a crash or a cut. Changes applied from a link go to next only.
func (n *Node) Tap(next ingest.Publisher) ingest.Publisher {
	n.mu.Lock()
	n.out = next
	n.mu.Unlock()
	return tap{n: n, next: next}
}

type tap struct {
	n    *Node
	next ingest.Publisher
}

// wire is the envelope of the pipeline's live events.
type wire struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (t tap) Publish(ev live.Event) {
	t.next.Publish(ev)
	t.n.Forward(ev)
}

// PublishBatch implements ingest.BatchPublisher: the batch goes to next at
// once (as a batch if next takes batches), then to the links.
func (t tap) PublishBatch(evs []live.Event) {
	if bp, ok := t.next.(ingest.BatchPublisher); ok {
		bp.PublishBatch(evs)
	} else {
		for _, ev := range evs {
			t.next.Publish(ev)
		}
	}
	for _, ev := range evs {
		t.n.Forward(ev)
	}
}

// Forward stores for the links a change this node did not make through its
// tap: in a cluster, the other nodes' changes, which reach this node on the
// cluster bus (nats.Options.OnRemote). Without it, what a user edits on
// another HQ node would never reach the camps. Like the tap, it returns once
// the change is stored, and changes applied from a link are not sent on.
func (n *Node) Forward(ev live.Event) {
	if ev.Origin == Origin {
		return
	}
	switch ev.Layer {
	case live.LayerTracks:
		n.sendPosition(ev)
	case live.LayerIncidents:
		n.sendIncident(ev)
	}
	// Nothing else crosses a link: alerts, areas, operations, and above all
	// community alerts and anything about their senders stay on the node.
}

func (n *Node) sendPosition(ev live.Event) {
	var w wire
	if json.Unmarshal(ev.Data, &w) != nil || w.Type != "position" {
		return
	}
	n.queuePosition(ev.Marking, w.Data)
}

// queuePosition stores a position (TrackState JSON) in the queue the links'
// batchers read, once for all the links that carry it, and reports whether
// any does.
func (n *Node) queuePosition(mk bluehelm.Marking, data []byte) bool {
	carried := false
	for _, l := range n.o.Config.Links {
		if !l.CarriesPositions() || !l.Carries(mk) {
			n.m.filtered.WithLabelValues(l.Peer, "position").Inc()
			continue
		}
		carried = true
		n.m.sent.WithLabelValues(l.Peer, "position").Inc()
	}
	if carried {
		n.persist(queueSubject(n.self), data, "")
	}
	return carried
}

func (n *Node) sendIncident(ev live.Event) {
	var w wire
	if json.Unmarshal(ev.Data, &w) != nil || w.Type != "incident" {
		return
	}
	var inc bluehelm.Incident
	if json.Unmarshal(w.Data, &inc) != nil {
		return
	}
	n.sendIncidentRecord(&inc)
}

// sendIncidentRecord stores an incident's current version for every link
// that carries it, and a withdrawal for those that carried it before.
func (n *Node) sendIncidentRecord(inc *bluehelm.Incident) {
	origin, oid := n.identity(inc)
	for _, l := range n.o.Config.Links {
		id := fmt.Sprintf("%s:i:%s:%d:%d", n.self, origin, oid, inc.Version)
		if !l.CarriesIncident(inc) {
			n.m.filtered.WithLabelValues(l.Peer, "incident").Inc()
			// A record the peer holds and that is now marked beyond the link
			// is withdrawn there (unless the peer filed it: it is theirs).
			if !l.Carries(inc.Marking) && origin != l.Peer && n.wasSent(l.Peer, origin, oid) {
				st, _ := n.syncState(n.pub, l.Peer, origin, oid)
				msg := &incidentMsg{Origin: origin, OriginID: oid, From: n.self, Version: inc.Version, Base: st.PV, Withdraw: true}
				n.persist(outSubject(n.self, l.Peer, "i"), n.codec.encodeIncident(msg), id)
				n.m.sent.WithLabelValues(l.Peer, "withdraw").Inc()
			}
			continue
		}
		st, _ := n.syncState(n.pub, l.Peer, origin, oid)
		msg := &incidentMsg{Origin: origin, OriginID: oid, From: n.self, Version: inc.Version, Base: st.PV, Incident: scrub(inc)}
		n.persist(outSubject(n.self, l.Peer, "i"), n.codec.encodeIncident(msg), id)
		n.markSent(l.Peer, origin, oid)
		n.m.sent.WithLabelValues(l.Peer, "incident").Inc()
	}
}

// wasSent and markSent remember which incidents went to a peer, so that a
// later reclassification beyond the link can be withdrawn there. They use
// keys of their own: the inbound side writes the merge state concurrently.
func (n *Node) wasSent(peer, origin string, oid int64) bool {
	_, err := n.kv.Get(n.pub, "sent."+syncKey(peer, origin, oid))
	return err == nil
}

func (n *Node) markSent(peer, origin string, oid int64) {
	if n.wasSent(peer, origin, oid) {
		return
	}
	if _, err := n.kv.Put(n.pub, "sent."+syncKey(peer, origin, oid), []byte{1}); err != nil {
		n.log.Error("federation: remembering an incident sent to a peer", "peer", peer, "err", err)
	}
}

// identity returns the node that filed inc and its id there.
func (n *Node) identity(inc *bluehelm.Incident) (string, int64) {
	if o, id, ok := parseFedID(inc.ExternalID); ok {
		return o, id
	}
	return n.self, inc.ID
}

func parseFedID(ext string) (string, int64, bool) {
	var origin string
	var id int64
	if len(ext) < 5 || ext[:4] != "fed:" {
		return "", 0, false
	}
	rest := ext[4:]
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == ':' {
			origin = rest[:i]
			v, err := strconv.ParseInt(rest[i+1:], 10, 64)
			if err != nil || !ValidName(origin) || v <= 0 {
				return "", 0, false
			}
			id = v
			return origin, id, true
		}
	}
	return "", 0, false
}

// scrub returns the copy of inc that crosses a link: without the local
// references to community alerts (they name records that stay on this node,
// and the alert network's senders must never be traceable from another).
func scrub(inc *bluehelm.Incident) *bluehelm.Incident {
	c := *inc
	c.Links = nil
	for _, l := range inc.Links {
		if l.Kind != "community_alert" {
			c.Links = append(c.Links, l)
		}
	}
	c.Sources = nil
	for _, s := range inc.Sources {
		if len(s.Reference) >= 16 && s.Reference[:16] == "community_alert/" {
			s.Reference = ""
		}
		c.Sources = append(c.Sources, s)
	}
	c.ExternalID = ""
	return &c
}

// persist stores a message in a local stream, retrying until it is stored:
// the Publisher contract forbids dropping, so a stuck store blocks the caller
// (the pipeline) rather than lose a change. It gives up only when the node
// closes.
func (n *Node) persist(subject string, data []byte, msgID string) {
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(n.pub, 10*time.Second)
		_, err := n.js.Publish(ctx, subject, data, opts...)
		cancel()
		if err == nil {
			return
		}
		if n.pub.Err() != nil {
			n.log.Error("federation closed before a change was stored for its peer", "subject", subject)
			return
		}
		n.persistTrouble.Add(1)
		if attempt%10 == 0 {
			n.log.Error("storing a change for a federation peer; retrying", "subject", subject, "err", err)
		}
		select {
		case <-n.pub.Done():
		case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second)):
		}
	}
}

// Local is the receiving side of this node.
type Local struct {
	Pipeline Pipeline
	Store    IncidentStore
	// Changes is the store's audit log and position history, read at start
	// to send again what a stop may have kept from the links (catchup.go).
	Changes ChangeLog
	// Track returns this node's current state of a track (live.Picture.Get),
	// so that a peer's report never lowers the marking of a track known here.
	Track func(uid string) (bluehelm.TrackState, bool)
}

// Run starts the links' work until ctx ends or Close: heartbeats, batching
// positions for each peer, and pulling and applying what each peer has for
// this node into local.
func (n *Node) Run(ctx context.Context, local Local) error {
	if local.Pipeline == nil || local.Store == nil || local.Changes == nil || local.Track == nil {
		return errors.New("federation: Run needs the pipeline, the store, its change log and the live picture")
	}
	n.mu.Lock()
	if n.out == nil {
		n.mu.Unlock()
		return errors.New("federation: Tap must be called before Run")
	}
	n.mu.Unlock()
	stop := context.AfterFunc(ctx, n.cancel)
	defer stop()
	// Before the links start: what the last stop kept from them goes first.
	cp, err := n.catchUp(n.ctx, local)
	if err != nil {
		n.cancel()
		return err
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.checkpoints(local, cp) }()
	for _, l := range n.o.Config.Links {
		sub, err := n.nc.Subscribe(hbSubject(l.Peer), n.heartbeat(l.Peer))
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
		in := &inbound{n: n, link: l, p: local.Pipeline, store: local.Store, track: local.Track}
		n.wg.Add(2)
		go func() { defer n.wg.Done(); n.batch(l) }()
		go func() { defer n.wg.Done(); in.run() }()
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.beat() }()
	<-n.ctx.Done()
	n.wg.Wait()
	return nil
}

// Close stops the node's work and its connection (not the server). Call it
// once the pipeline makes no more changes.
func (n *Node) Close() {
	n.cancel()
	n.wg.Wait()
	n.pubCancel()
	n.nc.Close()
}

type heartbeatMsg struct {
	Node string `json:"n"`
	Time int64  `json:"t"` // the sender's clock, Unix milliseconds
}

// beat publishes heartbeats on core NATS: they are not stored, so one that
// arrives is fresh, and the clock it carries can be compared with ours (to
// within the link's one-way delay).
func (n *Node) beat() {
	t := time.NewTicker(n.o.Heartbeat)
	defer t.Stop()
	for {
		b, _ := json.Marshal(heartbeatMsg{Node: n.self, Time: n.now().UnixMilli()})
		_ = n.nc.Publish(hbSubject(n.self), b)
		n.checkPeers()
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) heartbeat(peer string) nats.MsgHandler {
	return func(m *nats.Msg) {
		var hb heartbeatMsg
		if json.Unmarshal(m.Data, &hb) != nil || hb.Node != peer {
			return
		}
		now := n.now()
		skew := time.UnixMilli(hb.Time).Sub(now)
		n.mu.Lock()
		ps := n.peers[peer]
		ps.lastSeen, ps.skew = time.Now(), skew
		wasUp, wasBad := ps.up, ps.skewBad
		ps.up = true
		bad := skew > n.o.MaxSkew || skew < -n.o.MaxSkew
		ps.skewBad = bad
		n.mu.Unlock()
		n.m.skew.WithLabelValues(peer).Set(skew.Seconds())
		if !wasUp {
			n.m.up.WithLabelValues(peer).Set(1)
			n.log.Info("federation link up", "peer", peer)
		}
		if bad && !wasBad {
			n.m.skewBad.WithLabelValues(peer).Inc()
			// Nothing on the link is ordered by the peer's clock (incidents
			// merge by versions, times are stamped here), so a wrong clock
			// cannot win a conflict; its reports' times are still suspect.
			n.log.Warn("federation peer's clock is off", "peer", peer, "skew", skew.Round(time.Second).String(),
				"limit", n.o.MaxSkew.String())
		} else if !bad && wasBad {
			n.log.Info("federation peer's clock is back in step", "peer", peer, "skew", skew.Round(time.Millisecond).String())
		}
	}
}

// checkPeers marks peers down after three missed heartbeats.
func (n *Node) checkPeers() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for peer, ps := range n.peers {
		if ps.up && time.Since(ps.lastSeen) > 3*n.o.Heartbeat {
			ps.up = false
			n.m.up.WithLabelValues(peer).Set(0)
			n.log.Warn("federation link down; changes are kept until it is back", "peer", peer)
		}
	}
}

// LinkUp reports whether the peer's heartbeats arrive.
func (n *Node) LinkUp(peer string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	ps := n.peers[peer]
	return ps != nil && ps.up && time.Since(ps.lastSeen) <= 3*n.o.Heartbeat
}

// Skew returns the peer's clock minus ours from its last heartbeat, and
// whether it is beyond the limit.
func (n *Node) Skew(peer string) (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ps := n.peers[peer]
	if ps == nil {
		return 0, false
	}
	return ps.skew, ps.skewBad
}

// batch moves the positions queued for peer into compact batches on the
// outbound stream. While the link is down it leaves them in the queue, so
// that the backlog leaves in full batches (one dictionary of tracks for up to
// MaxBatch reports) when the link is back.
func (n *Node) batch(link Link) {
	peer := link.Peer
	var cons jetstream.Consumer
	for n.ctx.Err() == nil {
		if cons == nil {
			c, err := n.js.Consumer(n.ctx, queueStream, batcherName(peer))
			if err != nil {
				n.sleep(time.Second)
				continue
			}
			cons = c
		}
		if !n.LinkUp(peer) {
			n.sleep(200 * time.Millisecond)
			continue
		}
		msgs, err := cons.Fetch(n.o.MaxBatch, jetstream.FetchMaxWait(n.o.Flush))
		if err != nil {
			n.sleep(time.Second)
			continue
		}
		var (
			states      []bluehelm.TrackState
			first, last uint64
			got         []jetstream.Msg
		)
		for m := range msgs.Messages() {
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if first == 0 {
				first = md.Sequence.Stream
			}
			last = md.Sequence.Stream
			got = append(got, m)
			var st bluehelm.TrackState
			if json.Unmarshal(m.Data(), &st) != nil {
				n.log.Error("federation: dropping an unreadable queued position", "peer", peer, "seq", last)
				continue
			}
			if !link.CarriesPositions() || !link.Carries(st.Track.Marking) {
				continue // queued for another link
			}
			states = append(states, st)
		}
		if len(got) == 0 {
			continue
		}
		if len(states) > 0 {
			// The id names the queue range, so a batch made again after a
			// crash before the acknowledgement is dropped as a duplicate.
			id := fmt.Sprintf("%s:p:%d-%d", n.self, first, last)
			n.persist(outSubject(n.self, peer, "p"), n.codec.encodePositions(states), id)
		}
		for _, m := range got {
			if err := m.Ack(); err != nil && n.ctx.Err() == nil {
				n.log.Warn("federation: acknowledging a queued position", "peer", peer, "err", err)
				break
			}
		}
	}
}

func (n *Node) sleep(d time.Duration) {
	select {
	case <-n.ctx.Done():
	case <-time.After(d):
	}
}

// syncState is what this node knows of an incident's exchange with a peer:
// PV, the peer's version it merged last, and LV, its own version right after
// that merge. It lives in a JetStream key-value bucket beside the streams.
type syncState struct {
	PV int `json:"pv"`
	LV int `json:"lv"`
}

func syncKey(peer, origin string, oid int64) string {
	return peer + "." + origin + "." + strconv.FormatInt(oid, 10)
}

func (n *Node) syncState(ctx context.Context, peer, origin string, oid int64) (syncState, error) {
	var s syncState
	e, err := n.kv.Get(ctx, syncKey(peer, origin, oid))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(e.Value(), &s)
	return s, err
}

func (n *Node) putSyncState(ctx context.Context, peer, origin string, oid int64, s syncState) error {
	b, _ := json.Marshal(s)
	_, err := n.kv.Put(ctx, syncKey(peer, origin, oid), b)
	return err
}
