// Package hfbart reads and writes Hugging Face BartForConditionalGeneration
// directories (config.json plus model.safetensors, or shards with
// model.safetensors.index.json; F32, F16, BF16 or F64) as tformer
// encoder–decoders (model.ArchEncDec): the shared embedding
// model.shared.weight as the one matrix tied three ways (source table,
// target table, output projection), learned positions with BART's offset of
// 2, layernorm_embedding in both stacks, post-LN layers with biases on every
// linear layer, scale_embedding as the √d factor, and the GELU (erf),
// gelu_new (tanh) or ReLU FFN. config.json is decoded by package hfconfig,
// the one decoder for every family.
//
// Reading checks the whole directory before allocating the model: every
// tensor the config implies must be present with the shape the config
// implies and a floating-point dtype, and no other tensor may be there; so
// the allocation is backed by data actually in the files. The tied copies
// some exports store (model.encoder.embed_tokens.weight,
// model.decoder.embed_tokens.weight, lm_head.weight) must equal
// model.shared.weight; final_logits_bias, a buffer of zeros in the
// published checkpoints, must be zero, since the engine adds no bias to the
// logits. Non-finite weights are refused.
package hfbart

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/tformer/tformer/hf"
	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/internal/hfdir"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// File names inside a model directory.
const (
	ConfigFile  = hf.ConfigFile
	WeightsFile = hf.WeightsFile
)

// Architecture is the transformers class whose directories this package
// reads and writes.
const Architecture = "BartForConditionalGeneration"

// PosOffset is the number of unused rows before position 0 of BART's
// learned position tables.
const PosOffset = 2

// MaxLayers bounds encoder_layers and decoder_layers.
const MaxLayers = 1 << 16

// Bounds on config.json's sizes (far above any published BART's: 50,265
// tokens, 1,024 positions, width 1,024 and FFN 4,096), so that the sizes'
// products stay far from overflow before the tensors are checked.
const (
	maxVocab     = 1 << 24
	maxPositions = 1 << 20
	maxWidth     = 1 << 18
)

// maxConfigBytes bounds config.json (real ones are a few kilobytes).
const maxConfigBytes = hfdir.MaxConfigBytes

// Loaded is a BART model read from a directory.
type Loaded struct {
	Model  *model.Model
	Config hfconfig.Config   // Config.EncDec holds the shape and the special ids
	DType  safetensors.DType // the weights' stored type: F32, F16, BF16, or "mixed"
	Notes  []string          // what the reading changed or assumed
}

// IsBART reports whether dir's config.json has model_type bart.
func IsBART(dir string) bool {
	b, err := hfdir.ReadLimited(filepath.Join(dir, ConfigFile), maxConfigBytes)
	if err != nil {
		return false
	}
	var v struct {
		ModelType string `json:"model_type"`
	}
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	return strings.EqualFold(v.ModelType, "bart")
}

// Load reads the BART model in dir (or in the directory of dir, when dir
// names its config.json or model.safetensors).
func Load(dir string) (*Loaded, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	l, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("load BART model %s: %w", dir, err)
	}
	return l, nil
}

func load(dir string) (*Loaded, error) {
	cj, err := hfdir.ReadConfig(dir, maxConfigBytes)
	if err != nil {
		return nil, err
	}
	h, err := Parse(cj)
	if err != nil {
		return nil, err
	}
	tensors, err := hf.ReadWeights(dir)
	if err != nil {
		return nil, err
	}
	return FromTensors(h, tensors)
}

// Parse decodes a BART config.json and checks that the engine runs what it
// describes (ConfigOf).
func Parse(configJSON []byte) (hfconfig.Config, error) {
	h, err := hfconfig.Parse(configJSON)
	if err != nil {
		return hfconfig.Config{}, err
	}
	if h.ModelType != "bart" || h.EncDec == nil {
		return hfconfig.Config{}, fmt.Errorf("config.json: model_type %s is not bart (this reader reads BartForConditionalGeneration directories)", h.ModelType)
	}
	var v struct {
		Architectures []string `json:"architectures"`
	}
	if err := json.Unmarshal(configJSON, &v); err == nil && len(v.Architectures) > 0 && !slices.Contains(v.Architectures, Architecture) {
		return hfconfig.Config{}, fmt.Errorf("config.json: architectures %v: only %s (the encoder-decoder with its language-model head) is read", v.Architectures, Architecture)
	}
	if _, err := ConfigOf(h.EncDec); err != nil {
		return hfconfig.Config{}, err
	}
	return h, nil
}

