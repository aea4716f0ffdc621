package cost

import (
	"errors"
	"fmt"

	"github.com/tformer/tformer/kernels"
)

// Options select what a Report covers.
type Options struct {
	Seqs   []int // sequence lengths n (DefaultSeqs when empty)
	Batch  int   // sequences per batch B (1 when 0)
	Causal bool  // causal attention (n(n+1)/2 pairs per head) rather than n²
	Train  bool  // include backward FLOPs, training totals and training crossovers
}

// DefaultSeqs are the sequence lengths reported when none are given:
// 128 to 8192 by powers of two.
func DefaultSeqs() []int { return []int{128, 256, 512, 1024, 2048, 4096, 8192} }

// Report is the whole cost analysis of a model; its JSON form is the stable
// output of `tformer cost --format json`:
//
//	{
//	  "model": {"name", "arch", "vocab", "d_model", "layers", "heads", "d_ff", "max_seq",
//	            "tie", "share", "groups", "embed_dim", "type_vocab", "pooler", "mlm_head",
//	            "mlm_masked" (only when true: the MLM head runs on the masked positions)},
//	  "conventions": {"attention": "causal"|"bidirectional", "batch", "train",
//	                  "bytes_per_value", "matmul", "elementwise", "forward"},
//	  "params": {"unique", "applied", "untied_unshared", "saved_by_tying", "saved_by_sharing",
//	             "attention_block", "ffn_block",
//	             "components": {"embeddings"|"attention"|"ffn"|"norms"|"head"|"pooler":
//	                            {"unique", "applied"}}},
//	  "components": ["embedding", "qkv", ...],          // the keys of flops.forward, in order
//	  "per_seq": [{
//	      "seq", "batch", "beyond_context",             // beyond_context: seq > max_seq
//	      "flops": {"forward": {<component>: n, ..., "total": n},
//	                "backward": {...}, "train_total": n}, // backward, train_total with --train
//	      "mha", "ffn", "attention_core",               // forward FLOPs, whole model
//	      "mha_share", "ffn_share", "mha_ffn_ratio",    // shares of the forward total
//	      "train": {"mha", "ffn", "attention_core"},    // forward+backward, with --train
//	      "memory": {"seq", "batch", "params", "grads", "adamw", "activations",
//	                 "attention_lse", "total", "naive_attention_probs"}, // bytes
//	      "per_token": {"seq", "exact", "exact_forward", "palm", "palm_n",
//	                    "kaplan", "kaplan_forward", "kaplan_n"}}],
//	  "per_layer": [{"seq", "qkv", "scores", "av", "out_proj", "mha", "ffn",
//	                 "mha_share", "ffn_share", "mha_ffn_ratio"}], // matmul-only, bidirectional
//	  "crossover": {"convention", "mha_equals_ffn", "attention_core_equals_ffn",
//	                "train": {...}, "other_convention": {...}, "matmul_only": {...}},
//	  "inference": {"weight_bytes": {"fp32"|"bf16"|"int8": n}, "kv_bytes_per_token": {...},
//	                "per_seq": [{"seq", "kv_cache_bytes": {...}, "decode_flops",
//	                             "prefill_flops", "decode_all_flops"}]}  // decoders only
//	}
//
// FLOP counts are integers; a crossover is a real n, or null when there is
// none. Crossovers are per layer and so hold for the whole model too.
type Report struct {
	Model       ModelInfo   `json:"model"`
	Conventions Conventions `json:"conventions"`
	Params      ParamsInfo  `json:"params"`
	Components  []string    `json:"components"`
	PerSeq      []SeqCost   `json:"per_seq"`
	PerLayer    []LayerRow  `json:"per_layer"`
	Crossover   Crossovers  `json:"crossover"`
	// Inference is the KV-cache and decode cost (decoders only).
	Inference *InferenceInfo `json:"inference,omitempty"`

	spec  Spec
	opts  Options
	parts []Component
}

// ModelInfo echoes the model the report is about.
type ModelInfo struct {
	Name      string `json:"name"`
	Arch      Arch   `json:"arch"`
	Vocab     int    `json:"vocab"`
	DModel    int    `json:"d_model"`
	Layers    int    `json:"layers"`
	Heads     int    `json:"heads"`
	DFF       int    `json:"d_ff"`
	MaxSeq    int    `json:"max_seq"`
	Tie       bool   `json:"tie"`
	Share     string `json:"share"`
	Groups    int    `json:"groups"`
	EmbedDim  int    `json:"embed_dim"`
	TypeVocab int    `json:"type_vocab"`
	Pooler    bool   `json:"pooler"`
	MLMHead   bool   `json:"mlm_head"`
	MLMMasked bool   `json:"mlm_masked,omitempty"`
}

