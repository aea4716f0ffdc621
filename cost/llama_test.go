package cost

import (
	"strings"
	"testing"

	"github.com/tformer/tformer/kernels"
)

// TestPublishedParameterCounts reproduces the published totals of today's
// models from their config.json values, both as presets and decoded from a
// config.json written with those values. Per model the values are
// vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, head_dim, intermediate_size, tie_word_embeddings.
func TestPublishedParameterCountsLlama(t *testing.T) {
	for _, tc := range []struct {
		preset, config string
		want, tieSaves int64
	}{
		// SmolLM2-135M: 49152, 576, 30, 9, 3, 64, 1536, tied.
		{"smollm2-135m", `{"model_type":"llama","vocab_size":49152,"hidden_size":576,"num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,"intermediate_size":1536,"max_position_embeddings":8192,"tie_word_embeddings":true,"rope_theta":100000,"hidden_act":"silu","rms_norm_eps":1e-5}`, 134515008, 49152 * 576},
		// Llama-3.2-1B: 128256, 2048, 16, 32, 8, 64, 8192, tied.
		{"llama-3.2-1b", `{"model_type":"llama","vocab_size":128256,"hidden_size":2048,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"head_dim":64,"intermediate_size":8192,"max_position_embeddings":131072,"tie_word_embeddings":true,"rope_theta":500000,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}}`, 1235814400, 262668288},
		// Llama-3.2-3B: 128256, 3072, 28, 24, 8, 128, 8192, tied.
		{"llama-3.2-3b", `{"model_type":"llama","vocab_size":128256,"hidden_size":3072,"num_hidden_layers":28,"num_attention_heads":24,"num_key_value_heads":8,"head_dim":128,"intermediate_size":8192,"max_position_embeddings":131072,"tie_word_embeddings":true,"rope_theta":500000}`, 3212749824, 128256 * 3072},
		// Qwen2.5-0.5B: 151936, 896, 24, 14, 2, 64, 4864, tied, q/k/v biases.
		{"qwen2.5-0.5b", `{"model_type":"qwen2","vocab_size":151936,"hidden_size":896,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,"intermediate_size":4864,"max_position_embeddings":32768,"tie_word_embeddings":true,"rope_theta":1000000.0,"use_sliding_window":false,"sliding_window":32768}`, 494032768, 151936 * 896},
		// TinyLlama-1.1B: 32000, 2048, 22, 32, 4, 64, 5632, untied.
		{"tinyllama-1.1b", `{"model_type":"llama","vocab_size":32000,"hidden_size":2048,"num_hidden_layers":22,"num_attention_heads":32,"num_key_value_heads":4,"intermediate_size":5632,"max_position_embeddings":2048,"tie_word_embeddings":false}`, 1100048384, 0},
		// Llama-2-7B: 32000, 4096, 32, 32, 32, 128, 11008, untied.
		{"llama-2-7b", `{"model_type":"llama","vocab_size":32000,"hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32,"intermediate_size":11008,"max_position_embeddings":4096}`, 6738415616, 0},
		// Mistral-7B-v0.1: 32000, 4096, 32, 32, 8, 128, 14336, untied; sliding_window 4096.
		{"mistral-7b", `{"model_type":"mistral","vocab_size":32000,"hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":14336,"max_position_embeddings":32768,"sliding_window":4096,"tie_word_embeddings":false}`, 7241732096, 0},
		// Meta-Llama-3-8B: 128256, 4096, 32, 32, 8, 128, 14336, untied.
		{"llama-3-8b", `{"model_type":"llama","vocab_size":128256,"hidden_size":4096,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":14336,"max_position_embeddings":8192,"rope_theta":500000.0,"tie_word_embeddings":false}`, 8030261248, 0},
		// Gemma-2-2B: 256000, 2304, 26, 8, 4, 256, 9216, tied; four norms per layer.
		{"gemma-2-2b", `{"model_type":"gemma2","vocab_size":256000,"hidden_size":2304,"num_hidden_layers":26,"num_attention_heads":8,"num_key_value_heads":4,"head_dim":256,"intermediate_size":9216,"max_position_embeddings":8192,"hidden_activation":"gelu_pytorch_tanh","sliding_window":4096,"attn_logit_softcapping":50.0,"final_logit_softcapping":30.0,"query_pre_attn_scalar":256}`, 2614341888, 589824000},
	} {
		p, err := Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ParseHFConfig([]byte(tc.config))
		if err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		for _, s := range []Spec{p, h} {
			got := s.Parameters()
			if got.Total.Unique != tc.want || got.SavedByTying != tc.tieSaves {
				t.Errorf("%s: %d parameters (tying saves %d), published %d (tying saves %d)", tc.preset, got.Total.Unique, got.SavedByTying, tc.want, tc.tieSaves)
			}
		}
		if hf, pf := h.FLOPs(512, 1, true), p.FLOPs(512, 1, true); hf != pf {
			t.Errorf("%s: the config.json and the preset count different FLOPs", tc.preset)
		}
	}
}

