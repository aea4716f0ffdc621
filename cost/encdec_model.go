package cost

import (
	"fmt"

	"github.com/tformer/tformer/model"
)

// EncDecForModel is the cost model of the encoder–decoder the engine builds
// from c (Arch "encdec"): the same shapes, norms, positions, FFN form and
// three-way tying and cross-layer sharing (Share, Groups, ShareStacks), so
// that its parameters and FLOPs equal what the engine stores and counts.
func EncDecForModel(c model.Config) (EncDecSpec, error) {
	if !c.IsEncDec() {
		return EncDecSpec{}, fmt.Errorf("the model is a %s, not an encoder-decoder", c.Arch)
	}
	if err := c.Validate(); err != nil {
		return EncDecSpec{}, err
	}
	s := encdecSpec(c)
	if c.Share != model.ShareNone && c.Share != "" {
		s.Share, s.Groups = string(c.Share), c.Groups
	}
	s.ShareStacks = c.ShareStacks
	return s, s.Validate()
}

// encdecSpec is c's spec ignoring cross-layer sharing (which changes what
// is stored, not what is computed).
func encdecSpec(c model.Config) EncDecSpec {
	s := EncDecSpec{Name: "model", Vocab: c.Vocab, DModel: c.DModel, EncLayers: c.EncLayers, DecLayers: c.Layers, Heads: c.Heads,
		DFF: c.DFF, Gated: c.Gated(), Bias: c.LinearBias(), RMSNorm: c.RMS(), PreLN: !c.PostLN, ScaleEmbed: c.EmbedScale,
		Tie: EncDecTie(c.TyingMode()), LNEmbedding: c.EmbedNorm}
	switch {
	case c.MLP == model.SwiGLU:
		s.Act = "silu"
	case c.Activation == model.ReLU:
		s.Act = "relu"
	case c.Activation == model.GELUErf:
		s.Act = "gelu"
	default:
		s.Act = "gelu_new"
	}
	if c.DHead != 0 && c.DHead*c.Heads != c.DModel {
		s.HeadDim = c.DHead
	}
	if c.Sinusoidal() {
		s.Positions = PosSinusoidal
	} else {
		s.Positions, s.MaxPositions, s.PosOffset = PosLearned, c.MaxSeq, c.PosOffset
	}
	return s
}
