package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/nats-io/nats.go/jetstream"
)

// inbound pulls what a peer keeps for this node from the peer's outbound
// stream, across the leaf link through the peer's JetStream domain, applies
// it and only then acknowledges it. A durable pull consumer rather than a
// sourced stream: the node retries as soon as the link is back, where the
// server's source retries back off to two minutes after a long cut.
type inbound struct {
	n     *Node
	link  Link
	p     Pipeline
	store IncidentStore
	track func(uid string) (bluehelm.TrackState, bool)
}

// errRefused marks a message that is acknowledged without being applied.
var errRefused = errors.New("refused")

func (in *inbound) run() {
	n, peer := in.n, in.link.Peer
	js, err := jetstream.NewWithDomain(n.nc, peer)
	if err != nil {
		n.log.Error("federation: peer domain", "peer", peer, "err", err)
		return
	}
	var cons jetstream.Consumer
	for n.ctx.Err() == nil {
		if !n.LinkUp(peer) {
			n.sleep(200 * time.Millisecond)
			continue
		}
		if cons == nil {
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			c, err := js.Consumer(ctx, outStream(n.self), outConsumer(n.self))
			cancel()
			if err != nil {
				n.log.Debug("federation: peer's outbound stream not reachable yet", "peer", peer, "err", err)
				n.sleep(500 * time.Millisecond)
				continue
			}
			cons = c
		}
		msgs, err := cons.Fetch(64, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			cons = nil
			n.sleep(200 * time.Millisecond)
			continue
		}
		failed := false
		fetched := time.Now()
		for m := range msgs.Messages() {
			if time.Since(fetched) > 2*time.Second {
				// The changes before it took a while to apply: keep the
				// sender from delivering it again meanwhile.
				_ = m.InProgress()
			}
			if failed {
				// Keep the order: what follows a change that could not be
				// applied now comes again after it.
				_ = m.Nak()
				continue
			}
			err := in.apply(m)
			switch {
			case err == nil || errors.Is(err, errRefused):
				if aerr := m.Ack(); aerr != nil && n.ctx.Err() == nil {
					n.log.Warn("federation: acknowledging to peer", "peer", peer, "err", aerr)
				}
			case n.ctx.Err() != nil:
				return
			default:
				failed = true
				n.log.Error("federation: applying a change from peer; it will come again", "peer", peer, "err", err)
				_ = m.NakWithDelay(time.Second)
			}
		}
		if msgs.Error() != nil && !errors.Is(msgs.Error(), jetstream.ErrNoMessages) && n.ctx.Err() == nil {
			cons = nil
		}
		if failed {
			n.sleep(time.Second)
		}
	}
}

func (in *inbound) apply(m jetstream.Msg) error {
	subj := m.Subject()
	want := "fed." + in.link.Peer + ".out." + in.n.self + "."
	if !strings.HasPrefix(subj, want) {
		in.refuse("subject", "unexpected subject %q", subj)
		return errRefused
	}
	switch subj[len(want):] {
	case "p":
		return in.applyPositions(m.Data())
	case "i":
		return in.applyIncident(m.Data())
	}
	in.refuse("kind", "unknown message kind on %q", subj)
	return errRefused
}

func (in *inbound) refuse(reason, f string, a ...any) {
	in.n.m.refused.WithLabelValues(in.link.Peer, reason).Inc()
	in.n.log.Warn("federation: refused a change from peer", "peer", in.link.Peer, "reason", reason, "detail", fmt.Sprintf(f, a...))
}

// refuseMarking checks a marking against the link, whatever the peer claims
// its own link allows.
func (in *inbound) refuseMarking(kind, key string, mk bluehelm.Marking) bool {
	if in.link.Carries(mk) {
		return false
	}
	reason := "releasability"
	if mk.Classification > in.link.MaxClassification {
		reason = "classification"
	} else if mk.Validate() != nil {
		reason = "invalid"
	}
	in.refuse(reason, "%s %s marked %s (%s, releasable to %v) is beyond the link (%s, %v)", kind, key,
		mk.Classification, mk.Component, mk.Releasability, in.link.MaxClassification, in.link.ReleasableTo)
	return true
}

func (in *inbound) principal() bluehelm.Principal {
	return bluehelm.SystemPrincipal(Origin + ":" + in.link.Peer)
}

