package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// encoderConfigs is the grid of the encoder tests: tied and untied, every
// sharing mode with one and two groups, with and without a factorized
// embedding.
func encoderConfigs() map[string]Config {
	base := Config{Vocab: 11, DModel: 8, Layers: 4, Heads: 2, DFF: 12, MaxSeq: 6, Arch: ArchEncoder, TypeVocab: 3}
	out := map[string]Config{}
	for name, c := range gradConfigs() {
		for _, e := range []int{0, 4} {
			x := base
			x.Tie, x.Share, x.Groups, x.EmbedDim = c.Tie, c.Share, c.Groups, e
			out[name+map[int]string{0: "/E=d", 4: "/E=4"}[e]] = x
		}
	}
	return out
}

// factorizedDecoderConfigs is gradConfigs with E = 4 < d = 8.
func factorizedDecoderConfigs() map[string]Config {
	out := map[string]Config{}
	for name, c := range gradConfigs() {
		c.EmbedDim = 4
		out[name+"/E=4"] = c
	}
	return out
}

// mlmInput is a batch of 2 sequences of 5 tokens, the second padded to 3,
// with token types, predicting 4 positions.
func mlmInput(rng *rand.Rand, c Config) MLMBatch {
	b, t := 2, 5
	x := MLMBatch{B: b, T: t, Tokens: randTokens(rng, b*t, c.Vocab), Types: make([]int32, b*t),
		Lengths: []int32{5, 3}, Positions: []int32{0, 3, 4, 6}}
	for i := range x.Types {
		x.Types[i] = int32(rng.IntN(c.Types()))
	}
	x.Targets = randTokens(rng, len(x.Positions), c.Vocab)
	return x
}

// fdCheck compares sampled gradient entries of every tensor with central
// differences of loss. The step is smaller than the decoder test's: a
// LayerNorm over E = 4 values is strongly curved, so h = 1e-2 leaves O(h²)
// truncation errors of 20%; at 1e-3 the float32 rounding of the loss
// (~1e-6 / 2e-3) is still well inside the tolerance.
func fdCheck(t *testing.T, m *Model, rng *rand.Rand, loss func() float64) {
	t.Helper()
	grads := append([]float32(nil), m.Grads...)
	const h = 1e-3
	for _, ti := range m.Layout.Tensors {
		gmax := 0.0
		for _, g := range grads[ti.Offset : ti.Offset+ti.Size] {
			gmax = math.Max(gmax, math.Abs(float64(g)))
		}
		if gmax == 0 && ti.Name != "wtt" {
			t.Errorf("%s: gradient is all zero (an unexercised path)", ti.Name)
		}
		for s := 0; s < 4; s++ {
			i := ti.Offset + rng.IntN(ti.Size)
			old := m.Params[i]
			m.Params[i] = old + h
			lp := loss()
			m.Params[i] = old - h
			lm := loss()
			m.Params[i] = old
			fd := (lp - lm) / (2 * h)
			an := float64(grads[i])
			tol := 2e-3 + 0.03*math.Abs(an) + 0.01*gmax
			if math.Abs(fd-an) > tol {
				t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", ti.Name, i-ti.Offset, an, fd)
			}
		}
	}
}

func TestEncoderGradientFiniteDifference(t *testing.T) {
	for name, c := range encoderConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, c, 7)
			rng := rand.New(rand.NewPCG(3, 3))
			x := mlmInput(rng, c)
			if _, err := m.ForwardMLM(x); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			fdCheck(t, m, rng, func() float64 {
				r, err := m.ForwardMLM(x)
				if err != nil {
					t.Fatal(err)
				}
				return float64(r.Loss)
			})
		})
	}
}

