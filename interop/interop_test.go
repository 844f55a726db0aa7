// Package interop tests the bluehelm CoT server and codecs against real TAK client
// libraries: @tak-ps/node-tak and @tak-ps/node-cot, run with node. The scripts are
// in js/; the npm packages are pinned in package-lock.json and installed with
// `npm ci --prefix interop`. Without node or the packages the tests skip, except
// under CI=true, where they fail.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	"github.com/bluehelm/bluehelm/cot"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// scriptTimeout bounds one node script. The scripts' own waits are far shorter;
// this is for a loaded CI machine, where starting node with node-cot alone has
// been seen to take tens of seconds.
const scriptTimeout = 150 * time.Second

// needNode returns the node binary, or skips (fails under CI=true) when node or the
// pinned npm packages are missing.
func needNode(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		msg := why + "; install Node 20 and run `npm ci --prefix interop` to run the interop tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, pkg := range []string{"@tak-ps/node-cot", "@tak-ps/node-tak"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			missing("interop/node_modules/" + pkg + " is missing")
		}
	}
	return node
}

// step is one JSON line a script printed.
type step map[string]json.RawMessage

// output is what a script printed, by step name (the last line of each name wins,
// except "sample" and "decoded", which are kept in order).
type output struct {
	steps map[string]step
	lines []step
}

