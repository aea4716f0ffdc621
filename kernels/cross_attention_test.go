package kernels

import (
	"fmt"
	"math"
	"testing"
)

// crossRef is a float64 reference of cross-attention: per sequence and
// head, softmax(q·kᵀ/√dh over the first lens[r] keys)·v, written as plain
// loops over the unfused definition.
type crossRef struct {
	b, tq, tk, h, dh int
	lens             []int32
}

func (c crossRef) nk(bi int) int {
	if c.lens == nil {
		return c.tk
	}
	return int(c.lens[bi])
}

// probs returns the attention weights P[bi][hd][i][j] (j < nk) as a flat
// function of the inputs.
func (c crossRef) probs(q, kv []float64, bi, hd, i int) []float64 {
	d := c.h * c.dh
	nk := c.nk(bi)
	s := make([]float64, nk)
	mx := math.Inf(-1)
	for j := range nk {
		var dotv float64
		for x := range c.dh {
			dotv += q[(bi*c.tq+i)*d+hd*c.dh+x] * kv[(bi*c.tk+j)*2*d+hd*c.dh+x]
		}
		s[j] = dotv / math.Sqrt(float64(c.dh))
		mx = math.Max(mx, s[j])
	}
	var sum float64
	for j := range s {
		s[j] = math.Exp(s[j] - mx)
		sum += s[j]
	}
	for j := range s {
		s[j] /= sum
	}
	return s
}

func (c crossRef) forward(q, kv []float64) []float64 {
	d := c.h * c.dh
	out := make([]float64, c.b*c.tq*d)
	for bi := range c.b {
		for hd := range c.h {
			for i := range c.tq {
				p := c.probs(q, kv, bi, hd, i)
				for j, pj := range p {
					for x := range c.dh {
						out[(bi*c.tq+i)*d+hd*c.dh+x] += pj * kv[(bi*c.tk+j)*2*d+d+hd*c.dh+x]
					}
				}
			}
		}
	}
	return out
}

// backward returns the analytic gradients of Σ out⊙g with respect to q and kv.
func (c crossRef) backward(q, kv []float64, g []float32) (dq, dkv []float64) {
	d := c.h * c.dh
	dq, dkv = make([]float64, len(q)), make([]float64, len(kv))
	sc := 1 / math.Sqrt(float64(c.dh))
	for bi := range c.b {
		for hd := range c.h {
			for i := range c.tq {
				p := c.probs(q, kv, bi, hd, i)
				orow := (bi*c.tq+i)*d + hd*c.dh
				dp := make([]float64, len(p))
				var dsum float64
				for j := range p {
					vrow := (bi*c.tk+j)*2*d + d + hd*c.dh
					for x := range c.dh {
						dp[j] += float64(g[orow+x]) * kv[vrow+x]
						dkv[vrow+x] += p[j] * float64(g[orow+x])
					}
					dsum += p[j] * dp[j]
				}
				for j := range p {
					ds := p[j] * (dp[j] - dsum) * sc
					krow := (bi*c.tk+j)*2*d + hd*c.dh
					for x := range c.dh {
						dq[orow+x] += ds * kv[krow+x]
						dkv[krow+x] += ds * q[orow+x]
					}
				}
			}
		}
	}
	return dq, dkv
}

// checkRel requires max|got-want| <= tol·max|want| (an elementwise bound
// would be tighter; these values are O(1) and sums of at most a few hundred
// terms, so float32 error stays far below tol).
func checkRel(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	mw, md := 0.0, 0.0
	for i := range want {
		if math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] is NaN", what, i)
		}
		mw = math.Max(mw, math.Abs(want[i]))
		md = math.Max(md, math.Abs(float64(got[i])-want[i]))
	}
	if md > tol*mw {
		t.Errorf("%s: max |diff| %.3g, max |want| %.3g", what, md, mw)
	}
}

