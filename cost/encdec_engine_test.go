package cost

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// The engine's encoder–decoder (model.Config with Arch "encdec") against
// the analytical EncDecSpec of the same shape: parameters, unique and
// applied, exactly; forward FLOPs component by component where the two
// count the same work, exactly; and every component of the forward and the
// backward pass against the engine-exact derivation below, which states
// where the analytical model's conventions differ (see engineEncDec).

// encdecSpecOf is the analytical spec of an engine config.
func encdecSpecOf(c model.Config) EncDecSpec {
	s := encdecSpec(c) // sharing: the unshared model's spec (the test adjusts it)
	s.Name = "engine"
	return s
}

// engineConfigs are encoder–decoders of every kind the engine builds.
func engineConfigs() map[string]model.Config {
	base := model.Config{Arch: model.ArchEncDec, Vocab: 29, DModel: 16, EncLayers: 2, Layers: 3, Heads: 4, DFF: 24, MaxSeq: 160,
		Share: model.ShareNone, Groups: 1}
	out := map[string]model.Config{}
	c := base
	c.PostLN, c.Positions, c.EmbedScale, c.Activation, c.Tying = true, model.SinusoidalPositions, true, model.ReLU, model.TieAll
	out["transformer: post-LN, sinusoidal, √d, ReLU, tie all"] = c
	c = base
	c.Tying = model.TieNone
	out["pre-LN, learned, GELU, tie none"] = c
	c = base
	c.Tying, c.Norm, c.MLP, c.Bias, c.EmbedScale = model.TieDecoder, model.RMSNormKind, model.SwiGLU, model.BiasNone, true
	out["pre-LN, RMSNorm, SwiGLU, no bias, tie decoder"] = c
	c = base
	c.PostLN, c.Tying, c.Activation = true, model.TieAll, model.GELUErf
	out["post-LN, learned, erf GELU, tie all"] = c
	c = base
	c.PostLN, c.Tying, c.Activation, c.EmbedNorm, c.PosOffset = true, model.TieAll, model.GELUErf, true, 2
	out["BART: post-LN, embedding LayerNorm, positions from row 2, erf GELU, tie all"] = c
	return out
}

func TestEncDecEngineParams(t *testing.T) {
	for name, c := range engineConfigs() {
		p := encdecSpecOf(c).Params()
		if got, want := c.UniqueParams(), p.Unique(); got != want {
			t.Errorf("%s: engine unique %d, analytical %d", name, got, want)
		}
		if got, want := c.AppliedParams(), p.Applied; got != want {
			t.Errorf("%s: engine applied %d, analytical %d", name, got, want)
		}
		// Sharing stores fewer blocks and applies the same: applied stays
		// the unshared model's count.
		s := c
		s.Share, s.Groups, s.EncLayers, s.Layers = model.ShareAll, 1, 2, 2
		u := s
		u.Share = model.ShareNone
		if s.AppliedParams() != u.AppliedParams() || s.UniqueParams() >= u.UniqueParams() {
			t.Errorf("%s shared: unique %d applied %d; unshared unique %d applied %d", name, s.UniqueParams(), s.AppliedParams(), u.UniqueParams(), u.AppliedParams())
		}
		// Sharing between the stacks stores one stack's self-attention and
		// FFN blocks fewer, exactly: the decoder's.
		x := s
		x.ShareStacks = true
		sp := encdecSpecOf(s)
		sp.DecLayers = 1                                               // one stored decoder block
		blocks := sp.attnParams() + sp.ffnParams() + 2*sp.normParams() // self-attention + its norm, FFN + its norm
		if x.AppliedParams() != s.AppliedParams() || x.UniqueParams() != s.UniqueParams()-blocks {
			t.Errorf("%s share-stacks: unique %d applied %d, want %d and %d", name, x.UniqueParams(), x.AppliedParams(), s.UniqueParams()-blocks, s.AppliedParams())
		}
	}
	// The engine's presets store exactly the analytical presets' parameters
	// (bart-base: the published 139,420,416; final_logits_bias is a buffer,
	// not a parameter, and the engine has none).
	for _, p := range []struct {
		name      string
		c         model.Config
		published int64
	}{{"transformer-base", model.TransformerBase(), 0}, {"transformer-big", model.TransformerBig(), 0},
		{"bart-base", model.BARTBase(), 139420416}, {"bart-large", model.BARTLarge(), 0}} {
		if err := p.c.Validate(); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		spec, err := EncDecPreset(p.name)
		if err != nil {
			t.Fatal(err)
		}
		got, want := p.c.UniqueParams(), spec.Params().Unique()
		if got != want || (p.published != 0 && got != p.published) {
			t.Errorf("%s: engine %d, preset %d, published %d", p.name, got, want, p.published)
		}
		if got, want := p.c.AppliedParams(), spec.Params().Applied; got != want {
			t.Errorf("%s: engine applied %d, preset %d", p.name, got, want)
		}
	}
}

