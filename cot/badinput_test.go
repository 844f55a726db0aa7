package cot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Each kind of bad input costs the sender that event only: it is counted with a
// reason, and the same connection goes on to deliver a good event.
func TestBadEventsRejectedConnectionContinues(t *testing.T) {
	huge := sa("HUGE", "HUGE", 1, 1)
	huge.Detail.XML = []byte("<remarks>" + strings.Repeat("x", MaxEventSize) + "</remarks>")
	deep := sa("DEEP", "DEEP", 1, 1)
	deep.Detail.XML = []byte(strings.Repeat("<a>", MaxDepth+2) + strings.Repeat("</a>", MaxDepth+2))
	future := sa("FUTURE", "F", 1, 1)
	future.Time = time.Now().Add(24 * time.Hour)
	future.Start, future.Stale = future.Time, future.Time.Add(time.Hour)
	badType := sa("TYPE", "T", 1, 1)
	badType.Type = "zz-top"
	cases := []struct {
		name   string
		input  []byte
		reason string
	}{
		{"malformed XML", []byte(`<event version="2.0" uid="X" type="a-f-G" time="nope"><point lat=1/></event>`), ""},
		{"junk before an event", []byte("\x00\x01garbage!!"), ""},
		{"too large", huge.AppendXML(nil), "too_large"},
		{"too deep", deep.AppendXML(nil), "too_deep"},
		{"latitude out of range", bytes.Replace(sa("LAT", "L", 1, 1).AppendXML(nil), []byte(`lat="1"`), []byte(`lat="91"`), 1), "bad_point"},
		{"time in the future", future.AppendXML(nil), "invalid"},
		{"unknown type", badType.AppendXML(nil), "unknown_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			a, b := ts.dialTCP(), ts.dialTCP()
			b.send(sa("B", "BRAVO", 1, 1))
			a.send(sa("A", "ALPHA", 1, 1))
			b.expect("a-f-G-U-C", "A")
			var before float64
			if tc.reason != "" {
				before = counter(t, ts.srv.m.rejected.WithLabelValues(tc.reason))
			}
			a.write(tc.input)
			a.send(sa("A2", "ALPHA-2", 1, 1))
			b.expect("a-f-G-U-C", "A2")
			if tc.reason != "" {
				waitFor(t, "the rejection to be counted", func() bool {
					return counter(t, ts.srv.m.rejected.WithLabelValues(tc.reason)) > before
				})
			}
		})
	}
}

// A v1 stream survives junk between frames, and a frame with an overflowing varint.
func TestProtoResyncAfterJunk(t *testing.T) {
	ts := newTestServer(t)
	a := ts.dialTCP()
	a.negotiate()
	b := ts.dialTCP()
	b.send(sa("B", "BRAVO", 1, 1))
	a.expect("a-f-G-U-C", "B")
	a.write([]byte{0xbf, 0x06, 0x0a, 0x04, 0x08, 0x01, 0x10, 0x01})                         // a TakControl alone, no event
	a.write([]byte{0x00, 0x13, 0x37})                                                       // junk
	a.write([]byte{0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}) // varint overflow
	a.send(sa("A", "ALPHA", 1, 1))
	b.expect("a-f-G-U-C", "A")
}

// A connection that dribbles bytes without ever finishing an event is closed when
// the idle timeout passes, and others are not stalled meanwhile.
func TestSlowLorisClosed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	slow := ts.dialTCP()
	slow.expect(TypeNegotiationOffer, "")
	done := make(chan error, 1)
	go func() {
		part := []byte(`<event version="2.0" uid="slow" type="a-f-G" `)
		for i := 0; ; i++ {
			if _, err := slow.nc.Write(part[i%len(part) : i%len(part)+1]); err != nil {
				done <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	a, b := ts.dialTCP(), ts.dialTCP()
	b.send(sa("B", "B", 1, 1))
	a.send(sa("A", "A", 1, 1))
	b.expect("a-f-G-U-C", "A")
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("slow loris still connected")
	}
	waitFor(t, "the idle disconnect to be counted", func() bool {
		return counter(t, ts.srv.m.disconnects.WithLabelValues("idle")) >= 1
	})
}

// A device that never reads is disconnected once a write stalls, without stalling
// the others.
func TestNonReaderDisconnected(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.WriteTimeout = 200 * time.Millisecond; c.RateLimit, c.RateBurst = 1e6, 1e6 })
	deaf := ts.dialTCP()
	deaf.send(sa("DEAF", "DEAF", 1, 1))
	if tc, ok := deaf.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	talker, listener := ts.dialTCP(), ts.dialTCP()
	listener.send(sa("L", "L", 1, 1))
	// Drawings do not coalesce and are not stored, so they pile up for the deaf
	// device as fast as the talker can send them.
	big := strings.Repeat("y", 4000)
	shape := func(i int) []byte {
		ev := newEvent(fmt.Sprintf("shape-%d", i), TypeShape, "h-e", time.Now().UTC(), time.Hour)
		ev.Point = Point{Lat: 1, Lon: 1, HAE: Unknown, CE: Unknown, LE: Unknown}
		ev.Detail.XML = []byte("<remarks>" + big + "</remarks>")
		return ev.AppendXML(nil)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := talker.nc.Write(shape(i)); err != nil {
				return
			}
		}
	}()
	go func() { io.Copy(io.Discard, listener.nc) }()
	waitFor(t, "the deaf device to be dropped", func() bool {
		return counter(t, ts.srv.m.disconnects.WithLabelValues("slow_reader")) >= 1
	})
}

// A device that floods is limited, then disconnected; others go on.
func TestFlooderLimitedThenDisconnected(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.RateLimit, c.RateBurst = 50, 10 })
	flood, b := ts.dialTCP(), ts.dialTCP()
	b.send(sa("B", "B", 1, 1))
	ping := newEvent("F-ping", TypePing, HowGIGO, time.Now().UTC(), time.Minute).AppendXML(nil)
	go func() {
		for i := 0; i < 1000; i++ {
			if _, err := flood.nc.Write(ping); err != nil {
				return
			}
		}
	}()
	waitFor(t, "the flooder to be disconnected", func() bool {
		return counter(t, ts.srv.m.disconnects.WithLabelValues("flood")) >= 1
	})
	if counter(t, ts.srv.m.rejected.WithLabelValues("rate_limited")) < 100 {
		t.Error("rate-limited events not counted")
	}
	a := ts.dialTCP()
	a.send(sa("A", "A", 1, 1))
	b.expect("a-f-G-U-C", "A")
	_ = errors.Is
}
