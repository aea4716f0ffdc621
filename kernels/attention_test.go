package kernels

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

type attCase struct {
	b, t, d, h int
	sd         float64 // standard deviation of the q, k, v values
}

func (c attCase) name(causal bool) string {
	s := shapeName(c.b, c.t, c.d, c.h)
	if causal {
		return s + "/causal"
	}
	return s + "/full"
}

var attCases = []attCase{
	{1, 1, 1, 1, 1},   // t = 1, dh = 1
	{1, 1, 8, 2, 1},   // t = 1
	{2, 3, 4, 1, 1},   // h = 1
	{1, 5, 4, 4, 1},   // dh = 1
	{3, 4, 6, 3, 1},   // dh = 2
	{2, 7, 6, 2, 2.5}, // peaky softmax
	{1, 17, 8, 2, 1},  // t = 17
	{2, 17, 12, 3, 1}, // t = 17, h = 3
	{2, 33, 32, 4, 1}, // enough work to split across goroutines
	// Several key tiles (AttentionTile = 96): the online softmax rescales.
	{1, 97, 8, 2, 1},    // one row past the first tile
	{1, 100, 40, 2, 1},  // dh = 20: not a multiple of the micro-tile width
	{2, 97, 64, 1, 2.5}, // peaky, dh = 64
	{1, 200, 24, 3, 1},  // dh = 8, three tiles
	{1, 110, 160, 1, 1}, // dh = 160: wider than the micro-kernel's k-blocks, not a multiple of 16
}

// wantAttnCounts returns the FLOPs the package doc gives for attention over
// b sequences of t positions (with key lengths lens, nil for full), counted
// here pair by pair and tile by tile.
func wantAttnCounts(b, t, d, h int, causal bool, lens []int32) map[countKey]int64 {
	dh := int64(d / h)
	var prs, rows, resc int64
	for bi := 0; bi < b; bi++ {
		for i := 0; i < t; i++ {
			nk := t
			if lens != nil {
				nk = int(lens[bi])
			}
			if causal {
				nk = i + 1
			}
			tiles := int64(0)
			for j0 := 0; j0 < nk; j0 += AttentionTile {
				tiles++
			}
			prs += int64(nk)
			rows++
			resc += tiles - 1
		}
	}
	prs, rows, resc = prs*int64(h), rows*int64(h), resc*int64(h)
	return map[countKey]int64{
		{Forward, Scores}:   2 * dh * prs,
		{Forward, Softmax}:  FlopsAttnSoftmaxFwd*prs + (rows+resc)*dh,
		{Forward, AV}:       2 * dh * prs,
		{Backward, Scores}:  6 * dh * prs,
		{Backward, Softmax}: FlopsAttnSoftmaxBwd*prs + 2*dh*rows,
		{Backward, AV}:      4 * dh * prs,
	}
}

// forwardCounts keeps the forward entries of a count map.
func forwardCounts(m map[countKey]int64) map[countKey]int64 {
	out := map[countKey]int64{}
	for k, v := range m {
		if k.p == Forward {
			out[k] = v
		}
	}
	return out
}

// backwardCounts keeps the backward entries of a count map.
func backwardCounts(m map[countKey]int64) map[countKey]int64 {
	out := map[countKey]int64{}
	for k, v := range m {
		if k.p == Backward {
			out[k] = v
		}
	}
	return out
}

// attRef is a float64 reference of AttentionForward.
type attRef struct {
	out, att []float64 // b×t×d, b×h×t×t
	lse      []float64 // b×h×t: log Σ_j exp(score_j)
	outMag   []float64 // Σ_j p_j·|v_j| for each output element
	relP     float64   // bound on the kernel's relative error in any p (float32)
}