// The exact (erf) GELU and a non-default LayerNorm epsilon, in the encoder
// and a factorized decoder.
func TestErfGELUGradientFiniteDifference(t *testing.T) {
	for _, c := range []Config{
		{Vocab: 11, DModel: 8, Layers: 4, Heads: 2, DFF: 12, MaxSeq: 6, Arch: ArchEncoder, Share: ShareAll, Groups: 2, EmbedDim: 4, Activation: GELUErf, LayerNormEps: 1e-12},
		{Vocab: 11, DModel: 8, Layers: 2, Heads: 2, DFF: 12, MaxSeq: 6, Arch: ArchEncoder, Share: ShareNone, Groups: 1, Tie: true, Activation: GELUErf, LayerNormEps: 1e-3},
		{Vocab: 11, DModel: 8, Layers: 2, Heads: 2, DFF: 12, MaxSeq: 6, Share: ShareFFN, Groups: 1, Tie: true, EmbedDim: 4, Activation: GELUErf},
	} {
		t.Run(c.JSON(), func(t *testing.T) {
			m := testModel(t, c, 7)
			rng := rand.New(rand.NewPCG(3, 3))
			var loss func() float64
			if c.IsEncoder() {
				x := mlmInput(rng, c)
				loss = func() float64 {
					r, err := m.ForwardMLM(x)
					if err != nil {
						t.Fatal(err)
					}
					return float64(r.Loss)
				}
			} else {
				tok, tgt := randTokens(rng, 10, c.Vocab), randTokens(rng, 10, c.Vocab)
				loss = func() float64 {
					l, err := m.Forward(tok, tgt, 2, 5)
					if err != nil {
						t.Fatal(err)
					}
					return float64(l)
				}
			}
			loss()
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			fdCheck(t, m, rng, loss)
		})
	}
	// The forms differ: the same weights give different logits.
	c := Config{Vocab: 11, DModel: 8, Layers: 2, Heads: 2, DFF: 12, MaxSeq: 6, Share: ShareNone, Groups: 1, Tie: true}
	a := testModel(t, c, 1)
	c.Activation = GELUErf
	b := testModel(t, c, 1)
	tok := []int32{1, 2, 3, 4}
	a.Forward(tok, nil, 1, 4)
	b.Forward(tok, nil, 1, 4)
	if a.Logits()[0] == b.Logits()[0] {
		t.Error("gelu_erf gave the tanh form's logits")
	}
}

func TestFactorizedDecoderGradientFiniteDifference(t *testing.T) {
	for name, c := range factorizedDecoderConfigs() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, c, 7)
			rng := rand.New(rand.NewPCG(3, 3))
			b, T := 2, 5
			tok, tgt := randTokens(rng, b*T, c.Vocab), randTokens(rng, b*T, c.Vocab)
			if _, err := m.Forward(tok, tgt, b, T); err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			fdCheck(t, m, rng, func() float64 {
				l, err := m.Forward(tok, tgt, b, T)
				if err != nil {
					t.Fatal(err)
				}
				return float64(l)
			})
		})
	}
}

