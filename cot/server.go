package cot

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/prometheus/client_golang/prometheus"
)

// Ingest is the part of the one write path the CoT server feeds.
type Ingest interface {
	Positions(ctx context.Context, by bluehelm.Principal, reports []ingest.Report) error
	CreateIncident(ctx context.Context, by bluehelm.Principal, inc *bluehelm.Incident) error
	RaiseAlert(ctx context.Context, by bluehelm.Principal, a *bluehelm.Alert) error
	ResolveAlert(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, resolution string) (*bluehelm.Alert, error)
}

// Directory resolves who is behind a device certificate or an <auth> message.
type Directory interface {
	DeviceBySerial(ctx context.Context, serial string) (*bluehelm.Device, error)
	User(ctx context.Context, id int64) (*bluehelm.User, error)
}

// Authenticator checks the username and password of an <auth> message on plain TCP.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*bluehelm.User, error)
}

// ChatLog keeps GeoChat messages.
type ChatLog interface {
	AppendChat(ctx context.Context, m *bluehelm.ChatMessage) error
}

// Records is what the server reads of bluehelm's records: the picture replayed to
// a newly connected device (areas, open alerts, recent incidents), and the reports
// markers were already filed as.
type Records interface {
	Areas(ctx context.Context) ([]*bluehelm.Area, error)
	Alerts(ctx context.Context, f bluehelm.AlertFilter) ([]*bluehelm.Alert, error)
	FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error)
	IncidentByExternalID(ctx context.Context, externalID string) (*bluehelm.Incident, error)
}

// Config configures a Server. Ingest, Directory and Records are required.
type Config struct {
	Ingest    Ingest
	Directory Directory
	Auth      Authenticator // optional: accept <auth> on plain TCP
	Chat      ChatLog       // optional: keep GeoChat
	Hub       *live.Hub     // bluehelm's own changes reach devices through it
	Picture   *live.Picture // tracks replayed to a new device
	Records   Records       // required: replay to new devices, reports already filed
	Logger    *slog.Logger
	Registry  prometheus.Registerer

	// LabUser is who plain-TCP devices act as when they send no <auth>: the lab
	// identity (a reporter, UNCLASSIFIED, one group). Nil refuses such devices.
	LabUser   *bluehelm.User
	LabGroups []string

	NodeID  string // names this server in flow tags and negotiation; default "bluehelm"
	Version string

	IdleTimeout      time.Duration // no complete event for this long closes a connection; default 5 min
	HandshakeTimeout time.Duration // TLS handshake; default 15 s
	WriteTimeout     time.Duration // one write; a device that does not read for this long is dropped; default 20 s
	// WriteDelay is how long a device's writer waits after the first queued message
	// for more to write with it; default 2 ms, negative for none.
	WriteDelay      time.Duration
	QueueSize       int           // non-position messages waiting per connection; default 1024
	MaxTracks       int           // distinct positions waiting per connection; default 16384
	RateLimit       float64       // events per second a connection may send; default 100
	RateBurst       int           // default 400
	EmergencyRepeat time.Duration // how often an emergency is resent until cancelled; default 3 s
	// PositionStale is how long a bluehelm track sent to devices stays fresh; default 5 min.
	PositionStale time.Duration
	// RecheckInterval is how often connected devices are looked up again, so that a
	// device revoked (or a user disabled) while connected is cut off; default 30 s.
	RecheckInterval time.Duration

	Now func() time.Time
}

// Server is the CoT stream server: devices connect over TLS with a certificate from
// the mission CA (or plain TCP in a lab), send their events into the one ingest
// pipeline and receive, through the router, what other devices send and what
// bluehelm knows — each only what its user may see.
type Server struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	router  *router
	flowKey string

	emMu        sync.Mutex
	emergencies map[string]*emergency // by event uid

	nextID atomic.Uint64
	wg     sync.WaitGroup

	lnMu      sync.Mutex
	listeners map[net.Listener]struct{}
	closing   atomic.Bool
}

