package hfbart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/tformer/tformer/internal/atomicfile"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// SpecialIDs are the special token ids a BART config.json states.
type SpecialIDs struct {
	Pad, BOS, EOS int32
	// DecoderStart is the id fed to the decoder first (BART: EOS, </s>).
	DecoderStart int32
}

// IDs returns the special ids of a loaded config.json, and false when it
// lacks one of pad_token_id, bos_token_id, eos_token_id (decoder_start_token_id
// defaults to eos_token_id, as in BART).
func (l *Loaded) IDs() (SpecialIDs, bool) {
	e := l.Config.EncDec
	if e == nil || e.PadID < 0 || e.BOSID < 0 || e.EOSID < 0 {
		return SpecialIDs{}, false
	}
	s := SpecialIDs{Pad: int32(e.PadID), BOS: int32(e.BOSID), EOS: int32(e.EOSID), DecoderStart: int32(e.EOSID)}
	if e.DecoderStartID >= 0 {
		s.DecoderStart = int32(e.DecoderStartID)
	}
	return s, true
}

// Options control Save and Encode.
type Options struct {
	// ExpandShared writes a model with cross-layer sharing (or sharing
	// between the stacks) as the equivalent unshared one, one copy of each
	// shared block per layer. Without it such a model is refused.
	ExpandShared bool
	// IDs are the special ids written into config.json. nil takes them from
	// the tokenizer's <pad>, <s> and </s> tokens when it has all three
	// (decoder start = </s>, as BART), and otherwise writes none.
	IDs *SpecialIDs
}

// CheckWritable reports why m cannot be written as a
// BartForConditionalGeneration directory with opts, or nil if it can.
func CheckWritable(m *model.Model, opts Options) error {
	c := m.Config.Canonical()
	switch {
	case !c.IsEncDec():
		return errors.New("only an encoder-decoder (arch encdec) has a BART layout")
	case !c.PostLN:
		return errors.New("pre-LN: BART is post-LN (post-ln)")
	case c.Sinusoidal():
		return errors.New("sinusoidal positions: BART's positions are learned")
	case c.PosOffset != PosOffset:
		return fmt.Errorf("pos-offset %d: BART's position tables have an offset of %d", c.PosOffset, PosOffset)
	case !c.EmbedNorm:
		return errors.New("no embed-norm: BART has layernorm_embedding in both stacks")
	case c.RMS() || c.NormOffset:
		return errors.New("norm rmsnorm: BART uses LayerNorm")
	case c.Gated():
		return fmt.Errorf("mlp %s: BART's FFN is not gated", c.MLP)
	case !c.QKVBias() || !c.LinearBias():
		return fmt.Errorf("bias %q: BART has biases on every linear layer", c.Bias)
	case math.Abs(float64(c.Eps())-1e-5) > 1e-12:
		return fmt.Errorf("layer-norm epsilon %g: BART's is 1e-5", c.Eps())
	case c.TyingMode() == model.TieDecoder:
		return errors.New("tying decoder: BART's source and target tables are one (tying all, or none with equal tables)")
	}
	if c.TyingMode() == model.TieNone {
		a, b := m.Param("wte"), m.Param("enc.wte")
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return fmt.Errorf("tying none with different source and target tables (first at element %d): BART has one table for both", i)
			}
		}
	}
	if (c.Share != model.ShareNone || c.ShareStacks) && !opts.ExpandShared {
		return fmt.Errorf("BART's layout cannot express sharing (this model shares %s in %d group(s), share-stacks %v); Options.ExpandShared writes one copy of each shared block per layer (same outputs, %d instead of %d stored parameters)",
			c.Share, c.Groups, c.ShareStacks, expandedParams(c), c.UniqueParams())
	}
	return nil
}

// expandedParams is the number of stored parameters of c without sharing.
func expandedParams(c model.Config) int64 {
	u := c
	u.Share, u.Groups, u.ShareStacks = model.ShareNone, 1, false
	return u.UniqueParams()
}

// activationName is the activation_function of c's GELU or ReLU.
func activationName(c model.Config) string {
	switch c.Activation {
	case model.GELUErf:
		return "gelu"
	case model.ReLU:
		return "relu"
	}
	return "gelu_new"
}

// tokenizerIDs finds <pad>, <s> and </s> in a byte-level BPE.
func tokenizerIDs(tok tokenizer.Tokenizer) *SpecialIDs {
	g, ok := tok.(*tokenizer.GPT2)
	if !ok {
		return nil
	}
	find := map[string]int32{"<pad>": -1, "<s>": -1, "</s>": -1}
	for id := range g.VocabSize() {
		b, _ := g.Token(int32(id))
		if v, ok := find[string(b)]; ok && v < 0 {
			find[string(b)] = int32(id)
		}
	}
	for _, v := range find {
		if v < 0 {
			return nil
		}
	}
	return &SpecialIDs{Pad: find["<pad>"], BOS: find["<s>"], EOS: find["</s>"], DecoderStart: find["</s>"]}
}

