package marti

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// failLimiter counts failed logins per client address. Only failures take a
// token, so a user who types the password right is never slowed down, while a
// guesser is held to the configured rate whatever usernames it tries.
type failLimiter struct {
	mu     sync.Mutex
	limit  rate.Limit
	burst  int
	m      map[string]*failEntry
	pruned time.Time
}

type failEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newFailLimiter(limit rate.Limit, burst int) *failLimiter {
	return &failLimiter{limit: limit, burst: burst, m: map[string]*failEntry{}}
}

// begin takes one attempt from key's allowance before the password is checked,
// so that concurrent guesses cannot all slip past a check made before any of
// them failed (argon2 makes each check take a while). It returns false and the
// wait when nothing is left. The caller reports the outcome with done: a
// successful login gives the attempt back, so only failures are limited.
func (l *failLimiter) begin(key string, now time.Time) (done func(failed bool), wait time.Duration, ok bool) {
	l.mu.Lock()
	l.pruneLocked(now)
	e := l.m[key]
	if e == nil {
		e = &failEntry{l: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	l.mu.Unlock()
	r := e.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, d, false
	}
	return func(failed bool) {
		if !failed {
			r.CancelAt(now)
		}
	}, 0, true
}

// pruneLocked forgets buckets that have refilled (they behave like new ones), so
// a spray of source addresses cannot grow the map without bound.
func (l *failLimiter) pruneLocked(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	if now.Sub(l.pruned) < full || len(l.m) < 1024 {
		return
	}
	l.pruned = now
	for k, e := range l.m {
		if now.Sub(e.seen) > full {
			delete(l.m, k)
		}
	}
}
