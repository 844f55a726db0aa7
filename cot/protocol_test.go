package cot

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/paulmach/orb"
)

// A plain client is offered v1, asks for it, and from then on both directions are
// v1 frames; an XML client on the same server still gets XML, so the two interoperate.
func TestNegotiationAndMixedFormats(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	a.negotiate()
	b := ts.dialTCP()
	b.expect(TypeNegotiationOffer, "")

	a.send(sa("ANDROID-a", "ALPHA", 4.85, 31.58))
	got := b.expect("a-f-G-U-C", "ANDROID-a")
	if got.Callsign() != "ALPHA" || got.Detail.Contact.Endpoint != ServerEndpoint {
		t.Errorf("relayed contact = %+v, want ALPHA via %s", got.Detail.Contact, ServerEndpoint)
	}
	if _, ok := got.Detail.FlowTag(ts.srv.flowKey); !ok {
		t.Errorf("relayed event has no flow tag: %s", got.Detail.XML)
	}
	b.send(sa("ANDROID-b", "BRAVO", 4.86, 31.59))
	got = a.expect("a-f-G-U-C", "ANDROID-b") // read as a v1 frame
	if got.Detail.Takv == nil || got.Detail.Takv.Platform != "ATAK-CIV" {
		t.Errorf("v1 relay lost takv: %+v", got.Detail)
	}
}

func TestNegotiationRefusedVersionStaysXML(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	a.expect(TypeNegotiationOffer, "")
	q := newEvent("protouid", TypeNegotiationRequest, HowMachine, time.Now().UTC(), time.Minute)
	q.Detail.XML = []byte(`<TakControl><TakRequest version="7"/></TakControl>`)
	a.send(q)
	ans := a.expect(TypeNegotiationAnswer, "")
	if !bytes.Contains(ans.Detail.XML, []byte(`status="false"`)) {
		t.Fatalf("answer %s, want status=false", ans.Detail.XML)
	}
	a.send(newEvent("x-ping", TypePing, HowGIGO, time.Now().UTC(), 10*time.Second))
	a.expect(TypePong, "takPong") // still XML both ways
}

// A ping is answered to its sender only.
func TestPingAnsweredNotFannedOut(t *testing.T) {
	ts := newTestServer(t)
	a, b := ts.dialTCP(), ts.dialTCP()
	a.send(sa("A", "ALPHA", 1, 1))
	b.send(sa("B", "BRAVO", 1, 1))
	b.expect("a-f-G-U-C", "A")
	a.send(newEvent("A-ping", TypePing, HowGIGO, time.Now().UTC(), 10*time.Second))
	a.expect(TypePong, "takPong")
	b.expectNone(300*time.Millisecond, "someone else's ping", func(ev *Event) bool {
		return ev.Type == TypePing || ev.Type == TypePong
	})
}

// A directed GeoChat goes only to its recipient, found by a callsign learned from
// the latest position report — also after the recipient changed callsign.
func TestDirectChatReachesOnlyRecipient(t *testing.T) {
	ts := newTestServer(t)
	a, b, c := ts.dialTCP(), ts.dialTCP(), ts.dialTCP()
	a.send(sa("A", "ALPHA", 1, 1))
	b.send(sa("B", "BRAVO", 1, 1))
	c.send(sa("C", "CHARLIE", 1, 1))
	for _, cl := range []*client{a, b, c} {
		cl.expect(TypeNegotiationOffer, "")
	}
	a.expect("a-f-G-U-C", "C")
	b.expect("a-f-G-U-C", "C")
	c.expect("a-f-G-U-C", "B")

	// BRAVO renames itself; the next direct message uses the new callsign.
	b.send(sa("B", "BRAVO-2", 1, 1))
	for a.expect("a-f-G-U-C", "B").Callsign() != "BRAVO-2" {
		// an earlier report of B still in a's stream
	}
	msg := chat("A", "ALPHA", "B", "BRAVO-2", "meet at the gate")
	a.send(msg)
	got := b.expect(TypeChat, msg.UID)
	if el, _ := got.Detail.Find("remarks"); el.Text() != "meet at the gate" {
		t.Errorf("chat text = %q", el.Text())
	}
	c.expectNone(300*time.Millisecond, "a message for BRAVO", func(ev *Event) bool { return ev.Type == TypeChat })
	a.expectNone(100*time.Millisecond, "its own message back", func(ev *Event) bool { return ev.Type == TypeChat })

	// It was kept.
	msgs, err := ts.db.Chat(ts.ctx, bluehelm.ChatFilter{Viewer: bluehelm.SystemPrincipal("test")})
	if err != nil || len(msgs) != 1 || msgs[0].Text != "meet at the gate" || msgs[0].SenderUser != "lab" || msgs[0].Chatroom != "BRAVO-2" {
		t.Fatalf("stored chat = %+v, %v", msgs, err)
	}
}