// refAttention computes softmax(q·kᵀ/sqrt(dh), masked)·v per head in float64.
func refAttention(qkv []float64, b, t, d, h int, causal bool) attRef {
	dh := d / h
	scale := 1 / math.Sqrt(float64(dh))
	r := attRef{out: make([]float64, b*t*d), att: make([]float64, b*h*t*t), lse: make([]float64, b*h*t), outMag: make([]float64, b*t*d)}
	s := make([]float64, t)
	for bi := 0; bi < b; bi++ {
		x := qkv[bi*t*3*d : (bi+1)*t*3*d]
		for hd := 0; hd < h; hd++ {
			for i := 0; i < t; i++ {
				nk := t
				if causal {
					nk = i + 1
				}
				mx, maxErr := math.Inf(-1), 0.0
				for j := 0; j < nk; j++ {
					var dot, mag float64
					for c := 0; c < dh; c++ {
						qc, kc := x[i*3*d+hd*dh+c], x[j*3*d+d+hd*dh+c]
						dot += qc * kc
						mag += math.Abs(qc * kc)
					}
					s[j] = dot * scale
					mx = max(mx, s[j])
					// float32 error of the score: the dot's γ_dh, the scale's
					// rounding and the product's.
					maxErr = max(maxErr, (float64(dh)+3)*u32*mag*scale)
				}
				var sum, gap float64
				for j := 0; j < nk; j++ {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for j := 0; j < nk; j++ {
					gap = max(gap, math.Abs(math.Log(s[j])))
				}
				r.lse[(bi*h+hd)*t+i] = mx + math.Log(sum)
				// p_j = e_j/Σe: both scores' errors (this one and the max),
				// the float32 subtraction and exp, the sum and the division.
				r.relP = max(r.relP, 2*maxErr+u32*gap+float64(nk+4)*u32)
				row := r.att[((bi*h+hd)*t+i)*t:]
				for j := 0; j < nk; j++ {
					p := s[j] / sum
					row[j] = p
					for c := 0; c < dh; c++ {
						v := x[j*3*d+2*d+hd*dh+c]
						r.out[(bi*t+i)*d+hd*dh+c] += p * v
						r.outMag[(bi*t+i)*d+hd*dh+c] += p * math.Abs(v)
					}
				}
			}
		}
	}
	return r
}

// refAttentionBackward returns the float64 gradient of Σ out⊙g with respect
// to qkv, computed analytically from the float64 forward, and per element
// the magnitude of the terms summed into it (to scale float32 tolerances).
func refAttentionBackward(qkv []float64, g []float32, b, t, d, h int, causal bool) (grad, mag []float64) {
	dh := d / h
	scale := 1 / math.Sqrt(float64(dh))
	ref := refAttention(qkv, b, t, d, h, causal)
	grad = make([]float64, len(qkv))
	mag = make([]float64, len(qkv))
	dp := make([]float64, t)
	dpMag := make([]float64, t)
	for bi := 0; bi < b; bi++ {
		base := bi * t * 3 * d
		for hd := 0; hd < h; hd++ {
			for i := 0; i < t; i++ {
				nk := t
				if causal {
					nk = i + 1
				}
				p := ref.att[((bi*h+hd)*t+i)*t:]
				gi := g[(bi*t+i)*d+hd*dh : (bi*t+i)*d+hd*dh+dh]
				var sdp, sdpMag float64
				for j := 0; j < nk; j++ {
					voff := base + j*3*d + 2*d + hd*dh
					dp[j], dpMag[j] = 0, 0
					for c := 0; c < dh; c++ {
						dp[j] += float64(gi[c]) * qkv[voff+c]
						dpMag[j] += math.Abs(float64(gi[c]) * qkv[voff+c])
						grad[voff+c] += p[j] * float64(gi[c])
						mag[voff+c] += p[j] * math.Abs(float64(gi[c]))
					}
					sdp += p[j] * dp[j]
					sdpMag += p[j] * dpMag[j]
				}
				qoff := base + i*3*d + hd*dh
				for j := 0; j < nk; j++ {
					ds := p[j] * (dp[j] - sdp) * scale
					dsMag := p[j] * (dpMag[j] + sdpMag) * scale
					koff := base + j*3*d + d + hd*dh
					for c := 0; c < dh; c++ {
						grad[qoff+c] += ds * qkv[koff+c]
						mag[qoff+c] += dsMag * math.Abs(qkv[koff+c])
						grad[koff+c] += ds * qkv[qoff+c]
						mag[koff+c] += dsMag * math.Abs(qkv[qoff+c])
					}
				}
			}
		}
	}
	return grad, mag
}

// attHeadLoss returns Σ out⊙g over head hd's output columns of one sequence
// x[t×3d], in float64.
func attHeadLoss(x []float64, g []float32, t, d, h, hd int, causal bool) float64 {
	dh := d / h
	scale := 1 / math.Sqrt(float64(dh))
	s := make([]float64, t)
	loss := 0.0
	for i := 0; i < t; i++ {
		nk := t
		if causal {
			nk = i + 1
		}
		q := x[i*3*d+hd*dh : i*3*d+hd*dh+dh]
		mx := math.Inf(-1)
		for j := 0; j < nk; j++ {
			k := x[j*3*d+d+hd*dh : j*3*d+d+hd*dh+dh]
			dot := 0.0
			for c := range q {
				dot += q[c] * k[c]
			}
			s[j] = dot * scale
			mx = max(mx, s[j])
		}
		sum := 0.0
		for j := 0; j < nk; j++ {
			s[j] = math.Exp(s[j] - mx)
			sum += s[j]
		}
		for j := 0; j < nk; j++ {
			v := x[j*3*d+2*d+hd*dh : j*3*d+2*d+hd*dh+dh]
			for c := range v {
				loss += s[j] / sum * v[c] * float64(g[i*d+hd*dh+c])
			}
		}
	}
	return loss
}

func attInputs(c attCase, seed uint64) (qkv, g []float32) {
	r := newRNG(seed)
	return randVec(r, c.b*c.t*3*c.d, c.sd), randVec(r, c.b*c.t*c.d, 1)
}

func TestAttentionPairs(t *testing.T) {
	for _, c := range []struct {
		t      int
		causal bool
		want   int64
	}{{0, true, 0}, {1, true, 1}, {2, true, 3}, {17, true, 153}, {1024, true, 524800}, {0, false, 0}, {1, false, 1}, {17, false, 289}, {1024, false, 1 << 20}} {
		if got := AttentionPairs(c.t, c.causal); got != c.want {
			t.Errorf("AttentionPairs(%d, %v) = %d, want %d", c.t, c.causal, got, c.want)
		}
	}
}

// attKernels runs a test body on the assembly micro-kernels (where the CPU
// has them) and on the pure-Go ones.
func attKernels(t *testing.T, body func(t *testing.T)) {
	t.Run("asm", body)
	t.Run("go", func(t *testing.T) {
		withAssembly(t, false)
		body(t)
	})
}

func TestAttentionForward(t *testing.T) { attKernels(t, testAttentionForward) }

func testAttentionForward(t *testing.T) {
	for ci, c := range attCases {
		for _, causal := range []bool{true, false} {
			name := c.name(causal)
			qkv, _ := attInputs(c, uint64(ci))
			qkv0 := clone32(qkv)
			out := filled(c.b*c.t*c.d, nan32())
			lse := filled(c.b*c.h*c.t, nan32())
			var cnt Counter
			AttentionForward(&cnt, out, lse, qkv, c.b, c.t, c.d, c.h, causal)

			ref := refAttention(to64(qkv), c.b, c.t, c.d, c.h, causal)
			// out sums nk products p·v: its error is the p error plus γ_nk.
			checkTol(t, name+"/out", out, ref.out, func(i int) float64 {
				return 4*(ref.relP+float64(c.t+2)*u32)*ref.outMag[i] + 1e-30
			})
			// lse = max + log Σ: the p error bound covers the log of the sum,
			// and the max carries the score's error.
			checkTol(t, name+"/lse", lse, ref.lse, func(i int) float64 { return 4*ref.relP*(1+math.Abs(ref.lse[i])) + 1e-30 })
			checkExact(t, name+"/qkv unchanged", qkv, qkv0)
			checkCounts(t, name, &cnt, forwardCounts(wantAttnCounts(c.b, c.t, c.d, c.h, causal, nil)))
		}
	}
}

// TestAttentionForwardKnown: with t = 1 the output is v; with identical keys
// the weights are uniform and the output is the mean of the visible values.
func TestAttentionForwardKnown(t *testing.T) {
	// b=1, t=1, d=4, h=2: out = v.
	qkv := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	out, lse := make([]float32, 4), make([]float32, 2)
	AttentionForward(nil, out, lse, qkv, 1, 1, 4, 2, true)
	// (Up to rounding: the softmax's exp(scale·s − m) runs as one FMA, whose
	// argument for the max is the rounding error of scale·s, not 0.)
	checkTol(t, "t=1 out", out, []float64{9, 10, 11, 12}, func(i int) float64 { return 4e-7 * float64(9+i) })
	// One key: lse is the scaled score, q·k/sqrt(2).
	checkTol(t, "t=1 lse", lse, []float64{17 / math.Sqrt2, 53 / math.Sqrt2}, func(int) float64 { return 1e-5 })

	// b=1, t=3, d=1, h=1, keys all 0.5: position i averages v_0..v_i.
	qkv = []float32{1, 0.5, 3, -2, 0.5, 6, 4, 0.5, 9}
	out, lse = make([]float32, 3), make([]float32, 3)
	AttentionForward(nil, out, lse, qkv, 1, 3, 1, 1, true)
	checkTol(t, "uniform out", out, []float64{3, 4.5, 6}, func(int) float64 { return 1e-6 })
	checkTol(t, "uniform lse", lse, []float64{0.5, -1 + math.Log(2), 2 + math.Log(3)}, func(int) float64 { return 1e-6 })
	AttentionForward(nil, out, lse, qkv, 1, 3, 1, 1, false)
	checkTol(t, "uniform out (full)", out, []float64{6, 6, 6}, func(int) float64 { return 1e-6 })
}

// TestAttentionForwardScale pins the 1/sqrt(dh) scale (dh = 4, not d = 8).
func TestAttentionForwardScale(t *testing.T) {
	// b=1, t=2, d=8, h=2; head 0: q1·k0 = 0, q1·k1 = 4 → scores 0 and 2.
	qkv := make([]float32, 2*24)
	for c := 0; c < 4; c++ {
		qkv[24+c] = 1      // q1, head 0
		qkv[24+8+c] = 1    // k1, head 0
		qkv[16+c] = 0      // v0 = 0
		qkv[24+16+c] = 1   // v1 = 1
		qkv[24+4+c] = 0    // q1, head 1: uniform weights
		qkv[16+4+c] = 2    // v0, head 1
		qkv[24+16+4+c] = 4 // v1, head 1
	}
	out, lse := make([]float32, 16), make([]float32, 4)
	AttentionForward(nil, out, lse, qkv, 1, 2, 8, 2, true)
	p1 := 1 / (1 + math.Exp(-2)) // softmax(0, 2)[1]
	want := []float64{p1, p1, p1, p1, 3, 3, 3, 3}
	checkTol(t, "row 1", out[8:], want, func(int) float64 { return 1e-6 })
}

func TestAttentionBackward(t *testing.T) { attKernels(t, testAttentionBackward) }

func testAttentionBackward(t *testing.T) {
	for ci, c := range attCases {
		for _, causal := range []bool{true, false} {
			name := c.name(causal)
			qkv, g := attInputs(c, uint64(100+ci))
			out := make([]float32, c.b*c.t*c.d)
			lse := make([]float32, c.b*c.h*c.t)
			AttentionForward(nil, out, lse, qkv, c.b, c.t, c.d, c.h, causal)
			qkv0, out0, lse0, g0 := clone32(qkv), clone32(out), clone32(lse), clone32(g)

			dqkv0 := randVec(newRNG(uint64(200+ci)), len(qkv), 1) // accumulates
			dqkv := clone32(dqkv0)
			var cnt Counter
			AttentionBackward(&cnt, dqkv, g, qkv, out, lse, c.b, c.t, c.d, c.h, causal)
			checkExact(t, name+"/qkv unchanged", qkv, qkv0)
			checkExact(t, name+"/out unchanged", out, out0)
			checkExact(t, name+"/lse unchanged", lse, lse0)
			checkExact(t, name+"/dout unchanged", g, g0)

			// Reference: the analytic float64 gradient, itself checked
			// against central differences of L = Σ out⊙g through the float64
			// forward (restricted to the (batch, head) the perturbed element
			// belongs to) on the cases small enough for differences to be
			// precise and quick; the longest cases rely on it as verified.
			x64 := to64(qkv)
			ref := refAttention(x64, c.b, c.t, c.d, c.h, causal)
			grad, mag := refAttentionBackward(x64, g, c.b, c.t, c.d, c.h, causal)
			if len(qkv) <= 2000 {
				stride := 1
				if testing.Short() && len(qkv) > 500 {
					stride = 3 + len(qkv)/500 // coprime-ish with 3d: covers q, k and v
				}
				bsz := c.t * 3 * c.d
				for i := 0; i < len(qkv); i += stride {
					bi := i / bsz
					xb := x64[bi*bsz : (bi+1)*bsz]
					gb := g[bi*c.t*c.d : (bi+1)*c.t*c.d]
					hd := (i % (3 * c.d) % c.d) / (c.d / c.h)
					fd := centralDiffAt(xb, i-bi*bsz, 1e-6, func() float64 {
						return attHeadLoss(xb, gb, c.t, c.d, c.h, hd, causal)
					})
					if d := math.Abs(grad[i] - fd); d > 1e-7*(1+mag[i]) {
						t.Errorf("%s: reference gradient [%d] = %.9g, finite difference %.9g", name, i, grad[i], fd)
					}
				}
			}
			// The kernel must match within float32 error: the p error plus
			// the γ of sums of dh and t terms, on the magnitude of the terms
			// summed.
			dh := c.d / c.h
			rel := 4 * (ref.relP + float64(dh+c.t+8)*u32)
			checkAccum(t, name+"/dqkv", dqkv, dqkv0, grad, func(i int) float64 { return rel*mag[i] + 1e-7*(1+mag[i]) }, 0, 1)

			checkCounts(t, name, &cnt, backwardCounts(wantAttnCounts(c.b, c.t, c.d, c.h, causal, nil)))
		}
	}
}

// TestAttentionCausalIgnoresFuture: changing the last position's q, k, v
// leaves every earlier causal output unchanged, bit for bit.
func TestAttentionCausalIgnoresFuture(t *testing.T) {
	c := attCase{2, 9, 8, 2, 1}
	qkv, _ := attInputs(c, 300)
	out1 := make([]float32, c.b*c.t*c.d)
	lse := make([]float32, c.b*c.h*c.t)
	AttentionForward(nil, out1, lse, qkv, c.b, c.t, c.d, c.h, true)
	for bi := 0; bi < c.b; bi++ {
		last := qkv[(bi*c.t+c.t-1)*3*c.d : (bi*c.t+c.t)*3*c.d]
		for j := range last {
			last[j] = 10 * last[j]
		}
	}
	out2 := make([]float32, len(out1))
	AttentionForward(nil, out2, lse, qkv, c.b, c.t, c.d, c.h, true)
	for bi := 0; bi < c.b; bi++ {
		lo, hi := bi*c.t*c.d, (bi*c.t+c.t-1)*c.d
		checkExact(t, "earlier rows", out2[lo:hi], out1[lo:hi])
	}
}

// TestAttentionDecode: decoding each position from the cache gives the causal
// attention output, checked against the float64 reference with the forward
// test's float32 error bound.
func TestAttentionDecode(t *testing.T) {
	for ci, c := range attCases {
		qkv, _ := attInputs(c, uint64(400+ci))
		ref := refAttention(to64(qkv), c.b, c.t, c.d, c.h, true)
		d, dh := c.d, c.d/c.h
		for bi := 0; bi < c.b; bi++ {
			// Key and value caches of this sequence: nk×d each.
			kc := make([]float32, c.t*d)
			vc := make([]float32, c.t*d)
			for j := 0; j < c.t; j++ {
				copy(kc[j*d:], qkv[(bi*c.t+j)*3*d+d:(bi*c.t+j)*3*d+2*d])
				copy(vc[j*d:], qkv[(bi*c.t+j)*3*d+2*d:(bi*c.t+j)*3*d+3*d])
			}
			// Every position, the last one included, decoded from a cache of
			// exactly nk rows and a scratch of exactly nk values.
			for i := 0; i < c.t; i++ {
				nk := i + 1
				q := clone32(qkv[(bi*c.t+i)*3*d : (bi*c.t+i)*3*d+d])
				got := filled(d, nan32())
				var cnt Counter
				AttentionDecode(&cnt, got, q, kc[:nk*d:nk*d], vc[:nk*d:nk*d], make([]float32, nk), nk, d, c.h)
				o := (bi*c.t + i) * d
				name := c.name(true) + "/decode"
				checkTol(t, name, got, ref.out[o:o+d], func(j int) float64 {
					return 4*(ref.relP+float64(c.t+2)*u32)*ref.outMag[o+j] + 1e-30
				})
				all := int64(c.h) * int64(nk)
				checkCounts(t, name, &cnt, map[countKey]int64{
					{Forward, Scores}:  2 * int64(dh) * all,
					{Forward, Softmax}: FlopsSoftmaxFwd * all,
					{Forward, AV}:      2 * int64(dh) * all,
				})
			}
		}
	}
}

// TestAttentionThreadsBitwise: forward and backward results do not depend on
// the thread count.
func TestAttentionThreadsBitwise(t *testing.T) {
	c := attCase{2, 33, 32, 4, 1}
	if AttentionPairs(c.t, true)*int64(c.b*c.h)*int64(4*c.d/c.h) < minParallelWork {
		t.Fatal("case too small to go parallel")
	}
	for _, causal := range []bool{true, false} {
		qkv, g := attInputs(c, 500)
		dqkv0 := randVec(newRNG(501), len(qkv), 1)
		var outs, lses, grads [][]float32
		for _, th := range []int{1, 2, 3, 8} {
			withThreads(t, th)
			out := make([]float32, c.b*c.t*c.d)
			lse := make([]float32, c.b*c.h*c.t)
			AttentionForward(nil, out, lse, qkv, c.b, c.t, c.d, c.h, causal)
			dqkv := clone32(dqkv0)
			AttentionBackward(nil, dqkv, g, qkv, out, lse, c.b, c.t, c.d, c.h, causal)
			outs, lses, grads = append(outs, out), append(lses, lse), append(grads, dqkv)
		}
		for i := 1; i < len(outs); i++ {
			checkExact(t, c.name(causal)+"/out", outs[i], outs[0])
			checkExact(t, c.name(causal)+"/lse", lses[i], lses[0])
			checkExact(t, c.name(causal)+"/dqkv", grads[i], grads[0])
		}
	}
}

// TestAttentionMemoryLinear: forward and backward at n = 4096 allocate
// O(n·dh) scratch, far below the n² = 16M floats a probability buffer
// would take, and nothing at all once the scratch is warm.
func TestAttentionMemoryLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("n = 4096 attention: skipped in -short")
	}
	const b, n, d, h = 1, 4096, 64, 1
	r := newRNG(7)
	qkv, dout := randVec(r, b*n*3*d, 1), randVec(r, b*n*d, 1)
	out, lse, dqkv := make([]float32, b*n*d), make([]float32, b*h*n), make([]float32, b*n*3*d)
	run := func() {
		AttentionForward(nil, out, lse, qkv, b, n, d, h, true)
		AttentionBackward(nil, dqkv, dout, qkv, out, lse, b, n, d, h, true)
	}
	flashPool = sync.Pool{New: func() any { return new(flashScratch) }} // cold scratch
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run()
	runtime.ReadMemStats(&m1)
	// About a dozen packed n×dh copies (Q, K, V, dO and dQ in the layouts
	// the micro-kernels read); a probability buffer would be n² floats.
	if got, limit := m1.TotalAlloc-m0.TotalAlloc, uint64(16*n*d*4); got > limit || limit >= n*n*4 {
		t.Errorf("cold forward+backward allocated %d bytes, want < %d (16 floats per position and head dim; n² floats would be %d)", got, limit, n*n*4)
	}
	if a := testing.AllocsPerRun(2, run); a != 0 {
		t.Errorf("warm forward+backward: %v allocations per call", a)
	}
}
