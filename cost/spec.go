package cost

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/model"
)

// Arch is a model's architecture family.
type Arch string

// The architectures the cost model knows.
const (
	// Decoder is tformer's engine: GPT-2 style, pre-LN, causal, learned
	// positions, a final LayerNorm, logits through the (tied) embedding.
	Decoder Arch = "decoder"
	// Encoder is BERT / ALBERT: token, position and type embeddings with a
	// LayerNorm, ALBERT's optional E->d mapping, post-LN bidirectional layers,
	// an optional pooler and masked-LM head.
	Encoder Arch = "encoder"
)

// Spec describes a model for the cost model. Config holds the shape shared
// by both architectures (its Tie means the output or masked-LM decoder reuses
// the token embedding; Share and Groups are the cross-layer sharing); the
// other fields add what the engine's model.Config cannot express (a pooler,
// an encoder without an MLM head, an MLM head over every position). ForModel
// builds the Spec of an engine model.
type Spec struct {
	Name   string       // preset name or a description (optional)
	Arch   Arch         // Decoder or Encoder
	Config model.Config // vocab, d_model, layers, heads, d_ff, max_seq, tie, share, groups (and embed_dim)

	// EmbedDim is the factorized embedding width E (0: Config.EmbedDim, and
	// d_model when that is 0 too). With E < d_model a decoder has the E -> d
	// projection and the output head through E, as the engine builds it.
	EmbedDim  int
	TypeVocab int  // token-type (segment) embeddings, 2 in BERT and ALBERT; encoders only
	Pooler    bool // pooler dense d->d + tanh on the first token; encoders only
	MLMHead   bool // masked-LM head: dense d->E + GELU + LayerNorm(E), logits through a K x E matrix + bias; encoders only
	// MLMMasked runs the masked-LM head and loss on the predicted positions
	// only — B·model.MaskedPerSeq(n) rows, as tformer's engine trains — rather
	// than on every position (Hugging Face's *ForMaskedLM). Encoders with an
	// MLM head only.
	MLMMasked bool
}

// ForModel returns the Spec of the model the engine builds from c: a
// decoder, or an encoder with token types, an MLM head on the masked
// positions and no pooler. Its FLOPs and memory equal what the engine counts
// and allocates.
func ForModel(c model.Config) Spec {
	c = c.Canonical()
	s := Spec{Arch: Decoder, Config: c, EmbedDim: c.E()}
	if c.IsEncoder() {
		s.Arch, s.TypeVocab, s.MLMHead, s.MLMMasked = Encoder, c.Types(), true, true
	}
	return s
}

// E is the embedding width: EmbedDim, else Config.EmbedDim, else d_model.
func (s Spec) E() int {
	if s.EmbedDim != 0 {
		return s.EmbedDim
	}
	return s.Config.E()
}

// factorized reports whether the embedding is narrower than the model.
func (s Spec) factorized() bool { return s.E() != s.Config.DModel }

// headThroughE reports whether the output goes through the dense, GELU and
// LayerNorm head with an output bias: an encoder's MLM head, or a
// factorized decoder's output.
func (s Spec) headThroughE() bool {
	return s.Arch == Encoder && s.MLMHead || s.Arch == Decoder && s.factorized()
}

// hasOutput reports whether the model computes logits and a loss.
func (s Spec) hasOutput() bool { return s.Arch == Decoder || s.MLMHead }

// headRows is the number of rows the output head and the loss run on for a
// batch of batch sequences of seq tokens.
func (s Spec) headRows(seq, batch int) int64 {
	if s.Arch == Encoder && s.MLMMasked {
		return int64(batch) * int64(model.MaskedPerSeq(seq))
	}
	return int64(batch) * int64(seq)
}

