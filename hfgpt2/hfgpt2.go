// Package hfgpt2 reads and writes GPT-2 models in the layout of Hugging Face
// transformers: a directory holding config.json and model.safetensors, as
// GPT2LMHeadModel.save_pretrained writes them, and the tokenizer's
// vocab.json and merges.txt.
//
// Hugging Face's GPT-2 stores its projections as Conv1D modules whose weight
// is (in, out), the transpose of PyTorch's Linear and of tformer's layout;
// reading transposes them to (out, in) and writing transposes them back. Its
// fused c_attn holds q, k and v in that order, as tformer's qkv does. Tensor
// names may carry the "transformer." prefix (save_pretrained of
// GPT2LMHeadModel) or not (GPT2Model, and OpenAI's converted files); the
// causal-mask buffers h.N.attn.bias and h.N.attn.masked_bias that some files
// carry are ignored. A tied model stores its embedding once, as wte, with no
// lm_head.weight.
//
// Cross-layer sharing cannot be expressed in this format: Save refuses a
// model with sharing unless Options.ExpandShared asks for the equivalent
// unshared model (one copy of each shared block per layer).
package hfgpt2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/internal/atomicfile"
	"github.com/tformer/tformer/internal/gpt2arch"
	"github.com/tformer/tformer/internal/hfdir"
	"github.com/tformer/tformer/internal/stload"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// File names inside a model directory.
const (
	ConfigFile  = hfdir.ConfigFile
	WeightsFile = hfdir.WeightsFile
)

// Loaded is a model read from a Hugging Face GPT-2 directory.
type Loaded struct {
	Model *model.Model
	// Tokenizer is the directory's vocab.json + merges.txt, or nil if it
	// has none. Its Name is "gpt2" when the files are GPT-2's own.
	Tokenizer *tokenizer.GPT2
	// DType is the element type the weights were stored in (F32, F16,
	// BF16), or "mixed".
	DType safetensors.DType
	// Notes says what a user should know about the conversion, one
	// sentence each (for example an lm_head loaded as untied).
	Notes []string
}

// ParseConfig reads a GPT-2 config.json into a tformer Config, decoded by
// package hfconfig (the one config.json decoder): absent fields take
// transformers' GPT2Config defaults (GPT-2 small's shape, which the tensors
// must then have); n_inner absent or null means 4·n_embd. Settings tformer's GPT-2 does not compute are errors:
// a layer_norm_epsilon other than 1e-5, an activation other than the tanh
// GELU (gelu_new, gelu_pytorch_tanh), attention scaling switched off or by
// layer index, cross-attention.
func ParseConfig(b []byte) (model.Config, error) {
	mt, err := hfconfig.ModelTypeOf(b)
	if err != nil {
		return model.Config{}, err
	}
	if mt != "gpt2" && mt != "" {
		return model.Config{}, fmt.Errorf("config.json: model_type is %q; only GPT-2 (\"gpt2\") models can be read", mt)
	}
	h, err := hfconfig.ParseAs(b, "gpt2")
	if err != nil {
		return model.Config{}, err
	}
	c := h.Model
	if eps := c.LayerNormEps; math.Abs(eps-1e-5) > 1e-12 {
		return c, fmt.Errorf("config.json: layer_norm_epsilon is %g; tformer's GPT-2 LayerNorm uses 1e-5", eps)
	}
	if c.ErfGELU() {
		return c, errors.New("config.json: activation_function \"gelu\" (the exact erf form) is not supported; tformer's GPT-2 computes the tanh GELU (gelu_new, gelu_pytorch_tanh)")
	}
	c.LayerNormEps = 0 // the default, 1e-5
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config.json: %w", err)
	}
	return c, nil
}

// hfTensor describes one Hugging Face tensor of a layer or of the model.
type hfTensor struct {
	hf     string // name without the "transformer." prefix; %d is the layer
	tf     string // tformer name; %d is the block
	conv1D bool   // stored (in, out): transpose
	attn   bool   // part of the attention block (else FFN), for per-layer tensors
}

