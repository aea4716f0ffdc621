package kernels

import "testing"

func TestCounterNil(t *testing.T) {
	var c *Counter
	c.Add(Forward, QKV, 10) // must not panic
	c.Add(Backward, Loss, 3)
	c.Reset()
	if got := c.Get(Forward, QKV); got != 0 {
		t.Errorf("nil Get = %d, want 0", got)
	}
	if got := c.Total(Forward); got != 0 {
		t.Errorf("nil Total(Forward) = %d, want 0", got)
	}
	if got := c.Total(Backward); got != 0 {
		t.Errorf("nil Total(Backward) = %d, want 0", got)
	}
}

func TestCounterAddGetTotalReset(t *testing.T) {
	var c Counter // the zero value is ready
	for _, p := range []Pass{Forward, Backward} {
		for _, comp := range Components() {
			if c.Get(p, comp) != 0 {
				t.Fatalf("zero Counter: Get(%v, %v) = %d", p, comp, c.Get(p, comp))
			}
		}
	}
	c.Add(Forward, QKV, 5)
	c.Add(Forward, QKV, 7)
	c.Add(Forward, Loss, 100)
	c.Add(Backward, QKV, 1)
	c.Add(Backward, Embedding, 1<<40) // int64 range
	c.Add(Forward, GELU, 0)
	cases := []struct {
		p    Pass
		comp Component
		want int64
	}{
		{Forward, QKV, 12}, {Forward, Loss, 100}, {Forward, GELU, 0}, {Forward, Embedding, 0},
		{Backward, QKV, 1}, {Backward, Embedding, 1 << 40}, {Backward, Loss, 0},
	}
	for _, tc := range cases {
		if got := c.Get(tc.p, tc.comp); got != tc.want {
			t.Errorf("Get(%v, %v) = %d, want %d", tc.p, tc.comp, got, tc.want)
		}
	}
	if got := c.Total(Forward); got != 112 {
		t.Errorf("Total(Forward) = %d, want 112", got)
	}
	if got := c.Total(Backward); got != 1+1<<40 {
		t.Errorf("Total(Backward) = %d, want %d", got, int64(1+1<<40))
	}

	// Total is the sum over every component.
	var d Counter
	var want int64
	for i, comp := range Components() {
		d.Add(Forward, comp, int64(i+1)*1000)
		want += int64(i+1) * 1000
	}
	if got := d.Total(Forward); got != want {
		t.Errorf("Total over all components = %d, want %d", got, want)
	}
	if got := d.Total(Backward); got != 0 {
		t.Errorf("Total(Backward) = %d, want 0", got)
	}

	c.Reset()
	for _, p := range []Pass{Forward, Backward} {
		if got := c.Total(p); got != 0 {
			t.Errorf("after Reset: Total(%v) = %d", p, got)
		}
		for _, comp := range Components() {
			if got := c.Get(p, comp); got != 0 {
				t.Errorf("after Reset: Get(%v, %v) = %d", p, comp, got)
			}
		}
	}
	c.Add(Forward, AV, 3) // usable after Reset
	if got := c.Get(Forward, AV); got != 3 {
		t.Errorf("after Reset and Add: Get = %d, want 3", got)
	}
}

func TestComponentString(t *testing.T) {
	want := []string{
		"embedding", "qkv", "scores", "softmax", "av", "attn_out",
		"ffn_up", "gelu", "ffn_down", "layernorm", "logits", "loss",
		"embed_proj", "mlm_dense", "rope", "ffn_gate", "glu",
	}
	consts := []Component{Embedding, QKV, Scores, Softmax, AV, AttnOut, FFNUp, GELU, FFNDown, LayerNorm, Logits, Loss, EmbedProj, MLMDense, Rope, FFNGate, GLU}
	if int(NumComponents) != len(want) {
		t.Fatalf("NumComponents = %d, want %d", NumComponents, len(want))
	}
	for i, c := range consts {
		if int(c) != i {
			t.Errorf("component %q has value %d, want %d", want[i], int(c), i)
		}
		if got := c.String(); got != want[i] {
			t.Errorf("Component(%d).String() = %q, want %q", i, got, want[i])
		}
	}
	comps := Components()
	if len(comps) != len(want) {
		t.Fatalf("len(Components()) = %d, want %d", len(comps), len(want))
	}
	for i, c := range comps {
		if c != consts[i] {
			t.Errorf("Components()[%d] = %v, want %v", i, c, consts[i])
		}
	}
	for _, tc := range []struct {
		c    Component
		want string
	}{{NumComponents, "cross_qkv"}, {CrossOut, "cross_out"}, {NumAllComponents, "component(22)"}, {-1, "component(-1)"}, {99, "component(99)"}} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("Component(%d).String() = %q, want %q", int(tc.c), got, tc.want)
		}
	}
}

func TestPassString(t *testing.T) {
	if got := Forward.String(); got != "forward" {
		t.Errorf("Forward.String() = %q", got)
	}
	if got := Backward.String(); got != "backward" {
		t.Errorf("Backward.String() = %q", got)
	}
	if Forward == Backward {
		t.Error("Forward == Backward")
	}
}