func (in *inbound) applyPositions(data []byte) error {
	n := in.n
	states, err := n.codec.decodePositions(data, Origin)
	if err != nil {
		in.refuse("invalid", "%v", err)
		return errRefused
	}
	reports := make([]ingest.Report, 0, len(states))
	for _, s := range states {
		if !in.link.CarriesPositions() {
			in.refuse("positions", "the link carries no positions")
			return errRefused
		}
		if in.refuseMarking("track", s.Position.UID, s.Track.Marking) {
			continue
		}
		if _, known := in.track(s.Position.UID); known {
			// Without a component the pipeline keeps this node's marking of
			// the track and only ever raises its classification: a peer may
			// not make a track known here visible to more people.
			s.Track.Component, s.Track.Releasability = "", nil
		}
		reports = append(reports, ingest.Report{Track: s.Track, Position: s.Position})
	}
	if len(reports) == 0 {
		return errRefused
	}
	// In chunks the pipeline takes whatever the batch size the peer chose.
	applied := 0
	for lo := 0; lo < len(reports); lo += positionChunk {
		chunk := reports[lo:min(lo+positionChunk, len(reports))]
		err := in.p.Positions(n.ctx, in.principal(), chunk)
		if bluehelm.ErrorCode(err) == bluehelm.EINVALID {
			// One bad report fails a batch; apply the rest one by one.
			for _, r := range chunk {
				if err := in.p.Positions(n.ctx, in.principal(), []ingest.Report{r}); err != nil {
					if bluehelm.ErrorCode(err) != bluehelm.EINVALID {
						return err
					}
					in.refuse("invalid", "position of %s: %v", r.Position.UID, err)
					continue
				}
				applied++
			}
			continue
		}
		if err != nil {
			// Nothing of the message is acknowledged; what was applied is
			// absorbed when it comes again.
			return err
		}
		applied += len(chunk)
	}
	n.m.received.WithLabelValues(in.link.Peer, "position").Add(float64(applied))
	return nil
}

const positionChunk = 1000

// applyIncident merges a peer's version of an incident into this node's copy.
//
// Versions, not clocks, decide: msg.Version is the peer's version and
// msg.Base our version the peer had merged when it made it. A version we
// already merged changes nothing (a replay). If our copy has changed since we
// last merged from the peer and the peer had not seen that change, both sides
// edited during a cut: the content of the node that filed the incident wins
// on both sides alike (so they converge), the other revision is kept in
// Conflicts, and an alert is raised.
func (in *inbound) applyIncident(data []byte) error {
	n, peer := in.n, in.link.Peer
	msg, err := n.codec.decodeIncident(data)
	if err != nil {
		in.refuse("invalid", "%v", err)
		return errRefused
	}
	if msg.From != peer {
		in.refuse("sender", "incident message from %q on the link to %q", msg.From, peer)
		return errRefused
	}
	key := msg.Origin + ":" + strconv.FormatInt(msg.OriginID, 10)
	if msg.Withdraw {
		return in.withdraw(msg, key)
	}
	inc := msg.Incident
	if in.refuseMarking("incident", key, inc.Marking) {
		return errRefused
	}
	if !in.link.CarriesIncident(inc) {
		in.refuse("category", "incident %s of category %s is not shared on this link", key, inc.Category)
		return errRefused
	}
	now := n.now()
	// A report dated a little in our future by a peer whose clock we measured
	// ahead is the clock's fault, not the report's: allow the measured skew
	// (not the peer's word) rather than lose a report the camp acknowledged.
	validAt := now
	if skew, _ := n.Skew(peer); skew > 0 {
		validAt = now.Add(skew)
	}
	if err := inc.Validate(validAt); err != nil {
		in.refuse("invalid", "incident %s: %v", key, err)
		return errRefused
	}
	ctx := n.ctx
	st, err := n.syncState(ctx, peer, msg.Origin, msg.OriginID)
	if err != nil {
		return err
	}
	if msg.Version <= st.PV {
		n.m.stale.WithLabelValues(peer).Inc()
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := in.mergeIncident(ctx, msg, st, now)
		if bluehelm.ErrorCode(err) == bluehelm.ECONFLICT && attempt < 5 {
			continue // a local edit landed between our read and write: merge again
		}
		return err
	}
}

