package cost

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/kernels"
)

// EncDecOptions select what an EncDecReport covers.
type EncDecOptions struct {
	Src   []int // source lengths n_s (DefaultPairSeqs when empty)
	Tgt   []int // target lengths n_t (DefaultPairSeqs when empty); every (n_s, n_t) pair is reported
	Seqs  []int // lengths n of the per-layer table, at n_s = n_t = n (DefaultSeqs when empty)
	Batch int   // pairs per batch B (1 when 0)
}

// DefaultPairSeqs are the source and target lengths reported when none are
// given.
func DefaultPairSeqs() []int { return []int{128, 512} }

// EncDecReport is the cost analysis of an encoder–decoder; its JSON form is
// the stable output of `tformer cost --format json` for one:
//
//	{
//	  "model": {"name", "arch": "encoder-decoder", "vocab", "d_model", "encoder_layers", "decoder_layers",
//	            "heads", "head_dim", "d_ff", "gated", "bias", "norm", "pre_ln", "positions",
//	            "max_positions", "tie"},
//	  "conventions": {"batch", "bytes_per_value", "matmul", "elementwise", "encoder_attention",
//	                  "decoder_attention", "cross_attention", "train"},
//	  "params": {"unique", "applied", "untied", "saved_by_tying", "saved_by_sharing", "buffers",
//	             "components": {"embeddings"|"positions"|"embedding_norms"|"encoder"|"decoder":
//	                            {"unique", "applied"}}},
//	  "components": ["enc_qkv", ...],                      // the keys of flops.forward, in order
//	  "per_pair": [{
//	      "src_seq", "tgt_seq", "batch",
//	      "flops": {"forward": {<component>: n, ..., "total": n}, "train_total": n},
//	      "enc_self_attn", "dec_self_attn", "cross_attn", "ffn",  // forward, whole model
//	      "attention_share", "ffn_share",
//	      "memory": {"weights", "train_state", "activations", "total"}}], // bytes
//	  "per_layer": [{"seq", "beyond_context", "enc_self_attn", "dec_self_attn", "cross_attn", "ffn",
//	                 "enc_self_ffn_ratio", "dec_self_ffn_ratio", "cross_ffn_ratio"}], // n_s = n_t = seq
//	  "crossover": {"enc_self_equals_ffn", "dec_self_equals_ffn", "cross_equals_ffn", // at n_s = n_t = n
//	                "cross_core_equals_ffn_src"}                // n_s where QKᵀ+AV = FFN matmuls, any n_t
//	}
//
// FLOP counts are integers (forward, one pair, times the batch); a
// crossover is a real n, or null when the curves do not cross.
type EncDecReport struct {
	Model       EncDecModelInfo   `json:"model"`
	Conventions EncDecConventions `json:"conventions"`
	Params      EncDecParamsInfo  `json:"params"`
	Components  []string          `json:"components"`
	PerPair     []PairCost        `json:"per_pair"`
	PerLayer    []EncDecLayerRow  `json:"per_layer"`
	Crossover   EncDecCrossovers  `json:"crossover"`

	spec EncDecSpec
}

// EncDecModelInfo echoes the model an EncDecReport is about.
type EncDecModelInfo struct {
	Name         string    `json:"name"`
	Arch         string    `json:"arch"`
	Vocab        int       `json:"vocab"`
	DModel       int       `json:"d_model"`
	EncLayers    int       `json:"encoder_layers"`
	DecLayers    int       `json:"decoder_layers"`
	Heads        int       `json:"heads"`
	HeadDim      int       `json:"head_dim"`
	DFF          int       `json:"d_ff"`
	Gated        bool      `json:"gated"`
	Bias         bool      `json:"bias"`
	Norm         string    `json:"norm"`
	PreLN        bool      `json:"pre_ln"`
	Positions    Positions `json:"positions"`
	MaxPositions int       `json:"max_positions"`
	Tie          EncDecTie `json:"tie"`
}

// EncDecConventions state how an EncDecReport counts.
type EncDecConventions struct {
	Batch         int    `json:"batch"`
	BytesPerValue int    `json:"bytes_per_value"`
	Matmul        string `json:"matmul"`
	Elementwise   string `json:"elementwise"`
	EncAttention  string `json:"encoder_attention"`
	DecAttention  string `json:"decoder_attention"`
	CrossAtention string `json:"cross_attention"`
	Train         string `json:"train"`
}