// TestGQASwiGLUFlops checks Llama-3.2-1B's per-layer forward matmul FLOPs at
// n tokens against formulas derived by hand: Q and O 2·n·d·(H·dh) each, K
// and V 2·n·d·(H_kv·dh) each, gate, up and down 2·n·d·f each, and the
// attention core 2·dh·H per (query, key) pair for scores and again for AV.
func TestGQASwiGLUFlops(t *testing.T) {
	s, _ := Preset("llama-3.2-1b")
	const n, d, H, KV, dh, f, L = 1000, 2048, 32, 8, 64, 8192, 16
	fw := s.FLOPs(n, 1, true).Forward
	if want := int64(L) * 2 * n * d * (H*dh + 2*KV*dh); fw[kernels.QKV] != want { // no biases
		t.Errorf("qkv %d, want %d", fw[kernels.QKV], want)
	}
	if want := int64(L) * (2*n*H*dh*d + n*d); fw[kernels.AttnOut] != want { // plus the residual add
		t.Errorf("attn_out %d, want %d", fw[kernels.AttnOut], want)
	}
	for _, k := range []kernels.Component{kernels.FFNGate, kernels.FFNUp} {
		if want := int64(L) * 2 * n * d * f; fw[k] != want {
			t.Errorf("%s %d, want %d", k, fw[k], want)
		}
	}
	if want := int64(L) * (2*n*f*d + n*d); fw[kernels.FFNDown] != want {
		t.Errorf("ffn_down %d, want %d", fw[kernels.FFNDown], want)
	}
	if want := int64(L) * n * f * kernels.FlopsSwiGLUFwd; fw[kernels.GLU] != want || fw[kernels.GELU] != 0 {
		t.Errorf("glu %d (gelu %d), want %d (0)", fw[kernels.GLU], fw[kernels.GELU], want)
	}
	pairs := int64(n * (n + 1) / 2)
	if want := int64(L) * H * pairs * 2 * dh; fw[kernels.Scores] != want || fw[kernels.AV] != want {
		t.Errorf("scores/av %d/%d, want %d", fw[kernels.Scores], fw[kernels.AV], want)
	}
	if want := int64(L) * n * (H + KV) * dh * kernels.FlopsRopeFwd; fw[kernels.Rope] != want {
		t.Errorf("rope %d, want %d", fw[kernels.Rope], want)
	}
	// Textbook matmul view: QKV 2·n·d·(H+2·KV)·dh, FFN 3·2·n·d·f.
	m := s.Matmul(n)
	if m.QKV != 2*n*d*(H+2*KV)*dh || m.FFN != 6*n*d*f || m.Scores != 2*n*n*H*dh {
		t.Errorf("matmul view %+v", m)
	}
}

