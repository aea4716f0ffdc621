package train

import (
	"math"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// TestStepsMatchPureGo: training steps run on the assembly kernels (GEMM,
// tiled attention, element-wise, AdamW) give the losses of the same steps on
// the pure-Go kernels, to float tolerance. The sequence spans several
// attention tiles, the width is not a multiple of the micro-tiles.
func TestStepsMatchPureGo(t *testing.T) {
	if kernels.Accel() == "go" {
		t.Skip("no assembly kernels on this CPU: both runs would be pure Go")
	}
	run := func(asm bool) ([]float32, []float32) {
		was := kernels.SetAssembly(asm)
		defer kernels.SetAssembly(was)
		c := model.Config{Vocab: 256, DModel: 40, Layers: 2, Heads: 2, DFF: 72, MaxSeq: 112, Tie: true, Share: model.ShareNone, Groups: 1}
		o := DefaultOptions()
		o.Steps, o.Batch, o.Seq, o.Warmup, o.EvalEvery = 6, 3, 112, 1, 0
		tr := testTrainer(t, c, 11, 6000, o)
		return losses(t, tr, o.Steps), tr.Model.Params
	}
	asm, pa := run(true)
	pure, pp := run(false)
	// AdamW moves a weight by about ±lr whatever its gradient's size, so a
	// gradient near zero whose sign differs by rounding moves it by up to
	// 2·lr per step: parameters agree to that, losses to float tolerance.
	lr := float64(DefaultOptions().LR)
	var worst float64
	for i := range pa {
		worst = max(worst, math.Abs(float64(pa[i]-pp[i]))/(2*lr*float64(len(asm))+1e-4*math.Abs(float64(pp[i]))))
	}
	t.Logf("largest parameter difference after %d steps: %.3g of the bound", len(asm), worst)
	if worst > 1 {
		t.Errorf("parameters differ by %.3g times the bound between assembly and pure Go", worst)
	}
	for i := range asm {
		if d := math.Abs(float64(asm[i] - pure[i])); d > 1e-4*math.Abs(float64(pure[i])) {
			t.Errorf("step %d: loss %v with assembly, %v in pure Go", i+1, asm[i], pure[i])
		}
	}
	if asm[len(asm)-1] >= asm[0] {
		t.Errorf("loss did not fall: %v", asm)
	}
}