// TestCrossAttention checks the fused kernel's cross-attention (queries and
// keys of different lengths, a key padding mask) on the assembly and the
// pure-Go micro-kernels against the float64 loops above, whose analytic
// gradient is itself checked by central differences on the small cases;
// and its FLOP counts pair by pair (tq·lens[r] pairs per head).
func TestCrossAttention(t *testing.T) { attKernels(t, testCrossAttention) }

func testCrossAttention(t *testing.T) {
	cases := []crossRef{
		{b: 1, tq: 1, tk: 1, h: 1, dh: 1},
		{b: 2, tq: 3, tk: 5, h: 2, dh: 4, lens: []int32{5, 2}},
		{b: 2, tq: 7, tk: 2, h: 3, dh: 2, lens: []int32{1, 2}},
		{b: 1, tq: 4, tk: 9, h: 1, dh: 20},
		{b: 2, tq: 100, tk: 130, h: 2, dh: 8, lens: []int32{130, 97}}, // several key tiles: rescales
		{b: 1, tq: 150, tk: 20, h: 2, dh: 16},                         // several query blocks
	}
	for ci, c := range cases {
		name := fmt.Sprintf("b%d_tq%d_tk%d_h%d_dh%d_lens%v", c.b, c.tq, c.tk, c.h, c.dh, c.lens)
		d := c.h * c.dh
		r := newRNG(uint64(700 + ci))
		q, kv := randVec(r, c.b*c.tq*d, 1), randVec(r, c.b*c.tk*2*d, 1)
		g := randVec(r, c.b*c.tq*d, 1)
		// Padded keys get hostile values: they must not matter.
		for bi := range c.b {
			for j := c.nk(bi); j < c.tk; j++ {
				for x := range 2 * d {
					kv[(bi*c.tk+j)*2*d+x] = 1e4
				}
			}
		}
		out := filled(c.b*c.tq*d, nan32())
		lse := filled(c.b*c.h*c.tq, nan32())
		var cnt Counter
		CrossAttentionForward(&cnt, out, lse, q, kv, c.lens, c.b, c.tq, c.tk, c.h, c.dh)
		q64, kv64 := to64(q), to64(kv)
		checkRel(t, name+"/out", out, c.forward(q64, kv64), 1e-5)

		dq, dkv := make([]float32, len(q)), make([]float32, len(kv))
		CrossAttentionBackward(&cnt, dq, dkv, g, q, kv, out, lse, c.lens, c.b, c.tq, c.tk, c.h, c.dh)
		wq, wkv := c.backward(q64, kv64, g)
		checkRel(t, name+"/dq", dq, wq, 1e-4)
		checkRel(t, name+"/dkv", dkv, wkv, 1e-4)
		for bi := range c.b { // no gradient reaches a padded key or value
			for j := c.nk(bi); j < c.tk; j++ {
				for x := range 2 * d {
					if v := dkv[(bi*c.tk+j)*2*d+x]; v != 0 {
						t.Fatalf("%s: padded dkv[%d,%d,%d] = %g", name, bi, j, x, v)
					}
				}
			}
		}
		if len(q)+len(kv) <= 400 { // the analytic reference against central differences
			loss := func() float64 {
				o := c.forward(q64, kv64)
				var s float64
				for i, v := range o {
					s += v * float64(g[i])
				}
				return s
			}
			for _, p := range []struct {
				x    []float64
				want []float64
			}{{q64, wq}, {kv64, wkv}} {
				for i := range p.x {
					fd := centralDiffAt(p.x, i, 1e-6, loss)
					if math.Abs(fd-p.want[i]) > 1e-6*(1+math.Abs(fd)) {
						t.Fatalf("%s: reference gradient %g, central difference %g", name, p.want[i], fd)
					}
				}
			}
		}
		// Counts: pairs, rows and rescales per head, counted here directly.
		var prs, rows, resc int64
		for bi := range c.b {
			nk := int64(c.nk(bi))
			prs += int64(c.tq) * nk
			rows += int64(c.tq)
			resc += int64(c.tq) * ((nk+AttentionTile-1)/AttentionTile - 1)
		}
		H, dh := int64(c.h), int64(c.dh)
		prs, rows, resc = prs*H, rows*H, resc*H
		checkCounts(t, name, &cnt, map[countKey]int64{
			{Forward, CrossScores}:   2 * dh * prs,
			{Forward, CrossSoftmax}:  FlopsAttnSoftmaxFwd*prs + (rows+resc)*dh,
			{Forward, CrossAV}:       2 * dh * prs,
			{Backward, CrossScores}:  6 * dh * prs,
			{Backward, CrossSoftmax}: FlopsAttnSoftmaxBwd*prs + 2*dh*rows,
			{Backward, CrossAV}:      4 * dh * prs,
		})
	}
}

