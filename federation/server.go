package federation

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerOptions start the node's embedded NATS server: its JetStream domain is
// the node's name, so that every node keeps its own streams and a peer reaches
// them across the leaf link through the "$JS.<node>.API" prefix.
type ServerOptions struct {
	Node     string // this node's name (the JetStream domain); see ValidName
	StoreDir string // JetStream file store
	// LeafListen ("host:port", port 0 for a random one) makes the server a hub
	// that camps join as leaf nodes (HQ).
	LeafListen string
	// FederateTo ("nats-leaf://host:port") makes the server join a hub as a
	// leaf node (camp).
	FederateTo string
	// LeafPassword is the secret of the leaf link: a camp presents its node
	// name and it; empty: a lab password.
	LeafPassword string
	// Peers are the camps a hub accepts, each as a leaf user named after it
	// that may only reach its own stream on the hub and receive what is
	// meant for it: a camp cannot read what HQ keeps for another camp.
	Peers []string
	// PeerPasswords gives a camp a password of its own (else LeafPassword):
	// with one secret shared by all, a camp could log in as another.
	PeerPasswords map[string]string
	// LeafTLS encrypts the leaf link. At a hub it holds the certificate the
	// leaf listener presents, and camps can then connect only with TLS; at a
	// camp it configures the connection to the hub (RootCAs: the authority
	// that signed the hub's certificate, checked against the host of
	// FederateTo). Nil: plain TCP (and a tls:// FederateTo uses the system's
	// authorities).
	LeafTLS *tls.Config
	// Reconnect is how soon a leaf retries a cut link; zero: 1 s.
	Reconnect time.Duration
	// MaxStore bounds the file store (bytes); zero: 10 GiB. MaxMemory bounds
	// memory streams (none are used); zero: 64 MiB.
	MaxStore, MaxMemory int64
	Logger              *slog.Logger
}

// localSecret is the password of the in-process connections; the server has no
// client listener, so it only keeps the accounts apart.
const localSecret = "in-process"

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidName reports whether s may name a node: it becomes a JetStream domain,
// stream names and subject tokens, so it is restricted to letters, digits, '-'
// and '_'.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// StartServer starts the embedded server and waits until it accepts
// connections. The server listens for no NATS clients on TCP: the node
// connects in-process; only the leaf port (hub) or the leaf connection (camp)
// touch the network.
func StartServer(o ServerOptions) (*Server, error) {
	if !ValidName(o.Node) {
		return nil, fmt.Errorf("federation: node name %q: want 1-32 letters, digits, '-' or '_'", o.Node)
	}
	if o.StoreDir == "" {
		return nil, errors.New("federation: a store directory is required")
	}
	if o.Reconnect <= 0 {
		o.Reconnect = time.Second
	}
	if o.MaxStore <= 0 {
		o.MaxStore = 10 << 30
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = 64 << 20
	}
	if o.LeafPassword == "" {
		// Labs only: a deployment sets its own secret on both sides.
		o.LeafPassword = "bluehelm-lab"
	}
	// The data lives in an account of its own (FED) with JetStream, beside a
	// system account: the layout in which nats-server supports JetStream
	// domains across leaf nodes (sourcing through "$JS.<domain>.API").
	// A hub accepts each camp as a user of the FED account named after it
	// (leaf connections authenticate against the accounts' users, which,
	// unlike the leafnodes block's, carry permissions).
	var leafListen string
	camps := []string{fmt.Sprintf("{ user: \"node\", password: %s }", confQuote(localSecret))}
	if o.LeafListen != "" {
		host, port, err := splitHostPort(o.LeafListen)
		if err != nil {
			return nil, fmt.Errorf("federation: --leaf-listen %q: %w", o.LeafListen, err)
		}
		if port == 0 {
			// Resolve the port here: the server does not export the one it picks.
			if port, err = freePort(host); err != nil {
				return nil, err
			}
		}
		if len(o.Peers) == 0 {
			return nil, errors.New("federation: a hub needs the names of the camps it accepts")
		}
		for _, p := range o.Peers {
			if !ValidName(p) || p == "node" {
				return nil, fmt.Errorf("federation: peer name %q", p)
			}
			pw := o.LeafPassword
			if v := o.PeerPasswords[p]; v != "" {
				pw = v
			}
			camps = append(camps, fmt.Sprintf("{ user: %s, password: %s, permissions: %s }", confQuote(p), confQuote(pw), leafPermissions(o.Node, p)))
		}
		// S2 on the leaf connection whatever the round-trip time: satellite
		// links are slow and metered, and the proxy in tests is fast.
		leafListen = fmt.Sprintf("leafnodes { host: %s, port: %d, no_advertise: true, compression: s2_fast }\n", confQuote(host), port)
	}
	conf := fmt.Sprintf(`
server_name: %s
jetstream { store_dir: %s, domain: %s, max_mem: %d, max_file: %d }
accounts {
  FED { users = [ %s ], jetstream: enabled }
  SYS { users = [ { user: "sys", password: %s } ] }
}
system_account: SYS
`, o.Node, confQuote(o.StoreDir), o.Node, o.MaxMemory, o.MaxStore, strings.Join(camps, ", "), confQuote(localSecret+"-sys"))
	conf += leafListen
	if o.FederateTo != "" {
		u, err := leafURL(o.FederateTo)
		if err != nil {
			return nil, err
		}
		u.User = url.UserPassword(o.Node, o.LeafPassword)
		conf += fmt.Sprintf("leafnodes { reconnect: %s, remotes [ { url: %s, account: FED, compression: s2_fast } ] }\n",
			confQuote(o.Reconnect.String()), confQuote(u.String()))
	}
	opts := &server.Options{}
	if err := opts.ProcessConfigString(conf); err != nil {
		return nil, fmt.Errorf("federation: nats configuration: %w", err)
	}
	if o.LeafTLS != nil {
		// A satellite round trip is 0.6 s or more, and a TLS handshake
		// takes two: the default (2 s) fails on a bad day.
		const handshake = 15
		if o.LeafListen != "" {
			opts.LeafNode.TLSConfig = o.LeafTLS.Clone()
			opts.LeafNode.TLSConfig.MinVersion = max(opts.LeafNode.TLSConfig.MinVersion, tls.VersionTLS12)
			opts.LeafNode.TLSTimeout = handshake
		}
		for _, r := range opts.LeafNode.Remotes {
			r.TLS, r.TLSConfig, r.TLSTimeout = true, o.LeafTLS.Clone(), handshake
			r.TLSConfig.MinVersion = max(r.TLSConfig.MinVersion, tls.VersionTLS12)
		}
	}
	// A crash loses nothing that reached the page cache; a power cut at a camp
	// loses at most the last second instead of the default two minutes.
	opts.SyncInterval = time.Second
	opts.DontListen = true
	opts.NoSigs = true
	opts.NoLog = true
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("federation: nats server: %w", err)
	}
	if o.Logger != nil {
		opts.NoLog = false
		ns.SetLoggerV2(&natsLog{l: o.Logger.With("nats", o.Node)}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("federation: nats server did not start within 20 s")
	}
	return &Server{Server: ns, LeafPort: opts.LeafNode.Port}, nil
}

