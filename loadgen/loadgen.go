// Package loadgen is a Cursor-on-Target load generator that works against any CoT
// stream server (TAK Server, FreeTAKServer, goatak, bluehelm): it uses only the
// wire codecs of package cot, never the server's internals.
//
// Senders each send their own moving position report at a fixed rate; receivers
// each announce themselves once, ping every few seconds and read everything. Every
// sender event carries a detail element of its own,
//
//	<__loadgen run="RUN" s="SENDER" seq="N" sent="UNIX_NANOS"/>
//
// which servers pass through untouched (in xmlDetail under TAK protocol v1), so
// deliveries, gaps, duplicates and latency are counted by the receivers without
// relying on anything the server adds. Senders and receivers run in one process
// and share its wall clock.
package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm/cot"
)

// Formats a run can speak.
const (
	FormatXML = "xml" // CoT XML ("protocol version 0")
	FormatV1  = "v1"  // TAK protocol v1 stream frames, after TakControl negotiation
)

// Config describes one run.
type Config struct {
	Addr   string      // host:port of the server's streaming CoT input
	TLS    *tls.Config // nil for plain TCP
	Format string      // FormatXML (default) or FormatV1

	Senders   int
	Receivers int
	Rate      float64 // events per second per sender
	// Prefix starts the senders' and receivers' uids ("loadgen" when empty):
	// two runs against one picture need distinct ones, or their tracks merge.
	Prefix   string
	Duration time.Duration // how long the senders send
	Warmup   time.Duration // receivers connected and announced before senders start
	Drain    time.Duration // receivers keep reading after the senders stop; default 2 s

	Negotiate    time.Duration // wait for the v1 offer, then for the answer; default 10 s
	Ping         time.Duration // receiver keepalive interval; default 5 s
	DialTimeout  time.Duration // default 10 s
	WriteTimeout time.Duration // one write; default 10 s

	// Log, if set, gets progress lines (connecting, warm-up, draining).
	Log func(format string, args ...any)
}

func (c *Config) prefix() string {
	if c.Prefix == "" {
		return "loadgen"
	}
	return c.Prefix
}

// ErrNoV1 is returned when the server does not offer TAK protocol v1 (or refuses
// the request) and the run asked for FormatV1.
var ErrNoV1 = errors.New("server does not offer TAK protocol v1")

// Event types loadgen sends or must recognise.
const (
	typeSA       = "a-f-G-U-C"
	typePing     = "t-x-c-t"
	typeOffer    = "t-x-takp-v"
	typeRequest  = "t-x-takp-q"
	typeAnswer   = "t-x-takp-r"
	howMachine   = "m-g"
	howGIGO      = "h-g-i-g-o"
	markerPrefix = "<__loadgen"
	flowTagsTag  = "<_flow-tags_"
)

