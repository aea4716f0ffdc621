package cost

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// Published and hand-derived totals. bart-base and bart-large: Hugging Face
// BartForConditionalGeneration.num_parameters() (shared embedding once, two
// learned position tables of 1024+2 rows, layernorm_embedding, no final
// norm; final_logits_bias is a buffer and not counted). t5-small and t5-base:
// T5ForConditionalGeneration (tied lm_head, no biases, RMSNorm weights, 32×H
// relative bias in the first layer of each stack, a final norm per stack).
// transformer-base/big: 37,000 shared vocabulary, sinusoidal positions,
// three-way tying, post-LN with biases — 63,082,496 and 214,245,376 where the
// paper rounds to 65 M and 213 M (its counts are not broken down; these are
// the architecture as described). marian: opus-mt-en-de shape, excluding the
// fixed sinusoidal tables (HF stores them as non-trainable parameters).
func TestEncDecPublishedParams(t *testing.T) {
	for _, c := range []struct {
		name string
		want int64
	}{
		{"bart-base", 139420416},
		{"bart-large", 406291456},
		{"t5-small", 60506624},
		{"t5-base", 222903552},
		{"transformer-base", 63082496},
		{"transformer-big", 214245376},
		// 58101·512 + 6·3,152,384 + 6·4,204,032
		{"marian", 58101*512 + 6*3152384 + 6*4204032},
	} {
		s, err := EncDecPreset(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Params().Unique(); got != c.want {
			t.Errorf("%s: unique params %d, want %d", c.name, got, c.want)
		}
	}
}

func TestEncDecTieModes(t *testing.T) {
	s, _ := EncDecPreset("transformer-base")
	K, d := int64(37000), int64(512)
	var applied int64
	for i, c := range []struct {
		tie    EncDecTie
		tables int64
	}{{TieAll, 1}, {TieDecoder, 2}, {TieNone, 3}} {
		s.Tie = c.tie
		p := s.Params()
		if want := 63082496 + (c.tables-1)*K*d; p.Unique() != want {
			t.Errorf("tie %s: unique %d, want %d", c.tie, p.Unique(), want)
		}
		if i == 0 {
			applied = p.Applied
			if applied != 63082496+2*K*d {
				t.Errorf("applied %d, want %d", applied, 63082496+2*K*d)
			}
		} else if p.Applied != applied {
			t.Errorf("tie %s: applied %d changed from %d", c.tie, p.Applied, applied)
		}
	}
}

// Per-component FLOPs of transformer-base by hand (d 512, 8 heads of 64,
// d_ff 2048, 6+6 layers, biases, post-LN, ReLU), at several (n_s, n_t), in
// the engine's conventions: the fused softmax's 5 per pair plus d_head per
// query row and per rescale (one per 96-key tile after the first), the
// residual add in the output and FFN down projections, LayerNorm 8.
func TestEncDecFLOPsByHand(t *testing.T) {
	s, _ := EncDecPreset("transformer-base")
	tiles := func(n int64) int64 { return (n+95)/96 - 1 }
	for _, n := range [][2]int64{{1, 1}, {64, 512}, {512, 64}, {300, 7}, {1024, 1024}} {
		S, T := n[0], n[1]
		f, err := s.FLOPs(int(S), int(T))
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, got, want int64) {
			t.Helper()
			if got != want {
				t.Errorf("n_s %d n_t %d %s: %d, want %d", S, T, what, got, want)
			}
		}
		check("enc QKV", f.EncSelf.QKV, 6*S*(2*512*1536+1536))
		check("enc scores", f.EncSelf.Scores, 6*S*S*8*128)
		check("enc softmax", f.EncSelf.Softmax, 6*(S*S*8*5+(S*8+8*S*tiles(S))*64))
		check("enc AV", f.EncSelf.AV, 6*S*S*1024)
		check("enc out", f.EncSelf.Out, 6*S*(2*512*512+512+512))
		check("dec scores", f.DecSelf.Scores, 6*T*(T+1)/2*1024)
		check("dec QKV", f.DecSelf.QKV, 6*T*(2*512*1536+1536))
		check("cross QKV", f.Cross.QKV, 6*(T*(2*512*512+512)+S*(2*512*1024+1024)))
		check("cross scores", f.Cross.Scores, 6*T*S*1024)
		check("cross AV", f.Cross.AV, 6*T*S*1024)
		check("cross softmax", f.Cross.Softmax, 6*(T*S*40+(T*8+8*T*tiles(S))*64))
		check("cross out", f.Cross.Out, 6*T*(2*512*512+512+512))
		ffn := int64(2*512*2048 + 2048 + 2048 + 2*2048*512 + 512 + 512)
		check("enc FFN", f.EncFFN, 6*S*ffn)
		check("dec FFN", f.DecFFN, 6*T*ffn)
		check("norms", f.Norms, (6*S*2+6*T*3)*512*8)
		check("logits", f.Logits, T*2*512*37000)
		check("loss", f.Loss, T*37000*5)
		check("embed", f.Embed, 2*(S+T)*512)
		check("training", f.Training, f.Total()+f.Backward.Total())
		check("backward logits", f.Backward.Logits, T*4*512*37000)
	}
}

