package cost

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// engineGrid is a grid of small decoder configs: tied and untied, every
// sharing mode, one and two groups, several head counts and widths.
func engineGrid() []model.Config { return engineGridE(model.ArchDecoder, false) }

// engineGridE is engineGrid for an architecture, with E = d or (factorized)
// E = d/2.
func engineGridE(arch model.Arch, factorized bool) []model.Config {
	var out []model.Config
	for _, tie := range []bool{true, false} {
		for _, share := range []model.Share{model.ShareNone, model.ShareAll, model.ShareAttention, model.ShareFFN} {
			for _, groups := range []int{1, 2} {
				for _, dh := range [][2]int{{8, 1}, {8, 2}, {12, 3}, {16, 4}} {
					c := model.Config{Vocab: 13, DModel: dh[0], Layers: 4, Heads: dh[1], DFF: 3 * dh[0],
						MaxSeq: 16, Tie: tie, Share: share, Groups: groups}
					if arch == model.ArchEncoder {
						c.Arch = arch
					}
					if factorized {
						c.EmbedDim = dh[0] / 2
					}
					out = append(out, c)
				}
			}
		}
	}
	return out
}

func randTokens(rng *rand.Rand, n, v int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(v))
	}
	return out
}

// checkCounted checks the analytical FLOPs got against the engine's kernel
// counters cnt, per component and pass; name says which run.
func checkCounted(t *testing.T, name string, got FLOPs, cnt *kernels.Counter) {
	t.Helper()
	for _, k := range kernels.Components() {
		if want := cnt.Get(kernels.Forward, k); got.Forward[k] != want {
			t.Errorf("%s: forward %s = %d, engine counted %d", name, k, got.Forward[k], want)
		}
		if want := cnt.Get(kernels.Backward, k); got.Backward[k] != want {
			t.Errorf("%s: backward %s = %d, engine counted %d", name, k, got.Backward[k], want)
		}
	}
}

// checkDecode decodes a whole context with m's cached decoder, checks each
// step's kernel counters against s.DecodeStep (forward work only), and that
// the whole context costs exactly the causal forward without its loss.
func checkDecode(t *testing.T, m *model.Model, s Spec) {
	t.Helper()
	c := m.Config
	dec := m.NewDecoder()
	var sum Counts
	for pos := 0; pos < c.MaxSeq; pos++ {
		cnt := &kernels.Counter{}
		m.Flops = cnt
		if _, err := dec.Step(int32(pos % c.Vocab)); err != nil {
			t.Fatal(err)
		}
		want := s.DecodeStep(pos)
		for _, k := range kernels.Components() {
			if want[k] != cnt.Get(kernels.Forward, k) || cnt.Get(kernels.Backward, k) != 0 {
				t.Fatalf("%s pos %d: decode %s = %d, engine counted %d", c.JSON(), pos, k, want[k], cnt.Get(kernels.Forward, k))
			}
		}
		sum = sum.Plus(want)
	}
	// Decoding the whole context does the forward's work, but for the
	// softmax: decode normalises each probability (FlopsSoftmaxFwd per
	// pair), the fused forward each output row (see kernels).
	fwd := s.FLOPs(c.MaxSeq, 1, true).Forward
	fwd[kernels.Loss] = 0
	P, _ := s.attnSums(c.MaxSeq, true) // pairs summed over the layers (windowed ones see at most the window)
	perPair := int64(kernels.FlopsSoftmaxFwd)
	if c.AttnSoftcap != 0 {
		perPair += kernels.FlopsSoftcapFwd
	}
	if want := int64(c.Heads) * P * perPair; sum[kernels.Softmax] != want {
		t.Errorf("%s: decode softmax %d, want %d", c.JSON(), sum[kernels.Softmax], want)
	}
	sum[kernels.Softmax], fwd[kernels.Softmax] = 0, 0
	if sum != fwd {
		t.Errorf("%s: decoding %d tokens = %v, causal forward without loss = %v", c.JSON(), c.MaxSeq, sum, fwd)
	}
}

