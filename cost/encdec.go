package cost

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Encoder–decoder (Vaswani et al. 2017, BART, T5, Marian) in the analytical
// cost model: parameters (unique and applied) and per-component FLOPs at a
// source length n_s and a target length n_t. The engine does not build these
// models; the counts follow the published architectures.

// EncDecTie is the three-way embedding tying choice of an encoder–decoder.
type EncDecTie string

// The tying choices.
const (
	TieAll     EncDecTie = "all"     // source = target = output: one matrix, three uses
	TieDecoder EncDecTie = "decoder" // target = output; a separate source table
	TieNone    EncDecTie = "none"    // three matrices
	// TieEmbeddings is source = target with a separate output matrix (T5
	// v1.1, or BART with tie_word_embeddings false): two matrices.
	TieEmbeddings EncDecTie = "embeddings"
)

// Positions is how an encoder–decoder encodes token positions.
type Positions string

// The position schemes.
const (
	PosSinusoidal Positions = "sinusoidal" // fixed table, no parameters
	PosLearned    Positions = "learned"    // a learned table per stack (plus PosOffset rows)
	PosRelative   Positions = "relative"   // T5: a learned bias per bucket and head, first layer of each stack
)

// EncDecSpec describes an encoder–decoder for the cost model.
type EncDecSpec struct {
	Name         string
	Vocab        int
	DModel       int
	EncLayers    int
	DecLayers    int
	Heads        int
	HeadDim      int // d_kv; 0 means DModel/Heads
	DFF          int
	Gated        bool // gated FFN (two input matrices), as T5 v1.1
	Bias         bool // biases on every linear (false: T5)
	RMSNorm      bool // RMSNorm with a weight only (false: LayerNorm with weight and bias)
	PreLN        bool // pre-LN blocks with a final norm per stack (false: post-LN)
	Positions    Positions
	MaxPositions int  // rows of a learned table (without the offset); the longest source and target
	PosOffset    int  // extra learned rows (BART: 2)
	RelBuckets   int  // relative-position buckets (T5: 32)
	LNEmbedding  bool // a norm after the embeddings in each stack (BART's layernorm_embedding)
	FinalLogits  bool // final_logits_bias: a K-vector buffer (not a parameter) added to the logits
	ScaleEmbed   bool // embeddings multiplied by √d
	ScaleOutput  bool // decoder output multiplied by d^-0.5 before the logits (tied T5)
	Tie          EncDecTie
}

// Validate reports the first problem with the spec, in terms of its fields.
func (s EncDecSpec) Validate() error {
	switch {
	case s.Vocab <= 0, s.DModel <= 0, s.EncLayers <= 0, s.DecLayers <= 0, s.Heads <= 0, s.DFF <= 0:
		return fmt.Errorf("encdec %s: vocab, d_model, layers, heads and d_ff must be positive", s.Name)
	case s.HeadDim < 0:
		return fmt.Errorf("encdec %s: head_dim must not be negative", s.Name)
	case s.HeadDim == 0 && s.DModel%s.Heads != 0:
		return fmt.Errorf("encdec %s: d_model %d is not a multiple of heads %d", s.Name, s.DModel, s.Heads)
	}
	switch s.Tie {
	case TieAll, TieDecoder, TieNone, TieEmbeddings:
	default:
		return fmt.Errorf("encdec %s: tie %q (want all, decoder, embeddings or none)", s.Name, s.Tie)
	}
	switch s.Positions {
	case PosSinusoidal:
	case PosLearned:
		if s.MaxPositions <= 0 || s.PosOffset < 0 {
			return fmt.Errorf("encdec %s: learned positions need max_positions > 0 and offset >= 0", s.Name)
		}
	case PosRelative:
		if s.RelBuckets <= 0 {
			return fmt.Errorf("encdec %s: relative positions need buckets > 0", s.Name)
		}
	default:
		return fmt.Errorf("encdec %s: positions %q (want sinusoidal, learned or relative)", s.Name, s.Positions)
	}
	if s.RelBuckets < 0 || s.MaxPositions < 0 {
		return fmt.Errorf("encdec %s: buckets and max_positions must not be negative", s.Name)
	}
	return s.checkCountable(0, 0, 1)
}

