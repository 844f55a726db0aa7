package nats

import (
	"context"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// TestLease: of two nodes exactly one holds the lease; when the holder dies (its
// connection closed, no release) the other takes it once the entry expires.
func TestLease(t *testing.T) {
	srv, err := StartServer(ServerOptions{Name: "lease", ClientListen: "127.0.0.1:0", StoreDir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type node struct {
		nc    *natsgo.Conn
		lease *Lease
		done  chan struct{}
	}
	var nodes []*node
	for _, id := range []string{"x", "y"} {
		nc, err := natsgo.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		l, err := NewLease(ctx, LeaseOptions{Conn: nc, NodeID: id, Name: "monitor", TTL: 1500 * time.Millisecond, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		n := &node{nc: nc, lease: l, done: make(chan struct{})}
		go func() { l.Run(ctx); close(n.done) }()
		nodes = append(nodes, n)
	}
	holders := func() (h []*node) {
		for _, n := range nodes {
			if n.lease.Held() {
				h = append(h, n)
			}
		}
		return h
	}
	waitFor(t, "a holder", 30*time.Second, func() bool { return len(holders()) == 1 })
	// Over a few renewals, never two holders.
	for range 20 {
		if h := holders(); len(h) > 1 {
			t.Fatal("two holders")
		}
		time.Sleep(100 * time.Millisecond)
	}
	dead := holders()[0]
	dead.nc.Close() // dies without releasing
	var other *node
	for _, n := range nodes {
		if n != dead {
			other = n
		}
	}
	waitFor(t, "the other node to take over", 30*time.Second, func() bool { return other.lease.Held() })
	waitFor(t, "the dead node to know it lost", 30*time.Second, func() bool { return !dead.lease.Held() })
	cancel()
	<-other.done
	if other.lease.Held() {
		t.Error("still held after Run ended")
	}
}
