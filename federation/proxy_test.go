package federation

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// linkProxy stands between a camp's leaf connection and the hub's leaf
// listener: it counts the bytes that cross the link each way and can cut the
// link (closing every connection and refusing new ones) and restore it.
type linkProxy struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	// Up counts bytes camp → hub, Down hub → camp.
	Up, Down atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newLinkProxy(t testing.TB, target string) *linkProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.up.Store(true)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *linkProxy) Addr() string { return p.ln.Addr().String() }

func (p *linkProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.up.Load() {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, &p.Up)
		go p.pipe(c, s, &p.Down)
	}
}

func (p *linkProxy) pipe(dst, src net.Conn, n *atomic.Int64) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil { // EOF, or the connection closed by Cut
			break
		}
	}
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut drops the link: open connections are closed and new ones refused.
func (p *linkProxy) Cut() {
	p.up.Store(false)
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// Restore lets the leaf reconnect.
func (p *linkProxy) Restore() { p.up.Store(true) }

// Bytes returns the bytes carried both ways so far.
func (p *linkProxy) Bytes() int64 { return p.Up.Load() + p.Down.Load() }

func (p *linkProxy) close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
