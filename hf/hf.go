// Package hf reads and writes Hugging Face model directories of the Llama
// family — LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and
// GemmaForCausalLM — as tformer models: config.json (decoded by package
// hfconfig, the one decoder for every family) plus model.safetensors or a
// sharded model.safetensors.index.json, in F32, F16 or BF16, tied (no
// lm_head.weight, or one equal to the embedding) or untied. The four
// families share one name table (model.layers.N.self_attn.q_proj.weight,
// ...). (GPT-2 and BERT/ALBERT directories are read by packages hfgpt2 and
// hfbert, which decode their config.json with hfconfig too.)
//
// Reading checks the whole directory before allocating the model: every
// tensor the config implies must be present, in the shard the index names,
// with the shape the config implies and a floating-point dtype, and no
// other tensor may be there; so the allocation is backed by data actually
// in the files. Non-finite weights are refused.
package hf

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

	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/internal/hfdir"
	"github.com/tformer/tformer/internal/stload"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// File names inside a model directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
	IndexFile   = "model.safetensors.index.json"
)

// MaxLayers bounds num_hidden_layers, as checkpoint.MaxLayers does a
// tformer checkpoint's.
const MaxLayers = 1 << 16

// maxIndexBytes bounds model.safetensors.index.json (real ones are tens of
// kilobytes).
const maxIndexBytes = 64 << 20

// Loaded is a model read from a directory.
type Loaded struct {
	Model  *model.Model
	Config hfconfig.Config
	DType  safetensors.DType // the weights' stored type: F32, F16, BF16, or "mixed"
	Notes  []string          // what the reading changed or assumed
}

// llamaTypes are the model_type values this package reads.
var llamaTypes = []string{"llama", "mistral", "qwen2", "gemma", "gemma2"}

// IsLlamaFamily reports whether dir's config.json names a model_type this
// package reads.
func IsLlamaFamily(dir string) bool {
	b, err := hfdir.ReadLimited(filepath.Join(dir, ConfigFile), maxIndexBytes)
	if err != nil {
		return false
	}
	var v struct {
		ModelType string `json:"model_type"`
	}
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	return slices.Contains(llamaTypes, strings.ToLower(v.ModelType))
}

// Load reads the Llama-family model in dir (or in the directory of dir, when
// dir names its config.json or model.safetensors).
func Load(dir string) (*Loaded, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	l, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("load Hugging Face model %s: %w", dir, err)
	}
	return l, nil
}

func load(dir string) (*Loaded, error) {
	h, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	tensors, err := openWeights(dir)
	if err != nil {
		return nil, err
	}
	return FromTensors(h, tensors)
}

// readConfig reads and parses dir's config.json, refusing the families
// and options this package does not run.
func readConfig(dir string) (hfconfig.Config, error) {
	cj, err := hfdir.ReadConfig(dir, maxIndexBytes)
	if err != nil {
		return hfconfig.Config{}, err
	}
	h, err := hfconfig.Parse(cj)
	if err != nil {
		return hfconfig.Config{}, err
	}
	return h, checkFamily(h)
}

// checkFamily refuses the model types and options this package does not run.
func checkFamily(h hfconfig.Config) error {
	switch {
	case !slices.Contains(llamaTypes, h.ModelType):
		return fmt.Errorf("config.json: model_type %s is not a Llama-family model (want %s; GPT-2 and BERT directories are read by their own loaders)", h.ModelType, strings.Join(llamaTypes, ", "))
	}
	return nil
}

// openWeights reads dir's model.safetensors, or the shards its
// model.safetensors.index.json names, and returns every tensor by name. The
// index and the shards must agree: each tensor the index lists is in the
// shard it names, and each shard holds only tensors the index places there.
func openWeights(dir string) (map[string]safetensors.Tensor, error) {
	src, _, err := readShards(dir, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]safetensors.Tensor, len(src))
	for n, s := range src {
		out[n] = s.T
	}
	return out, nil
}

