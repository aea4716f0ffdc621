package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/tformer/tformer/model"
)

// modelFlags are the flags that define a model's shape, family and sharing,
// declared once here and shared by train, cost and profile so that the three
// commands spell and document them the same way.
type modelFlags struct {
	fs    *pflag.FlagSet
	c     model.Config // the flags' values
	noTie bool
	share string
	arch  string
	// family choices
	norm, positions, mlp, bias, ropeScaling string
	normOffset, embedScale                  bool
	ropeTheta, normEps                      float64
	// encoder–decoder choices (--arch encdec)
	encLayers                      int
	postLN, shareStacks, embedNorm bool
	tying, activation              string
}

// modelFlagNames are the names of every model flag (train --init refuses
// them: the model file fixes the shape).
var modelFlagNames = []string{"vocab", "d-model", "layers", "heads", "d-ff", "max-seq", "tie", "no-tie", "share", "groups", "arch", "embed-dim", "type-vocab",
	"norm", "norm-eps", "norm-offset", "positions", "rope-theta", "rope-scaling", "mlp", "kv-heads", "head-dim", "bias", "embed-scale",
	"sliding-window", "sliding-every", "attn-softcap", "final-softcap", "query-scalar", "post-norms", "enc-layers", "post-ln", "tying", "share-stacks", "activation", "embed-norm"}

// encdecFlagNames are the model flags that only an encoder-decoder takes.
var encdecFlagNames = []string{"enc-layers", "post-ln", "tying", "share-stacks", "activation", "embed-norm"}

