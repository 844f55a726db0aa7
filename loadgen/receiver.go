package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm/cot"
)

// receiver announces itself, pings, and counts what it reads. Only its own
// goroutine touches its counters until the run has waited for it, so counting
// needs no locks.
type receiver struct {
	r   *run
	i   int
	uid string

	seen   [][]uint64 // per sender, a bitmap of the sequence numbers received
	maxSeq []int      // per sender, the highest seq received, -1 for none
	unique uint64
	last   int64 // receive time of the latest distinct delivery, UnixNano
	dups   uint64
	other  uint64 // events not from this run's senders (pongs, other devices, replays)
	stale  uint64 // loadgen events of another run (a server replaying old positions)
	bogus  uint64 // loadgen events of this run with impossible sender or seq
	bad    uint64 // elements or frames the stream readers refused
	lat    hist
	hopIn  *hist // sent → first server flow tag
	hopOut *hist // first server flow tag → received

	// firstRecv[b] is the earliest receive time (UnixNano − base + 1; 0 for none)
	// of the events that reached the server in time bucket b (by the server's
	// flow tag, or else the send time): what classify needs to tell a coalesced
	// report from a dropped one.
	firstRecv []int64
}

func newReceiver(r *run, i int) *receiver {
	rc := &receiver{r: r, i: i, uid: r.cfg.prefix() + "-r-" + strconv.Itoa(i),
		seen: make([][]uint64, r.cfg.Senders), maxSeq: make([]int, r.cfg.Senders)}
	words := (r.planned + 63) / 64
	for s := range rc.seen {
		rc.seen[s] = make([]uint64, words)
		rc.maxSeq[s] = -1
	}
	return rc
}

// run connects, announces, signals ready, then pings and reads until the run
// closes the connection.
func (rc *receiver) run(ctx context.Context, ready *sync.WaitGroup, errc chan<- error) {
	r := rc.r
	nc, br, err := r.dial(ctx, rc.uid)
	if err == nil {
		// The first event is a position report: servers identify plain-TCP devices
		// by it and route group traffic only to devices they know.
		enc := encoder{v1: r.cfg.Format == FormatV1}
		ev := selfReport(rc.uid, 1024+rc.i)
		stamp(ev, time.Now(), 10*time.Minute)
		nc.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
		if _, werr := nc.Write(enc.encode(ev)); werr != nil {
			nc.Close()
			err = fmt.Errorf("%s: announce: %w", rc.uid, werr)
		}
	}
	if err != nil {
		r.note(&r.connectErrors, err)
		errc <- err
		ready.Done()
		return
	}
	ready.Done()

	stop, pingDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pingDone)
		rc.ping(ctx, stop, nc)
	}()
	err = rc.read(nc, br)
	close(stop)
	if !r.stopping.Load() {
		if err == nil || errors.Is(err, io.EOF) {
			err = errors.New("server closed the connection")
		}
		r.note(&r.disconnects, fmt.Errorf("%s: %w", rc.uid, err))
	}
	nc.Close()
	<-pingDone
}

// ping sends a t-x-c-t keepalive every Ping interval, as ATAK and node-tak do, so
// servers that close silent devices keep this one.
func (rc *receiver) ping(ctx context.Context, stop <-chan struct{}, nc net.Conn) {
	r := rc.r
	enc := encoder{v1: r.cfg.Format == FormatV1}
	ev := &cot.Event{UID: rc.uid + "-ping", Type: typePing, How: howGIGO,
		Point: cot.Point{HAE: cot.Unknown, CE: cot.Unknown, LE: cot.Unknown}}
	t := time.NewTicker(r.cfg.Ping)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
		stamp(ev, time.Now(), 10*time.Second)
		nc.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
		if _, err := nc.Write(enc.encode(ev)); err != nil {
			return // the reader sees the broken connection and counts it
		}
	}
}

func (rc *receiver) read(nc net.Conn, br *bufio.Reader) error {
	var next func() ([]byte, error)
	if rc.r.cfg.Format == FormatV1 {
		next = cot.NewFrameReader(br, cot.MaxEventSize).Next
	} else {
		next = cot.NewXMLReader(br, cot.MaxEventSize).Next
	}
	for {
		b, err := next()
		if err != nil {
			var de *cot.DecodeError
			if errors.As(err, &de) {
				rc.bad++
				continue
			}
			return err
		}
		rc.observe(b, time.Now().UnixNano())
	}
}

var (
	markerBytes   = []byte(markerPrefix)
	flowTagsBytes = []byte(flowTagsTag)
)