// counts is one pass's FLOPs per engine component.
type counts [kernels.NumAllComponents]int64

// engineEncDec derives the engine's FLOPs for one (source, target) pair of
// ns and nt tokens, per stack (the encoder's as Model.EncFlops counts them,
// the decoder's — with cross-attention, logits and loss — as Model.Flops
// does), forward and backward, from the kernels' conventions. act is the
// FFN activation's per-element FLOPs (forward, backward).
//
// Where it differs from EncDecSpec.FLOPs (forward):
//   - softmax: besides 5 per (query, key) pair and head, dh per query row
//     and head (the division of the output by the softmax sum) and dh per
//     rescale of the fused kernel's running output (one per query row and
//     key tile after the first, kernels.AttentionTile keys a tile);
//   - residual adds: counted in attn_out, cross_out and ffn_down (1 per
//     element), not with the norms;
//   - norms: kernels.FlopsLayerNormFwd = 8 per element (RMSNorm 4), not 5;
//   - FFN activation: the config's (ReLU 1, tanh GELU 9, erf GELU 5 per
//     element; SwiGLU 6 per element for the product of the gate's SiLU
//     and the up projection), not 1 (2 gated);
//   - the loss: 5 per logit (softmax cross-entropy), not counted there;
//   - training: the backward pass as counted below, not 2× the forward.
func engineEncDec(s EncDecSpec, ns, nt int, act [2]int64) (enc, dec [2]counts) {
	F, B := kernels.Forward, kernels.Backward
	d, f, H, K := int64(s.DModel), int64(s.DFF), int64(s.Heads), int64(s.Vocab)
	dh := d / H
	S, T := int64(ns), int64(nt)
	var bias int64
	if s.Bias {
		bias = 1
	}
	lin := func(c *[2]counts, comp kernels.Component, n, in, out int64, residual bool) {
		c[F][comp] += 2*n*in*out + bias*n*out
		if residual {
			c[F][comp] += n * out * kernels.FlopsResidual
		}
		c[B][comp] += 4*n*in*out + bias*n*out
	}
	rescales := func(nk int64) int64 { return (nk+kernels.AttentionTile-1)/kernels.AttentionTile - 1 }
	attn := func(c *[2]counts, sc, sm, av kernels.Component, prs, rows, resc int64) {
		prs, rows, resc = prs*H, rows*H, resc*H
		c[F][sc] += 2 * dh * prs
		c[F][sm] += kernels.FlopsAttnSoftmaxFwd*prs + (rows+resc)*dh
		c[F][av] += 2 * dh * prs
		c[B][sc] += 6 * dh * prs
		c[B][sm] += kernels.FlopsAttnSoftmaxBwd*prs + 2*dh*rows
		c[B][av] += 4 * dh * prs
	}
	normF, normB := int64(kernels.FlopsLayerNormFwd), int64(kernels.FlopsLayerNormBwd)
	if s.RMSNorm {
		normF, normB = kernels.FlopsRMSNormFwd, kernels.FlopsRMSNormBwd
	}
	norms := func(c *[2]counts, count, n int64) {
		c[F][kernels.LayerNorm] += count * n * d * normF
		c[B][kernels.LayerNorm] += count * n * d * normB
	}
	ffn := func(c *[2]counts, n int64) {
		if s.Gated {
			lin(c, kernels.FFNGate, n, d, f, false)
			c[F][kernels.GLU] += n * f * kernels.FlopsSwiGLUFwd
			c[B][kernels.GLU] += n * f * kernels.FlopsSwiGLUBwd
		} else {
			c[F][kernels.GELU] += n * f * act[0]
			c[B][kernels.GELU] += n * f * act[1]
		}
		lin(c, kernels.FFNUp, n, d, f, false)
		lin(c, kernels.FFNDown, n, f, d, true)
	}
	embed := func(c *[2]counts, n int64) {
		var scale int64
		if s.ScaleEmbed {
			scale = 1
		}
		c[F][kernels.Embedding] += n * d * (scale + 1) // scale, add the position row
		c[B][kernels.Embedding] += n * d * (scale + 1) // scale, scatter into the token row
		if s.Positions == PosLearned {
			c[B][kernels.Embedding] += n * d // scatter into the position row
		}
	}
	embed(&enc, S)
	for range s.EncLayers {
		lin(&enc, kernels.QKV, S, d, 3*d, false)
		attn(&enc, kernels.Scores, kernels.Softmax, kernels.AV, S*S, S, S*rescales(S))
		lin(&enc, kernels.AttnOut, S, d, d, true)
		ffn(&enc, S)
		norms(&enc, 2, S)
	}
	embed(&dec, T)
	for range s.DecLayers {
		lin(&dec, kernels.QKV, T, d, 3*d, false)
		attn(&dec, kernels.Scores, kernels.Softmax, kernels.AV, T*(T+1)/2, T, kernels.AttentionRescales(nt, true))
		lin(&dec, kernels.AttnOut, T, d, d, true)
		lin(&dec, kernels.CrossQKV, T, d, d, false)
		lin(&dec, kernels.CrossQKV, S, d, 2*d, false)
		attn(&dec, kernels.CrossScores, kernels.CrossSoftmax, kernels.CrossAV, T*S, T, T*rescales(S))
		lin(&dec, kernels.CrossOut, T, d, d, true)
		ffn(&dec, T)
		norms(&dec, 3, T)
	}
	if s.PreLN {
		norms(&enc, 1, S)
		norms(&dec, 1, T)
	}
	if s.LNEmbedding {
		norms(&enc, 1, S)
		norms(&dec, 1, T)
	}
	dec[F][kernels.Logits] += 2 * T * d * K
	dec[B][kernels.Logits] += 4 * T * d * K
	dec[F][kernels.Loss] += T * K * kernels.FlopsLossFwd
	dec[B][kernels.Loss] += T*K*kernels.FlopsLossBwd + T
	return enc, dec
}

