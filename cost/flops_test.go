package cost

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// The mission's table: d = 512, 4x FFN, matmul FLOPs only, bidirectional.
func TestMatmulCrossoversTransformerBase(t *testing.T) {
	s, _ := Preset("transformer-base-decoder")
	x := s.MatmulCrossovers()
	if x.MHAEqualsFFN == nil || *x.MHAEqualsFFN != 1024 || x.CoreEqualsFFN == nil || *x.CoreEqualsFFN != 2048 {
		t.Fatalf("matmul crossovers %v %v, want 1024 and 2048", x.MHAEqualsFFN, x.CoreEqualsFFN)
	}
	m := s.Matmul(1024)
	if m.MHA != m.FFN || m.Ratio != 1 {
		t.Errorf("n=1024: MHA %d FFN %d", m.MHA, m.FFN)
	}
	m = s.Matmul(2048)
	if m.Scores+m.AV != m.FFN {
		t.Errorf("n=2048: core %d FFN %d", m.Scores+m.AV, m.FFN)
	}
	if m := s.Matmul(128); m.QKV != 3*2*128*512*512 || m.Scores != 2*128*128*512 || m.Out != 2*128*512*512 || m.FFN != 16*128*512*512 {
		t.Errorf("n=128 terms %+v", m)
	}
}

// The engine's exact crossovers for transformer-base-decoder, by hand: per layer and
// sequence, MHA − FFN = P(n)·(4d + 5H) + d·R(n) − n·(4·d·f + 10f − 8d² − 4d),
// where R(n) counts the fused attention's rescales (one per query row and
// key tile of kernels.AttentionTile keys after the first), and core − FFN = 4d·P(n) − n·(4·d·f + 10f + 2d).
// R is a step function, so the MHA crossover is the zero of the straight
// line between the two integers where the difference changes sign.
func TestEngineCrossoversTransformerBase(t *testing.T) {
	s, _ := Preset("transformer-base-decoder")
	d, f, H := 512.0, 2048.0, 8.0
	mhaAt := func(n int, causal bool) float64 {
		var p, r float64
		for i := 0; i < n; i++ {
			nk := n
			if causal {
				nk = i + 1
			}
			p += float64(nk)
			r += float64((nk+kernels.AttentionTile-1)/kernels.AttentionTile - 1)
		}
		return p*(4*d+5*H) + d*r - float64(n)*(4*d*f+10*f-8*d*d-4*d)
	}
	mhaRoot := func(causal bool) float64 {
		lo := 1
		for mhaAt(lo+1, causal) <= 0 {
			lo++
		}
		a, b := mhaAt(lo, causal), mhaAt(lo+1, causal)
		return float64(lo) + a/(a-b)
	}
	core := (4*d*f + 10*f + 2*d) / (4 * d)
	for _, tc := range []struct {
		causal    bool
		mha, core float64
	}{{false, mhaRoot(false), core}, {true, mhaRoot(true), 2*core - 1}} {
		x := s.Crossovers(tc.causal, false)
		if math.Abs(*x.MHAEqualsFFN-tc.mha) > 1e-9 || math.Abs(*x.CoreEqualsFFN-tc.core) > 1e-9 {
			t.Errorf("causal=%v: %v %v, want %v %v", tc.causal, *x.MHAEqualsFFN, *x.CoreEqualsFFN, tc.mha, tc.core)
		}
	}
}