func (s EncDecSpec) inner() int64 {
	if s.HeadDim > 0 {
		return int64(s.Heads * s.HeadDim)
	}
	return int64(s.DModel)
}

func (s EncDecSpec) normParams() int64 {
	if s.RMSNorm {
		return int64(s.DModel)
	}
	return 2 * int64(s.DModel)
}

// attnParams is one attention block (Q, K, V, out).
func (s EncDecSpec) attnParams() int64 {
	d, in := int64(s.DModel), s.inner()
	p := 4 * d * in
	if s.Bias {
		p += 3*in + d
	}
	return p
}

func (s EncDecSpec) ffnParams() int64 {
	d, f := int64(s.DModel), int64(s.DFF)
	up := int64(1)
	if s.Gated {
		up = 2
	}
	p := up*d*f + f*d
	if s.Bias {
		p += up*f + d
	}
	return p
}

// EncDecParams are an encoder–decoder's parameters by part.
type EncDecParams struct {
	Embedding  int64 // token tables as stored (1, 2 or 3 K×d matrices by Tie)
	Positions  int64 // learned position tables, or relative-bias tables
	EmbedNorms int64 // layernorm_embedding of both stacks
	Encoder    int64 // encoder layers plus its final norm
	Decoder    int64 // decoder layers plus its final norm
	// Applied counts every use: source lookup, target lookup and output
	// projection each as a K×d matrix, plus everything else once.
	Applied int64
	// Buffers are non-parameter tensors of the model (final_logits_bias).
	Buffers int64
}

// Unique is the number of stored parameters.
func (p EncDecParams) Unique() int64 {
	return p.Embedding + p.Positions + p.EmbedNorms + p.Encoder + p.Decoder
}

// Params counts the spec's parameters.
func (s EncDecSpec) Params() EncDecParams {
	K, d := int64(s.Vocab), int64(s.DModel)
	var p EncDecParams
	tables := map[EncDecTie]int64{TieAll: 1, TieDecoder: 2, TieEmbeddings: 2, TieNone: 3}[s.Tie]
	p.Embedding = tables * K * d
	switch s.Positions {
	case PosLearned:
		p.Positions = 2 * int64(s.MaxPositions+s.PosOffset) * d
	case PosRelative:
		p.Positions = 2 * int64(s.RelBuckets*s.Heads)
	}
	if s.LNEmbedding {
		p.EmbedNorms = 2 * s.normParams()
	}
	enc := s.attnParams() + s.ffnParams() + 2*s.normParams()
	dec := 2*s.attnParams() + s.ffnParams() + 3*s.normParams()
	p.Encoder = int64(s.EncLayers) * enc
	p.Decoder = int64(s.DecLayers) * dec
	if s.PreLN {
		p.Encoder += s.normParams()
		p.Decoder += s.normParams()
	}
	if s.FinalLogits {
		p.Buffers = K
	}
	p.Applied = p.Unique() - p.Embedding + 3*K*d
	return p
}

// EncDecFLOPs are the forward FLOPs of one (source, target) pair by part,
// 2 FLOPs per multiply-add and 1 per bias add, as cost/flops.go counts them.
type EncDecFLOPs struct {
	EncSelf AttnFLOPs // encoder self-attention, all layers (bidirectional, n_s² pairs)
	DecSelf AttnFLOPs // decoder self-attention, all layers (causal, n_t(n_t+1)/2 pairs)
	Cross   AttnFLOPs // cross-attention, all layers (n_t×n_s pairs; K/V on source rows)
	EncFFN  int64
	DecFFN  int64
	Norms   int64
	Embed   int64 // position additions and √d scaling
	Logits  int64 // output projection over the target rows
	PosBias int64 // T5's relative-position bias added to every score
	// Training is forward + backward as 3× forward: cost/flops.go counts a
	// matmul backward (dinp + dW) as 2× its forward; elementwise terms
	// (softmax, norms) are approximated by the same factor here.
	Training int64
}

