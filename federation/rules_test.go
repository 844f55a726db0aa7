package federation

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestLinkCarries(t *testing.T) {
	l := Link{MaxClassification: bluehelm.Confidential, ReleasableTo: []bluehelm.Component{bluehelm.Military}}
	for _, c := range []struct {
		name string
		m    bluehelm.Marking
		want bool
	}{
		{"unclassified police", bluehelm.Marking{Component: bluehelm.Police}, true},
		{"confidential military", bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}, true},
		{"confidential police released to military", bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police, Releasability: []bluehelm.Component{bluehelm.Military}}, true},
		{"confidential police only", bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police}, false},
		{"strictly confidential military", bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}, false},
		{"invalid component", bluehelm.Marking{Component: "navy"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := l.Carries(c.m); got != c.want {
				t.Fatalf("Carries = %v, want %v", got, c.want)
			}
		})
	}
	if (Link{MaxClassification: bluehelm.StrictlyConfidential}).Carries(bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}) {
		t.Fatal("a link releasing to no component carried a CONFIDENTIAL record")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := newCodec()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tr := bluehelm.Track{UID: "a", Callsign: "ALPHA", Kind: bluehelm.KindVehicle, SIDC: "SFGPUCI----", Marking: bluehelm.Marking{
		Classification: bluehelm.Confidential, Component: bluehelm.Police, Releasability: []bluehelm.Component{bluehelm.Military}}}
	in := []bluehelm.TrackState{
		{Track: tr, Position: bluehelm.Position{UID: "a", Time: at, Lat: 4.8512345, Lon: 31.5812345, HAE: 455.3, Speed: 12.25, Course: 271.5, CE: 9.9, Battery: 80}},
		{Track: bluehelm.Track{UID: "b", Marking: bluehelm.Marking{Component: bluehelm.Military}}, Position: bluehelm.Position{UID: "b", Time: at.Add(-time.Second), Lat: -4.5, Lon: -170}},
		{Track: tr, Position: bluehelm.Position{UID: "a", Time: at.Add(5 * time.Second), Lat: 4.8513, Lon: 31.5813}},
	}
	out, err := c.decodePositions(c.encodePositions(in), Origin)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d states, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		near := func(x, y, eps float64) bool { return x-y < eps && y-x < eps }
		if a.Position.UID != b.Position.UID || !a.Position.Time.Equal(b.Position.Time) || !near(a.Position.Lat, b.Position.Lat, 1e-7) ||
			!near(a.Position.Lon, b.Position.Lon, 1e-7) || !near(a.Position.HAE, b.Position.HAE, 0.05) || !near(a.Position.Speed, b.Position.Speed, 0.005) ||
			!near(a.Position.Course, b.Position.Course, 0.005) || !near(a.Position.CE, b.Position.CE, 0.05) || a.Position.Battery != b.Position.Battery {
			t.Fatalf("[%d] %+v came back as %+v", i, a.Position, b.Position)
		}
		if b.Position.Source != Origin || b.Track.Callsign != a.Track.Callsign || b.Track.Classification != a.Track.Classification ||
			b.Track.Component != a.Track.Component || len(b.Track.Releasability) != len(a.Track.Releasability) {
			t.Fatalf("[%d] track %+v came back as %+v", i, a.Track, b.Track)
		}
	}
	for _, bad := range [][]byte{nil, {formatPositions}, {formatPositions, 1, 2, 3}, {formatIncident}} {
		if _, err := c.decodePositions(bad, Origin); err == nil {
			t.Fatalf("decoded garbage %v", bad)
		}
	}
}