func (in *inbound) mergeIncident(ctx context.Context, msg *incidentMsg, st syncState, now time.Time) error {
	n, peer := in.n, in.link.Peer
	by := in.principal()
	var local *bluehelm.Incident
	var err error
	if msg.Origin == n.self {
		local, err = in.store.Incident(ctx, msg.OriginID)
	} else {
		local, err = in.store.IncidentByExternalID(ctx, fedExternalID(msg.Origin, msg.OriginID))
	}
	if err != nil && bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
		return err
	}
	if local == nil {
		if msg.Origin == n.self {
			in.refuse("unknown", "incident %d of this node is not here", msg.OriginID)
			return errRefused
		}
		inc := *msg.Incident
		inc.ID, inc.Version = 0, 0
		inc.ExternalID = fedExternalID(msg.Origin, msg.OriginID)
		inc.UpdatedAt = now
		a := bluehelm.NewAudit(by, "incident.federate", "", map[string]any{"peer": peer, "origin": inc.ExternalID, "version": msg.Version})
		a.At = now
		if err := in.store.CreateIncident(ctx, &inc, a); err != nil {
			return err
		}
		if err := n.putSyncState(ctx, peer, msg.Origin, msg.OriginID, syncState{PV: msg.Version, LV: inc.Version}); err != nil {
			return err
		}
		in.publish(&inc)
		n.m.received.WithLabelValues(peer, "incident").Inc()
		return nil
	}

	next := *msg.Incident
	next.ID, next.Version, next.ExternalID = local.ID, local.Version, local.ExternalID
	// Local-only references (community alerts) never crossed; keep ours.
	for _, l := range local.Links {
		if l.Kind == "community_alert" {
			next.Links = append(next.Links, l)
		}
	}
	next.Sources = keepLocalReferences(local.Sources, next.Sources)

	changedHere := local.Version > st.LV && msg.Base < local.Version
	conflict := changedHere && !sameContent(local, &next)
	if conflict {
		// The filer's content wins on both sides alike; between two nodes
		// neither of which filed it, the smaller name's.
		incomingWins := msg.Origin == peer || (msg.Origin != n.self && peer < n.self)
		winner, loser, loserNode, loserVersion := local, msg.Incident, peer, msg.Version
		if incomingWins {
			winner, loser, loserNode, loserVersion = &next, local, n.self, local.Version
		}
		merged := *winner
		merged.ID, merged.Version, merged.ExternalID = local.ID, local.Version, local.ExternalID
		rev := bluehelm.Revision{IncidentID: msg.OriginID, Version: loserVersion, At: loser.UpdatedAt,
			Actor: loserNode, Action: "conflict", Incident: *scrub(loser)}
		rev.Incident.Conflicts = nil
		rev.Incident.ID, rev.Incident.Version, rev.Incident.ExternalID = msg.OriginID, loserVersion, ""
		merged.Conflicts = unionConflicts(local.Conflicts, msg.Incident.Conflicts, []bluehelm.Revision{rev})
		next = merged
	} else {
		next.Conflicts = unionConflicts(local.Conflicts, msg.Incident.Conflicts)
	}
	if sameContent(local, &next) && slices.EqualFunc(local.Conflicts, next.Conflicts, sameConflict) {
		// Already here (a redelivery, or both sides made the same change).
		return n.putSyncState(ctx, peer, msg.Origin, msg.OriginID, syncState{PV: msg.Version, LV: local.Version})
	}
	next.UpdatedAt = now
	action := "federate"
	if conflict {
		action = "conflict"
	}
	a := bluehelm.NewAudit(by, "incident."+action, "incident/"+strconv.FormatInt(local.ID, 10),
		map[string]any{"peer": peer, "peer_version": msg.Version, "version": local.Version + 1})
	a.At = now
	if err := in.store.UpdateIncident(ctx, &next, action, a); err != nil {
		return err
	}
	if err := n.putSyncState(ctx, peer, msg.Origin, msg.OriginID, syncState{PV: msg.Version, LV: next.Version}); err != nil {
		return err
	}
	in.publish(&next)
	n.m.received.WithLabelValues(peer, "incident").Inc()
	if len(local.OpenConflicts()) > 0 && len(next.OpenConflicts()) == 0 {
		in.p.ResolveConflictAlerts(ctx, local.ID, "conflict reconciled at "+peer)
	}
	if conflict {
		n.m.conflicts.WithLabelValues(peer).Inc()
		n.log.Warn("federation: incident edited on both sides of the link during a cut; both revisions kept",
			"peer", peer, "incident", next.ID, "origin", msg.Origin+":"+strconv.FormatInt(msg.OriginID, 10))
		loc := next.Location
		in.p.RaiseRuleAlert(ctx, ingest.ConflictRule, &bluehelm.Alert{
			Source: bluehelm.AlertFederated, Rule: ingest.ConflictRule, Key: "incident/" + strconv.FormatInt(next.ID, 10),
			Severity: bluehelm.SevWarning, State: bluehelm.AlertOpen,
			Title:      "Incident edited on both sides of the link to " + peer,
			Detail:     fmt.Sprintf("%q was changed here and at %s while the link was cut; both revisions are kept (see conflicts). Reconcile and edit the report.", next.Title, peer),
			Location:   &loc,
			IncidentID: next.ID, Marking: next.Marking, RaisedAt: now, RaisedBy: Origin,
		})
	}
	return nil
}

