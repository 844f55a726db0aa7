package postgres

// LockKey is the advisory lock key of the election, for tests that kill the
// leader's session.
func (l *Leadership) LockKey() int64 { return l.key }
