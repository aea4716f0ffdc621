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
	// PrefillFlops is one forward pass over the Seq prompt tokens (the fused
	// attention; no loss), and DecodeAllFlops the same Seq tokens decoded one
	// at a time with the cache. (model.Decoder.Prefill does less than the
	// forward pass: the last layer's attention output and FFN, the final
	// norm and the logits run for the prompt's last position only.)
	PrefillFlops   int64 `json:"prefill_flops"`
	DecodeAllFlops int64 `json:"decode_all_flops"`
}

// InferenceInfo is the inference section of a report.
type InferenceInfo struct {
	// WeightBytes is the stored (unique) parameters per dtype as the engine
	// keeps them with --dtype (model.NarrowBytes): the weight matrices and
	// the token table at the dtype's bytes per value plus, for int8, a
	// float32 scale per row; norms, biases and the position table float32
	// (as are parameters the cost model counts but the engine does not run,
	// such as Gemma 2's extra norms).
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
	if s.AttnSoftcap != 0 {
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

// InferenceAt returns the inference cost at a context of seq tokens.
func (s Spec) InferenceAt(seq int) Inference {
	c := s.Config
	inf := Inference{Seq: seq, KVCacheBytes: map[string]int64{}}
	kept := int64(0) // cached positions summed over the layers
	for l := 0; l < c.Layers; l++ {
		k := int64(seq)
		if s.windowed(l) {
			k = min(k, int64(s.SlidingWindow))
		}
		kept += k
	}
	for _, dt := range DTypes {
		inf.KVCacheBytes[dt.Name] = 2 * kept * int64(c.KVDim()) * dt.Bytes
	}
	inf.DecodeFlops = s.DecodeStep(seq - 1).Total()
	f := s.FLOPs(seq, 1, true).Forward
	f[kernels.Loss] = 0
	inf.PrefillFlops = f.Total()
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
		"prefill runs the fused attention over the prompt at once; decoding the same tokens one at a time does the same matmuls but its own one-row softmax per key",
		"prefill here is a whole forward pass; the engine's prefill (generate, serve) runs the last layer's attention output and FFN, the final norm and the logits for the last prompt position only")
	return t
}