// actFlops is the config's FFN activation FLOPs per element.
func actFlops(c model.Config) [2]int64 {
	switch c.Activation {
	case model.ReLU:
		return [2]int64{kernels.FlopsReLUFwd, kernels.FlopsReLUBwd}
	case model.GELUErf:
		return [2]int64{kernels.FlopsGELUErfFwd, kernels.FlopsGELUErfBwd}
	}
	return [2]int64{kernels.FlopsGELUFwd, kernels.FlopsGELUBwd}
}

// TestEncDecEngineFLOPs runs the engine's forward and backward on one
// (source, target) pair at several lengths — across the fused attention's
// key tiles and query blocks — and requires its counted FLOPs to equal (1)
// EncDecSpec.FLOPs exactly for every component both count alike: the
// Q/K/V and output projections of the encoder's self-, the decoder's self-
// and the cross-attention, their scores and AV, the ReLU FFN, the
// embeddings and the logits; and (2) engineEncDec for every component of
// both passes and both stacks.
func TestEncDecEngineFLOPs(t *testing.T) {
	lengths := [][2]int{{1, 1}, {5, 3}, {3, 7}, {97, 20}, {20, 130}, {150, 97}}
	for name, c := range engineConfigs() {
		spec := encdecSpecOf(c)
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, l := range lengths {
			ns, nt := l[0], l[1]
			what := fmt.Sprintf("%s, source %d, target %d", name, ns, nt)
			ids := func(n int) []int32 {
				out := make([]int32, n)
				for i := range out {
					out[i] = int32(rng.IntN(c.Vocab))
				}
				return out
			}
			var ce, cd kernels.Counter
			m.Flops, m.EncFlops = &cd, &ce
			if _, err := m.ForwardSeq2Seq(model.Seq2SeqBatch{B: 1, SrcT: ns, TgtT: nt, Src: ids(ns), Tgt: ids(nt), Targets: ids(nt)}); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			wantE, wantD := engineEncDec(spec, ns, nt, actFlops(c))
			for _, p := range []kernels.Pass{kernels.Forward, kernels.Backward} {
				for _, comp := range kernels.AllComponents() {
					if got, want := ce.Get(p, comp), wantE[p][comp]; got != want {
						t.Errorf("%s: encoder %v %v = %d, derived %d", what, p, comp, got, want)
					}
					if got, want := cd.Get(p, comp), wantD[p][comp]; got != want {
						t.Errorf("%s: decoder %v %v = %d, derived %d", what, p, comp, got, want)
					}
				}
			}
			an, err := spec.FLOPs(ns, nt)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []kernels.Pass{kernels.Forward, kernels.Backward} {
				f := an
				if p == kernels.Backward {
					f = *an.Backward
				}
				e := func(comps ...kernels.Component) (n int64) {
					for _, c := range comps {
						n += ce.Get(p, c)
					}
					return n
				}
				dc := func(comps ...kernels.Component) (n int64) {
					for _, c := range comps {
						n += cd.Get(p, c)
					}
					return n
				}
				ffn := []kernels.Component{kernels.FFNGate, kernels.FFNUp, kernels.GELU, kernels.GLU, kernels.FFNDown}
				same := []struct {
					what      string
					got, want int64
				}{
					{"enc self qkv", e(kernels.QKV), f.EncSelf.QKV},
					{"enc self scores", e(kernels.Scores), f.EncSelf.Scores},
					{"enc self softmax", e(kernels.Softmax), f.EncSelf.Softmax},
					{"enc self av", e(kernels.AV), f.EncSelf.AV},
					{"enc self out", e(kernels.AttnOut), f.EncSelf.Out},
					{"dec self qkv", dc(kernels.QKV), f.DecSelf.QKV},
					{"dec self scores", dc(kernels.Scores), f.DecSelf.Scores},
					{"dec self softmax", dc(kernels.Softmax), f.DecSelf.Softmax},
					{"dec self av", dc(kernels.AV), f.DecSelf.AV},
					{"dec self out", dc(kernels.AttnOut), f.DecSelf.Out},
					{"cross qkv", dc(kernels.CrossQKV), f.Cross.QKV},
					{"cross scores", dc(kernels.CrossScores), f.Cross.Scores},
					{"cross softmax", dc(kernels.CrossSoftmax), f.Cross.Softmax},
					{"cross av", dc(kernels.CrossAV), f.Cross.AV},
					{"cross out", dc(kernels.CrossOut), f.Cross.Out},
					{"enc ffn", e(ffn...), f.EncFFN},
					{"dec ffn", dc(ffn...), f.DecFFN},
					{"norms", e(kernels.LayerNorm) + dc(kernels.LayerNorm), f.Norms},
					{"embedding", e(kernels.Embedding) + dc(kernels.Embedding), f.Embed},
					{"logits", dc(kernels.Logits), f.Logits},
					{"loss", dc(kernels.Loss), f.Loss},
					{"total", e(kernels.AllComponents()...) + dc(kernels.AllComponents()...), f.Total()},
				}
				for _, x := range same {
					if x.got != x.want {
						t.Errorf("%s: %v %s: engine %d, EncDecSpec %d", what, p, x.what, x.got, x.want)
					}
				}
			}
		}
	}
}

