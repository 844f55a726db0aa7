package cot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testServer is a CoT server on real parts: SQLite in a temporary directory, the
// ingest pipeline, the live picture and hub, listening on loopback TCP and TLS.
type testServer struct {
	t        *testing.T
	ctx      context.Context
	db       *sqlite.DB
	pipeline *ingest.Pipeline
	hub      *live.Hub
	picture  *live.Picture
	srv      *Server
	reg      *prometheus.Registry
	tcpAddr  string
	tlsAddr  string
	ca       *ca.CA
	users    map[string]*bluehelm.User
}

type serverOption func(*Config)

func newTestServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := &testServer{t: t, ctx: ctx, db: db, hub: live.NewHub(live.HubOptions{}), picture: live.NewPicture(),
		reg: prometheus.NewRegistry(), users: map[string]*bluehelm.User{}}
	ts.pipeline = ingest.New(db, ts.picture, live.NewGeofencer(), ts.hub, ingest.Options{Logger: log, Registerer: ts.reg})
	for _, u := range []bluehelm.User{
		{Username: "lab", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Unclassified},
		{Username: "alpha", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Confidential},
		{Username: "bravo", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Unclassified},
		{Username: "police", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Confidential},
		{Username: "watcher", Role: bluehelm.RoleViewer, Component: bluehelm.Military, Clearance: bluehelm.Unclassified},
	} {
		u := u
		if err := db.CreateUser(ctx, &u, bluehelm.NewAudit(bluehelm.SystemPrincipal("test"), "user.create", "", nil)); err != nil {
			t.Fatal(err)
		}
		ts.users[u.Username] = &u
	}
	mission, err := ca.Init(filepath.Join(t.TempDir(), "ca"), "test mission CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts.ca = mission
	cfg := Config{
		Ingest: ts.pipeline, Directory: db, Chat: db, Hub: ts.hub, Picture: ts.picture, Records: db,
		Logger: log, Registry: ts.reg, LabUser: ts.users["lab"], Version: "test",
		EmergencyRepeat: 50 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ts.srv = New(cfg)
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := mission.ServerCertificate([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := tls.Listen("tcp", "127.0.0.1:0", mission.ServerTLSConfig(serverCert, mission.DeviceCheck(db, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts.tcpAddr, ts.tlsAddr = tcpLn.Addr().String(), tlsLn.Addr().String()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); ts.srv.Run(ctx) }()
	go func() { defer wg.Done(); ts.srv.Serve(ctx, tcpLn, ListenerTCP) }()
	go func() { defer wg.Done(); ts.srv.Serve(ctx, tlsLn, ListenerTLS) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		ts.srv.Wait()
		db.Close()
	})
	return ts
}

// device registers a device for user and returns its client certificate.
func (ts *testServer) device(name, user string, cl bluehelm.Classification, groups ...string) tls.Certificate {
	ts.t.Helper()
	if len(groups) == 0 {
		groups = []string{bluehelm.DefaultGroup}
	}
	creds, err := ts.ca.IssueDevice(name, time.Hour, time.Now())
	if err != nil {
		ts.t.Fatal(err)
	}
	leaf := creds.Certificate
	d := &bluehelm.Device{Name: name, UserID: ts.users[user].ID, Username: user, Serial: ca.Serial(leaf),
		Fingerprint: ca.Fingerprint(leaf), Groups: groups, Classification: cl,
		NotAfter: leaf.NotAfter, CreatedAt: time.Now()}
	if err := ts.db.CreateDevice(ts.ctx, d, bluehelm.NewAudit(bluehelm.SystemPrincipal("test"), "device.create", "", nil)); err != nil {
		ts.t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: creds.Key, Leaf: leaf}
}

// client is a test device: it writes raw bytes and reads events in whatever format
// the server negotiated.
type client struct {
	t     *testing.T
	nc    net.Conn
	br    *bufio.Reader
	xr    *XMLReader
	fr    *FrameReader
	proto bool
}

func (ts *testServer) dialTCP() *client {
	ts.t.Helper()
	nc, err := net.Dial("tcp", ts.tcpAddr)
	if err != nil {
		ts.t.Fatal(err)
	}
	return newClient(ts.t, nc)
}

func (ts *testServer) dialTLS(cert *tls.Certificate) (*client, error) {
	cfg := &tls.Config{RootCAs: ts.ca.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	nc, err := tls.Dial("tcp", ts.tlsAddr, cfg)
	if err != nil {
		return nil, err
	}
	if err := nc.Handshake(); err != nil {
		nc.Close()
		return nil, err
	}
	// TLS 1.3 reports a refused client certificate only on the first read: read
	// the server's protocol offer, which it sends once it has accepted the device.
	c := newClient(ts.t, nc)
	ev, err := c.next(5 * time.Second)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if ev.Type != TypeNegotiationOffer {
		return nil, fmt.Errorf("first event %s, want the offer", ev.Type)
	}
	return c, nil
}

func newClient(t *testing.T, nc net.Conn) *client {
	br := bufio.NewReader(nc)
	c := &client{t: t, nc: nc, br: br, xr: NewXMLReader(br, MaxEventSize)}
	t.Cleanup(func() { nc.Close() })
	return c
}

func (c *client) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send writes an event in the negotiated format.
func (c *client) send(ev *Event) {
	c.t.Helper()
	if c.proto {
		c.write(ev.AppendFramed(nil))
	} else {
		c.write(ev.AppendXML(nil))
	}
}

func (c *client) next(timeout time.Duration) (*Event, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	for {
		var (
			b   []byte
			err error
		)
		if c.proto {
			b, err = c.fr.Next()
		} else {
			b, err = c.xr.Next()
		}
		if err != nil {
			return nil, err
		}
		if c.proto {
			ev, _, err := DecodeProto(b)
			return ev, err
		}
		return DecodeXML(b)
	}
}

// expect reads events until one of type typ (and uid, if given) arrives.
func (c *client) expect(typ, uid string) *Event {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ev, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s %s: %v", typ, uid, err)
		}
		if ev.Type == typ && (uid == "" || ev.UID == uid) {
			return ev
		}
	}
	c.t.Fatalf("no %s %s within 5 s", typ, uid)
	return nil
}

// expectNone reads for d and fails if an event matching pred arrives.
func (c *client) expectNone(d time.Duration, what string, pred func(*Event) bool) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		ev, err := c.next(left)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			c.t.Fatalf("reading: %v", err)
		}
		if pred(ev) {
			c.t.Fatalf("got %s: %s %s", what, ev.Type, ev.UID)
		}
	}
}