// TestLinkRefusesBeyondItsRules: the camp's file lets everything go up, HQ's
// link takes CONFIDENTIAL for the military at most. HQ refuses, logs and
// counts what the camp sends beyond that; the camp's own filter keeps back
// what its file forbids, and community alert references never cross.
func TestLinkRefusesBeyondItsRules(t *testing.T) {
	hqLink := Link{MaxClassification: bluehelm.Confidential, ReleasableTo: []bluehelm.Component{bluehelm.Military}}
	campLink := Link{MaxClassification: bluehelm.StrictlyConfidential, ReleasableTo: bluehelm.Components,
		Categories: []bluehelm.Category{"armed_clash"}}
	hq, camp, _ := pair(t, hqLink, campLink, nodeOpts{})
	file := func(title string, mk bluehelm.Marking) *bluehelm.Incident {
		t.Helper()
		inc := newIncident(title, mk)
		by := joc
		if mk.Component == bluehelm.Police {
			by = unpol
		}
		if err := camp.p.CreateIncident(testCtx, by, inc); err != nil {
			t.Fatal(err)
		}
		return inc
	}
	sc := file("strictly confidential", bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military})
	police := file("police only", bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police})
	released := file("police released to military", bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police,
		Releasability: []bluehelm.Component{bluehelm.Military}})
	other := newIncident("protest, not shared", bluehelm.Marking{Component: bluehelm.Military})
	other.Category = "protest"
	if err := camp.p.CreateIncident(testCtx, joc, other); err != nil {
		t.Fatal(err)
	}
	comm := newIncident("from the alert network", bluehelm.Marking{Component: bluehelm.Military})
	comm.Links = []bluehelm.Link{{Kind: "community_alert", Ref: "17"}, {Kind: "patrol", Ref: "3"}}
	comm.Sources = []bluehelm.Source{{Name: "community alert network", Reference: "community_alert/17"}}
	if err := camp.p.CreateIncident(testCtx, joc, comm); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	secret := report("sc-track", at, 1)
	secret.Track.Classification = bluehelm.StrictlyConfidential
	if err := camp.p.Positions(testCtx, joc, []ingest.Report{secret, report("open-track", at, 2)}); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 30*time.Second, "the allowed records at HQ", func() bool {
		return fedIncident(t, hq, "camp1", released.ID) != nil && fedIncident(t, hq, "camp1", comm.ID) != nil &&
			len(positionsOf(t, hq, "open-track")) == 1
	})
	waitFor(t, 30*time.Second, "the refusals to be counted", func() bool {
		return counter(hq.fed.m.refused, "camp1", "classification") >= 2 && counter(hq.fed.m.refused, "camp1", "releasability") >= 1
	})
	for _, id := range []int64{sc.ID, police.ID} {
		if fedIncident(t, hq, "camp1", id) != nil {
			t.Fatalf("HQ stored camp incident %d beyond its link", id)
		}
	}
	if len(positionsOf(t, hq, "sc-track")) != 0 {
		t.Fatal("HQ stored a STRICTLY CONFIDENTIAL track")
	}
	if got := counter(camp.fed.m.filtered, "hq", "incident"); got != 1 {
		t.Fatalf("camp kept back %v incidents, want 1 (the category its link does not share)", got)
	}
	if fedIncident(t, hq, "camp1", other.ID) != nil {
		t.Fatal("an incident of a category the camp does not share crossed")
	}
	c := fedIncident(t, hq, "camp1", comm.ID)
	if len(c.Links) != 1 || c.Links[0].Kind != "patrol" || c.Sources[0].Reference != "" {
		t.Fatalf("community alert references crossed: links %+v sources %+v", c.Links, c.Sources)
	}
}