// AttnFLOPs are one attention kind's FLOPs over all layers.
type AttnFLOPs struct {
	QKV, Scores, Softmax, AV, Out int64
}

// Total sums the attention FLOPs.
func (a AttnFLOPs) Total() int64 { return a.QKV + a.Scores + a.Softmax + a.AV + a.Out }

// Total sums the forward FLOPs.
func (f EncDecFLOPs) Total() int64 {
	return f.EncSelf.Total() + f.DecSelf.Total() + f.Cross.Total() + f.EncFFN + f.DecFFN + f.Norms + f.Embed + f.Logits + f.PosBias
}

// Softmax FLOPs per (query, key) pair, as the decoder model counts them.
const encdecSoftmaxPerPair = 5

// errLength reports a bad length.
var errLength = errors.New("lengths must be positive")

// FLOPs returns the forward FLOPs for a source of ns and a target of nt
// tokens. Learned-position models reject lengths above MaxPositions.
func (s EncDecSpec) FLOPs(ns, nt int) (EncDecFLOPs, error) {
	if err := s.Validate(); err != nil {
		return EncDecFLOPs{}, err
	}
	if ns <= 0 || nt <= 0 {
		return EncDecFLOPs{}, fmt.Errorf("encdec %s: source %d, target %d: %w", s.Name, ns, nt, errLength)
	}
	if s.Positions == PosLearned && (ns > s.MaxPositions || nt > s.MaxPositions) {
		return EncDecFLOPs{}, fmt.Errorf("encdec %s: source %d or target %d longer than max_positions %d", s.Name, ns, nt, s.MaxPositions)
	}
	if err := s.checkCountable(ns, nt, 1); err != nil {
		return EncDecFLOPs{}, err
	}
	return s.flops(ns, nt), nil
}

// flops is FLOPs without the checks (a valid spec, positive lengths; any
// length, as if a learned table were long enough).
func (s EncDecSpec) flops(ns, nt int) EncDecFLOPs {
	d, in, f, H := int64(s.DModel), s.inner(), int64(s.DFF), int64(s.Heads)
	dh := in / H
	S, T := int64(ns), int64(nt)
	b := int64(0)
	if s.Bias {
		b = 1
	}
	Le, Ld := int64(s.EncLayers), int64(s.DecLayers)
	var o EncDecFLOPs
	encPairs, decPairs, crossPairs := S*S, T*(T+1)/2, T*S
	o.EncSelf = AttnFLOPs{
		QKV:     Le * S * (2*d*3*in + b*3*in),
		Scores:  Le * encPairs * H * 2 * dh,
		Softmax: Le * encPairs * H * encdecSoftmaxPerPair,
		AV:      Le * encPairs * H * 2 * dh,
		Out:     Le * S * (2*in*d + b*d),
	}
	o.DecSelf = AttnFLOPs{
		QKV:     Ld * T * (2*d*3*in + b*3*in),
		Scores:  Ld * decPairs * H * 2 * dh,
		Softmax: Ld * decPairs * H * encdecSoftmaxPerPair,
		AV:      Ld * decPairs * H * 2 * dh,
		Out:     Ld * T * (2*in*d + b*d),
	}
	o.Cross = AttnFLOPs{
		// Q on target rows, K and V once per source (on source rows).
		QKV:     Ld * (T*(2*d*in+b*in) + S*(2*d*2*in+b*2*in)),
		Scores:  Ld * crossPairs * H * 2 * dh,
		Softmax: Ld * crossPairs * H * encdecSoftmaxPerPair,
		AV:      Ld * crossPairs * H * 2 * dh,
		Out:     Ld * T * (2*in*d + b*d),
	}
	up := int64(1)
	act := f // ReLU: one per element; gated: activation plus the product
	if s.Gated {
		up, act = 2, 2*f
	}
	perRow := up*2*d*f + b*up*f + act + 2*f*d + b*d
	o.EncFFN, o.DecFFN = Le*S*perRow, Ld*T*perRow
	// Residual adds: one per sub-block (d per row), counted with the norms.
	normF := int64(5) // LayerNorm: mean, var, normalize, scale, shift per element
	if s.RMSNorm {
		normF = 4
	}
	norms := Le*S*2 + Ld*T*3
	if s.PreLN {
		norms += S + T
	}
	if s.LNEmbedding {
		norms += S + T
	}
	o.Norms = norms*d*normF + (Le*S*2+Ld*T*3)*d
	if s.Positions != PosRelative {
		o.Embed += (S + T) * d
	}
	if s.ScaleEmbed {
		o.Embed += (S + T) * d
	}
	if s.Positions == PosRelative {
		o.PosBias = Le*encPairs*H + Ld*decPairs*H
	}
	o.Logits = T * 2 * d * int64(s.Vocab)
	if s.ScaleOutput {
		o.Logits += T * d
	}
	if s.FinalLogits {
		o.Logits += T * int64(s.Vocab)
	}
	o.Training = 3 * o.Total()
	return o
}

