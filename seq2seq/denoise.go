package seq2seq

import (
	"errors"
	"fmt"
	"math"
)

// NoiseOptions configure BART's text infilling (Lewis et al. 2019, §2.2):
// spans with lengths drawn from Poisson(Lambda) are each replaced by one
// MASK token until MaskRatio of the tokens are masked; a zero-length span
// inserts a MASK. BART used 0.3 and λ = 3. (BART's other noise, sentence
// permutation, is not done.)
type NoiseOptions struct {
	MaskRatio float64 // share of tokens masked, in [0, 1)
	Lambda    float64 // mean span length, > 0
	Seed      uint64
}

// DefaultNoise is BART's setting.
func DefaultNoise(seed uint64) NoiseOptions {
	return NoiseOptions{MaskRatio: 0.3, Lambda: 3, Seed: seed}
}

func (o NoiseOptions) validate() error {
	if !(o.MaskRatio >= 0 && o.MaskRatio < 1) || !(o.Lambda > 0 && o.Lambda <= 64) {
		return fmt.Errorf("mask ratio %g must be in [0, 1) and λ %g in (0, 64]", o.MaskRatio, o.Lambda)
	}
	return nil
}

// poisson draws from Poisson(λ) (Knuth's product of uniforms; λ ≤ 64).
func (r *rng) poisson(lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.float64()
		if p <= l {
			return k
		}
		k++
	}
}

// Span is one masked span of a noised sequence: Len tokens of the original
// from At, replaced by the MASK at output position Out.
type Span struct {
	At, Len, Out int
}

// Infill noises ids (BART text infilling) with the generator of (o.Seed,
// stream): it returns the noised sequence and its spans in order. The
// result is never longer than ids (a zero-length span that would make it
// longer is skipped). Replacing each span's MASK by ids[At:At+Len] gives
// ids back.
func Infill(ids []int32, mask int32, o NoiseOptions, stream uint64) ([]int32, []Span, error) {
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	n := len(ids)
	r := newRNG(o.Seed, stream)
	masked := make([]bool, n)
	var zeros []int // where zero-length spans were drawn, in order
	goal := int(math.Round(o.MaskRatio * float64(n)))
	count := 0
	for tries := 0; count < goal && tries < 64*n+64; tries++ {
		l := r.poisson(o.Lambda)
		start := r.intn(n)
		if l == 0 {
			zeros = append(zeros, start)
			continue
		}
		for i := start; i < min(n, start+l) && count < goal; i++ {
			if !masked[i] {
				masked[i] = true
				count++
			}
		}
	}
	runs := 0
	for i := range n {
		if masked[i] && (i == 0 || !masked[i-1]) {
			runs++
		}
	}
	// A zero-length span inserts a MASK before an unmasked token that does
	// not follow a masked one; each costs one token of the budget
	// count − runs, so the output is never longer than the input.
	insert := make([]bool, n+1)
	for _, at := range zeros {
		if runs >= count || masked[at] || (at > 0 && masked[at-1]) || insert[at] {
			continue
		}
		insert[at] = true
		runs++
	}
	var out []int32
	var spans []Span
	for i := 0; i <= n; i++ {
		if insert[i] {
			spans = append(spans, Span{At: i, Len: 0, Out: len(out)})
			out = append(out, mask)
		}
		if i == n {
			break
		}
		if !masked[i] {
			out = append(out, ids[i])
			continue
		}
		j := i
		for j < n && masked[j] {
			j++
		}
		spans = append(spans, Span{At: i, Len: j - i, Out: len(out)})
		out = append(out, mask)
		i = j - 1
	}
	return out, spans, nil
}

// Denoise cuts the tokens of text into consecutive chunks that fit lim
// (min(MaxSrc, MaxTgt) − 1 tokens) and pairs each chunk's noised copy
// (Infill, stream = chunk index) as the source with the chunk as the
// target. A new seed draws new noise (e.g. one per epoch).
func Denoise(v Vocab, text []byte, lim Limits, o NoiseOptions) ([]Pair, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	ids := v.Tok.Encode(text)
	if len(ids) == 0 {
		return nil, errors.New("the text is empty")
	}
	w := min(lim.MaxSrc, lim.MaxTgt) - 1
	var out []Pair
	for c, at := 0, 0; at < len(ids); c, at = c+1, at+w {
		chunk := ids[at:min(len(ids), at+w)]
		src, _, err := Infill(chunk, v.Mask, o, uint64(c))
		if err != nil {
			return nil, err
		}
		out = append(out, Pair{Src: src, Tgt: chunk})
	}
	return out, nil
}