// TestReplayChangesNothing: a leaf that sends its old messages again (new
// message ids, so JetStream's deduplication does not catch them) changes
// nothing at HQ: the versions are already merged and the positions stored.
func TestReplayChangesNothing(t *testing.T) {
	hq, camp, _ := pair(t, openLink(), openLink(), nodeOpts{})
	inc := newIncident("original", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	next := *inc
	next.Title = "corrected"
	if _, err := camp.p.UpdateIncident(testCtx, joc, inc.ID, inc.Version, &next); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	for i := 0; i < 5; i++ {
		if err := camp.p.Positions(testCtx, joc, []ingest.Report{report("veh", at.Add(time.Duration(i)*time.Second), i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the camp's changes at HQ", func() bool {
		got := fedIncident(t, hq, "camp1", inc.ID)
		return got != nil && got.Title == "corrected" && len(positionsOf(t, hq, "veh")) == 5
	})
	before := fedIncident(t, hq, "camp1", inc.ID)
	received := counter(hq.fed.m.received, "camp1", "incident")

	// Replay the camp's whole outbound stream.
	nc, err := camp.srv.Connect("replay")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(testCtx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, outStream("hq"))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx)
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Data: m.Data}, jetstream.WithMsgID(fmt.Sprintf("replay-%d", seq))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the replayed versions to be recognised", func() bool {
		return counter(hq.fed.m.stale, "camp1") >= 2
	})
	time.Sleep(500 * time.Millisecond)
	after := fedIncident(t, hq, "camp1", inc.ID)
	if after.Version != before.Version || after.Title != "corrected" {
		t.Fatalf("replay changed the incident: version %d → %d, title %q", before.Version, after.Version, after.Title)
	}
	if got := counter(hq.fed.m.received, "camp1", "incident"); got != received {
		t.Fatalf("replay applied %v incident changes", got-received)
	}
	if n := len(positionsOf(t, hq, "veh")); n != 5 {
		t.Fatalf("HQ holds %d positions after the replay, want 5", n)
	}
}

// TestSkewedClockReported: a camp whose clock is ten minutes ahead is found
// out from its heartbeats, logged and counted; what it sends is merged by
// versions and stamped with HQ's clock, and reports dated in HQ's future are
// refused rather than trusted.
func TestSkewedClockReported(t *testing.T) {
	hq, camp, _ := pair(t, openLink(), openLink(), nodeOpts{clock: 10 * time.Minute})
	waitFor(t, 10*time.Second, "the skew to be seen", func() bool {
		_, bad := hq.fed.Skew("camp1")
		return bad
	})
	skew, _ := hq.fed.Skew("camp1")
	if skew < 9*time.Minute || skew > 11*time.Minute {
		t.Fatalf("HQ measured the camp's clock %v ahead, want about 10 min", skew)
	}
	if s, bad := camp.fed.Skew("hq"); !bad || s > -9*time.Minute {
		t.Fatalf("the camp measured HQ's clock %v (bad %v), want about -10 min", s, bad)
	}
	if got := counter(hq.fed.m.skewBad, "camp1"); got != 1 {
		t.Fatalf("skew alarms = %v, want 1 (reported once, not every heartbeat)", got)
	}
	inc := newIncident("filed with a fast clock", bluehelm.Marking{Component: bluehelm.Military})
	inc.OccurredStart = camp.now().Add(-time.Minute) // by the camp's clock: 9 minutes in HQ's future
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	// A device with a good clock (GPS) and the camp's own stamp, ten minutes ahead.
	good := report("gps", time.Now().UTC().Truncate(time.Millisecond), 1)
	fast := report("fast", camp.now().Truncate(time.Millisecond), 2)
	if err := camp.p.Positions(testCtx, joc, []ingest.Report{good, fast}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the camp's changes at HQ", func() bool {
		return fedIncident(t, hq, "camp1", inc.ID) != nil && len(positionsOf(t, hq, "gps")) == 1
	})
	got := fedIncident(t, hq, "camp1", inc.ID)
	if got.UpdatedAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("HQ kept the camp's clock as the update time: %s", got.UpdatedAt)
	}
	waitFor(t, 10*time.Second, "the future report to be refused", func() bool { return counter(hq.fed.m.refused, "camp1", "invalid") >= 1 })
	if len(positionsOf(t, hq, "fast")) != 0 {
		t.Fatal("HQ stored a report dated ten minutes in its future")
	}
}