// TestFactorizedTiedGradientIsSumOfUses: with a factorized embedding the
// tied K×E table's gradient is the lookup's plus the output's, for the
// encoder and the decoder.
func TestFactorizedTiedGradientIsSumOfUses(t *testing.T) {
	for _, c := range []Config{
		{Vocab: 13, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareAll, Groups: 1, EmbedDim: 4, Arch: ArchEncoder},
		{Vocab: 13, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareNone, Groups: 1, EmbedDim: 4},
		{Vocab: 13, DModel: 8, Layers: 2, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareFFN, Groups: 2, Arch: ArchEncoder},
	} {
		tied := testModel(t, c, 11)
		cu := c
		cu.Tie = false
		untied, err := New(cu)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range tied.Layout.Tensors {
			copy(untied.Param(ti.Name), tied.Param(ti.Name))
		}
		copy(untied.Param("lm_head"), tied.Param("wte"))
		rng := rand.New(rand.NewPCG(5, 5))
		tok, tgt := randTokens(rng, 16, c.Vocab), randTokens(rng, 16, c.Vocab)
		x := MLMBatch{B: 2, T: 8, Tokens: tok, Positions: []int32{1, 2, 9, 15}, Targets: tgt[:4]}
		for _, m := range []*Model{tied, untied} {
			var err error
			if c.IsEncoder() {
				_, err = m.ForwardMLM(x)
			} else {
				_, err = m.Forward(tok, tgt, 2, 8)
			}
			if err != nil {
				t.Fatal(err)
			}
			m.ZeroGrad()
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
		}
		lookup, output, both := untied.Grad("wte"), untied.Grad("lm_head"), tied.Grad("wte")
		var nl, no float64
		for i := range both {
			want := lookup[i] + output[i]
			if d := math.Abs(float64(both[i] - want)); d > 1e-6*(1+math.Abs(float64(want))) {
				t.Fatalf("%s: wte grad[%d] = %g, lookup %g + output %g = %g", c.JSON(), i, both[i], lookup[i], output[i], want)
			}
			nl += math.Abs(float64(lookup[i]))
			no += math.Abs(float64(output[i]))
		}
		if nl == 0 || no == 0 {
			t.Fatalf("%s: degenerate test: lookup grad norm %g, output grad norm %g", c.JSON(), nl, no)
		}
		for _, ti := range tied.Layout.Tensors {
			if ti.Name == "wte" {
				continue
			}
			a, b := tied.Grad(ti.Name), untied.Grad(ti.Name)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%s: %s grad differs between tied and untied-with-copy", c.JSON(), ti.Name)
				}
			}
		}
	}
}

// Padding: the outputs at real positions do not depend on what the padded
// positions hold.
func TestEncoderPaddingMask(t *testing.T) {
	c := Config{Vocab: 11, DModel: 8, Layers: 2, Heads: 2, DFF: 12, MaxSeq: 6, Tie: true, Share: ShareNone, Groups: 1, Arch: ArchEncoder}
	m := testModel(t, c, 3)
	rng := rand.New(rand.NewPCG(1, 1))
	tok := randTokens(rng, 6, c.Vocab)
	run := func() []float32 {
		if _, err := m.ForwardMLM(MLMBatch{B: 1, T: 6, Tokens: tok, Lengths: []int32{4}, Positions: []int32{0, 1, 2, 3}}); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), m.Logits()...)
	}
	a := run()
	tok[4], tok[5] = (tok[4]+1)%10, (tok[5]+3)%10
	b := run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d changed with the padding: %g vs %g", i, a[i], b[i])
		}
	}
	// Without the mask the padding is seen.
	if _, err := m.ForwardMLM(MLMBatch{B: 1, T: 6, Tokens: tok, Positions: []int32{0, 1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if m.Logits()[0] == a[0] {
		t.Error("unmasked run gave the masked logits: the test does not exercise the mask")
	}
}

func TestConfigEncoderValidate(t *testing.T) {
	base := Config{Vocab: 10, DModel: 8, Layers: 4, Heads: 2, DFF: 16, MaxSeq: 8, Tie: true, Share: ShareAll, Groups: 2, Arch: ArchEncoder, EmbedDim: 4}
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"embed-dim (9) cannot be larger than d-model (8)": func(c *Config) { c.EmbedDim = 9 },
		"embed-dim must not be negative":                  func(c *Config) { c.EmbedDim = -1 },
		"groups (3) must divide layers (4)":               func(c *Config) { c.Groups = 3 },
		"unknown architecture \"rnn\"":                    func(c *Config) { c.Arch = "rnn" },
		"token types (type-vocab 2) apply to encoders":    func(c *Config) { c.Arch, c.TypeVocab = ArchDecoder, 2 },
		"type-vocab must not be negative":                 func(c *Config) { c.TypeVocab = -2 },
		"an encoder needs a vocab of at least 2":          func(c *Config) { c.Vocab = 1 },
		"unknown activation \"swish\"":                    func(c *Config) { c.Activation = "swish" },
		"layer-norm epsilon must be in [0, 1)":            func(c *Config) { c.LayerNormEps = -1 },
	}
	for want, mod := range bad {
		c := base
		mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error containing %q, got %v", want, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("New accepted %s", c.JSON())
		}
	}
	// A factorized decoder is fine, E = d is no factorization.
	d := Tiny()
	d.EmbedDim = 32
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	d.EmbedDim = d.DModel
	m, err := New(d)
	if err != nil || m.Config.EmbedDim != 0 || m.Config.UniqueParams() != Tiny().UniqueParams() {
		t.Errorf("E = d: %v, canonical embed_dim %d", err, m.Config.EmbedDim)
	}
}

