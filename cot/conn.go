package cot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"golang.org/x/time/rate"
)

// conn is one device's stream. A reader goroutine (serve) decodes and handles what
// the device sends; a writer goroutine drains its bounded queue to the socket.
type conn struct {
	s      *Server
	nc     net.Conn
	id     uint64
	kind   string
	remote string

	// Who the device acts as; set before the first event is handled, then fixed.
	principal bluehelm.Principal
	device    *bluehelm.Device
	marking   bluehelm.Marking // given to what the device sends
	groups    []string
	who       string // for logs: device name or username

	// Routing identity, guarded by the router's lock.
	uid, callsign string
	lastSA        *outMsg
	lastSAType    string
	lastSeen      time.Time

	out        *outQueue
	queue      chan item   // accepted events for the worker, in arrival order
	writeProto atomic.Bool // the writer switched to TAK protocol v1
	limiter    *rate.Limiter
	limited    int // consecutive rate-limited events
	rejected   int // events refused on this connection, to keep the log readable

	closeOnce sync.Once
	done      chan struct{}
	reason    atomic.Value // string: why the connection ended
}

func (s *Server) newConn(nc net.Conn, kind string) *conn {
	return &conn{
		s: s, nc: nc, kind: kind, id: s.nextID.Add(1),
		remote:  nc.RemoteAddr().String(),
		out:     newOutQueue(s.cfg.QueueSize, s.cfg.MaxTracks),
		queue:   make(chan item, maxIngestBatch),
		limiter: rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst),
		done:    make(chan struct{}),
	}
}

// errClose ends a connection with a reason for the metrics and the log.
type errClose struct {
	reason string
	err    error
}

func (e *errClose) Error() string {
	if e.err == nil {
		return e.reason
	}
	return e.reason + ": " + e.err.Error()
}

func closeWith(reason string, err error) error { return &errClose{reason, err} }

func (c *conn) close(reason string) {
	c.closeOnce.Do(func() {
		c.reason.Store(reason)
		close(c.done)
		c.out.close()
		c.nc.Close()
	})
}

func (c *conn) serve(ctx context.Context) {
	s := c.s
	s.m.accepted.WithLabelValues(c.kind).Inc()
	stop := context.AfterFunc(ctx, func() { c.close("shutdown") })
	defer stop()
	if err := c.handshake(ctx); err != nil {
		s.m.disconnects.WithLabelValues("handshake").Inc()
		s.log.Info("CoT handshake refused", "remote", c.remote, "listener", c.kind, "err", err)
		c.close("handshake")
		return
	}
	s.m.connections.WithLabelValues(c.kind).Inc()
	defer s.m.connections.WithLabelValues(c.kind).Dec()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); defer c.guard("writer"); c.writeLoop() }()
	go func() { defer wg.Done(); defer c.guard("worker"); c.work(ctx) }()
	// Offer TAK protocol v1 at once; the device may ask for it any time while it
	// still speaks XML (TAK servers must wait at least 60 s; we wait forever).
	c.send(s.offer())
	if c.identified() {
		s.router.add(ctx, c)
	}

	err := c.safeRead(ctx)
	close(c.queue) // the worker finishes what was read, then stops
	reason := "closed"
	var ec *errClose
	switch {
	case errors.As(err, &ec):
		reason = ec.reason
	case errors.Is(err, io.EOF):
		reason = "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		reason = "idle"
	case err != nil:
		reason = "read_error"
	}
	if r, ok := c.reason.Load().(string); ok && r != "" {
		reason = r // the writer or shutdown closed it first
	}
	c.close(reason)
	wg.Wait()
	s.router.remove(c)
	s.m.disconnects.WithLabelValues(reason).Inc()
	s.log.Info("CoT device disconnected", "remote", c.remote, "who", c.who, "uid", c.uid, "reason", reason, "err", err)
}

// guard turns a panic on one connection's goroutine into the end of that
// connection, logged with its stack: one device's bad input must never take the
// server, and every other device, down with it.
func (c *conn) guard(where string) {
	if r := recover(); r != nil {
		c.s.log.Error("CoT connection failed", "who", c.who, "remote", c.remote, "in", where, "panic", r, "stack", string(debug.Stack()))
		c.close("panic")
	}
}

