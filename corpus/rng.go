package corpus

// rng is a splitmix64 pseudo-random generator. It is implemented here,
// rather than taken from math/rand, so that the corpus never changes when
// the standard library's generators do.
type rng struct{ s uint64 }

// next returns the next 64 pseudo-random bits.
func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a pseudo-random int in [0, n). n must be positive. The
// modulo bias is negligible for the small n used here and, being
// deterministic, harmless.
func (r *rng) intn(n int) int {
	return int(r.next() % uint64(n))
}

// between returns a pseudo-random int in [lo, hi].
func (r *rng) between(lo, hi int) int {
	return lo + r.intn(hi-lo+1)
}

// chance reports true with probability num/den.
func (r *rng) chance(num, den int) bool {
	return r.intn(den) < num
}

// pick returns a pseudo-randomly chosen element of xs, which must be
// non-empty.
func pick[T any](r *rng, xs []T) T {
	return xs[r.intn(len(xs))]
}
