//go:build race

package corpus

// raceEnabled reports whether the race detector is on; it slows the
// generator down too much for TestGenerationTime to be meaningful.
const raceEnabled = true