func (c *conn) safeRead(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.s.log.Error("CoT connection failed", "who", c.who, "remote", c.remote, "in", "reader", "panic", r, "stack", string(debug.Stack()))
			c.close("panic")
			err = closeWith("panic", fmt.Errorf("%v", r))
		}
	}()
	return c.readLoop(ctx)
}

// handshake establishes who the device is. Over TLS that is the device bound to
// the client certificate (the TLS layer has already refused unknown and revoked
// certificates; this looks the device up again for its user and groups). Plain TCP
// devices are identified by an <auth> message or act as the lab identity.
func (c *conn) handshake(ctx context.Context) error {
	s := c.s
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		if c.kind == ListenerTLS {
			return errors.New("TLS listener gave a plain connection")
		}
		// A plain device is the lab identity until an <auth> first message says
		// otherwise; without a lab identity it must send <auth>.
		if s.cfg.LabUser != nil {
			c.setIdentity(s.cfg.LabUser, nil, s.cfg.LabGroups, bluehelm.Unclassified)
		}
		return nil
	}
	c.nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	hctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return err
	}
	c.nc.SetDeadline(time.Time{})
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return errors.New("no client certificate")
	}
	leaf := certs[0]
	sum := sha256.Sum256(leaf.Raw)
	u, dev, err := bluehelm.IdentifyDevice(ctx, s.cfg.Directory, s.cfg.Directory,
		leaf.SerialNumber.Text(16), hex.EncodeToString(sum[:]), s.now())
	if err != nil {
		return err
	}
	c.setIdentity(u, dev, dev.Groups, dev.Classification)
	return nil
}

func (c *conn) setIdentity(u *bluehelm.User, dev *bluehelm.Device, groups []string, cl bluehelm.Classification) {
	c.principal = u.Principal()
	c.device = dev
	c.groups = slices.Clone(groups)
	c.marking = bluehelm.Marking{Classification: min(cl, u.Clearance), Component: u.Component}
	c.who = u.Username
	if dev != nil {
		c.who = dev.Name + " (" + u.Username + ")"
	}
}

func (c *conn) identified() bool { return c.principal.Username != "" }

// readLoop reads events until the connection ends. The deadline covers a whole
// event, not one read, so a device dribbling bytes (slow loris) is closed as idle.
func (c *conn) readLoop(ctx context.Context) error {
	s := c.s
	br := bufio.NewReaderSize(c.nc, 64<<10)
	xr := NewXMLReader(br, MaxEventSize)
	var fr *FrameReader
	var skipped uint64
	first := true
	for {
		c.nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		var (
			b      []byte
			err    error
			format = "xml"
		)
		if fr != nil {
			format = "proto"
			b, err = fr.Next()
			if n := fr.Skipped(); n > skipped {
				s.m.skipped.Add(float64(n - skipped))
				skipped = n
			}
		} else {
			b, err = xr.Next()
		}
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				// One bad event: count it, drop it, go on with the stream.
				c.reject(de.Reason, err)
				continue
			}
			return err
		}
		if fr == nil && bytes.HasPrefix(b, []byte("<auth")) {
			if err := c.auth(ctx, b, first); err != nil {
				return err
			}
			first = false
			continue
		}
		if !c.identified() {
			return closeWith("unauthenticated", errors.New("plain TCP without <auth> and no lab identity configured"))
		}
		first = false

		var ev *Event
		if fr != nil {
			ev, _, err = DecodeProto(b)
		} else {
			ev, err = DecodeXML(b)
		}
		if err != nil {
			c.reject(Reason(err), err)
			continue
		}
		if ev == nil {
			// A v1 message with only a TakControl: nothing to act on mid-stream.
			continue
		}
		s.m.received.WithLabelValues(format).Inc()
		if !c.limiter.Allow() {
			c.limited++
			c.reject("rate_limited", fmt.Errorf("more than %.0f events/s", s.cfg.RateLimit))
			if c.limited > 10*s.cfg.RateBurst {
				return closeWith("flood", fmt.Errorf("kept sending above %.0f events/s", s.cfg.RateLimit))
			}
			continue
		}
		c.limited = 0
		if ev.Type == TypeNegotiationRequest && fr == nil {
			if c.negotiate(ev) {
				fr = NewFrameReader(br, MaxEventSize)
			}
			continue
		}
		if it, ok := s.accept(c, ev); ok {
			// A full queue blocks this reader: the device is slowed down by TCP
			// rather than its events dropped.
			c.queue <- it
		}
	}
}

