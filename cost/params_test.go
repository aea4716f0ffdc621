package cost

import (
	"math"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
)

// Published parameter counts: GPT-2 (tied, as released), Hugging Face
// BertModel and AlbertModel (with pooler, without the pre-training heads).
func TestPublishedParameterCounts(t *testing.T) {
	for _, tc := range []struct {
		preset string
		want   int64
	}{
		{"gpt2", 124_439_808},
		{"gpt2-medium", 354_823_168},
		{"gpt2-large", 774_030_080},
		{"gpt2-xl", 1_557_611_200},
		{"bert-base", 109_482_240},
		{"bert-large", 335_141_888},
		{"albert-base", 11_683_584},
		{"albert-large", 17_683_968},
		{"albert-xlarge", 58_724_864},
		{"albert-xxlarge", 222_595_584},
	} {
		s, err := Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		if got := s.Parameters().Total.Unique; got != tc.want {
			t.Errorf("%s: %d parameters, published %d", tc.preset, got, tc.want)
		}
		if s.Arch == Decoder && s.Parameters().Total.Unique != s.Config.UniqueParams() {
			t.Errorf("%s: differs from model.Config", tc.preset)
		}
	}
}

// The ALBERT paper's table 4 (Lan et al. 2019): ALBERT-base shape (d 768,
// 12 layers, vocab 30000) with E = 768 and E = 128 under each sharing mode.
// With the pooler (Hugging Face AlbertModel's convention) the six shared
// entries round to the paper's millions; the two not-shared entries (108M,
// 89M) round to the count without the pooler (108.49M, 89.06M; with it
// 109.08M and 89.65M). No single convention reproduces all eight:
// shared-attention at E = 128 (63.06M bare) needs at least +0.44M to round
// to 64, not-shared (89.06M bare) at most +0.44M to round to 89. At E = d
// there is no E->d mapping (the original ALBERT code projects only when the
// widths differ).
func TestALBERTSharingAblation(t *testing.T) {
	paper := map[int]map[model.Share]float64{
		768: {model.ShareAll: 31, model.ShareAttention: 83, model.ShareFFN: 57, model.ShareNone: 108},
		128: {model.ShareAll: 12, model.ShareAttention: 64, model.ShareFFN: 38, model.ShareNone: 89},
	}
	for E, row := range paper {
		for share, want := range row {
			s, _ := Preset("albert-base")
			s.EmbedDim, s.Config.Share = E, share
			s.Pooler = share != model.ShareNone
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			got := float64(s.Parameters().Total.Unique) / 1e6
			if math.Round(got) != want {
				t.Errorf("E=%d share=%s pooler=%v: %.2fM, paper %gM", E, share, s.Pooler, got, want)
			}
		}
	}
}

// Component breakdown of ALBERT-base, by hand from the tensors AlbertModel has.
func TestALBERTBreakdown(t *testing.T) {
	s, _ := Preset("albert-base")
	p := s.Parameters()
	want := Params{
		Embeddings: Count{30000*128 + 512*128 + 2*128 + 128*768 + 768, 30000*128 + 512*128 + 2*128 + 128*768 + 768},
		Attention:  Count{4*768*768 + 4*768, 12 * (4*768*768 + 4*768)},
		FFN:        Count{2*768*3072 + 3072 + 768, 12 * (2*768*3072 + 3072 + 768)},
		Norms:      Count{2*2*768 + 2*128, 12*2*2*768 + 2*128},
		Pooler:     Count{768*768 + 768, 768*768 + 768},
	}
	if p.Embeddings != want.Embeddings || p.Attention != want.Attention || p.FFN != want.FFN || p.Norms != want.Norms || p.Pooler != want.Pooler || p.Head != (Count{}) {
		t.Errorf("breakdown\n got %+v\nwant %+v", p, want)
	}
	if p.SavedByTying != 0 || p.SavedBySharing != 11*(p.AttnBlock+p.FFNBlock) {
		t.Errorf("savings: tying %d sharing %d", p.SavedByTying, p.SavedBySharing)
	}
	// BERT-base with its MLM head (BertForMaskedLM): + dense 768² + 768, LN 1536, bias 30522.
	b, _ := Preset("bert-base")
	b.MLMHead = true
	b.Pooler = false
	if got, want := b.Parameters().Total.Unique, int64(109_482_240-590_592+768*768+768+2*768+30522); got != want {
		t.Errorf("BERT-base MLM: %d, want %d", got, want)
	}
}