var layerTensors = []hfTensor{
	{"h.%d.ln_1.weight", "attn.%d.ln.w", false, true},
	{"h.%d.ln_1.bias", "attn.%d.ln.b", false, true},
	{"h.%d.attn.c_attn.weight", "attn.%d.qkv.w", true, true},
	{"h.%d.attn.c_attn.bias", "attn.%d.qkv.b", false, true},
	{"h.%d.attn.c_proj.weight", "attn.%d.proj.w", true, true},
	{"h.%d.attn.c_proj.bias", "attn.%d.proj.b", false, true},
	{"h.%d.ln_2.weight", "ffn.%d.ln.w", false, false},
	{"h.%d.ln_2.bias", "ffn.%d.ln.b", false, false},
	{"h.%d.mlp.c_fc.weight", "ffn.%d.up.w", true, false},
	{"h.%d.mlp.c_fc.bias", "ffn.%d.up.b", false, false},
	{"h.%d.mlp.c_proj.weight", "ffn.%d.down.w", true, false},
	{"h.%d.mlp.c_proj.bias", "ffn.%d.down.b", false, false},
}

var topTensors = []hfTensor{
	{"wte.weight", "wte", false, false},
	{"wpe.weight", "wpe", false, false},
	{"ln_f.weight", "lnf.w", false, false},
	{"ln_f.bias", "lnf.b", false, false},
}

const prefix = "transformer."

// maskBuffer matches the causal-mask buffers some GPT-2 files carry.
var maskBuffer = regexp.MustCompile(`^h\.\d+\.attn\.(bias|masked_bias)$`)

// hfShape returns the shape the Hugging Face tensor for tformer tensor tf
// has under config c: tformer's shape, reversed for Conv1D weights. It is
// computed from c alone (no layout is built), so that a config with absurd
// sizes costs nothing before the file's tensors have been checked.
func hfShape(c model.Config, tf string, conv bool) []int {
	d, f := c.DModel, c.DFF
	var s []int
	switch suffix := tf[strings.LastIndex(tf, ".")+1:]; {
	case tf == "wte":
		s = []int{c.Vocab, d}
	case tf == "wpe":
		s = []int{c.MaxSeq, d}
	case strings.HasSuffix(tf, "qkv.w"):
		s = []int{3 * d, d}
	case strings.HasSuffix(tf, "qkv.b"):
		s = []int{3 * d}
	case strings.HasSuffix(tf, "proj.w"):
		s = []int{d, d}
	case strings.HasSuffix(tf, "up.w"):
		s = []int{f, d}
	case strings.HasSuffix(tf, "up.b"):
		s = []int{f}
	case strings.HasSuffix(tf, "down.w"):
		s = []int{d, f}
	case suffix == "w" || suffix == "b": // LayerNorms and the other biases
		s = []int{d}
	}
	if conv {
		s[0], s[1] = s[1], s[0]
	}
	return s
}

// job is one tensor of the file and where it goes: tformer's tensor tf,
// transposed when conv (a Conv1D weight, stored (in, out)).
type job struct {
	t    safetensors.Tensor
	tf   string
	conv bool
}

// plan is a checked file: the config, the tensors to read (jobs[0] is
// wte), lm_head.weight when stored, the stored dtype and notes.
type plan struct {
	cfg     model.Config
	jobs    []job
	head    safetensors.Tensor
	hasHead bool
	dtype   safetensors.DType
	notes   []string
}