// auth handles the optional <auth><cot username password uid/></auth> first message.
func (c *conn) auth(ctx context.Context, b []byte, first bool) error {
	s := c.s
	if c.kind == ListenerTLS {
		return nil // the certificate already says who this is
	}
	if !first || s.cfg.Auth == nil {
		return closeWith("unauthenticated", errors.New("<auth> not accepted here"))
	}
	d := Detail{XML: bytes.TrimSpace(b)}
	root, ok := d.Find("auth")
	if !ok {
		return closeWith("unauthenticated", errors.New("malformed <auth>"))
	}
	var user, pass string
	root.Each(func(el Element) bool {
		if el.Name == "cot" {
			user, pass = el.Attr("username"), el.Attr("password")
			return false
		}
		return true
	})
	u, err := s.cfg.Auth.Authenticate(ctx, user, pass)
	if err != nil {
		return closeWith("unauthenticated", err)
	}
	if c.identified() {
		s.router.remove(c) // it was the lab identity until now
	}
	c.setIdentity(u, nil, []string{bluehelm.DefaultGroup}, bluehelm.Unclassified)
	s.router.add(ctx, c)
	return nil
}

// reject counts a refused event. The first few per connection are logged at info
// level with their reason so that an operator can see why a device's reports do
// not show; after that only the metric counts, so a broken or hostile client
// cannot flood the log.
func (c *conn) reject(reason string, err error) {
	c.s.m.rejected.WithLabelValues(reason).Inc()
	c.rejected++
	level := slog.LevelDebug
	switch {
	case c.rejected <= 10:
		level = slog.LevelInfo
	case c.rejected == 11:
		c.s.log.Info("CoT: further refused events from this device are counted, not logged", "remote", c.remote, "who", c.who)
	}
	c.s.log.Log(context.Background(), level, "CoT event refused", "remote", c.remote, "who", c.who, "reason", reason, "err", err)
}

// send queues m for this device. It reports false when the queue was full.
func (c *conn) send(m *outMsg) bool {
	ok, replaced, closed := c.out.push(m)
	if replaced {
		c.s.m.coalesced.Inc()
	}
	if !ok && !closed {
		c.s.m.dropped.WithLabelValues("queue_full").Inc()
	}
	return ok
}

// writeBatchTarget is the queue length at which the writer stops waiting for more.
const writeBatchTarget = 32

// writeLoop writes queued messages in batches. A write that does not finish within
// WriteTimeout means the device stopped reading: it is disconnected rather than
// allowed to hold memory and a goroutine forever.
func (c *conn) writeLoop() {
	s := c.s
	var (
		batch []*outMsg
		buf   []byte
	)
	flush := func() bool {
		if len(buf) == 0 {
			return true
		}
		c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := c.nc.Write(buf); err != nil {
			reason := "write_error"
			if errors.Is(err, os.ErrDeadlineExceeded) {
				reason = "slow_reader"
			}
			c.close(reason)
			return false
		}
		buf = buf[:0]
		return true
	}
	for {
		select {
		case <-c.done:
			return
		case <-c.out.ready:
		}
		if d := s.cfg.WriteDelay; d > 0 && c.out.len() < writeBatchTarget {
			// Let a few more messages gather so that one write carries them: under
			// load this divides the system calls per device, which on a small
			// machine is the difference between keeping up and coalescing.
			time.Sleep(d)
		}
		batch = c.out.drain(batch[:0])
		buf = buf[:0]
		now := time.Now()
		for i, m := range batch {
			buf = append(buf, m.bytes(c.writeProto.Load())...)
			if m.switchProto {
				// Everything after the t-x-takp-r answer is v1.
				if !flush() {
					return
				}
				c.writeProto.Store(true)
			}
			if !m.received.IsZero() {
				s.m.latency.Observe(now.Sub(m.received).Seconds())
			}
			batch[i] = nil
			if len(buf) >= 64<<10 && !flush() {
				return
			}
		}
		if !flush() {
			return
		}
		s.m.delivered.Add(float64(len(batch)))
	}
}
