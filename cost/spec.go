package cost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

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

	// Options the cost model counts but the engine does not run (decoders):
	// SlidingWindow W limits a windowed layer's query to itself and the W−1
	// keys before it (Mistral: every layer; Gemma 2: every other layer,
	// SlidingEvery 2, layers 0, 2, 4, ... windowed). It changes FLOPs, not
	// weights. 0: none.
	SlidingWindow int
	SlidingEvery  int // 0 or 1: every layer windowed; k: layers 0, k, 2k, ...
	// AttnSoftcap and FinalSoftcap are Gemma 2's soft-capping of the
	// attention scores and the logits (x -> cap·tanh(x/cap)); 0: none.
	AttnSoftcap, FinalSoftcap float64
	// PostNorms adds a norm after the attention and after the FFN sub-layer
	// (Gemma 2's post_attention and post_feedforward layernorms): four per
	// layer.
	PostNorms bool
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
	{"transformer-base", "the width of Vaswani et al. 2017's base model as one decoder stack (d 512, 8 heads, FFN 2048, 6 layers, vocab 37000, tied; learned positions up to 8192)",
		decoder("transformer-base", 37000, 512, 6, 8, 2048, 8192)},
}

// Preset returns the named preset (see Presets).
func Preset(name string) (Spec, error) {
	for _, p := range presets {
		if p.name == name {
			return p.spec, nil
		}
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

// LoadHFConfig reads a Hugging Face config.json (see ParseHFConfig).
func LoadHFConfig(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("read config: %w", err)
	}
	s, err := ParseHFConfig(data)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseHFConfig builds a Spec from the JSON of a Hugging Face config.json.
// model_type selects the field names: "gpt2" (n_embd, n_layer, n_head,
// n_positions, vocab_size, n_inner, tie_word_embeddings), "bert"
// (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
// max_position_embeddings, type_vocab_size, vocab_size) or "albert" (BERT's
// names plus embedding_size, num_hidden_groups, inner_group_num, which must
// be 1). Without model_type the family is guessed from the fields present.
// Encoders get a pooler (as BertModel and AlbertModel have) and no MLM head;
// hidden_act "gelu" (BERT's default) counts the exact erf GELU.
func ParseHFConfig(data []byte) (Spec, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Spec{}, fmt.Errorf("parse config.json: %w", err)
	}
	str := func(k string) string {
		var v string
		if r, ok := raw[k]; ok {
			_ = json.Unmarshal(r, &v)
		}
		return v
	}
	var firstErr error
	integer := func(k string, def int, required bool) int {
		r, ok := raw[k]
		if !ok || string(r) == "null" {
			if required && firstErr == nil {
				firstErr = fmt.Errorf("config.json: missing %s", k)
			}
			return def
		}
		var v float64
		if err := json.Unmarshal(r, &v); err != nil || v != float64(int(v)) {
			if firstErr == nil {
				firstErr = fmt.Errorf("config.json: %s must be an integer, got %s", k, r)
			}
			return def
		}
		return int(v)
	}
	boolean := func(k string, def bool) bool {
		r, ok := raw[k]
		if !ok {
			return def
		}
		var v bool
		if err := json.Unmarshal(r, &v); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("config.json: %s must be true or false, got %s", k, r)
		}
		return v
	}
	mt := strings.ToLower(str("model_type"))
	if mt == "" {
		switch {
		case raw["n_embd"] != nil:
			mt = "gpt2"
		case raw["embedding_size"] != nil:
			mt = "albert"
		case raw["hidden_size"] != nil:
			mt = "bert"
		}
	}
	var s Spec
	switch mt {
	case "gpt2":
		d := integer("n_embd", 0, true)
		pos := integer("n_positions", 0, false)
		if pos == 0 {
			pos = integer("n_ctx", 0, true)
		}
		s = Spec{Arch: Decoder, Config: model.Config{
			Vocab: integer("vocab_size", 0, true), DModel: d, Layers: integer("n_layer", 0, true),
			Heads: integer("n_head", 0, true), DFF: integer("n_inner", 4*d, false), MaxSeq: pos,
			Tie: boolean("tie_word_embeddings", true), Share: model.ShareNone, Groups: 1}}
	case "bert", "albert":
		s = Spec{Arch: Encoder, Config: model.Config{
			Vocab: integer("vocab_size", 0, true), DModel: integer("hidden_size", 0, true),
			Layers: integer("num_hidden_layers", 0, true), Heads: integer("num_attention_heads", 0, true),
			DFF: integer("intermediate_size", 0, true), MaxSeq: integer("max_position_embeddings", 512, false),
			Tie: boolean("tie_word_embeddings", true), Share: model.ShareNone, Groups: 1},
			TypeVocab: integer("type_vocab_size", 2, false), Pooler: true}
		act := str("hidden_act")
		if act == "" && mt == "bert" {
			act = "gelu"
		}
		if act == "gelu" {
			s.Config.Activation = model.GELUErf // BERT's exact GELU (5 and 12 FLOPs per element)
		}
		if mt == "albert" {
			s.EmbedDim = integer("embedding_size", 128, false)
			s.Config.Share = model.ShareAll
			s.Config.Groups = integer("num_hidden_groups", 1, false)
			if ig := integer("inner_group_num", 1, false); ig != 1 && firstErr == nil {
				firstErr = fmt.Errorf("config.json: inner_group_num %d is not supported (only 1: one layer per group)", ig)
			}
		}
	case "":
		return Spec{}, errors.New("config.json: no model_type and no GPT-2, BERT or ALBERT fields")
	default:
		return Spec{}, fmt.Errorf("config.json: model_type %q is not supported (want gpt2, bert or albert)", mt)
	}
	if firstErr != nil {
		return Spec{}, firstErr
	}
	s.Name = mt + " config"
	if n := str("_name_or_path"); n != "" {
		s.Name = n
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}