// addModelFlags declares the model flags on fs with def's values as the
// defaults (d-ff 0 means 4·d-model). withVocab adds --vocab (train takes the
// vocabulary from its tokenizer instead).
func addModelFlags(fs *pflag.FlagSet, def model.Config, withVocab bool) *modelFlags {
	mf := &modelFlags{fs: fs}
	if withVocab {
		fs.IntVar(&mf.c.Vocab, "vocab", def.Vocab, "vocabulary size K")
	}
	fs.IntVar(&mf.c.DModel, "d-model", def.DModel, "model width d")
	fs.IntVar(&mf.c.Layers, "layers", def.Layers, "number of Transformer layers")
	fs.IntVar(&mf.c.Heads, "heads", def.Heads, "attention heads (must divide --d-model)")
	fs.IntVar(&mf.c.DFF, "d-ff", 0, "FFN inner width (0: 4·d-model)")
	fs.IntVar(&mf.c.MaxSeq, "max-seq", def.MaxSeq, "context length (learned positions)")
	fs.BoolVar(&mf.c.Tie, "tie", true, "tie the output projection (or masked-LM decoder) to the token embedding (logits = h·Eᵀ)")
	fs.BoolVar(&mf.noTie, "no-tie", false, "use a separate output matrix (same as --tie=false)")
	fs.StringVar(&mf.share, "share", "none", "cross-layer sharing: none, all (ALBERT), attention or ffn")
	fs.IntVar(&mf.c.Groups, "groups", 1, "split layers into G contiguous groups that each share one set of weights")
	fs.StringVar(&mf.arch, "arch", "decoder", "architecture: decoder (GPT-2 style, next-token loss), encoder (BERT/ALBERT style, masked-LM), encdec (encoder-decoder, Vaswani et al.: source -> target), or a decoder family: gpt2, llama, mistral (RMSNorm, rotary, SwiGLU, no biases), qwen2 (llama with q/k/v biases), gemma (1+w RMSNorm, GeGLU, √d embedding scale), gemma2 (gemma with post-norms, soft-caps 50/30 and --sliding-window on every other layer); the family flags below override its choices")
	fs.StringVar(&mf.norm, "norm", "layernorm", "norm: layernorm or rmsnorm")
	fs.Float64Var(&mf.normEps, "norm-eps", 0, "every norm's epsilon (0: 1e-5)")
	fs.BoolVar(&mf.normOffset, "norm-offset", false, "RMSNorm gain 1 + w (Gemma)")
	fs.StringVar(&mf.positions, "positions", "learned", "positions: learned (a table), rope (rotary, HF half-split) or sinusoidal (--arch encdec, its default)")
	fs.Float64Var(&mf.ropeTheta, "rope-theta", 0, "rotary base θ (0: 10000)")
	fs.StringVar(&mf.ropeScaling, "rope-scaling", "", "Llama 3 rotary rescaling as factor,low_freq_factor,high_freq_factor,original_context (e.g. 32,1,4,8192)")
	fs.StringVar(&mf.mlp, "mlp", "gelu", "FFN: gelu (up, GELU, down), swiglu or geglu (gate, up, act(gate)·up, down)")
	fs.IntVar(&mf.c.KVHeads, "kv-heads", 0, "key/value heads: 0 = --heads (MHA), 1 (MQA) or a divisor of --heads (GQA; --arch llama etc.: heads/2)")
	fs.IntVar(&mf.c.DHead, "head-dim", 0, "width of each head (0: d-model/heads)")
	fs.StringVar(&mf.bias, "bias", "all", "biases of the linear layers: all, none or qkv (Q, K, V only)")
	fs.BoolVar(&mf.embedScale, "embed-scale", false, "multiply the token embedding by √d-model (Gemma)")
	fs.IntVar(&mf.c.SlidingWindow, "sliding-window", 0, "decoders: sliding-window attention of W keys, a query sees itself and the W−1 positions before it (Mistral; 0: none)")
	fs.IntVar(&mf.c.SlidingEvery, "sliding-every", 0, "with --sliding-window: window the layers 0, k, 2k, ... only (Gemma 2: 2, local and global layers alternating; 0: every layer)")
	fs.Float64Var(&mf.c.AttnSoftcap, "attn-softcap", 0, "decoders: soft-cap the attention scores as c·tanh(s/c) before the softmax (Gemma 2: 50; 0: none)")
	fs.Float64Var(&mf.c.FinalSoftcap, "final-softcap", 0, "decoders: soft-cap the output logits as c·tanh(z/c) (Gemma 2: 30; 0: none)")
	fs.Float64Var(&mf.c.QueryScalar, "query-scalar", 0, "decoders: scale the attention scores by query-scalar^-1/2 (Gemma 2's query_pre_attn_scalar; 0: head-dim)")
	fs.BoolVar(&mf.c.PostNorms, "post-norms", false, "rmsnorm decoders: a norm after each sub-layer too, x + norm(f(norm(x))) (Gemma 2)")
	fs.IntVar(&mf.c.EmbedDim, "embed-dim", 0, "factorized embedding width E < d-model (ALBERT): K×E tables, an E->d projection, output through E (0: d-model)")
	fs.IntVar(&mf.c.TypeVocab, "type-vocab", 0, "encoder token types (0: 2, as BERT and ALBERT; the built-in data uses type 0)")
	fs.IntVar(&mf.encLayers, "enc-layers", 0, "--arch encdec: encoder layers (0: as --layers, the decoder's; default 2 and 2)")
	fs.BoolVar(&mf.postLN, "post-ln", true, "--arch encdec: post-LN blocks, x = LN(x + f(x)) (the Transformer, BART); false: pre-LN with a final norm per stack")
	fs.StringVar(&mf.tying, "tying", "all", "--arch encdec: three-way tying: all (source = target embedding = output matrix), decoder (target = output, own source table) or none")
	fs.BoolVar(&mf.shareStacks, "share-stacks", false, "--arch encdec: the decoder's self-attention and FFN blocks are the encoder's (same stored block count needed)")
	fs.StringVar(&mf.activation, "activation", "relu", "--arch encdec: FFN activation relu (the Transformer), gelu_tanh or gelu_erf (BART)")
	fs.BoolVar(&mf.embedNorm, "embed-norm", false, "--arch encdec: a LayerNorm after each stack's embedding (BART's layernorm_embedding)")
	return mf
}

// checkArchFlags refuses encoder-decoder flags on another architecture
// and decoder-only tying flags on an encoder-decoder.
func (mf *modelFlags) checkArchFlags(encdec bool) error {
	if !encdec {
		for _, f := range encdecFlagNames {
			if mf.changed(f) {
				return fmt.Errorf("--%s applies to encoder-decoders (--arch encdec) only", f)
			}
		}
		if mf.changed("positions") && mf.positions == string(model.SinusoidalPositions) {
			return errors.New("--positions sinusoidal applies to encoder-decoders (--arch encdec) only")
		}
		return nil
	}
	for _, f := range []string{"tie", "no-tie"} {
		if mf.changed(f) {
			return fmt.Errorf("--%s: an encoder-decoder ties three ways: use --tying all, decoder or none", f)
		}
	}
	for _, f := range []string{"embed-dim", "kv-heads", "type-vocab", "rope-theta", "rope-scaling", "norm-offset", "sliding-window", "sliding-every", "attn-softcap", "final-softcap", "query-scalar", "post-norms"} {
		if mf.changed(f) {
			return fmt.Errorf("--%s does not apply to an encoder-decoder (--arch encdec)", f)
		}
	}
	return nil
}