// Validate reports the first problem with s.
func (s Spec) Validate() error {
	if s.Arch != Decoder && s.Arch != Encoder {
		return fmt.Errorf("invalid model: unknown architecture %q (want decoder or encoder)", s.Arch)
	}
	if s.EmbedDim < 0 || s.TypeVocab < 0 {
		return errors.New("invalid model: embed-dim and type-vocab must not be negative")
	}
	c := s.Config
	if c.Arch != "" && (c.Arch == model.ArchEncoder) != (s.Arch == Encoder) {
		return fmt.Errorf("invalid model: the spec says %s but its config says %s (build encoder specs with cost.ForModel)", s.Arch, c.Arch)
	}
	if s.EmbedDim != 0 && c.EmbedDim != 0 && s.EmbedDim != c.EmbedDim {
		return fmt.Errorf("invalid model: embed-dim %d differs from the config's %d", s.EmbedDim, c.EmbedDim)
	}
	// Validate the shape as the engine would (token types are checked here).
	c.Arch, c.EmbedDim, c.TypeVocab = "", s.E(), 0
	if s.Arch == Encoder {
		c.Arch = model.ArchEncoder
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if s.Arch == Decoder {
		if s.TypeVocab != 0 || s.Pooler || s.MLMHead {
			return errors.New("invalid model: token types, pooler and masked-LM head apply to encoders only")
		}
	}
	if s.MLMMasked && !(s.Arch == Encoder && s.MLMHead) {
		return errors.New("invalid model: a masked-LM head on the masked positions needs an encoder with an MLM head")
	}
	if int64(s.Config.Vocab)*int64(s.E()) > 1<<40 {
		return errors.New("invalid model: tensor sizes are implausibly large")
	}
	return nil
}

// String describes the spec on one line.
func (s Spec) String() string {
	c := s.Config
	var b strings.Builder
	if s.Name != "" {
		fmt.Fprintf(&b, "%s: ", s.Name)
	}
	fmt.Fprintf(&b, "%s, vocab=%d d=%d layers=%d heads=%d d_ff=%d max_seq=%d tie=%v share=%s groups=%d",
		s.Arch, c.Vocab, c.DModel, c.Layers, c.Heads, c.DFF, c.MaxSeq, c.Tie, c.Share, c.Groups)
	b.WriteString(c.FamilyString())
	if c.ErfGELU() {
		fmt.Fprintf(&b, " gelu=erf")
	}
	if s.Arch == Encoder {
		fmt.Fprintf(&b, " E=%d types=%d pooler=%v mlm_head=%v", s.E(), s.TypeVocab, s.Pooler, s.MLMHead)
		if s.MLMMasked {
			fmt.Fprintf(&b, " (on the masked positions)")
		}
	} else if s.factorized() {
		fmt.Fprintf(&b, " E=%d", s.E())
	}
	return b.String()
}

func decoder(name string, vocab, d, layers, heads, ff, seq int) Spec {
	return Spec{Name: name, Arch: Decoder, Config: model.Config{Vocab: vocab, DModel: d, Layers: layers, Heads: heads,
		DFF: ff, MaxSeq: seq, Tie: true, Share: model.ShareNone, Groups: 1}}
}

func bert(name string, d, layers, heads, ff int) Spec {
	return Spec{Name: name, Arch: Encoder, Config: model.Config{Vocab: 30522, DModel: d, Layers: layers, Heads: heads,
		DFF: ff, MaxSeq: 512, Tie: true, Share: model.ShareNone, Groups: 1, Activation: model.GELUErf}, TypeVocab: 2, Pooler: true}
}

func albert(name string, d, layers, heads, ff int) Spec {
	return Spec{Name: name, Arch: Encoder, Config: model.Config{Vocab: 30000, DModel: d, Layers: layers, Heads: heads,
		DFF: ff, MaxSeq: 512, Tie: true, Share: model.ShareAll, Groups: 1}, EmbedDim: 128, TypeVocab: 2, Pooler: true}
}

// llamaLike is a Llama-family decoder preset from its config.json values:
// vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, head_dim, intermediate_size, max_position_embeddings,
// tie_word_embeddings, rope_theta.
func llamaLike(name, family string, vocab, d, layers, heads, kv, dh, ff, ctx int, tie bool, theta float64) Spec {
	c := model.Config{Vocab: vocab, DModel: d, Layers: layers, Heads: heads, DFF: ff, MaxSeq: ctx, Tie: tie, Share: model.ShareNone, Groups: 1}
	c, err := c.Family(family)
	if err != nil {
		panic(err)
	}
	c.KVHeads, c.RopeTheta = kv, theta
	if dh*heads != d {
		c.DHead = dh
	}
	return Spec{Name: name, Arch: Decoder, Config: c}
}

// llama3Scaling is Llama 3.1/3.2's rope_scaling.
func llama3Scaling(s Spec, factor float64) Spec {
	s.Config.RopeScaling = &model.RopeScaling{Factor: factor, LowFreqFactor: 1, HighFreqFactor: 4, OrigContext: 8192}
	return s
}

func withWindow(s Spec, w, every int) Spec {
	s.Config.SlidingWindow, s.Config.SlidingEvery = w, every
	return s
}

func gemma2(s Spec) Spec {
	s = withWindow(s, 4096, 2)
	s.Config.AttnSoftcap, s.Config.FinalSoftcap, s.Config.PostNorms = 50, 30, true
	return s
}

var presets = []struct {
	name, about string
	spec        Spec
}{
	{"gpt2", "GPT-2 small, 124M (tied; vocab 50257, context 1024)", decoder("gpt2", 50257, 768, 12, 12, 3072, 1024)},
	{"gpt2-medium", "GPT-2 medium, 355M", decoder("gpt2-medium", 50257, 1024, 24, 16, 4096, 1024)},
	{"gpt2-large", "GPT-2 large, 774M", decoder("gpt2-large", 50257, 1280, 36, 20, 5120, 1024)},
	{"gpt2-xl", "GPT-2 XL, 1558M", decoder("gpt2-xl", 50257, 1600, 48, 25, 6400, 1024)},
	{"bert-base", "BERT-base uncased encoder with pooler, 110M (vocab 30522, 512 positions, 2 types)", bert("bert-base", 768, 12, 12, 3072)},
	{"bert-large", "BERT-large encoder with pooler, 335M", bert("bert-large", 1024, 24, 16, 4096)},
	{"albert-base", "ALBERT base (E=128, all layers shared, vocab 30000), 12M", albert("albert-base", 768, 12, 12, 3072)},
	{"albert-large", "ALBERT large, 18M", albert("albert-large", 1024, 24, 16, 4096)},
	{"albert-xlarge", "ALBERT xlarge, 59M", albert("albert-xlarge", 2048, 24, 16, 8192)},
	{"albert-xxlarge", "ALBERT xxlarge, 223M", albert("albert-xxlarge", 4096, 12, 64, 16384)},
	{"smollm2-135m", "SmolLM2-135M (Llama shape, GQA 9/3 heads, tied), 134.5M", llamaLike("smollm2-135m", "llama", 49152, 576, 30, 9, 3, 64, 1536, 8192, true, 100000)},
	{"llama-3.2-1b", "Llama-3.2-1B (GQA 32/8, llama3 rope scaling, tied), 1.24B", llama3Scaling(llamaLike("llama-3.2-1b", "llama", 128256, 2048, 16, 32, 8, 64, 8192, 131072, true, 500000), 32)},
	{"llama-3.2-3b", "Llama-3.2-3B (GQA 24/8, tied), 3.21B", llama3Scaling(llamaLike("llama-3.2-3b", "llama", 128256, 3072, 28, 24, 8, 128, 8192, 131072, true, 500000), 32)},
	{"qwen2.5-0.5b", "Qwen2.5-0.5B (GQA 14/2, q/k/v biases, tied), 494M", llamaLike("qwen2.5-0.5b", "qwen2", 151936, 896, 24, 14, 2, 64, 4864, 32768, true, 1000000)},
	{"tinyllama-1.1b", "TinyLlama-1.1B (GQA 32/4, untied), 1.10B", llamaLike("tinyllama-1.1b", "llama", 32000, 2048, 22, 32, 4, 64, 5632, 2048, false, 10000)},
	{"llama-2-7b", "Llama-2-7B (MHA, untied), 6.74B", llamaLike("llama-2-7b", "llama", 32000, 4096, 32, 32, 32, 128, 11008, 4096, false, 10000)},
	{"mistral-7b", "Mistral-7B v0.1 (GQA 32/8, sliding window 4096, untied), 7.24B", withWindow(llamaLike("mistral-7b", "mistral", 32000, 4096, 32, 32, 8, 128, 14336, 32768, false, 10000), 4096, 0)},
	{"llama-3-8b", "Llama-3-8B (GQA 32/8, untied), 8.03B", llamaLike("llama-3-8b", "llama", 128256, 4096, 32, 32, 8, 128, 14336, 8192, false, 500000)},
	{"gemma-2-2b", "Gemma-2-2B (GQA 8/4, head_dim 256, GeGLU, local/global layers, soft-capping, tied), 2.61B", gemma2(llamaLike("gemma-2-2b", "gemma", 256000, 2304, 26, 8, 4, 256, 9216, 8192, true, 10000))},
	{"transformer-base-decoder", "one decoder stack at the width of Vaswani et al. 2017's base model (d 512, 8 heads, FFN 2048, 6 layers, vocab 37000, tied; learned positions up to 8192); the paper's 6+6 encoder-decoder is transformer-base",
		decoder("transformer-base-decoder", 37000, 512, 6, 8, 2048, 8192)},
}

// Preset returns the named preset (see Presets).
func Preset(name string) (Spec, error) {
	for _, p := range presets {
		if p.name == name {
			return p.spec, nil
		}
	}
	if _, ok := encdecPresets[name]; ok {
		return Spec{}, fmt.Errorf("preset %q is %w", name, ErrEncoderDecoder)
	}
	return Spec{}, fmt.Errorf("unknown preset %q (want one of %s)", name, strings.Join(Presets(), ", "))
}

// Presets lists the preset names.
func Presets() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.name
	}
	return out
}