// TestEncDecEngineDecodeFLOPs: encoding a source costs the encoder's
// forward pass plus every decoder layer's key/value projection of it, once;
// each cached decoding step at position p then costs one target row's
// projections, FFN, norms and logits, self-attention over p+1 cached keys
// and cross-attention over the n_s source keys (per pair and head: 2·dh
// scores, kernels.FlopsSoftmaxFwd softmax, 2·dh AV).
func TestEncDecEngineDecodeFLOPs(t *testing.T) {
	for name, c := range engineConfigs() {
		s := encdecSpecOf(c)
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		ns := 37
		var cnt kernels.Counter
		m.Flops, m.EncFlops = &cnt, &cnt
		src, err := m.EncodeSource(make([]int32, ns))
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := engineEncDec(s, ns, 1, actFlops(c))
		want := enc[kernels.Forward]
		d, f, H, K := int64(c.DModel), int64(c.DFF), int64(c.Heads), int64(c.Vocab)
		dh := d / H
		var bias int64
		if s.Bias {
			bias = 1
		}
		lin := func(w *counts, comp kernels.Component, n, in, out int64, residual bool) {
			w[comp] += 2*n*in*out + bias*n*out
			if residual {
				w[comp] += n * out
			}
		}
		for range c.Layers {
			lin(&want, kernels.CrossQKV, int64(ns), d, 2*d, false)
		}
		for _, comp := range kernels.AllComponents() {
			if got := cnt.Get(kernels.Forward, comp); got != want[comp] {
				t.Errorf("%s: encode %v = %d, derived %d", name, comp, got, want[comp])
			}
		}
		dec, err := m.NewSeq2SeqDecoder(src)
		if err != nil {
			t.Fatal(err)
		}
		for p := 0; p < 5; p++ {
			cnt.Reset()
			if _, err := dec.Step(1); err != nil {
				t.Fatal(err)
			}
			var w counts
			scale := int64(0)
			if c.EmbedScale {
				scale = 1
			}
			w[kernels.Embedding] = d * (scale + 1)
			normF := int64(kernels.FlopsLayerNormFwd)
			if c.RMS() {
				normF = kernels.FlopsRMSNormFwd
			}
			norms := int64(3 * c.Layers)
			if !c.PostLN {
				norms++
			}
			if c.EmbedNorm {
				norms++
			}
			w[kernels.LayerNorm] = norms * d * normF
			attn := func(sc, sm, av kernels.Component, keys int64) {
				w[sc] += 2 * dh * H * keys
				w[sm] += kernels.FlopsSoftmaxFwd * H * keys
				w[av] += 2 * dh * H * keys
			}
			for range c.Layers {
				lin(&w, kernels.QKV, 1, d, 3*d, false)
				attn(kernels.Scores, kernels.Softmax, kernels.AV, int64(p+1))
				lin(&w, kernels.AttnOut, 1, d, d, true)
				lin(&w, kernels.CrossQKV, 1, d, d, false)
				attn(kernels.CrossScores, kernels.CrossSoftmax, kernels.CrossAV, int64(ns))
				lin(&w, kernels.CrossOut, 1, d, d, true)
				if c.Gated() {
					lin(&w, kernels.FFNGate, 1, d, f, false)
					w[kernels.GLU] += f * kernels.FlopsSwiGLUFwd
				} else {
					w[kernels.GELU] += f * actFlops(c)[0]
				}
				lin(&w, kernels.FFNUp, 1, d, f, false)
				lin(&w, kernels.FFNDown, 1, f, d, true)
			}
			w[kernels.Logits] = 2 * d * K
			for _, comp := range kernels.AllComponents() {
				if got := cnt.Get(kernels.Forward, comp); got != w[comp] {
					t.Errorf("%s: step %d %v = %d, derived %d", name, p, comp, got, w[comp])
				}
			}
		}
	}
}