// check checks config.json against the tensor table of f (names, shapes
// and dtypes; the data is not looked at) before anything is allocated.
func check(configJSON []byte, f *safetensors.File) (*plan, error) {
	cfg, err := ParseConfig(configJSON)
	if err != nil {
		return nil, err
	}
	// Index the tensors by their name without the prefix.
	byName := map[string]safetensors.Tensor{}
	var dtype safetensors.DType
	for _, t := range f.Tensors {
		name := strings.TrimPrefix(t.Name, prefix)
		if maskBuffer.MatchString(name) {
			continue
		}
		if _, dup := byName[name]; dup {
			return nil, fmt.Errorf("model.safetensors: tensor %q appears both with and without the %q prefix", name, prefix)
		}
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("model.safetensors: tensor %q has dtype %s; want a floating-point type (F32, F16, BF16)", t.Name, t.DType)
		}
		switch {
		case dtype == "":
			dtype = t.DType
		case dtype != t.DType:
			dtype = "mixed"
		}
		byName[name] = t
	}
	head, hasHead := byName["lm_head.weight"]
	delete(byName, "lm_head.weight")
	var notes []string
	if !cfg.Tie && !hasHead {
		return nil, errors.New("config.json sets tie_word_embeddings false but model.safetensors has no lm_head.weight")
	}

	// Check every shape before allocating the model, so that the allocation
	// is backed by data actually in the file.
	var jobs []job
	need := func(hf, tf string, conv bool) error {
		t, ok := byName[hf]
		if !ok {
			return fmt.Errorf("model.safetensors has no tensor %q (with or without the %q prefix), which config.json implies", hf, prefix)
		}
		delete(byName, hf)
		want := hfShape(cfg, tf, conv)
		if !slices.Equal(t.Shape, want) {
			extra := ""
			if conv {
				extra = " (Conv1D weights are stored (in, out))"
			}
			return fmt.Errorf("model.safetensors: tensor %q has shape %v, config.json implies %v%s", t.Name, t.Shape, want, extra)
		}
		jobs = append(jobs, job{t, tf, conv})
		return nil
	}
	for _, t := range topTensors {
		if err := need(t.hf, t.tf, false); err != nil {
			return nil, err
		}
	}
	for l := 0; l < cfg.Layers; l++ {
		for _, t := range layerTensors {
			if err := need(fmt.Sprintf(t.hf, l), fmt.Sprintf(t.tf, l), t.conv1D); err != nil {
				return nil, err
			}
		}
	}
	if len(byName) > 0 {
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		slices.Sort(names)
		more := ""
		if len(names) > 3 {
			more = fmt.Sprintf(" and %d more", len(names)-3)
			names = names[:3]
		}
		return nil, fmt.Errorf("model.safetensors has tensors a GPT-2 of this config.json does not: %s%s", strings.Join(names, ", "), more)
	}
	if hasHead {
		want := []int{cfg.Vocab, cfg.DModel}
		if !slices.Equal(head.Shape, want) {
			return nil, fmt.Errorf("model.safetensors: lm_head.weight has shape %v, config.json implies %v", head.Shape, want)
		}
	}

	return &plan{cfg: cfg, jobs: jobs, head: head, hasHead: hasHead, dtype: dtype, notes: notes}, nil
}

// FromFiles builds a model from the contents of config.json and a parsed
// model.safetensors. Every tensor the config needs must be present with the
// shape it implies; any other tensor (except the attention mask buffers) is
// an error.
func FromFiles(configJSON []byte, f *safetensors.File) (*Loaded, error) {
	p, err := check(configJSON, f)
	if err != nil {
		return nil, err
	}
	cfg, jobs, head, hasHead, dtype, notes := p.cfg, p.jobs, p.head, p.hasHead, p.dtype, p.notes
	var wte, lmHead []float32
	if hasHead {
		if lmHead, err = head.Float32s(); err != nil {
			return nil, fmt.Errorf("model.safetensors: %w", err)
		}
		if wte, err = jobs[0].t.Float32s(); err != nil { // jobs[0] is wte
			return nil, fmt.Errorf("model.safetensors: %w", err)
		}
		if cfg.Tie && !sameBits(wte, lmHead) {
			cfg.Tie = false
			notes = append(notes, "lm_head.weight differs from wte.weight although config.json ties them; it is loaded as a separate (untied) output layer")
		}
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		v := wte // already converted for the tie check, when lm_head is present
		if j.tf != "wte" || v == nil {
			if v, err = j.t.Float32s(); err != nil {
				return nil, fmt.Errorf("model.safetensors: %w", err)
			}
		}
		dst := m.Param(j.tf)
		if j.conv {
			in, out := j.t.Shape[0], j.t.Shape[1]
			transpose(dst, v, in, out)
		} else {
			copy(dst, v)
		}
	}
	if !cfg.Tie {
		copy(m.Param("lm_head"), lmHead)
	}
	switch dtype {
	case "", safetensors.F32:
	case safetensors.F16, safetensors.BF16:
		notes = append(notes, fmt.Sprintf("weights are stored as %s and were widened to float32 (exactly)", dtype))
	default:
		notes = append(notes, fmt.Sprintf("weights are stored as %s and were converted to float32", dtype))
	}
	return &Loaded{Model: m, DType: dtype, Notes: notes}, nil
}

