// Package nats is bluehelm's adapter to NATS: an embedded nats-server with
// JetStream (standalone, joined to a cluster by routes, or listening for leaf
// nodes), and a Bus that carries the pipeline's changes to every node of a
// cluster so that they share one live picture.
package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
)

// Defaults of ServerOptions. JetStream otherwise takes 75 % of the machine's RAM
// and of the disk as its limits, which on a shared server is nobody's intent.
const (
	DefaultMaxMemory = 64 << 20 // memory streams: bluehelm uses file streams only
	DefaultMaxStore  = 4 << 30
	// DefaultSyncInterval bounds what a power cut can take from the file store
	// (its own default is 2 minutes). A process crash loses nothing either way:
	// the data is in the page cache, and in a cluster on other nodes too.
	DefaultSyncInterval = time.Second
)

// ServerOptions configure an embedded NATS server. Addresses are host:port; port 0
// picks a free port (read it back from Server).
type ServerOptions struct {
	// Name is the server's name, unique in a cluster (the bluehelm node id).
	Name string
	// ClientListen is the address for NATS clients. Empty: none for a standalone
	// server (the node's own connection is in-process); a random loopback port for
	// a clustered or leaf-listening one, which the server needs to open its other
	// listeners.
	ClientListen string
	// StoreDir is where JetStream keeps its files (required).
	StoreDir string
	// MaxMemory and MaxStore bound JetStream; zero means the defaults above.
	MaxMemory, MaxStore int64
	// SyncInterval is how often the file store is fsynced; zero: DefaultSyncInterval.
	SyncInterval time.Duration
	// ClusterName names the cluster; nodes only join a cluster of their name.
	ClusterName string
	// ClusterListen is the address other nodes' routes connect to; empty with no
	// Routes: a standalone server.
	ClusterListen string
	// Routes are the nats://host:port cluster addresses of the other nodes (this
	// node's own address may be in the list: it is skipped by the server).
	Routes []string
	// LeafListen is the address leaf nodes (camps) connect to; empty: none.
	LeafListen string
	// JetStreamDomain isolates this server's JetStream from a hub's across a leaf
	// link; empty: none.
	JetStreamDomain string
	// Configure, if set, is called last with the server options, for what this
	// struct does not cover (leaf remotes, compression, TLS).
	Configure func(*natsserver.Options) error
	// Logger receives the server's log: notices at Debug (the startup banner and
	// routine route traffic), warnings at Warn, errors at Error. Nil: slog.Default.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections; zero: 10 s.
	ReadyTimeout time.Duration
}

// Server is a running embedded NATS server.
type Server struct {
	*natsserver.Server
	opts ServerOptions
	so   *natsserver.Options
}

// hostPort splits a listen address; port 0 becomes the server's "random port".
func hostPort(what, addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s %q: %w", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s %q: bad port", what, addr)
	}
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	return h, port, nil
}

// StartServer starts an embedded NATS server with JetStream and waits until it
// accepts connections. In a cluster, JetStream itself becomes usable once a
// quorum of the nodes has met; the Bus waits for that when it creates its stream.
func StartServer(o ServerOptions) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("nats: StoreDir is required")
	}
	if o.Name == "" {
		return nil, errors.New("nats: Name is required")
	}
	if o.MaxMemory == 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.MaxStore == 0 {
		o.MaxStore = DefaultMaxStore
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	so := &natsserver.Options{
		ServerName:         o.Name,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		JetStreamMaxMemory: o.MaxMemory,
		JetStreamMaxStore:  o.MaxStore,
		JetStreamDomain:    o.JetStreamDomain,
		SyncInterval:       o.SyncInterval,
		// bluehelm handles SIGTERM itself and shuts the server down in order.
		NoSigs: true,
		// A lost node's routes are retried every second; one error a minute
		// says it is still gone without flooding the log.
		ReconnectErrorReports: 60,
	}
	clientListen := o.ClientListen
	if clientListen == "" && (o.ClusterListen != "" || len(o.Routes) > 0 || o.LeafListen != "") {
		// The server opens its route and leaf listeners only after its client
		// listener (with none, it never does): a loopback port nobody is told of.
		clientListen = "127.0.0.1:0"
	}
	if clientListen == "" {
		so.DontListen = true
	} else {
		h, p, err := hostPort("client listen", clientListen)
		if err != nil {
			return nil, err
		}
		so.Host, so.Port = h, p
	}
	if o.ClusterListen != "" || len(o.Routes) > 0 {
		if o.ClusterListen == "" {
			return nil, errors.New("nats: routes need a cluster listen address")
		}
		if len(o.Routes) == 0 {
			// JetStream refuses a cluster it cannot route to (and the server would
			// only say so in its log, after the ready timeout).
			return nil, errors.New("nats: a cluster listen address needs the routes to the nodes (this node's own may be among them)")
		}
		h, p, err := hostPort("cluster listen", o.ClusterListen)
		if err != nil {
			return nil, err
		}
		so.Cluster.Name = o.ClusterName
		if so.Cluster.Name == "" {
			so.Cluster.Name = "bluehelm"
		}
		so.Cluster.Host, so.Cluster.Port = h, p
		for _, r := range o.Routes {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("nats: route %q: want nats://host:port", r)
			}
			so.Routes = append(so.Routes, u)
		}
	}
	if o.LeafListen != "" {
		h, p, err := hostPort("leaf listen", o.LeafListen)
		if err != nil {
			return nil, err
		}
		so.LeafNode.Host, so.LeafNode.Port = h, p
	}
	if o.Configure != nil {
		if err := o.Configure(so); err != nil {
			return nil, err
		}
	}
	ns, err := natsserver.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	ns.SetLoggerV2(&slogAdapter{log: o.Logger.With("component", "nats-server", "server", o.Name)}, true, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(o.ReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats: server %s not ready after %s", o.Name, o.ReadyTimeout)
	}
	return &Server{Server: ns, opts: o, so: so}, nil
}

// Connect opens an in-process client connection to the server (no TCP), with
// the given extra options.
func (s *Server) Connect(opts ...natsgo.Option) (*natsgo.Conn, error) {
	opts = append([]natsgo.Option{natsgo.InProcessServer(s.Server), natsgo.Name(s.opts.Name)}, opts...)
	return natsgo.Connect("", opts...)
}

// ClusterURL returns the nats://host:port other nodes' routes connect to, or ""
// when the server is not clustered.
func (s *Server) ClusterURL() string {
	a := s.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// LeafURL returns the nats://host:port leaf nodes connect to, or "".
func (s *Server) LeafURL() string {
	if s.opts.LeafListen == "" {
		return ""
	}
	// The server writes the port it bound back into its options when asked for a
	// random one, and keeps the options it was given.
	return "nats://" + net.JoinHostPort(s.so.LeafNode.Host, strconv.Itoa(s.so.LeafNode.Port))
}

// slogAdapter sends the server's log to slog.
type slogAdapter struct{ log *slog.Logger }

func (l *slogAdapter) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *slogAdapter) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *slogAdapter) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *slogAdapter) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *slogAdapter) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *slogAdapter) Tracef(format string, v ...any)  {}