// runScript runs js/<script> with cfg in INTEROP_CONFIG and returns its JSON lines.
// It fails the test if the script exits non-zero or does not end with "done".
func runScript(t *testing.T, node, script string, cfg any, stdin []byte, args ...string) *output {
	t.Helper()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("js", script)}, args...)...)
	cmd.Env = append(os.Environ(), "INTEROP_CONFIG="+string(cfgJSON))
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("node %s: %v in %s; output:\n%s", script, runErr, time.Since(start).Round(time.Millisecond), tail(stdout.String(), 8000))
	out := &output{steps: map[string]step{}}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var s step
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Errorf("%s printed a line that is not JSON: %q", script, sc.Text())
			continue
		}
		var name string
		json.Unmarshal(s["step"], &name)
		out.steps[name] = s
		out.lines = append(out.lines, s)
	}
	if runErr != nil || out.steps["done"] == nil {
		var msg string
		if e := out.steps["error"]; e != nil {
			json.Unmarshal(e["error"], &msg)
		}
		t.Fatalf("node %s failed (%v): %s\nstdout:\n%s\nstderr:\n%s", script, runErr, msg, stdout.String(), tail(stderr.String(), 4000))
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// get decodes field of step name into v, failing if it is missing.
func (o *output) get(t *testing.T, name, field string, v any) {
	t.Helper()
	s, ok := o.steps[name]
	if !ok {
		t.Fatalf("no %q step in the script's output", name)
	}
	raw, ok := s[field]
	if !ok {
		t.Fatalf("step %q has no %q", name, field)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("step %q field %q: %v", name, field, err)
	}
}

// nodeCoT is a CoT as a script describes it (lib.js describe): detail in xml-js
// compact form ({"_attributes": {…}, "_text": …, child: …}).
type nodeCoT struct {
	UID, Type, How, Time, Start, Stale, Callsign string
	Lat, Lon, HAE, CE, LE                        float64
	Detail                                       map[string]any
}

// elem returns the first detail element at path (e.g. "__chat", "chatgrp").
func (c *nodeCoT) elem(path ...string) map[string]any {
	cur := c.Detail
	for _, name := range path {
		v := cur[name]
		if arr, ok := v.([]any); ok && len(arr) > 0 {
			v = arr[0]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		cur = m
	}
	return cur
}

// attr returns an attribute of the element at path as a string ("" if absent);
// numbers (protobuf fields decoded by node-cot) are formatted without exponent.
func (c *nodeCoT) attr(name string, path ...string) string {
	attrs, _ := c.elem(path...)["_attributes"].(map[string]any)
	return scalar(attrs[name])
}

func (c *nodeCoT) text(path ...string) string { return scalar(c.elem(path...)["_text"]) }

func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strings.TrimSuffix(strings.TrimRight(big.NewFloat(v).Text('f', 10), "0"), ".")
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// checkPosition checks a position report built by lib.js position() after it went
// through the server.
func checkPosition(t *testing.T, who string, c *nodeCoT, uid, callsign string, lat, lon float64) {
	t.Helper()
	if c.UID != uid || c.Type != "a-f-G-U-C" || c.Callsign != callsign {
		t.Errorf("%s got uid=%q type=%q callsign=%q, want %s a-f-G-U-C %s", who, c.UID, c.Type, c.Callsign, uid, callsign)
	}
	if c.Lat != lat || c.Lon != lon || c.HAE != 420.5 || c.CE != 9.5 {
		t.Errorf("%s got point %v,%v hae=%v ce=%v, want %v,%v hae=420.5 ce=9.5", who, c.Lat, c.Lon, c.HAE, c.CE, lat, lon)
	}
	checks := []struct{ got, want, what string }{
		{c.attr("endpoint", "contact"), cot.ServerEndpoint, "contact endpoint"},
		{c.attr("name", "__group"), "Cyan", "__group name"},
		{c.attr("role", "__group"), "Team Member", "__group role"},
		{c.attr("platform", "takv"), "node-cot", "takv platform"},
		{c.attr("version", "takv"), "12.23.0", "takv version"},
		{c.attr("course", "track"), "90", "track course"},
		{c.attr("speed", "track"), "1.5", "track speed"},
		{c.attr("battery", "status"), "77", "status battery"},
		{c.attr("iconsetpath", "usericon"), "COT_MAPPING_2525B/a-f/a-f-G", "usericon (pass-through)"},
		{c.text("remarks"), callsign + " on patrol", "remarks (pass-through)"},
	}
	for _, ck := range checks {
		if normNum(ck.got) != normNum(ck.want) {
			t.Errorf("%s: %s = %q, want %q (detail %v)", who, ck.what, ck.got, ck.want, c.Detail)
		}
	}
}

// normNum makes "90.0" and "90" compare equal.
func normNum(s string) string {
	if f, ok := new(big.Float).SetString(s); ok {
		return scalar(mustFloat(f))
	}
	return s
}

func mustFloat(f *big.Float) float64 { v, _ := f.Float64(); return v }

// --- the server ---------------------------------------------------------------

// server is a bluehelm CoT server on real parts (SQLite in a temporary directory,
// the ingest pipeline, the live picture and hub) listening on 127.0.0.1: plain TCP
// as the lab user, TLS with device certificates from a throwaway mission CA.
type server struct {
	t       *testing.T
	ctx     context.Context
	db      *sqlite.DB
	picture *live.Picture
	tcpAddr string
	tlsAddr string
	ca      *ca.CA
	dir     string
	users   map[string]*bluehelm.User
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	reg := prometheus.NewRegistry()
	s := &server{t: t, ctx: ctx, db: db, picture: live.NewPicture(), dir: dir, users: map[string]*bluehelm.User{}}
	hub := live.NewHub(live.HubOptions{})
	pipeline := ingest.New(db, s.picture, live.NewGeofencer(), hub, ingest.Options{Logger: log, Registerer: reg})
	for _, name := range []string{"lab", "alpha", "bravo", "charlie"} {
		u := &bluehelm.User{Username: name, Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Unclassified}
		if err := db.CreateUser(ctx, u, bluehelm.NewAudit(bluehelm.SystemPrincipal("interop"), "user.create", "", nil)); err != nil {
			t.Fatal(err)
		}
		s.users[name] = u
	}
	mission, err := ca.Init(filepath.Join(dir, "ca"), "interop mission CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.ca = mission
	srv := cot.New(cot.Config{
		Ingest: pipeline, Directory: db, Chat: db, Hub: hub, Picture: s.picture, Records: db,
		Logger: log, Registry: reg, LabUser: s.users["lab"], Version: "interop",
	})
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
	s.tcpAddr, s.tlsAddr = tcpLn.Addr().String(), tlsLn.Addr().String()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); srv.Run(ctx) }()
	go func() { defer wg.Done(); srv.Serve(ctx, tcpLn, cot.ListenerTCP) }()
	go func() { defer wg.Done(); srv.Serve(ctx, tlsLn, cot.ListenerTLS) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Wait()
		db.Close()
	})
	return s
}