// ConfigOf maps a decoded BART shape onto the engine's encoder–decoder
// config, or says (naming the config.json field) what the engine does not
// run.
func ConfigOf(e *hfconfig.EncDec) (model.Config, error) {
	if e == nil {
		return model.Config{}, errors.New("config.json: not an encoder-decoder config")
	}
	c := model.Config{Arch: model.ArchEncDec, Vocab: e.Vocab, DModel: e.DModel, EncLayers: e.EncLayers, Layers: e.DecLayers,
		Heads: e.Heads, DFF: e.DFF, MaxSeq: e.MaxPositions, Share: model.ShareNone, Groups: 1, PostLN: true,
		EmbedNorm: true, PosOffset: PosOffset, EmbedScale: e.ScaleEmbed}
	switch e.Activation {
	case "gelu":
		c.Activation = model.GELUErf
	case "gelu_new":
		c.Activation = model.GELUTanh
	case "relu":
		c.Activation = model.ReLU
	default:
		return model.Config{}, fmt.Errorf("config.json: activation_function %q is not run by the engine (want gelu, gelu_new or relu)", e.Activation)
	}
	switch e.Tie {
	case "all":
		c.Tie, c.Tying = true, model.TieAll
	case "embeddings":
		// Source = target table, a separate lm_head: the engine's tying
		// none, with the shared table copied into both lookups.
		c.Tie, c.Tying = false, model.TieNone
	default:
		return model.Config{}, fmt.Errorf("config.json: tying %q is not BART's", e.Tie)
	}
	switch {
	case e.PreLN:
		return model.Config{}, errors.New("config.json: normalize_before true (pre-LN) is not BartForConditionalGeneration's")
	case e.Positions != "learned" || e.PosOffset != PosOffset:
		return model.Config{}, fmt.Errorf("config.json: %s positions with offset %d are not BART's learned positions with offset 2", e.Positions, e.PosOffset)
	case !e.LNEmbedding:
		return model.Config{}, errors.New("config.json: normalize_embedding false is not supported (BART has layernorm_embedding)")
	case e.Gated || e.RMSNorm || !e.Bias || e.HeadDim != 0 && e.HeadDim*e.Heads != e.DModel:
		return model.Config{}, errors.New("config.json: a gated FFN, RMSNorm, missing biases or a head width other than d_model / heads are not BART's")
	case e.EncLayers > MaxLayers || e.DecLayers > MaxLayers:
		return model.Config{}, fmt.Errorf("config.json: encoder_layers %d and decoder_layers %d must be at most %d", e.EncLayers, e.DecLayers, MaxLayers)
	case e.Vocab > maxVocab:
		return model.Config{}, fmt.Errorf("config.json: vocab_size %d is more than the limit of %d", e.Vocab, maxVocab)
	case e.MaxPositions > maxPositions:
		return model.Config{}, fmt.Errorf("config.json: max_position_embeddings %d is more than the limit of %d", e.MaxPositions, maxPositions)
	case e.DModel > maxWidth || e.DFF > maxWidth:
		return model.Config{}, fmt.Errorf("config.json: d_model %d and the FFN width %d must be at most %d", e.DModel, e.DFF, maxWidth)
	}
	if err := c.Validate(); err != nil {
		return model.Config{}, fmt.Errorf("config.json: %w", err)
	}
	return c, nil
}

// entry is one Hugging Face tensor and where its values go in tformer's
// layout: elements [off, off+size) of tensor tf.
type entry struct {
	hf    string
	tf    string
	off   int
	shape []int
}

// tensorsPerLayer is the number of Hugging Face tensors of one encoder
// layer (a decoder layer has 10 more: cross-attention's).
const tensorsPerLayer = 16

