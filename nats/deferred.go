package nats

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// When the cluster stream is unavailable for longer than the publish timeout
// (no quorum: two of three nodes down, or this node cut off), an event given
// up on would be stored but missing from the other nodes' pictures until its
// key changed again: an alert raised here never shown at the JOC on another
// node. And every further event would block its caller for the whole timeout.
//
// So an event the stream did not take is deferred: kept, per subject (every
// event is the whole state of its key, so only the latest of a key is kept),
// and sent again in the background until the stream takes it. While events
// are deferred, new ones join them at once instead of waiting: the pipeline
// keeps its pace on a broken cluster and the other nodes catch up when it
// heals. A newer event of a key published directly drops the older deferred
// one, so a late retry never turns the other nodes' copy back.
//
// What is deferred lives in memory only: the write is in the store, and a node
// restarted meanwhile loses the deferral (the other nodes then see the key at
// its next change, or on a reload).

// ErrDeferred is returned by PublishWait for an event the stream has not
// taken yet: it is kept and sent again until the stream takes it.
var ErrDeferred = errors.New("nats: the cluster stream is unavailable; the event is deferred")

// maxDeferred bounds the deferred keys; past it the oldest are dropped (and
// counted): more keys than a mission has tracks and records in flight.
const maxDeferred = 200_000

// streamPublisher is what the Bus needs of JetStream to publish.
type streamPublisher interface {
	PublishMsg(ctx context.Context, msg *natsgo.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

type deferredMsg struct {
	msg *natsgo.Msg
	id  string // Msg-Id
	seq uint64 // order of publication on this node
}

// deferLocked keeps m unless a newer event of its subject is kept already.
// The caller holds b.dmu.
func (b *Bus) deferLocked(m deferredMsg) {
	if old, ok := b.deferred[m.msg.Subject]; ok && old.seq > m.seq {
		return
	}
	b.deferred[m.msg.Subject] = m
	for len(b.deferred) > maxDeferred {
		oldest := ""
		var min uint64
		for s, d := range b.deferred {
			if oldest == "" || d.seq < min {
				oldest, min = s, d.seq
			}
		}
		delete(b.deferred, oldest)
		b.m.dropped.Inc()
	}
	b.m.deferred.Set(float64(len(b.deferred)))
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// published records that the stream took the event of subject with seq.
func (b *Bus) published(subject string, seq uint64) {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	if d, ok := b.deferred[subject]; ok && d.seq <= seq {
		delete(b.deferred, subject)
		b.m.deferred.Set(float64(len(b.deferred)))
	}
}

// redeliver sends the deferred events again, oldest first, until the stream
// takes them all or the bus closes. It runs for the life of the bus.
func (b *Bus) redeliver(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			b.dmu.Lock()
			if n := len(b.deferred); n > 0 {
				b.log.Error("bus closed with events the cluster stream never took; other nodes see those keys at their next change", "events", n)
			}
			b.dmu.Unlock()
			return
		case <-b.kick:
		case <-t.C:
		}
		b.dmu.Lock()
		batch := make([]deferredMsg, 0, len(b.deferred))
		for _, d := range b.deferred {
			batch = append(batch, d)
		}
		b.dmu.Unlock()
		if len(batch) == 0 {
			continue
		}
		slices.SortFunc(batch, func(x, y deferredMsg) int { return cmp.Compare(x.seq, y.seq) })
		sent := 0
		for _, d := range batch {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := b.pub.PublishMsg(ctx, d.msg, jetstream.WithMsgID(d.id), jetstream.WithExpectStream(b.opts.Stream))
			cancel()
			if err != nil {
				break // still down: the next round tries again
			}
			b.published(d.msg.Subject, d.seq)
			b.m.published.Inc()
			sent++
		}
		b.dmu.Lock()
		left := len(b.deferred)
		b.dmu.Unlock()
		if sent > 0 && left == 0 {
			b.log.Info("cluster stream back: deferred events delivered", "events", sent)
		}
	}
}
