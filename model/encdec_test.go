package model

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// edBase is a tiny encoder–decoder every path of which a test can check.
func edBase() Config {
	return Config{Arch: ArchEncDec, Vocab: 11, DModel: 8, EncLayers: 2, Layers: 2, Heads: 2, DFF: 12, MaxSeq: 7, Share: ShareNone, Groups: 1}
}

// edConfigs are the encoder–decoder variants the gradient tests cover.
func edConfigs() map[string]Config {
	out := map[string]Config{}
	for _, post := range []bool{false, true} {
		for _, tie := range []Tying{TieAll, TieDecoder, TieNone} {
			c := edBase()
			c.PostLN, c.Tying = post, tie
			name := map[bool]string{false: "pre", true: "post"}[post] + "/tie-" + string(tie)
			out[name] = c
		}
	}
	c := edBase()
	c.PostLN, c.Tying, c.Positions, c.EmbedScale, c.Share, c.Groups, c.Activation = true, TieAll, SinusoidalPositions, true, ShareAll, 1, ReLU
	out["post/tie-all/sinusoidal/scaled/relu/share-all"] = c
	c = edBase()
	c.Tying, c.Share, c.Groups, c.EncLayers, c.Layers = TieDecoder, ShareAttention, 2, 4, 2
	out["pre/tie-decoder/share-attention-g2/4+2"] = c
	c = edBase()
	c.Tying, c.Share, c.Groups, c.Norm, c.MLP, c.Bias = TieNone, ShareFFN, 1, RMSNormKind, SwiGLU, BiasNone
	out["pre/tie-none/rms/swiglu/no-bias/share-ffn"] = c
	c = edBase()
	c.PostLN, c.Tying, c.EmbedNorm, c.PosOffset, c.Activation = true, TieAll, true, 2, GELUErf
	out["post/tie-all/bart: embed-norm, pos-offset 2, erf"] = c
	c = edBase()
	c.Tying, c.EmbedNorm, c.Norm = TieDecoder, true, RMSNormKind
	out["pre/tie-decoder/rms embed-norm"] = c
	c = edBase()
	c.PostLN, c.Tying, c.ShareStacks = true, TieAll, true
	out["post/tie-all/share-stacks"] = c
	c = edBase()
	c.Tying, c.Share, c.Groups, c.EncLayers, c.Layers, c.ShareStacks = TieNone, ShareAll, 1, 3, 2, true
	out["pre/tie-none/share-all-g1/share-stacks/3+2"] = c
	return out
}

// edBatch is 2 pairs with a padded source and a padded target.
func edBatch(rng *rand.Rand, c Config) Seq2SeqBatch {
	b, ts, tt := 2, 5, 4
	x := Seq2SeqBatch{B: b, SrcT: ts, TgtT: tt, Src: randTokens(rng, b*ts, c.Vocab), SrcLens: []int32{5, 3},
		Tgt: randTokens(rng, b*tt, c.Vocab), TgtLens: []int32{4, 2}, Targets: randTokens(rng, b*tt, c.Vocab)}
	return x
}

func TestEncDecGradientFiniteDifference(t *testing.T) {
	for name, c := range edConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, c, 11)
			rng := rand.New(rand.NewPCG(5, 5))
			x := edBatch(rng, c)
			r, err := m.ForwardSeq2Seq(x)
			if err != nil {
				t.Fatal(err)
			}
			if r.Count != 6 || !(r.Loss > 0) {
				t.Fatalf("result %+v", r)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			fdCheck(t, m, rng, func() float64 {
				r, err := m.ForwardSeq2Seq(x)
				if err != nil {
					t.Fatal(err)
				}
				return float64(r.Loss)
			})
		})
	}
}

// TestEncDecPadding: a pair run in a batch beside a longer one, its source
// and target padded with arbitrary ids, gives the logits of the same pair
// run alone; and the loss counts only the real target rows.
func TestEncDecPadding(t *testing.T) {
	for name, c := range edConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, c, 3)
			rng := rand.New(rand.NewPCG(9, 9))
			x := edBatch(rng, c)
			if _, err := m.ForwardSeq2Seq(x); err != nil {
				t.Fatal(err)
			}
			both := append([]float32(nil), m.Logits()...)
			// Pair 1 alone: source of 3, target of 2.
			alone := Seq2SeqBatch{B: 1, SrcT: 3, TgtT: 2, Src: x.Src[5:8], Tgt: x.Tgt[4:6], Targets: x.Targets[4:6]}
			if _, err := m.ForwardSeq2Seq(alone); err != nil {
				t.Fatal(err)
			}
			v := c.Vocab
			compare(t, "pair 1 logits", both[4*v:], m.Logits())
		})
	}
}

func TestEncDecConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.EncLayers = 0 }, "enc-layers must be positive"},
		{func(c *Config) { c.Tying = "some" }, `unknown tying "some"`},
		{func(c *Config) { c.Positions = RotaryPositions }, "learned or sinusoidal"},
		{func(c *Config) { c.Positions, c.DModel, c.Heads = SinusoidalPositions, 9, 3 }, "even d-model"},
		{func(c *Config) { c.EmbedDim = 4 }, "factorized"},
		{func(c *Config) { c.KVHeads = 1 }, "multi-head"},
		{func(c *Config) { c.DHead = 2 }, "head-dim"},
		{func(c *Config) { c.Bias = BiasQKV }, "bias qkv"},
		{func(c *Config) { c.Activation, c.MLP = ReLU, SwiGLU }, "activation relu with mlp swiglu"},
		{func(c *Config) { c.Arch, c.EncLayers, c.Activation = "", 0, ReLU }, "relu applies to encoder-decoders"},
		{func(c *Config) { c.Arch, c.EncLayers, c.ShareStacks = "", 0, true }, "share-stacks applies to encoder-decoders"},
		{func(c *Config) { c.Arch, c.EncLayers, c.EmbedNorm = "", 0, true }, "embed-norm applies to encoder-decoders"},
		{func(c *Config) { c.Arch, c.EncLayers, c.PosOffset = "", 0, 2 }, "pos-offset (2) applies to encoder-decoders"},
		{func(c *Config) { c.PosOffset = -1 }, "pos-offset must be in [0, 1024]"},
		{func(c *Config) { c.PosOffset, c.Positions = 2, SinusoidalPositions }, "applies to learned positions"},
		{func(c *Config) { c.EncLayers, c.ShareStacks = 3, true }, "the encoder stores 3 attention and 3 FFN blocks, the decoder 2 and 2"},
		{func(c *Config) { c.Share, c.Groups, c.EncLayers = ShareAll, 2, 3 }, "must divide enc-layers"},
		{func(c *Config) { c.Arch, c.EncLayers = "", 2 }, "enc-layers (2) applies to encoder-decoders"},
		{func(c *Config) { c.Arch, c.EncLayers, c.PostLN = "", 0, true }, "post-ln applies"},
		{func(c *Config) { c.Arch, c.EncLayers, c.Tying = "", 0, TieAll }, "three-way"},
		{func(c *Config) { c.Arch, c.EncLayers, c.Positions = "", 0, SinusoidalPositions }, "sinusoidal positions apply"},
		{func(c *Config) { c.Arch, c.EncLayers, c.Positions = ArchEncoder, 0, SinusoidalPositions }, "positions"},
	} {
		c := edBase()
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%+v: error %v, want one line containing %q", c, err, tc.want)
		}
	}
	if err := TinyEncDec().Validate(); err != nil {
		t.Errorf("TinyEncDec: %v", err)
	}
}

