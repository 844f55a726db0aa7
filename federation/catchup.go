package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/nats-io/nats.go/jetstream"
)

// The gap between the store and the link. The pipeline commits a change,
// then publishes it, and the tap stores it for the peers. A node killed
// between the two keeps the change in its store but never sends it: an
// incident HQ would not see until it is next edited, positions missing from
// HQ's history. (A device or user that sent it got no acknowledgement, but
// its retry finds the change stored and is not published again.)
//
// So the node keeps a checkpoint (in its sync bucket): an audit sequence
// number and a time such that every change before them is known to have
// reached the tap. At start, before anything else, it sends again the current
// version of every incident the audit log shows changed after the checkpoint,
// and every position stored since shortly before its time (Positions'
// times are the devices', which may lag). The receiving side merges by
// versions and stores positions once, so what had been sent already
// changes nothing there; the cost is a few minutes of changes sent twice
// after a restart.
//
// The checkpoint moves on every Checkpoint interval to what the audit log and
// the clock said one interval before: a change is published a few
// milliseconds after its commit, well within an interval, unless the tap is
// stuck storing (its stream unavailable), in which case the checkpoint waits.

const checkpointKey = "checkpoint"

// positionLag is how far before the checkpoint's time stored positions are
// sent again: a device's report can be stamped this much before it is stored.
const positionLag = 2 * time.Minute

// maxPositionCatchUp bounds the positions sent again after a long stop of a
// node in a cluster (whose store the other nodes kept filling): the links
// carry the live picture, and an hour of it is plenty to bring a camp's
// picture up to date; older history stays at HQ.
const maxPositionCatchUp = time.Hour

type checkpoint struct {
	Seq int64     `json:"seq"` // audit log: every change up to this one reached the tap
	At  time.Time `json:"at"`  // positions stored before this reached the tap
}

// ChangeLog is what a node reads of its store to send again, after a stop,
// what was committed but may not have reached the link.
type ChangeLog interface {
	AuditLog(ctx context.Context, afterSeq int64, limit int) ([]bluehelm.AuditEntry, error)
	Positions(ctx context.Context, q bluehelm.PositionQuery) ([]bluehelm.Position, error)
}

// auditHead returns the last sequence number of the audit log, reading on
// from after (a sequence number known to exist, or 0).
func auditHead(ctx context.Context, log ChangeLog, after int64, each func(bluehelm.AuditEntry)) (int64, error) {
	for {
		es, err := log.AuditLog(ctx, after, 1000)
		if err != nil {
			return after, err
		}
		for _, e := range es {
			if each != nil {
				each(e)
			}
			after = e.Seq
		}
		if len(es) < 1000 {
			return after, nil
		}
	}
}

func (n *Node) loadCheckpoint(ctx context.Context) (checkpoint, bool, error) {
	e, err := n.kv.Get(ctx, checkpointKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, err
	}
	var cp checkpoint
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		return checkpoint{}, false, fmt.Errorf("federation: checkpoint: %w", err)
	}
	return cp, true, nil
}

func (n *Node) saveCheckpoint(ctx context.Context, cp checkpoint) error {
	b, _ := json.Marshal(cp)
	_, err := n.kv.Put(ctx, checkpointKey, b)
	return err
}

// catchUp sends again what changed after the checkpoint and returns the new
// checkpoint, saved. A node without one (its first start with federation)
// starts from now: what came before was never meant for the links.
func (n *Node) catchUp(ctx context.Context, local Local) (checkpoint, error) {
	cp, ok, err := n.loadCheckpoint(ctx)
	if err != nil {
		return checkpoint{}, err
	}
	now := time.Now().UTC()
	incidents := map[int64]bool{}
	var order []int64
	head, err := auditHead(ctx, local.Changes, cp.Seq, func(e bluehelm.AuditEntry) {
		// What a link applied is not sent on (the tap never does either).
		if !ok || strings.HasPrefix(e.Actor, Origin+":") {
			return
		}
		id, found := strings.CutPrefix(e.Object, "incident/")
		if v, err := strconv.ParseInt(id, 10, 64); found && err == nil && !incidents[v] {
			incidents[v] = true
			order = append(order, v)
		}
	})
	if err != nil {
		return checkpoint{}, fmt.Errorf("federation: reading the audit log: %w", err)
	}
	next := checkpoint{Seq: head, At: now}
	if !ok {
		return next, n.saveCheckpoint(ctx, next)
	}
	for _, id := range order {
		inc, err := local.Store.Incident(ctx, id)
		if err != nil {
			return checkpoint{}, fmt.Errorf("federation: incident %d changed before the stop: %w", id, err)
		}
		n.sendIncidentRecord(inc)
		n.m.resent.WithLabelValues("incident").Inc()
	}
	from := cp.At.Add(-positionLag)
	if oldest := now.Add(-maxPositionCatchUp); from.Before(oldest) {
		n.log.Warn("federation: positions stored more than an hour before this start are not sent again", "since", from)
		from = oldest
	}
	positions, err := n.resendPositions(ctx, local, from, now)
	if err != nil {
		return checkpoint{}, err
	}
	if len(order) > 0 || positions > 0 {
		n.log.Info("federation: sent again what the store committed around the last stop (the peers drop what they have)",
			"incidents", len(order), "positions", positions, "since", cp.At)
	}
	return next, n.saveCheckpoint(ctx, next)
}

