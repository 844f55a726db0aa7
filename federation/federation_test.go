package federation

import (
	"fmt"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLinkCutAndRestored cuts the link several times while both sides report
// positions and file incidents: everything the pipelines acknowledged arrives
// on the other side once, and nothing arrives twice.
func TestLinkCutAndRestored(t *testing.T) {
	hq, camp, px := pair(t, openLink(), openLink(), nodeOpts{})
	lz, err := hq.srv.Leafz(nil)
	if err != nil || len(lz.Leafs) != 1 || lz.Leafs[0].Compression != "s2_fast" {
		t.Fatalf("the leaf connection is not S2-compressed: %+v %v", lz, err)
	}
	const rounds, perPhase = 3, 20
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	sent := map[*node]int{}
	var campIncidents, hqIncidents []int64
	step := 0
	traffic := func() {
		for i := 0; i < perPhase; i++ {
			at := base.Add(time.Duration(step) * time.Second)
			step++
			for _, n := range []*node{hq, camp} {
				uid := n.name + "-veh"
				if err := n.p.Positions(testCtx, joc, []ingest.Report{report(uid, at, step)}); err != nil {
					t.Fatal(err)
				}
				sent[n]++
			}
		}
		for _, n := range []*node{hq, camp} {
			inc := newIncident(fmt.Sprintf("%s report %d", n.name, step), bluehelm.Marking{Component: bluehelm.Military})
			if err := n.p.CreateIncident(testCtx, joc, inc); err != nil {
				t.Fatal(err)
			}
			if n == camp {
				campIncidents = append(campIncidents, inc.ID)
			} else {
				hqIncidents = append(hqIncidents, inc.ID)
			}
		}
	}
	for r := 0; r < rounds; r++ {
		traffic()
		px.Cut()
		waitFor(t, 20*time.Second, "the cut to be seen", func() bool { return !camp.fed.LinkUp("hq") && !hq.fed.LinkUp("camp1") })
		traffic() // while cut: stored on each side, waiting
		time.Sleep(2 * time.Second)
		traffic()
		px.Restore()
		waitFor(t, 20*time.Second, "the link to come back", func() bool { return camp.fed.LinkUp("hq") && hq.fed.LinkUp("camp1") })
	}
	check := func(at, from *node) bool {
		return len(positionsOf(t, at, from.name+"-veh")) == sent[from]
	}
	waitFor(t, 60*time.Second, "every position on the other side", func() bool { return check(hq, camp) && check(camp, hq) })
	for _, c := range []struct {
		at   *node
		from string
		ids  []int64
	}{{hq, "camp1", campIncidents}, {camp, "hq", hqIncidents}} {
		waitFor(t, 30*time.Second, "every incident on the other side", func() bool {
			for _, id := range c.ids {
				if fedIncident(t, c.at, c.from, id) == nil {
					return false
				}
			}
			return true
		})
		page, err := c.at.store.FindIncidents(testCtx, bluehelm.IncidentFilter{Viewer: joc, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if want := 2 * len(c.ids); len(page.Incidents) != want {
			t.Errorf("%s holds %d incidents, want %d (its own and the peer's, once each)", c.at.name, len(page.Incidents), want)
		}
	}
	// Let redeliveries, if any, land; still no duplicates.
	time.Sleep(time.Second)
	for _, c := range []struct{ at, from *node }{{hq, camp}, {camp, hq}} {
		ps := positionsOf(t, c.at, c.from.name+"-veh")
		seen := map[time.Time]bool{}
		for _, p := range ps {
			if seen[p.Time] {
				t.Fatalf("%s: position at %s stored twice", c.at.name, p.Time)
			}
			seen[p.Time] = true
			if p.Source != Origin {
				t.Fatalf("%s: federated position with source %q", c.at.name, p.Source)
			}
		}
		if len(ps) != sent[c.from] {
			t.Fatalf("%s has %d positions of %s, want %d", c.at.name, len(ps), c.from.name, sent[c.from])
		}
	}
	t.Logf("link bytes: up %d, down %d", px.Up.Load(), px.Down.Load())
}

// TestCampRestartKeepsBacklog: what a camp's pipeline acknowledged during a
// cut is still sent after the camp's node stops and starts again.
func TestCampRestartKeepsBacklog(t *testing.T) {
	hqLink, campLink := openLink(), openLink()
	dir := t.TempDir()
	hq, camp, px := pair(t, hqLink, campLink, nodeOpts{dir: dir})
	px.Cut()
	waitFor(t, 20*time.Second, "the cut to be seen", func() bool { return !camp.fed.LinkUp("hq") })
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	const n = 50
	for i := 0; i < n; i++ {
		if err := camp.p.Positions(testCtx, joc, []ingest.Report{report("veh", at.Add(time.Duration(i)*time.Second), i)}); err != nil {
			t.Fatal(err)
		}
	}
	inc := newIncident("filed during the cut", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	camp.stop()

	campLink.Peer = "hq"
	camp = startNode(t, "camp1", nodeOpts{dir: dir, links: []Link{campLink}, federateTo: "nats-leaf://" + px.Addr()})
	px.Restore()
	waitFor(t, 30*time.Second, "the backlog at HQ after the camp's restart", func() bool {
		return len(positionsOf(t, hq, "veh")) == n && fedIncident(t, hq, "camp1", inc.ID) != nil
	})
}

// TestHQRestart: HQ stops and starts again while the camp keeps reporting and
// editing; what the camp acknowledged arrives once, and HQ's merge state
// survives (a later edit is a plain update, not a new incident or a conflict).
func TestHQRestart(t *testing.T) {
	dir := t.TempDir()
	port, err := freePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hqLink, campLink := openLink(), openLink()
	hqLink.Peer, campLink.Peer = "camp1", "hq"
	hqOpts := nodeOpts{links: []Link{hqLink}, leafListen: true, leafAddr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	hq := startNode(t, "hq", hqOpts)
	camp := startNode(t, "camp1", nodeOpts{links: []Link{campLink}, federateTo: fmt.Sprintf("nats-leaf://127.0.0.1:%d", port)})
	waitFor(t, 20*time.Second, "link up", func() bool { return hq.fed.LinkUp("camp1") && camp.fed.LinkUp("hq") })

	inc := newIncident("before the restart", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the incident at HQ", func() bool { return fedIncident(t, hq, "camp1", inc.ID) != nil })
	hq.stop()

	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	const n = 30
	for i := 0; i < n; i++ {
		if err := camp.p.Positions(testCtx, joc, []ingest.Report{report("veh", at.Add(time.Duration(i)*time.Second), i)}); err != nil {
			t.Fatal(err)
		}
	}
	next := *inc
	next.Title = "edited while HQ was down"
	edited, err := camp.p.UpdateIncident(testCtx, joc, inc.ID, inc.Version, &next)
	if err != nil {
		t.Fatal(err)
	}

	hq = startNode(t, "hq", hqOpts)
	waitFor(t, 30*time.Second, "the camp's changes at the restarted HQ", func() bool {
		got := fedIncident(t, hq, "camp1", inc.ID)
		return len(positionsOf(t, hq, "veh")) == n && got != nil && got.Title == next.Title
	})
	next.Title = "edited after the restart"
	if _, err := camp.p.UpdateIncident(testCtx, joc, edited.ID, edited.Version, &next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the later edit at HQ", func() bool { return fedIncident(t, hq, "camp1", inc.ID).Title == next.Title })
	page, err := hq.store.FindIncidents(testCtx, bluehelm.IncidentFilter{Viewer: joc, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := fedIncident(t, hq, "camp1", inc.ID)
	if len(page.Incidents) != 1 || len(got.Conflicts) != 0 || counter(hq.fed.m.conflicts, "camp1") != 0 {
		t.Fatalf("after HQ's restart: %d incidents, conflicts %+v", len(page.Incidents), got.Conflicts)
	}
}

// TestStopBetweenCommitAndLink: a node stopped after its store committed a
// change but before the change reached the link (a kill -9 between the two)
// sends it when it starts again, and HQ ends with each record once.
func TestStopBetweenCommitAndLink(t *testing.T) {
	hqLink, campLink := openLink(), openLink()
	dir := t.TempDir()
	hq, camp, px := pair(t, hqLink, campLink, nodeOpts{dir: dir})
	sent := newIncident("sent before the stop", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, sent); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the first incident at HQ", func() bool { return fedIncident(t, hq, "camp1", sent.ID) != nil })
	// One filed at HQ, which the camp applies from the link: never sent back.
	fromHQ := newIncident("filed at HQ", bluehelm.Marking{Component: bluehelm.Military})
	if err := hq.p.CreateIncident(testCtx, joc, fromHQ); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "HQ's incident at the camp", func() bool { return fedIncident(t, camp, "hq", fromHQ.ID) != nil })

	// Committed, never published: written to the store behind the pipeline's
	// back, as a kill between the commit and the tap leaves it.
	lost := newIncident("committed just before the kill", bluehelm.Marking{Component: bluehelm.Military})
	lost.ReportedAt, lost.UpdatedAt, lost.ReportedBy = time.Now().UTC(), time.Now().UTC(), joc.Username
	if err := camp.store.CreateIncident(testCtx, lost, bluehelm.NewAudit(joc, "incident.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	r := report("veh", time.Now().UTC().Add(-10*time.Second).Truncate(time.Millisecond), 1)
	if err := camp.store.AppendPositions(testCtx, []bluehelm.Track{r.Track}, []bluehelm.Position{r.Position}); err != nil {
		t.Fatal(err)
	}
	camp.stop()
	if got := positionsOf(t, hq, "veh"); len(got) != 0 {
		t.Fatalf("HQ has %d positions before the camp's restart", len(got))
	}

	campLink.Peer = "hq"
	camp = startNode(t, "camp1", nodeOpts{dir: dir, links: []Link{campLink}, federateTo: "nats-leaf://" + px.Addr()})
	waitFor(t, 30*time.Second, "what the store committed before the stop, at HQ", func() bool {
		return fedIncident(t, hq, "camp1", lost.ID) != nil && len(positionsOf(t, hq, "veh")) == 1
	})
	if n := counter(camp.fed.m.resent, "incident"); n != 2 {
		t.Errorf("the camp sent %v incidents again, want 2 (its own two, changed since its first checkpoint; not HQ's)", n)
	}
	// The incident sent twice is stored once, unchanged.
	page, err := hq.store.FindIncidents(testCtx, bluehelm.IncidentFilter{Viewer: joc, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Incidents) != 3 {
		t.Fatalf("HQ has %d incidents, want 3", len(page.Incidents))
	}
	if got := fedIncident(t, hq, "camp1", sent.ID); got.Version != 1 || counter(hq.fed.m.conflicts, "camp1") != 0 {
		t.Fatalf("the incident sent twice is at version %d at HQ, conflicts %v", got.Version, counter(hq.fed.m.conflicts, "camp1"))
	}

	// A second start, with nothing changed since the first: the checkpoint
	// moved past the incidents, so nothing is sent again.
	camp.stop()
	camp = startNode(t, "camp1", nodeOpts{dir: dir, links: []Link{campLink}, federateTo: "nats-leaf://" + px.Addr()})
	waitFor(t, 20*time.Second, "link up", func() bool { return camp.fed.LinkUp("hq") })
	if n := counter(camp.fed.m.resent, "incident"); n != 0 {
		t.Errorf("the second restart sent %v incidents again, want 0", n)
	}
}

// TestCheckpointMoves: the checkpoint follows the changes one interval
// behind, so a restart sends again only what changed shortly before it.
func TestCheckpointMoves(t *testing.T) {
	hqLink, campLink := openLink(), openLink()
	dir := t.TempDir()
	const every = 200 * time.Millisecond
	hq, camp, px := pair(t, hqLink, campLink, nodeOpts{dir: dir, checkpoint: every})
	old := newIncident("long before the stop", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, old); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the incident at HQ", func() bool { return fedIncident(t, hq, "camp1", old.ID) != nil })
	// The checkpoint passes the incident two intervals later at most.
	waitFor(t, 30*time.Second, "the checkpoint to pass the incident", func() bool {
		cp, ok, err := camp.fed.loadCheckpoint(testCtx)
		return err == nil && ok && cp.Seq >= auditSeqOf(t, camp, old.ID)
	})
	lost := newIncident("committed just before the kill", bluehelm.Marking{Component: bluehelm.Military})
	lost.ReportedAt, lost.UpdatedAt, lost.ReportedBy = time.Now().UTC(), time.Now().UTC(), joc.Username
	if err := camp.store.CreateIncident(testCtx, lost, bluehelm.NewAudit(joc, "incident.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	camp.stop()
	campLink.Peer = "hq"
	camp = startNode(t, "camp1", nodeOpts{dir: dir, links: []Link{campLink}, federateTo: "nats-leaf://" + px.Addr(), checkpoint: every})
	waitFor(t, 30*time.Second, "the committed incident at HQ", func() bool { return fedIncident(t, hq, "camp1", lost.ID) != nil })
	if n := counter(camp.fed.m.resent, "incident"); n != 1 {
		t.Errorf("the restart sent %v incidents again, want 1", n)
	}
}

// auditSeqOf returns the sequence number of the last audit entry of an incident.
func auditSeqOf(t testing.TB, n *node, id int64) int64 {
	t.Helper()
	es, err := n.store.AuditLog(testCtx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	for _, e := range es {
		if e.Object == fmt.Sprintf("incident/%d", id) {
			seq = e.Seq
		}
	}
	if seq == 0 {
		t.Fatalf("no audit entry for incident %d", id)
	}
	return seq
}

// TestForwardOtherClusterNodesChanges: in an HQ cluster only one node holds
// the links; what users change on the other nodes reaches it on the cluster
// bus and must cross the links too. Changes applied from a link are not sent
// on.
func TestForwardOtherClusterNodesChanges(t *testing.T) {
	hq, camp, _ := pair(t, openLink(), openLink(), nodeOpts{})
	// hq2 stored an incident in the shared database and published it: the
	// bus hands it to this node as an event.
	inc := newIncident("filed on hq2", bluehelm.Marking{Component: bluehelm.Military})
	inc.ReportedAt, inc.UpdatedAt, inc.ReportedBy = time.Now().UTC(), time.Now().UTC(), joc.Username
	if err := hq.store.CreateIncident(testCtx, inc, bluehelm.NewAudit(joc, "incident.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	event := func(layer, key, typ string, data any, origin string) live.Event {
		b, err := jsonMessage(typ, data)
		if err != nil {
			t.Fatal(err)
		}
		return live.Event{Layer: layer, Key: key, Marking: inc.Marking, Data: b, Origin: origin}
	}
	hq.fed.Forward(event(live.LayerIncidents, fmt.Sprintf("incident/%d", inc.ID), "incident", inc, ""))
	r := report("veh2", time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond), 2)
	hq.fed.Forward(event(live.LayerTracks, "veh2", "position", bluehelm.TrackState{Track: r.Track, Position: r.Position}, "sim"))
	// A camp's position another HQ node relayed: not sent back down.
	r3 := report("veh3", time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond), 3)
	hq.fed.Forward(event(live.LayerTracks, "veh3", "position", bluehelm.TrackState{Track: r3.Track, Position: r3.Position}, Origin))
	waitFor(t, 30*time.Second, "hq2's changes at the camp", func() bool {
		return fedIncident(t, camp, "hq", inc.ID) != nil && len(positionsOf(t, camp, "veh2")) == 1
	})
	if got := counter(hq.fed.m.sent, "camp1", "position"); got != 1 {
		t.Fatalf("HQ stored %v positions for the camp, want 1", got)
	}
}

// TestQueueBoundedWhileLinkDown: positions waiting for a link that stays down
// fill a bounded queue, the oldest dropped first; the camp's pipeline never
// blocks, and when the link is back HQ gets every track's latest position.
func TestQueueBoundedWhileLinkDown(t *testing.T) {
	const bound = 256 << 10
	hq, camp, px := pair(t, openLink(), openLink(), nodeOpts{queueMax: bound, checkpoint: 100 * time.Millisecond})
	px.Cut()
	waitFor(t, 20*time.Second, "the cut to be seen", func() bool { return !camp.fed.LinkUp("hq") })
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	const tracks, rounds = 20, 150 // 3,000 positions, about three times the bound
	for r := range rounds {
		batch := make([]ingest.Report, tracks)
		for k := range batch {
			batch[k] = report(fmt.Sprintf("veh%02d", k), at.Add(time.Duration(r)*time.Second), r)
		}
		if err := camp.p.Positions(testCtx, joc, batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the queue's size reported", func() bool {
		b := testutil.ToFloat64(camp.fed.m.queueBytes)
		return b > bound/2 && b <= bound
	})
	px.Restore()
	last := at.Add((rounds - 1) * time.Second)
	waitFor(t, 60*time.Second, "every track's latest position at HQ", func() bool {
		for k := range tracks {
			st, ok := hq.pic.Get(fmt.Sprintf("veh%02d", k))
			if !ok || !st.Position.Time.Equal(last) {
				return false
			}
		}
		return true
	})
	if n := len(positionsOf(t, hq, "veh00")); n >= rounds {
		t.Fatalf("HQ has all %d positions of veh00: nothing was dropped, the bound did not hold", n)
	}
}