// TestSlidingWindowFlops: Mistral's window changes FLOPs, not weights.
// Beyond the window, each query sees W keys.
func TestSlidingWindowFlops(t *testing.T) {
	m, _ := Preset("mistral-7b")
	full := m
	full.Config.SlidingWindow = 0
	if m.Parameters() != full.Parameters() {
		t.Error("the window changed the parameters")
	}
	const n, W, H, dh, L = 8192, 4096, 32, 128, 32
	pairs := int64(W*(W+1)/2) + int64(n-W)*W
	if got, want := m.FLOPs(n, 1, true).Forward[kernels.Scores], int64(L)*H*pairs*2*dh; got != want {
		t.Errorf("windowed scores %d, want %d", got, want)
	}
	if a, b := m.FLOPs(W, 1, true), full.FLOPs(W, 1, true); a != b {
		t.Error("within the window the counts must agree")
	}
	// Decoding at position 10000 attends to 4096 keys per layer.
	if got, want := m.DecodeStep(10000)[kernels.Scores], int64(L)*H*W*2*dh; got != want {
		t.Errorf("decode scores %d, want %d", got, want)
	}
	// Gemma 2: half the layers windowed; soft-capping costs per pair and logit.
	g, _ := Preset("gemma-2-2b")
	if g.WindowedLayers() != 13 {
		t.Errorf("gemma-2-2b: %d windowed layers, want 13", g.WindowedLayers())
	}
	nocap := g
	nocap.Config.AttnSoftcap, nocap.Config.FinalSoftcap = 0, 0
	a, b := g.FLOPs(100, 1, true).Forward, nocap.FLOPs(100, 1, true).Forward
	if d := a[kernels.Softmax] - b[kernels.Softmax]; d != 26*8*5050*FlopsSoftcapFwd {
		t.Errorf("attention soft-capping adds %d, want %d", d, 26*8*5050*FlopsSoftcapFwd)
	}
	if d := a[kernels.Logits] - b[kernels.Logits]; d != 100*256000*FlopsSoftcapFwd {
		t.Errorf("final soft-capping adds %d", d)
	}
	// Beyond the window a query's attention costs 4·W·H·dh per layer, below
	// the FFN's 6·d·f: Mistral's MHA never overtakes its FFN, while without
	// the window it does.
	if x := m.Crossovers(true, false); x.MHAEqualsFFN != nil {
		t.Errorf("mistral crossover %v, want none", *x.MHAEqualsFFN)
	}
	if x := full.Crossovers(true, false); x.MHAEqualsFFN == nil || *x.MHAEqualsFFN <= W {
		t.Errorf("mistral without its window: crossover %v, want one beyond %d", x.MHAEqualsFFN, W)
	}
}

// TestHFConfigErrors: unsupported model types and options say which field.
func TestHFConfigErrors(t *testing.T) {
	base := `"vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":8`
	for _, tc := range []struct{ json, want string }{
		{`{"model_type":"falcon",` + base + `}`, "model_type"},
		{`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"yarn","factor":4}}`, "rope_scaling.rope_type"},
		{`{"model_type":"llama",` + base + `,"hidden_act":"relu"}`, "hidden_act"},
		{`{"model_type":"llama",` + base + `,"attention_bias":true}`, "attention_bias"},
		{`{"model_type":"llama",` + base + `,"num_key_value_heads":3}`, "kv-heads"},
		{`{"model_type":"llama",` + base + `,"partial_rotary_factor":0.5}`, "partial_rotary_factor"},
		{`{"model_type":"llama","vocab_size":10}`, "hidden_size"},
	} {
		_, err := ParseHFConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.json, err, tc.want)
		}
	}
}

// TestInference checks the KV cache against 2·L·kv_heads·head_dim values
// per token (Llama-3.2-1B: 32 KiB per token in bf16), weight memory per
// dtype, and the closed-form decode total against the sum of its steps,
// with and without a sliding window.
func TestInference(t *testing.T) {
	s, _ := Preset("llama-3.2-1b")
	in := s.inferenceInfo([]int{8192})
	if got := in.KVBytesPerToken["bf16"]; got != 2*16*8*64*2 {
		t.Errorf("KV bytes per token (bf16) %d, want %d", got, 2*16*8*64*2)
	}
	if got := in.PerSeq[0].KVCacheBytes["fp32"]; got != 8192*2*16*8*64*4 {
		t.Errorf("KV cache at 8192 (fp32) %d", got)
	}
	// By hand: 67,584 norm values stay fp32 (16 layers · 2 · 2048 + 2048),
	// the other 1,235,746,816 are matrices with 505,088 rows (wte's 128,256
	// and 16 · (qkv 3072 + o 2048 + gate 8192 + up 8192 + down 2048)).
	if in.WeightBytes["fp32"] != 4*1235814400 || in.WeightBytes["bf16"] != 2*1235746816+4*67584 || in.WeightBytes["int8"] != 1235746816+4*505088+4*67584 {
		t.Errorf("weights %v", in.WeightBytes)
	}
	m, _ := Preset("mistral-7b")
	m.Config.SlidingWindow = 5 // small enough to cross within the loop below
	for _, sp := range []Spec{s, m} {
		var sum Counts
		for pos := 0; pos < 12; pos++ {
			sum = sum.Plus(sp.DecodeStep(pos))
		}
		if got := sp.DecodeAll(12); got != sum {
			t.Errorf("%s: decode-all %v, sum of steps %v", sp.Name, got, sum)
		}
	}
	if got := m.InferenceAt(100).KVCacheBytes["int8"]; got != 2*32*5*1024 {
		t.Errorf("windowed cache %d, want %d", got, 2*32*5*1024)
	}
}