// Conventions states how the numbers were counted.
type Conventions struct {
	Attention     string `json:"attention"` // "causal" or "bidirectional"
	Batch         int    `json:"batch"`
	Train         bool   `json:"train"`
	BytesPerValue int    `json:"bytes_per_value"`
	Matmul        string `json:"matmul"`
	Elementwise   string `json:"elementwise"`
	Forward       string `json:"forward"`
}

// ParamsInfo is the parameter section of a report.
type ParamsInfo struct {
	Unique         int64            `json:"unique"`
	Applied        int64            `json:"applied"`
	UntiedUnshared int64            `json:"untied_unshared"`
	SavedByTying   int64            `json:"saved_by_tying"`
	SavedBySharing int64            `json:"saved_by_sharing"`
	AttnBlock      int64            `json:"attention_block"`
	FFNBlock       int64            `json:"ffn_block"`
	Components     map[string]Count `json:"components"`
}

// SeqCost is the cost at one sequence length.
type SeqCost struct {
	Seq           int       `json:"seq"`
	Batch         int       `json:"batch"`
	BeyondContext bool      `json:"beyond_context"`
	Flops         SeqFlops  `json:"flops"`
	MHA           int64     `json:"mha"`
	FFN           int64     `json:"ffn"`
	Core          int64     `json:"attention_core"`
	MHAShare      float64   `json:"mha_share"`
	FFNShare      float64   `json:"ffn_share"`
	Ratio         float64   `json:"mha_ffn_ratio"`
	Train         *TrainMHA `json:"train,omitempty"`
	Memory        Memory    `json:"memory"`
	PerToken      PerToken  `json:"per_token"`

	raw FLOPs
}

// SeqFlops are FLOPs per component and pass, each map with a "total".
type SeqFlops struct {
	Forward    map[string]int64 `json:"forward"`
	Backward   map[string]int64 `json:"backward,omitempty"`
	TrainTotal int64            `json:"train_total,omitempty"`
}

// TrainMHA is MHA, FFN and the attention core over forward and backward.
type TrainMHA struct {
	MHA  int64 `json:"mha"`
	FFN  int64 `json:"ffn"`
	Core int64 `json:"attention_core"`
}

// LayerRow is one row of the matmul-only per-layer table.
type LayerRow struct {
	Seq      int     `json:"seq"`
	QKV      int64   `json:"qkv"`
	Scores   int64   `json:"scores"`
	AV       int64   `json:"av"`
	Out      int64   `json:"out_proj"`
	MHA      int64   `json:"mha"`
	FFN      int64   `json:"ffn"`
	MHAShare float64 `json:"mha_share"`
	FFNShare float64 `json:"ffn_share"`
	Ratio    float64 `json:"mha_ffn_ratio"`
}

// Crossovers collects the crossover points of a report.
type Crossovers struct {
	// Convention is the attention convention of MHAEqualsFFN and CoreEqualsFFN:
	// the engine's exact forward counts per layer.
	Convention    string   `json:"convention"`
	MHAEqualsFFN  *float64 `json:"mha_equals_ffn"`
	CoreEqualsFFN *float64 `json:"attention_core_equals_ffn"`
	// Train is the same for forward plus backward (with --train).
	Train *Crossover `json:"train,omitempty"`
	// OtherConvention is the forward crossover with the other attention
	// convention (bidirectional when causal, and the reverse).
	OtherConvention Crossover `json:"other_convention"`
	// MatmulOnly is the textbook per-layer view: matmuls only, bidirectional.
	MatmulOnly Crossover `json:"matmul_only"`
}

func convention(causal bool) string {
	if causal {
		return "causal"
	}
	return "bidirectional"
}