// resendPositions queues for the links the positions stored between from and
// to that this node received itself (not from a link).
func (n *Node) resendPositions(ctx context.Context, local Local, from, to time.Time) (int, error) {
	world := bluehelm.BBox{MinLon: -180, MinLat: -90, MaxLon: 180, MaxLat: 90}
	sent := 0
	for {
		const page = 100000
		ps, err := local.Changes.Positions(ctx, bluehelm.PositionQuery{BBox: &world, From: from, To: to, Limit: page})
		if err != nil {
			return sent, fmt.Errorf("federation: reading positions stored before the stop: %w", err)
		}
		for _, p := range ps {
			if p.Source == Origin {
				continue
			}
			st, known := local.Track(p.UID)
			if !known {
				continue
			}
			st.Position = p
			if n.sendPositionState(st) {
				sent++
				n.m.resent.WithLabelValues("position").Inc()
			}
		}
		if len(ps) < page {
			return sent, nil
		}
		// The next page starts at the last time read: reports at that
		// instant are sent twice, which the receiver absorbs.
		from = ps[len(ps)-1].Time
	}
}

// checkpoints moves the checkpoint every interval to what was observed one
// interval before, unless the tap had trouble storing in between.
func (n *Node) checkpoints(local Local, prev checkpoint) {
	t := time.NewTicker(n.o.Checkpoint)
	defer t.Stop()
	trouble := n.persistTrouble.Load()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		head, err := auditHead(n.ctx, local.Changes, prev.Seq, nil)
		if err != nil {
			if n.ctx.Err() == nil {
				n.log.Warn("federation: reading the audit log for the checkpoint", "err", err)
			}
			continue
		}
		cur := checkpoint{Seq: head, At: time.Now().UTC()}
		if tr := n.persistTrouble.Load(); tr != trouble {
			// Something waited to be stored: start the interval again.
			trouble, prev = tr, cur
			continue
		}
		if err := n.saveCheckpoint(n.ctx, prev); err != nil && n.ctx.Err() == nil {
			n.log.Warn("federation: saving the checkpoint", "err", err)
		}
		prev = cur
		n.watchQueue()
	}
}

// watchQueue reports how full the queue of positions for the links is, and
// warns once when it nears its bound (the oldest are then dropped).
func (n *Node) watchQueue() {
	q, err := n.js.Stream(n.ctx, queueStream)
	if err != nil {
		return
	}
	info, err := q.Info(n.ctx)
	if err != nil {
		return
	}
	n.m.queueBytes.Set(float64(info.State.Bytes))
	full := float64(info.State.Bytes) >= 0.9*float64(n.o.QueueMaxBytes)
	if full && !n.queueFull {
		n.log.Warn("federation: the queue of positions for links that are down is nearly full; the oldest are being dropped (each track's latest stays)",
			"bytes", info.State.Bytes, "max", n.o.QueueMaxBytes)
	}
	n.queueFull = full
}

// sendPositionState queues one position (as the pipeline's events carry it)
// for the links that carry it and reports whether any does.
func (n *Node) sendPositionState(st bluehelm.TrackState) bool {
	data, err := json.Marshal(st)
	if err != nil {
		return false
	}
	return n.queuePosition(st.Track.Marking, data)
}
