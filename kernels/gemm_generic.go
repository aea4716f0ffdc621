//go:build !amd64 || purego

package kernels

// No assembly kernels on this architecture (or under the purego build tag).

func archCandidates() []archCandidate { return nil }

func fmaLoops() []fmaLoop { return nil }