// TestFLOPsMatchEngine runs the engine's forward (with targets) and backward
// and checks that the analytical FLOPs equal its kernel counters exactly,
// per component and pass, and that the analytical activation memory equals
// the buffers it allocated.
func TestFLOPsMatchEngine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][2]int{{1, 1}, {1, 7}, {2, 5}, {3, 16}} // (B, n)
	for _, c := range engineGrid() {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		s := Spec{Arch: Decoder, Config: c}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, sh := range shapes {
			b, n := sh[0], sh[1]
			cnt := &kernels.Counter{}
			m.Flops = cnt
			if _, err := m.Forward(randTokens(rng, b*n, c.Vocab), randTokens(rng, b*n, c.Vocab), b, n); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			got := s.FLOPs(n, b, true)
			name := fmt.Sprintf("%s B=%d n=%d", c.JSON(), b, n)
			checkCounted(t, name, got, cnt)
			for c := Component(kernels.NumComponents); c < NumComponents; c++ {
				if got.Forward[c] != 0 || got.Backward[c] != 0 {
					t.Errorf("%s: decoder has %s FLOPs", name, c)
				}
			}
			if got.Forward.Total() != cnt.Total(kernels.Forward) || got.Backward.Total() != cnt.Total(kernels.Backward) {
				t.Errorf("%s: totals differ", name)
			}
			mem := s.Memory(n, b)
			if want := m.ActivationFloats(); mem.ActivationFloats() != want {
				t.Errorf("%s: activation floats = %d, engine allocated %d", name, mem.ActivationFloats(), want)
			}
			if mem.Params != int64(len(m.Params))*4 || mem.Grads != int64(len(m.Grads))*4 || mem.AdamW != 2*int64(len(m.Params))*4 {
				t.Errorf("%s: params/grads/adamw bytes %d/%d/%d for %d parameters", name, mem.Params, mem.Grads, mem.AdamW, len(m.Params))
			}
		}
	}
}

// TestDecodeMatchesEngine checks the per-token decode cost against
// model.Decoder.Step, and that decoding a whole sequence costs exactly the
// causal forward without its loss.
func TestDecodeMatchesEngine(t *testing.T) {
	for _, c := range engineGrid()[:12] {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(2)
		s := Spec{Arch: Decoder, Config: c}
		checkDecode(t, m, s)
	}
}

// TestParamsMatchModel checks unique and applied counts against model.Config
// over a grid, and the savings' bookkeeping.
func TestParamsMatchModel(t *testing.T) {
	cfgs := engineGrid()
	g2 := model.GPT2Small()
	for _, share := range []model.Share{model.ShareNone, model.ShareAll, model.ShareAttention, model.ShareFFN} {
		for _, groups := range []int{1, 2, 3, 4, 6, 12} {
			for _, tie := range []bool{true, false} {
				c := g2
				c.Share, c.Groups, c.Tie = share, groups, tie
				cfgs = append(cfgs, c)
			}
		}
	}
	for _, c := range cfgs {
		s := Spec{Arch: Decoder, Config: c}
		p := s.Parameters()
		if p.Total.Unique != c.UniqueParams() || p.Total.Applied != c.AppliedParams() {
			t.Errorf("%s: unique/applied = %d/%d, model says %d/%d", c.JSON(), p.Total.Unique, p.Total.Applied, c.UniqueParams(), c.AppliedParams())
		}
		if p.Total.Applied-p.Total.Unique != p.SavedByTying+p.SavedBySharing {
			t.Errorf("%s: savings %d + %d != applied - unique %d", c.JSON(), p.SavedByTying, p.SavedBySharing, p.Total.Applied-p.Total.Unique)
		}
		if u := s.Unshared().Parameters(); u.Total.Unique != p.UntiedUnshared || u.Total.Applied != p.Total.Applied {
			t.Errorf("%s: untied unshared = %d, want %d", c.JSON(), u.Total.Unique, p.UntiedUnshared)
		}
	}
}

