//go:build race

package kernels

// raceEnabled reports whether the race detector is on: it makes sync.Pool
// drop buffers at random (so allocation counts mean nothing) and slows the
// large reference products down.
const raceEnabled = true