// PresetHelp describes every preset, one per line.
func PresetHelp() string {
	var b strings.Builder
	for _, p := range presets {
		fmt.Fprintf(&b, "  %-17s %s\n", p.name, p.about)
	}
	return b.String()
}

// LoadHFConfig reads a Hugging Face config.json (see ParseHFConfig), or
// the config.json inside path when path is a directory.
func LoadHFConfig(path string) (Spec, error) {
	data, path, err := readConfig(path)
	if err != nil {
		return Spec{}, err
	}
	s, err := ParseHFConfig(data)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseHFConfig builds a Spec from the JSON of a Hugging Face config.json,
// decoded by package hfconfig (model_type gpt2, bert, albert, llama,
// mistral, qwen2, gemma or gemma2). Encoders get a pooler (as BertModel and
// AlbertModel have) and no MLM head; hidden_act "gelu" (BERT's default)
// counts the exact erf GELU; Mistral's sliding window, Gemma 2's
// alternating local/global layers, soft-capping and post-norms are counted.
func ParseHFConfig(data []byte) (Spec, error) {
	h, err := hfconfig.Parse(data)
	if err != nil {
		return Spec{}, err
	}
	if h.EncDec != nil {
		return Spec{}, fmt.Errorf("config.json: model_type %s is %w", h.ModelType, ErrEncoderDecoder)
	}
	if len(h.Defaulted) > 0 {
		return Spec{}, fmt.Errorf("config.json: missing %s (the cost model needs every shape field, not transformers' defaults)", strings.Join(h.Defaulted, ", "))
	}
	s := FromHF(h)
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// FromHF is the Spec of a decoded config.json.
func FromHF(h hfconfig.Config) Spec {
	c := h.Model
	s := Spec{Name: h.Name, Arch: Decoder, Config: c}
	if c.IsEncoder() {
		s.Arch, s.TypeVocab, s.Pooler, s.EmbedDim = Encoder, h.TypeVocab, h.Pooler, h.EmbedDim
		s.Config.Arch = ""
	}
	return s
}