// names lists the Hugging Face tensors of a BART model of config c, layer
// by layer (a shared block appears once per layer that uses it), and where
// each goes in tformer's layout. c must be a valid BART-shaped config.
func names(c model.Config) []entry {
	d, f, K := c.DModel, c.DFF, c.Vocab
	es := []entry{{"model.shared.weight", "wte", 0, []int{K, d}}}
	if c.TyingMode() != model.TieAll {
		es = append(es, entry{"model.shared.weight", "enc.wte", 0, []int{K, d}})
	}
	lin := func(hfp, tfp string, off, out, in int) []entry {
		return []entry{{hfp + ".weight", tfp + ".w", off * in, []int{out, in}}, {hfp + ".bias", tfp + ".b", off, []int{out}}}
	}
	ln := func(hfp, tfp string) []entry {
		return []entry{{hfp + ".weight", tfp + ".w", 0, []int{d}}, {hfp + ".bias", tfp + ".b", 0, []int{d}}}
	}
	for _, st := range []struct {
		hf, tf string
		n      int
		s      model.Config
	}{{"model.encoder.", "enc.", c.EncLayers, c.EncoderStack()}, {"model.decoder.", "", c.Layers, c}} {
		es = append(es, entry{st.hf + "embed_positions.weight", st.tf + "wpe", 0, []int{c.MaxSeq + c.PosOffset, d}})
		es = append(es, ln(st.hf+"layernorm_embedding", st.tf+"emb_ln")...)
		blocks := st.tf
		if st.tf == "" && c.ShareStacks {
			blocks = "enc."
		}
		for l := 0; l < st.n; l++ {
			p := fmt.Sprintf("%slayers.%d.", st.hf, l)
			a := fmt.Sprintf("%sattn.%d.", blocks, st.s.AttnIndex(l))
			m := fmt.Sprintf("%sffn.%d.", blocks, st.s.FFNIndex(l))
			es = append(es, lin(p+"self_attn.q_proj", a+"qkv", 0, d, d)...)
			es = append(es, lin(p+"self_attn.k_proj", a+"qkv", d, d, d)...)
			es = append(es, lin(p+"self_attn.v_proj", a+"qkv", 2*d, d, d)...)
			es = append(es, lin(p+"self_attn.out_proj", a+"proj", 0, d, d)...)
			es = append(es, ln(p+"self_attn_layer_norm", a+"ln")...)
			if st.tf == "" {
				x := fmt.Sprintf("cross.%d.", c.AttnIndex(l))
				es = append(es, lin(p+"encoder_attn.q_proj", x+"q", 0, d, d)...)
				es = append(es, lin(p+"encoder_attn.k_proj", x+"kv", 0, d, d)...)
				es = append(es, lin(p+"encoder_attn.v_proj", x+"kv", d, d, d)...)
				es = append(es, lin(p+"encoder_attn.out_proj", x+"proj", 0, d, d)...)
				es = append(es, ln(p+"encoder_attn_layer_norm", x+"ln")...)
			}
			es = append(es, lin(p+"fc1", m+"up", 0, f, d)...)
			es = append(es, lin(p+"fc2", m+"down", 0, d, f)...)
			es = append(es, ln(p+"final_layer_norm", m+"ln")...)
		}
	}
	if c.TyingMode() == model.TieNone {
		es = append(es, entry{"lm_head.weight", "lm_head", 0, []int{K, d}})
	}
	return es
}

// Optional tensors: copies of the shared table some exports store, and the
// logits' bias buffer.
var tiedCopies = []string{"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"}

const biasName = "final_logits_bias"