// sameBits reports whether a and b hold bit-identical values.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// transpose writes the (cols, rows) transpose of src, a rows×cols
// row-major matrix, into dst.
func transpose(dst, src []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		row := src[r*cols : (r+1)*cols]
		for c, v := range row {
			dst[c*rows+r] = v
		}
	}
}

// Load reads a Hugging Face GPT-2 directory: config.json, model.safetensors
// and, if present, the tokenizer's vocab.json and merges.txt. path may also
// name the model.safetensors file inside the directory.
func Load(path string) (*Loaded, error) {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	l, err := load(dir)
	if err != nil {
		return nil, fmt.Errorf("load Hugging Face model %s: %w", dir, err)
	}
	return l, nil
}

func load(dir string) (*Loaded, error) {
	cj, f, err := hfdir.Read(dir)
	if err != nil {
		return nil, err
	}
	l, err := FromFiles(cj, f)
	if err != nil {
		return nil, err
	}
	if err := dirTokenizer(l, dir); err != nil {
		return nil, err
	}
	return l, nil
}

// dirTokenizer sets l's tokenizer from dir's vocab.json and merges.txt.
func dirTokenizer(l *Loaded, dir string) error {
	tok, err := readTokenizer(dir)
	if err != nil {
		return err
	}
	return setTokenizer(l, tok)
}

// tokenizerFiles is what readTokenizer found: the tokenizer, or a note
// on why there is none.
type tokenizerFiles struct {
	tok  *tokenizer.GPT2
	note string
}

// readTokenizer reads dir's vocab.json and merges.txt, when it has both.
func readTokenizer(dir string) (tokenizerFiles, error) {
	hasV, hasM := hfdir.Exists(filepath.Join(dir, "vocab.json")), hfdir.Exists(filepath.Join(dir, "merges.txt"))
	switch {
	case hasV && hasM:
		tok, err := tokenizer.LoadGPT2Dir(dir)
		if err != nil {
			return tokenizerFiles{}, err
		}
		return tokenizerFiles{tok: tok}, nil
	case hasV || hasM:
		return tokenizerFiles{note: "the directory has only one of vocab.json and merges.txt, so no tokenizer was read"}, nil
	}
	return tokenizerFiles{}, nil
}

// setTokenizer gives l the tokenizer readTokenizer found, checked against
// the model's vocabulary.
func setTokenizer(l *Loaded, tf tokenizerFiles) error {
	if tf.note != "" {
		l.Notes = append(l.Notes, tf.note)
	}
	tok := tf.tok
	if tok == nil {
		return nil
	}
	if tok.VocabSize() > l.Model.Config.Vocab {
		return fmt.Errorf("the tokenizer has %d tokens but the model only %d", tok.VocabSize(), l.Model.Config.Vocab)
	}
	l.Tokenizer = tok
	if tok.Name() != "gpt2" {
		l.Notes = append(l.Notes, "the directory's vocab.json/merges.txt are not GPT-2's own tokenizer")
	}
	return nil
}

