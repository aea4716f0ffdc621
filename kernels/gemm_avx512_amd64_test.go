//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// needAVX512 skips a test on a CPU (or OS) without AVX-512F.
func needAVX512(t *testing.T) {
	t.Helper()
	if !hasAVX512() {
		t.Skipf("CPU or OS lacks AVX-512F (cpu.X86.HasAVX512F = %v): the AVX2 kernels are tested instead", cpu.X86.HasAVX512F)
	}
}

// TestAVX512Dispatch: on a CPU with AVX-512F the 12×32 kernels are in use
// and the FMA limit is measured on ZMM registers.
func TestAVX512Dispatch(t *testing.T) {
	needAVX512(t)
	if bestArch != archAVX512 || Accel() != "avx512f" {
		t.Fatalf("bestArch = %s, Accel() = %s; want avx512f", bestArch.name, Accel())
	}
	if FMAPeakISA() != "avx512f" {
		t.Fatalf("FMAPeakISA() = %q, want avx512f", FMAPeakISA())
	}
}

// TestAVX512Blocking: the blocking in use is the one for this CPU's L2
// size, read independently from sysfs where Linux has it, and the two
// blockings (which share kc) give bitwise the same products, serial and
// parallel.
func TestAVX512Blocking(t *testing.T) {
	needAVX512(t)
	l2 := l2KiB()
	if b, err := os.ReadFile("/sys/devices/system/cpu/cpu0/cache/index2/size"); err == nil {
		s := strings.TrimSpace(string(b))
		want, err := strconv.Atoi(strings.TrimSuffix(s, "K"))
		if !strings.HasSuffix(s, "K") || err != nil {
			t.Fatalf("cannot read sysfs L2 size %q", s)
		}
		if l2 != want {
			t.Fatalf("l2KiB() = %d, sysfs says %d KiB", l2, want)
		}
	}
	wantBlocking := "l2-2MiB"
	if l2 > 0 && l2 < 2048 {
		wantBlocking = "l2-1MiB"
	}
	if archAVX512.blocking != wantBlocking {
		t.Fatalf("L2 %d KiB: blocking %s, want %s", l2, archAVX512.blocking, wantBlocking)
	}
	bl := avx512Blockings()
	withParallelMin(t, 0)
	for i, gc := range []gemmCase{
		{kindNT, 100, 1100, 400, false}, {kindNN, 250, 530, 800, true}, {kindTN, 1030, 70, 390, true},
	} {
		a, b, c0 := gemmInputs(uint64(300+i), gc)
		var first []float32
		for _, ar := range bl {
			for _, th := range []int{1, 2} {
				withThreads(t, th)
				c := clone32(c0)
				runArch(ar, gc.kind, c, a, b, gc.m, gc.n, gc.k, gc.acc)
				if first == nil {
					first = c
					newGEMMRef(gc, a, b, c0).check(t, gc.String(), c)
					continue
				}
				checkExact(t, fmt.Sprintf("%v/%s/threads=%d", gc, ar.blocking, th), c, first)
			}
		}
	}
}

// TestSgemm12x32Exact checks the micro-kernel alone against its contract
// computed in Go: each element a chain of float32 FMAs in increasing p
// from zero, then stored or added to C, for every k-loop remainder, on
// unaligned panels and a C tile with a row stride that is not a multiple of
// 16, writing nothing outside the tile.
func TestSgemm12x32Exact(t *testing.T) {
	needAVX512(t)
	const mr, nr, ldc = 12, 32, 37
	r := newRNG(12)
	for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33, 256} {
		for _, accum := range []bool{false, true} {
			ap := shifted(randVec(r, mr*k, 1), 3)
			bp := shifted(randVec(r, nr*k, 1), 5)
			c0 := randVec(r, (mr-1)*ldc+nr+ldc, 2) // one spare row: must stay unchanged
			want := clone32(c0)
			for i := 0; i < mr; i++ {
				for j := 0; j < nr; j++ {
					var s float32
					for p := 0; p < k; p++ {
						s = float32(math.FMA(float64(ap[p*mr+i]), float64(bp[p*nr+j]), float64(s)))
					}
					if accum {
						s += want[i*ldc+j]
					}
					want[i*ldc+j] = s
				}
			}
			c := shifted(c0, 1)
			sgemm12x32(k, &ap[0], &bp[0], &c[0], ldc, accum)
			checkExact(t, fmt.Sprintf("k=%d accum=%v", k, accum), c, want)
		}
	}
}

// namedVec is a vector kernel set and its name.
type namedVec struct {
	name string
	vk   *vecKernels
}

// supportedVecs lists the vector kernel sets this CPU runs, best first.
func supportedVecs() []namedVec {
	var v []namedVec
	if hasAVX512() {
		v = append(v, namedVec{"avx512f", vecAVX512})
	}
	if hasAVX2() {
		v = append(v, namedVec{"avx2+fma", vecAVX2})
	}
	return v
}

// TestVecEachSet runs the vector kernels' tests on every set this CPU
// supports (bestVec is the AVX-512 one here; this keeps the AVX2 one
// tested on the same machine).
func TestVecEachSet(t *testing.T) {
	if len(supportedVecs()) == 0 {
		t.Skip("no assembly vector kernels on this CPU")
	}
	if hasAVX512() && bestVec != vecAVX512 {
		t.Fatal("AVX-512F CPU: bestVec is not the AVX-512 set")
	}
	for _, v := range supportedVecs() {
		t.Run(v.name, func(t *testing.T) {
			was := bestVec
			bestVec = v.vk
			t.Cleanup(func() { bestVec = was })
			t.Run("matches Go", TestVecAsmMatchesGo)
			t.Run("exp reference", TestExpSumReference)
			t.Run("exp range", TestExpSumRange)
			t.Run("exp to", TestExpSumTo)
		})
	}
}

