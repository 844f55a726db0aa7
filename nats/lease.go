package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Lease elects one node of a cluster for the work only one node should do: the
// clock-driven checks that raise alerts (silent patrols, late returns, escalations)
// would otherwise raise each alert once per node. The holder writes its node id
// under the lease's key in a JetStream key-value bucket whose entries expire after
// TTL, and renews it every TTL/3; when the holder dies its entry expires and
// another node takes the lease. A holder that cannot renew (cut off from the
// cluster) gives the lease up at once, so two holders overlap at most for the
// time a renewal takes to fail — a duplicated alert, not a lost one.
type Lease struct {
	kv     jetstream.KeyValue
	key    string
	nodeID string
	ttl    time.Duration
	log    *slog.Logger
	held   atomic.Bool
	rev    uint64
}

// LeaseOptions configure a Lease.
type LeaseOptions struct {
	Conn     *natsgo.Conn
	NodeID   string
	Name     string        // what is leased, e.g. "monitor"; one key per name
	TTL      time.Duration // zero: 10 s
	Replicas int           // of the bucket; as the Bus's stream
	Logger   *slog.Logger
}

// NewLease makes the bucket if needed; call Run to take part in the election.
func NewLease(ctx context.Context, o LeaseOptions) (*Lease, error) {
	if o.Conn == nil || o.NodeID == "" || o.Name == "" {
		return nil, errors.New("nats: Lease needs Conn, NodeID and Name")
	}
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	js, err := jetstream.New(o.Conn)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: "bluehelm_leases", Description: "which node does the work only one node may do",
		TTL: o.TTL, Replicas: o.Replicas, Storage: jetstream.FileStorage, History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: lease bucket: %w", err)
	}
	return &Lease{kv: kv, key: o.Name, nodeID: o.NodeID, ttl: o.TTL,
		log: o.Logger.With("component", "lease", "lease", o.Name, "node", o.NodeID)}, nil
}

// Held reports whether this node holds the lease now. Work guarded by it asks
// right before acting.
func (l *Lease) Held() bool { return l.held.Load() }

// Run takes part in the election until ctx ends, then releases the lease if held
// (so another node takes over without waiting for the TTL).
func (l *Lease) Run(ctx context.Context) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		l.step(ctx)
		select {
		case <-ctx.Done():
			if l.held.Swap(false) {
				dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = l.kv.Delete(dctx, l.key, jetstream.LastRevision(l.rev))
				cancel()
				l.log.Info("lease released")
			}
			return
		case <-t.C:
		}
	}
}

func (l *Lease) step(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, l.ttl/3)
	defer cancel()
	if l.held.Load() {
		rev, err := l.kv.Update(actx, l.key, []byte(l.nodeID), l.rev)
		if err != nil {
			l.held.Store(false)
			l.log.Warn("lease lost", "err", err)
			return
		}
		l.rev = rev
		return
	}
	rev, err := l.kv.Create(actx, l.key, []byte(l.nodeID))
	if err != nil {
		return // another node holds it (or the cluster is unreachable)
	}
	l.rev = rev
	l.held.Store(true)
	l.log.Info("lease taken")
}
