//go:build race

package main

// raceEnabled scales the real-data backtest down under the race detector, which
// makes the models' arithmetic about ten times slower and checks nothing more
// for it.
const raceEnabled = true
