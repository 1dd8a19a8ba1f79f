//go:build race

package nettrace_test

// raceEnabled is set when the tests run under the race detector. Tests
// whose size only measures memory on one goroutine (nothing concurrent for
// the detector to check at that size) use it to run a smaller variant;
// the full size runs without -race.
const raceEnabled = true