// Every crossover sits between two consecutive integers at which the exact
// integer counts change sign.
func TestCrossoversBracketExactCounts(t *testing.T) {
	var specs []Spec
	for _, name := range []string{"gpt2", "gpt2-xl", "transformer-base-decoder", "bert-base", "albert-xxlarge"} {
		s, _ := Preset(name)
		specs = append(specs, s)
	}
	specs = append(specs, Spec{Arch: Decoder, Config: model.Config{Vocab: 50, DModel: 64, Layers: 3, Heads: 16, DFF: 1000, MaxSeq: 64, Share: model.ShareAll, Groups: 1}})
	for _, s := range specs {
		for _, causal := range []bool{false, true} {
			for _, train := range []bool{false, true} {
				x := s.Crossovers(causal, train)
				check := func(what string, r *float64, diff func(Counts) int64) {
					if r == nil {
						t.Errorf("%s causal=%v train=%v: no %s crossover", s.Name, causal, train, what)
						return
					}
					lo, hi := int(math.Floor(*r)), int(math.Floor(*r))+1
					c := func(n int) Counts {
						f := s.FLOPs(n, 3, causal)
						if train {
							return f.Total()
						}
						return f.Forward
					}
					if diff(c(lo)) > 0 || diff(c(hi)) <= 0 {
						t.Errorf("%s causal=%v train=%v: %s crossover %v not bracketed: %d at %d, %d at %d",
							s.Name, causal, train, what, *r, diff(c(lo)), lo, diff(c(hi)), hi)
					}
				}
				check("MHA", x.MHAEqualsFFN, func(c Counts) int64 { return c.MHA() - c.FFN() })
				check("core", x.CoreEqualsFFN, func(c Counts) int64 { return c.Core() - c.FFN() })
			}
		}
	}
	// With d_ff < 2d the MHA exceeds the FFN at every n: no crossover.
	s := Spec{Arch: Decoder, Config: model.Config{Vocab: 50, DModel: 64, Layers: 1, Heads: 4, DFF: 64, MaxSeq: 64, Share: model.ShareNone, Groups: 1}}
	if x := s.Crossovers(true, false); x.MHAEqualsFFN != nil {
		t.Errorf("d_ff = d: MHA crossover %v", *x.MHAEqualsFFN)
	}
}

func TestEncoderFLOPs(t *testing.T) {
	s, _ := Preset("bert-base")
	f := s.FLOPs(128, 2, false)
	d, L, n := int64(768), int64(12), int64(128)
	if want := L * 2 * 2 * n * n * d; f.Forward[kernels.Scores] != want || f.Forward[kernels.AV] != want {
		t.Errorf("bidirectional scores %d, want %d", f.Forward[kernels.Scores], want)
	}
	if f.Forward[kernels.Logits] != 0 || f.Forward[kernels.Loss] != 0 || f.Forward[EmbedProj] != 0 || f.Forward[MLMDense] != 0 {
		t.Error("BertModel has no head or mapping")
	}
	if want := 2*2*d*d + 2*2*d; f.Forward[Pooler] != want {
		t.Errorf("pooler %d, want %d", f.Forward[Pooler], want)
	}
	a, _ := Preset("albert-base")
	a.MLMHead = true
	g := a.FLOPs(64, 1, false)
	if want := 2*64*128*d + 64*d; g.Forward[EmbedProj] != want {
		t.Errorf("embed_proj %d, want %d", g.Forward[EmbedProj], want)
	}
	if want := 2*64*128*30000 + 64*30000; g.Forward[kernels.Logits] != int64(want) {
		t.Errorf("ALBERT logits through E: %d, want %d", g.Forward[kernels.Logits], want)
	}
	// Sharing changes no FLOPs: every layer still runs.
	u := a.Unshared()
	if u.FLOPs(64, 1, false) != g {
		t.Error("sharing changed FLOPs")
	}
	// All but the Llama family's rope, ffn_gate and glu.
	if got := len(a.ActiveComponents()); got != int(NumComponents)-3 {
		t.Errorf("ALBERT with MLM head: %d active components, want %d", got, NumComponents-3)
	}
}