// readShards is openWeights returning each tensor as a source: read into
// memory, or, when lazy, its header only with the shard's Reader to read
// its bytes from (the Readers are returned to be closed, also on error).
func readShards(dir string, lazy bool) (map[string]stload.Source, []*safetensors.Reader, error) {
	var readers []*safetensors.Reader
	open := func(p string) (*safetensors.File, *safetensors.Reader, error) {
		if !lazy {
			f, err := safetensors.Read(p)
			return f, nil, err
		}
		r, err := safetensors.Open(p)
		if err != nil {
			return nil, nil, err
		}
		readers = append(readers, r)
		return r.File, r, nil
	}
	out, err := shardSources(dir, open)
	return out, readers, err
}

func shardSources(dir string, open func(p string) (*safetensors.File, *safetensors.Reader, error)) (map[string]stload.Source, error) {
	out := map[string]stload.Source{}
	if p := filepath.Join(dir, WeightsFile); exists(p) {
		f, r, err := open(p)
		if err != nil {
			return nil, err
		}
		for _, t := range f.Tensors {
			out[t.Name] = stload.Source{T: t, R: r}
		}
		return out, nil
	}
	ip := filepath.Join(dir, IndexFile)
	if !exists(ip) {
		if exists(filepath.Join(dir, "pytorch_model.bin")) {
			return nil, errors.New("only safetensors weights are read, and this directory has pytorch_model.bin (PyTorch's pickle format); re-save it with save_pretrained(dir, safe_serialization=True)")
		}
		return nil, fmt.Errorf("no %s or %s in the directory", WeightsFile, IndexFile)
	}
	b, err := hfdir.ReadLimited(ip, maxIndexBytes)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON with a weight_map object: %w", IndexFile, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s has no weight_map entries", IndexFile)
	}
	byShard := map[string][]string{}
	for n, s := range idx.WeightMap {
		if s == "" || s != filepath.Base(s) || strings.HasPrefix(s, ".") {
			return nil, fmt.Errorf("%s places %s in %q, which is not a file name in the directory", IndexFile, n, s)
		}
		byShard[s] = append(byShard[s], n)
	}
	shards := make([]string, 0, len(byShard))
	for s := range byShard {
		shards = append(shards, s)
	}
	sort.Strings(shards)
	for _, s := range shards { // all present before any is read
		if p := filepath.Join(dir, s); !exists(p) {
			names := byShard[s]
			sort.Strings(names)
			return nil, fmt.Errorf("shard %s, which %s names (for %s and %d more), is missing", s, IndexFile, names[0], len(names)-1)
		}
	}
	for _, s := range shards {
		f, r, err := open(filepath.Join(dir, s))
		if err != nil {
			return nil, err
		}
		for _, t := range f.Tensors {
			if want, ok := idx.WeightMap[t.Name]; !ok || want != s {
				where := "does not list it"
				if ok {
					where = "places it in " + want
				}
				return nil, fmt.Errorf("shard %s holds %s, but %s %s", s, t.Name, IndexFile, where)
			}
			out[t.Name] = stload.Source{T: t, R: r}
		}
		for _, n := range byShard[s] {
			if _, ok := f.Get(n); !ok {
				return nil, fmt.Errorf("shard %s lacks %s, which %s places there", s, n, IndexFile)
			}
		}
	}
	return out, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// entry is one Hugging Face tensor and where its values go in tformer's
// layout: elements [off, off+size) of tensor tf.
type entry struct {
	hf    string
	tf    string
	off   int
	shape []int
}

// tensorsPerLayer is the number of Hugging Face tensors of one layer of c.
func tensorsPerLayer(c model.Config) int {
	n := 2 + 4 + 3 // two norms, q k v o, gate up down
	if c.QKVBias() {
		n += 3
	}
	if c.LinearBias() {
		n += 4
	}
	return n
}