// EncDecParamsInfo is the parameter section of an EncDecReport.
type EncDecParamsInfo struct {
	Unique       int64 `json:"unique"`
	Applied      int64 `json:"applied"`
	Untied       int64 `json:"untied"` // with three K×d tables
	SavedByTying int64 `json:"saved_by_tying"`
	// SavedBySharing is what cross-layer sharing saves: applied − untied.
	SavedBySharing int64            `json:"saved_by_sharing"`
	Buffers        int64            `json:"buffers"`
	Components     map[string]Count `json:"components"`
}

// PairCost is the cost of one (source, target) length pair.
type PairCost struct {
	Src       int              `json:"src_seq"`
	Tgt       int              `json:"tgt_seq"`
	Batch     int              `json:"batch"`
	Flops     PairFlops        `json:"flops"`
	EncSelf   int64            `json:"enc_self_attn"`
	DecSelf   int64            `json:"dec_self_attn"`
	Cross     int64            `json:"cross_attn"`
	FFN       int64            `json:"ffn"`
	AttnShare float64          `json:"attention_share"`
	FFNShare  float64          `json:"ffn_share"`
	Memory    EncDecMemoryInfo `json:"memory"`
	comps     []namedCount     // forward by component, batch applied
}

// PairFlops are a pair's FLOPs by component.
type PairFlops struct {
	Forward    map[string]int64 `json:"forward"`
	TrainTotal int64            `json:"train_total"`
}

// EncDecMemoryInfo is a training step's memory in bytes.
type EncDecMemoryInfo struct {
	Weights     int64 `json:"weights"`
	TrainState  int64 `json:"train_state"`
	Activations int64 `json:"activations"`
	Total       int64 `json:"total"`
}

// EncDecLayerRow is one layer's forward FLOPs at n_s = n_t = Seq.
type EncDecLayerRow struct {
	Seq           int     `json:"seq"`
	BeyondContext bool    `json:"beyond_context"`
	EncSelf       int64   `json:"enc_self_attn"`
	DecSelf       int64   `json:"dec_self_attn"`
	Cross         int64   `json:"cross_attn"`
	FFN           int64   `json:"ffn"`
	EncSelfRatio  float64 `json:"enc_self_ffn_ratio"`
	DecSelfRatio  float64 `json:"dec_self_ffn_ratio"`
	CrossRatio    float64 `json:"cross_ffn_ratio"`
}

// EncDecCrossovers are the lengths where attention's FLOPs equal the FFN's.
type EncDecCrossovers struct {
	EncSelf *float64 `json:"enc_self_equals_ffn"`
	DecSelf *float64 `json:"dec_self_equals_ffn"`
	Cross   *float64 `json:"cross_equals_ffn"`
	// CrossCoreSrc is the source length at which cross-attention's QKᵀ+AV
	// matmuls equal the decoder FFN's matmuls, whatever n_t.
	CrossCoreSrc float64 `json:"cross_core_equals_ffn_src"`
}

type namedCount struct {
	name string
	n    int64
}

// components are a pair's forward FLOPs by component, in report order.
func (s EncDecSpec) components(f EncDecFLOPs) []namedCount {
	out := []namedCount{}
	add := func(prefix string, a AttnFLOPs) {
		out = append(out, namedCount{prefix + "_qkv", a.QKV}, namedCount{prefix + "_scores", a.Scores},
			namedCount{prefix + "_softmax", a.Softmax}, namedCount{prefix + "_av", a.AV}, namedCount{prefix + "_attn_out", a.Out})
	}
	add("enc", f.EncSelf)
	out = append(out, namedCount{"enc_ffn", f.EncFFN})
	add("dec", f.DecSelf)
	add("cross", f.Cross)
	out = append(out, namedCount{"dec_ffn", f.DecFFN}, namedCount{"norms", f.Norms}, namedCount{"embedding", f.Embed})
	if s.Positions == PosRelative {
		out = append(out, namedCount{"pos_bias", f.PosBias})
	}
	return append(out, namedCount{"logits", f.Logits}, namedCount{"loss", f.Loss})
}