// Options control Save.
type Options struct {
	// ExpandShared writes a model with cross-layer sharing as the equivalent
	// unshared GPT-2, one copy of each shared block per layer. Without it
	// Save refuses such a model.
	ExpandShared bool
}

// CheckWritable reports why m cannot be saved with opts, or nil if it can.
func CheckWritable(m *model.Model, opts Options) error {
	if err := gpt2arch.Check(m); err != nil {
		return err
	}
	c := m.Config
	if c.Share != model.ShareNone && !opts.ExpandShared {
		return fmt.Errorf("the Hugging Face GPT-2 format cannot express cross-layer sharing (this model shares %s in %d group(s)); Options.ExpandShared writes one copy of each shared block per layer (same outputs, %d instead of %d stored parameters)",
			c.Share, c.Groups, expandedParams(c), c.UniqueParams())
	}
	return nil
}

// expandedParams is the number of stored parameters of c without sharing.
func expandedParams(c model.Config) int64 {
	u := c
	u.Share, u.Groups = model.ShareNone, 1
	return u.UniqueParams()
}

// Encode returns the config.json and model.safetensors content of m in the
// layout GPT2LMHeadModel reads: "transformer."-prefixed names, Conv1D
// weights (in, out), lm_head.weight only when untied, and the metadata
// format "pt" transformers expects.
func Encode(m *model.Model, opts Options) ([]byte, *safetensors.File, error) {
	c := m.Config
	if err := CheckWritable(m, opts); err != nil {
		return nil, nil, err
	}
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}}
	add := func(hf, tf string, conv bool) {
		ti, _ := m.Layout.Lookup(tf)
		v := m.Param(tf)
		shape := ti.Shape
		if conv {
			rows, cols := ti.Shape[0], ti.Shape[1]
			t := make([]float32, len(v))
			transpose(t, v, rows, cols)
			v, shape = t, []int{cols, rows}
		}
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(prefix+hf, shape, v))
	}
	add("wte.weight", "wte", false)
	add("wpe.weight", "wpe", false)
	for l := 0; l < c.Layers; l++ {
		for _, t := range layerTensors {
			blk := c.FFNIndex(l)
			if t.attn {
				blk = c.AttnIndex(l)
			}
			add(fmt.Sprintf(t.hf, l), fmt.Sprintf(t.tf, blk), t.conv1D)
		}
	}
	add("ln_f.weight", "lnf.w", false)
	add("ln_f.bias", "lnf.b", false)
	if !c.Tie {
		ti, _ := m.Layout.Lookup("lm_head")
		f.Tensors = append(f.Tensors, safetensors.FromFloat32("lm_head.weight", ti.Shape, m.Param("lm_head")))
	}
	return configJSON(c), f, nil
}