// TestFLOPsMatchEngineEncoderFactorized runs encoders (masked-LM with the
// positions a Masker chooses, bidirectional attention, with and without a
// factorized embedding) and factorized decoders over the grid, and checks
// that ForModel's FLOPs equal the kernel counters per component and pass,
// that its memory equals the buffers allocated, and that its parameters
// equal the layout's.
func TestFLOPsMatchEngineEncoderFactorized(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := [][2]int{{1, 1}, {1, 7}, {2, 5}, {3, 16}} // (B, n)
	var cfgs []model.Config
	cfgs = append(cfgs, engineGridE(model.ArchEncoder, false)...)
	cfgs = append(cfgs, engineGridE(model.ArchEncoder, true)...)
	cfgs = append(cfgs, engineGridE(model.ArchDecoder, true)...)
	for _, c := range engineGridE(model.ArchEncoder, true)[:8] {
		c.Activation, c.LayerNormEps = model.GELUErf, 1e-12 // BERT's exact GELU
		cfgs = append(cfgs, c)
	}
	for _, c := range engineGridE(model.ArchDecoder, true)[:8] {
		c.Activation = model.GELUErf
		cfgs = append(cfgs, c)
	}
	for _, c := range cfgs {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		s := ForModel(c)
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		p := s.Parameters()
		if p.Total.Unique != c.UniqueParams() || p.Total.Applied != c.AppliedParams() {
			t.Errorf("%s: unique/applied = %d/%d, model says %d/%d", c.JSON(), p.Total.Unique, p.Total.Applied, c.UniqueParams(), c.AppliedParams())
		}
		if p.Total.Applied-p.Total.Unique != p.SavedByTying+p.SavedBySharing {
			t.Errorf("%s: savings %d + %d != applied - unique %d", c.JSON(), p.SavedByTying, p.SavedBySharing, p.Total.Applied-p.Total.Unique)
		}
		for _, sh := range shapes {
			b, n := sh[0], sh[1]
			cnt := &kernels.Counter{}
			m.Flops = cnt
			tok := randTokens(rng, b*n, c.Vocab-1)
			if c.IsEncoder() {
				pos, tgt, err := model.NewMasker(m.Config).Mask(rng, tok, b, n, nil, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(pos) != b*model.MaskedPerSeq(n) {
					t.Fatalf("masker chose %d positions, want %d", len(pos), b*model.MaskedPerSeq(n))
				}
				if _, err := m.ForwardMLM(model.MLMBatch{B: b, T: n, Tokens: tok, Positions: pos, Targets: tgt}); err != nil {
					t.Fatal(err)
				}
			} else if _, err := m.Forward(tok, randTokens(rng, b*n, c.Vocab), b, n); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			got := s.FLOPs(n, b, !c.IsEncoder())
			name := fmt.Sprintf("%s B=%d n=%d", c.JSON(), b, n)
			checkCounted(t, name, got, cnt)
			if got.Forward[Pooler] != 0 || got.Backward[Pooler] != 0 {
				t.Errorf("%s: engine model has pooler FLOPs", name)
			}
			mem := s.Memory(n, b)
			if want := m.ActivationFloats(); mem.ActivationFloats() != want {
				t.Errorf("%s: activation floats = %d, engine allocated %d", name, mem.ActivationFloats(), want)
			}
			if mem.Params != int64(len(m.Params))*4 {
				t.Errorf("%s: params bytes %d for %d parameters", name, mem.Params, len(m.Params))
			}
		}
		if !c.IsEncoder() {
			checkDecode(t, m, s) // cached decoding of a factorized decoder
		}
	}
}

// An encoder run on padded sequences computes (and counts) only the
// unmasked key pairs: n·len per head.
func TestEncoderPaddedPairs(t *testing.T) {
	c := model.Config{Vocab: 13, DModel: 8, Layers: 2, Heads: 2, DFF: 24, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1, Arch: model.ArchEncoder}
	m, _ := model.New(c)
	m.Init(1)
	cnt := &kernels.Counter{}
	m.Flops = cnt
	tok := make([]int32, 2*10)
	if _, err := m.ForwardMLM(model.MLMBatch{B: 2, T: 10, Tokens: tok, Lengths: []int32{10, 4}, Positions: []int32{0}, Targets: []int32{1}}); err != nil {
		t.Fatal(err)
	}
	full := ForModel(c).FLOPs(10, 2, false).Forward[kernels.Scores]
	if got, want := cnt.Get(kernels.Forward, kernels.Scores), full*(10+4)/20; got != want {
		t.Errorf("scores with lengths 10 and 4: %d, want %d (full windows %d)", got, want, full)
	}
}

// llamaGrid is a grid of small Llama-family decoders: every family, MHA,
// GQA and MQA, head_dim of its own, llama3 rope scaling, tied and untied,
// shared and unshared, factorized or not.
func llamaGrid() []model.Config {
	var out []model.Config
	for i, fam := range []string{"llama", "qwen2", "gemma", "mistral"} {
		for j, kv := range []int{4, 2, 1} {
			for k, share := range []model.Share{model.ShareNone, model.ShareAll, model.ShareFFN} {
				base := model.Config{Vocab: 13, DModel: 16, Layers: 4, Heads: 4, DFF: 24, MaxSeq: 16, Tie: (i+j+k)%2 == 0, Share: share, Groups: 1 + k%2}
				c, err := base.Family(fam)
				if err != nil {
					panic(err)
				}
				c.KVHeads = kv
				if j == 2 {
					c.DHead = 6 // head_dim independent of d/heads
				}
				if fam == "llama" && k == 1 {
					c.RopeTheta = 500000
					c.RopeScaling = &model.RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OrigContext: 8}
				}
				if fam == "mistral" && j == 1 {
					c.EmbedDim = 8 // factorized, with the head through E
				}
				if fam == "gemma" && k == 2 {
					c.Activation = model.GELUErf
				}
				out = append(out, c)
			}
		}
	}
	// Sliding windows smaller than the context: every layer (Mistral), and
	// the even layers (Gemma 2's alternation), with sharing and GQA.
	for i, w := range [][2]int{{5, 0}, {1, 0}, {7, 2}, {3, 2}} {
		c, _ := model.Config{Vocab: 13, DModel: 16, Layers: 4, Heads: 4, KVHeads: 2, DFF: 24, MaxSeq: 16, Tie: i%2 == 0, Share: model.ShareNone, Groups: 1}.Family("mistral")
		c.SlidingWindow, c.SlidingEvery = w[0], w[1]
		if i >= 2 {
			c.Share, c.Groups = model.ShareAll, 2
		}
		if i%2 == 1 { // Gemma 2's soft-caps, query scalar and post-norms
			c.AttnSoftcap, c.FinalSoftcap, c.QueryScalar, c.PostNorms = 5, 3, 7, true
		}
		out = append(out, c)
	}
	// Mixed choices: RMSNorm with learned positions and GELU, all biases.
	mix := model.Config{Vocab: 13, DModel: 12, Layers: 2, Heads: 3, DFF: 20, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1, Norm: model.RMSNormKind, EmbedScale: true}
	out = append(out, mix)
	mix.MLP, mix.Positions, mix.Bias = model.SwiGLU, model.RotaryPositions, model.BiasQKV
	out = append(out, mix)
	return out
}

