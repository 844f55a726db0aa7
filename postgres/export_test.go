package postgres

// LockKey is the advisory lock key of the election, for tests that kill the
// leader's session.
func (l *Leadership) LockKey() int64 { return l.key }

// MigrateTo applies the schema migrations up to version (all when 0) in the
// connection's search path, for tests of a migration's data changes.
var MigrateTo = migrateTo

// CasualtyCounts and CasualtiesFromCounts are the casualty_counts codec.
var (
	CasualtyCounts       = casualtyCounts
	CasualtiesFromCounts = casualtiesFromCounts
)
