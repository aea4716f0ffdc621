// Package modeltest holds checks the loaders' tests share: whether two
// models store the same weights bit for bit and decode the same logits.
package modeltest

import (
	"fmt"
	"math"
	"slices"

	"github.com/tformer/tformer/model"
)

func bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

// SameWeights returns an error unless a and b have the same config and
// dtype and store every tensor with the same bits (int8 scales included).
func SameWeights(a, b *model.Model) error {
	if a.Config.JSON() != b.Config.JSON() {
		return fmt.Errorf("configs differ: %s and %s", a.Config.JSON(), b.Config.JSON())
	}
	if a.DType() != b.DType() || a.WeightBytes() != b.WeightBytes() {
		return fmt.Errorf("dtype %s and %s, weight bytes %d and %d", a.DType(), b.DType(), a.WeightBytes(), b.WeightBytes())
	}
	for _, ti := range a.Layout.Tensors {
		wa, _ := a.Weights(ti.Name)
		wb, ok := b.Weights(ti.Name)
		switch {
		case !ok:
			return fmt.Errorf("tensor %s is missing", ti.Name)
		case len(wa.F32)+len(wa.BF16)+len(wa.Int8) != ti.Size:
			return fmt.Errorf("tensor %s holds %d values, want %d", ti.Name, len(wa.F32)+len(wa.BF16)+len(wa.Int8), ti.Size)
		case !slices.Equal(bits(wa.F32), bits(wb.F32)) || !slices.Equal(wa.BF16, wb.BF16) ||
			!slices.Equal(wa.Int8, wb.Int8) || !slices.Equal(bits(wa.Scale), bits(wb.Scale)):
			return fmt.Errorf("tensor %s differs", ti.Name)
		}
	}
	return nil
}

// SameDecode returns an error unless a and b give bitwise the same logits
// for each of tokens decoded in turn (ids below the vocabulary).
func SameDecode(a, b *model.Model, tokens []int32) error {
	da, db := a.NewDecoder(), b.NewDecoder()
	for i, tok := range tokens {
		za, err := da.Step(tok)
		if err != nil {
			return err
		}
		zb, err := db.Step(tok)
		if err != nil {
			return err
		}
		if !slices.Equal(bits(za), bits(zb)) {
			return fmt.Errorf("the logits after token %d differ", i)
		}
	}
	return nil
}