func TestEncDecForwardErrors(t *testing.T) {
	c := edBase()
	m := testModel(t, c, 1)
	ok := func() Seq2SeqBatch { return edBatch(rand.New(rand.NewPCG(1, 1)), c) }
	for _, tc := range []struct {
		edit func(*Seq2SeqBatch)
		want string
	}{
		{func(x *Seq2SeqBatch) { x.B = 0 }, "must be positive"},
		{func(x *Seq2SeqBatch) { x.B = 1 << 62 }, "more pairs than"},
		{func(x *Seq2SeqBatch) { x.SrcT, x.Src = 8, make([]int32, 16) }, "source length 8 exceeds the encoder's context of 7"},
		{func(x *Seq2SeqBatch) { x.TgtT, x.Tgt = 8, make([]int32, 16) }, "target length 8 exceeds"},
		{func(x *Seq2SeqBatch) { x.Src = x.Src[:3] }, "source and"},
		{func(x *Seq2SeqBatch) { x.Targets = x.Targets[:3] }, "want 8 targets"},
		{func(x *Seq2SeqBatch) { x.SrcLens = []int32{1} }, "want 2 source lengths"},
		{func(x *Seq2SeqBatch) { x.SrcLens = []int32{0, 1} }, "source length[0] = 0"},
		{func(x *Seq2SeqBatch) { x.TgtLens = []int32{1, 5} }, "target length[1] = 5"},
		{func(x *Seq2SeqBatch) { x.Src[2] = 11 }, "source[2] = 11"},
		{func(x *Seq2SeqBatch) { x.Tgt[1] = -1 }, "target input[1] = -1"},
		{func(x *Seq2SeqBatch) { x.Targets[0] = 99 }, "target[0] = 99"},
	} {
		x := ok()
		tc.edit(&x)
		if _, err := m.ForwardSeq2Seq(x); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// A padded target row may hold any id (it is ignored).
	x := ok()
	x.Targets[7] = -5
	if _, err := m.ForwardSeq2Seq(x); err != nil {
		t.Errorf("padded target: %v", err)
	}
	// Logits only: Backward refuses; the decoder-only entry points refuse.
	x.Targets = nil
	if _, err := m.ForwardSeq2Seq(x); err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(); err == nil {
		t.Error("Backward after a forward without targets succeeded")
	}
	if _, err := m.Forward(x.Tgt, nil, 2, 4); err == nil || !strings.Contains(err.Error(), "ForwardSeq2Seq") {
		t.Errorf("Forward on an encdec: %v", err)
	}
	if _, err := m.ForwardMLM(MLMBatch{B: 1, T: 2, Tokens: []int32{1, 2}}); err == nil {
		t.Error("ForwardMLM on an encdec succeeded")
	}
	if _, err := m.NewDecoder().Step(1); err == nil {
		t.Error("Decoder.Step on an encdec succeeded")
	}
	d, _ := New(Tiny())
	if _, err := d.ForwardSeq2Seq(ok()); err == nil || !strings.Contains(err.Error(), "not an encoder-decoder") {
		t.Errorf("ForwardSeq2Seq on a decoder: %v", err)
	}
}

// TestEncDecTiedGradientIsSumOfUses: with tying all, the one matrix's
// gradient is the sum of the three uses' gradients, each computed by an
// untied model whose three matrices are copies of it.
func TestEncDecTiedGradientIsSumOfUses(t *testing.T) {
	c := edBase()
	c.Tying = TieAll
	tied := testModel(t, c, 4)
	c.Tying = TieNone
	c.Tie = false
	un, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range un.Layout.Tensors {
		src := ti.Name
		if src == "enc.wte" || src == "lm_head" {
			src = "wte"
		}
		copy(un.Param(ti.Name), tied.Param(src))
	}
	x := edBatch(rand.New(rand.NewPCG(2, 2)), c)
	for _, m := range []*Model{tied, un} {
		if _, err := m.ForwardSeq2Seq(x); err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	sum := make([]float32, len(tied.Grad("wte")))
	for _, n := range []string{"wte", "enc.wte", "lm_head"} {
		for i, g := range un.Grad(n) {
			sum[i] += g
		}
	}
	compare(t, "tied grad = Σ uses", tied.Grad("wte"), sum)
	if c := tied.Layout.Tensors[0]; c.Name != "wte" || c.Uses != 3 {
		t.Errorf("tied wte %+v, want 3 uses", c)
	}
	if got, want := tied.Config.AppliedParams(), un.Config.UniqueParams(); got != want {
		t.Errorf("applied %d, untied unique %d", got, want)
	}
}

func TestEncDecFamilyString(t *testing.T) {
	c := TinyEncDec()
	c.ShareStacks = true
	if got, want := c.FamilyString(), " enc_layers=2 dec_layers=2 tying=all ln=post positions=sinusoidal embed_scale activation=relu share_stacks"; got != want {
		t.Errorf("FamilyString = %q, want %q", got, want)
	}
	c = edBase()
	c.Tying, c.Activation = TieDecoder, ReLU
	if got, want := c.FamilyString(), " enc_layers=2 dec_layers=2 tying=decoder ln=pre activation=relu"; got != want {
		t.Errorf("FamilyString = %q, want %q", got, want)
	}
}

// TestEncDecActivationFloats counts, by formula, the buffers a pre-LN
// encoder–decoder keeps for one (B, source, target) shape.
func TestEncDecActivationFloats(t *testing.T) {
	c := edBase()
	m := testModel(t, c, 1)
	if m.ActivationFloats() != 0 {
		t.Fatal("activations before any forward pass")
	}
	x := edBatch(rand.New(rand.NewPCG(1, 1)), c)
	x.TgtLens = nil
	if _, err := m.ForwardSeq2Seq(x); err != nil {
		t.Fatal(err)
	}
	d, f, H, V := int64(c.DModel), int64(c.DFF), int64(c.Heads), int64(c.Vocab)
	ns, nt := int64(x.B*x.SrcT), int64(x.B*x.TgtT)
	stack := func(n, t, layers, subs int64) int64 {
		perSub := n*d*2 + 2*n                                          // norm output, residual sum, mean, rstd
		perLayer := subs*perSub + n*3*d + int64(x.B)*H*t + n*d + 2*n*f // qkv, lse, attention output, FFN pre- and post-activation
		return layers*perLayer + n*d + n*d + 2*n +                     // embedding, final norm and its statistics
			3*n*d + n*3*d + 2*n*f // backward scratch
	}
	want := stack(ns, int64(x.SrcT), int64(c.EncLayers), 2) + stack(nt, int64(x.TgtT), int64(c.Layers), 3) +
		int64(c.Layers)*(nt*d+ns*2*d+int64(x.B)*H*int64(x.TgtT)+nt*d) + // cross: q, kv, lse, output
		nt*d + ns*2*d + ns*d + // cross backward scratch
		2*nt*d + 2*nt*V + nt // gathered rows and their gradient, logits, probabilities, losses
	if got := m.ActivationFloats(); got != want {
		t.Errorf("ActivationFloats = %d, want %d", got, want)
	}
}
