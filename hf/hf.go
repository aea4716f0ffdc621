// Package hf reads Hugging Face model directories into tformer models. It
// is meant to hold every family behind one config decoder (package
// hfconfig) and one name table per family; today it reads the Llama family
// — LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM and
// GemmaForCausalLM — from config.json plus model.safetensors or a sharded
// model.safetensors.index.json, in F32, F16 or BF16, tied (no lm_head.weight,
// or one equal to the embedding) or untied. (GPT-2 and BERT/ALBERT are still
// read by packages hfgpt2 and hfbert.)
package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tformer/tformer/hfconfig"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/safetensors"
)

// File names inside a model directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
	IndexFile   = "model.safetensors.index.json"
)

// Loaded is a model read from a directory.
type Loaded struct {
	Model  *model.Model
	Config hfconfig.Config
	DType  safetensors.DType // the weights' stored type (of the embedding)
	Notes  []string          // what the reading changed or assumed
}

// IsLlamaFamily reports whether dir's config.json names a model_type this
// package reads.
func IsLlamaFamily(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return false
	}
	var v struct {
		ModelType string `json:"model_type"`
	}
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	switch v.ModelType {
	case "llama", "mistral", "qwen2", "gemma":
		return true
	}
	return false
}

// Load reads the Llama-family model in dir.
func Load(dir string) (*Loaded, error) {
	h, err := hfconfig.Load(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	get, err := openWeights(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	l, err := FromTensors(h, get)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return l, nil
}

// openWeights returns a lookup over dir's model.safetensors, or over the
// shards its index names (each shard read once; every tensor the index lists
// must be in its shard).
func openWeights(dir string) (func(string) (safetensors.Tensor, bool), error) {
	if p := filepath.Join(dir, WeightsFile); exists(p) {
		f, err := safetensors.Read(p)
		if err != nil {
			return nil, err
		}
		return f.Get, nil
	}
	ip := filepath.Join(dir, IndexFile)
	b, err := os.ReadFile(ip)
	if err != nil {
		return nil, fmt.Errorf("no %s or %s in the directory", WeightsFile, IndexFile)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", IndexFile, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", IndexFile)
	}
	shards := map[string]*safetensors.File{}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := idx.WeightMap[n]
		if s == "" || s != filepath.Base(s) || strings.HasPrefix(s, ".") {
			return nil, fmt.Errorf("%s: tensor %s is in shard %q, which is not a file name in the directory", IndexFile, n, s)
		}
		f, ok := shards[s]
		if !ok {
			p := filepath.Join(dir, s)
			if !exists(p) {
				return nil, fmt.Errorf("%s names shard %s (for %s), which is missing", IndexFile, s, n)
			}
			if f, err = safetensors.Read(p); err != nil {
				return nil, fmt.Errorf("shard %s: %w", s, err)
			}
			shards[s] = f
		}
		if _, ok := f.Get(n); !ok {
			return nil, fmt.Errorf("shard %s lacks %s, which %s places there", s, n, IndexFile)
		}
	}
	return func(n string) (safetensors.Tensor, bool) {
		s, ok := idx.WeightMap[n]
		if !ok {
			return safetensors.Tensor{}, false
		}
		return shards[s].Get(n)
	}, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// FromTensors builds the model of h from its Hugging Face tensors.
func FromTensors(h hfconfig.Config, get func(string) (safetensors.Tensor, bool)) (*Loaded, error) {
	c := h.Model
	l := &Loaded{Config: h}
	switch {
	case h.ModelType == "gemma2" || h.PostNorms || h.AttnSoftcap != 0 || h.FinalSoftcap != 0:
		return nil, errors.New("config.json: model_type gemma2 (soft-capping, post-norms, local/global layers) is counted by tformer cost but not run by the engine")
	case h.SlidingWindow > 0 && h.SlidingWindow < c.MaxSeq:
		l.Notes = append(l.Notes, fmt.Sprintf("sliding_window %d: the context is limited to %d positions, within which full attention is the same", h.SlidingWindow, h.SlidingWindow))
		c.MaxSeq = h.SlidingWindow
	}
	if c.IsEncoder() || h.ModelType == "gpt2" {
		return nil, fmt.Errorf("config.json: model_type %s is read by hfgpt2 or hfbert, not this loader", h.ModelType)
	}
	m, err := model.New(c)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	used := map[string]bool{}
	load := func(hfName string, shape []int) ([]float32, error) {
		t, ok := get(hfName)
		if !ok {
			return nil, fmt.Errorf("missing tensor %s", hfName)
		}
		if model.ShapeString(t.Shape) != model.ShapeString(shape) {
			return nil, fmt.Errorf("%s has shape %s, the config needs %s", hfName, model.ShapeString(t.Shape), model.ShapeString(shape))
		}
		v, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hfName, err)
		}
		used[hfName] = true
		return v, nil
	}
	put := func(tf, hfName string) error {
		ti, _ := m.Layout.Lookup(tf)
		v, err := load(hfName, ti.Shape)
		if err != nil {
			return err
		}
		copy(m.Param(tf), v)
		return nil
	}
	d := c.DModel
	qd, kd := c.QDim(), c.KVDim()
	if err := put("wte", "model.embed_tokens.weight"); err != nil {
		return nil, err
	}
	if t, ok := get("model.embed_tokens.weight"); ok {
		l.DType = t.DType
	}
	for i := 0; i < c.AttnBlocks(); i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		if err := put(fmt.Sprintf("attn.%d.ln.w", i), p+"input_layernorm.weight"); err != nil {
			return nil, err
		}
		qkv := m.Param(fmt.Sprintf("attn.%d.qkv.w", i))
		off := 0
		for _, part := range []struct {
			name string
			rows int
		}{{"q_proj", qd}, {"k_proj", kd}, {"v_proj", kd}} {
			v, err := load(p+"self_attn."+part.name+".weight", []int{part.rows, d})
			if err != nil {
				return nil, err
			}
			copy(qkv[off:], v)
			off += len(v)
		}
		if c.QKVBias() {
			b := m.Param(fmt.Sprintf("attn.%d.qkv.b", i))
			off = 0
			for _, part := range []struct {
				name string
				rows int
			}{{"q_proj", qd}, {"k_proj", kd}, {"v_proj", kd}} {
				v, err := load(p+"self_attn."+part.name+".bias", []int{part.rows})
				if err != nil {
					return nil, err
				}
				copy(b[off:], v)
				off += len(v)
			}
		}
		if err := put(fmt.Sprintf("attn.%d.proj.w", i), p+"self_attn.o_proj.weight"); err != nil {
			return nil, err
		}
		if c.LinearBias() {
			if err := put(fmt.Sprintf("attn.%d.proj.b", i), p+"self_attn.o_proj.bias"); err != nil {
				return nil, err
			}
		}
	}
	for i := 0; i < c.FFNBlocks(); i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		pairs := [][2]string{{"ln.w", "post_attention_layernorm.weight"}, {"gate.w", "mlp.gate_proj.weight"}, {"up.w", "mlp.up_proj.weight"}, {"down.w", "mlp.down_proj.weight"}}
		if c.LinearBias() {
			pairs = append(pairs, [2]string{"gate.b", "mlp.gate_proj.bias"}, [2]string{"up.b", "mlp.up_proj.bias"}, [2]string{"down.b", "mlp.down_proj.bias"})
		}
		for _, pr := range pairs {
			if err := put(fmt.Sprintf("ffn.%d.%s", i, pr[0]), p+pr[1]); err != nil {
				return nil, err
			}
		}
	}
	if err := put("lnf.w", "model.norm.weight"); err != nil {
		return nil, err
	}
	if c.Tie {
		if t, ok := get("lm_head.weight"); ok {
			v, err := load("lm_head.weight", []int{c.Vocab, d})
			if err != nil {
				return nil, err
			}
			for j, x := range v {
				if x != m.Params[j] { // wte is first in the slab
					return nil, fmt.Errorf("tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight (%s)", t.DType)
				}
			}
			l.Notes = append(l.Notes, "lm_head.weight equals the embedding: read as tied")
		}
	} else if err := put("lm_head", "lm_head.weight"); err != nil {
		return nil, err
	}
	// Every stored block must be one the config reaches, and nothing else
	// may be in the files (besides the buffers some exporters save).
	if i := c.AttnBlocks(); hasTensor(get, fmt.Sprintf("model.layers.%d.input_layernorm.weight", i)) {
		return nil, fmt.Errorf("the weights have layer %d, but num_hidden_layers is %d", i, c.Layers)
	}
	l.Model = m
	return l, nil
}

// hasTensor reports whether get finds a tensor called name.
func hasTensor(get func(string) (safetensors.Tensor, bool), name string) bool {
	_, ok := get(name)
	return ok
}
