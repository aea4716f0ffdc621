// Package kernels holds the numerical kernels of tformer's engine — matrix
// products, layer norm, GELU, causal attention, embedding lookup and the
// softmax cross-entropy — each in a forward and a backward form over float32
// slices: Go assembly (AVX2/FMA, AVX-512) where the CPU has it, with a
// pure-Go twin of every assembly kernel used on other CPUs and as the
// reference in tests.
//
// Every kernel adds the floating-point operations it performs to a Counter,
// under the model component it serves (qkv, scores, softmax, ...) and the pass
// (forward or backward) it belongs to. The cost model is checked against these
// counts, so the counting conventions below are part of the package's contract:
//
//   - A matrix product of an m x k by a k x n matrix counts 2·m·k·n FLOPs
//     (one multiply and one add per term); accumulating into an existing output
//     is free (it is the add of the last FMA). Bias adds count 1 per output
//     element, and a bias gradient 1 per summed element.
//   - Other kernels count 1 FLOP per arithmetic operation (add, subtract,
//     multiply, divide, compare for a max, exp, tanh, sqrt) performed per
//     element, as written in the kernel; operations done once per row (a
//     mean's division, a reciprocal square root, a log) are not counted.
//     The per-element constants are exported below (FlopsLayerNormFwd, ...).
//   - Causal attention only computes the n(n+1)/2 unmasked (query, key) pairs
//     of each head, and counts only those; bidirectional attention with a key
//     padding mask computes (and counts) n·len pairs per head of a sequence
//     with len valid keys (n² for a full window); cross-attention, tq·len
//     pairs per head for tq queries over a source of len valid keys,
//     recorded under the cross_* components.
package kernels

import (
	"fmt"
	"time"
)

// Component names the part of the model a kernel call is working for.
type Component int

// The components FLOPs are attributed to.
const (
	Embedding Component = iota // token + position lookup (and its gradient scatter)
	QKV                        // the fused Q, K, V projection
	Scores                     // Q·Kᵀ
	Softmax                    // attention softmax, including the 1/sqrt(dh) scale
	AV                         // attention-weighted sum of V
	AttnOut                    // attention output projection and its residual add
	FFNUp                      // first FFN matmul (d -> d_ff)
	GELU                       // FFN activation
	FFNDown                    // second FFN matmul (d_ff -> d) and its residual add
	LayerNorm                  // every layer norm (pre-attention, pre-FFN, final)
	Logits                     // output projection onto the vocabulary
	Loss                       // softmax cross-entropy over the vocabulary
	EmbedProj                  // factorized embedding's E -> d projection (ALBERT's embedding_hidden_mapping_in)
	MLMDense                   // output head's dense d -> E layer and its GELU (factorized or encoder models)
	Rope                       // rotary position embedding of the queries and keys
	FFNGate                    // gated FFN's gate matmul (d -> d_ff), beside ffn_up
	GLU                        // gated FFN's activation act(gate)·up (SwiGLU, GeGLU)
	// NumComponents is the number of components of decoder-only and
	// encoder-only models; the encoder–decoder's cross-attention components
	// follow it (see AllComponents).
	NumComponents
)

// The cross-attention components of an encoder–decoder's decoder layers,
// numbered after NumComponents so that the reports of decoder-only and
// encoder-only models (which iterate Components) are unchanged. A Counter
// records them like any other component.
const (
	CrossQKV         Component = NumComponents + iota // cross-attention projections: Q on target rows, K and V on source rows
	CrossScores                                       // cross-attention Q·Kᵀ over target × source pairs
	CrossSoftmax                                      // cross-attention softmax
	CrossAV                                           // cross-attention weighted sum of V
	CrossOut                                          // cross-attention output projection and its residual add
	NumAllComponents                                  // every component, cross-attention included
)

var componentNames = [NumAllComponents]string{
	"embedding", "qkv", "scores", "softmax", "av", "attn_out",
	"ffn_up", "gelu", "ffn_down", "layernorm", "logits", "loss",
	"embed_proj", "mlm_dense", "rope", "ffn_gate", "glu",
	"cross_qkv", "cross_scores", "cross_softmax", "cross_av", "cross_out",
}

// String returns the component's snake_case name, as used in reports and JSON.
func (c Component) String() string {
	if c < 0 || c >= NumAllComponents {
		return fmt.Sprintf("component(%d)", int(c))
	}
	return componentNames[c]
}

// Components lists the components of decoder-only and encoder-only models
// in report order (the first NumComponents).
func Components() []Component {
	out := make([]Component, NumComponents)
	for i := range out {
		out[i] = Component(i)
	}
	return out
}

// AllComponents lists every component, the encoder–decoder's
// cross-attention ones last.
func AllComponents() []Component {
	out := make([]Component, NumAllComponents)
	for i := range out {
		out[i] = Component(i)
	}
	return out
}

// Pass says whether a kernel call belongs to the forward or backward pass.
type Pass int

// The two passes.
const (
	Forward Pass = iota
	Backward
)

// String returns "forward" or "backward".
func (p Pass) String() string {
	if p == Forward {
		return "forward"
	}
	return "backward"
}

// Counter accumulates FLOPs per pass and component. The zero value is ready;
// a nil *Counter is valid and counts nothing. It is not safe for concurrent
// use: kernels add to it once per call, from the calling goroutine.
//
// With Timing set, the counter also measures time: every kernel call ends
// with one Add, so the wall time since the previous Add (or Mark) is charged
// to the component of the call that just finished. Call Mark before a pass
// so that time spent outside the kernels is not charged to the first one.
// Kernels that do several components in one fused loop (attention: scores,
// softmax, av) charge the whole loop to the first component they add.
type Counter struct {
	flops  [2][NumAllComponents]int64
	nanos  [2][NumAllComponents]int64
	Timing bool // also measure wall time per component
	last   time.Time
}

// Add records n FLOPs for component c in pass p.
func (c *Counter) Add(p Pass, comp Component, n int64) {
	if c == nil {
		return
	}
	c.flops[p][comp] += n
	if c.Timing {
		now := time.Now()
		if !c.last.IsZero() {
			c.nanos[p][comp] += int64(now.Sub(c.last))
		}
		c.last = now
	}
}

// Mark starts the timing clock afresh (a no-op without Timing).
func (c *Counter) Mark() {
	if c != nil && c.Timing {
		c.last = time.Now()
	}
}

// Time returns the wall time charged to component comp in pass p.
func (c *Counter) Time(p Pass, comp Component) time.Duration {
	if c == nil {
		return 0
	}
	return time.Duration(c.nanos[p][comp])
}

// Get returns the FLOPs recorded for component comp in pass p.
func (c *Counter) Get(p Pass, comp Component) int64 {
	if c == nil {
		return 0
	}
	return c.flops[p][comp]
}

// Total returns the FLOPs recorded in pass p over all components.
func (c *Counter) Total(p Pass) int64 {
	if c == nil {
		return 0
	}
	var t int64
	for _, v := range c.flops[p] {
		t += v
	}
	return t
}

// Reset sets every count and time to zero (keeping Timing).
func (c *Counter) Reset() {
	if c != nil {
		*c = Counter{Timing: c.Timing}
	}
}