func (c *Config) setDefaults() error {
	if c.Addr == "" {
		return errors.New("loadgen: no server address")
	}
	switch c.Format {
	case "":
		c.Format = FormatXML
	case FormatXML, FormatV1:
	default:
		return fmt.Errorf("loadgen: format %q: want xml or v1", c.Format)
	}
	if c.Senders < 1 {
		return errors.New("loadgen: need at least one sender")
	}
	if c.Receivers < 0 {
		return errors.New("loadgen: negative receiver count")
	}
	if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
		return errors.New("loadgen: rate must be a positive number of events per second")
	}
	if c.Duration <= 0 {
		return errors.New("loadgen: duration must be positive")
	}
	// The sequence bitmaps are sized from the planned count; refuse absurd plans
	// rather than allocating gigabytes.
	if c.Rate*c.Duration.Seconds() > 1<<24 {
		return errors.New("loadgen: more than 16 million events per sender: shorten the run or lower the rate")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	def(&c.Drain, 2*time.Second)
	def(&c.Negotiate, 10*time.Second)
	def(&c.Ping, 5*time.Second)
	def(&c.DialTimeout, 10*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
	return nil
}

// run is the state shared by one run's connections.
type run struct {
	cfg      Config
	id       string
	base     int64 // UnixNano when the run began: origin of the send-time buckets
	interval time.Duration
	bucket   int64 // width of a send-time bucket, ns (see receiver.firstRecv)
	planned  int   // events each sender is expected to send, for pre-sizing

	stopping atomic.Bool // set before connections are closed on purpose

	// stamps[s][seq] is when sender s's event seq reached the server, by its
	// earliest flow tag (UnixNano; 0 unknown). The server stamps an event once,
	// so whichever receiver sees it first records it for all.
	stamps [][]atomic.Int64

	mu            sync.Mutex
	connectErrors int
	disconnects   int
	writeErrors   int
	errs          []string
	conns         []net.Conn
}

// newRun prepares the shared state of a run; cfg has its defaults.
func newRun(cfg Config) *run {
	var idb [6]byte
	rand.Read(idb[:])
	r := &run{
		cfg:      cfg,
		id:       hex.EncodeToString(idb[:]),
		base:     time.Now().UnixNano(),
		interval: time.Duration(float64(time.Second) / cfg.Rate),
		planned:  int(cfg.Rate*cfg.Duration.Seconds()) + 2,
	}
	// Eight buckets per sender interval: fine enough to tell "something newer got
	// through before the next report existed" (see classify), at most a few
	// thousand int64s per receiver for a minute-long run.
	r.bucket = max(int64(r.interval)/8, int64(100*time.Microsecond))
	r.stamps = make([][]atomic.Int64, cfg.Senders)
	for i := range r.stamps {
		r.stamps[i] = make([]atomic.Int64, r.planned+64)
	}
	return r
}

// Run performs one load run and returns its report. An error means the run could
// not be measured at all (no connection, or v1 asked for and not offered); failures
// of single connections are counted in the report instead.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r := newRun(cfg)
	cpu0 := cpuTime()
	wall0 := time.Now()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Everything ends by closing connections: blocked reads and writes return.
	defer r.closeAll()
	context.AfterFunc(ctx, r.closeAll)

	// Receivers first: connected, negotiated and announced before anyone sends,
	// so no counted event can reach a server before every receiver is routed to.
	cfg.Log("connecting %d receivers to %s (%s)", cfg.Receivers, cfg.Addr, cfg.Format)
	recvs := make([]*receiver, cfg.Receivers)
	var readers sync.WaitGroup
	errc := make(chan error, cfg.Receivers+cfg.Senders)
	var ready sync.WaitGroup
	for i := range recvs {
		rc := newReceiver(r, i)
		recvs[i] = rc
		ready.Add(1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			rc.run(ctx, &ready, errc)
		}()
	}
	ready.Wait()
	if err := r.fatal(errc, cfg.Receivers); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	cfg.Log("receivers connected; warm-up %s", cfg.Warmup)
	select {
	case <-time.After(cfg.Warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	cfg.Log("connecting %d senders", cfg.Senders)
	sends := make([]*sender, cfg.Senders)
	for i := range sends {
		sends[i] = newSender(r, i)
	}
	var connected sync.WaitGroup
	for _, s := range sends {
		connected.Add(1)
		go func() {
			defer connected.Done()
			if err := s.connect(ctx); err != nil {
				errc <- err
			}
		}()
	}
	connected.Wait()
	if err := r.fatal(errc, cfg.Senders); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// All senders start together, each offset by a fraction of the interval so the
	// server sees an even stream rather than N events at every tick.
	t0 := time.Now().Add(10 * time.Millisecond)
	end := t0.Add(cfg.Duration)
	cfg.Log("sending: %d × %g Hz for %s", cfg.Senders, cfg.Rate, cfg.Duration)
	var writers sync.WaitGroup
	for i, s := range sends {
		if s.nc == nil {
			continue
		}
		writers.Add(1)
		phase := time.Duration(int64(r.interval) * int64(i) / int64(cfg.Senders))
		go func() {
			defer writers.Done()
			s.send(ctx, t0.Add(phase), end)
		}()
	}
	writers.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sendWall := time.Since(t0)
	cfg.Log("senders done; draining %s", cfg.Drain)
	select {
	case <-time.After(cfg.Drain):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.stopping.Store(true)
	r.closeAll()
	readers.Wait()
	for _, s := range sends {
		s.wait()
	}

	rep := r.report(recvs, sends, sendWall)
	var last int64
	for _, rc := range recvs {
		last = max(last, rc.last)
	}
	var lastSent int64
	for _, s := range sends {
		if n := len(s.sent); n > 0 {
			lastSent = max(lastSent, s.sent[n-1])
		}
	}
	if last > 0 && lastSent > 0 {
		rep.LastDelivery = max(time.Duration(last-lastSent), 0).Seconds()
	}
	rep.CPUSeconds = (cpuTime() - cpu0).Seconds()
	rep.WallSeconds = time.Since(wall0).Seconds()
	if rep.WallSeconds > 0 {
		rep.CPUPercent = 100 * rep.CPUSeconds / rep.WallSeconds
	}
	return rep, nil
}

// fatal collects the connection errors of one phase (n connections). ErrNoV1 ends
// the run: the server cannot do what was asked. So does a phase in which no
// connection succeeded. Other failures are counted and the run goes on.
func (r *run) fatal(errc chan error, n int) error {
	failed := 0
	var first error
	for {
		select {
		case err := <-errc:
			failed++
			if first == nil {
				first = err
			}
			if errors.Is(err, ErrNoV1) {
				return err
			}
			continue
		default:
		}
		break
	}
	if n > 0 && failed == n {
		return fmt.Errorf("loadgen: no connection to %s succeeded: %w", r.cfg.Addr, first)
	}
	return nil
}

func (r *run) note(kind *int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*kind++
	if len(r.errs) < 10 {
		r.errs = append(r.errs, err.Error())
	}
}

func (r *run) track(nc net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping.Load() {
		return false
	}
	r.conns = append(r.conns, nc)
	return true
}

func (r *run) closeAll() {
	r.stopping.Store(true)
	r.mu.Lock()
	conns := r.conns
	r.conns = nil
	r.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
}

// dial connects and, for v1, negotiates. The returned reader holds whatever the
// server sent after the negotiation answer.
func (r *run) dial(ctx context.Context, uid string) (net.Conn, *bufio.Reader, error) {
	cfg := &r.cfg
	d := &net.Dialer{Timeout: cfg.DialTimeout}
	var (
		nc  net.Conn
		err error
	)
	if cfg.TLS != nil {
		td := &tls.Dialer{NetDialer: d, Config: cfg.TLS}
		nc, err = td.DialContext(ctx, "tcp", cfg.Addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", cfg.Addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: connect: %w", uid, err)
	}
	if !r.track(nc) {
		nc.Close()
		return nil, nil, fmt.Errorf("%s: run stopped", uid)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	if cfg.Format == FormatV1 {
		if err := r.negotiate(nc, br, uid); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("%s: %w", uid, err)
		}
	}
	return nc, br, nil
}

// negotiate switches the connection to TAK protocol v1 (notes §2.3): wait for the
// server's t-x-takp-v offer, ask with t-x-takp-q, and accept only a t-x-takp-r
// with status="true". Everything else that arrives meanwhile is ignored.
func (r *run) negotiate(nc net.Conn, br *bufio.Reader, uid string) error {
	timeout := r.cfg.Negotiate
	xr := cot.NewXMLReader(br, cot.MaxEventSize)
	nc.SetReadDeadline(time.Now().Add(timeout))
	defer nc.SetReadDeadline(time.Time{})
	// next returns the next decodable XML event; a timeout is reported as what
	// was being waited for.
	next := func(waiting error) (*cot.Event, error) {
		for {
			b, err := xr.Next()
			if err != nil {
				var de *cot.DecodeError
				if errors.As(err, &de) {
					continue
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return nil, waiting
				}
				return nil, fmt.Errorf("negotiating v1: %w", err)
			}
			ev, err := cot.DecodeXML(b)
			if err != nil {
				continue
			}
			return ev, nil
		}
	}
	noOffer := fmt.Errorf("%w: no TakControl offer (t-x-takp-v) within %s; it may speak XML only (use --format xml)", ErrNoV1, timeout)
	for {
		ev, err := next(noOffer)
		if err != nil {
			return err
		}
		if ev.Type != typeOffer {
			continue
		}
		if !offersV1(ev) {
			return fmt.Errorf("%w: its offer lists no version 1: %s", ErrNoV1, ev.Detail.XML)
		}
		break
	}
	now := time.Now()
	q := &cot.Event{UID: uid + "-takp", Type: typeRequest, How: howMachine,
		Time: now, Start: now, Stale: now.Add(time.Minute),
		Point:  cot.Point{HAE: cot.Unknown, CE: cot.Unknown, LE: cot.Unknown},
		Detail: cot.Detail{XML: []byte(`<TakControl><TakRequest version="1"/></TakControl>`)}}
	nc.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
	if _, err := nc.Write(q.AppendXML(nil)); err != nil {
		return fmt.Errorf("negotiating v1: %w", err)
	}
	nc.SetReadDeadline(time.Now().Add(timeout))
	noAnswer := fmt.Errorf("%w: offered v1 but did not answer the request (t-x-takp-r) within %s", ErrNoV1, timeout)
	for {
		ev, err := next(noAnswer)
		if err != nil {
			return err
		}
		if ev.Type != typeAnswer {
			continue
		}
		if status := answerStatus(ev); status != "true" {
			return fmt.Errorf("%w: it answered the v1 request with status=%q", ErrNoV1, status)
		}
		return nil
	}
}

// offersV1 reports whether a t-x-takp-v lists <TakProtocolSupport version="1"/>.
func offersV1(ev *cot.Event) bool {
	tc, ok := ev.Detail.Find("TakControl")
	if !ok {
		return false
	}
	found := false
	tc.Each(func(el cot.Element) bool {
		if el.Name == "TakProtocolSupport" && el.Attr("version") == "1" {
			found = true
			return false
		}
		return true
	})
	return found
}

func answerStatus(ev *cot.Event) string {
	tc, ok := ev.Detail.Find("TakControl")
	if !ok {
		return ""
	}
	status := ""
	tc.Each(func(el cot.Element) bool {
		if el.Name == "TakResponse" {
			status = el.Attr("status")
			return false
		}
		return true
	})
	return status
}

// encoder writes events in the connection's format into one reused buffer.
type encoder struct {
	v1  bool
	buf []byte
}

func (e *encoder) encode(ev *cot.Event) []byte {
	if e.v1 {
		e.buf = ev.AppendFramed(e.buf[:0])
	} else {
		e.buf = ev.AppendXML(e.buf[:0])
	}
	return e.buf
}

// Each run's tracks circle around their own point near Juba, 1 km apart, so a
// map of the server shows them as distinct moving units.
const (
	baseLat = 4.85
	baseLon = 31.58
	radius  = 200.0 // m
	period  = 60.0  // s per lap
)

// selfReport is a device's own position report: what ATAK sends as its SA.
func selfReport(uid string, slot int) *cot.Event {
	return &cot.Event{
		UID: uid, Type: typeSA, How: howMachine,
		Point: cot.Point{Lat: baseLat + 0.009*float64(slot/32), Lon: baseLon + 0.009*float64(slot%32),
			HAE: 450, CE: 10, LE: cot.Unknown},
		Detail: cot.Detail{
			Contact: &cot.Contact{Callsign: uid, Endpoint: "*:-1:stcp"},
			Group:   &cot.Group{Name: "Cyan", Role: "Team Member"},
			Takv:    &cot.Takv{Device: "loadgen", Platform: "bluehelm-loadgen", OS: runtime.GOOS, Version: "1"},
		},
	}
}

func stamp(ev *cot.Event, now time.Time, stale time.Duration) {
	now = now.UTC()
	ev.Time, ev.Start, ev.Stale = now, now, now.Add(stale)
}

// sender sends its position report at the configured rate and reads (and
// discards) whatever the server sends it: servers drop devices that do not read.
type sender struct {
	r    *run
	i    int
	uid  string
	nc   net.Conn
	br   *bufio.Reader
	sent []int64 // send time of each seq, UnixNano; seq k is sent[k]
	done chan struct{}
}

func newSender(r *run, i int) *sender {
	return &sender{r: r, i: i, uid: r.cfg.prefix() + "-s-" + strconv.Itoa(i), sent: make([]int64, 0, r.planned)}
}

func (s *sender) connect(ctx context.Context) error {
	nc, br, err := s.r.dial(ctx, s.uid)
	if err != nil {
		s.r.note(&s.r.connectErrors, err)
		return err
	}
	s.nc, s.br = nc, br
	s.done = make(chan struct{})
	go s.discard()
	return nil
}

func (s *sender) discard() {
	defer close(s.done)
	_, err := s.br.WriteTo(discardWriter{})
	if !s.r.stopping.Load() {
		if err == nil {
			err = errors.New("server closed the connection")
		}
		s.r.note(&s.r.disconnects, fmt.Errorf("%s: %w", s.uid, err))
	}
}

func (s *sender) wait() {
	if s.done != nil {
		<-s.done
	}
}

// discardWriter is io.Discard without its ReaderFrom, so bufio.Reader.WriteTo
// reads into its own 64 KiB buffer rather than a small pooled one.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// send sends from start until end, one event per tick. A tick missed because a
// write blocked (the server is not reading) is skipped, not caught up: the
// achieved rate in the report shows it.
func (s *sender) send(ctx context.Context, start, end time.Time) {
	r := s.r
	ev := selfReport(s.uid, s.i)
	ev.Detail.Track = &cot.Track{Speed: 2 * math.Pi * radius / period}
	lat0, lon0 := ev.Point.Lat, ev.Point.Lon
	mPerDegLon := 111320 * math.Cos(lat0*math.Pi/180)
	enc := encoder{v1: r.cfg.Format == FormatV1, buf: make([]byte, 0, 1024)}
	marker := make([]byte, 0, 128)

	t := time.NewTimer(time.Until(start))
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return
	}
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		// A point on the circle, the course its tangent (clockwise: course = angle).
		a := 2 * math.Pi * math.Mod(now.Sub(start).Seconds()/period+float64(s.i)/float64(r.cfg.Senders), 1)
		ev.Point.Lat = lat0 + radius*math.Cos(a)/111320
		ev.Point.Lon = lon0 + radius*math.Sin(a)/mPerDegLon
		ev.Detail.Track.Course = math.Mod(a*180/math.Pi+90, 360)
		stamp(ev, now, 2*time.Minute)
		nanos := now.UnixNano()
		marker = append(marker[:0], `<__loadgen run="`...)
		marker = append(marker, r.id...)
		marker = append(marker, `" s="`...)
		marker = strconv.AppendInt(marker, int64(s.i), 10)
		marker = append(marker, `" seq="`...)
		marker = strconv.AppendInt(marker, int64(seq), 10)
		marker = append(marker, `" sent="`...)
		marker = strconv.AppendInt(marker, nanos, 10)
		marker = append(marker, `"/>`...)
		ev.Detail.XML = marker
		b := enc.encode(ev)
		s.nc.SetWriteDeadline(now.Add(r.cfg.WriteTimeout))
		if _, err := s.nc.Write(b); err != nil {
			if !r.stopping.Load() {
				r.note(&r.writeErrors, fmt.Errorf("%s: write: %w", s.uid, err))
			}
			return
		}
		s.sent = append(s.sent, nanos)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