func TestClosedForms(t *testing.T) {
	s, _ := Preset("gpt2")
	c := s.ClosedForms(1024, true)
	if c.KaplanN != 85_056_000 || c.PaLMN != 85_056_000+50257*768 {
		t.Errorf("N: Kaplan %d PaLM %d", c.KaplanN, c.PaLMN)
	}
	if want := 6*float64(c.PaLMN) + 12*12*12*64*1024; c.PaLM != want {
		t.Errorf("PaLM %v, want %v", c.PaLM, want)
	}
	if want := 3 * (2*float64(c.KaplanN) + 2*12*1024*768); c.Kaplan != want {
		t.Errorf("Kaplan %v, want %v", c.Kaplan, want)
	}
	// The exact count lies within a few percent of PaLM's at short n (where
	// the full-n² overcount is small) and above Kaplan's (no logits).
	c = s.ClosedForms(128, true)
	if r := c.Exact / c.PaLM; r < 0.97 || r > 1.03 || c.Exact < c.Kaplan {
		t.Errorf("exact %v PaLM %v Kaplan %v", c.Exact, c.PaLM, c.Kaplan)
	}
}

func TestReportJSONSchema(t *testing.T) {
	s, _ := Preset("transformer-base-decoder")
	r, err := NewReport(s, Options{Causal: true, Train: true, Batch: 2, Seqs: []int{128, 1024}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf, "json", false); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Params struct{ Unique, Applied int64 }
		PerSeq []struct {
			Seq   int
			Flops struct {
				Forward    map[string]int64
				Backward   map[string]int64
				TrainTotal int64 `json:"train_total"`
			}
			MHA, FFN int64
		} `json:"per_seq"`
		Crossover struct {
			MHA  *float64 `json:"mha_equals_ffn"`
			Core *float64 `json:"attention_core_equals_ffn"`
			Mat  struct {
				MHA float64 `json:"mha_equals_ffn"`
			} `json:"matmul_only"`
		}
		Inference struct {
			PerSeq []struct {
				Seq          int
				PrefillFlops int64 `json:"prefill_flops"`
			} `json:"per_seq"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	f := s.FLOPs(1024, 2, true)
	e := j.PerSeq[1]
	if j.Params.Unique != 42_053_632 || e.Seq != 1024 || e.Flops.Forward["total"] != f.Forward.Total() ||
		e.Flops.Forward["scores"] != f.Forward[kernels.Scores] || e.Flops.Backward["qkv"] != f.Backward[kernels.QKV] ||
		e.Flops.TrainTotal != f.Total().Total() || e.MHA != f.Forward.MHA() || e.FFN != f.Forward.FFN() ||
		j.Crossover.MHA == nil || j.Crossover.Core == nil || j.Crossover.Mat.MHA != 1024 {
		t.Errorf("json: %s", buf.String()[:600])
	}
	// The prefill is the engine's (Spec.Prefill), not a forward pass.
	if in := j.Inference.PerSeq; len(in) != 2 || in[1].Seq != 1024 || in[1].PrefillFlops != s.Prefill(0, 1024).Total() || in[1].PrefillFlops >= f.Forward.Total()/2 {
		t.Errorf("inference per_seq %+v, want prefill_flops %d at 1024", in, s.Prefill(0, 1024).Total())
	}
	for _, format := range []string{"table", "md", "csv"} {
		for _, pl := range []bool{false, true} {
			buf.Reset()
			if err := r.Write(&buf, format, pl); err != nil || buf.Len() == 0 {
				t.Errorf("%s per-layer=%v: %v", format, pl, err)
			}
		}
	}
	if r.Write(&buf, "xml", false) == nil {
		t.Error("xml accepted")
	}
	if _, err := NewReport(s, Options{Seqs: []int{0}}); err == nil {
		t.Error("n = 0 accepted")
	}
}

func TestPlot(t *testing.T) {
	s, _ := Preset("albert-base")
	s.MLMHead = true
	r, err := NewReport(s, Options{Seqs: []int{128, 1024, 8192}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"svg", "png"} {
		var buf bytes.Buffer
		if err := r.Plot(&buf, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if (f == "svg" && !bytes.Contains(buf.Bytes()[:200], []byte("<svg"))) || (f == "png" && !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG"))) {
			t.Errorf("%s: not an image", f)
		}
	}
	if r.PlotFile(t.TempDir()+"/x.pdf") == nil {
		t.Error(".pdf accepted")
	}
}
