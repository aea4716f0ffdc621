// Package hfbert reads Hugging Face BERT and ALBERT masked-LM checkpoints —
// a directory holding config.json and model.safetensors, as
// BertForMaskedLM / AlbertForMaskedLM (or *ForPreTraining) save_pretrained
// writes them — into tformer encoders.
//
// BERT becomes an encoder with E = d and no sharing; ALBERT one with
// E = embedding_size, all layers shared in num_hidden_groups contiguous
// groups (ALBERT's layer-to-group map is tformer's) and its
// embedding_hidden_mapping_in as the E -> d projection. The separate query,
// key and value projections are stacked into tformer's fused qkv (rows q, k,
// v; heads are contiguous column blocks in both). The masked-LM head's
// transform (dense, activation, LayerNorm), its bias and its decoder matrix
// map onto tformer's head; a decoder matrix tied to the word embeddings (the
// default, tie_word_embeddings) is stored once.
//
// What is ignored, with a note: the pooler and the next-sentence or
// sentence-order heads (tformer builds neither), and position_ids buffers.
// What is refused with an error: inner_group_num other than 1 (several
// distinct layers per ALBERT group), relative position embeddings, an
// activation other than GELU, an ALBERT whose embedding_size equals
// hidden_size (its mapping would be a d x d matrix tformer's E = d layout has
// no place for), and any tensor the loader does not know.
//
// The config's hidden_act picks the GELU form (BERT's "gelu" is the exact
// erf form, model.GELUErf; ALBERT's "gelu_new" the tanh form) and its
// layer_norm_eps (1e-12 when absent) the LayerNorm epsilon, so the loaded
// model computes what Hugging Face's does.
package hfbert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/internal/hfdir"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// File names inside a model directory.
const (
	ConfigFile  = hfdir.ConfigFile
	WeightsFile = hfdir.WeightsFile
)

// Loaded is a model read from a Hugging Face BERT or ALBERT directory.
type Loaded struct {
	Model *model.Model // an encoder (Arch "encoder")
	Type  string       // "bert" or "albert"
	// DType is the element type the weights were stored in (F32, F16, BF16).
	DType safetensors.DType
	// Notes says what a user should know about the conversion, one sentence
	// each (ignored tensors, approximations).
	Notes []string
}

// ParseConfig reads a BERT or ALBERT config.json into the encoder config
// tformer builds for it, with the notes the config alone implies. The
// fields are decoded by package hfconfig (the one config.json decoder);
// what is checked here is what tformer's encoder layout can hold.
func ParseConfig(data []byte) (model.Config, string, []string, error) {
	mt, err := hfconfig.ModelTypeOf(data)
	if err != nil {
		return model.Config{}, "", nil, err
	}
	if mt != "bert" && mt != "albert" {
		return model.Config{}, "", nil, fmt.Errorf("config.json: model_type %q is not BERT or ALBERT", mt)
	}
	h, err := hfconfig.Parse(data)
	if err != nil {
		return model.Config{}, "", nil, err
	}
	c := h.Model
	c.TypeVocab = h.TypeVocab
	if mt == "albert" {
		c.EmbedDim = h.EmbedDim
		if c.EmbedDim == c.DModel {
			return model.Config{}, "", nil, fmt.Errorf("config.json: embedding_size equals hidden_size (%d): ALBERT's embedding_hidden_mapping_in is then a %d x %d matrix that tformer's layout (a projection only when E < d) cannot hold", c.DModel, c.DModel, c.DModel)
		}
		if c.Groups > 0 && c.Layers%c.Groups != 0 {
			return model.Config{}, "", nil, fmt.Errorf("config.json: num_hidden_groups %d does not divide num_hidden_layers %d", c.Groups, c.Layers)
		}
	}
	if err := c.Validate(); err != nil {
		return model.Config{}, "", nil, fmt.Errorf("config.json: %w", err)
	}
	return c.Canonical(), mt, nil, nil
}