// names lists the Hugging Face tensors of a Llama-family model of config c,
// layer by layer (a shared block appears once per layer that uses it), and
// where each goes in tformer's layout. c must be valid.
func names(c model.Config) []entry {
	d, f := c.DModel, c.DFF
	qd, kd := c.QDim(), c.KVDim()
	es := []entry{{"model.embed_tokens.weight", "wte", 0, []int{c.Vocab, d}}}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		a := fmt.Sprintf("attn.%d.", c.AttnIndex(l))
		m := fmt.Sprintf("ffn.%d.", c.FFNIndex(l))
		es = append(es,
			entry{p + "input_layernorm.weight", a + "ln.w", 0, []int{d}},
			entry{p + "self_attn.q_proj.weight", a + "qkv.w", 0, []int{qd, d}},
			entry{p + "self_attn.k_proj.weight", a + "qkv.w", qd * d, []int{kd, d}},
			entry{p + "self_attn.v_proj.weight", a + "qkv.w", (qd + kd) * d, []int{kd, d}})
		if c.QKVBias() {
			es = append(es,
				entry{p + "self_attn.q_proj.bias", a + "qkv.b", 0, []int{qd}},
				entry{p + "self_attn.k_proj.bias", a + "qkv.b", qd, []int{kd}},
				entry{p + "self_attn.v_proj.bias", a + "qkv.b", qd + kd, []int{kd}})
		}
		es = append(es, entry{p + "self_attn.o_proj.weight", a + "proj.w", 0, []int{d, qd}})
		if c.LinearBias() {
			es = append(es, entry{p + "self_attn.o_proj.bias", a + "proj.b", 0, []int{d}})
		}
		preFFN := "post_attention_layernorm.weight" // Llama's name for the pre-FFN norm
		if c.PostNorms {
			// Gemma 2: post_attention_layernorm is the norm after the
			// attention; the FFN's norms are pre_ and post_feedforward.
			es = append(es, entry{p + "post_attention_layernorm.weight", a + "postln.w", 0, []int{d}})
			preFFN = "pre_feedforward_layernorm.weight"
		}
		es = append(es,
			entry{p + preFFN, m + "ln.w", 0, []int{d}},
			entry{p + "mlp.gate_proj.weight", m + "gate.w", 0, []int{f, d}},
			entry{p + "mlp.up_proj.weight", m + "up.w", 0, []int{f, d}},
			entry{p + "mlp.down_proj.weight", m + "down.w", 0, []int{d, f}})
		if c.LinearBias() {
			es = append(es,
				entry{p + "mlp.gate_proj.bias", m + "gate.b", 0, []int{f}},
				entry{p + "mlp.up_proj.bias", m + "up.b", 0, []int{f}},
				entry{p + "mlp.down_proj.bias", m + "down.b", 0, []int{d}})
		}
		if c.PostNorms {
			es = append(es, entry{p + "post_feedforward_layernorm.weight", m + "postln.w", 0, []int{d}})
		}
	}
	es = append(es, entry{"model.norm.weight", "lnf.w", 0, []int{d}})
	if !c.Tie {
		es = append(es, entry{"lm_head.weight", "lm_head", 0, []int{c.Vocab, d}})
	}
	return es
}

// isBuffer reports whether name is a non-parameter buffer some exporters
// save (RoPE's inverse frequencies), which is recomputed rather than read.
func isBuffer(name string) bool {
	return strings.HasPrefix(name, "model.layers.") && strings.HasSuffix(name, ".self_attn.rotary_emb.inv_freq")
}

// plan is a checked directory: the config to build, the tensors to read
// and whether a tied model also stores lm_head.weight (which must then
// equal the embedding).
type plan struct {
	c       model.Config
	es      []entry
	l       *Loaded
	dtype   safetensors.DType
	hasHead bool
}

