package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLeadershipOneLeaderAndFailover(t *testing.T) {
	schema := pgtest.Schema()
	nodes := []*postgres.DB{pgtest.OpenSchema(t, schema), pgtest.OpenSchema(t, schema), pgtest.OpenSchema(t, schema)}
	ctxs := make([]context.CancelFunc, len(nodes))
	ls := make([]*postgres.Leadership, len(nodes))
	for i, db := range nodes {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = cancel
		ls[i] = db.Lead(ctx, "jobs", 50*time.Millisecond, nil, nil)
		t.Cleanup(func() { cancel(); <-ls[i].Done() })
	}
	leaders := func() (n, who int) {
		for i, l := range ls {
			if l.Leading() {
				n, who = n+1, i
			}
		}
		return n, who
	}
	eventually(t, "a leader elected", func() bool { n, _ := leaders(); return n == 1 })
	// Over many intervals there is never a second leader.
	for range 20 {
		if n, _ := leaders(); n > 1 {
			t.Fatalf("%d leaders at once", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, first := leaders()

	// The leader's session dies (as when its node is killed): the server drops
	// the lock and another node leads.
	pool := nodes[(first+1)%len(nodes)].Pool()
	key := ls[first].LockKey()
	var killed int
	if err := pool.QueryRow(context.Background(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
		   AND classid = (($1::bigint >> 32) & x'FFFFFFFF'::bigint)::oid AND objid = ($1::bigint & x'FFFFFFFF'::bigint)::oid`, key).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("%d sessions hold the election's lock, want 1", killed)
	}
	eventually(t, "the old leader steps down", func() bool { return !ls[first].Leading() })
	eventually(t, "another leader elected", func() bool { n, _ := leaders(); return n == 1 })

	// A leader that stops (its context ends) hands over too.
	_, cur := leaders()
	ctxs[cur]()
	<-ls[cur].Done()
	eventually(t, "a new leader after a clean stop", func() bool { n, who := leaders(); return n == 1 && who != cur })
}
