package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tformer/tformer/kernels"
	"github.com/tformer/tformer/model"
)

// clipModel returns a model with random parameters and gradients (a slab of
// a few hundred thousand values, so the norm and update run in parallel).
func clipModel(t *testing.T, seed uint64, gscale float64) *model.Model {
	t.Helper()
	c := model.Config{Vocab: 300, DModel: 64, Layers: 2, Heads: 4, DFF: 256, MaxSeq: 16, Tie: false, Share: model.ShareNone, Groups: 1}
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(seed)
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range m.Grads {
		m.Grads[i] = float32(r.NormFloat64() * gscale)
	}
	return m
}

// TestStepClippedEqualsClipThenStep: folding the clip into the update gives
// the update of clipping the gradients first, and the same norm, whether
// the gradient is clipped or not; GradNorm does not depend on the threads.
func TestStepClippedEqualsClipThenStep(t *testing.T) {
	for _, gs := range []float64{1e-4, 0.05} { // norms ≈ 0.07 (kept) and 33 (clipped)
		a, b := clipModel(t, 4, gs), clipModel(t, 4, gs)
		oa, ob := NewAdamW(a, 0.9, 0.95, 1e-8, 0.1), NewAdamW(b, 0.9, 0.95, 1e-8, 0.1)
		var want64 float64
		for _, g := range a.Grads {
			want64 += float64(g) * float64(g)
		}
		na := ClipGradNorm(a.Grads, 1)
		oa.Step(a.Params, a.Grads, 3e-3, 1)
		nb := ob.StepClipped(b.Params, b.Grads, 3e-3, 1, 1)
		if want := math.Sqrt(want64); math.Abs(float64(na)-want) > 1e-6*want || math.Abs(float64(nb)-want) > 1e-6*want {
			t.Errorf("grad scale %g: norms %v (ClipGradNorm) and %v (StepClipped), want %v", gs, na, nb, want)
		}
		for i := range a.Params {
			if d := math.Abs(float64(a.Params[i] - b.Params[i])); d > 1e-6*(1+math.Abs(float64(a.Params[i]))) {
				t.Fatalf("grad scale %g: param %d: %v after clip+Step, %v after StepClipped", gs, i, a.Params[i], b.Params[i])
			}
		}
		// The moments saw the clipped gradient: m = 0.1·k·g after one step.
		k := float64(1 / (na + 1e-6))
		if na <= 1 {
			k = 1
		}
		if i := 1234; math.Abs(float64(ob.M[i])-0.1*k*float64(b.Grads[i])) > 1e-6*math.Abs(float64(ob.M[i]))+1e-12 {
			t.Errorf("grad scale %g: m[%d] = %v, want 0.1·%v·%v", gs, i, ob.M[i], k, b.Grads[i])
		}
	}
	m := clipModel(t, 5, 1)
	o := NewAdamW(m, 0.9, 0.95, 1e-8, 0.1)
	var norms []float32
	for _, th := range []int{1, 2, 3} {
		was := kernels.Threads()
		kernels.SetThreads(th)
		norms = append(norms, o.GradNorm(m.Grads))
		kernels.SetThreads(was)
	}
	if norms[0] != norms[1] || norms[0] != norms[2] {
		t.Errorf("GradNorm on 1, 2, 3 threads: %v", norms)
	}
}
