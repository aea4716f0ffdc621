package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/model"
)

// maxCostSeqs bounds the sequence lengths of one /api/cost request.
const maxCostSeqs = 64

// CostRequest is the body of POST /api/cost. The model starts from Preset,
// Config (a Hugging Face config.json object), the loaded model (Loaded), or
// else tformer's default decoder (model.Tiny), and Model's fields override
// it, as `tformer cost`'s flags override --preset or --config.
type CostRequest struct {
	Preset string          `json:"preset,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
	Loaded bool            `json:"loaded,omitempty"`
	Model  SpecFields      `json:"model"`
	Seqs   []int           `json:"seqs,omitempty"`   // default cost.DefaultSeqs
	Batch  int             `json:"batch,omitempty"`  // default 1
	Causal *bool           `json:"causal,omitempty"` // default: decoders causal, encoders not
	Train  bool            `json:"train,omitempty"`
}

// SpecFields are optional overrides of a cost.Spec, named as in the
// report's "model" object.
type SpecFields struct {
	Arch      *string `json:"arch,omitempty"`
	Vocab     *int    `json:"vocab,omitempty"`
	DModel    *int    `json:"d_model,omitempty"`
	Layers    *int    `json:"layers,omitempty"`
	Heads     *int    `json:"heads,omitempty"`
	DFF       *int    `json:"d_ff,omitempty"` // 0: 4·d_model
	MaxSeq    *int    `json:"max_seq,omitempty"`
	Tie       *bool   `json:"tie,omitempty"`
	Share     *string `json:"share,omitempty"`
	Groups    *int    `json:"groups,omitempty"`
	EmbedDim  *int    `json:"embed_dim,omitempty"`
	TypeVocab *int    `json:"type_vocab,omitempty"`
	Pooler    *bool   `json:"pooler,omitempty"`
	MLMHead   *bool   `json:"mlm_head,omitempty"`
	MLMMasked *bool   `json:"mlm_masked,omitempty"`
}

// CostResponse is the answer of POST /api/cost: the cost.Report exactly as
// `tformer cost --format json` prints it, plus inference costs per
// sequence length.
type CostResponse struct {
	Report    *cost.Report    `json:"report"`
	Inference []InferenceCost `json:"inference"`
	// EngineKVCache is the cache model.Decoder allocates (max_seq positions,
	// one sequence); 0 for encoders.
	EngineKVCache int64 `json:"engine_kv_cache"`
}

// InferenceCost is the cost of cached generation at one sequence length.
type InferenceCost struct {
	Seq     int   `json:"seq"`
	KVCache int64 `json:"kv_cache"` // bytes for the report's batch at seq tokens
	// DecodeFlops is the forward FLOPs of the seq-th token (0 for encoders).
	DecodeFlops int64 `json:"decode_flops"`
}

// Spec builds the cost.Spec that q describes.
func (q *CostRequest) Spec(loaded *model.Config) (cost.Spec, error) {
	var s cost.Spec
	switch {
	case q.Preset != "" && len(q.Config) > 0:
		return s, fmt.Errorf("give preset or config, not both")
	case q.Preset != "":
		p, err := cost.Preset(q.Preset)
		if err != nil {
			return s, err
		}
		s = p
	case len(q.Config) > 0:
		p, err := cost.ParseHFConfig(q.Config)
		if err != nil {
			return s, err
		}
		s = p
	case q.Loaded:
		if loaded == nil {
			return s, fmt.Errorf("no model is loaded")
		}
		s = cost.ForModel(*loaded)
		s.Name = "loaded model"
	default:
		s = cost.Spec{Name: "model", Arch: cost.Decoder, Config: model.Tiny()}
	}
	f := q.Model
	if f.Arch != nil {
		s.Arch = cost.Arch(*f.Arch)
		s.Config.Arch = "" // Validate checks the spec's arch; the config's would contradict it
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.Config.Vocab, f.Vocab)
	set(&s.Config.DModel, f.DModel)
	set(&s.Config.Layers, f.Layers)
	set(&s.Config.Heads, f.Heads)
	set(&s.Config.MaxSeq, f.MaxSeq)
	set(&s.Config.Groups, f.Groups)
	set(&s.EmbedDim, f.EmbedDim)
	set(&s.TypeVocab, f.TypeVocab)
	if f.DFF != nil {
		s.Config.DFF = *f.DFF
	} else if f.DModel != nil {
		s.Config.DFF = 0
	}
	if s.Config.DFF == 0 {
		s.Config.DFF = 4 * s.Config.DModel
	}
	if f.Tie != nil {
		s.Config.Tie = *f.Tie
	}
	if f.Share != nil {
		sh, err := model.ParseShare(*f.Share)
		if err != nil {
			return s, err
		}
		s.Config.Share = sh
	}
	if f.Pooler != nil {
		s.Pooler = *f.Pooler
	}
	if f.MLMHead != nil {
		s.MLMHead = *f.MLMHead
		if !s.MLMHead {
			s.MLMMasked = false
		}
	}
	if f.MLMMasked != nil {
		s.MLMMasked = *f.MLMMasked
	}
	if s.Arch == cost.Decoder {
		s.TypeVocab, s.Pooler, s.MLMHead, s.MLMMasked = 0, false, false, false
	}
	return s, s.Validate()
}

func (s *Server) handleCost(w http.ResponseWriter, r *http.Request) {
	var q CostRequest
	if !s.decodeBody(w, r, &q) {
		return
	}
	var loaded *model.Config
	if s.cfg.Model != nil {
		loaded = &s.cfg.Model.Config
	}
	spec, err := q.Spec(loaded)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	if len(q.Seqs) > maxCostSeqs {
		badParam(w, "seqs", fmt.Sprintf("at most %d sequence lengths, got %d", maxCostSeqs, len(q.Seqs)))
		return
	}
	if q.Batch < 0 {
		badParam(w, "batch", fmt.Sprintf("batch must be positive, got %d", q.Batch))
		return
	}
	causal := spec.Arch == cost.Decoder
	if q.Causal != nil {
		causal = *q.Causal
	}
	rep, err := cost.NewReport(spec, cost.Options{Seqs: q.Seqs, Batch: q.Batch, Causal: causal, Train: q.Train})
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	resp := CostResponse{Report: rep, EngineKVCache: spec.KVCache(spec.Config.MaxSeq, 1)}
	for _, e := range rep.PerSeq {
		ic := InferenceCost{Seq: e.Seq, KVCache: spec.KVCache(e.Seq, e.Batch)}
		if spec.Arch == cost.Decoder {
			ic.DecodeFlops = spec.DecodeStep(e.Seq - 1).Total()
		}
		resp.Inference = append(resp.Inference, ic)
	}
	writeJSON(w, http.StatusOK, resp)
}

// PresetInfo describes one preset for the page.
type PresetInfo struct {
	Name  string         `json:"name"`
	Model cost.ModelInfo `json:"model"`
}

func (s *Server) handlePresets(w http.ResponseWriter, r *http.Request) {
	var out []PresetInfo
	for _, name := range cost.Presets() {
		sp, err := cost.Preset(name)
		if err != nil {
			continue
		}
		rep, err := cost.NewReport(sp, cost.Options{Seqs: []int{1}})
		if err != nil {
			continue
		}
		out = append(out, PresetInfo{Name: name, Model: rep.Model})
	}
	writeJSON(w, http.StatusOK, out)
}

// info is GET /api/info: what the page needs to know about the server.
type info struct {
	Model     string          `json:"model,omitempty"`
	Chat      bool            `json:"chat"`
	APIKey    bool            `json:"api_key"` // the API needs a key
	MaxTokens int             `json:"max_tokens"`
	Config    *cost.ModelInfo `json:"config,omitempty"`
	Tokenizer string          `json:"tokenizer,omitempty"`
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	in := info{Chat: s.cfg.Chat != nil, APIKey: s.cfg.APIKey != "", MaxTokens: s.cfg.MaxTokens}
	if s.cfg.Model != nil {
		in.Model = s.cfg.ModelName
		in.Tokenizer = s.cfg.Tokenizer.Name()
		if rep, err := cost.NewReport(cost.ForModel(s.cfg.Model.Config), cost.Options{Seqs: []int{1}}); err == nil {
			in.Config = &rep.Model
		}
	}
	writeJSON(w, http.StatusOK, in)
}