// Cross-attention's scores+AV equal the decoder FFN's matmuls at
// n_s = d·d_ff/inner = 2048 for d 512, whatever n_t.
func TestEncDecCrossovers(t *testing.T) {
	s, _ := EncDecPreset("transformer-base")
	if got := s.CrossoverCross(); got != 2048 {
		t.Errorf("cross crossover %v, want 2048", got)
	}
	// 8·n·d² + 4·n²·d = 4·n·d·4d → n = 2d = 1024.
	if got := s.CrossoverEncSelf(); got != 1024 {
		t.Errorf("encoder self crossover %v, want 1024", got)
	}
}

func TestEncDecBadInput(t *testing.T) {
	s, _ := EncDecPreset("bart-base")
	for _, c := range []struct {
		ns, nt int
		want   string
	}{{-1, 5, "positive"}, {5, 0, "positive"}, {1025, 5, "max_positions"}, {5, 2000, "max_positions"}} {
		if _, err := s.FLOPs(c.ns, c.nt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FLOPs(%d, %d): err %v, want %q", c.ns, c.nt, err, c.want)
		}
		if _, err := s.Memory(c.ns, c.nt); err == nil {
			t.Errorf("Memory(%d, %d): no error", c.ns, c.nt)
		}
	}
	if _, err := s.FLOPs(1024, 1024); err != nil {
		t.Errorf("bart at its max: %v", err)
	}
	bad := s
	bad.Tie = "some"
	if _, err := bad.FLOPs(4, 4); err == nil || !strings.Contains(err.Error(), "tie") {
		t.Errorf("bad tie: %v", err)
	}
	if _, err := EncDecPreset("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
	m, err := s.Memory(8, 8)
	if err != nil || m.Weights != 4*(139420416+50265) || m.TrainState != 16*139420416 {
		t.Errorf("memory %+v, %v", m, err)
	}
}

// transformer-base is the encoder-decoder: the decoder-only presets and
// config readers say so rather than count something else, and the
// configs of bart, marian and t5 give the presets' counts.
func TestEncDecNotADecoder(t *testing.T) {
	if _, err := Preset("transformer-base"); !errors.Is(err, ErrEncoderDecoder) {
		t.Errorf("Preset(transformer-base): %v", err)
	}
	if s, err := Preset("transformer-base-decoder"); err != nil || s.Parameters().Total.Unique != 42053632 {
		t.Errorf("transformer-base-decoder: %v", err)
	}
	bart, err := os.ReadFile("../testdata/encdec/bart-base.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseHFConfig(bart); !errors.Is(err, ErrEncoderDecoder) || !strings.Contains(err.Error(), "model_type bart") {
		t.Errorf("ParseHFConfig(bart): %v", err)
	}
	if _, err := ParseHFEncDec([]byte(`{"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 8, "vocab_size": 10}`)); err == nil ||
		!strings.Contains(err.Error(), "not an encoder-decoder") {
		t.Errorf("gpt2 as an encoder-decoder: %v", err)
	}
	for file, preset := range map[string]string{"bart-base.json": "bart-base", "t5-small.json": "t5-small", "marian-en-de.json": "marian"} {
		s, err := LoadHFEncDec("../testdata/encdec/" + file)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := EncDecPreset(preset)
		s.Name = p.Name
		if s != p {
			t.Errorf("%s:\n got %+v\nwant %+v", file, s, p)
		}
	}
	if _, err := LoadHFEncDec("../testdata/encdec/none.json"); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing file: %v", err)
	}
}