// sharing describes s's cross-layer sharing.
func (s EncDecSpec) sharing() string {
	out := "none"
	if s.Share != "" && s.Share != "none" {
		out = fmt.Sprintf("%s in %d group(s) per stack", s.Share, s.Groups)
	}
	if s.ShareStacks {
		out += ", decoder self-attention and FFN blocks = the encoder's"
	}
	return out
}

// crossAt finds the n at which the per-layer counts attn(n) and ffn(n)
// (at n_s = n_t = n) are equal: attention grows as n² (plus the fused
// softmax's rescales, a step function of n), the FFN as n. It brackets the
// sign change of attn − ffn between two integers by doubling and
// bisection, and interpolates between them; nil when attention is not
// below the FFN at n = 1 or has not caught up by n = 2^20.
func crossAt(attn, ffn func(n int) int64) *float64 {
	g := func(n int) int64 { return attn(n) - ffn(n) }
	if g(1) >= 0 {
		return nil
	}
	lo, hi := 1, 2
	for g(hi) < 0 {
		if hi >= 1<<20 {
			return nil
		}
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 {
		if m := (lo + hi) / 2; g(m) < 0 {
			lo = m
		} else {
			hi = m
		}
	}
	a, b := float64(g(lo)), float64(g(hi))
	x := float64(lo) + a/(a-b)
	return &x
}

// NewEncDecReport computes the report of s for the lengths in o. A length
// pair beyond a learned position table is an error; per-layer rows beyond
// it are counted as if the table were longer, and marked.
func NewEncDecReport(s EncDecSpec, o EncDecOptions) (*EncDecReport, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(o.Src) == 0 {
		o.Src = DefaultPairSeqs()
	}
	if len(o.Tgt) == 0 {
		o.Tgt = DefaultPairSeqs()
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
			return nil, fmt.Errorf("encdec %s: length %d: %w", s.Name, n, errLength)
		}
		if err := s.checkCountable(n, n, 1); err != nil {
			return nil, err
		}
	}
	for _, ns := range o.Src {
		for _, nt := range o.Tgt {
			if err := s.checkCountable(ns, nt, o.Batch); err != nil {
				return nil, err
			}
		}
	}
	B := int64(o.Batch)
	p := s.Params()
	K, d := int64(s.Vocab), int64(s.DModel)
	actF, _ := s.ActFlops()
	u := s
	u.Share, u.Groups, u.ShareStacks = "", 0, false
	unshared := u.Params()
	norm := "layernorm"
	if s.RMSNorm {
		norm = "rmsnorm"
	}
	r := &EncDecReport{spec: s,
		Model: EncDecModelInfo{Name: s.Name, Arch: "encoder-decoder", Vocab: s.Vocab, DModel: s.DModel, EncLayers: s.EncLayers, DecLayers: s.DecLayers,
			Heads: s.Heads, HeadDim: int(s.inner()) / s.Heads, DFF: s.DFF, Gated: s.Gated, Bias: s.Bias, Norm: norm, PreLN: s.PreLN,
			Positions: s.Positions, MaxPositions: s.MaxPositions, Tie: s.Tie},
		Conventions: EncDecConventions{Batch: o.Batch, BytesPerValue: 4,
			Matmul: "2·m·k·n per (m x k)·(k x n) product",
			Elementwise: fmt.Sprintf("as the engine's kernels count them, forward: bias 1, residual 1 (in the output and FFN down projections), softmax %d per (query, key) pair plus d_head per query row and per running-output rescale (one per %d-key tile after the first), layernorm %d (rmsnorm %d), FFN activation %d, position add 1, √d scale 1, loss %d per logit",
				kernels.FlopsAttnSoftmaxFwd, kernels.AttentionTile, kernels.FlopsLayerNormFwd, kernels.FlopsRMSNormFwd, actF, kernels.FlopsLossFwd),
			EncAttention:  "bidirectional: n_s² (query, key) pairs per head",
			DecAttention:  "causal: n_t(n_t+1)/2 pairs per head",
			CrossAtention: "n_t·n_s pairs per head; Q and output projection on target rows, K and V once on source rows",
			Train:         "forward + backward, the backward as the engine counts it (matmuls 4 per multiply-add, the fused attention recomputing QKᵀ)"},
		Params: EncDecParamsInfo{Unique: p.Unique(), Applied: p.Applied, Untied: p.Unique() - p.Embedding + 3*K*d,
			Buffers: p.Buffers, Components: map[string]Count{
				"embeddings":      {Unique: p.Embedding, Applied: 3 * K * d},
				"positions":       {Unique: p.Positions, Applied: p.Positions},
				"embedding_norms": {Unique: p.EmbedNorms, Applied: p.EmbedNorms},
				"encoder":         {Unique: p.Encoder, Applied: unshared.Encoder},
				"decoder":         {Unique: p.Decoder, Applied: unshared.Decoder},
			}},
	}
	r.Params.SavedByTying = r.Params.Untied - p.Unique()
	r.Params.SavedBySharing = p.Applied - r.Params.Untied
	for _, ns := range o.Src {
		for _, nt := range o.Tgt {
			f, err := s.FLOPs(ns, nt)
			if err != nil {
				return nil, err
			}
			m, err := s.Memory(ns, nt)
			if err != nil {
				return nil, err
			}
			e := PairCost{Src: ns, Tgt: nt, Batch: o.Batch}
			e.Flops.Forward = map[string]int64{}
			e.comps = s.components(f)
			if r.Components == nil {
				for _, c := range e.comps {
					r.Components = append(r.Components, c.name)
				}
			}
			for i, c := range e.comps {
				e.comps[i].n = B * c.n
				e.Flops.Forward[c.name] = B * c.n
			}
			e.Flops.Forward["total"] = B * f.Total()
			e.Flops.TrainTotal = B * f.Training
			e.EncSelf, e.DecSelf, e.Cross, e.FFN = B*f.EncSelf.Total(), B*f.DecSelf.Total(), B*f.Cross.Total(), B*(f.EncFFN+f.DecFFN)
			tot := float64(B * f.Total())
			e.AttnShare, e.FFNShare = float64(e.EncSelf+e.DecSelf+e.Cross)/tot, float64(e.FFN)/tot
			e.Memory = EncDecMemoryInfo{Weights: m.Weights, TrainState: m.TrainState, Activations: B * m.Activations}
			e.Memory.Total = e.Memory.TrainState + e.Memory.Activations
			r.PerPair = append(r.PerPair, e)
		}
	}
	Le, Ld := int64(s.EncLayers), int64(s.DecLayers)
	layer := func(n int) EncDecFLOPs { return s.flops(n, n) }
	for _, n := range o.Seqs {
		f := layer(n)
		l := EncDecLayerRow{Seq: n, BeyondContext: s.Positions == PosLearned && n > s.MaxPositions,
			EncSelf: f.EncSelf.Total() / Le, DecSelf: f.DecSelf.Total() / Ld, Cross: f.Cross.Total() / Ld, FFN: f.EncFFN / Le}
		l.EncSelfRatio = float64(l.EncSelf) / float64(l.FFN)
		l.DecSelfRatio = float64(l.DecSelf) / float64(l.FFN)
		l.CrossRatio = float64(l.Cross) / float64(l.FFN)
		r.PerLayer = append(r.PerLayer, l)
	}
	ffn := func(n int) int64 { return layer(n).EncFFN / Le }
	r.Crossover = EncDecCrossovers{
		EncSelf:      crossAt(func(n int) int64 { return layer(n).EncSelf.Total() / Le }, ffn),
		DecSelf:      crossAt(func(n int) int64 { return layer(n).DecSelf.Total() / Ld }, ffn),
		Cross:        crossAt(func(n int) int64 { return layer(n).Cross.Total() / Ld }, ffn),
		CrossCoreSrc: s.CrossoverCross(),
	}
	return r, nil
}

