package kernels

import "sync"

// Linear layers over bf16 and int8 weight matrices (inference only): the
// weights stay in their narrow type, activations and sums are float32.
//
// One row of input (a decoding step) is a matrix-vector product that reads
// the narrow weights directly (MatVecBF16, MatVecInt8): generation is bound
// by the bytes it streams, so half or a quarter of the bytes is the speed-up.
// Several rows (a prompt or an evaluation batch) are a GEMM: the weight
// matrix is widened to float32 a block of rows at a time (lowpBlockRows) into
// a scratch buffer and multiplied with the float32 GEMM, so the widening
// costs O(o·in) against the product's O(n·o·in) and the matrix is never
// widened whole.

// lowpGEMMRows is the smallest number of input rows that takes the widening
// GEMM path; fewer rows are one matrix-vector product each.
const lowpGEMMRows = 4

// lowpBlockFloats bounds the widened block of the GEMM path (1 MiB of
// float32): as many weight rows as fit, a multiple of 32, at least 96.
// Fewer, larger blocks repack the input rows fewer times.
const lowpBlockFloats = 1 << 18

// lowpBlockRows is the number of weight rows of width in widened at a time.
func lowpBlockRows(in int) int {
	return max(96, lowpBlockFloats/max(in, 1)/32*32)
}

// lowpScratch holds the GEMM path's widened weight block and its output
// block between calls, so a batched forward pass allocates once.
type lowpScratch struct{ w, c []float32 }

var lowpScratchPool = sync.Pool{New: func() any { return new(lowpScratch) }}

// LinearForwardBF16 is LinearForward with a bf16 weight matrix w[o×in]
// (row-major, as stored): out[n×o] = inp[n×in] · wᵀ + bias (+ res). Bias
// and res may be nil. One to three rows are matrix-vector products over
// the bf16 weights; more rows widen w a block at a time and use the
// float32 GEMM. Each output element is computed in a fixed order whatever
// the thread count. FLOPs are counted as LinearForward counts them.
func LinearForwardBF16(cnt *Counter, comp Component, out, inp []float32, w []uint16, bias, res []float32, n, in, o int) {
	linearLowp(cnt, comp, out, inp, bias, res, n, in, o,
		func(y, x []float32) { MatVecBF16(nil, comp, y, w, x, o, in) },
		func(dst []float32, r0, r1 int) { widenRows(dst, w, nil, nil, in, r0, r1) })
}

// LinearForwardInt8 is LinearForward with an int8 weight matrix q[o×in]
// and one float32 scale per row (w[r] ≈ scale[r]·q[r], see
// QuantizeInt8Rows): out[n×o] = inp[n×in] · wᵀ + bias (+ res), with the
// same paths, determinism and FLOP counts as LinearForwardBF16.
func LinearForwardInt8(cnt *Counter, comp Component, out, inp []float32, q []int8, scale, bias, res []float32, n, in, o int) {
	linearLowp(cnt, comp, out, inp, bias, res, n, in, o,
		func(y, x []float32) { MatVecInt8(nil, comp, y, q, scale, x, o, in) },
		func(dst []float32, r0, r1 int) { widenRows(dst, nil, q, scale, in, r0, r1) })
}

// widenArgs are the operands of widenRows.
type widenArgs struct {
	dst    []float32
	h      []uint16
	q      []int8
	s      []float32
	in, r0 int
}

var widenJobs JobPool[FuncJob[widenArgs]]

// widenRows writes rows [r0, r1) of a weight matrix with in columns, bf16
// (h) or int8 with row scales (q, s), as float32 into dst, the rows split
// across threads: each value is one conversion, so the result does not
// depend on the split. (A prompt's GEMM on two threads would otherwise wait
// for one thread to widen each block.)
func widenRows(dst []float32, h []uint16, q []int8, s []float32, in, r0, r1 int) {
	RunFunc(&widenJobs, r1-r0, int64(r1-r0)*int64(in), widenArgs{dst: dst, h: h, q: q, s: s, in: in, r0: r0}, func(a *widenArgs, lo, hi int) {
		in, r0 := a.in, a.r0
		d := a.dst[lo*in : hi*in]
		if a.h != nil {
			FromBF16(d, a.h[(r0+lo)*in:(r0+hi)*in])
			return
		}
		DequantizeInt8Rows(d, a.q[(r0+lo)*in:(r0+hi)*in], a.s[r0+lo:r0+hi], hi-lo, in)
	})
}

// DequantizeInt8Rows writes dst[r×cols] = scale[r]·q[r×cols] for rows rows.
func DequantizeInt8Rows(dst []float32, q []int8, scale []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		s := scale[r]
		d, qr := dst[r*cols:(r+1)*cols], q[r*cols:(r+1)*cols]
		for j, v := range qr {
			d[j] = s * float32(v)
		}
	}
}

// linearLowp is the shared body of the narrow-weight linear layers: matvec
// computes one row's y[o] = W·x; widen writes weight rows [r0, r1) as
// float32 into dst.
func linearLowp(cnt *Counter, comp Component, out, inp, bias, res []float32, n, in, o int,
	matvec func(y, x []float32), widen func(dst []float32, r0, r1 int)) {
	if n <= 0 || o <= 0 {
		return
	}
	out = out[:n*o]
	switch {
	case in == 0:
		clear(out)
	case n < lowpGEMMRows:
		for r := 0; r < n; r++ {
			matvec(out[r*o:(r+1)*o], inp[r*in:(r+1)*in])
		}
	default:
		sc := lowpScratchPool.Get().(*lowpScratch)
		bl := min(lowpBlockRows(in), o)
		sc.w, sc.c = grow(sc.w, bl*in), grow(sc.c, n*bl)
		for j0 := 0; j0 < o; j0 += bl {
			j1 := min(j0+bl, o)
			k := j1 - j0
			widen(sc.w[:k*in], j0, j1)
			c := sc.c[:n*k]
			MatMulNT(c, inp[:n*in], sc.w[:k*in], n, k, in, false)
			for r := 0; r < n; r++ {
				copy(out[r*o+j0:r*o+j1], c[r*k:(r+1)*k])
			}
		}
		lowpScratchPool.Put(sc)
	}
	flops := 2 * int64(n) * int64(in) * int64(o)
	if bias != nil {
		bias = bias[:o]
		for r := 0; r < n; r++ {
			axpy(out[r*o:r*o+o], 1, bias)
		}
		flops += int64(n) * int64(o)
	}
	if res != nil {
		axpy(out, 1, res[:n*o])
		flops += int64(n) * int64(o) * FlopsResidual
	}
	cnt.Add(Forward, comp, flops)
}
