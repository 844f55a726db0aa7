package federation

import (
	"encoding/json"
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
	// LeafUser and LeafPassword protect the leaf listener (hub) and are
	// presented by the leaf (camp); empty: no authentication (labs only).
	LeafUser, LeafPassword string
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
	if o.LeafUser == "" {
		o.LeafUser = "leaf"
	}
	if o.LeafPassword == "" {
		// Labs only: a deployment sets its own secret on both sides.
		o.LeafPassword = "bluehelm-lab"
	}
	q := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	// The data lives in an account of its own (FED) with JetStream, beside a
	// system account: the layout in which nats-server supports JetStream
	// domains across leaf nodes (sourcing through "$JS.<domain>.API").
	conf := fmt.Sprintf(`
server_name: %s
jetstream { store_dir: %s, domain: %s, max_mem: %d, max_file: %d }
accounts {
  FED { users = [ { user: "node", password: %s } ], jetstream: enabled }
  SYS { users = [ { user: "sys", password: %s } ] }
}
system_account: SYS
`, o.Node, q(o.StoreDir), o.Node, o.MaxMemory, o.MaxStore, q(localSecret), q(localSecret+"-sys"))
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
		// S2 on the leaf connection whatever the round-trip time: satellite
		// links are slow and metered, and the proxy in tests is fast.
		conf += fmt.Sprintf("leafnodes { host: %s, port: %d, no_advertise: true, compression: s2_fast, authorization { users = [ { user: %s, password: %s, account: FED } ] } }\n",
			q(host), port, q(o.LeafUser), q(o.LeafPassword))
	}
	if o.FederateTo != "" {
		u, err := leafURL(o.FederateTo)
		if err != nil {
			return nil, err
		}
		u.User = url.UserPassword(o.LeafUser, o.LeafPassword)
		conf += fmt.Sprintf("leafnodes { reconnect: %s, remotes [ { url: %s, account: FED, compression: s2_fast } ] }\n",
			q(o.Reconnect.String()), q(u.String()))
	}
	opts := &server.Options{}
	if err := opts.ProcessConfigString(conf); err != nil {
		return nil, fmt.Errorf("federation: nats configuration: %w", err)
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
func (n *natsLog) Warnf(f string, a ...any)   { n.l.Warn(fmt.Sprintf(f, a...)) }
func (n *natsLog) Fatalf(f string, a ...any)  { n.l.Error(fmt.Sprintf(f, a...)) }
func (n *natsLog) Errorf(f string, a ...any)  { n.l.Error(fmt.Sprintf(f, a...)) }
func (n *natsLog) Debugf(f string, a ...any)  {}
func (n *natsLog) Tracef(f string, a ...any)  {}