// NewReport analyses s at the sequence lengths of o.
func NewReport(s Spec, o Options) (*Report, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(o.Seqs) == 0 {
		o.Seqs = DefaultSeqs()
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.Batch < 0 {
		return nil, fmt.Errorf("batch must be positive, got %d", o.Batch)
	}
	for _, n := range o.Seqs {
		if n <= 0 {
			return nil, fmt.Errorf("sequence length must be positive, got %d", n)
		}
		if n > 1<<24 {
			return nil, errors.New("sequence length too large to count in 64 bits")
		}
	}
	if err := s.CheckCountable(o.Seqs, o.Batch); err != nil {
		return nil, fmt.Errorf("the model cannot be counted exactly: %w", err)
	}
	c := s.Config
	r := &Report{spec: s, opts: o, parts: s.ActiveComponents()}
	r.Model = ModelInfo{Name: s.Name, Arch: s.Arch, Vocab: c.Vocab, DModel: c.DModel, Layers: c.Layers, Heads: c.Heads,
		DFF: c.DFF, MaxSeq: c.MaxSeq, Tie: c.Tie, Share: string(c.Share), Groups: c.Groups, EmbedDim: s.E(),
		TypeVocab: s.TypeVocab, Pooler: s.Pooler, MLMHead: s.MLMHead, MLMMasked: s.MLMMasked}
	geF, geB := s.geluFlops()
	r.Conventions = Conventions{Attention: convention(o.Causal), Batch: o.Batch, Train: o.Train, BytesPerValue: BytesPerValue,
		Matmul:      "an (m x k)·(k x n) product is 2·m·k·n FLOPs (multiply and add); no MACs",
		Elementwise: fmt.Sprintf("per element: bias 1, residual %d, embedding %d/%d (2/3 with token types), layernorm %d/%d, gelu %d/%d, softmax %d/%d per pair plus d_head/2·d_head per row and d_head per rescale (fused attention; backward recomputes QKᵀ), loss %d/%d per logit (forward/backward)", kernels.FlopsResidual, kernels.FlopsEmbeddingFwd, kernels.FlopsEmbeddingBwd, kernels.FlopsLayerNormFwd, kernels.FlopsLayerNormBwd, geF, geB, kernels.FlopsAttnSoftmaxFwd, kernels.FlopsAttnSoftmaxBwd, kernels.FlopsLossFwd, kernels.FlopsLossBwd),
		Forward:     "a training forward: includes the loss; backward computes input and weight gradients of every linear layer"}
	p := s.Parameters()
	r.Params = ParamsInfo{Unique: p.Total.Unique, Applied: p.Total.Applied, UntiedUnshared: p.UntiedUnshared,
		SavedByTying: p.SavedByTying, SavedBySharing: p.SavedBySharing, AttnBlock: p.AttnBlock, FFNBlock: p.FFNBlock,
		Components: map[string]Count{"embeddings": p.Embeddings, "attention": p.Attention, "ffn": p.FFN,
			"norms": p.Norms, "head": p.Head, "pooler": p.Pooler}}
	for _, k := range r.parts {
		r.Components = append(r.Components, k.String())
	}
	for _, n := range o.Seqs {
		f := s.FLOPs(n, o.Batch, o.Causal)
		e := SeqCost{Seq: n, Batch: o.Batch, BeyondContext: n > c.MaxSeq, raw: f,
			MHA: f.Forward.MHA(), FFN: f.Forward.FFN(), Core: f.Forward.Core(),
			Memory: s.Memory(n, o.Batch), PerToken: s.ClosedForms(n, o.Causal)}
		tot := float64(f.Forward.Total())
		e.MHAShare, e.FFNShare = float64(e.MHA)/tot, float64(e.FFN)/tot
		e.Ratio = float64(e.MHA) / float64(e.FFN)
		e.Flops.Forward = r.componentMap(f.Forward)
		if o.Train {
			e.Flops.Backward = r.componentMap(f.Backward)
			t := f.Total()
			e.Flops.TrainTotal = t.Total()
			e.Train = &TrainMHA{MHA: t.MHA(), FFN: t.FFN(), Core: t.Core()}
		}
		r.PerSeq = append(r.PerSeq, e)
		m := s.Matmul(n)
		r.PerLayer = append(r.PerLayer, LayerRow{Seq: n, QKV: m.QKV, Scores: m.Scores, AV: m.AV, Out: m.Out, MHA: m.MHA, FFN: m.FFN,
			MHAShare: m.MHAShare, FFNShare: m.FFNShare, Ratio: m.Ratio})
	}
	r.Inference = s.inferenceInfo(o.Seqs)
	x := s.Crossovers(o.Causal, false)
	r.Crossover = Crossovers{Convention: convention(o.Causal), MHAEqualsFFN: x.MHAEqualsFFN, CoreEqualsFFN: x.CoreEqualsFFN,
		OtherConvention: s.Crossovers(!o.Causal, false), MatmulOnly: s.MatmulCrossovers()}
	if o.Train {
		t := s.Crossovers(o.Causal, true)
		r.Crossover.Train = &t
	}
	return r, nil
}

func (r *Report) componentMap(c Counts) map[string]int64 {
	m := map[string]int64{"total": c.Total()}
	for _, k := range r.parts {
		m[k.String()] = c[k]
	}
	return m
}
