package kernels

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	var worst float64
	for x := -87.0; x < 88; x += 0.001 {
		got := float64(exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 4e-7 {
		t.Errorf("exp32 max relative error %g", worst)
	}
	if exp32(-100) != 0 || !math.IsInf(float64(exp32(100)), 1) || exp32(0) != 1 || !math.IsNaN(float64(exp32(float32(math.NaN())))) {
		t.Error("exp32 edge cases")
	}
}

func TestTanh32(t *testing.T) {
	var worst float64
	for x := -12.0; x < 12; x += 0.0005 {
		if d := math.Abs(float64(tanh32(float32(x))) - math.Tanh(float64(float32(x)))); d > worst {
			worst = d
		}
	}
	if worst > 2e-7 {
		t.Errorf("tanh32 max absolute error %g", worst)
	}
}

func BenchmarkTanh32(b *testing.B) {
	x, s := float32(0.3), float32(0)
	for i := 0; i < b.N; i++ {
		s += tanh32(x)
		x += 1e-6
	}
	_ = s
}