// devicePEM registers a device of user and writes its certificate and key as PEM
// files for node; it returns their paths as {"cert", "key"}.
func (s *server) devicePEM(name, user string) map[string]string {
	s.t.Helper()
	creds, err := s.ca.IssueDevice(name, time.Hour, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	leaf := creds.Certificate
	d := &bluehelm.Device{Name: name, UserID: s.users[user].ID, Username: user, Serial: ca.Serial(leaf),
		Fingerprint: ca.Fingerprint(leaf), Groups: []string{bluehelm.DefaultGroup}, Classification: bluehelm.Unclassified,
		NotAfter: leaf.NotAfter, CreatedAt: time.Now()}
	if err := s.db.CreateDevice(s.ctx, d, bluehelm.NewAudit(bluehelm.SystemPrincipal("interop"), "device.create", "", nil)); err != nil {
		s.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(creds.Key)
	if err != nil {
		s.t.Fatal(err)
	}
	paths := map[string]string{"cert": filepath.Join(s.dir, name+".pem"), "key": filepath.Join(s.dir, name+".key")}
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
	write(paths["cert"], "CERTIFICATE", leaf.Raw)
	write(paths["key"], "PRIVATE KEY", keyDER)
	return paths
}

// waitTrack waits for a device's position to be on the live picture and in the store.
func (s *server) waitTrack(uid string) (bluehelm.TrackState, []bluehelm.Position) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, ok := s.picture.Get(uid)
		ps, err := s.db.Positions(s.ctx, bluehelm.PositionQuery{UID: uid})
		if ok && err == nil && len(ps) > 0 {
			return st, ps
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("position of %s not stored within 5 s (on picture: %v, stored: %d, %v)", uid, ok, len(ps), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) checkStored(uid, callsign string, lat, lon float64) {
	s.t.Helper()
	st, ps := s.waitTrack(uid)
	if st.Callsign != callsign || st.Position.Source != "cot" {
		s.t.Errorf("track %s on the picture = callsign %q source %q, want %q from cot", uid, st.Callsign, st.Position.Source, callsign)
	}
	p := ps[len(ps)-1]
	if p.Lat != lat || p.Lon != lon || p.Course != 90 || p.Battery != 77 {
		s.t.Errorf("stored position of %s = %+v, want %v,%v course 90 battery 77", uid, p, lat, lon)
	}
}

// --- scenarios ------------------------------------------------------------------

// TestNodeClients runs each node script against its own in-process server and
// checks what the clients report and what the server stored.
func TestNodeClients(t *testing.T) {
	node := needNode(t)
	scenarios := []struct {
		name, script string
		devices      map[string]string // script's device key → bluehelm user
		check        func(t *testing.T, s *server, out *output)
	}{{
		// Two node-tak clients on mutual TLS exchange node-cot position reports;
		// node-tak reads the server version from the t-x-takp-v offer.
		name: "tls_position_exchange", script: "tls_exchange.js",
		devices: map[string]string{"a": "alpha", "b": "bravo"},
		check: func(t *testing.T, s *server, out *output) {
			var version string
			out.get(t, "connected", "server_version", &version)
			if version != "bluehelm interop" {
				t.Errorf("node-tak read server version %q from the t-x-takp-v offer, want %q", version, "bluehelm interop")
			}
			var atB, atA nodeCoT
			out.get(t, "b_received", "cot", &atB)
			out.get(t, "a_received", "cot", &atA)
			checkPosition(t, "B", &atB, "NODE-TLS-A", "ALPHA", 4.85, 31.58)
			checkPosition(t, "A", &atA, "NODE-TLS-B", "BRAVO", 4.86, 31.59)
			s.checkStored("NODE-TLS-A", "ALPHA", 4.85, 31.58)
			s.checkStored("NODE-TLS-B", "BRAVO", 4.86, 31.59)
		},
	}, {
		// Plain TCP: one client negotiates v1 and sends and reads node-cot to_proto
		// frames, the other stays on XML; each reads what the other sent.
		name: "tcp_v1_and_xml", script: "tcp_v1.js",
		check: func(t *testing.T, s *server, out *output) {
			var offered []string
			var status string
			var v1 bool
			out.get(t, "negotiated", "offered", &offered)
			out.get(t, "negotiated", "status", &status)
			out.get(t, "negotiated", "v1", &v1)
			if len(offered) != 1 || offered[0] != "1" || status != "true" || !v1 {
				t.Errorf("negotiation: offered %v, answered %q, switched %v; want [1], true, true", offered, status, v1)
			}
			var atX, atP nodeCoT
			var frames int
			out.get(t, "xml_received", "cot", &atX)
			out.get(t, "v1_received", "cot", &atP)
			out.get(t, "v1_received", "frames", &frames)
			checkPosition(t, "the XML client", &atX, "NODE-V1-P", "PROTO", 4.87, 31.6)
			checkPosition(t, "the v1 client", &atP, "NODE-XML-X", "XMLER", 4.88, 31.61)
			if frames < 1 {
				t.Errorf("the v1 client read %d frames", frames)
			}
			s.checkStored("NODE-V1-P", "PROTO", 4.87, 31.6)
			s.checkStored("NODE-XML-X", "XMLER", 4.88, 31.61)
		},
	}, {
		// Pings: node-tak's on connect and after 5 s are answered (t-x-c-t-r); a
		// node-cot CoT.ping() is answered in XML and, after negotiation, in a v1
		// frame; nobody else sees pings or pongs.
		name: "ping_pong", script: "ping.js",
		devices: map[string]string{"a": "alpha"},
		check: func(t *testing.T, s *server, out *output) {
			for _, st := range []string{"xml_pong", "v1_pong"} {
				var pong nodeCoT
				out.get(t, st, "cot", &pong)
				if pong.Type != cot.TypePong || pong.UID != "takPong" || pong.How != "h-g-i-g-o" {
					t.Errorf("%s = %s %s how %s, want %s takPong h-g-i-g-o", st, pong.Type, pong.UID, pong.How, cot.TypePong)
				}
			}
			var pongs int
			var open bool
			out.get(t, "tak_pongs", "pongs", &pongs)
			out.get(t, "tak_pongs", "open", &open)
			if pongs < 2 || !open {
				t.Errorf("node-tak got %d pongs (open=%v), want at least 2 (on connect and after 5 s)", pongs, open)
			}
			var stray []string
			out.get(t, "stray", "events", &stray)
			if len(stray) != 0 {
				t.Errorf("pings or pongs reached other clients or were echoed: %v", stray)
			}
		},
	}, {
		// Directed GeoChat: node-cot DirectChat with marti dest callsign BRAVO goes
		// to BRAVO only, and is stored once.
		name: "direct_geochat", script: "chat.js",
		devices: map[string]string{"a": "alpha", "b": "bravo", "c": "charlie"},
		check: func(t *testing.T, s *server, out *output) {
			var sentUID, text string
			out.get(t, "sent", "uid", &sentUID)
			out.get(t, "sent", "text", &text)
			var got nodeCoT
			out.get(t, "b_received", "cot", &got)
			if got.UID != sentUID || got.Type != cot.TypeChat || got.text("remarks") != text ||
				got.attr("senderCallsign", "__chat") != "ALPHA" || got.attr("chatroom", "__chat") != "BRAVO" ||
				got.attr("uid1", "__chat", "chatgrp") != "NODE-CHAT-B" {
				t.Errorf("BRAVO got %+v", got)
			}
			var atC, atA []string
			out.get(t, "others", "c", &atC)
			out.get(t, "others", "a", &atA)
			if len(atC) != 0 || len(atA) != 0 {
				t.Errorf("the message for BRAVO also reached CHARLIE %v / came back to ALPHA %v", atC, atA)
			}
			msgs, err := s.db.Chat(s.ctx, bluehelm.ChatFilter{Viewer: bluehelm.SystemPrincipal("interop")})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Fatalf("%d chat messages stored, want 1: %+v", len(msgs), msgs)
			}
			m := msgs[0]
			if m.UID != sentUID || m.Text != text || m.SenderUser != "alpha" || m.SenderCallsign != "ALPHA" ||
				m.SenderUID != "NODE-CHAT-A" || m.Chatroom != "BRAVO" {
				t.Errorf("stored chat = %+v", m)
			}
		},
	}}
	// One after another: each starts node processes, which are slow to start on
	// a busy two-core machine.
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := newServer(t)
			devices := map[string]map[string]string{}
			for key, user := range sc.devices {
				devices[key] = s.devicePEM(sc.name+"-"+key, user)
			}
			cfg := map[string]any{"tcp": s.tcpAddr, "tls": s.tlsAddr, "devices": devices}
			out := runScript(t, node, sc.script, cfg, nil)
			sc.check(t, s, out)
		})
	}
}
