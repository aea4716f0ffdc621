package cost

import (
	"fmt"

	"github.com/tformer/tformer/internal/textfmt"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// DTypes are the storage types inference memory is reported in, with their
// bytes per value (of the key/value cache, and of the weight matrices) and
// the engine's weight type (model.Model.Quantize, `--dtype`).
var DTypes = []struct {
	Name   string
	Bytes  int64
	Engine model.DType
}{{"fp32", 4, model.F32}, {"bf16", 2, model.BF16}, {"int8", 1, model.Int8}}

// Inference is the cost of generating with a key/value cache at a context
// of Seq tokens (one sequence), for a decoder.
type Inference struct {
	Seq int `json:"seq"`
	// KVCacheBytes is the cache holding Seq positions per dtype: 2 (K and V)
	// · layers · kv_heads · head_dim values per token (windowed layers keep
	// at most SlidingWindow positions).
	KVCacheBytes map[string]int64 `json:"kv_cache_bytes"`
	// DecodeFlops is the forward FLOPs of one decoded token at position
	// Seq−1 (it attends to Seq keys), as model.Decoder.Step counts them.
	DecodeFlops int64 `json:"decode_flops"`
	// PrefillFlops is a Seq-token prompt fed to an empty cache by
	// model.Decoder.Prefill, as its kernels count it (Spec.Prefill(0, Seq)):
	// every layer's keys and values for all Seq positions, the last layer's
	// attention output and FFN, the final norm and the logits for the last
	// position only. DecodeAllFlops is the same Seq tokens decoded one at a
	// time with the cache (logits at every position).
	PrefillFlops   int64 `json:"prefill_flops"`
	DecodeAllFlops int64 `json:"decode_all_flops"`
}

// InferenceInfo is the inference section of a report.
type InferenceInfo struct {
	// WeightBytes is the stored (unique) parameters per dtype as the engine
	// keeps them with --dtype (model.NarrowBytes): the weight matrices and
	// the token table at the dtype's bytes per value plus, for int8, a
	// float32 scale per row; norms (Gemma 2's post-norms too), biases and
	// the position table float32.
	WeightBytes map[string]int64 `json:"weight_bytes"`
	// KVBytesPerToken is the cache per token of context per dtype (every
	// layer holding it).
	KVBytesPerToken map[string]int64 `json:"kv_bytes_per_token"`
	PerSeq          []Inference      `json:"per_seq"`
}

// KVValuesPerToken is the number of cached values per token of context when
// every layer keeps it: 2 · layers · kv_heads · head_dim.
func (s Spec) KVValuesPerToken() int64 {
	return 2 * int64(s.Config.Layers) * int64(s.Config.KVDim())
}

// perKey is the decode FLOPs one more cached key adds in one layer.
func (s Spec) perKey() Counts {
	c := s.Config
	H, dh := int64(c.Heads), int64(c.HeadDim())
	var o Counts
	o[kernels.Scores] = H * 2 * dh
	o[kernels.Softmax] = H * kernels.FlopsSoftmaxFwd
	if s.Config.AttnSoftcap != 0 {
		o[kernels.Softmax] += H * FlopsSoftcapFwd
	}
	o[kernels.AV] = H * 2 * dh
	return o
}

// DecodeAll returns the FLOPs of decoding n tokens one at a time from an
// empty cache: the sum of DecodeStep(0..n−1), in closed form (each step is
// its position-independent part plus perKey for every key it reads).
func (s Spec) DecodeAll(n int) Counts {
	L := int64(s.Config.Layers)
	pk := s.perKey()
	base := s.DecodeStep(0) // reads one key per layer
	keys, _ := s.attnSums(n, true)
	var o Counts
	for i := range o {
		o[i] = int64(n)*(base[i]-L*pk[i]) + keys*pk[i]
	}
	return o
}

// prefillAttn returns the (query, key) pairs and rescales of one head of
// layer l's fused attention over n query rows at positions pos..pos+n−1,
// row pos+i seeing the pos+i+1 keys up to it (at most SlidingWindow in a
// windowed layer): the rows' share of a causal pass over pos+n positions,
// whatever the chunks the rows are run in (a row's count depends on its
// position alone).
func (s Spec) prefillAttn(l, pos, n int) (pairs, resc int64) {
	if w := s.Config.Window(l); w > 0 {
		return kernels.AttentionWindowCounts(pos, n, w)
	}
	return kernels.AttentionPairs(pos+n, true) - kernels.AttentionPairs(pos, true),
		kernels.AttentionRescales(pos+n, true) - kernels.AttentionRescales(pos, true)
}

// Prefill returns the forward FLOPs of model.Decoder.Prefill feeding n
// prompt tokens at positions pos..pos+n−1 after pos cached ones (pos 0: an
// empty cache; pos > 0 after earlier Step or Prefill calls), per component
// as its kernel counters count them. Every position is embedded and goes
// through every layer's first norm, QKV projection and rotary embedding,
// whose keys and values the cache keeps. Every layer but the last then
// runs the fused causal attention (kernels.AttentionPrefillGQA: row pos+i
// attends to pos+i+1 keys; its rows are counted alike in any chunking of
// model.PrefillChunk) and its attention output, norms and FFN for all n
// rows. The last layer's outputs feed only the logits: its attention
// (the decode kernel's, one query over the pos+n cached keys), attention
// output, remaining norms and FFN run for the last position alone, as do
// the final norm and the output head. No loss. n ≤ 0 costs nothing.
// Decoders only.
func (s Spec) Prefill(pos, n int) Counts {
	var o Counts
	c := s.Config
	if n <= 0 || c.Layers <= 0 {
		return o
	}
	N, d, E := int64(n), int64(c.DModel), int64(s.E())
	lf, _ := s.layerTerms()
	lnF, _ := s.normFlops()
	for l := 0; l < c.Layers-1; l++ {
		P, R := s.prefillAttn(l, pos, n)
		for i := range lf {
			o[i] += lf[i].Pair*P + lf[i].Lin*N + lf[i].Resc*R
		}
	}
	// The last layer: the first norm, QKV and rope for every row, the rest
	// for one; its attention is the decode kernel's (no per-row or rescale
	// terms: FlopsSoftmaxFwd per key, soft-capped as DecodeStep counts it).
	for i := range lf {
		if i != int(kernels.Softmax) { // the fused kernel's per-row term
			o[i] += lf[i].Lin
		}
	}
	o[kernels.QKV] += (N - 1) * lf[kernels.QKV].Lin
	o[kernels.Rope] += (N - 1) * lf[kernels.Rope].Lin
	o[kernels.LayerNorm] += (N - 1) * d * lnF
	nk := int64(pos + n)
	if s.windowed(c.Layers - 1) {
		nk = min(nk, int64(s.Config.SlidingWindow))
	}
	pk := s.perKey() // scores, softmax, av per key in one layer
	for _, k := range []kernels.Component{kernels.Scores, kernels.Softmax, kernels.AV} {
		o[k] += nk * pk[k]
	}
	// Outside the layers: the embedding of every row, the final norm and
	// the head of the last (one row of a forward pass's terms).
	row := s.FLOPs(1, 1, true).Forward
	o[kernels.Embedding] = N * row[kernels.Embedding]
	o[EmbedProj] = N * row[EmbedProj]
	o[kernels.LayerNorm] += d * lnF
	o[kernels.Logits] = row[kernels.Logits]
	if E != d {
		o[MLMDense] = row[MLMDense]
		o[kernels.LayerNorm] += E * kernels.FlopsLayerNormFwd
	}
	return o
}

// InferenceAt returns the inference cost at a context of seq tokens.
func (s Spec) InferenceAt(seq int) Inference {
	c := s.Config
	inf := Inference{Seq: seq, KVCacheBytes: map[string]int64{}}
	kept := int64(0) // cached positions summed over the layers
	for l := 0; l < c.Layers; l++ {
		k := int64(seq)
		if s.windowed(l) {
			k = min(k, int64(s.Config.SlidingWindow))
		}
		kept += k
	}
	for _, dt := range DTypes {
		inf.KVCacheBytes[dt.Name] = 2 * kept * int64(c.KVDim()) * dt.Bytes
	}
	inf.DecodeFlops = s.DecodeStep(seq - 1).Total()
	inf.PrefillFlops = s.Prefill(0, seq).Total()
	inf.DecodeAllFlops = s.DecodeAll(seq).Total()
	return inf
}

// inferenceInfo builds the report section (decoders only).
func (s Spec) inferenceInfo(seqs []int) *InferenceInfo {
	if s.Arch != Decoder {
		return nil
	}
	info := &InferenceInfo{WeightBytes: map[string]int64{}, KVBytesPerToken: map[string]int64{}}
	p := s.Parameters().Total.Unique
	for _, dt := range DTypes {
		info.WeightBytes[dt.Name] = model.NarrowBytes(p, s.Config, dt.Engine)
		info.KVBytesPerToken[dt.Name] = s.KVValuesPerToken() * dt.Bytes
	}
	for _, n := range seqs {
		info.PerSeq = append(info.PerSeq, s.InferenceAt(n))
	}
	return info
}

// inferenceTable renders the inference section.
func (r *Report) inferenceTable() *table {
	in := r.Inference
	t := &table{title: "Inference with a KV cache (one sequence; FLOPs are forward only)",
		head: []string{"n", "KV cache fp32", "bf16", "int8", "decode FLOPs/token at n", "prefill n tokens", "decode n tokens"}}
	for _, e := range in.PerSeq {
		t.rows = append(t.rows, []string{fmt.Sprint(e.Seq), textfmt.Bytes(e.KVCacheBytes["fp32"], 2), textfmt.Bytes(e.KVCacheBytes["bf16"], 2), textfmt.Bytes(e.KVCacheBytes["int8"], 2),
			si(float64(e.DecodeFlops)), si(float64(e.PrefillFlops)), si(float64(e.DecodeAllFlops))})
	}
	perParam := func(k string) float64 { return float64(in.WeightBytes[k]) / float64(r.Params.Unique) }
	t.notes = append(t.notes,
		fmt.Sprintf("weights (--dtype): %s fp32, %s bf16 (%.3f bytes/param), %s int8 (%.3f bytes/param: a float32 scale per matrix row; norms and biases stay fp32)",
			textfmt.Bytes(in.WeightBytes["fp32"], 2), textfmt.Bytes(in.WeightBytes["bf16"], 2), perParam("bf16"), textfmt.Bytes(in.WeightBytes["int8"], 2), perParam("int8")),
		fmt.Sprintf("KV cache per token: %s fp32, %s bf16 (2·layers·kv_heads·head_dim values; the engine's cache is fp32)",
			textfmt.Bytes(in.KVBytesPerToken["fp32"], 2), textfmt.Bytes(in.KVBytesPerToken["bf16"], 2)),
		"prefill n tokens is what the engine's prefill counts (model.Decoder.Prefill, as generate and serve feed a prompt): all n positions through every layer but the last, and through the last one's QKV (its keys and values are cached); the rest of the last layer, the final norm and the logits for the last position only",
		"decode n tokens feeds the same tokens one Step at a time: every position through every layer and the logits, with the decode attention's own one-row softmax per key")
	if r.spec.Config.SlidingWindow > 0 {
		t.notes = append(t.notes, "KV cache: a windowed layer counts only the last sliding_window positions, as a sliding-window cache keeps them; tformer's own decoder keeps every position (its cache is the per-token figure times n), while its FLOPs attend only the window as counted here")
	}
	return t
}
