package kernels

import (
	"fmt"
	"math"
	"testing"
)

// lowpCase is one narrow-weight linear layer's inputs: the weights in bf16
// and int8 and each widened back to float32 (the exact values the kernels
// multiply), over slices that start one element into their backing arrays
// so that no row is aligned.
type lowpCase struct {
	n, in, o         int
	inp, bias, res   []float32
	wh               []uint16
	q                []int8
	scale            []float32
	wfBF16, wfInt8   []float32
	withBias, hasRes bool
}

func newLowpCase(t testing.TB, seed uint64, n, in, o int, withBias, withRes bool) *lowpCase {
	r := newRNG(seed)
	c := &lowpCase{n: n, in: in, o: o, withBias: withBias, hasRes: withRes}
	w := randVec(r, o*in+1, 0.5)[1:]
	c.wh = make([]uint16, o*in+3)[3:]
	ToBF16(c.wh, w)
	c.wfBF16 = make([]float32, o*in)
	FromBF16(c.wfBF16, c.wh)
	c.q, c.scale = make([]int8, o*in+1)[1:], make([]float32, o+1)[1:]
	if err := QuantizeInt8Rows(c.q, c.scale, w, o, in); err != nil {
		t.Fatal(err)
	}
	c.wfInt8 = make([]float32, o*in)
	for i, v := range c.q {
		c.wfInt8[i] = c.scale[i/max(in, 1)] * float32(v)
	}
	c.inp = randVec(r, n*in+1, 1)[1:]
	if withBias {
		c.bias = randVec(r, o+1, 1)[1:]
	}
	if withRes {
		c.res = randVec(r, n*o+1, 1)[1:]
	}
	return c
}

// check compares out with the float64 product of the widened weights wf
// (plus bias and residual): only the float32 sums and, for int8, the one
// product with the scale err.
func (c *lowpCase) check(t *testing.T, what string, out, wf []float32) {
	t.Helper()
	for r := 0; r < c.n; r++ {
		for j := 0; j < c.o; j++ {
			var want, mag float64
			for k := 0; k < c.in; k++ {
				p := float64(c.inp[r*c.in+k]) * float64(wf[j*c.in+k])
				want += p
				mag += math.Abs(p)
			}
			if c.bias != nil {
				want += float64(c.bias[j])
				mag += math.Abs(float64(c.bias[j]))
			}
			if c.res != nil {
				want += float64(c.res[r*c.o+j])
				mag += math.Abs(float64(c.res[r*c.o+j]))
			}
			got := out[r*c.o+j]
			if d := math.Abs(float64(got) - want); !(d <= mmTol(c.in+3, mag)) {
				t.Fatalf("%s: out[%d,%d] = %g, want %g (|diff| %g, tolerance %g)", what, r, j, got, want, d, mmTol(c.in+3, mag))
			}
		}
	}
}

func (c *lowpCase) runBF16(cnt *Counter) []float32 {
	out := filled(c.n*c.o+1, nan32())[1:]
	LinearForwardBF16(cnt, FFNUp, out, c.inp, c.wh, c.bias, c.res, c.n, c.in, c.o)
	return out
}

func (c *lowpCase) runInt8(cnt *Counter) []float32 {
	out := filled(c.n*c.o+1, nan32())[1:]
	LinearForwardInt8(cnt, FFNUp, out, c.inp, c.q, c.scale, c.bias, c.res, c.n, c.in, c.o)
	return out
}

// lowpShapes are awkward (rows n, in, out) shapes: both paths (n < 4 is
// matrix-vector, more rows the widening GEMM), widths around the vector
// lengths, and (in 2900: blocks of 96 rows) a block size that does not
// divide the output.
var lowpShapes = [][3]int{{1, 1, 1}, {1, 7, 5}, {2, 15, 9}, {3, 33, 17}, {4, 16, 3}, {5, 31, 97}, {7, 65, 193}, {9, 1, 200}, {17, 129, 96}, {33, 70, 250}, {6, 2900, 200}}

// TestLinearForwardLowp: both narrow dtypes on both paths, with and without
// bias and residual, with the assembly kernels and with the pure-Go twins,
// against float64 references of the widened weights; the two
// implementations agree within the same tolerance; the FLOPs are
// LinearForward's.
func TestLinearForwardLowp(t *testing.T) {
	for si, sh := range lowpShapes {
		for _, br := range [][2]bool{{false, false}, {true, true}, {true, false}} {
			c := newLowpCase(t, uint64(si), sh[0], sh[1], sh[2], br[0], br[1])
			name := fmt.Sprintf("n=%d in=%d o=%d bias=%v res=%v", c.n, c.in, c.o, br[0], br[1])
			var outs [2][2][]float32
			for ai, asm := range []bool{true, false} {
				withAssembly(t, asm)
				var cb, ci Counter
				outs[ai][0], outs[ai][1] = c.runBF16(&cb), c.runInt8(&ci)
				c.check(t, fmt.Sprintf("bf16 asm=%v %s", asm, name), outs[ai][0], c.wfBF16)
				c.check(t, fmt.Sprintf("int8 asm=%v %s", asm, name), outs[ai][1], c.wfInt8)
				want := 2 * int64(c.n) * int64(c.in) * int64(c.o)
				if br[0] {
					want += int64(c.n * c.o)
				}
				if br[1] {
					want += int64(c.n*c.o) * FlopsResidual
				}
				if cb.Get(Forward, FFNUp) != want || ci.Get(Forward, FFNUp) != want {
					t.Errorf("%s: counted %d (bf16) and %d (int8) FLOPs, want %d", name, cb.Get(Forward, FFNUp), ci.Get(Forward, FFNUp), want)
				}
			}
			// The assembly result against the pure-Go twin's.
			for k := 0; k < 2; k++ {
				for i := range outs[0][k] {
					a, g := float64(outs[0][k][i]), float64(outs[1][k][i])
					if d := math.Abs(a - g); d > 1e-4*(1+math.Abs(g)) {
						t.Fatalf("%s dtype %d: assembly %g, pure Go %g", name, k, a, g)
					}
				}
			}
		}
	}
}

