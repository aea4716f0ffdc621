package cost

import (
	"testing"

	"github.com/tformer/tformer/model"
)

// TestWeightBytesPerDType: for every decoder preset the fp32 weights are 4
// bytes per unique parameter and the narrow ones lie between 1 and 2 (int8)
// or 2 and 4 (bf16) bytes per parameter; for an engine model the int8 figure
// is exactly what a converted model holds.
func TestWeightBytesPerDType(t *testing.T) {
	for _, name := range Presets() {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Arch != Decoder {
			continue
		}
		in := s.inferenceInfo(nil)
		if in == nil {
			continue
		}
		p := s.Parameters().Total.Unique
		if in.WeightBytes["fp32"] != 4*p {
			t.Errorf("%s: fp32 weights %d bytes, want 4 · %d", name, in.WeightBytes["fp32"], p)
		}
		if b := in.WeightBytes["bf16"]; b < 2*p || b > 4*p {
			t.Errorf("%s: bf16 weights %d bytes for %d parameters", name, b, p)
		}
		if b := in.WeightBytes["int8"]; b < p || b > 2*p {
			t.Errorf("%s: int8 weights %d bytes for %d parameters", name, b, p)
		}
	}
	c := model.Tiny()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	if err := m.Quantize(model.Int8); err != nil {
		t.Fatal(err)
	}
	if got, want := ForModel(c).inferenceInfo(nil).WeightBytes["int8"], m.WeightBytes(); got != want {
		t.Errorf("tiny int8: cost %d bytes, engine holds %d", got, want)
	}
}
