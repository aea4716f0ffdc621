package cost

import (
	"strings"
	"testing"
)

// TestSpecStringNamesDecoderOptions: a preset's description line names
// every option its counts depend on (the window, the soft-caps, the
// post-norms, the embedding scale), whether the spec or its Config holds it.
func TestSpecStringNamesDecoderOptions(t *testing.T) {
	for _, tc := range []struct {
		preset string
		want   []string
	}{
		{"gemma-2-2b", []string{"kv_heads=4", "head_dim=256", "mlp=geglu", "embed_scale", "sliding_window=4096 sliding_every=2", "attn_softcap=50", "final_softcap=30", "post_norms"}},
		{"mistral-7b", []string{"kv_heads=8", "mlp=swiglu", "sliding_window=4096"}},
	} {
		s, err := Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		got := s.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.preset, got, w)
			}
		}
		if tc.preset == "mistral-7b" && strings.Contains(got, "softcap") {
			t.Errorf("%s: %q names a soft-cap it does not have", tc.preset, got)
		}
		if fam := s.Config.FamilyString(); !strings.HasSuffix(got, fam) {
			t.Errorf("%s: the spec says %q, its engine config %q", tc.preset, got, fam)
		}
	}
}