// Weight and activation memory of a training step, bytes (float32).
type EncDecMemory struct {
	Weights     int64 // unique parameters plus buffers, 4 bytes each
	TrainState  int64 // weights + gradients + AdamW's two moments: 16 bytes per parameter
	Activations int64 // saved forward activations of one pair, 4 bytes each (see ActivationFloats)
}

// Memory returns the memory for one (source, target) pair; ns and nt as FLOPs.
func (s EncDecSpec) Memory(ns, nt int) (EncDecMemory, error) {
	if _, err := s.FLOPs(ns, nt); err != nil {
		return EncDecMemory{}, err
	}
	p := s.Params()
	d, in, f, H := int64(s.DModel), s.inner(), int64(s.DFF), int64(s.Heads)
	S, T := int64(ns), int64(nt)
	// Per encoder layer and row: block input, Q K V, attention output, out
	// projection, two norm outputs, FFN hidden (and its activation), FFN
	// output; the fused attention keeps a softmax statistic per row and head.
	enc := S*(d+3*in+in+d+2*d+2*f+d) + S*H
	dec := T*(d+3*in+in+d) + T*H + // self
		T*(in+in+d) + S*2*in + T*H + // cross: Q, context, out; K, V on source rows
		T*(3*d+2*f+d)
	act := int64(s.EncLayers)*enc + int64(s.DecLayers)*dec + T*int64(s.Vocab)
	return EncDecMemory{
		Weights:     4 * (p.Unique() + p.Buffers),
		TrainState:  16 * p.Unique(),
		Activations: 4 * act,
	}, nil
}

// CrossoverCross returns the target length n_t at which cross-attention's
// scores + AV (4·n_t·n_s·inner per layer) equal the decoder FFN's matmuls
// (4·n_t·d·d_ff per layer) — which does not depend on n_t: it is the source
// length n_s = d·d_ff/inner. It returns that source length.
func (s EncDecSpec) CrossoverCross() float64 {
	up := 1.0
	if s.Gated {
		up = 1.5
	}
	return up * float64(s.DModel) * float64(s.DFF) / float64(s.inner())
}

// CrossoverEncSelf returns the source length at which the encoder's whole
// self-attention equals its FFN (forward, without bias terms):
// 8·n·d·inner + 4·n²·inner = 4·n·d·d_ff (ReLU FFN) solved for n.
func (s EncDecSpec) CrossoverEncSelf() float64 {
	d, in, f := float64(s.DModel), float64(s.inner()), float64(s.DFF)
	up := 1.0
	if s.Gated {
		up = 1.5
	}
	n := (4*up*d*f - 8*d*in) / (4 * in)
	return math.Max(n, 0)
}