func TestEncDecForModel(t *testing.T) {
	for name, c := range engineConfigs() {
		s, err := EncDecForModel(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := s.Params().Unique(), c.UniqueParams(); got != want {
			t.Errorf("%s: unique %d, engine %d", name, got, want)
		}
	}
	if _, err := EncDecForModel(model.Tiny()); err == nil {
		t.Error("a decoder accepted as an encoder-decoder")
	}
}

// TestEncDecEngineMemory: the analytical activation memory is the floats
// the engine allocates for a training step on one pair.
func TestEncDecEngineMemory(t *testing.T) {
	for name, c := range engineConfigs() {
		spec := encdecSpecOf(c)
		for _, l := range [][2]int{{1, 1}, {7, 3}, {40, 97}} {
			m, err := model.New(c)
			if err != nil {
				t.Fatal(err)
			}
			m.Init(1)
			ns, nt := l[0], l[1]
			if _, err := m.ForwardSeq2Seq(model.Seq2SeqBatch{B: 1, SrcT: ns, TgtT: nt, Src: make([]int32, ns), Tgt: make([]int32, nt), Targets: make([]int32, nt)}); err != nil {
				t.Fatal(err)
			}
			mem, err := spec.Memory(ns, nt)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := mem.Activations/4, m.ActivationFloats(); got != want {
				t.Errorf("%s, source %d, target %d: analytical %d floats, engine %d", name, ns, nt, got, want)
			}
		}
	}
}

// TestEncDecEngineSharedParams: with cross-layer sharing inside each stack
// (every mode, several groups) and between the stacks, the cost model
// stores exactly the engine's unique parameters and applies the unshared
// model's.
func TestEncDecEngineSharedParams(t *testing.T) {
	n := 0
	for name, c := range engineConfigs() {
		c.EncLayers, c.Layers = 4, 4
		for _, share := range []model.Share{model.ShareAll, model.ShareAttention, model.ShareFFN} {
			for _, groups := range []int{1, 2, 4} {
				for _, stacks := range []bool{false, true} {
					x := c
					x.Share, x.Groups, x.ShareStacks = share, groups, stacks
					if x.Validate() != nil {
						continue
					}
					s, err := EncDecForModel(x)
					if err != nil {
						t.Fatalf("%s %s/%d stacks %v: %v", name, share, groups, stacks, err)
					}
					p := s.Params()
					if got, want := p.Unique(), x.UniqueParams(); got != want {
						t.Errorf("%s %s/%d stacks %v: unique %d, engine %d", name, share, groups, stacks, got, want)
					}
					if got, want := p.Applied, x.AppliedParams(); got != want {
						t.Errorf("%s %s/%d stacks %v: applied %d, engine %d", name, share, groups, stacks, got, want)
					}
					n++
				}
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d shared configs validated", n)
	}
	bad := EncDecSpec{Name: "x", Vocab: 9, DModel: 8, EncLayers: 2, DecLayers: 3, Heads: 2, DFF: 8, Positions: PosSinusoidal, Tie: TieAll, Share: "all", Groups: 3}
	if err := bad.Validate(); err == nil {
		t.Error("groups above a stack's layers accepted")
	}
}