func TestParseHFConfig(t *testing.T) {
	for _, tc := range []struct {
		json string
		want int64
	}{
		{`{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"vocab_size":50257,"n_inner":null}`, 124_439_808},
		{`{"n_embd":1600,"n_layer":48,"n_head":25,"n_ctx":1024,"vocab_size":50257}`, 1_557_611_200},
		{`{"model_type":"bert","hidden_size":1024,"num_hidden_layers":24,"num_attention_heads":16,"intermediate_size":4096,"max_position_embeddings":512,"type_vocab_size":2,"vocab_size":30522}`, 335_141_888},
		{`{"model_type":"albert","embedding_size":128,"hidden_size":4096,"num_hidden_layers":12,"num_attention_heads":64,"intermediate_size":16384,"max_position_embeddings":512,"type_vocab_size":2,"vocab_size":30000,"num_hidden_groups":1,"inner_group_num":1}`, 222_595_584},
	} {
		s, err := ParseHFConfig([]byte(tc.json))
		if err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if got := s.Parameters().Total.Unique; got != tc.want {
			t.Errorf("%s: %d, want %d", tc.json, got, tc.want)
		}
	}
	g, _ := ParseHFConfig([]byte(`{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024,"vocab_size":50257,"tie_word_embeddings":false}`))
	if g.Config.Tie || g.Config.DFF != 3072 {
		t.Errorf("untied GPT-2: %+v", g.Config)
	}
	for _, bad := range []string{
		`{`,
		`{"model_type":"llama","hidden_size":4096}`,
		`{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_positions":1024,"vocab_size":50257}`,
		`{"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":5,"n_positions":1024,"vocab_size":50257}`,
		`{"model_type":"albert","embedding_size":128,"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"vocab_size":30000,"inner_group_num":2}`,
		`{"model_type":"bert","hidden_size":"big","num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"vocab_size":30000}`,
		`{"foo":1}`,
	} {
		if _, err := ParseHFConfig([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestPresetsValid(t *testing.T) {
	for _, name := range Presets() {
		s, err := Preset(name)
		if err != nil || s.Validate() != nil {
			t.Errorf("%s: %v %v", name, err, s.Validate())
		}
	}
	if _, err := Preset("gpt5"); err == nil {
		t.Error("unknown preset accepted")
	}
	if err := (Spec{Arch: Decoder, Config: model.Tiny(), EmbedDim: 64}).Validate(); err != nil {
		t.Errorf("factorized decoder: %v", err)
	}
	bad := Spec{Arch: Decoder, Config: model.Tiny(), EmbedDim: 256}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "embed-dim (256) cannot be larger than d-model (128)") {
		t.Errorf("embed-dim > d-model: %v", err)
	}
	enc := model.Tiny()
	enc.Arch = model.ArchEncoder
	if err := (Spec{Arch: Decoder, Config: enc}).Validate(); err == nil || !strings.Contains(err.Error(), "ForModel") {
		t.Errorf("decoder spec of an encoder config: %v", err)
	}
	if err := (Spec{Arch: Encoder, Config: model.Tiny(), MLMMasked: true}).Validate(); err == nil {
		t.Error("MLMMasked without an MLM head accepted")
	}
	bad = Spec{Arch: "rnn", Config: model.Tiny()}
	if bad.Validate() == nil {
		t.Error("unknown arch accepted")
	}
}

// The engine builds encoders without a pooler and with the MLM head, as
// Hugging Face's BertForMaskedLM and AlbertForMaskedLM are. Their counts are
// the published base models' minus the pooler plus the head.
func TestEngineEncoderCounts(t *testing.T) {
	bert := model.Config{Vocab: 30522, DModel: 768, Layers: 12, Heads: 12, DFF: 3072, MaxSeq: 512, Tie: true,
		Share: model.ShareNone, Groups: 1, Arch: model.ArchEncoder, TypeVocab: 2}
	albert := model.Config{Vocab: 30000, DModel: 768, Layers: 12, Heads: 12, DFF: 3072, MaxSeq: 512, Tie: true,
		Share: model.ShareAll, Groups: 1, Arch: model.ArchEncoder, TypeVocab: 2, EmbedDim: 128}
	const pooler = 768*768 + 768
	for _, tc := range []struct {
		name       string
		c          model.Config
		preset     string
		head, want int64
	}{
		{"BertForMaskedLM", bert, "bert-base", 768*768 + 768 + 2*768 + 30522, 109_514_298},
		{"AlbertForMaskedLM", albert, "albert-base", 768*128 + 128 + 2*128 + 30000, 11_221_680},
	} {
		p, _ := Preset(tc.preset)
		if got := p.Parameters().Total.Unique - pooler + tc.head; got != tc.want {
			t.Errorf("%s: preset - pooler + head = %d, want %d", tc.name, got, tc.want)
		}
		if got := tc.c.UniqueParams(); got != tc.want {
			t.Errorf("%s: engine config %d, want %d", tc.name, got, tc.want)
		}
		s := ForModel(tc.c)
		if got := s.Parameters().Total.Unique; got != tc.want {
			t.Errorf("%s: ForModel %d, want %d", tc.name, got, tc.want)
		}
		s.Pooler = true
		if got := s.Parameters().Total.Unique; got != tc.want+pooler {
			t.Errorf("%s with pooler: %d, want %d", tc.name, got, tc.want+pooler)
		}
	}
}
