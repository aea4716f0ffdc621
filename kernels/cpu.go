package kernels

import "sync/atomic"

// CPU dispatch. At start the package picks the fastest GEMM micro-kernel
// the CPU supports (gemm_amd64.go lists the AVX-512F and AVX2+FMA ones); every
// assembly kernel has a pure-Go twin, which is what runs on other CPUs, under
// the purego build tag, and after SetAssembly(false).

// gemmArch describes one register-blocked GEMM micro-kernel and the cache
// blocking tuned for it. Each assembly kernel set is one value of this
// type: archAVX512 (12×32, gemm_avx512_amd64.go) is chosen ahead of the
// AVX2 one (6×16) when the CPU and OS support AVX-512F.
type gemmArch struct {
	name   string
	mr, nr int // micro-tile: mr rows of A by nr columns of B
	kc     int // largest k-block: an nr-column panel of packed B (kc·nr floats) stays in L1
	mc     int // rows of A per packed block (mc·kc floats, in L2); a multiple of mr
	nc     int // columns of B per packed block (kc·nc floats, in L3); a multiple of nr
	// aOuter makes the macro-kernel run the A panels outermost (see
	// gemmTask.macro): then the kc·nc B block is what must stay in L2.
	aOuter bool
	// blocking names the cache blocking when a kernel set has one per
	// kind of CPU (see archAVX512); "" otherwise.
	blocking string
	// kernel computes the mr×nr tile c = a·b (accum false) or c += a·b
	// (accum true) from an mr×k panel of packed A (a[p·mr+i]) and a k×nr
	// panel of packed B (b[p·nr+j]); c has row stride ldc. k ≥ 1.
	kernel func(k int, a, b, c *float32, ldc int, accum bool)
	// packAT and packBT, when not nil, pack one full panel from rows of
	// the source that run along k: dst[p·mr + i] = src[off + i·ld + p]
	// (and the same with nr) for p < kc. They may write up to 8 floats
	// past the panel, when dst is that long; those belong to the next
	// panel, which is packed later.
	packAT, packBT func(dst, src []float32, off, ld, kc int)
	// packAC and packBC, when not nil, pack one full panel from a source
	// whose mr (nr) values for one p are contiguous: dst[p·mr + i] =
	// src[off + p·ld + i].
	packAC, packBC func(dst, src []float32, off, ld, kc int)
	// dot and axpy are the vector helpers (see dot and axpy in matmul.go);
	// they must be set.
	dot  func(x, y []float32) float32
	axpy func(y []float32, a float32, x []float32)
}

// bestArch is the best kernel set the CPU supports (nil: pure Go only).
// useArch is the one in use: bestArch, or nil after SetAssembly(false).
var (
	bestArch = pickArch()
	useArch  atomic.Pointer[gemmArch]
)

// archCandidate is an assembly kernel set compiled in, with the CPU test
// that allows it. archCandidates (one per GOARCH file) lists them best first.
type archCandidate struct {
	arch      *gemmArch
	supported func() bool
	// alt are the same kernels with the blockings chosen on other CPUs
	// (tests run them too, so every blocking is tested on any machine
	// with the kernels).
	alt []*gemmArch
}

func pickArch() *gemmArch { return pickFrom(archCandidates()) }

// pickFrom returns the first candidate the CPU supports, nil if none is.
func pickFrom(cands []archCandidate) *gemmArch {
	for _, c := range cands {
		if c.supported() {
			return c.arch
		}
	}
	return nil
}

func init() { useArch.Store(bestArch) }

// arch returns the kernel set in use, nil for pure Go.
func arch() *gemmArch { return useArch.Load() }

// SetAssembly turns the assembly kernels on (the default, where the CPU
// supports them) or off, so the pure-Go kernels can be tested and compared
// on any machine. It returns the previous setting. Turning them on where
// none is supported has no effect. It is meant for tests and benchmarks;
// kernels already running finish with the setting they started with.
func SetAssembly(on bool) (was bool) {
	var next *gemmArch
	if on {
		next = bestArch
	}
	return useArch.Swap(next) != nil
}

// Accel names the kernel set in use: "avx512f" (512-bit GEMM and attention
// micro-kernels), "avx2+fma", or "go" for the pure-Go kernels.
func Accel() string {
	if a := arch(); a != nil {
		return a.name
	}
	return "go"
}
