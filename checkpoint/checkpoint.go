// Package checkpoint saves and loads tformer models, optionally with the
// optimizer state needed to resume training, as one safetensors file.
//
// The header's __metadata__ holds "format" (tformer/1), "config" (the model
// Config as JSON, which fixes the tie/share layout) and, for training
// checkpoints, "train" (the TrainState's scalars as JSON). Every stored
// tensor appears once under its layout name ("wte", "attn.0.qkv.w", ...): a
// tied model has no output matrix and a shared block is stored once. Training
// checkpoints add "adamw.m.NAME" and "adamw.v.NAME" per parameter. Files are
// written atomically, so a crash mid-write never destroys the previous one.
//
// Loading checks the header's config against the tensor table (CheckConfig)
// before allocating anything from it, so a small file cannot make the
// loader allocate more than about its own size; Save and Load refuse
// non-finite values and a tokenizer larger than the vocabulary.
package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tformer/tformer/internal/stload"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
	"github.com/tformer/tformer/tokenizer"
)

// Format is the value of the "format" metadata key.
const Format = "tformer/1"

// TrainState is what a training run needs besides the weights to resume.
type TrainState struct {
	Step    int             `json:"step"`    // optimizer steps completed
	Options json.RawMessage `json:"options"` // the trainer's options, as it encoded them
	M, V    []float32       `json:"-"`       // AdamW moments, laid out like the parameters
}

// Checkpoint is a model with what travels with it.
type Checkpoint struct {
	Model     *model.Model
	Tokenizer string      // name of the tokenizer the model was trained with ("byte", ...)
	Train     *TrainState // nil for a weights-only checkpoint
}