// TestLinearForwardLowpThreads: bitwise the same outputs for any thread
// count on both paths, and no allocation per call once the GEMM path's
// scratch exists.
func TestLinearForwardLowpThreads(t *testing.T) {
	for _, sh := range [][2]int{{1, 300}, {3, 300}, {24, 300}, {8, 3000}} {
		n := sh[0]
		c := newLowpCase(t, 9, n, sh[1], 257, true, true)
		var first [2][]float32
		for _, th := range []int{1, 2, 3, 8} {
			withThreads(t, th)
			withParallelMin(t, 1) // parallel GEMMs even at these sizes
			got := [2][]float32{c.runBF16(nil), c.runInt8(nil)}
			if first[0] == nil {
				first = got
				continue
			}
			checkExact(t, fmt.Sprintf("n=%d bf16 threads=%d", n, th), got[0], first[0])
			checkExact(t, fmt.Sprintf("n=%d int8 threads=%d", n, th), got[1], first[1])
		}
		if raceEnabled {
			continue
		}
		out := make([]float32, n*c.o)
		if a := testing.AllocsPerRun(10, func() {
			LinearForwardBF16(nil, QKV, out, c.inp, c.wh, c.bias, c.res, n, c.in, c.o)
			LinearForwardInt8(nil, QKV, out, c.inp, c.q, c.scale, c.bias, c.res, n, c.in, c.o)
		}); a != 0 {
			t.Errorf("n=%d: %.1f allocations per call", n, a)
		}
	}
}

// TestDequantizeInt8Rows against the definition.
func TestDequantizeInt8Rows(t *testing.T) {
	q := []int8{-127, 0, 5, 127, -1, 3}
	s := []float32{0.5, 1.0 / 127}
	got := make([]float32, 6)
	DequantizeInt8Rows(got, q, s, 2, 3)
	for i, v := range q {
		if want := s[i/3] * float32(v); got[i] != want {
			t.Errorf("[%d] = %g, want %g", i, got[i], want)
		}
	}
}

// TestBF16RoundTrip: a bf16 value widened to float32 and rounded back is
// itself (NaN payloads aside), so a bf16 checkpoint widened on load and
// converted with --dtype bf16 keeps its weights bit for bit.
func TestBF16RoundTrip(t *testing.T) {
	src := make([]uint16, 0, 1<<16)
	for h := 0; h < 1<<16; h++ {
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			continue // NaN
		}
		src = append(src, uint16(h))
	}
	wide := make([]float32, len(src))
	FromBF16(wide, src)
	back := make([]uint16, len(src))
	ToBF16(back, wide)
	for i := range src {
		if back[i] != src[i] {
			t.Fatalf("%#04x -> %g -> %#04x", src[i], wide[i], back[i])
		}
	}
}

// BenchmarkLinearForwardLowp is one prompt chunk's FFN-up product on the
// GPT-2 small shape (256 rows, 768 -> 3072) with float32, bf16 and int8
// weights, on 1 and 2 threads: the narrow ones widen their blocks first.
func BenchmarkLinearForwardLowp(b *testing.B) {
	const n, in, o = 256, 768, 3072
	rng := newRNG(1)
	x, w := randVec(rng, n*in, 1), randVec(rng, o*in, 0.05)
	h := make([]uint16, o*in)
	ToBF16(h, w)
	q, s := make([]int8, o*in), make([]float32, o)
	if err := QuantizeInt8Rows(q, s, w, o, in); err != nil {
		b.Fatal(err)
	}
	out := make([]float32, n*o)
	for _, th := range []int{1, 2} {
		for _, dt := range []string{"f32", "bf16", "int8"} {
			b.Run(fmt.Sprintf("%s/threads%d", dt, th), func(b *testing.B) {
				withThreads(b, th)
				b.SetBytes(0)
				for b.Loop() {
					switch dt {
					case "f32":
						LinearForward(nil, FFNUp, out, x, w, nil, nil, n, in, o)
					case "bf16":
						LinearForwardBF16(nil, FFNUp, out, x, h, nil, nil, n, in, o)
					default:
						LinearForwardInt8(nil, FFNUp, out, x, q, s, nil, nil, n, in, o)
					}
				}
				b.ReportMetric(2*n*in*o/b.Elapsed().Seconds()*float64(b.N)/1e9, "GFLOP/s")
			})
		}
	}
}
