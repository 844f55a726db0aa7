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

// blocked reports whether key has no failure left, and how long until it has one.
func (l *failLimiter) blocked(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[key]
	if e == nil || e.l.TokensAt(now) >= 1 {
		return 0, false
	}
	r := e.l.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return wait, true
}

// fail records a failed login from key.
func (l *failLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	e := l.m[key]
	if e == nil {
		e = &failEntry{l: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	e.l.AllowN(now, 1)
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