// encdecConfig builds an encoder-decoder config: model.TinyEncDec (the
// paper's choices at toy size) with vocab ids and every model flag given
// applied over it. --enc-layers defaults to --layers when only that is given.
func (mf *modelFlags) encdecConfig(vocab int) (model.Config, error) {
	if err := mf.checkArchFlags(true); err != nil {
		return model.Config{}, err
	}
	c := model.TinyEncDec()
	c.Vocab = vocab
	if err := mf.override(&c); err != nil {
		return c, err
	}
	switch {
	case mf.changed("enc-layers"):
		c.EncLayers = mf.encLayers
	case mf.changed("layers"):
		c.EncLayers = c.Layers
	}
	if mf.changed("post-ln") {
		c.PostLN = mf.postLN
	}
	if mf.changed("tying") {
		t, err := model.ParseTying(mf.tying)
		if err != nil {
			return c, fmt.Errorf("--tying: %w", err)
		}
		c.Tying = t
	}
	c.Tie = c.Tying != model.TieNone
	if mf.changed("share-stacks") {
		c.ShareStacks = mf.shareStacks
	}
	if mf.changed("embed-norm") {
		c.EmbedNorm = mf.embedNorm
	}
	if mf.changed("activation") {
		switch a := model.Activation(mf.activation); a {
		case model.ReLU, model.GELUTanh, model.GELUErf:
			c.Activation = a
		default:
			return c, fmt.Errorf("--activation %q: want relu, gelu_tanh or gelu_erf", mf.activation)
		}
	}
	c = c.Canonical()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("the encoder-decoder flags: %w", err)
	}
	return c, nil
}

// family returns the --arch value as an architecture and a decoder family
// ("" for plain decoder/encoder).
func (mf *modelFlags) family() (model.Arch, string, error) {
	switch mf.arch {
	case "gpt2", "llama", "mistral", "qwen2", "gemma", "gemma2":
		return model.ArchDecoder, mf.arch, nil
	}
	a, err := model.ParseArch(mf.arch)
	if err != nil {
		return "", "", fmt.Errorf("--arch: unknown architecture %q (want decoder, encoder, encdec, gpt2, llama, mistral, qwen2, gemma or gemma2)", mf.arch)
	}
	return a, "", nil
}

// applyFamily makes the --arch family's choices on c (when it names one)
// and then applies every family flag the user gave.
func (mf *modelFlags) applyFamily(c *model.Config) error {
	_, fam, err := mf.family()
	if err != nil {
		return err
	}
	if fam != "" && mf.changed("arch") {
		if *c, err = c.Family(fam); err != nil {
			return fmt.Errorf("--arch: %w", err)
		}
		if fam != "gpt2" && !mf.changed("kv-heads") && c.KVHeads == 0 && c.Heads%2 == 0 {
			c.KVHeads = c.Heads / 2 // grouped-query by default
		}
	}
	str := func(name string, dst *string, v string) {
		if mf.changed(name) {
			*dst = v
		}
	}
	var norm, pos, mlp, bias string
	str("norm", &norm, mf.norm)
	str("positions", &pos, mf.positions)
	str("mlp", &mlp, mf.mlp)
	str("bias", &bias, mf.bias)
	if norm != "" {
		c.Norm = model.Norm(norm)
	}
	if pos != "" {
		c.Positions = model.Positions(pos)
	}
	if mlp != "" {
		c.MLP = model.MLP(mlp)
	}
	if bias != "" {
		c.Bias = model.Bias(bias)
	}
	if mf.changed("kv-heads") {
		c.KVHeads = mf.c.KVHeads
	}
	if mf.changed("head-dim") {
		c.DHead = mf.c.DHead
	}
	if mf.changed("norm-offset") {
		c.NormOffset = mf.normOffset
	}
	if mf.changed("embed-scale") {
		c.EmbedScale = mf.embedScale
	}
	if mf.changed("norm-eps") {
		c.LayerNormEps = mf.normEps
	}
	if mf.changed("sliding-window") {
		c.SlidingWindow = mf.c.SlidingWindow
	}
	if mf.changed("sliding-every") {
		c.SlidingEvery = mf.c.SlidingEvery
	}
	if mf.changed("attn-softcap") {
		c.AttnSoftcap = mf.c.AttnSoftcap
	}
	if mf.changed("final-softcap") {
		c.FinalSoftcap = mf.c.FinalSoftcap
	}
	if mf.changed("query-scalar") {
		c.QueryScalar = mf.c.QueryScalar
	}
	if mf.changed("post-norms") {
		c.PostNorms = mf.c.PostNorms
	}
	if mf.changed("rope-theta") {
		c.RopeTheta = mf.ropeTheta
	}
	if mf.changed("rope-scaling") {
		var r model.RopeScaling
		var orig float64
		if n, err := fmt.Sscanf(mf.ropeScaling, "%g,%g,%g,%g", &r.Factor, &r.LowFreqFactor, &r.HighFreqFactor, &orig); err != nil || n != 4 || orig != float64(int(orig)) {
			return fmt.Errorf("--rope-scaling %q: want factor,low_freq_factor,high_freq_factor,original_context (e.g. 32,1,4,8192)", mf.ropeScaling)
		}
		r.OrigContext = int(orig)
		c.RopeScaling = &r
	}
	if mf.changed("sliding-every") && c.SlidingWindow == 0 {
		return fmt.Errorf("--sliding-every %d needs --sliding-window (the window's size)", c.SlidingEvery)
	}
	return nil
}

