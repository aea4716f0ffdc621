package kernels

import "math"

// pairs returns the number of (query, key) pairs one head computes over a
// sequence of t positions: t(t+1)/2 when causal, t² otherwise.
func pairs(t int, causal bool) int64 {
	if causal {
		return int64(t) * int64(t+1) / 2
	}
	return int64(t) * int64(t)
}

// AttentionPairs is the number of (query, key) pairs one head of causal or
// bidirectional attention computes over t positions.
func AttentionPairs(t int, causal bool) int64 { return pairs(t, causal) }

// AttentionForward runs multi-head self-attention over qkv[b×t×3d] (per
// position: the d query values, then d key values, then d value values; head
// j owns columns j·dh..(j+1)·dh of each) and writes the concatenated heads to
// out[b×t×d]. att[b×h×t×t] receives the softmax probabilities, kept for the
// backward pass (masked entries are zero). With causal set, position i only
// attends to positions <= i and only those pairs are computed and counted.
func AttentionForward(cnt *Counter, out, att, qkv []float32, b, t, d, h int, causal bool) {
	attentionForward(cnt, out, att, qkv, nil, b, t, d, h, causal)
}

// AttentionForwardPadded is bidirectional AttentionForward with a key padding
// mask: in sequence r only the first lens[r] positions are keys (every
// position is still a query, as in BERT, so padded rows get an output too).
// lens nil means every sequence is full. Each lens[r] must be in [1, t]. Only
// the t·lens[r] unmasked pairs per head are computed and counted; att's masked
// entries are zero.
func AttentionForwardPadded(cnt *Counter, out, att, qkv []float32, lens []int32, b, t, d, h int) {
	attentionForward(cnt, out, att, qkv, lens, b, t, d, h, false)
}

// AttentionBackwardPadded is the backward of AttentionForwardPadded.
func AttentionBackwardPadded(cnt *Counter, dqkv, dout, qkv, att []float32, lens []int32, b, t, d, h int) {
	attentionBackward(cnt, dqkv, dout, qkv, att, lens, b, t, d, h, false)
}

// numKeys is the number of keys query i of sequence bi attends to.
func numKeys(i, bi, t int, causal bool, lens []int32) int {
	switch {
	case causal:
		return i + 1
	case lens != nil:
		return int(lens[bi])
	}
	return t
}

// totalPairs is the number of (query, key) pairs over all sequences and heads.
func totalPairs(b, t, h int, causal bool, lens []int32) int64 {
	if lens == nil {
		return int64(b) * int64(h) * pairs(t, causal)
	}
	var s int64
	for _, l := range lens[:b] {
		s += int64(t) * int64(l)
	}
	return s * int64(h)
}

func attentionForward(cnt *Counter, out, att, qkv []float32, lens []int32, b, t, d, h int, causal bool) {
	dh := d / h
	scale := float32(1 / math.Sqrt(float64(dh)))
	all := totalPairs(b, t, h, causal, lens)
	parallelFor(b*h, all*int64(4*dh), func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			bi, hd := bh/h, bh%h
			base := bi * t * 3 * d
			for i := 0; i < t; i++ {
				q := qkv[base+i*3*d+hd*dh : base+i*3*d+hd*dh+dh]
				row := att[(bh*t+i)*t : (bh*t+i)*t+t]
				nk := numKeys(i, bi, t, causal, lens)
				mx := float32(math.Inf(-1))
				for j := 0; j < nk; j++ {
					k := qkv[base+j*3*d+d+hd*dh : base+j*3*d+d+hd*dh+dh]
					s := dot(q, k) * scale
					row[j] = s
					if s > mx {
						mx = s
					}
				}
				var sum float32
				for j := 0; j < nk; j++ {
					e := exp32(row[j] - mx)
					row[j] = e
					sum += e
				}
				inv := 1 / sum
				o := out[(bi*t+i)*d+hd*dh : (bi*t+i)*d+hd*dh+dh]
				clear(o)
				for j := 0; j < nk; j++ {
					p := row[j] * inv
					row[j] = p
					axpy(o, p, qkv[base+j*3*d+2*d+hd*dh:base+j*3*d+2*d+hd*dh+dh])
				}
				clear(row[nk:])
			}
		}
	})
	cnt.Add(Forward, Scores, all*2*int64(dh))
	cnt.Add(Forward, Softmax, all*FlopsSoftmaxFwd)
	cnt.Add(Forward, AV, all*2*int64(dh))
}

