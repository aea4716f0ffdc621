package cost

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tformer/tformer/kernels"
)

// Encoder–decoder (Vaswani et al. 2017, BART, T5, Marian) in the analytical
// cost model: parameters (unique and applied) and per-component FLOPs at a
// source length n_s and a target length n_t, counted as the engine executes
// them (the engine builds the Transformer's and BART's shapes, arch encdec).

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
	// Act is the FFN activation as Hugging Face names it: "" or "relu"
	// (the Transformer, T5), "gelu" (erf: BART), "gelu_new" (tanh), "silu"
	// or "swish" (Marian); with Gated, the gate's.
	Act string
	// Cross-layer sharing within each stack, as the engine stores it:
	// Share "" or "none", "all", "attention" or "ffn", over Groups
	// contiguous groups of layers (ALBERT's); a decoder layer's
	// cross-attention block is shared as its self-attention block. With
	// ShareStacks the decoder's self-attention and FFN blocks are the
	// encoder's. Sharing changes what is stored (unique parameters), not
	// what is applied or computed.
	Share       string
	Groups      int
	ShareStacks bool
	Tie         EncDecTie
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
	switch s.Share {
	case "", "none":
	case "all", "attention", "ffn":
		if s.Groups < 1 || s.Groups > min(s.EncLayers, s.DecLayers) {
			return fmt.Errorf("encdec %s: share %s needs groups in [1, %d], got %d", s.Name, s.Share, min(s.EncLayers, s.DecLayers), s.Groups)
		}
	default:
		return fmt.Errorf("encdec %s: share %q (want none, all, attention or ffn)", s.Name, s.Share)
	}
	if s.ShareStacks {
		ea, ef := s.blocks(s.EncLayers)
		da, df := s.blocks(s.DecLayers)
		if ea != da || ef != df {
			return fmt.Errorf("encdec %s: sharing between the stacks needs as many stored blocks in each (encoder %d attention, %d FFN; decoder %d, %d)", s.Name, ea, ef, da, df)
		}
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

// blocks is the number of stored attention and FFN blocks of a stack of
// the given layers under s's sharing.
func (s EncDecSpec) blocks(layers int) (attn, ffn int) {
	attn, ffn = layers, layers
	switch s.Share {
	case "all":
		attn, ffn = s.Groups, s.Groups
	case "attention":
		attn = s.Groups
	case "ffn":
		ffn = s.Groups
	}
	return attn, ffn
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
	// Sharing stores fewer blocks; the applied count stays the unshared one.
	ea, ef := s.blocks(s.EncLayers)
	da, df := s.blocks(s.DecLayers)
	attnB, ffnB := s.attnParams()+s.normParams(), s.ffnParams()+s.normParams()
	p.Encoder = int64(ea)*attnB + int64(ef)*ffnB
	p.Decoder = int64(da) * attnB // cross-attention, indexed as self-attention
	if !s.ShareStacks {
		p.Decoder += int64(da)*attnB + int64(df)*ffnB
	}
	if s.PreLN {
		p.Encoder += s.normParams()
		p.Decoder += s.normParams()
	}
	return p
}

// EncDecFLOPs are the FLOPs of one pass over one (source, target) pair by
// part, counted as the engine's kernels count them (kernels.Flops*: 2 per
// multiply-add, 1 per bias add, the residual add in the output projection
// and the FFN's down projection, the fused attention's softmax with its row
// normalisation and running-output rescales, LayerNorm 8 per element), so
// that for every model the engine builds (arch encdec) they equal its
// counters exactly (cost/encdec_engine_test.go). T5's relative-position
// bias, head_dim ≠ d/heads, its output scaling and final_logits_bias are
// counted as they would execute; the engine does not build them.
type EncDecFLOPs struct {
	EncSelf AttnFLOPs // encoder self-attention, all layers (bidirectional, n_s² pairs)
	DecSelf AttnFLOPs // decoder self-attention, all layers (causal, n_t(n_t+1)/2 pairs)
	Cross   AttnFLOPs // cross-attention, all layers (n_t×n_s pairs; K/V on source rows)
	EncFFN  int64     // encoder FFN, all layers: matmuls, biases, activation, residual add
	DecFFN  int64
	Norms   int64
	Embed   int64 // √d scaling and position additions (backward: the scatter into the tables)
	Logits  int64 // output projection over the target rows
	Loss    int64 // softmax cross-entropy over the target rows
	PosBias int64 // T5's relative-position bias added to every score
	// Training is this pair's forward plus backward FLOPs (the Backward
	// field's total plus this pass's).
	Training int64
	// Backward is the backward pass by part (its own Backward and
	// Training are zero).
	Backward *EncDecFLOPs `json:",omitempty"`
}

// AttnFLOPs are one attention kind's FLOPs over all layers; Out includes
// the residual add in the forward pass.
type AttnFLOPs struct {
	QKV, Scores, Softmax, AV, Out int64
}

// Total sums the attention FLOPs.
func (a AttnFLOPs) Total() int64 { return a.QKV + a.Scores + a.Softmax + a.AV + a.Out }

// Total sums the pass's FLOPs (not the backward's).
func (f EncDecFLOPs) Total() int64 {
	return f.EncSelf.Total() + f.DecSelf.Total() + f.Cross.Total() + f.EncFFN + f.DecFFN + f.Norms + f.Embed + f.Logits + f.Loss + f.PosBias
}

// errLength reports a bad length.
var errLength = errors.New("lengths must be positive")

// FLOPs returns the forward FLOPs (with the loss) for a source of ns and a
// target of nt tokens, the backward pass in Backward and their sum in
// Training. Learned-position models reject lengths above MaxPositions.
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

// ActFlops is the FFN activation's per-element FLOPs, forward and backward,
// as the kernels count them: ReLU, GELU (erf: "gelu"; tanh: "gelu_new"),
// SiLU; gated, the activation of the gate times the up projection (SwiGLU,
// GeGLU, ReGLU). "" is ReLU, the Transformer's.
func (s EncDecSpec) ActFlops() (fwd, bwd int64) {
	switch s.Act {
	case "", "relu":
		if s.Gated {
			return kernels.FlopsReLUFwd + 1, kernels.FlopsReLUFwd + 3 + kernels.FlopsReLUBwd // as kernels.GeGLUFlops
		}
		return kernels.FlopsReLUFwd, kernels.FlopsReLUBwd
	case "gelu", "gelu_new":
		erf := s.Act == "gelu"
		if s.Gated {
			return kernels.GeGLUFlops(false, erf), kernels.GeGLUFlops(true, erf)
		}
		if erf {
			return kernels.FlopsGELUErfFwd, kernels.FlopsGELUErfBwd
		}
		return kernels.FlopsGELUFwd, kernels.FlopsGELUBwd
	}
	// silu / swish
	if s.Gated {
		return kernels.FlopsSwiGLUFwd, kernels.FlopsSwiGLUBwd
	}
	return kernels.FlopsSwiGLUFwd - 1, kernels.FlopsSwiGLUBwd - 3 // SwiGLU without the product (the engine has no ungated SiLU)
}

// flops is FLOPs without the checks (a valid spec, positive lengths; any
// length, as if a learned table were long enough).
func (s EncDecSpec) flops(ns, nt int) EncDecFLOPs {
	f := s.pass(ns, nt, false)
	b := s.pass(ns, nt, true)
	f.Training = f.Total() + b.Total()
	f.Backward = &b
	return f
}

// pass counts one pass, forward or backward, as the engine does (see the
// derivation in cost/encdec_engine_test.go's engineEncDec).
func (s EncDecSpec) pass(ns, nt int, backward bool) EncDecFLOPs {
	d, in, f, H := int64(s.DModel), s.inner(), int64(s.DFF), int64(s.Heads)
	dh := in / H
	S, T, K := int64(ns), int64(nt), int64(s.Vocab)
	bias := int64(0)
	if s.Bias {
		bias = 1
	}
	mat, res := int64(2), int64(kernels.FlopsResidual) // per multiply-add; the residual add
	if backward {
		mat, res = 4, 0 // dinp + dW; the residual's gradient is a copy
	}
	lin := func(n, k, m int64, residual bool) int64 {
		c := mat*n*k*m + bias*n*m
		if residual {
			c += res * n * m
		}
		return c
	}
	// One head's fused attention over prs (query, key) pairs, rows query
	// rows and resc running-output rescales (forward).
	attn := func(prs, rows, resc int64) (sc, sm, av int64) {
		prs, rows, resc = prs*H, rows*H, resc*H
		if backward {
			return 6 * dh * prs, kernels.FlopsAttnSoftmaxBwd*prs + 2*dh*rows, 4 * dh * prs
		}
		return 2 * dh * prs, kernels.FlopsAttnSoftmaxFwd*prs + (rows+resc)*dh, 2 * dh * prs
	}
	tiles := func(nk int64) int64 { return (nk+kernels.AttentionTile-1)/kernels.AttentionTile - 1 }
	Le, Ld := int64(s.EncLayers), int64(s.DecLayers)
	var o EncDecFLOPs
	esc, esm, eav := attn(S*S, S, kernels.AttentionRescales(ns, false))
	o.EncSelf = AttnFLOPs{QKV: Le * lin(S, d, 3*in, false), Scores: Le * esc, Softmax: Le * esm, AV: Le * eav, Out: Le * lin(S, in, d, true)}
	dsc, dsm, dav := attn(T*(T+1)/2, T, kernels.AttentionRescales(nt, true))
	o.DecSelf = AttnFLOPs{QKV: Ld * lin(T, d, 3*in, false), Scores: Ld * dsc, Softmax: Ld * dsm, AV: Ld * dav, Out: Ld * lin(T, in, d, true)}
	csc, csm, cav := attn(T*S, T, T*tiles(S))
	o.Cross = AttnFLOPs{
		// Q on target rows, K and V once per source (on source rows).
		QKV:    Ld * (lin(T, d, in, false) + lin(S, d, 2*in, false)),
		Scores: Ld * csc, Softmax: Ld * csm, AV: Ld * cav,
		Out: Ld * lin(T, in, d, true),
	}
	up := int64(1)
	if s.Gated {
		up = 2
	}
	actF, actB := s.ActFlops()
	act := actF
	if backward {
		act = actB
	}
	perRow := func(n int64) int64 { return up*lin(n, d, f, false) + n*f*act + lin(n, f, d, true) }
	o.EncFFN, o.DecFFN = Le*perRow(S), Ld*perRow(T)
	normF := int64(kernels.FlopsLayerNormFwd)
	if s.RMSNorm {
		normF = kernels.FlopsRMSNormFwd
	}
	if backward {
		normF = kernels.FlopsLayerNormBwd
		if s.RMSNorm {
			normF = kernels.FlopsRMSNormBwd
		}
	}
	rows := Le*S*2 + Ld*T*3
	if s.PreLN {
		rows += S + T
	}
	if s.LNEmbedding {
		rows += S + T
	}
	o.Norms = rows * d * normF
	if s.Positions != PosRelative {
		o.Embed += (S + T) * d // add the position row (backward: scatter into the token row)
	}
	if s.ScaleEmbed {
		o.Embed += (S + T) * d
	}
	if backward && s.Positions == PosLearned {
		o.Embed += (S + T) * d // scatter into the position row
	}
	if s.Positions == PosRelative {
		o.PosBias = Le*S*S*H + Ld*T*(T+1)/2*H // forward: the add; backward: the sum into the bucket
	}
	o.Logits = mat * T * d * K
	if s.ScaleOutput {
		o.Logits += T * d
	}
	if s.FinalLogits {
		o.Logits += T * K
	}
	o.Loss = T * K * kernels.FlopsLossFwd
	if backward {
		o.Loss = T*K*kernels.FlopsLossBwd + T
	}
	return o
}

// Weight and activation memory of a training step, bytes (float32).
type EncDecMemory struct {
	Weights     int64 // unique parameters plus buffers, 4 bytes each
	TrainState  int64 // weights + gradients + AdamW's two moments: 16 bytes per parameter
	Activations int64 // the engine's activation buffers for a training step on one pair, 4 bytes each (model.(*Model).ActivationFloats)
}

// Memory returns the memory for one (source, target) pair; ns and nt as FLOPs.
func (s EncDecSpec) Memory(ns, nt int) (EncDecMemory, error) {
	if _, err := s.FLOPs(ns, nt); err != nil {
		return EncDecMemory{}, err
	}
	p := s.Params()
	d, in, f, H := int64(s.DModel), s.inner(), int64(s.DFF), int64(s.Heads)
	S, T := int64(ns), int64(nt)
	// The buffers the engine allocates for a training step (forward and
	// backward; model.(*Model).ActivationFloats), per stack of n rows.
	normStats := int64(2) // mean and rstd per row (LayerNorm); RMSNorm keeps rstd only
	if s.RMSNorm {
		normStats = 1
	}
	stack := func(n, layers, subs int64) int64 {
		perSub := 2*n*d + normStats*n // norm output, residual sum, statistics
		perLayer := subs*perSub + n*3*in + H*n + n*in + 2*n*f
		if s.Gated {
			perLayer += n * f // the gate's output
		}
		x := layers*perLayer + n*d + // the embedding sum
			n*d + n*d + n*in + n*3*in + 2*n*f // backward scratch: residual, norm, attention output, Q K V, FFN
		if s.Gated {
			x += n * f
			if s.Act == "gelu" || s.Act == "gelu_new" {
				x += n * f // GeGLU's scratch
			}
		}
		if s.LNEmbedding {
			x += n*d + normStats*n
		}
		if s.PreLN {
			x += n*d + normStats*n // the final norm
		}
		return x
	}
	act := stack(S, int64(s.EncLayers), 2) + stack(T, int64(s.DecLayers), 3) +
		int64(s.DecLayers)*(T*in+S*2*in+H*T+T*in) + // cross-attention: Q, K V, softmax statistics, output
		T*in + S*2*in + S*d + // cross-attention's backward scratch
		2*T*d + 2*T*int64(s.Vocab) + T // output rows and their gradient, logits, probabilities, losses
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
		Bias: true, Positions: PosSinusoidal, ScaleEmbed: true, Act: "relu", Tie: TieAll},
	"transformer-big": {Name: "transformer-big", Vocab: 37000, DModel: 1024, EncLayers: 6, DecLayers: 6, Heads: 16, DFF: 4096,
		Bias: true, Positions: PosSinusoidal, ScaleEmbed: true, Act: "relu", Tie: TieAll},
	"bart-base": {Name: "bart-base", Vocab: 50265, DModel: 768, EncLayers: 6, DecLayers: 6, Heads: 12, DFF: 3072,
		Bias: true, Positions: PosLearned, MaxPositions: 1024, PosOffset: 2, LNEmbedding: true, FinalLogits: true, Act: "gelu", Tie: TieAll},
	"bart-large": {Name: "bart-large", Vocab: 50265, DModel: 1024, EncLayers: 12, DecLayers: 12, Heads: 16, DFF: 4096,
		Bias: true, Positions: PosLearned, MaxPositions: 1024, PosOffset: 2, LNEmbedding: true, FinalLogits: true, Act: "gelu", Tie: TieAll},
	"t5-small": {Name: "t5-small", Vocab: 32128, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, HeadDim: 64, DFF: 2048,
		RMSNorm: true, PreLN: true, Positions: PosRelative, RelBuckets: 32, ScaleOutput: true, Act: "relu", Tie: TieAll},
	"t5-base": {Name: "t5-base", Vocab: 32128, DModel: 768, EncLayers: 12, DecLayers: 12, Heads: 12, HeadDim: 64, DFF: 3072,
		RMSNorm: true, PreLN: true, Positions: PosRelative, RelBuckets: 32, ScaleOutput: true, Act: "relu", Tie: TieAll},
	"marian": {Name: "marian", Vocab: 58101, DModel: 512, EncLayers: 6, DecLayers: 6, Heads: 8, DFF: 2048,
		Bias: true, Positions: PosSinusoidal, ScaleEmbed: true, FinalLogits: true, Act: "swish", Tie: TieAll},
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