// Decoder configs serialise exactly as before the encoder fields existed, and
// encoder configs round-trip.
func TestConfigJSON(t *testing.T) {
	if got, want := Tiny().JSON(), `{"vocab":256,"d_model":128,"layers":4,"heads":4,"d_ff":512,"max_seq":128,"tie":true,"share":"none","groups":1}`; got != want {
		t.Errorf("decoder JSON\n got %s\nwant %s", got, want)
	}
	c := Config{Vocab: 257, DModel: 64, Layers: 4, Heads: 4, DFF: 256, MaxSeq: 64, Tie: true, Share: ShareAll, Groups: 2, Arch: ArchEncoder, EmbedDim: 16}
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(m.Config.JSON())
	if err != nil || back != m.Config || back.TypeVocab != DefaultTypeVocab {
		t.Errorf("round trip: %+v, %v (from %s)", back, err, m.Config.JSON())
	}
	if _, err := ParseConfig(`{"vocab":10,"d_model":8,"layers":1,"heads":2,"d_ff":8,"max_seq":4,"arch":"encoder","embed_dim":16}`); err == nil || !strings.Contains(err.Error(), "embed-dim (16) cannot be larger") {
		t.Errorf("embed_dim > d_model: %v", err)
	}
}

// Encoder layout: hand-derived counts, and what is stored once.
func TestEncoderParamCounts(t *testing.T) {
	for _, c := range encoderConfigs() {
		d, f, L, K, S, E := int64(c.DModel), int64(c.DFF), int64(c.Layers), int64(c.Vocab), int64(c.MaxSeq), int64(c.E())
		attn := 4*d*d + 4*d + 2*d
		ffn := 2*d*f + f + d + 2*d
		emb := K*E + S*E + int64(c.Types())*E + 2*E
		if c.Factorized() {
			emb += E*d + d
		}
		head := d*E + E + 2*E + K
		na, nf := int64(c.AttnBlocks()), int64(c.FFNBlocks())
		unique := emb + na*attn + nf*ffn + head
		if !c.Tie {
			unique += K * E
		}
		applied := emb + L*(attn+ffn) + head + K*E
		if got := c.UniqueParams(); got != unique {
			t.Errorf("%s: unique %d, want %d", c.JSON(), got, unique)
		}
		if got := c.AppliedParams(); got != applied {
			t.Errorf("%s: applied %d, want %d", c.JSON(), got, applied)
		}
	}
}