// configJSON writes a GPT-2 config.json for c, with Hugging Face's field
// names and, for fields tformer has no notion of, GPT-2's values — except
// dropout, which is 0: tformer trains without it, and a config declaring
// GPT-2's 0.1 would fine-tune differently from the model as trained.
func configJSON(c model.Config) []byte {
	var inner any // null when it is the default 4·n_embd, as GPT-2's own config has it
	if c.DFF != 4*c.DModel {
		inner = c.DFF
	}
	type kv struct {
		k string
		v any
	}
	fields := []kv{
		{"activation_function", "gelu_new"},
		{"architectures", []string{"GPT2LMHeadModel"}},
		{"attn_pdrop", 0.0},
		{"bos_token_id", tokenizer.GPT2EndOfText},
		{"embd_pdrop", 0.0},
		{"eos_token_id", tokenizer.GPT2EndOfText},
		{"initializer_range", 0.02},
		{"layer_norm_epsilon", 1e-05},
		{"model_type", "gpt2"},
		{"n_ctx", c.MaxSeq},
		{"n_embd", c.DModel},
		{"n_head", c.Heads},
		{"n_inner", inner},
		{"n_layer", c.Layers},
		{"n_positions", c.MaxSeq},
		{"resid_pdrop", 0.0},
		{"scale_attn_by_inverse_layer_idx", false},
		{"scale_attn_weights", true},
		{"tie_word_embeddings", c.Tie},
		{"torch_dtype", "float32"},
		{"use_cache", true},
		{"vocab_size", c.Vocab},
	}
	if c.Vocab <= tokenizer.GPT2EndOfText {
		// GPT-2's <|endoftext|> id is not in this vocabulary.
		fields = slices.DeleteFunc(fields, func(f kv) bool { return f.k == "bos_token_id" || f.k == "eos_token_id" })
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range fields {
		v, _ := json.Marshal(f.v)
		fmt.Fprintf(&b, "  %q: %s", f.k, v)
		if i < len(fields)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// Save writes m into dir (created if needed) as config.json and
// model.safetensors, and tok's vocab.json and merges.txt when tok is a
// byte-level BPE tokenizer such as GPT-2's (tok may be nil). Everything is
// checked before anything is written, and each file is written atomically.
// It returns notes for the user (for example that sharing was expanded).
func Save(dir string, m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]string, error) {
	notes, err := save(dir, m, tok, opts)
	if err != nil {
		return nil, fmt.Errorf("save Hugging Face model %s: %w", dir, err)
	}
	return notes, nil
}

func save(dir string, m *model.Model, tok tokenizer.Tokenizer, opts Options) ([]string, error) {
	cj, f, err := Encode(m, opts)
	if err != nil {
		return nil, err
	}
	var notes []string
	if c := m.Config; c.Share != model.ShareNone {
		notes = append(notes, fmt.Sprintf("cross-layer sharing (%s, %d group(s)) was expanded into per-layer copies: %d stored parameters instead of %d",
			c.Share, c.Groups, expandedParams(c), c.UniqueParams()))
	}
	bpe, isBPE := tok.(*tokenizer.GPT2)
	_, isByte := tok.(tokenizer.Byte)
	switch {
	case isBPE && bpe.VocabSize() > m.Config.Vocab:
		return nil, fmt.Errorf("the %s tokenizer has %d tokens but the model only %d", bpe.Name(), bpe.VocabSize(), m.Config.Vocab)
	case isByte && m.Config.Vocab < 256:
		isByte = false
		notes = append(notes, fmt.Sprintf("the directory has no tokenizer files: the \"byte\" tokenizer has 256 tokens, the model only %d", m.Config.Vocab))
	case tok != nil && !isBPE && !isByte:
		notes = append(notes, fmt.Sprintf("the directory has no tokenizer files: the %q tokenizer has no vocab.json/merges.txt", tok.Name()))
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
	var keep []string // the tokenizer files this model's tokenizer has
	switch {
	case isBPE:
		if err := bpe.WriteDir(dir); err != nil {
			return nil, err
		}
		keep = []string{"vocab.json", "merges.txt"}
	case isByte:
		// A byte-level BPE with no merges whose ids are the byte values,
		// so that other tools read the model's tokens as tformer does.
		if err := atomicfile.WriteFile(filepath.Join(dir, "tokenizer.json"), tokenizer.ByteTokenizerJSON(), 0o644); err != nil {
			return nil, err
		}
		keep = []string{"tokenizer.json"}
	}
	// Tokenizer files left from an earlier model would be read as this
	// model's tokenizer.
	for _, name := range []string{"vocab.json", "merges.txt", "tokenizer.json"} {
		if slices.Contains(keep, name) {
			continue
		}
		p := filepath.Join(dir, name)
		if hfdir.Exists(p) {
			if err := os.Remove(p); err != nil {
				return nil, err
			}
			notes = append(notes, fmt.Sprintf("removed the directory's old %s, which this model's tokenizer does not use", name))
		}
	}
	return notes, nil
}

// LoadAs reads a Hugging Face GPT-2 directory (as Load does) for
// inference, directly in dtype dt (see model.NewInference):
// model.safetensors is read tensor by tensor, the matrices stored as
// they are are narrowed a chunk of rows at a time (a BF16 one keeps its
// bits), and each Conv1D weight, which must be transposed, is decoded
// whole — one tensor of float32 scratch at a time. The model is bitwise
// the one Load then Quantize(dt) gives.
func LoadAs(path string, dt model.DType) (*Loaded, error) {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	l, err := loadAs(dir, dt)
	if err != nil {
		return nil, fmt.Errorf("load Hugging Face model %s: %w", dir, err)
	}
	return l, nil
}

func loadAs(dir string, dt model.DType) (*Loaded, error) {
	cj, r, err := hfdir.Open(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The tokenizer first: the garbage its parsing leaves is collected
	// while the heap is small, instead of piling up to the collector's
	// target of twice the model (the peak would be that).
	tok, err := readTokenizer(dir)
	if err != nil {
		return nil, err
	}
	l, err := fromFileAs(cj, r.File, r, dt)
	if err != nil {
		return nil, err
	}
	if err := setTokenizer(l, tok); err != nil {
		return nil, err
	}
	return l, nil
}

// FromFilesAs is FromFiles building the model directly in dtype dt, as
// LoadAs does.
func FromFilesAs(configJSON []byte, f *safetensors.File, dt model.DType) (*Loaded, error) {
	return fromFileAs(configJSON, f, nil, dt)
}

func fromFileAs(configJSON []byte, f *safetensors.File, r *safetensors.Reader, dt model.DType) (*Loaded, error) {
	p, err := check(configJSON, f)
	if err != nil {
		return nil, err
	}
	cfg, notes := p.cfg, p.notes
	src := func(t safetensors.Tensor) stload.Source { return stload.Source{T: t, R: r} }
	if p.hasHead && cfg.Tie {
		i, _, _, err := stload.FirstDiff(src(p.head), src(p.jobs[0].t)) // jobs[0] is wte
		if err != nil {
			return nil, fmt.Errorf("model.safetensors: %w", err)
		}
		if i >= 0 {
			cfg.Tie = false
			notes = append(notes, "lm_head.weight differs from wte.weight although config.json ties them; it is loaded as a separate (untied) output layer")
		}
	}
	m, err := model.NewInference(cfg, dt)
	if err != nil {
		return nil, err
	}
	var ld stload.Loader
	var scratch []float32
	for _, j := range p.jobs {
		label := "model.safetensors: tensor " + j.t.Name
		if !j.conv {
			if err := ld.Fill(m, j.tf, 0, src(j.t), label); err != nil {
				return nil, err
			}
			continue
		}
		v, err := ld.Float32s(src(j.t), label)
		if err != nil {
			return nil, err
		}
		if cap(scratch) < len(v) {
			scratch = make([]float32, len(v))
		}
		t := scratch[:len(v)]
		transpose(t, v, j.t.Shape[0], j.t.Shape[1])
		if err := m.SetFloat32(j.tf, 0, t); err != nil {
			return nil, err
		}
	}
	if !cfg.Tie {
		if err := ld.Fill(m, "lm_head", 0, src(p.head), "model.safetensors: tensor lm_head.weight"); err != nil {
			return nil, err
		}
	}
	switch {
	case dt != model.F32:
		notes = append(notes, fmt.Sprintf("weights are stored as %s: the weight matrices are kept in %s, the norms, biases and positions in float32", p.dtype, dt))
	case p.dtype == "" || p.dtype == safetensors.F32:
	case p.dtype == safetensors.F16 || p.dtype == safetensors.BF16:
		notes = append(notes, fmt.Sprintf("weights are stored as %s and were widened to float32 (exactly)", p.dtype))
	default:
		notes = append(notes, fmt.Sprintf("weights are stored as %s and were converted to float32", p.dtype))
	}
	return &Loaded{Model: m, DType: p.dtype, Notes: notes}, nil
}