// A newly connected device gets the latest position of every device it may see,
// and learns when one goes away.
func TestReplayAndDisconnect(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	a.send(sa("A", "ALPHA", 2, 2))
	waitFor(t, "A's position to be stored", func() bool { _, ok := ts.picture.Get("A"); return ok })
	b := ts.dialTCP()
	b.send(sa("B", "BRAVO", 2, 2)) // identifies B (plain TCP identifies on the first event)
	b.expect("a-f-G-U-C", "A")
	a.nc.Close()
	del := b.expect(TypeDelete, "")
	if link, _ := del.Detail.Find("link"); link.Attr("uid") != "A" {
		t.Fatalf("delete links %q, want A", link.Attr("uid"))
	}
}

// Positions from devices go through the pipeline: stored, on the live picture, with
// a symbol code.
func TestPositionsStored(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	a.send(sa("ANDROID-1", "ALPHA", 4.85, 31.58))
	waitFor(t, "the position on the picture", func() bool { _, ok := ts.picture.Get("ANDROID-1"); return ok })
	st, _ := ts.picture.Get("ANDROID-1")
	if st.Callsign != "ALPHA" || st.SIDC != "SFGPUC----------"[:15] || st.Position.Source != "cot" || st.Position.Battery != 80 || st.Kind != bluehelm.KindPerson {
		t.Errorf("track = %+v", st)
	}
	ps, err := ts.db.Positions(ts.ctx, bluehelm.PositionQuery{UID: "ANDROID-1"})
	if err != nil || len(ps) != 1 || ps[0].Lat != 4.85 || ps[0].Course != 90 {
		t.Fatalf("stored = %+v, %v", ps, err)
	}
}

// A hostile marker a device drops becomes a submitted report for the JOC, once.
func TestHostileMarkerFiledAsReport(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	now := time.Now().UTC()
	ev := newEvent("marker-1", "a-h-G", "h-e", now, time.Hour)
	ev.Point = Point{Lat: 6.2, Lon: 31.5, HAE: Unknown, CE: Unknown, LE: Unknown}
	ev.Detail.Contact = &Contact{Callsign: "H.1"}
	ev.Detail.XML = []byte(`<remarks>technical with 12 armed men</remarks><archive/>`)
	a.send(ev)
	a.send(ev) // sent again (moved, or resent): still one report
	var page *bluehelm.IncidentPage
	waitFor(t, "the report", func() bool {
		var err error
		page, err = ts.db.FindIncidents(ts.ctx, bluehelm.IncidentFilter{Viewer: bluehelm.SystemPrincipal("t")})
		return err == nil && len(page.Incidents) > 0
	})
	time.Sleep(100 * time.Millisecond)
	page, _ = ts.db.FindIncidents(ts.ctx, bluehelm.IncidentFilter{Viewer: bluehelm.SystemPrincipal("t")})
	if len(page.Incidents) != 1 {
		t.Fatalf("%d reports, want 1", len(page.Incidents))
	}
	inc := page.Incidents[0]
	if inc.Status != bluehelm.StatusSubmitted || inc.ExternalID != "tak:marker-1" || inc.Category != "armed_movement" ||
		!strings.Contains(inc.Narrative, "technical with 12 armed men") || inc.ReportedBy != "lab" {
		t.Errorf("report = %+v", inc)
	}
	if _, ok := ts.picture.Get("marker-1"); ok {
		t.Error("a hostile marker must not become a friendly track")
	}
}