// observe counts one received element (XML) or frame payload (v1). It does not
// decode the event: the marker is plain bytes in both formats (an attribute list
// in XML, inside the xmlDetail string in v1), and a full decode per delivery would
// make the load generator, not the server, the bottleneck at 200,000 deliveries/s.
func (rc *receiver) observe(b []byte, now int64) {
	i := bytes.Index(b, markerBytes)
	if i < 0 {
		rc.other++
		return
	}
	var (
		runOK, haveS, haveSeq, haveSent bool
		s, seq                          int
		sent                            int64
	)
	eachAttr(b[i+len(markerBytes):], func(name, val []byte) {
		switch string(name) {
		case "run":
			runOK = string(val) == rc.r.id
		case "s":
			s, haveS = atoi(val)
		case "seq":
			seq, haveSeq = atoi(val)
		case "sent":
			var n int
			n, haveSent = atoi(val)
			sent = int64(n)
		}
	})
	if !runOK {
		rc.stale++
		return
	}
	if !haveS || !haveSeq || !haveSent || s >= len(rc.seen) || seq >= 1<<24 {
		rc.bogus++
		return
	}
	bm := rc.seen[s]
	w := seq / 64
	if w >= len(bm) {
		bm = append(bm, make([]uint64, w+1-len(bm))...)
		rc.seen[s] = bm
	}
	bit := uint64(1) << (seq % 64)
	if bm[w]&bit != 0 {
		rc.dups++
		return
	}
	bm[w] |= bit
	rc.unique++
	rc.last = now
	rc.maxSeq[s] = max(rc.maxSeq[s], seq)
	rc.lat.record(time.Duration(now - sent))

	// Flow tags: servers stamp their hop time; the earliest stamp splits the
	// latency into "to the server" and "through and out of it". Stamps have the
	// resolution the server writes (milliseconds for TAK Server and bluehelm).
	arrived := sent // when the event reached the server, as far as we know
	if j := bytes.Index(b, flowTagsBytes); j >= 0 {
		var first time.Time
		eachAttr(b[j+len(flowTagsBytes):], func(_, val []byte) {
			if t, err := cot.ParseTime(string(val)); err == nil && (first.IsZero() || t.Before(first)) {
				first = t
			}
		})
		if !first.IsZero() {
			if rc.hopIn == nil {
				rc.hopIn, rc.hopOut = new(hist), new(hist)
			}
			ft := first.UnixNano()
			rc.hopIn.record(time.Duration(ft - sent))
			rc.hopOut.record(time.Duration(now - ft))
			// A stamp before the send time is the stamp's truncation to ms.
			arrived = max(ft, sent)
			if st := rc.r.stamps[s]; seq < len(st) && st[seq].Load() == 0 {
				st[seq].Store(arrived)
			}
		}
	}

	if k := (arrived - rc.r.base) / rc.r.bucket; k >= 0 && k < 1<<20 {
		if int(k) >= len(rc.firstRecv) {
			rc.firstRecv = append(rc.firstRecv, make([]int64, int(k)+1-len(rc.firstRecv)+256)...)
		}
		v := now - rc.r.base + 1
		if f := rc.firstRecv[k]; f == 0 || v < f {
			rc.firstRecv[k] = v
		}
	}
}

// eachAttr calls fn for each attribute of a start tag, b starting right after the
// element name. It stops at the end of the tag or at anything malformed; both
// quote styles are accepted, as a server that re-serialises XML may change them.
// Values are passed raw (loadgen's own values never need unescaping).
func eachAttr(b []byte, fn func(name, val []byte)) {
	i := 0
	for {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
		if i >= len(b) || b[i] == '/' || b[i] == '>' {
			return
		}
		ns := i
		for i < len(b) && b[i] != '=' && b[i] != ' ' && b[i] != '>' && b[i] != '/' {
			i++
		}
		name := b[ns:i]
		for i < len(b) && b[i] == ' ' {
			i++
		}
		if i >= len(b) || b[i] != '=' {
			return
		}
		i++
		for i < len(b) && b[i] == ' ' {
			i++
		}
		if i >= len(b) || (b[i] != '"' && b[i] != '\'') {
			return
		}
		q := b[i]
		i++
		vs := i
		for i < len(b) && b[i] != q {
			i++
		}
		if i >= len(b) {
			return
		}
		fn(name, b[vs:i])
		i++
	}
}

// atoi parses a non-negative decimal without allocating.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