// Save writes ck to path atomically. It refuses a model (or optimizer
// state) holding NaN or Inf, so a checkpoint on disk is never poisoned.
func Save(path string, ck *Checkpoint) error {
	m, st := ck.Model, ck.Train
	if err := checkTokenizer(ck.Tokenizer, m.Config); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := CheckFinite("the weights", m.Layout, m.Params); err != nil {
		return fmt.Errorf("save %s: refusing to write a non-finite model: %w", path, err)
	}
	if st != nil && len(st.M) == len(m.Params) && len(st.V) == len(m.Params) {
		if err := CheckFinite("the AdamW first moment", m.Layout, st.M); err != nil {
			return fmt.Errorf("save %s: refusing to write a non-finite optimizer state: %w", path, err)
		}
		if err := CheckFinite("the AdamW second moment", m.Layout, st.V); err != nil {
			return fmt.Errorf("save %s: refusing to write a non-finite optimizer state: %w", path, err)
		}
	}
	f := &safetensors.File{Metadata: map[string]string{
		"format":    Format,
		"config":    m.Config.JSON(),
		"tokenizer": ck.Tokenizer,
	}}
	for _, t := range m.Layout.Tensors {
		f.Tensors = append(f.Tensors, safetensors.FromFloat32(t.Name, t.Shape, m.Params[t.Offset:t.Offset+t.Size]))
	}
	if st != nil {
		if len(st.M) != len(m.Params) || len(st.V) != len(m.Params) {
			return fmt.Errorf("save %s: optimizer state has %d/%d values, model has %d", path, len(st.M), len(st.V), len(m.Params))
		}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		f.Metadata["train"] = string(b)
		for _, t := range m.Layout.Tensors {
			f.Tensors = append(f.Tensors,
				safetensors.FromFloat32("adamw.m."+t.Name, t.Shape, st.M[t.Offset:t.Offset+t.Size]),
				safetensors.FromFloat32("adamw.v."+t.Name, t.Shape, st.V[t.Offset:t.Offset+t.Size]))
		}
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// Load reads a checkpoint written by Save. The TrainState is nil for a
// weights-only file. Any disagreement between the header's config and the
// tensors (a missing, extra or misshapen tensor) is an error.
func Load(path string) (*Checkpoint, error) {
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	ck, err := FromFile(f)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return ck, nil
}

// FromFile builds the model (and training state) held by a parsed file.
func FromFile(f *safetensors.File) (*Checkpoint, error) {
	m, st, err := fromFile(f)
	if err != nil {
		return nil, err
	}
	tok := f.Metadata["tokenizer"]
	if tok == "" {
		tok = "byte"
	}
	return &Checkpoint{Model: m, Tokenizer: tok, Train: st}, nil
}

// MaxLayers bounds the layers a checkpoint's config may apply. With
// cross-layer sharing the layer count is not bounded by the tensors stored,
// yet every applied layer costs activations and time; no sensible model comes
// near this.
const MaxLayers = 1 << 16

// knownVocab is the vocabulary of each built-in tokenizer a checkpoint can
// name.
var knownVocab = map[string]int{"byte": 256, "gpt2": tokenizer.GPT2Vocab}

// CheckConfig checks cfg against the tensor table of f before anything is
// allocated from it: every tensor the config's layout needs must be in the
// file with the same shape and dtype F32 (and, with train, its two AdamW
// moments), and no other tensor may be. Since the file's tensors lie within
// its bytes, a config that passes needs no more memory than the file holds,
// however large the numbers in it are.
func CheckConfig(cfg model.Config, f *safetensors.File, train bool) error {
	if cfg.Layers > MaxLayers {
		return fmt.Errorf("the config applies %d layers, more than the limit of %d", cfg.Layers, MaxLayers)
	}
	if cfg.Rotary() && cfg.MaxSeq > model.MaxRotaryPositions {
		// No tensor holds rotary positions, so the file does not bound
		// the tables allocated for them.
		return fmt.Errorf("the config has %d rotary positions, more than the limit of %d", cfg.MaxSeq, model.MaxRotaryPositions)
	}
	// Each stored attention or FFN block has at least 2 tensors (its two
	// projections, whatever the family's norms and biases; per copy: weights,
	// and with a training state two moments); bound the block count by the
	// tensor count before the layout is built from it.
	copies := 1
	if train {
		copies = 3
	}
	blocks := cfg.AttnBlocks() + cfg.FFNBlocks()
	if blocks > len(f.Tensors) || 2*blocks*copies > len(f.Tensors) {
		return fmt.Errorf("the config's %d layers need %d stored blocks (at least %d tensors), but the file holds %d tensors", cfg.Layers, blocks, 2*blocks*copies, len(f.Tensors))
	}
	l := model.NewLayout(cfg)
	check := func(name string, ti model.TensorInfo) error {
		t, ok := f.Get(name)
		if !ok {
			return fmt.Errorf("tensor %q is missing (the config %s needs it)", name, cfg.JSON())
		}
		if model.ShapeString(t.Shape) != model.ShapeString(ti.Shape) {
			return fmt.Errorf("tensor %q has shape [%s], the config says [%s]", name, model.ShapeString(t.Shape), model.ShapeString(ti.Shape))
		}
		if t.DType != safetensors.F32 {
			return fmt.Errorf("tensor %q has dtype %s, want F32", name, t.DType)
		}
		return nil
	}
	want := make(map[string]bool, len(f.Tensors))
	for _, ti := range l.Tensors {
		names := []string{ti.Name}
		if train {
			names = append(names, "adamw.m."+ti.Name, "adamw.v."+ti.Name)
		}
		for _, n := range names {
			if err := check(n, ti); err != nil {
				return err
			}
			want[n] = true
		}
	}
	for _, t := range f.Tensors {
		if !want[t.Name] {
			return fmt.Errorf("unexpected tensor %q for config %s", t.Name, cfg.JSON())
		}
	}
	return nil
}

// checkTokenizer refuses a tokenizer whose ids do not fit the model's
// vocabulary (an encoder's last id is [MASK], beyond the tokenizer's).
func checkTokenizer(name string, cfg model.Config) error {
	k, ok := knownVocab[name]
	if !ok {
		return nil // not built in: the caller reports it when it needs one
	}
	room := cfg.Vocab
	if cfg.IsEncoder() {
		room--
	}
	if k > room {
		return fmt.Errorf("the %s tokenizer has %d tokens, more than the model's vocabulary of %d has room for", name, k, room)
	}
	return nil
}

// decodeF32 copies the little-endian float32s of t into dst, refusing any
// non-finite value: a checkpoint never holds NaN or Inf (Save refuses them
// too), so one that does is damaged or hand-made.
func decodeF32(name string, t safetensors.Tensor, dst []float32) error {
	if len(t.Data) != 4*len(dst) {
		return fmt.Errorf("tensor %q has %d bytes, want %d", name, len(t.Data), 4*len(dst))
	}
	for i := range dst {
		v := math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("tensor %q holds a non-finite value (%g at element %d)", name, v, i)
		}
		dst[i] = v
	}
	return nil
}

// CheckFinite reports the first non-finite value in the named slab, if any.
func CheckFinite(what string, l *model.Layout, slab []float32) error {
	for _, ti := range l.Tensors {
		for i, v := range slab[ti.Offset : ti.Offset+ti.Size] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s of %q holds a non-finite value (%g at element %d)", what, ti.Name, v, i)
			}
		}
	}
	return nil
}

