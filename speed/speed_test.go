package speed

import (
	"testing"
	"time"

	"github.com/tformer/tformer/model"
)

var small = model.Config{Vocab: 37, DModel: 16, Layers: 2, Heads: 2, DFF: 64, MaxSeq: 16, Tie: true, Share: model.ShareNone, Groups: 1}

func TestFMA(t *testing.T) {
	if g := FMA(10 * time.Millisecond); g < 0 {
		t.Fatalf("FMA = %v, want >= 0", g)
	}
}

func TestGEMM(t *testing.T) {
	shapes := append(SquareShapes([]int{64}), Shape{M: 7, N: 13, K: 5, Form: NN}, Shape{M: 9, N: 3, K: 11, Form: TN})
	res, err := GEMM(shapes, 1, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	for _, r := range res {
		if r.GFLOPS <= 0 || r.Seconds <= 0 || r.Threads != 1 {
			t.Errorf("bad result %+v", r)
		}
	}
	if res[0].M != 64 || res[0].Form != NT {
		t.Errorf("first result %+v, want 64³ NT", res[0])
	}
	if _, err := GEMM([]Shape{{M: 1, N: 1, K: 1, Form: "XX"}}, 1, time.Millisecond); err == nil {
		t.Error("unknown form accepted")
	}
	if _, err := GEMM([]Shape{{M: 0, N: 1, K: 1}}, 1, time.Millisecond); err == nil {
		t.Error("zero dimension accepted")
	}
	if got := GPT2StepShapes(256); len(got) != 5 || got[4].N != 50257 || got[0].M != 256 {
		t.Errorf("GPT2StepShapes = %+v", got)
	}
}

func TestAttention(t *testing.T) {
	res, err := Attention([]int{8, 32}, 32, 4, 1, 2, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[1].Seq != 32 || res[1].Heads != 4 || res[1].D != 32 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.GFLOPS <= 0 {
			t.Errorf("bad result %+v", r)
		}
	}
	if _, err := Attention([]int{8}, 30, 4, 1, 1, time.Millisecond); err == nil {
		t.Error("heads not dividing d accepted")
	}
}

func TestTrainStep(t *testing.T) {
	r, err := TrainStep(small, 2, 8, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.StepMS <= 0 || r.TokensPerS <= 0 || r.GFLOPS <= 0 || len(r.StepsMS) != 3 || r.Params <= 0 {
		t.Fatalf("bad result %+v", r)
	}
	if r.Loss < 3 || r.Loss > 4.5 { // ≈ ln 37 = 3.6 at init
		t.Errorf("loss %v, want about ln 37", r.Loss)
	}
	if _, err := TrainStep(small, 0, 8, 1, 1); err == nil {
		t.Error("batch 0 accepted")
	}
}

func TestGenerate(t *testing.T) {
	r, err := Generate(small, model.F32, 32, 1) // raises MaxSeq 16 to 32
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 32 || r.TokensPerS <= 0 || r.Seconds <= 0 {
		t.Fatalf("bad result %+v", r)
	}
	for _, dt := range []model.DType{model.BF16, model.Int8} {
		r, err := Generate(small, dt, 8, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.DType != dt.String() || r.WeightBytes != model.WeightBytes(small, dt) || r.TokensPerS <= 0 {
			t.Errorf("%s: %+v", dt, r)
		}
	}
	if _, err := Generate(small, model.F32, 0, 1); err == nil {
		t.Error("0 tokens accepted")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}

func TestFirstToken(t *testing.T) {
	res, err := FirstToken(small, []model.DType{model.F32, model.Int8}, 20, 1, 2, true) // raises MaxSeq 16 to 20
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	for i, r := range res {
		want := []string{"prefill", "step"}[i%2]
		if r.Method != want || r.DType != []string{"f32", "int8"}[i/2] || r.PromptTokens != 20 || r.Threads != 1 ||
			r.Seconds <= 0 || len(r.Rounds) != 2 || r.PromptTokensPerS != 20/r.Seconds || min(r.Rounds[0], r.Rounds[1]) != r.Seconds {
			t.Errorf("result %d: %+v", i, r)
		}
		if (r.Method == "prefill") != (r.Flops > 0 && r.GFLOPS > 0) {
			t.Errorf("result %d: FLOPs %d, GFLOP/s %v", i, r.Flops, r.GFLOPS)
		}
	}
	if _, err := FirstToken(small, []model.DType{model.F32}, 0, 1, 1, false); err == nil {
		t.Error("an empty prompt accepted")
	}
	if res, err := FirstToken(small, []model.DType{model.BF16}, 3, 1, 1, false); err != nil || len(res) != 1 || res[0].Method != "prefill" {
		t.Errorf("prefill only: %+v, %v", res, err)
	}
}
