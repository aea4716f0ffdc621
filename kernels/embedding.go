package kernels

// ScaledEmbeddingForward computes out[r] = scale·wte[tokens[r]] (+ wpe[pos0 +
// r%t] when wpe is not nil) over rows of width d: the token lookup of models
// without learned positions (rotary ones) and of Gemma, which multiplies the
// embedding by √d. FLOPs per element: 1 for the scale (when it is not 1),
// 1 for the position add.
func ScaledEmbeddingForward(cnt *Counter, out, wte, wpe []float32, tokens []int32, t, d, pos0 int, scale float32) {
	for r, tok := range tokens {
		o := out[r*d : r*d+d]
		e := wte[int(tok)*d : int(tok)*d+d]
		if scale == 1 {
			copy(o, e)
		} else {
			for j, v := range e {
				o[j] = scale * v
			}
		}
		if wpe != nil {
			axpy(o, 1, wpe[(pos0+r%t)*d:(pos0+r%t)*d+d])
		}
	}
	cnt.Add(Forward, Embedding, int64(len(tokens))*int64(d)*ScaledEmbeddingFlops(false, wpe != nil, scale))
}

// ScaledEmbeddingFlops is the per-element FLOPs of ScaledEmbeddingForward
// (or, backward, of ScaledEmbeddingBackward) with or without positions.
func ScaledEmbeddingFlops(backward, positions bool, scale float32) int64 {
	var n int64
	if scale != 1 {
		n++
	}
	if positions {
		n++
	}
	if backward {
		n++ // the scatter-add into the token row
	}
	return n
}

// ScaledEmbeddingBackward scatters scale·dout into the token rows of dwte and
// dout into the position rows of dwpe when it is not nil (accumulating).
func ScaledEmbeddingBackward(cnt *Counter, dwte, dwpe, dout []float32, tokens []int32, t, d int, scale float32) {
	for r, tok := range tokens {
		g := dout[r*d : r*d+d]
		axpy(dwte[int(tok)*d:int(tok)*d+d], scale, g)
		if dwpe != nil {
			axpy(dwpe[(r%t)*d:(r%t)*d+d], 1, g)
		}
	}
	cnt.Add(Backward, Embedding, int64(len(tokens))*int64(d)*ScaledEmbeddingFlops(true, dwpe != nil, scale))
}