func TestForwardMLMErrors(t *testing.T) {
	c := Config{Vocab: 10, DModel: 8, Layers: 1, Heads: 2, DFF: 16, MaxSeq: 4, Tie: true, Share: ShareNone, Groups: 1, Arch: ArchEncoder}
	m, _ := New(c)
	tok := []int32{1, 2, 3, 4}
	cases := []struct {
		x    MLMBatch
		want string
	}{
		{MLMBatch{B: 1, T: 5, Tokens: []int32{1, 2, 3, 4, 5}}, "exceeds the model's context"},
		{MLMBatch{B: 1, T: 4, Tokens: []int32{1, 2}}, "want 1×4 = 4 tokens"},
		{MLMBatch{B: 1, T: 4, Tokens: []int32{1, 2, 3, 10}}, "token[3] = 10 is outside the vocabulary"},
		{MLMBatch{B: 1, T: 4, Tokens: tok, Types: []int32{0, 0, 2, 0}}, "type[2] = 2 is outside the token types [0, 2)"},
		{MLMBatch{B: 1, T: 4, Tokens: tok, Lengths: []int32{0}}, "length[0] = 0 is outside [1, 4]"},
		{MLMBatch{B: 1, T: 4, Tokens: tok, Lengths: []int32{2}, Positions: []int32{3}}, "position[0] = 3 is padding"},
		{MLMBatch{B: 1, T: 4, Tokens: tok, Positions: []int32{4}}, "position[0] = 4 is outside [0, 4)"},
		{MLMBatch{B: 1, T: 4, Tokens: tok, Positions: []int32{}}, "no positions to predict"},
		{MLMBatch{B: 1, T: 4, Tokens: tok, Positions: []int32{1}, Targets: []int32{1, 2}}, "one target per predicted position"},
		{MLMBatch{B: 0, T: 4}, "must be positive"},
	}
	for _, cs := range cases {
		_, err := m.ForwardMLM(cs.x)
		if err == nil || !strings.Contains(err.Error(), cs.want) {
			t.Errorf("want error %q, got %v", cs.want, err)
		}
	}
	if _, err := m.Forward(tok, tok, 1, 4); err == nil || !strings.Contains(err.Error(), "encoder") {
		t.Errorf("decoder Forward on an encoder: %v", err)
	}
	if _, err := m.NewDecoder().Step(1); err == nil || !strings.Contains(err.Error(), "cannot generate") {
		t.Errorf("decode on an encoder: %v", err)
	}
	d, _ := New(Tiny())
	if _, err := d.ForwardMLM(MLMBatch{B: 1, T: 4, Tokens: tok}); err == nil || !strings.Contains(err.Error(), "decoder") {
		t.Errorf("ForwardMLM on a decoder: %v", err)
	}
	// Logits only, then Backward refuses.
	r, err := m.ForwardMLM(MLMBatch{B: 1, T: 4, Tokens: tok})
	if err != nil || r.Count != 4 || len(m.Logits()) != 4*c.Vocab {
		t.Fatalf("logits only: %+v %v", r, err)
	}
	if err := m.Backward(); err == nil {
		t.Error("Backward without targets: want error")
	}
}

// The KV-cache decoder of a factorized decoder reproduces its forward pass.
func TestFactorizedDecoderMatchesForward(t *testing.T) {
	for name, c := range factorizedDecoderConfigs() {
		checkDecoderMatchesForward(t, name, c)
	}
}