// BenchmarkExpSumArch times exp with sum (a softmax row) on every vector
// kernel set the CPU supports, at a row of an attention tile (96) and of a
// large vocabulary.
func BenchmarkExpSumArch(b *testing.B) {
	for _, k := range supportedVecs() {
		for _, n := range []int{96, 50257} {
			b.Run(fmt.Sprintf("%s/n%d", k.name, n), func(b *testing.B) {
				src := randVec(newRNG(1), n, 3)
				dst := make([]float32, n)
				for b.Loop() {
					k.vk.expSum(dst, src, 1, -3)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
			})
		}
	}
}

// TestDotBF16Asm: each assembly bf16 dot product the CPU supports against
// the float64 product and the pure-Go twin, for lengths around its 8-, 16-,
// 32- and 64-wide steps, on slices that start off any alignment.
func TestDotBF16Asm(t *testing.T) {
	type impl struct {
		name string
		f    func(w []uint16, x []float32) float32
	}
	var impls []impl
	if hasAVX512() {
		impls = append(impls, impl{"avx512f", dotBF16AsmAVX512})
	}
	if hasAVX2() {
		impls = append(impls, impl{"avx2+fma", dotBF16AsmAVX2})
	}
	if len(impls) == 0 {
		t.Skip("CPU lacks AVX2 and AVX-512F")
	}
	if bestDotBF16 == nil {
		t.Fatal("no bf16 dot product picked on a CPU with AVX2")
	}
	r := newRNG(17)
	for _, im := range impls {
		for n := 0; n <= 200; n++ {
			for _, off := range []int{0, 1, 3} {
				wf := randVec(r, n+off+4, 1)
				w := make([]uint16, len(wf))
				ToBF16(w, wf)
				FromBF16(wf, w)
				x := randVec(r, n+off+4, 1)
				ws, xs := w[off:off+n], x[off:]
				var want, mag float64
				for i := 0; i < n; i++ {
					p := float64(wf[off+i]) * float64(xs[i])
					want += p
					mag += math.Abs(p)
				}
				got := im.f(ws, xs)
				if d := math.Abs(float64(got) - want); d > mmTol(n, mag) {
					t.Fatalf("%s n=%d off=%d: %g, want %g", im.name, n, off, got, want)
				}
				if g := dotBF16Go(ws, xs); math.Abs(float64(got-g)) > 2*mmTol(n, mag) {
					t.Fatalf("%s n=%d off=%d: %g, Go %g", im.name, n, off, got, g)
				}
			}
		}
	}
}

// BenchmarkDotBF16Arch times the bf16 dot products on a row of GPT-2's
// width (768, cache-resident) and of its FFN (3072).
func BenchmarkDotBF16Arch(b *testing.B) {
	impls := map[string]func(w []uint16, x []float32) float32{"go": dotBF16Go}
	if hasAVX512() {
		impls["avx512f"] = dotBF16AsmAVX512
	}
	if hasAVX2() {
		impls["avx2+fma"] = dotBF16AsmAVX2
	}
	for _, name := range []string{"avx512f", "avx2+fma", "go"} {
		f, ok := impls[name]
		if !ok {
			continue
		}
		for _, n := range []int{768, 3072} {
			b.Run(fmt.Sprintf("%s/n%d", name, n), func(b *testing.B) {
				w, _, x := bf16Inputs(1, 1, n)
				var s float32
				for b.Loop() {
					s += f(w, x)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
			})
		}
	}
}

// TestDotInt8Asm: each assembly int8 dot product the CPU supports against
// the float64 product and the pure-Go twin, for lengths around its steps,
// on slices that start off any alignment, with the extreme values ±127.
func TestDotInt8Asm(t *testing.T) {
	type impl struct {
		name string
		f    func(q []int8, x []float32) float32
	}
	var impls []impl
	if hasAVX512() {
		impls = append(impls, impl{"avx512f", dotInt8AsmAVX512})
	}
	if hasAVX2() {
		impls = append(impls, impl{"avx2+fma", dotInt8AsmAVX2})
	}
	if len(impls) == 0 {
		t.Skip("CPU lacks AVX2 and AVX-512F")
	}
	r := newRNG(23)
	for _, im := range impls {
		for n := 0; n <= 200; n++ {
			for _, off := range []int{0, 1, 3} {
				q := make([]int8, n+off+4)
				for i := range q {
					q[i] = int8(r.IntN(255) - 127)
				}
				if n > 0 {
					q[off], q[off+n-1] = 127, -127
				}
				x := randVec(r, n+off+4, 1)
				qs, xs := q[off:off+n], x[off:]
				var want, mag float64
				for i := 0; i < n; i++ {
					p := float64(qs[i]) * float64(xs[i])
					want += p
					mag += math.Abs(p)
				}
				got := im.f(qs, xs)
				if d := math.Abs(float64(got) - want); d > mmTol(n, mag) {
					t.Fatalf("%s n=%d off=%d: %g, want %g", im.name, n, off, got, want)
				}
				if g := dotInt8Go(qs, xs); math.Abs(float64(got-g)) > 2*mmTol(n, mag) {
					t.Fatalf("%s n=%d off=%d: %g, Go %g", im.name, n, off, got, g)
				}
			}
		}
	}
}