// Load reads the model in dir (config.json and model.safetensors).
func Load(dir string) (*Loaded, error) {
	cfg, f, err := hfdir.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	l, err := FromFiles(cfg, f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return l, nil
}

// FromFiles builds the encoder held by a config.json and a parsed
// model.safetensors.
func FromFiles(configJSON []byte, f *safetensors.File) (*Loaded, error) {
	c, typ, notes, err := ParseConfig(configJSON)
	if err != nil {
		return nil, err
	}
	r := &reader{f: f, used: map[string]bool{}}
	// The base model's tensors carry its prefix in *ForMaskedLM files.
	base := typ + "."
	if _, ok := f.Get(base + "embeddings.word_embeddings.weight"); !ok {
		if _, ok := f.Get("embeddings.word_embeddings.weight"); ok {
			base = ""
		}
	}
	nm := tensorNames[typ]
	// Tying: with tie_word_embeddings (the default) Hugging Face uses the
	// word embeddings as the decoder, whatever the file holds.
	decoderName := nm.head + "decoder.weight"
	var tiedDecoder []float32 // compared with the word embeddings once they are loaded
	if c.Tie {
		if dw, ok := f.Get(decoderName); ok {
			r.used[decoderName] = true
			tiedDecoder, _ = dw.Float32s()
		}
	}
	m, err := model.New(c)
	if err != nil {
		return nil, err
	}
	dtype := safetensors.F32
	for _, t := range f.Tensors {
		if t.DType == safetensors.F16 || t.DType == safetensors.BF16 {
			dtype = t.DType
		}
	}
	set := func(dst, name string, shape ...int) {
		if r.err != nil {
			return
		}
		v, err := r.floats(name, shape)
		if err != nil {
			r.err = err
			return
		}
		copy(m.Param(dst), v)
	}
	d, e, ff := c.DModel, c.E(), c.DFF
	ln := func(dst, src string, n int) { // LayerNorm: weight/bias or the older gamma/beta
		set(dst+".w", r.either(src+".weight", src+".gamma"), n)
		set(dst+".b", r.either(src+".bias", src+".beta"), n)
	}
	linear := func(dst, src string, out, in int) { // an out x in weight and its bias
		set(dst+".w", src+".weight", out, in)
		set(dst+".b", src+".bias", out)
	}
	emb := base + "embeddings."
	set("wte", emb+"word_embeddings.weight", c.Vocab, e)
	if tiedDecoder != nil && r.err == nil && !slices.Equal(m.Param("wte"), tiedDecoder) {
		notes = append(notes, fmt.Sprintf("%s differs from the word embeddings; with tie_word_embeddings, as Hugging Face does, the word embeddings are used", decoderName))
	}
	set("wpe", emb+"position_embeddings.weight", c.MaxSeq, e)
	set("wtt", emb+"token_type_embeddings.weight", c.Types(), e)
	ln("emb_ln", emb+"LayerNorm", e)
	if c.Factorized() {
		linear("embed_proj", base+"encoder.embedding_hidden_mapping_in", d, e)
	}
	qkv := func(i int, q, k, v string) {
		for _, part := range []struct{ suffix, dst string }{{"weight", ".qkv.w"}, {"bias", ".qkv.b"}} {
			dst := m.Param(fmt.Sprintf("attn.%d%s", i, part.dst))
			size := d * d
			shape := []int{d, d}
			if part.suffix == "bias" {
				size, shape = d, []int{d}
			}
			for j, src := range []string{q, k, v} {
				if r.err != nil {
					return
				}
				x, err := r.floats(src+"."+part.suffix, shape)
				if err != nil {
					r.err = err
					return
				}
				copy(dst[j*size:(j+1)*size], x)
			}
		}
	}
	for i := 0; i < c.AttnBlocks(); i++ {
		a, fn := fmt.Sprintf("attn.%d.", i), fmt.Sprintf("ffn.%d.", i)
		p := base + fmt.Sprintf(nm.layer, i)
		qkv(i, p+nm.query, p+nm.key, p+nm.value)
		linear(a+"proj", p+nm.attnOut, d, d)
		ln(a+"ln", p+nm.attnLN, d)
		linear(fn+"up", p+nm.up, ff, d)
		linear(fn+"down", p+nm.down, d, ff)
		ln(fn+"ln", p+nm.ffnLN, d)
	}
	head, dense := nm.head, nm.head+nm.headDense
	if _, ok := f.Get(dense + ".weight"); !ok && r.err == nil {
		r.err = fmt.Errorf("the file has no masked-LM head (%s.weight): tformer loads *ForMaskedLM and *ForPreTraining checkpoints, not bare %s models", dense, strings.ToUpper(typ[:1])+typ[1:]+"Model")
	}
	linear("head.dense", dense, e, d)
	ln("head.ln", head+nm.headLN, e)
	set("head.bias", r.either(head+"bias", head+"decoder.bias"), c.Vocab)
	if _, ok := f.Get(head + "bias"); ok {
		r.used[head+"decoder.bias"] = true // Hugging Face ties the two names to one tensor
	}
	if !c.Tie {
		set("lm_head", decoderName, c.Vocab, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	var ignored []string
	for _, t := range f.Tensors {
		if r.used[t.Name] {
			continue
		}
		switch n := strings.TrimPrefix(t.Name, base); {
		case strings.HasPrefix(n, "pooler."):
			ignored = append(ignored, t.Name)
		case strings.HasPrefix(t.Name, "cls.seq_relationship.") || strings.HasPrefix(t.Name, "sop_classifier."):
			ignored = append(ignored, t.Name)
		case strings.HasSuffix(t.Name, "position_ids"):
		default:
			return nil, fmt.Errorf("unexpected tensor %q for a %s masked-LM model (tformer does not know where it goes)", t.Name, strings.ToUpper(typ))
		}
	}
	if len(ignored) > 0 {
		notes = append(notes, fmt.Sprintf("ignored %s (tformer builds no pooler or sentence-pair head)", strings.Join(ignored, ", ")))
	}
	return &Loaded{Model: m, Type: typ, DType: dtype, Notes: notes}, nil
}

// names says where one architecture's Hugging Face tensors are: a layer's
// relative to its prefix, the masked-LM head's relative to the head's.
type names struct {
	layer                   string // layer i's prefix below the base model's, a format taking i
	query, key, value       string // the attention's input projections
	attnOut, attnLN         string // its output projection and LayerNorm
	up, down, ffnLN         string // the FFN's projections and LayerNorm
	head, headDense, headLN string // the head's prefix (from the file's root), transform and LayerNorm
}

// tensorNames maps a model type to its tensor names.
var tensorNames = map[string]names{
	"bert": {layer: "encoder.layer.%d.",
		query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
		attnOut: "attention.output.dense", attnLN: "attention.output.LayerNorm",
		up: "intermediate.dense", down: "output.dense", ffnLN: "output.LayerNorm",
		head: "cls.predictions.", headDense: "transform.dense", headLN: "transform.LayerNorm"},
	"albert": {layer: "encoder.albert_layer_groups.%d.albert_layers.0.",
		query: "attention.query", key: "attention.key", value: "attention.value",
		attnOut: "attention.dense", attnLN: "attention.LayerNorm",
		up: "ffn", down: "ffn_output", ffnLN: "full_layer_layer_norm",
		head: "predictions.", headDense: "dense", headLN: "LayerNorm"},
}

// reader fetches tensors by name, checking shapes and recording what was used.
type reader struct {
	f    *safetensors.File
	used map[string]bool
	err  error
}

// either returns a if the file has it, else b.
func (r *reader) either(a, b string) string {
	if _, ok := r.f.Get(a); ok {
		return a
	}
	if _, ok := r.f.Get(b); ok {
		return b
	}
	return a
}

func (r *reader) floats(name string, shape []int) ([]float32, error) {
	t, ok := r.f.Get(name)
	if !ok {
		return nil, fmt.Errorf("tensor %q is missing", name)
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %q has shape [%s], the config says [%s]", name, model.ShapeString(t.Shape), model.ShapeString(shape))
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	r.used[name] = true
	return v, nil
}

// ErrNotEncoder is returned by Detect for a config that is neither BERT nor ALBERT.
var ErrNotEncoder = errors.New("not a BERT or ALBERT config")

// Detect reports whether dir holds a BERT or ALBERT model (by its
// config.json's model_type), and which.
func Detect(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return "", err
	}
	var h struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", fmt.Errorf("parse %s: %w", ConfigFile, err)
	}
	switch t := strings.ToLower(h.ModelType); t {
	case "bert", "albert":
		return t, nil
	}
	return "", ErrNotEncoder
}