// An emergency is relayed, raised as a critical alert, repeated until cancelled,
// and the cancel resolves the alert.
func TestEmergencyRepeatedUntilCancelled(t *testing.T) {
	ts := newTestServer(t)
	a, b := ts.dialTCP(), ts.dialTCP()
	a.send(sa("A", "ALPHA", 3, 3))
	b.send(sa("B", "BRAVO", 3, 3))
	b.expect("a-f-G-U-C", "A")
	now := time.Now().UTC()
	em := newEvent("A-9-1-1", "b-a-o-tbl", "h-e", now, time.Minute)
	em.Point = Point{Lat: 3, Lon: 3, HAE: Unknown, CE: Unknown, LE: Unknown}
	em.Detail.XML = []byte(`<link uid="A" type="a-f-G-U-C" relation="p-p"/><contact callsign="ALPHA-Alert"/><emergency type="911 Alert">ALPHA</emergency>`)
	a.send(em)
	b.expect("b-a-o-tbl", "A-9-1-1")
	b.expect("b-a-o-tbl", "A-9-1-1") // the repeat
	var alerts []*bluehelm.Alert
	waitFor(t, "the alert", func() bool {
		alerts, _ = ts.db.Alerts(ts.ctx, bluehelm.AlertFilter{Viewer: bluehelm.SystemPrincipal("t")})
		return len(alerts) == 1 && alerts[0].ID != 0
	})
	if alerts[0].Severity != bluehelm.SevCritical || alerts[0].Source != bluehelm.AlertEmergency || !strings.Contains(alerts[0].Title, "911 Alert") {
		t.Errorf("alert = %+v", alerts[0])
	}
	cancel := newEvent("A-9-1-1", TypeEmergencyCancel, "h-e", time.Now().UTC(), time.Minute)
	cancel.Point = em.Point
	cancel.Detail.XML = []byte(`<link uid="A" type="a-f-G-U-C" relation="p-p"/><emergency cancel="true">ALPHA</emergency>`)
	a.send(cancel)
	b.expect(TypeEmergencyCancel, "A-9-1-1")
	waitFor(t, "the alert to be resolved", func() bool {
		al, _ := ts.db.Alert(ts.ctx, alerts[0].ID)
		return al != nil && al.State == bluehelm.AlertResolved
	})
	// Repeats stop (allow one in flight).
	time.Sleep(100 * time.Millisecond)
	b.expectNone(300*time.Millisecond, "a repeat after the cancel", func(ev *Event) bool { return ev.Type == "b-a-o-tbl" })
}