// TestConflictKeepsBothRevisions: an incident edited at the camp and at HQ
// while the link is cut ends the same on both sides: the filer's (camp's)
// content, HQ's revision kept in Conflicts, an alert on both sides. Later
// edits flow again without a new conflict.
func TestConflictKeepsBothRevisions(t *testing.T) {
	hq, camp, px := pair(t, openLink(), openLink(), nodeOpts{})
	inc := newIncident("clash at the market", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	var atHQ *bluehelm.Incident
	waitFor(t, 30*time.Second, "the incident at HQ", func() bool { atHQ = fedIncident(t, hq, "camp1", inc.ID); return atHQ != nil })

	px.Cut()
	waitFor(t, 20*time.Second, "the cut to be seen", func() bool { return !camp.fed.LinkUp("hq") && !hq.fed.LinkUp("camp1") })
	edit := func(n *node, cur *bluehelm.Incident, title string) {
		t.Helper()
		next := *cur
		next.Title = title
		if _, err := n.p.UpdateIncident(testCtx, joc, cur.ID, cur.Version, &next); err != nil {
			t.Fatal(err)
		}
	}
	edit(camp, inc, "clash at the market, 3 injured")
	edit(hq, atHQ, "clash at the market (HQ: unconfirmed)")
	px.Restore()

	load := func(n *node) *bluehelm.Incident {
		if n == camp {
			got, err := camp.store.Incident(testCtx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		return fedIncident(t, hq, "camp1", inc.ID)
	}
	waitFor(t, 30*time.Second, "the conflict flagged on both sides", func() bool {
		return len(load(camp).Conflicts) == 1 && len(load(hq).Conflicts) == 1
	})
	for _, n := range []*node{camp, hq} {
		got := load(n)
		if got.Title != "clash at the market, 3 injured" {
			t.Errorf("%s: title %q, want the filer's (camp's) edit", n.name, got.Title)
		}
		c := got.Conflicts[0]
		if c.Actor != "hq" || c.Incident.Title != "clash at the market (HQ: unconfirmed)" {
			t.Errorf("%s: conflict %s v%d %q, want HQ's revision", n.name, c.Actor, c.Version, c.Incident.Title)
		}
		// The alert is raised just after the merged copy is stored.
		raised := func() int {
			alerts, err := n.store.Alerts(testCtx, bluehelm.AlertFilter{Viewer: joc, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			k := 0
			for _, a := range alerts {
				if a.Rule == ingest.ConflictRule && a.IncidentID == got.ID {
					k++
				}
			}
			return k
		}
		waitFor(t, 30*time.Second, n.name+"'s conflict alert", func() bool { return raised() > 0 })
		if k := raised(); k != 1 {
			t.Errorf("%s: %d conflict alerts, want 1", n.name, k)
		}
	}
	conflicts := counter(hq.fed.m.conflicts, "camp1") + counter(camp.fed.m.conflicts, "hq")

	// Reconciled at HQ: an ordinary edit, which reaches the camp.
	edit(hq, load(hq), "clash at the market, 3 injured (reconciled)")
	waitFor(t, 30*time.Second, "the reconciled edit at the camp", func() bool {
		return load(camp).Title == "clash at the market, 3 injured (reconciled)"
	})
	if got := counter(hq.fed.m.conflicts, "camp1") + counter(camp.fed.m.conflicts, "hq"); got != conflicts {
		t.Fatalf("an edit after the conflict raised %v more conflicts", got-conflicts)
	}
	if len(load(camp).OpenConflicts()) != 1 {
		t.Fatal("an edit settled the conflict; only a reconciliation may")
	}

	// Settled at HQ (the reconcile action): the camp's copy is settled too,
	// and a later edit at the camp, made from a copy that had heard of it,
	// does not reopen it.
	cur := load(hq)
	if _, err := hq.p.TransitionIncident(testCtx, joc, cur.ID, cur.Version, bluehelm.WfReconcile, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the reconciliation at the camp", func() bool {
		got := load(camp)
		return len(got.Conflicts) == 1 && got.Conflicts[0].ReconciledBy == joc.Username
	})
	edit(camp, load(camp), "clash at the market, 3 injured, 1 died in hospital")
	waitFor(t, 30*time.Second, "the camp's later edit at HQ", func() bool {
		return load(hq).Title == "clash at the market, 3 injured, 1 died in hospital"
	})
	for _, n := range []*node{camp, hq} {
		if got := load(n); len(got.Conflicts) != 1 || len(got.OpenConflicts()) != 0 {
			t.Errorf("%s: conflicts %+v, want the one, settled", n.name, got.Conflicts)
		}
		// The conflict's alert is resolved on both sides, naming who settled it.
		waitFor(t, 30*time.Second, n.name+"'s conflict alert resolved", func() bool {
			alerts, err := n.store.Alerts(testCtx, bluehelm.AlertFilter{Viewer: joc, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			resolved := 0
			for _, a := range alerts {
				if a.Rule == ingest.ConflictRule {
					if a.State != bluehelm.AlertResolved || !strings.Contains(a.Resolution, "reconciled") {
						return false
					}
					resolved++
				}
			}
			return resolved == 1
		})
	}
}

// TestHQReleasesPerLink: HQ with two camps releases each record only down the
// links whose releasability allows it, from its one queue of positions.
func TestHQReleasesPerLink(t *testing.T) {
	mil := Link{Peer: "camp1", MaxClassification: bluehelm.Confidential, ReleasableTo: []bluehelm.Component{bluehelm.Military}}
	pol := Link{Peer: "camp2", MaxClassification: bluehelm.Confidential, ReleasableTo: []bluehelm.Component{bluehelm.Police}}
	hq := startNode(t, "hq", nodeOpts{links: []Link{mil, pol}, leafListen: true})
	up := openLink()
	up.Peer = "hq"
	var camps []*node
	for _, name := range []string{"camp1", "camp2"} {
		px := newLinkProxy(t, fmt.Sprintf("127.0.0.1:%d", hq.srv.LeafPort))
		c := startNode(t, name, nodeOpts{links: []Link{up}, federateTo: "nats-leaf://" + px.Addr()})
		camps = append(camps, c)
		waitFor(t, 20*time.Second, name+" link up", func() bool { return hq.fed.LinkUp(name) && c.fed.LinkUp("hq") })
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	milTrack, polTrack, open := report("mil", at, 1), report("pol", at, 2), report("open", at, 3)
	milTrack.Track.Classification = bluehelm.Confidential
	polTrack.Track.Classification, polTrack.Track.Component = bluehelm.Confidential, bluehelm.Police
	if err := hq.p.Positions(testCtx, bluehelm.SystemPrincipal("test"), []ingest.Report{milTrack, polTrack, open}); err != nil {
		t.Fatal(err)
	}
	for _, c := range camps {
		waitFor(t, 30*time.Second, "the open track at "+c.name, func() bool { return len(positionsOf(t, c, "open")) == 1 })
	}
	time.Sleep(500 * time.Millisecond) // the same batches carried the others, if they crossed
	for _, c := range []struct {
		camp     *node
		has, not string
	}{{camps[0], "mil", "pol"}, {camps[1], "pol", "mil"}} {
		if len(positionsOf(t, c.camp, c.has)) != 1 {
			t.Errorf("%s did not get %s", c.camp.name, c.has)
		}
		if len(positionsOf(t, c.camp, c.not)) != 0 {
			t.Errorf("%s got %s, which its link does not release", c.camp.name, c.not)
		}
	}
}

// TestPeerCannotLowerATrackMarking: a camp's report on a track HQ already
// holds as STRICTLY CONFIDENTIAL moves it but leaves it STRICTLY CONFIDENTIAL.
func TestPeerCannotLowerATrackMarking(t *testing.T) {
	hq, camp, _ := pair(t, openLink(), openLink(), nodeOpts{})
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	secret := report("x", at, 1)
	secret.Track.Classification = bluehelm.StrictlyConfidential
	if err := hq.p.Positions(testCtx, joc, []ingest.Report{secret}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "HQ's report at the camp", func() bool { return len(positionsOf(t, camp, "x")) == 1 })
	// The camp files its own report of x, marked UNCLASSIFIED.
	open := report("x", at.Add(time.Second), 2)
	if err := camp.p.Positions(testCtx, joc, []ingest.Report{open}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the camp's report at HQ", func() bool { return len(positionsOf(t, hq, "x")) == 2 })
	st, ok := hq.pic.Get("x")
	if !ok || !st.Position.Time.Equal(open.Position.Time) {
		t.Fatalf("HQ's picture did not take the camp's report: %+v", st)
	}
	if st.Track.Classification != bluehelm.StrictlyConfidential {
		t.Fatalf("the camp lowered HQ's track to %s", st.Track.Classification)
	}
}

// TestCampCannotReachAnotherCampsStream: on HQ's leaf listener each camp is a
// user of its own, allowed only its own stream: a camp (compromised, or
// misconfigured) cannot pull what HQ keeps for another camp.
func TestCampCannotReachAnotherCampsStream(t *testing.T) {
	l1, l2 := openLink(), openLink()
	l1.Peer, l2.Peer = "camp1", "camp2"
	hq := startNode(t, "hq", nodeOpts{links: []Link{l1, l2}, leafListen: true})
	up := openLink()
	up.Peer = "hq"
	camp := startNode(t, "camp1", nodeOpts{links: []Link{up}, federateTo: fmt.Sprintf("nats-leaf://127.0.0.1:%d", hq.srv.LeafPort)})
	waitFor(t, 20*time.Second, "link up", func() bool { return hq.fed.LinkUp("camp1") && camp.fed.LinkUp("hq") })
	nc, err := camp.srv.Connect("intruder")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.NewWithDomain(nc, "hq")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testCtx, 5*time.Second)
	defer cancel()
	if _, err := js.Consumer(ctx, outStream("camp1"), outConsumer("camp1")); err != nil {
		t.Fatalf("camp1 cannot reach its own stream at HQ: %v", err)
	}
	for _, probe := range []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := js.Consumer(ctx, outStream("camp2"), outConsumer("camp2"))
			return err
		},
		func(ctx context.Context) error { _, err := js.Stream(ctx, outStream("camp2")); return err },
		func(ctx context.Context) error {
			_, err := js.CreateConsumer(ctx, outStream("camp2"), jetstream.ConsumerConfig{Name: "spy"})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(testCtx, 2*time.Second)
		err := probe(ctx)
		cancel()
		if err == nil {
			t.Fatal("camp1 reached HQ's stream for camp2")
		}
	}
}

// TestReclassifiedIncidentWithdrawn: an incident HQ received as CONFIDENTIAL
// and that the camp then marks STRICTLY CONFIDENTIAL (beyond the link) is
// restricted at HQ, not left readable at the old level.
func TestReclassifiedIncidentWithdrawn(t *testing.T) {
	link := Link{MaxClassification: bluehelm.Confidential, ReleasableTo: bluehelm.Components}
	hq, camp, _ := pair(t, link, link, nodeOpts{})
	inc := newIncident("armed group movement", bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	reader := bluehelm.Principal{Username: "analyst", Role: bluehelm.RoleAnalyst, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	waitFor(t, 30*time.Second, "the incident at HQ", func() bool {
		got := fedIncident(t, hq, "camp1", inc.ID)
		return got != nil && reader.CanSee(got.Marking)
	})
	next := *inc
	next.Marking = bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Military}
	next.Narrative = "Source protection: details restricted."
	if _, err := camp.p.UpdateIncident(testCtx, joc, inc.ID, inc.Version, &next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the copy at HQ restricted", func() bool {
		return !reader.CanSee(fedIncident(t, hq, "camp1", inc.ID).Marking)
	})
	got := fedIncident(t, hq, "camp1", inc.ID)
	if got.Narrative == next.Narrative {
		t.Fatal("the STRICTLY CONFIDENTIAL content crossed the link")
	}
	if got.Classification != bluehelm.StrictlyConfidential || len(got.Releasability) != 0 {
		t.Fatalf("HQ's copy is marked %+v", got.Marking)
	}
}
