package postgres

import "time"

// SetTrackRefresh sets how long db defers UpdatedAt-only track refreshes. Call
// it before db's first AppendPositions.
func SetTrackRefresh(db *DB, d time.Duration) {
	w := db.positionWriter()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refresh = d
}