// Connect opens an in-process client connection in the federation account.
func (s *Server) Connect(name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(s.Server), nats.UserInfo("node", localSecret),
		nats.Name(name), nats.MaxReconnects(-1))
}

// confQuote quotes a string for the server's configuration language, which takes
// only \", \\ and a few other escapes (not JSON's \u).
func confQuote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// leafPermissions are a camp's rights on its hub's leaf listener, seen from
// the camp: what it may publish into the hub and what it may receive. It
// pulls its messages from the hub's stream for it and acknowledges them, and
// answers the hub's requests to its own JetStream domain (replies and
// deliveries go to inboxes); it receives the hub's heartbeats, the hub's
// requests to its domain and acknowledgements of its own stream for the hub.
func leafPermissions(hub, camp string) string {
	list := func(subjects ...string) string {
		out := make([]string, len(subjects))
		for i, s := range subjects {
			out[i] = confQuote(s)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	in, out := outStream(camp)+"."+outConsumer(camp), outStream(hub)+"."+outConsumer(hub)
	pub := list("fed."+camp+".>", "_INBOX.>",
		"$JS."+hub+".API.CONSUMER.INFO."+in, "$JS."+hub+".API.CONSUMER.MSG.NEXT."+in,
		"$JS.ACK."+in+".>", "$JS.ACK."+hub+".*."+in+".>")
	sub := list("fed."+hub+".>", "_INBOX.>", "$JS."+camp+".API.>",
		"$JS.ACK."+out+".>", "$JS.ACK."+camp+".*."+out+".>")
	return fmt.Sprintf("{ publish: { allow: %s }, subscribe: { allow: %s } }", pub, sub)
}

// Server is the node's embedded NATS server.
type Server struct {
	*server.Server
	// LeafPort is the port of a hub's leaf listener (0 for a leaf).
	LeafPort int
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	var port int
	if _, err := fmt.Sscanf(p, "%d", &port); err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return h, port, nil
}

// leafURL accepts nats-leaf://host:port (and nats://, tls://) for the hub.
func leafURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("federation: --federate-to %q: want nats-leaf://host:port", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "nats-leaf", "nats":
		u.Scheme = "nats"
	case "tls":
	default:
		return nil, fmt.Errorf("federation: --federate-to %q: unknown scheme %q (want nats-leaf)", s, u.Scheme)
	}
	return u, nil
}

// natsLog sends the embedded server's log lines to slog.
type natsLog struct{ l *slog.Logger }

func (n *natsLog) Noticef(f string, a ...any) { n.l.Info(fmt.Sprintf(f, a...)) }
func (n *natsLog) Warnf(f string, a ...any) {
	m := fmt.Sprintf(f, a...)
	if strings.HasPrefix(m, "Plaintext passwords detected") {
		return // the configuration is built in memory from the environment, never written
	}
	n.l.Warn(m)
}
func (n *natsLog) Fatalf(f string, a ...any) { n.l.Error(fmt.Sprintf(f, a...)) }
func (n *natsLog) Errorf(f string, a ...any) { n.l.Error(fmt.Sprintf(f, a...)) }
func (n *natsLog) Debugf(f string, a ...any) {}
func (n *natsLog) Tracef(f string, a ...any) {}