// AttentionBackward accumulates dqkv from dout[b×t×d], given the forward
// inputs qkv and the saved probabilities att.
func AttentionBackward(cnt *Counter, dqkv, dout, qkv, att []float32, b, t, d, h int, causal bool) {
	attentionBackward(cnt, dqkv, dout, qkv, att, nil, b, t, d, h, causal)
}

func attentionBackward(cnt *Counter, dqkv, dout, qkv, att []float32, lens []int32, b, t, d, h int, causal bool) {
	dh := d / h
	scale := float32(1 / math.Sqrt(float64(dh)))
	all := totalPairs(b, t, h, causal, lens)
	parallelFor(b*h, all*int64(8*dh), func(lo, hi int) {
		datt := make([]float32, t)
		for bh := lo; bh < hi; bh++ {
			bi, hd := bh/h, bh%h
			base := bi * t * 3 * d
			for i := 0; i < t; i++ {
				nk := numKeys(i, bi, t, causal, lens)
				row := att[(bh*t+i)*t : (bh*t+i)*t+nk]
				g := dout[(bi*t+i)*d+hd*dh : (bi*t+i)*d+hd*dh+dh]
				// AV backward: dP = dout·vᵀ, dV += Pᵀ·dout.
				var s float32
				for j := 0; j < nk; j++ {
					off := base + j*3*d + 2*d + hd*dh
					datt[j] = dot(g, qkv[off:off+dh])
					axpy(dqkv[off:off+dh], row[j], g)
					s += row[j] * datt[j]
				}
				// Softmax backward, then scores backward: dQ += dS·K, dK += dSᵀ·Q.
				qoff := base + i*3*d + hd*dh
				q := qkv[qoff : qoff+dh]
				dq := dqkv[qoff : qoff+dh]
				for j := 0; j < nk; j++ {
					ds := row[j] * (datt[j] - s) * scale
					koff := base + j*3*d + d + hd*dh
					axpy(dq, ds, qkv[koff:koff+dh])
					axpy(dqkv[koff:koff+dh], ds, q)
				}
			}
		}
	})
	cnt.Add(Backward, AV, all*4*int64(dh))
	cnt.Add(Backward, Softmax, all*FlopsSoftmaxBwd)
	cnt.Add(Backward, Scores, all*4*int64(dh))
}

// AttentionDecode computes one new position's attention output for all heads
// during incremental decoding: q[d] attends to the nk cached keys kc[nk×d]
// and values vc[nk×d]. scratch must hold at least nk values.
func AttentionDecode(cnt *Counter, out, q, kc, vc, scratch []float32, nk, d, h int) {
	dh := d / h
	scale := float32(1 / math.Sqrt(float64(dh)))
	for hd := 0; hd < h; hd++ {
		qh := q[hd*dh : hd*dh+dh]
		mx := float32(math.Inf(-1))
		for j := 0; j < nk; j++ {
			s := dot(qh, kc[j*d+hd*dh:j*d+hd*dh+dh]) * scale
			scratch[j] = s
			if s > mx {
				mx = s
			}
		}
		var sum float32
		for j := 0; j < nk; j++ {
			e := exp32(scratch[j] - mx)
			scratch[j] = e
			sum += e
		}
		inv := 1 / sum
		o := out[hd*dh : hd*dh+dh]
		clear(o)
		for j := 0; j < nk; j++ {
			axpy(o, scratch[j]*inv, vc[j*d+hd*dh:j*d+hd*dh+dh])
		}
	}
	all := int64(h) * int64(nk)
	cnt.Add(Forward, Scores, all*2*int64(dh))
	cnt.Add(Forward, Softmax, all*FlopsSoftmaxFwd)
	cnt.Add(Forward, AV, all*2*int64(dh))
}