// TestFLOPsMatchEngineLlama checks, for the Llama family's choices, that
// the analytical FLOPs equal the engine's kernel counters per component and
// pass (rope, ffn_gate and glu included), that the activation memory and the
// parameter counts equal what the engine allocates, and that cached decoding
// costs DecodeStep at every position (the KV cache holding kv-heads only).
func TestFLOPsMatchEngineLlama(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range llamaGrid() {
		m, err := model.New(c)
		if err != nil {
			t.Fatal(err)
		}
		m.Init(1)
		s := ForModel(c)
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		p := s.Parameters()
		if p.Total.Unique != c.UniqueParams() || p.Total.Applied != c.AppliedParams() {
			t.Errorf("%s: unique/applied = %d/%d, model says %d/%d", c.JSON(), p.Total.Unique, p.Total.Applied, c.UniqueParams(), c.AppliedParams())
		}
		for _, sh := range [][2]int{{1, 1}, {2, 5}, {1, 16}} {
			b, n := sh[0], sh[1]
			cnt := &kernels.Counter{}
			m.Flops = cnt
			if _, err := m.Forward(randTokens(rng, b*n, c.Vocab), randTokens(rng, b*n, c.Vocab), b, n); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s B=%d n=%d", c.JSON(), b, n)
			checkCounted(t, name, s.FLOPs(n, b, true), cnt)
			if want := m.ActivationFloats(); s.Memory(n, b).ActivationFloats() != want {
				t.Errorf("%s: activation floats = %d, engine allocated %d", name, s.Memory(n, b).ActivationFloats(), want)
			}
		}
		checkDecode(t, m, s)
	}
}
