package kernels

import (
	"fmt"
	"math"
	"testing"
)

// prefillCases are (heads, kv heads, head width, cached positions, new
// positions) for AttentionPrefillGQA: single rows, runs inside one key
// tile, runs that start or end across the AttentionTile = 96 boundaries,
// grouped- and multi-query heads, head widths off the micro-tile sides.
var prefillCases = []struct{ h, kvh, dh, pos, n int }{
	{1, 1, 1, 0, 1}, {2, 2, 8, 0, 7}, {4, 2, 8, 5, 7}, {4, 1, 16, 0, 97}, {2, 1, 20, 90, 10},
	{3, 3, 12, 100, 200}, {8, 2, 6, 191, 3}, {2, 2, 64, 96, 96}, {4, 2, 10, 0, 1}, {6, 3, 4, 250, 1},
}

// prefillInputs returns a grouped-query qkv over pos+n positions (row
// stride (h+2·kvh)·dh) and the caches of its keys and values (kvh·dh a
// position), as a decoder holds them.
func prefillInputs(h, kvh, dh, nk int, seed uint64) (qkv, kc, vc []float32) {
	ld, kd := (h+2*kvh)*dh, kvh*dh
	qkv = randVec(newRNG(seed), nk*ld, 1.5)
	kc, vc = make([]float32, nk*kd), make([]float32, nk*kd)
	for j := range nk {
		copy(kc[j*kd:], qkv[j*ld+h*dh:j*ld+h*dh+kd])
		copy(vc[j*kd:], qkv[j*ld+h*dh+kd:(j+1)*ld])
	}
	return qkv, kc, vc
}

// TestAttentionPrefill checks AttentionPrefillGQA against a float64
// reference of causal attention with the queries at positions pos.., and
// bitwise against the rows pos.. of AttentionForwardGQA over the whole
// sequence (the same tiles in the same order: only the query blocking
// differs), and its FLOP counts against the whole sequence's minus the
// first pos rows'.
func TestAttentionPrefill(t *testing.T) {
	attKernels(t, func(t *testing.T) {
		for ci, c := range prefillCases {
			t.Run(fmt.Sprintf("h%d_kv%d_dh%d_pos%d_n%d", c.h, c.kvh, c.dh, c.pos, c.n), func(t *testing.T) {
				nk := c.pos + c.n
				ld, d, kd, g := (c.h+2*c.kvh)*c.dh, c.h*c.dh, c.kvh*c.dh, c.h/c.kvh
				qkv, kc, vc := prefillInputs(c.h, c.kvh, c.dh, nk, uint64(700+ci))
				q := qkv[c.pos*ld:]
				out, lse := filled(c.n*d, nan32()), filled(c.h*c.n, nan32())
				var cnt Counter
				AttentionPrefillGQA(&cnt, out, lse, q, ld, kc, vc, c.pos, c.n, c.h, c.kvh, c.dh)

				// float64 reference, row by row.
				want, mag, wlse := make([]float64, c.n*d), make([]float64, c.n*d), make([]float64, c.h*c.n)
				scale := 1 / math.Sqrt(float64(c.dh))
				for i := range c.n {
					keys := c.pos + i + 1
					for hd := range c.h {
						qo, ko := (c.pos+i)*ld+hd*c.dh, hd/g*c.dh
						s := make([]float64, keys)
						mx := math.Inf(-1)
						for j := range keys {
							for x := range c.dh {
								s[j] += float64(qkv[qo+x]) * float64(kc[j*kd+ko+x])
							}
							s[j] *= scale
							mx = math.Max(mx, s[j])
						}
						sum := 0.0
						for j := range s {
							s[j] = math.Exp(s[j] - mx)
							sum += s[j]
						}
						wlse[hd*c.n+i] = mx + math.Log(sum)
						for j := range keys {
							p := s[j] / sum
							for x := range c.dh {
								v := float64(vc[j*kd+ko+x])
								want[i*d+hd*c.dh+x] += p * v
								mag[i*d+hd*c.dh+x] += p * math.Abs(v)
							}
						}
					}
				}
				// Scores carry dh+3 roundings of magnitude |q||k|/√dh (≲ 10
				// here); the output sums nk products.
				checkTol(t, "out", out, want, func(i int) float64 { return float64(8*(c.dh+nk+16))*u32*mag[i] + 1e-30 })
				checkTol(t, "lse", lse, wlse, func(i int) float64 { return float64(8*(c.dh+16))*u32*(1+math.Abs(wlse[i])) + 1e-30 })

				// The whole sequence through the training kernel.
				fout, flse := make([]float32, nk*d), make([]float32, c.h*nk)
				var fcnt, pcnt Counter
				AttentionForwardGQA(&fcnt, fout, flse, qkv, 1, nk, c.h, c.kvh, c.dh, true)
				checkExact(t, "out vs AttentionForwardGQA", out, fout[c.pos*d:])
				rows := make([]float32, 0, c.h*c.n)
				for hd := range c.h {
					rows = append(rows, flse[hd*nk+c.pos:hd*nk+nk]...)
				}
				checkExact(t, "lse vs AttentionForwardGQA", lse, rows)
				if c.pos > 0 {
					qkv0, _, _ := prefillInputs(c.h, c.kvh, c.dh, c.pos, uint64(700+ci))
					AttentionForwardGQA(&pcnt, make([]float32, c.pos*d), make([]float32, c.h*c.pos), qkv0, 1, c.pos, c.h, c.kvh, c.dh, true)
				}
				for _, comp := range []Component{Scores, Softmax, AV} {
					if got, w := cnt.Get(Forward, comp), fcnt.Get(Forward, comp)-pcnt.Get(Forward, comp); got != w {
						t.Errorf("FLOPs[%v] = %d, want %d (the whole sequence's less the first %d rows')", comp, got, w, c.pos)
					}
				}
				if cnt.Total(Backward) != 0 || cnt.Total(Forward) != cnt.Get(Forward, Scores)+cnt.Get(Forward, Softmax)+cnt.Get(Forward, AV) {
					t.Errorf("FLOPs recorded outside forward scores, softmax and av")
				}
			})
		}
	})
}

// TestAttentionPrefillThreadsBitwise: the result does not depend on the
// thread count, with enough work to split across threads.
func TestAttentionPrefillThreadsBitwise(t *testing.T) {
	const h, kvh, dh, pos, n = 8, 4, 32, 70, 60
	qkv, kc, vc := prefillInputs(h, kvh, dh, pos+n, 9)
	ld := (h + 2*kvh) * dh
	var first, firstLse []float32
	for _, th := range []int{1, 2, 3} {
		withThreads(t, th)
		out, lse := make([]float32, n*h*dh), make([]float32, h*n)
		AttentionPrefillGQA(nil, out, lse, qkv[pos*ld:], ld, kc, vc, pos, n, h, kvh, dh)
		if first == nil {
			first, firstLse = out, lse
			continue
		}
		checkExact(t, fmt.Sprintf("out, %d threads", th), out, first)
		checkExact(t, fmt.Sprintf("lse, %d threads", th), lse, firstLse)
	}
}