// Encode returns the config.json and model.safetensors content of m in
// the layout BartForConditionalGeneration reads: F32 weights under Hugging
// Face's names (model.shared.weight once; the tied copies are left to the
// reader to tie), lm_head.weight only when untied, a zero
// final_logits_bias, the metadata format "pt".
func Encode(m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]byte, *safetensors.File, error) {
	if err := CheckWritable(m, opts); err != nil {
		return nil, nil, err
	}
	c := m.Config.Canonical()
	ids := opts.IDs
	if ids == nil {
		ids = tokenizerIDs(tok)
	}
	if ids != nil {
		for _, id := range []int32{ids.Pad, ids.BOS, ids.EOS, ids.DecoderStart} {
			if id < 0 || int(id) >= c.Vocab {
				return nil, nil, fmt.Errorf("special id %d is outside the vocabulary [0, %d)", id, c.Vocab)
			}
		}
	}
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}}
	seen := map[string]bool{}
	for _, e := range names(c) {
		if seen[e.hf] {
			continue
		}
		seen[e.hf] = true
		n := 1
		for _, s := range e.shape {
			n *= s
		}
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(e.hf, e.shape, m.Param(e.tf)[e.off:e.off+n]))
	}
	f.Tensors = append(f.Tensors, safetensors.FromFloat32(biasName, []int{1, c.Vocab}, make([]float32, c.Vocab)))
	cj, err := configJSON(c, ids)
	if err != nil {
		return nil, nil, err
	}
	return cj, f, nil
}

// configJSON writes the config.json of c in BartConfig's field names.
func configJSON(c model.Config, ids *SpecialIDs) ([]byte, error) {
	type kv struct {
		k string
		v any
	}
	fields := []kv{
		{"architectures", []string{Architecture}},
		{"model_type", "bart"},
		{"vocab_size", c.Vocab},
		{"d_model", c.DModel},
		{"encoder_layers", c.EncLayers},
		{"decoder_layers", c.Layers},
		{"encoder_attention_heads", c.Heads},
		{"decoder_attention_heads", c.Heads},
		{"encoder_ffn_dim", c.DFF},
		{"decoder_ffn_dim", c.DFF},
		{"max_position_embeddings", c.MaxSeq},
		{"activation_function", activationName(c)},
		{"scale_embedding", c.EmbedScale},
		{"tie_word_embeddings", c.TyingMode() == model.TieAll},
		{"is_encoder_decoder", true},
		{"torch_dtype", "float32"},
	}
	if ids != nil {
		fields = append(fields, kv{"pad_token_id", ids.Pad}, kv{"bos_token_id", ids.BOS}, kv{"eos_token_id", ids.EOS},
			kv{"decoder_start_token_id", ids.DecoderStart}, kv{"forced_eos_token_id", ids.EOS})
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range fields {
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, fmt.Errorf("config.json field %s: %w", f.k, err)
		}
		fmt.Fprintf(&b, "  %q: %s", f.k, v)
		if i < len(fields)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// Save writes m into dir (created if needed) as config.json,
// model.safetensors (F32) and, for a byte-level BPE tokenizer (GPT-2's, or
// BART's vocab.json with its extra tokens), vocab.json and merges.txt.
// Everything is checked and encoded before anything is written, and each
// file is written atomically. It returns notes for the user.
func Save(dir string, m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]string, error) {
	notes, err := save(dir, m, tok, opts)
	if err != nil {
		return nil, fmt.Errorf("save BART model %s: %w", dir, err)
	}
	return notes, nil
}

func save(dir string, m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]string, error) {
	if tok != nil && tok.VocabSize() > m.Config.Vocab {
		return nil, fmt.Errorf("the %s tokenizer has %d tokens but the model only %d", tok.Name(), tok.VocabSize(), m.Config.Vocab)
	}
	cj, f, err := Encode(m, tok, opts)
	if err != nil {
		return nil, err
	}
	var notes []string
	if c := m.Config; c.Share != model.ShareNone || c.ShareStacks {
		notes = append(notes, fmt.Sprintf("sharing (%s in %d group(s), share-stacks %v) was expanded into per-layer copies: %d stored parameters instead of %d",
			c.Share, c.Groups, c.ShareStacks, expandedParams(c), c.UniqueParams()))
	}
	files := map[string][]byte{}
	switch t := tok.(type) {
	case nil:
		notes = append(notes, "the model names no tokenizer, so the directory has no tokenizer files")
	case *tokenizer.GPT2:
		files["vocab.json"], files["merges.txt"] = t.VocabJSON(), t.MergesTxt()
	default:
		notes = append(notes, fmt.Sprintf("the directory has no tokenizer files: BART's are a byte-level BPE's vocab.json and merges.txt, and the %q tokenizer is not one", tok.Name()))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), f); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), cj, 0o644); err != nil {
		return nil, err
	}
	for _, name := range []string{"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json"} {
		p := filepath.Join(dir, name)
		if b, ok := files[name]; ok {
			if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
		} else if _, err := os.Stat(p); err == nil {
			// A file left from an earlier model would be read as this
			// model's.
			if err := os.Remove(p); err != nil {
				return nil, err
			}
			notes = append(notes, fmt.Sprintf("removed the directory's old %s, which this model does not use", name))
		}
	}
	return notes, nil
}