// New returns a server; call Run for the background work and Serve for each listener.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.NodeID == "" {
		cfg.NodeID = "bluehelm"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.IdleTimeout, 5*time.Minute)
	def(&cfg.HandshakeTimeout, 15*time.Second)
	def(&cfg.WriteTimeout, 20*time.Second)
	if cfg.WriteDelay == 0 {
		cfg.WriteDelay = 2 * time.Millisecond
	}
	def(&cfg.EmergencyRepeat, 3*time.Second)
	def(&cfg.PositionStale, 5*time.Minute)
	def(&cfg.RecheckInterval, 30*time.Second)
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.MaxTracks <= 0 {
		cfg.MaxTracks = 16384
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 100
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 400
	}
	if len(cfg.LabGroups) == 0 {
		cfg.LabGroups = []string{bluehelm.DefaultGroup}
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "cot"),
		m:           newMetrics(cfg.Registry),
		flowKey:     flowTagKey(cfg.NodeID),
		emergencies: map[string]*emergency{},
		listeners:   map[net.Listener]struct{}{},
	}
	s.router = newRouter(s)
	return s
}

var nonNameRE = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// flowTagKey makes the node id a valid XML attribute name.
func flowTagKey(node string) string {
	k := nonNameRE.ReplaceAllString(node, "_")
	if k == "" || !('A' <= k[0] && k[0] <= 'Z' || 'a' <= k[0] && k[0] <= 'z' || k[0] == '_') {
		k = "n" + k
	}
	return "bluehelm-" + strings.TrimPrefix(k, "bluehelm-")
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// Run does the server's background work until ctx ends: it forwards bluehelm's own
// changes (tracks, incidents, alerts, areas) to devices and repeats emergencies.
func (s *Server) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if s.cfg.Hub != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.bridge(ctx) }()
	}
	wg.Add(2)
	go func() { defer wg.Done(); s.repeatEmergencies(ctx) }()
	go func() { defer wg.Done(); s.recheckDevices(ctx) }()
	wg.Wait()
}

// recheckDevices cuts off connected devices whose certificate was revoked or has
// expired, or whose user was disabled, since they connected: the handshake check
// alone would let them stay on for as long as their connection lasts.
func (s *Server) recheckDevices(ctx context.Context) {
	t := time.NewTicker(s.cfg.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.router.mu.RLock()
		var conns []*conn
		for c := range s.router.conns {
			if c.device != nil {
				conns = append(conns, c)
			}
		}
		s.router.mu.RUnlock()
		for _, c := range conns {
			if reason := s.stillAllowed(ctx, c); reason != "" {
				s.log.Warn("CoT device cut off", "who", c.who, "reason", reason)
				c.close(reason)
			}
		}
	}
}

// stillAllowed returns why c must go, or "".
func (s *Server) stillAllowed(ctx context.Context, c *conn) string {
	_, _, err := bluehelm.IdentifyDevice(ctx, s.cfg.Directory, s.cfg.Directory, c.device.Serial, c.device.Fingerprint, s.now())
	if bluehelm.ErrorCode(err) == bluehelm.EUNAUTHENTICATED {
		return "revoked"
	}
	return "" // allowed, or a store hiccup, which is no reason to drop a device
}

// Listener kinds, as metric labels.
const (
	ListenerTLS = "tls"
	ListenerTCP = "tcp"
)

// Serve accepts connections on ln until ctx ends or ln is closed. kind is ListenerTLS
// (ln must be a TLS listener whose config requires client certificates; see
// TLSConfig) or ListenerTCP.
func (s *Server) Serve(ctx context.Context, ln net.Listener, kind string) error {
	s.lnMu.Lock()
	s.listeners[ln] = struct{}{}
	s.lnMu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accepting a CoT connection", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := s.newConn(nc, kind)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve(ctx)
		}()
	}
}

// Wait blocks until every connection has ended (after the listeners are closed and
// the context passed to Serve is done).
func (s *Server) Wait() { s.wg.Wait() }
