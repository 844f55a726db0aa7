//go:build race

package sqlite

// raceEnabled scales the randomised tests down under the race detector, which
// slows the transpiled SQLite about tenfold.
const raceEnabled = true
