package kernels

import "math"

// Rotary position embedding (RoPE; Su et al., 2021) in Hugging Face's
// half-split form: within each head of width dh, element i < dh/2 and
// element i + dh/2 form a pair rotated by the angle pos·f_i, with the
// frequencies f_i = θ^(−2i/dh) (optionally rescaled as Llama 3 does):
//
//	y_i        = x_i·cos − x_{i+dh/2}·sin
//	y_{i+dh/2} = x_{i+dh/2}·cos + x_i·sin
//
// The backward pass rotates the gradient by the opposite angle. Each pair
// costs 6 FLOPs (4 multiplies, 2 adds) in either direction: 3 per element.

// FlopsRopeFwd and FlopsRopeBwd are RoPE's FLOPs per rotated element.
const (
	FlopsRopeFwd = 3
	FlopsRopeBwd = 3
)

// RopeScaling is Llama 3's frequency rescaling ("rope_type": "llama3"):
// wavelengths above OrigContext/LowFreqFactor are stretched by Factor,
// those below OrigContext/HighFreqFactor are kept, and the band between is
// interpolated smoothly.
type RopeScaling struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OrigContext                           float64 // original_max_position_embeddings
}

// RopeFreqs returns the dh/2 rotation frequencies of base theta, rescaled
// by sc when it is not nil, in float64.
func RopeFreqs(dh int, theta float64, sc *RopeScaling) []float64 {
	half := dh / 2
	f := make([]float64, half)
	for i := range f {
		f[i] = 1 / math.Pow(theta, float64(2*i)/float64(dh))
		if sc == nil {
			continue
		}
		lowWave := sc.OrigContext / sc.LowFreqFactor
		highWave := sc.OrigContext / sc.HighFreqFactor
		wave := 2 * math.Pi / f[i]
		switch {
		case wave < highWave:
		case wave > lowWave:
			f[i] /= sc.Factor
		default:
			s := (sc.OrigContext/wave - sc.LowFreqFactor) / (sc.HighFreqFactor - sc.LowFreqFactor)
			f[i] = (1-s)*f[i]/sc.Factor + s*f[i]
		}
	}
	return f
}

// RopeTable returns the cos and sin tables [positions × dh/2] of the
// frequencies freqs, computed in float64 and rounded once.
func RopeTable(freqs []float64, positions int) (cos, sin []float32) {
	half := len(freqs)
	cos, sin = make([]float32, positions*half), make([]float32, positions*half)
	for p := 0; p < positions; p++ {
		for i, f := range freqs {
			s, c := math.Sincos(float64(p) * f)
			cos[p*half+i], sin[p*half+i] = float32(c), float32(s)
		}
	}
	return cos, sin
}

// RopeForward rotates, in place, heads heads of width dh starting at column
// off of each of the n rows of x (row stride ld); row r is at position
// pos0 + r%t. cos and sin are RopeTable's tables. FLOPs go to the Rope
// component.
func RopeForward(cnt *Counter, x, cos, sin []float32, n, t, pos0, ld, off, heads, dh int) {
	rope(x, cos, sin, n, t, pos0, ld, off, heads, dh, 1)
	cnt.Add(Forward, Rope, int64(n)*int64(heads)*int64(dh)*FlopsRopeFwd)
}

// RopeBackward takes the gradient of RopeForward's output back to its input,
// in place (the inverse rotation).
func RopeBackward(cnt *Counter, dx, cos, sin []float32, n, t, pos0, ld, off, heads, dh int) {
	rope(dx, cos, sin, n, t, pos0, ld, off, heads, dh, -1)
	cnt.Add(Backward, Rope, int64(n)*int64(heads)*int64(dh)*FlopsRopeBwd)
}

func rope(x, cos, sin []float32, n, t, pos0, ld, off, heads, dh int, dir float32) {
	half := dh / 2
	_ = x[(n-1)*ld+off+heads*dh-1]
	for r := 0; r < n; r++ {
		p := pos0 + r%t
		c, s := cos[p*half:p*half+half], sin[p*half:p*half+half]
		for h := 0; h < heads; h++ {
			o := r*ld + off + h*dh
			ropeRow(x[o:o+half], x[o+half:o+dh], c, s, dir)
		}
	}
}

// ropeRow rotates the pairs (a_i, b_i) by the angles whose cos and sin are
// c_i and dir·s_i: the pure-Go kernel.
func ropeRow(a, b, c, s []float32, dir float32) {
	b, c, s = b[:len(a)], c[:len(a)], s[:len(a)]
	for i, x1 := range a {
		x2 := b[i]
		sn := dir * s[i]
		a[i] = x1*c[i] - x2*sn
		b[i] = x2*c[i] + x1*sn
	}
}