// TestCrossAttentionDecode: one query's cross-attention during decoding
// equals the float64 loops (and so the fused kernel's rows), and counts
// h·nk pairs under the cross components.
func TestCrossAttentionDecode(t *testing.T) {
	for _, c := range []crossRef{{b: 1, tq: 1, tk: 1, h: 1, dh: 3}, {b: 1, tq: 1, tk: 13, h: 3, dh: 4}, {b: 1, tq: 1, tk: 200, h: 2, dh: 8}} {
		d := c.h * c.dh
		r := newRNG(uint64(c.tk))
		q, kv := randVec(r, d, 1), randVec(r, c.tk*2*d, 1)
		out := filled(d, nan32())
		var cnt Counter
		CrossAttentionDecode(&cnt, out, q, kv, make([]float32, c.tk), c.tk, c.h, c.dh)
		checkRel(t, "decode", out, c.forward(to64(q), to64(kv)), 1e-5)
		prs := int64(c.h * c.tk)
		checkCounts(t, "decode", &cnt, map[countKey]int64{
			{Forward, CrossScores}: 2 * int64(c.dh) * prs, {Forward, CrossSoftmax}: FlopsSoftmaxFwd * prs, {Forward, CrossAV}: 2 * int64(c.dh) * prs,
		})
	}
}

// TestCrossAttentionThreadsBitwise: cross-attention splits its (sequence,
// head) pairs across threads without changing a bit of its outputs or
// gradients.
func TestCrossAttentionThreadsBitwise(t *testing.T) {
	b, tq, tk, h, dh := 3, 40, 50, 4, 8
	lens := []int32{50, 17, 33}
	if int64(tq)*int64(17+33+50)*int64(h)*int64(4*dh) < minParallelWork {
		t.Fatal("case too small to go parallel")
	}
	d := h * dh
	r := newRNG(900)
	q, kv, g := randVec(r, b*tq*d, 1), randVec(r, b*tk*2*d, 1), randVec(r, b*tq*d, 1)
	var outs, lses, dqs, dkvs [][]float32
	for _, th := range []int{1, 2, 3, 8} {
		withThreads(t, th)
		out, lse := make([]float32, b*tq*d), make([]float32, b*h*tq)
		CrossAttentionForward(nil, out, lse, q, kv, lens, b, tq, tk, h, dh)
		dq, dkv := make([]float32, len(q)), make([]float32, len(kv))
		CrossAttentionBackward(nil, dq, dkv, g, q, kv, out, lse, lens, b, tq, tk, h, dh)
		outs, lses, dqs, dkvs = append(outs, out), append(lses, lse), append(dqs, dq), append(dkvs, dkv)
	}
	for i := 1; i < len(outs); i++ {
		checkExact(t, "out", outs[i], outs[0])
		checkExact(t, "lse", lses[i], lses[0])
		checkExact(t, "dq", dqs[i], dqs[0])
		checkExact(t, "dkv", dkvs[i], dkvs[0])
	}
}