// changed reports whether the user gave flag name.
// A modelFlags built in code (no flag set) has no flag given.
func (mf *modelFlags) changed(name string) bool { return mf.fs != nil && mf.fs.Changed(name) }

// override sets on c every model flag the user gave, leaving the rest of c
// (a preset's or a config file's values) alone. A new --d-model without
// --d-ff resets d-ff to 4·d-model; a zero d-ff becomes 4·d-model. --arch is
// left to the caller (cost and the engine name architectures differently).
func (mf *modelFlags) override(c *model.Config) error {
	if err := mf.checkArchFlags(c.IsEncDec()); err != nil {
		return err
	}
	set := func(name string, dst *int, v int) {
		if mf.changed(name) {
			*dst = v
		}
	}
	if mf.fs.Lookup("vocab") != nil {
		set("vocab", &c.Vocab, mf.c.Vocab)
	}
	set("d-model", &c.DModel, mf.c.DModel)
	set("layers", &c.Layers, mf.c.Layers)
	set("heads", &c.Heads, mf.c.Heads)
	set("max-seq", &c.MaxSeq, mf.c.MaxSeq)
	set("groups", &c.Groups, mf.c.Groups)
	set("embed-dim", &c.EmbedDim, mf.c.EmbedDim)
	set("type-vocab", &c.TypeVocab, mf.c.TypeVocab)
	if mf.changed("d-ff") {
		c.DFF = mf.c.DFF
	} else if mf.changed("d-model") {
		c.DFF = 0
	}
	if c.DFF == 0 {
		c.DFF = 4 * c.DModel
	}
	if mf.changed("tie") {
		c.Tie = mf.c.Tie
	}
	if mf.noTie {
		c.Tie = false
	}
	if mf.changed("share") {
		sh, err := model.ParseShare(mf.share)
		if err != nil {
			return fmt.Errorf("--share: %w", err)
		}
		c.Share = sh
	}
	return mf.applyFamily(c)
}

// config builds the model config of `tformer train` for a tokenizer of vocab
// ids from every flag's value. An encoder gets one more id, [MASK] (= vocab).
func (mf *modelFlags) config(vocab int) (model.Config, error) {
	c := mf.c
	c.KVHeads, c.DHead = 0, 0 // applyFamily sets them when given
	arch, fam, err := mf.family()
	if err != nil {
		return c, err
	}
	if arch == model.ArchEncDec {
		return mf.encdecConfig(vocab)
	}
	if err := mf.checkArchFlags(false); err != nil {
		return c, err
	}
	c.Arch = arch
	if fam != "" && fam != "gpt2" && !mf.changed("d-ff") {
		c.DFF = (8*c.DModel/3 + 31) / 32 * 32 // a gated FFN's ≈ 8/3·d, a multiple of 32 (352 for d 128)
	}
	if err := mf.applyFamily(&c); err != nil {
		return c, err
	}
	c.Vocab = vocab
	if arch == model.ArchEncoder {
		c.Vocab = vocab + 1
	}
	if mf.noTie {
		c.Tie = false
	}
	if c.DFF == 0 {
		c.DFF = 4 * c.DModel
	}
	sh, err := model.ParseShare(mf.share)
	if err != nil {
		return c, err
	}
	c.Share = sh
	return c, c.Validate()
}
