package ca

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// handshake connects a TAK-like client presenting creds to a server using cfg over
// loopback, and returns the server's handshake error, the client's error (handshake
// or first read: under TLS 1.3 the client learns of a refusal only when it reads) and
// whether the session was resumed.
func handshake(t *testing.T, cfg *tls.Config, c *CA, creds *DeviceCredentials, cache tls.ClientSessionCache) (serverErr, clientErr error, resumed bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		err     error
		resumed bool
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		sc := tls.Server(conn, cfg)
		if err := sc.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		// Send a byte so the client reads the session tickets too.
		_, err = sc.Write([]byte("k"))
		done <- result{err: err, resumed: sc.ConnectionState().DidResume}
	}()

	clientCfg := &tls.Config{
		RootCAs:            c.Pool(),
		ServerName:         "localhost",
		ClientSessionCache: cache,
	}
	if creds != nil {
		clientCfg.Certificates = []tls.Certificate{{
			Certificate: [][]byte{creds.Certificate.Raw},
			PrivateKey:  creds.Key,
			Leaf:        creds.Certificate,
		}}
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	cc := tls.Client(conn, clientCfg)
	clientErr = cc.Handshake()
	if clientErr == nil {
		buf := make([]byte, 1)
		_, clientErr = io.ReadFull(cc, buf)
	}
	r := <-done
	return r.err, clientErr, r.resumed
}

func TestTLSRefusesAtHandshake(t *testing.T) {
	c := testCA(t)
	serverCert, err := c.ServerCertificate([]string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store := &fakeDevices{}
	cfg := c.ServerTLSConfig(serverCert, c.DeviceCheck(store, time.Now))
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("MinVersion %x ClientAuth %v", cfg.MinVersion, cfg.ClientAuth)
	}

	good, err := c.IssueDevice("echo-5", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	store.add(registered(good))
	unknown, err := c.IssueDevice("foxtrot-6", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	cache := tls.NewLRUClientSessionCache(4)
	if serr, cerr, _ := handshake(t, cfg, c, good, cache); serr != nil || cerr != nil {
		t.Fatalf("registered device: server %v, client %v", serr, cerr)
	}
	// The second connection resumes the session: the check must still run then.
	serr, cerr, resumed := handshake(t, cfg, c, good, cache)
	if serr != nil || cerr != nil {
		t.Fatalf("registered device, second connection: server %v, client %v", serr, cerr)
	}
	if !resumed {
		t.Fatal("second connection did not resume; the revocation test below would not cover resumption")
	}

	if serr, cerr, _ := handshake(t, cfg, c, unknown, nil); serr == nil || cerr == nil {
		t.Fatalf("unknown device accepted: server %v, client %v", serr, cerr)
	}
	if serr, cerr, _ := handshake(t, cfg, c, nil, nil); serr == nil || cerr == nil {
		t.Fatalf("client without certificate accepted: server %v, client %v", serr, cerr)
	}
	rogueCA, err := Init(t.TempDir(), "Rogue CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := rogueCA.IssueDevice("echo-5", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if serr, cerr, _ := handshake(t, cfg, c, rogue, nil); serr == nil || cerr == nil {
		t.Fatalf("certificate from another CA accepted: server %v, client %v", serr, cerr)
	}

	now := time.Now()
	store.update(Serial(good.Certificate), func(d *bluehelm.Device) { d.RevokedAt = &now })
	serr, cerr, _ = handshake(t, cfg, c, good, cache)
	if serr == nil || cerr == nil {
		t.Fatalf("revoked device accepted (session resumption?): server %v, client %v", serr, cerr)
	}

	if serr, cerr, _ := handshake(t, c.ServerTLSConfig(serverCert, nil), c, good, nil); serr == nil || cerr == nil {
		t.Fatal("a listener without a device check accepted a client")
	}
}