func TestMaskedPerSeq(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 1, 3: 1, 6: 1, 9: 1, 10: 2, 16: 2, 17: 3, 20: 3, 64: 10, 128: 19, 512: 77} {
		if got := MaskedPerSeq(n); got != want {
			t.Errorf("MaskedPerSeq(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestMaskStatistics: exact counts per sequence, positions in range and
// sorted, targets the original tokens, [MASK] never a target, 80/10/10
// corruption within tolerance, and determinism per rng stream.
func TestMaskStatistics(t *testing.T) {
	const V, b, T = 257, 16, 64 // byte tokenizer + [MASK]
	mk := &Masker{MaskID: V - 1, RandomVocab: V - 1}
	rng := rand.New(rand.NewPCG(1, 2))
	var chosen, masked, random, kept, changedRandom int
	for step := 0; step < 300; step++ {
		orig := randTokens(rng, b*T, V-1)
		// sprinkle [MASK] ids already in the input (never maskable), but
		// not at the start of a sequence, so every one has a maskable token
		for i := 1; i < b*T; i += 37 {
			if i%T != 0 {
				orig[i] = V - 1
			}
		}
		tok := append([]int32(nil), orig...)
		lens := make([]int32, b)
		for r := range lens {
			lens[r] = int32(1 + rng.IntN(T))
		}
		mrng := rand.New(rand.NewPCG(7, uint64(step)))
		pos, tgt, err := mk.Mask(mrng, tok, b, T, lens, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// determinism: the same stream gives the same result
		tok2 := append([]int32(nil), orig...)
		pos2, tgt2, _ := mk.Mask(rand.New(rand.NewPCG(7, uint64(step))), tok2, b, T, lens, nil, nil)
		if !equal32(pos, pos2) || !equal32(tgt, tgt2) || !equal32(tok, tok2) {
			t.Fatal("masking is not deterministic for a given stream")
		}
		perSeq := make([]int, b)
		last := int32(-1)
		for i, p := range pos {
			r := int(p) / T
			if int(p)%T >= int(lens[r]) {
				t.Fatalf("position %d is padding", p)
			}
			if p <= last {
				t.Fatalf("positions not increasing: %v", pos)
			}
			last = p
			perSeq[r]++
			if tgt[i] != orig[p] || tgt[i] == V-1 {
				t.Fatalf("target %d at %d: original %d", tgt[i], p, orig[p])
			}
			switch {
			case tok[p] == V-1:
				masked++
			case tok[p] == orig[p]:
				kept++
			default:
				random++
				changedRandom++
			}
			chosen++
		}
		for r := 0; r < b; r++ {
			n := 0
			for i := 0; i < int(lens[r]); i++ {
				if orig[r*T+i] != V-1 {
					n++
				}
			}
			if perSeq[r] != MaskedPerSeq(n) {
				t.Fatalf("sequence %d with %d maskable tokens: %d chosen, want %d", r, n, perSeq[r], MaskedPerSeq(n))
			}
		}
		// positions not chosen are untouched
		isChosen := map[int32]bool{}
		for _, p := range pos {
			isChosen[p] = true
		}
		for i := range tok {
			if !isChosen[int32(i)] && tok[i] != orig[i] {
				t.Fatalf("unchosen position %d changed", i)
			}
		}
	}
	// A random replacement equals the original with probability 1/256, so
	// "kept" is 10% + 10%/256.
	fm, fr, fk := float64(masked)/float64(chosen), float64(random)/float64(chosen), float64(kept)/float64(chosen)
	if math.Abs(fm-0.8) > 0.02 || math.Abs(fr-0.1*255/256) > 0.015 || math.Abs(fk-0.1-0.1/256) > 0.015 {
		t.Errorf("corruption over %d positions: mask %.3f random %.3f kept %.3f, want 0.8/0.1/0.1", chosen, fm, fr, fk)
	}
	if chosen < 20000 {
		t.Errorf("only %d positions chosen: the statistics are weak", chosen)
	}
}

func TestMaskErrors(t *testing.T) {
	mk := &Masker{MaskID: 9, RandomVocab: 9}
	rng := rand.New(rand.NewPCG(1, 1))
	if _, _, err := mk.Mask(rng, []int32{1, 9, 9, 9}, 2, 2, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "sequence 1 has no maskable tokens") {
		t.Errorf("all-[MASK] sequence: %v", err)
	}
	if _, _, err := mk.Mask(rng, []int32{1, 2, 3, 4}, 2, 2, []int32{2, 0}, nil, nil); err == nil || !strings.Contains(err.Error(), "no maskable tokens") {
		t.Errorf("empty sequence: %v", err)
	}
	if _, _, err := mk.Mask(rng, []int32{1, 2, 3}, 2, 2, nil, nil, nil); err == nil {
		t.Error("wrong token count: no error")
	}
	if _, _, err := (&Masker{MaskID: 0}).Mask(rng, []int32{1}, 1, 1, nil, nil, nil); err == nil {
		t.Error("RandomVocab 0: no error")
	}
}

func equal32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
