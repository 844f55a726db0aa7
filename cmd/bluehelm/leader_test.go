package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// A singleton job runs only while its node leads, stops when leadership is
// lost and starts again when it is regained; a single node always runs it.
func TestLedRunsJobOnlyWhileLeading(t *testing.T) {
	var l leaderState
	var running, starts atomic.Int32
	job := func(ctx context.Context) {
		starts.Add(1)
		running.Add(1)
		<-ctx.Done()
		running.Add(-1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.led(ctx, job); close(done) }()

	time.Sleep(20 * time.Millisecond)
	if running.Load() != 0 {
		t.Fatal("the job runs on a node that does not lead")
	}
	l.set(true)
	waitFor(t, "the job starting on gaining leadership", func() bool { return running.Load() == 1 })
	l.set(true) // a repeated state starts no second copy
	l.set(false)
	waitFor(t, "the job stopping on losing leadership", func() bool { return running.Load() == 0 })
	l.set(true)
	waitFor(t, "the job starting again", func() bool { return running.Load() == 1 })
	if n := starts.Load(); n != 2 {
		t.Errorf("job started %d times, want 2", n)
	}
	cancel()
	<-done
	if running.Load() != 0 {
		t.Error("the job outlived led")
	}

	// A nil state is a single node: the job runs until ctx ends.
	var single *leaderState
	if !single.Leading() {
		t.Error("a single node does not lead")
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go single.led(ctx2, func(ctx context.Context) { close(ran); <-ctx.Done() })
	<-ran
	cancel2()
}