// FromTensors builds the model of the decoded BART config h from its
// Hugging Face tensors (by name). Everything is checked before the model
// is allocated.
func FromTensors(h hfconfig.Config, tensors map[string]safetensors.Tensor) (*Loaded, error) {
	c, err := ConfigOf(h.EncDec)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Config: h}
	// The names to expect are listed per layer: first bound the layer count
	// by the tensors actually present, so the list costs nothing absurd.
	if need := int64(c.EncLayers+c.Layers) * tensorsPerLayer; need > int64(len(tensors)) {
		return nil, fmt.Errorf("config.json's encoder_layers %d and decoder_layers %d imply at least %d tensors, and the weights hold %d", c.EncLayers, c.Layers, need, len(tensors))
	}
	es := names(c)
	want := make(map[string]bool, len(es))
	dtype := safetensors.DType("")
	note := func(t safetensors.Tensor) {
		switch {
		case dtype == "":
			dtype = t.DType
		case dtype != t.DType:
			dtype = "mixed"
		}
	}
	for _, e := range es {
		want[e.hf] = true
		t, ok := tensors[e.hf]
		if !ok {
			if e.hf == "lm_head.weight" {
				return nil, errors.New("config.json sets tie_word_embeddings false but the weights have no lm_head.weight")
			}
			return nil, fmt.Errorf("the weights have no %s, which config.json implies", e.hf)
		}
		if !slices.Equal(t.Shape, e.shape) {
			return nil, fmt.Errorf("%s has shape [%s], config.json implies [%s]", e.hf, model.ShapeString(t.Shape), model.ShapeString(e.shape))
		}
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("%s has dtype %s; want a floating-point type (F32, F16, BF16)", e.hf, t.DType)
		}
		note(t)
	}
	// The optional tensors: tied copies (K×d) and final_logits_bias (1×K).
	var copies []string
	for _, n := range append(slices.Clone(tiedCopies), biasName) {
		t, ok := tensors[n]
		if !ok || want[n] {
			continue
		}
		shape := []int{c.Vocab, c.DModel}
		if n == biasName {
			shape = []int{1, c.Vocab}
		}
		if !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("%s has shape [%s], config.json implies [%s]", n, model.ShapeString(t.Shape), model.ShapeString(shape))
		}
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("%s has dtype %s; want a floating-point type (F32, F16, BF16)", n, t.DType)
		}
		want[n] = true
		if n != biasName {
			copies = append(copies, n)
		}
	}
	var extra []string
	for n := range tensors {
		if !want[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		more := ""
		if len(extra) > 3 {
			more = fmt.Sprintf(" and %d more", len(extra)-3)
			extra = extra[:3]
		}
		return nil, fmt.Errorf("the weights have tensors a %s of this config.json does not: %s%s (encoder_layers %d, decoder_layers %d)", Architecture, strings.Join(extra, ", "), more, c.EncLayers, c.Layers)
	}
	if t, ok := tensors[biasName]; ok {
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", biasName, err)
		}
		for j, x := range v {
			if x != 0 {
				return nil, fmt.Errorf("%s is not zero (%g at element %d): the engine adds no bias to the logits", biasName, x, j)
			}
		}
	}

	m, err := model.New(c)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	var shared []float32
	for _, e := range es {
		v, err := tensors[e.hf].Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.hf, err)
		}
		if err := checkFinite(e.hf, v); err != nil {
			return nil, err
		}
		if e.hf == "model.shared.weight" {
			shared = v
		}
		copy(m.Param(e.tf)[e.off:], v)
	}
	for _, n := range copies {
		v, err := tensors[n].Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		for j, x := range v {
			if math.Float32bits(x) != math.Float32bits(shared[j]) {
				return nil, fmt.Errorf("%s differs from model.shared.weight (first at element %d: %g against %g); BART ties them", n, j, x, shared[j])
			}
		}
	}
	if len(copies) > 0 {
		l.Notes = append(l.Notes, fmt.Sprintf("%s equal model.shared.weight: read as the one tied table", strings.Join(copies, ", ")))
	}
	if c.TyingMode() == model.TieNone {
		l.Notes = append(l.Notes, "tie_word_embeddings false: model.shared.weight is copied into the source and target tables (tying none), lm_head.weight is the output matrix")
	}
	switch dtype {
	case safetensors.F32:
	case safetensors.F16, safetensors.BF16:
		l.Notes = append(l.Notes, fmt.Sprintf("weights are stored as %s and were widened to float32 (exactly)", dtype))
	default:
		l.Notes = append(l.Notes, fmt.Sprintf("weights are stored as %s and were converted to float32", dtype))
	}
	l.Model, l.DType = m, dtype
	return l, nil
}

// checkFinite refuses NaN and ±Inf.
func checkFinite(name string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%s holds a non-finite value (%g at element %d)", name, x, i)
		}
	}
	return nil
}