// negotiate asks for protocol v1 and switches the client to it.
func (c *client) negotiate() {
	c.t.Helper()
	c.expect(TypeNegotiationOffer, "")
	now := time.Now().UTC()
	q := newEvent("protouid", TypeNegotiationRequest, HowMachine, now, time.Minute)
	q.Detail.XML = []byte(`<TakControl><TakRequest version="1"/></TakControl>`)
	c.send(q)
	ans := c.expect(TypeNegotiationAnswer, "")
	if el, ok := ans.Detail.Find("TakControl"); !ok || !bytes.Contains(el.Raw, []byte(`status="true"`)) {
		c.t.Fatalf("negotiation answer %s", ans.Detail.XML)
	}
	c.proto = true
	c.fr = NewFrameReader(c.br, MaxEventSize)
}

// sa is a device's own position report.
func sa(uid, callsign string, lat, lon float64) *Event {
	now := time.Now().UTC()
	ev := newEvent(uid, "a-f-G-U-C", HowMachine, now, 2*time.Minute)
	ev.Point = Point{Lat: lat, Lon: lon, HAE: 420, CE: 9.5, LE: Unknown}
	ev.Detail.Contact = &Contact{Callsign: callsign, Endpoint: "192.168.1.10:4242:tcp"}
	ev.Detail.Group = &Group{Name: "Cyan", Role: "Team Member"}
	ev.Detail.Takv = &Takv{Device: "Test", Platform: "ATAK-CIV", OS: "34", Version: "5.4.0"}
	ev.Detail.Track = &Track{Speed: 1.5, Course: 90}
	ev.Detail.Status = &Status{Battery: 80}
	return ev
}

func chat(from, fromCallsign, toUID, toCallsign, text string) *Event {
	now := time.Now().UTC()
	room := "All Chat Rooms"
	if toCallsign != "" {
		room = toCallsign
	}
	id := fmt.Sprintf("%d", now.UnixNano())
	ev := newEvent("GeoChat."+from+"."+room+"."+id, TypeChat, HowGIGO, now, 24*time.Hour)
	x := fmt.Sprintf(`<__chat parent="RootContactGroup" groupOwner="false" messageId="%s" chatroom="%s" id="%s" senderCallsign="%s"><chatgrp uid0="%s" uid1="%s" id="%s"/></__chat><link uid="%s" type="a-f-G-U-C" relation="p-p"/><remarks source="BAO.F.ATAK.%s" to="%s" time="%s">%s</remarks>`,
		id, room, room, fromCallsign, from, orDefault(toUID, "All Chat Rooms"), room, from, from, room, FormatTime(now), text)
	if toCallsign != "" {
		x += `<marti><dest callsign="` + toCallsign + `"/></marti>`
	}
	ev.Detail.XML = []byte(x)
	return ev
}

func counter(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = strings.Contains

// testLogOut is where the server under test logs: nowhere, unless BLUEHELM_TEST_LOG is set.
func testLogOut() io.Writer {
	if os.Getenv("BLUEHELM_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
