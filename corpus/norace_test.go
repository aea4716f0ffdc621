//go:build !race

package corpus

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