// bluehelm's own picture reaches devices: a simulated unit's position, an incident,
// an area.
func TestBluehelmPictureReachesDevices(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	a.send(sa("A", "ALPHA", 3, 3))
	waitFor(t, "A to be registered", func() bool { return len(ts.srv.Contacts(bluehelm.SystemPrincipal("t"), nil)) == 1 })
	sys := bluehelm.SystemPrincipal("sim")
	err := ts.pipeline.Positions(ts.ctx, sys, []ingest.Report{{
		Track:    bluehelm.Track{UID: "unit-7", Callsign: "BANBATT-7", Kind: bluehelm.KindVehicle, Marking: bluehelm.Marking{Component: bluehelm.Military}},
		Position: bluehelm.Position{UID: "unit-7", Time: time.Now().UTC(), Lat: 7.7, Lon: 30.1, Source: "sim"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := a.expect("a-f-G-E-V", "unit-7")
	if got.Callsign() != "BANBATT-7" || got.Point.Lat != 7.7 {
		t.Errorf("unit = %+v", got)
	}
	inc := &bluehelm.Incident{Title: "Shots fired near the market", Category: "armed_clash", Status: bluehelm.StatusSubmitted,
		OccurredStart: time.Now().UTC().Add(-time.Hour), Location: bluehelm.Point{Lon: 31.6, Lat: 4.85},
		Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := ts.pipeline.CreateIncident(ts.ctx, bluehelm.SystemPrincipal("joc"), inc); err != nil {
		t.Fatal(err)
	}
	m := a.expect(TypeSpotMarker, IncidentUID(inc.ID))
	if !strings.Contains(m.Callsign(), "Shots fired") {
		t.Errorf("incident marker callsign %q", m.Callsign())
	}

	// A no-go area becomes a red closed drawing with one link per vertex.
	ring := orb.Ring{{31.5, 6.0}, {31.7, 6.0}, {31.7, 6.2}, {31.5, 6.2}, {31.5, 6.0}}
	area := &bluehelm.Area{Name: "Pibor road no-go", Kind: bluehelm.AreaRestricted,
		Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := ts.pipeline.CreateArea(ts.ctx, bluehelm.SystemPrincipal("joc"), area); err != nil {
		t.Fatal(err)
	}
	shape := a.expect(TypeShape, AreaUID(area.ID))
	var links int
	shape.Detail.Each(func(el Element) bool {
		if el.Name == "link" && el.Attr("point") != "" {
			links++
		}
		return true
	})
	if links != 4 || shape.Callsign() != "Pibor road no-go" || !bytes.Contains(shape.Detail.XML, []byte(`<strokeColor value="-65536"/>`)) {
		t.Errorf("area drawing: %d links, %q, %s", links, shape.Callsign(), shape.Detail.XML)
	}

	// An alert with a place is a marker while open and deleted once resolved.
	pt := bluehelm.Point{Lon: 31.6, Lat: 6.1}
	al := &bluehelm.Alert{Source: bluehelm.AlertManual, Severity: bluehelm.SevWarning, Title: "Roadblock reported",
		Location: &pt, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := ts.pipeline.RaiseAlert(ts.ctx, bluehelm.SystemPrincipal("joc"), al); err != nil {
		t.Fatal(err)
	}
	a.expect(TypeSpotMarker, AlertUID(al.ID))
	if _, err := ts.pipeline.ResolveAlert(ts.ctx, bluehelm.SystemPrincipal("joc"), al.ID, 0, "cleared"); err != nil {
		t.Fatal(err)
	}
	del := a.expect(TypeDelete, "")
	if link, _ := del.Detail.Find("link"); link.Attr("uid") != AlertUID(al.ID) {
		t.Errorf("delete links %q, want %s", link.Attr("uid"), AlertUID(al.ID))
	}
}

// What a device sends reaches only devices whose users may see it; groups separate
// devices too.
func TestAccessRuleAndGroups(t *testing.T) {
	ts := newTestServer(t)
	polCert := ts.device("police-1", "police", bluehelm.Confidential)
	alphaCert := ts.device("alpha-1", "alpha", bluehelm.Unclassified)
	bravoCert := ts.device("bravo-1", "bravo", bluehelm.Unclassified, "other-group")
	pol, err := ts.dialTLS(&polCert)
	if err != nil {
		t.Fatal(err)
	}
	alpha, err := ts.dialTLS(&alphaCert)
	if err != nil {
		t.Fatal(err)
	}
	bravo, err := ts.dialTLS(&bravoCert)
	if err != nil {
		t.Fatal(err)
	}
	pol.send(sa("POL", "UNPOL-1", 1, 1))
	alpha.send(sa("ALPHA", "ALPHA", 1, 1))
	pol.expect("a-f-G-U-C", "ALPHA") // unclassified military: police may see it
	alpha.expectNone(300*time.Millisecond, "a CONFIDENTIAL police position", func(ev *Event) bool { return ev.UID == "POL" })
	bravo.expectNone(200*time.Millisecond, "another group's position", func(ev *Event) bool { return ev.UID == "ALPHA" || ev.UID == "POL" })
	// The contact directory a device is shown follows the same groups.
	for _, c := range ts.srv.Contacts(bluehelm.SystemPrincipal("t"), []string{"other-group"}) {
		t.Errorf("contact %s listed for a device of another group", c.UID)
	}
	if got := len(ts.srv.Contacts(bluehelm.SystemPrincipal("t"), []string{bluehelm.DefaultGroup})); got != 2 {
		t.Errorf("%d contacts in the mission group, want 2", got)
	}
	st, _ := ts.picture.Get("POL")
	if st.Classification != bluehelm.Confidential || st.Component != bluehelm.Police {
		t.Errorf("police track marking = %+v", st.Marking)
	}
}

// A certificate the CA did not sign, a missing certificate, and a revoked device are
// refused at the handshake.
func TestTLSRefusals(t *testing.T) {
	ts := newTestServer(t)
	good := ts.device("dev-1", "alpha", bluehelm.Unclassified)
	if _, err := ts.dialTLS(&good); err != nil {
		t.Fatalf("valid device refused: %v", err)
	}
	if _, err := ts.dialTLS(nil); err == nil {
		t.Error("no certificate accepted")
	}
	other, err := ca.Init(filepath.Join(t.TempDir(), "other"), "another CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := other.IssueDevice("stranger", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stranger := tls.Certificate{Certificate: [][]byte{creds.Certificate.Raw}, PrivateKey: creds.Key}
	if _, err := ts.dialTLS(&stranger); err == nil {
		t.Error("certificate from another CA accepted")
	}
	revoked := ts.device("dev-2", "alpha", bluehelm.Unclassified)
	d, _ := ts.db.DeviceByName(ts.ctx, "dev-2")
	if err := ts.db.RevokeDevice(ts.ctx, d.ID, time.Now(), "lost", bluehelm.NewAudit(bluehelm.SystemPrincipal("t"), "device.revoke", "", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.dialTLS(&revoked); err == nil {
		t.Error("revoked device accepted")
	}
}

// A device revoked while connected is cut off without waiting for it to reconnect.
func TestRevokedWhileConnected(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.RecheckInterval = 50 * time.Millisecond })
	cert := ts.device("dev-1", "alpha", bluehelm.Unclassified)
	dev, err := ts.dialTLS(&cert)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := ts.db.DeviceByName(ts.ctx, "dev-1")
	if err := ts.db.RevokeDevice(ts.ctx, d.ID, time.Now(), "stolen", bluehelm.NewAudit(bluehelm.SystemPrincipal("t"), "device.revoke", "", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the revoked device to be cut off", func() bool {
		return counter(t, ts.srv.m.disconnects.WithLabelValues("revoked")) == 1
	})
	// Anything still buffered may be read; then the connection must end, not idle.
	var err2 error
	for err2 == nil {
		_, err2 = dev.next(2 * time.Second)
	}
	var ne net.Error
	if errors.As(err2, &ne) && ne.Timeout() {
		t.Fatal("the revoked device's connection is still open")
	}
}

// A plain-TCP device that sends <auth> first acts as that user, not the lab
// identity; wrong credentials end the connection.
func TestAuthMessage(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Auth = fakeAuth{"alpha": "right"} })
	good := ts.dialTCP()
	good.write([]byte(`<auth><cot username="alpha" password="right" uid="ANDROID-x"/></auth>`))
	good.send(sa("ANDROID-x", "ALPHA", 1, 1))
	waitFor(t, "the position", func() bool { _, ok := ts.picture.Get("ANDROID-x"); return ok })
	contacts := ts.srv.Contacts(bluehelm.SystemPrincipal("t"), nil)
	if len(contacts) != 1 || contacts[0].Username != "alpha" {
		t.Fatalf("contacts = %+v, want alpha's device", contacts)
	}
	st, _ := ts.picture.Get("ANDROID-x")
	if st.Component != bluehelm.Military {
		t.Errorf("track component %s", st.Component)
	}

	bad := ts.dialTCP()
	bad.write([]byte(`<?xml version="1.0"?><auth><cot username="alpha" password="wrong"/></auth>`))
	var err error
	for err == nil {
		_, err = bad.next(3 * time.Second)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("wrong password: connection still open")
	}
	waitFor(t, "the refusal to be counted", func() bool {
		return counter(t, ts.srv.m.disconnects.WithLabelValues("unauthenticated")) == 1
	})
}

type fakeAuth map[string]string

func (f fakeAuth) Authenticate(_ context.Context, user, pass string) (*bluehelm.User, error) {
	if pw, ok := f[user]; ok && pw == pass {
		return &bluehelm.User{ID: 99, Username: user, Role: bluehelm.RoleReporter, Component: bluehelm.Military}, nil
	}
	return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "wrong username or password")
}

// A message going to many devices is encoded once per wire format.
func TestEncodedOncePerFormat(t *testing.T) {
	m := &outMsg{ev: sa("A", "ALPHA", 1, 1)}
	first := [2][]byte{m.bytes(false), m.bytes(true)}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p, b := range [2][]byte{m.bytes(false), m.bytes(true)} {
				if &b[0] != &first[p][0] {
					t.Error("message encoded again")
				}
			}
		}()
	}
	wg.Wait()
	if first[0][0] != '<' || first[1][0] != 0xbf {
		t.Errorf("formats: %q…, %x…", first[0][:1], first[1][:1])
	}
}