// Write renders the report as "table", "md", "csv" (one row per pair) or
// "json" (see EncDecReport). With perLayer, table, md and csv show only the
// per-layer table and the crossovers.
func (r *EncDecReport) Write(w io.Writer, format string, perLayer bool) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return r.writeCSV(w, perLayer)
	case "table", "md":
		return r.writeTables(w, format == "md", perLayer)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), ", "))
}

func ratio(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

func (r *EncDecReport) layerTable() *table {
	m := r.Model
	t := &table{title: fmt.Sprintf("Per layer, forward FLOPs at n_s = n_t = n (d=%d, d_ff=%d, %d heads; one pair; encoder self-attention bidirectional, decoder self-attention causal)", m.DModel, m.DFF, m.Heads),
		head: []string{"n", "enc self-attn", "dec self-attn", "cross-attn", "FFN", "enc self/FFN", "dec self/FFN", "cross/FFN"}}
	beyond := false
	for _, l := range r.PerLayer {
		n := strconv.Itoa(l.Seq)
		if l.BeyondContext {
			n += "*"
			beyond = true
		}
		t.rows = append(t.rows, []string{n, si(float64(l.EncSelf)), si(float64(l.DecSelf)), si(float64(l.Cross)), si(float64(l.FFN)),
			ratio(l.EncSelfRatio), ratio(l.DecSelfRatio), ratio(l.CrossRatio)})
	}
	c := r.Crossover
	t.notes = append(t.notes,
		fmt.Sprintf("crossovers (exact, per layer, n_s = n_t = n): encoder self-attn = FFN at %s; decoder self-attn = FFN at %s; cross-attn = FFN at %s",
			crossText(c.EncSelf), crossText(c.DecSelf), crossText(c.Cross)),
		fmt.Sprintf("cross-attn QKᵀ+AV = decoder FFN matmuls at n_s = %s, whatever n_t", strconv.FormatFloat(c.CrossCoreSrc, 'f', -1, 64)))
	if beyond {
		t.notes = append(t.notes, fmt.Sprintf("* beyond the model's %d learned positions (counted as if it had them)", m.MaxPositions))
	}
	return t
}

func (r *EncDecReport) writeTables(w io.Writer, md bool, perLayer bool) error {
	m, c := r.Model, r.Conventions
	head := fmt.Sprintf("%s: encoder-decoder, vocab %s, d %d, %d+%d layers, %d heads of %d, d_ff %d, %s, %s positions, tie %s",
		m.Name, commas(int64(m.Vocab)), m.DModel, m.EncLayers, m.DecLayers, m.Heads, m.HeadDim, m.DFF, map[bool]string{true: "pre-LN", false: "post-LN"}[m.PreLN], m.Positions, m.Tie)
	intro := []string{head,
		"FLOPs: a matmul (m x k)·(k x n) counts 2·m·k·n; " + c.Elementwise + ".",
		fmt.Sprintf("encoder self-attention %s; decoder self-attention %s; cross-attention %s; batch %d; training = %s.",
			c.EncAttention, c.DecAttention, c.CrossAtention, c.Batch, c.Train)}
	if md {
		fmt.Fprintf(w, "## tformer cost: %s\n\n", m.Name)
		for _, l := range intro {
			fmt.Fprintf(w, "%s  \n", l)
		}
	} else {
		for _, l := range intro {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintln(w)
	if perLayer {
		r.layerTable().write(w, md)
		return nil
	}
	p := r.Params
	pt := &table{title: "Parameters", head: []string{"component", "unique (stored)", "applied (per use)"}}
	for _, k := range []string{"embeddings", "positions", "embedding_norms", "encoder", "decoder"} {
		v := p.Components[k]
		if v.Applied == 0 {
			continue
		}
		pt.rows = append(pt.rows, []string{strings.ReplaceAll(k, "_", " "), commas(v.Unique), commas(v.Applied)})
	}
	pt.rows = append(pt.rows, []string{"total", commas(p.Unique), commas(p.Applied)})
	pt.notes = []string{fmt.Sprintf("embeddings applied: source lookup, target lookup and output projection, 3 x %s x %d; untied (three tables): %s; tying saves %s",
		commas(int64(m.Vocab)), m.DModel, commas(p.Untied), commas(p.SavedByTying))}
	if p.SavedBySharing > 0 {
		pt.notes = append(pt.notes, fmt.Sprintf("cross-layer sharing (%s) saves %s", r.spec.sharing(), commas(p.SavedBySharing)))
	}
	if p.Buffers > 0 {
		pt.notes = append(pt.notes, fmt.Sprintf("buffers (not parameters): final_logits_bias, %s values", commas(p.Buffers)))
	}
	pt.write(w, md)
	r.layerTable().write(w, md)

	ft := &table{title: fmt.Sprintf("Forward FLOPs per (n_s, n_t) pair (whole model, batch %d)", c.Batch),
		head: []string{"n_s", "n_t", "enc self-attn", "dec self-attn", "cross-attn", "FFN", "logits", "other", "total", "attn share", "FFN share", "train (fwd+bwd)"}}
	mt := &table{title: fmt.Sprintf("Memory of a training step (batch %d, float32, AdamW)", c.Batch),
		head: []string{"n_s", "n_t", "weights", "weights+grads+AdamW", "activations", "total"}}
	for _, e := range r.PerPair {
		logits := e.Flops.Forward["logits"]
		tot := e.Flops.Forward["total"]
		other := tot - e.EncSelf - e.DecSelf - e.Cross - e.FFN - logits
		ns, nt := strconv.Itoa(e.Src), strconv.Itoa(e.Tgt)
		ft.rows = append(ft.rows, []string{ns, nt, si(float64(e.EncSelf)), si(float64(e.DecSelf)), si(float64(e.Cross)), si(float64(e.FFN)),
			si(float64(logits)), si(float64(other)), si(float64(tot)), pct(e.AttnShare), pct(e.FFNShare), si(float64(e.Flops.TrainTotal))})
		mm := e.Memory
		mt.rows = append(mt.rows, []string{ns, nt, textfmt.Bytes(mm.Weights, 2), textfmt.Bytes(mm.TrainState, 2), textfmt.Bytes(mm.Activations, 2), textfmt.Bytes(mm.Total, 2)})
	}
	ft.notes = []string{"attention and FFN include their residual adds; FFN: encoder and decoder FFNs; other: norms, the loss, embedding scaling and positions (T5: the relative-position bias)."}
	mt.notes = []string{"activations: the buffers the engine allocates for a training step (norm outputs and statistics, residual sums, Q/K/V, attention outputs,",
		"the fused attention's one statistic per row and head, FFN hidden, logits and probabilities, backward scratch); weights include buffers (final_logits_bias)."}
	ft.write(w, md)
	mt.write(w, md)
	return nil
}

func (r *EncDecReport) writeCSV(w io.Writer, perLayer bool) error {
	cw := csv.NewWriter(w)
	if perLayer {
		_ = cw.Write([]string{"seq", "enc_self_attn", "dec_self_attn", "cross_attn", "ffn", "enc_self_ffn_ratio", "dec_self_ffn_ratio", "cross_ffn_ratio"})
		for _, l := range r.PerLayer {
			_ = cw.Write([]string{strconv.Itoa(l.Seq), i64(l.EncSelf), i64(l.DecSelf), i64(l.Cross), i64(l.FFN), f64(l.EncSelfRatio), f64(l.DecSelfRatio), f64(l.CrossRatio)})
		}
		cw.Flush()
		return cw.Error()
	}
	head := []string{"src_seq", "tgt_seq", "batch"}
	for _, k := range r.Components {
		head = append(head, "forward_"+k)
	}
	head = append(head, "forward_total", "train_total", "enc_self_attn", "dec_self_attn", "cross_attn", "ffn", "attention_share", "ffn_share",
		"mem_weights", "mem_train_state", "mem_activations", "mem_total")
	_ = cw.Write(head)
	for _, e := range r.PerPair {
		row := []string{strconv.Itoa(e.Src), strconv.Itoa(e.Tgt), strconv.Itoa(e.Batch)}
		for _, c := range e.comps {
			row = append(row, i64(c.n))
		}
		m := e.Memory
		row = append(row, i64(e.Flops.Forward["total"]), i64(e.Flops.TrainTotal), i64(e.EncSelf), i64(e.DecSelf), i64(e.Cross), i64(e.FFN),
			f64(e.AttnShare), f64(e.FFNShare), i64(m.Weights), i64(m.TrainState), i64(m.Activations), i64(m.Total))
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