// publish announces an applied incident on this node (not over the links).
func (in *inbound) publish(inc *bluehelm.Incident) {
	in.n.mu.Lock()
	out := in.n.out
	in.n.mu.Unlock()
	data, err := jsonMessage("incident", inc)
	if err != nil {
		in.n.log.Error("federation: encoding an incident", "err", err)
		return
	}
	pt := inc.Location
	out.Publish(live.Event{Layer: live.LayerIncidents, Key: "incident/" + strconv.FormatInt(inc.ID, 10),
		Marking: inc.Marking, Where: bluehelm.BBox{MinLon: pt.Lon, MinLat: pt.Lat, MaxLon: pt.Lon, MaxLat: pt.Lat},
		Data: data, Origin: Origin})
}

func keepLocalReferences(local, next []bluehelm.Source) []bluehelm.Source {
	out := slices.Clone(next)
	for i := range out {
		if out[i].Reference != "" {
			continue
		}
		for _, l := range local {
			if l.Name == out[i].Name && strings.HasPrefix(l.Reference, "community_alert/") {
				out[i].Reference = l.Reference
				break
			}
		}
	}
	return out
}

// sameContent compares what people edit, not identity, versions, stamps or
// conflict lists.
func sameContent(a, b *bluehelm.Incident) bool {
	x, y := *a, *b
	for _, c := range []*bluehelm.Incident{&x, &y} {
		c.ID, c.Version, c.ExternalID, c.Conflicts = 0, 0, "", nil
		c.UpdatedAt, c.ReportedAt = time.Time{}, c.ReportedAt.Truncate(time.Millisecond).UTC()
		c.OccurredStart = c.OccurredStart.Truncate(time.Millisecond).UTC()
	}
	ja, err1 := jsonMessage("", &x)
	jb, err2 := jsonMessage("", &y)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func sameRev(a, b bluehelm.Revision) bool { return a.Actor == b.Actor && a.Version == b.Version }

// sameConflict also compares whether the conflict was reconciled, so that a
// version whose only change is a reconciliation is applied.
func sameConflict(a, b bluehelm.Revision) bool {
	return sameRev(a, b) && a.ReconciledBy == b.ReconciledBy
}

// unionConflicts merges conflict lists, one entry per (node, version). A
// reconciliation on either side holds on both: a conflict once settled is
// never reopened by a copy that had not heard of it.
func unionConflicts(lists ...[]bluehelm.Revision) []bluehelm.Revision {
	var out []bluehelm.Revision
	for _, l := range lists {
		for _, r := range l {
			i := slices.IndexFunc(out, func(o bluehelm.Revision) bool { return sameRev(o, r) })
			switch {
			case i < 0:
				out = append(out, r)
			case out[i].ReconciledBy == "":
				out[i].ReconciledBy = r.ReconciledBy
			}
		}
	}
	slices.SortFunc(out, func(a, b bluehelm.Revision) int {
		if c := strings.Compare(a.Actor, b.Actor); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	return out
}

// withdraw restricts this node's copy of a record its sender has since marked
// beyond the link: STRICTLY CONFIDENTIAL, for the originating component only,
// until the sender releases it again.
func (in *inbound) withdraw(msg *incidentMsg, key string) error {
	n, peer := in.n, in.link.Peer
	ctx := n.ctx
	st, err := n.syncState(ctx, peer, msg.Origin, msg.OriginID)
	if err != nil {
		return err
	}
	if msg.Version <= st.PV {
		n.m.stale.WithLabelValues(peer).Inc()
		return nil
	}
	if msg.Origin == n.self {
		in.refuse("withdraw", "%s withdrew incident %s, which this node filed", peer, key)
		return errRefused
	}
	for attempt := 0; ; attempt++ {
		local, err := in.store.IncidentByExternalID(ctx, fedExternalID(msg.Origin, msg.OriginID))
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return n.putSyncState(ctx, peer, msg.Origin, msg.OriginID, syncState{PV: msg.Version})
		}
		if err != nil {
			return err
		}
		next := *local
		next.Classification, next.Releasability = bluehelm.StrictlyConfidential, nil
		next.UpdatedAt = n.now()
		a := bluehelm.NewAudit(in.principal(), "incident.withdraw", "incident/"+strconv.FormatInt(local.ID, 10),
			map[string]any{"peer": peer, "peer_version": msg.Version, "version": local.Version + 1})
		a.At = next.UpdatedAt
		err = in.store.UpdateIncident(ctx, &next, "withdraw", a)
		if bluehelm.ErrorCode(err) == bluehelm.ECONFLICT && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		if err := n.putSyncState(ctx, peer, msg.Origin, msg.OriginID, syncState{PV: msg.Version, LV: next.Version}); err != nil {
			return err
		}
		n.m.received.WithLabelValues(peer, "withdraw").Inc()
		n.log.Warn("federation: a peer withdrew an incident (marked beyond the link since); the copy here is restricted",
			"peer", peer, "incident", local.ID, "origin", key)
		in.publish(&next)
		return nil
	}
}
