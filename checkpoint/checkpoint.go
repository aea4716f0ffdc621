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
package checkpoint

import (
	"encoding/json"
	"fmt"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
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

// Save writes ck to path atomically.
func Save(path string, ck *Checkpoint) error {
	m, st := ck.Model, ck.Train
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

func fromFile(f *safetensors.File) (*model.Model, *TrainState, error) {
	if f.Metadata["format"] != Format {
		return nil, nil, fmt.Errorf("not a tformer checkpoint (metadata format %q, want %q)", f.Metadata["format"], Format)
	}
	cfg, err := model.ParseConfig(f.Metadata["config"])
	if err != nil {
		return nil, nil, err
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	var st *TrainState
	if s, ok := f.Metadata["train"]; ok {
		st = &TrainState{}
		if err := json.Unmarshal([]byte(s), st); err != nil {
			return nil, nil, fmt.Errorf("training state: %w", err)
		}
		st.M = make([]float32, len(m.Params))
		st.V = make([]float32, len(m.Params))
	}
	want := map[string]bool{}
	load := func(name string, ti model.TensorInfo, dst []float32) error {
		want[name] = true
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
		v, err := t.Float32s()
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		copy(dst, v)
		return nil
	}
	for _, ti := range m.Layout.Tensors {
		if err := load(ti.Name, ti, m.Params[ti.Offset:ti.Offset+ti.Size]); err != nil {
			return nil, nil, err
		}
		if st != nil {
			if err := load("adamw.m."+ti.Name, ti, st.M[ti.Offset:ti.Offset+ti.Size]); err != nil {
				return nil, nil, err
			}
			if err := load("adamw.v."+ti.Name, ti, st.V[ti.Offset:ti.Offset+ti.Size]); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, t := range f.Tensors {
		if !want[t.Name] {
			return nil, nil, fmt.Errorf("unexpected tensor %q for config %s", t.Name, cfg.JSON())
		}
	}
	return m, st, nil
}