var encdecPresets = map[string]EncDecSpec{
	"transformer-base": {Name: "transformer-base", Vocab: 37000, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, DFF: 2048,
		Bias: true, Positions: PosSinusoidal, ScaleEmbed: true, Tie: TieAll},
	"transformer-big": {Name: "transformer-big", Vocab: 37000, DModel: 1024, EncLayers: 6, DecLayers: 6, Heads: 16, DFF: 4096,
		Bias: true, Positions: PosSinusoidal, ScaleEmbed: true, Tie: TieAll},
	"bart-base": {Name: "bart-base", Vocab: 50265, DModel: 768, EncLayers: 6, DecLayers: 6, Heads: 12, DFF: 3072,
		Bias: true, Positions: PosLearned, MaxPositions: 1024, PosOffset: 2, LNEmbedding: true, FinalLogits: true, Tie: TieAll},
	"bart-large": {Name: "bart-large", Vocab: 50265, DModel: 1024, EncLayers: 12, DecLayers: 12, Heads: 16, DFF: 4096,
		Bias: true, Positions: PosLearned, MaxPositions: 1024, PosOffset: 2, LNEmbedding: true, FinalLogits: true, Tie: TieAll},
	"t5-small": {Name: "t5-small", Vocab: 32128, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, HeadDim: 64, DFF: 2048,
		RMSNorm: true, PreLN: true, Positions: PosRelative, RelBuckets: 32, ScaleOutput: true, Tie: TieAll},
	"t5-base": {Name: "t5-base", Vocab: 32128, DModel: 768, EncLayers: 12, DecLayers: 12, Heads: 12, HeadDim: 64, DFF: 3072,
		RMSNorm: true, PreLN: true, Positions: PosRelative, RelBuckets: 32, ScaleOutput: true, Tie: TieAll},
	"marian": {Name: "marian", Vocab: 58101, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, DFF: 2048,
		Bias: true, Positions: PosSinusoidal, ScaleEmbed: true, FinalLogits: true, Tie: TieAll},
}

// EncDecPreset returns the named encoder–decoder preset.
func EncDecPreset(name string) (EncDecSpec, error) {
	s, ok := encdecPresets[name]
	if !ok {
		return EncDecSpec{}, fmt.Errorf("unknown encoder-decoder preset %q (want one of %s)", name, strings.Join(EncDecPresets(), ", "))
	}
	return s, nil
}

// EncDecPresets lists the encoder–decoder preset names, sorted.
func EncDecPresets() []string {
	out := make([]string, 0, len(encdecPresets))
	for k := range encdecPresets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// bound is an upper bound, in float64 (which cannot overflow), of the
// largest count the encoder–decoder model computes at (ns, nt, batch):
// parameters, FLOPs of a training step, bytes of its memory.
func (s EncDecSpec) bound(ns, nt, batch int) float64 {
	d, in, f, K, H := float64(s.DModel), float64(s.inner()), float64(s.DFF), float64(s.Vocab), float64(s.Heads)
	L := float64(s.EncLayers) + float64(s.DecLayers)
	params := 3*K*d + 2*(float64(s.MaxPositions)+float64(s.PosOffset))*d + 2*float64(s.RelBuckets)*H + L*(8*d*in+3*d*f+4*in+2*f+10*d)
	N, B := float64(ns)+float64(nt), float64(max(batch, 1))
	flops := 3 * B * (2*N*params + L*H*N*N*(4*in/H+10) + 10*N*L*(f+d) + 3*float64(nt)*K)
	mem := 16*params + 4*B*(L*N*(10*d+6*in+2*f+2*H)+float64(nt)*K)
	return math.Max(params, math.Max(flops, mem))
}

// checkCountable reports counts at (ns, nt, batch) that would overflow
// 64-bit integers.
func (s EncDecSpec) checkCountable(ns, nt, batch int) error {
	if b := s.bound(ns, nt, batch); !(b < countLimit) {
		return fmt.Errorf("encdec %s: at source %d, target %d and batch %d its counts (about %.3g) overflow 64-bit integers", s.Name, ns, nt, batch, b)
	}
	return nil
}