// check checks the decoded config h against the tensor table (names,
// shapes, dtypes; the data is not looked at) before anything is allocated
// from the config.
func check(h hfconfig.Config, tensors map[string]safetensors.Tensor) (*plan, error) {
	if err := checkFamily(h); err != nil {
		return nil, err
	}
	c := h.Model
	l := &Loaded{Config: h}
	if c.SlidingWindow > 0 && c.SlidingWindow < c.MaxSeq {
		l.Notes = append(l.Notes, fmt.Sprintf("sliding_window %d: each query attends to itself and the %d positions before it", c.SlidingWindow, c.SlidingWindow-1))
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if c.MaxSeq > model.MaxRotaryPositions {
		return nil, fmt.Errorf("config.json: max_position_embeddings is %d, more than the limit of %d (the rotary tables would hold %d floats)", c.MaxSeq, model.MaxRotaryPositions, int64(c.MaxSeq)*int64(c.HeadDim()))
	}
	if c.Layers > MaxLayers {
		return nil, fmt.Errorf("config.json: num_hidden_layers is %d, more than the limit of %d", c.Layers, MaxLayers)
	}
	// The names to expect are listed per layer: first bound the layer count
	// by the tensors actually present, so the list costs nothing absurd.
	if need := int64(c.Layers) * int64(tensorsPerLayer(c)); need > int64(len(tensors)) {
		return nil, fmt.Errorf("config.json's num_hidden_layers %d implies at least %d tensors, and the weights hold %d", c.Layers, need, len(tensors))
	}
	// A tied config may still store lm_head.weight; it must equal the
	// embedding.
	head, hasHead := tensors["lm_head.weight"]
	if hasHead && c.Tie {
		if !head.DType.IsFloat() {
			return nil, fmt.Errorf("lm_head.weight has dtype %s; want a floating-point type (F32, F16, BF16)", head.DType)
		}
	}
	es := names(c)
	want := make(map[string]bool, len(es))
	dtype := safetensors.DType("")
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
		switch {
		case dtype == "":
			dtype = t.DType
		case dtype != t.DType:
			dtype = "mixed"
		}
	}
	var extra []string
	for n := range tensors {
		if !want[n] && !isBuffer(n) && !(c.Tie && n == "lm_head.weight") {
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
		return nil, fmt.Errorf("the weights have tensors a %s of this config.json does not: %s%s (num_hidden_layers %d)", h.ModelType, strings.Join(extra, ", "), more, c.Layers)
	}
	if c.Tie && hasHead && !slices.Equal(head.Shape, []int{c.Vocab, c.DModel}) {
		return nil, fmt.Errorf("lm_head.weight has shape [%s], config.json implies [%dx%d]", model.ShapeString(head.Shape), c.Vocab, c.DModel)
	}

	return &plan{c: c, es: es, l: l, dtype: dtype, hasHead: hasHead}, nil
}

// FromTensors builds the model of the decoded config h from its Hugging
// Face tensors (by name, as openWeights returns them). Everything is
// checked before the model is allocated.
func FromTensors(h hfconfig.Config, tensors map[string]safetensors.Tensor) (*Loaded, error) {
	p, err := check(h, tensors)
	if err != nil {
		return nil, err
	}
	c, es, l, dtype, hasHead := p.c, p.es, p.l, p.dtype, p.hasHead
	head := tensors["lm_head.weight"]
	m, err := model.New(c)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	for _, e := range es {
		v, err := tensors[e.hf].Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.hf, err)
		}
		if err := checkFinite(e.hf, v); err != nil {
			return nil, err
		}
		copy(m.Param(e.tf)[e.off:], v)
	}
	if c.Tie && hasHead {
		v, err := head.Float32s()
		if err != nil {
			return nil, fmt.Errorf("lm_head.weight: %w", err)
		}
		for j, x := range m.Param("wte") {
			if math.Float32bits(x) != math.Float32bits(v[j]) {
				return nil, fmt.Errorf("tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight (first at element %d: %g against %g); set tie_word_embeddings false to read it as an untied model", j, v[j], x)
			}
		}
		l.Notes = append(l.Notes, "lm_head.weight equals the embedding: read as tied")
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

// ReadWeights reads dir's model.safetensors, or the shards its
// model.safetensors.index.json names (checked against each other as Load
// checks them), and returns every tensor by name. Package hfbart reads
// BART directories with it.
func ReadWeights(dir string) (map[string]safetensors.Tensor, error) { return openWeights(dir) }

// LoadAs reads the Llama-family model in dir (as Load does) for
// inference, directly in dtype dt (see model.NewInference): BF16 weight
// matrices are kept with the bits they are stored with, F32 and F16 ones
// are rounded to bf16 or quantized to int8 a chunk of rows at a time, and
// the files are read tensor by tensor rather than whole, so no float32
// copy of the narrowed weights is ever held. The model is bitwise the one
// Load then Quantize(dt) gives. Everything Load checks is checked, the
// config against the tensor table before the model is allocated.
func LoadAs(dir string, dt model.DType) (*Loaded, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	l, err := loadAs(dir, dt)
	if err != nil {
		return nil, fmt.Errorf("load Hugging Face model %s: %w", dir, err)
	}
	return l, nil
}

func loadAs(dir string, dt model.DType) (*Loaded, error) {
	h, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	src, readers, err := readShards(dir, true)
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	return fromSources(h, src, dt)
}

// FromTensorsAs is FromTensors building the model directly in dtype dt,
// as LoadAs does.
func FromTensorsAs(h hfconfig.Config, tensors map[string]safetensors.Tensor, dt model.DType) (*Loaded, error) {
	src := make(map[string]stload.Source, len(tensors))
	for n, t := range tensors {
		src[n] = stload.Source{T: t}
	}
	return fromSources(h, src, dt)
}

func fromSources(h hfconfig.Config, src map[string]stload.Source, dt model.DType) (*Loaded, error) {
	headers := make(map[string]safetensors.Tensor, len(src))
	for n, s := range src {
		headers[n] = s.T
	}
	p, err := check(h, headers)
	if err != nil {
		return nil, err
	}
	m, err := model.NewInference(p.c, dt)
	if err != nil {
		return nil, err
	}
	var ld stload.Loader
	for _, e := range p.es {
		if err := ld.Fill(m, e.tf, e.off, src[e.hf], e.hf); err != nil {
			return nil, err
		}
	}
	l := p.l
	if p.c.Tie && p.hasHead {
		i, head, emb, err := stload.FirstDiff(src["lm_head.weight"], src["model.embed_tokens.weight"])
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			return nil, fmt.Errorf("tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight (first at element %d: %g against %g); set tie_word_embeddings false to read it as an untied model", i, head, emb)
		}
		l.Notes = append(l.Notes, "lm_head.weight equals the embedding: read as tied")
	}
	switch {
	case dt == model.BF16 && p.dtype == safetensors.BF16:
		l.Notes = append(l.Notes, "weights are stored as BF16: the weight matrices are kept in bf16 as stored, the norms widened to float32 (exactly)")
	case dt == model.BF16:
		l.Notes = append(l.Notes, fmt.Sprintf("weights are stored as %s: the weight matrices were rounded to bf16 (nearest even), the norms kept in float32", p.dtype))
	case dt == model.Int8:
		l.Notes = append(l.Notes, fmt.Sprintf("weights are stored as %s: the weight matrices were quantized to int8 (one scale per row), the norms kept in float32", p.dtype))
	case p.dtype == safetensors.F32:
	case p.dtype == safetensors.F16 || p.dtype == safetensors.BF16:
		l.Notes = append(l.Notes, fmt.Sprintf("weights are stored as %s and were widened to float32 (exactly)", p.dtype))
	default:
		l.Notes = append(l.Notes, fmt.Sprintf("weights are stored as %s and were converted to float32", p.dtype))
	}
	l.Model, l.DType = m, p.dtype
	return l, nil
}
