package main

import (
	"context"
	"sync"
)

// leaderState tells which node of a cluster runs the mission's singleton
// jobs: clock-driven checks that raise alerts (CASEVAC deadlines, camp
// escalation, silent patrols), the webhook outbox, forecasts. With SQLite
// there is one node and it always leads (a nil *leaderState); with PostgreSQL
// the nodes elect one through the database (postgres.Leadership feeds set).
type leaderState struct {
	mu      sync.Mutex
	leading bool
	subs    []chan bool
}

// Leading reports whether this node leads; a nil state always does.
func (l *leaderState) Leading() bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading
}

// set records a change of leadership and tells every watcher.
func (l *leaderState) set(v bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.leading = v
	for _, c := range l.subs {
		send(c, v)
	}
}

// send replaces whatever c holds with v: a watcher only needs the latest state.
func send(c chan bool, v bool) {
	select {
	case <-c:
	default:
	}
	c <- v
}

// watch returns a channel holding the current state and then every change;
// nil for a nil state (always leading).
func (l *leaderState) watch() <-chan bool {
	if l == nil {
		return nil
	}
	c := make(chan bool, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	c <- l.leading
	l.subs = append(l.subs, c)
	return c
}

// led runs job while this node leads: from when it gains leadership until it
// loses it (job's context is then cancelled, and led waits for it to return)
// or ctx ends. It returns when ctx has ended and job has returned.
func (l *leaderState) led(ctx context.Context, job func(ctx context.Context)) {
	changes := l.watch()
	if changes == nil {
		job(ctx)
		return
	}
	var (
		wg     sync.WaitGroup
		cancel context.CancelFunc
	)
	stop := func() {
		if cancel != nil {
			cancel()
			wg.Wait()
			cancel = nil
		}
	}
	start := func() context.CancelFunc {
		jctx, c := context.WithCancel(ctx)
		wg.Add(1)
		go func() { defer wg.Done(); job(jctx) }()
		return c
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case leading := <-changes:
			switch {
			case leading && cancel == nil:
				cancel = start()
			case !leading:
				stop()
			}
		}
	}
}