// readHeader reads and checks the config and training state of f's
// header against its tensor table, allocating nothing from them.
func readHeader(f *safetensors.File) (model.Config, *TrainState, error) {
	if f.Metadata["format"] != Format {
		return model.Config{}, nil, fmt.Errorf("not a tformer checkpoint (metadata format %q, want %q)", f.Metadata["format"], Format)
	}
	cfg, err := model.ParseConfig(f.Metadata["config"])
	if err != nil {
		return model.Config{}, nil, err
	}
	// A file that names no tokenizer is read as byte-level (FromFile), but
	// only a named one is held to its vocabulary.
	if err := checkTokenizer(f.Metadata["tokenizer"], cfg); err != nil {
		return model.Config{}, nil, err
	}
	var st *TrainState
	if s, ok := f.Metadata["train"]; ok {
		st = &TrainState{}
		if err := json.Unmarshal([]byte(s), st); err != nil {
			return model.Config{}, nil, fmt.Errorf("training state: %w", err)
		}
		if st.Step < 0 {
			return model.Config{}, nil, fmt.Errorf("training state: step %d is negative", st.Step)
		}
		if len(st.Options) == 0 || string(st.Options) == "null" {
			return model.Config{}, nil, errors.New("training state: the training options are missing")
		}
	}
	// Validate before allocating: the layout against the tensor table.
	if err := CheckConfig(cfg, f, st != nil); err != nil {
		return model.Config{}, nil, err
	}
	return cfg, st, nil
}

func fromFile(f *safetensors.File) (*model.Model, *TrainState, error) {
	cfg, st, err := readHeader(f)
	if err != nil {
		return nil, nil, err
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if st != nil {
		st.M = make([]float32, len(m.Params))
		st.V = make([]float32, len(m.Params))
	}
	load := func(name string, dst []float32) error {
		t, _ := f.Get(name) // CheckConfig found it with the right shape and dtype
		return decodeF32(name, t, dst)
	}
	for _, ti := range m.Layout.Tensors {
		if err := load(ti.Name, m.Params[ti.Offset:ti.Offset+ti.Size]); err != nil {
			return nil, nil, err
		}
		if st != nil {
			if err := load("adamw.m."+ti.Name, st.M[ti.Offset:ti.Offset+ti.Size]); err != nil {
				return nil, nil, err
			}
			if err := load("adamw.v."+ti.Name, st.V[ti.Offset:ti.Offset+ti.Size]); err != nil {
				return nil, nil, err
			}
		}
	}
	return m, st, nil
}

// LoadAs reads the weights of a checkpoint written by Save for inference,
// directly in dtype dt (see model.NewInference): F32 tensors are rounded
// to bf16 or quantized to int8 one chunk of rows at a time, so no float32
// copy of the narrowed weights is ever held, and the file is read tensor
// by tensor rather than whole. The model is bitwise the one Load then
// Quantize(dt) gives. The header is checked as Load checks it (CheckConfig)
// before the model is allocated; a training checkpoint's optimizer state is
// checked but not read (Train is nil).
func LoadAs(path string, dt model.DType) (*Checkpoint, error) {
	r, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	defer r.Close()
	ck, err := FromReaderAs(r, dt)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	return ck, nil
}

// FromReaderAs is LoadAs for a file already opened (its header read).
func FromReaderAs(r *safetensors.Reader, dt model.DType) (*Checkpoint, error) {
	return fromFileAs(r.File, r, dt)
}

// FromFileAs is LoadAs for a file already parsed into memory.
func FromFileAs(f *safetensors.File, dt model.DType) (*Checkpoint, error) {
	return fromFileAs(f, nil, dt)
}

func fromFileAs(f *safetensors.File, r *safetensors.Reader, dt model.DType) (*Checkpoint, error) {
	cfg, _, err := readHeader(f)
	if err != nil {
		return nil, err
	}
	m, err := model.NewInference(cfg, dt)
	if err != nil {
		return nil, err
	}
	var l stload.Loader
	for _, ti := range m.Layout.Tensors {
		t, _ := f.Get(ti.Name) // CheckConfig found it with the right shape and dtype
		if err := l.Fill(m, ti.Name, 0, stload.Source{T: t, R: r}, fmt.Sprintf("tensor %q", ti.Name)); err != nil {
			return nil, err
		}
	}
	tok := f.Metadata["tokenizer"]
	if tok == "" {
		tok = "byte"
	}
	return &Checkpoint{Model: m, Tokenizer: tok}, nil
}
