package cot

import (
	"sync"
	"time"
)

// outMsg is one event on its way to devices. It is encoded at most once per wire
// format however many connections it goes to: encode once, fan out to many.
type outMsg struct {
	ev       *Event
	key      string // coalescing key (the event uid) when coalesce is set
	coalesce bool   // a later message with the same key fully replaces this one
	// control messages (negotiation answers, pongs) are never dropped or coalesced.
	control bool
	// switchProto makes the writer use TAK protocol v1 for everything after this
	// message (the t-x-takp-r answer is the last XML the client gets).
	switchProto bool
	received    time.Time // when bluehelm got it, for the routing latency metric

	xmlOnce, protoOnce sync.Once
	xml, proto         []byte
}

// bytes returns the message in the connection's current wire format.
func (m *outMsg) bytes(proto bool) []byte {
	if proto {
		m.protoOnce.Do(func() { m.proto = m.ev.AppendFramed(make([]byte, 0, 512)) })
		return m.proto
	}
	m.xmlOnce.Do(func() { m.xml = m.ev.AppendXML(make([]byte, 0, 1024)) })
	return m.xml
}

// outQueue is a connection's bounded write queue. Positions (coalescing messages)
// keep only the newest per uid, so a slow device gets the latest picture rather than
// a backlog; other messages are kept in order up to limit, and beyond it the newest
// is dropped and counted (a device that never reads is disconnected by the writer's
// deadline long before this matters).
type outQueue struct {
	mu        sync.Mutex
	q         []*outMsg
	keys      map[string]int // key → index in q of the pending coalescing message
	fifo      int            // pending non-coalescing, non-control messages
	limit     int
	maxKeys   int
	closed    bool
	dropped   uint64
	coalesced uint64
	ready     chan struct{}
}

func newOutQueue(limit, maxKeys int) *outQueue {
	return &outQueue{keys: map[string]int{}, limit: limit, maxKeys: maxKeys, ready: make(chan struct{}, 1)}
}

// push queues m. It reports whether m was queued, whether it replaced an older
// message with the same key, and whether the queue is closed (the device is gone,
// which is not a drop).
func (q *outQueue) push(m *outMsg) (queued, replaced, closed bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false, false, true
	}
	switch {
	case m.control:
	case m.coalesce:
		if i, ok := q.keys[m.key]; ok {
			q.q[i] = nil
			replaced = true
			q.coalesced++
		} else if len(q.keys) >= q.maxKeys {
			q.dropped++
			q.mu.Unlock()
			return false, false, false
		}
		q.keys[m.key] = len(q.q)
	default:
		if q.fifo >= q.limit {
			q.dropped++
			q.mu.Unlock()
			return false, false, false
		}
		q.fifo++
	}
	q.q = append(q.q, m)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true, replaced, false
}

// drain moves the pending messages into buf, oldest first.
func (q *outQueue) drain(buf []*outMsg) []*outMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.q {
		if m != nil {
			buf = append(buf, m)
		}
	}
	clear(q.q)
	q.q = q.q[:0]
	clear(q.keys)
	q.fifo = 0
	return buf
}

func (q *outQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.keys) + q.fifo
}

func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
