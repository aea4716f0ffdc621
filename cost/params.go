package cost

import "github.com/tformer/tformer/model"

// Count is a number of parameters, stored and as applied in a forward pass.
type Count struct {
	Unique  int64 `json:"unique"`  // stored once, whatever the number of uses
	Applied int64 `json:"applied"` // counted once per use (a tied matrix twice, a block shared by k layers k times)
}

func (c *Count) add(unique, applied int64) { c.Unique += unique; c.Applied += applied }

// Params is a parameter breakdown. Every LayerNorm (gain and shift) is under
// Norms; biases are with their matrices.
type Params struct {
	// Embeddings: token, position and type tables and, for a factorized
	// embedding, the E->d mapping (weight and bias). Applied once (the lookup).
	Embeddings Count `json:"embeddings"`
	// Attention: Q, K, V and output projections with biases, per layer.
	Attention Count `json:"attention"`
	// FFN: both FFN matrices with biases, per layer.
	FFN Count `json:"ffn"`
	// Norms: all LayerNorms (two per layer, plus the decoder's final one or
	// the encoder's embedding one, plus the masked-LM head's).
	Norms Count `json:"norms"`
	// Head: the output projection (decoder) or the masked-LM head's dense
	// layer, decoder matrix and bias. A tied matrix counts as applied here
	// but not as stored.
	Head Count `json:"head"`
	// Pooler: the encoder's pooler dense layer.
	Pooler Count `json:"pooler"`

	Total Count `json:"total"`
	// UntiedUnshared is the parameter count of the same model with no tying
	// and no sharing; it equals Total.Applied.
	UntiedUnshared int64 `json:"untied_unshared"`
	SavedByTying   int64 `json:"saved_by_tying"`   // the tied matrix's size, when tied
	SavedBySharing int64 `json:"saved_by_sharing"` // blocks stored fewer times than applied
	// AttnBlock and FFNBlock are the sizes of one attention and one FFN
	// sub-block including its LayerNorm, the unit of sharing.
	AttnBlock int64 `json:"attention_block"`
	FFNBlock  int64 `json:"ffn_block"`
}

// Parameters counts s's parameters. For an engine model (ForModel), Total
// equals model.Config's UniqueParams and AppliedParams.
func (s Spec) Parameters() Params {
	c := s.Config
	d, f, K, L := int64(c.DModel), int64(c.DFF), int64(c.Vocab), int64(c.Layers)
	E, S, T := int64(s.E()), int64(c.MaxSeq), int64(s.TypeVocab)
	na, nf := int64(c.AttnBlocks()), int64(c.FFNBlocks())
	var p Params

	// Embedding tables (K x E, S x E, T x E), used once by the lookup.
	if s.Arch == Decoder {
		T = 0
	}
	if c.Rotary() {
		S = 0 // rotary positions have no table
	}
	emb := K*E + S*E + T*E
	if E != d {
		emb += E*d + d // ALBERT's embedding_hidden_mapping_in (the engine's embed_proj)
	}
	p.Embeddings.add(emb, emb)

	qd, qkv := int64(c.QDim()), int64(c.QKVDim())
	attn := qkv*d + qd*d // Q, K, V ((H + 2·H_kv)·dh x d, fused) and output d x H·dh
	if c.QKVBias() {
		attn += qkv
	}
	mats := int64(2) // up d->f and down f->d (and a gate d->f when gated)
	if c.Gated() {
		mats = 3
	}
	ffn := mats * d * f
	if c.LinearBias() {
		attn += d
		ffn += (mats-1)*f + d
	}
	ln := 2 * d // gain and shift
	if c.RMS() {
		ln = d // gain only
	}
	blockNorms := int64(1) // per sub-block: its norm (and Gemma 2's post-norm)
	if s.Config.PostNorms {
		blockNorms = 2
	}
	p.Attention.add(na*attn, L*attn)
	p.FFN.add(nf*ffn, L*ffn)
	p.Norms.add((na+nf)*blockNorms*ln, 2*L*blockNorms*ln)
	p.AttnBlock, p.FFNBlock = attn+blockNorms*ln, ffn+blockNorms*ln

	if s.Arch == Decoder {
		p.Norms.add(ln, ln) // final LayerNorm
	} else {
		p.Norms.add(2*E, 2*E) // embedding LayerNorm (over E)
	}
	if s.headThroughE() {
		// BERT: dense d->d, LN(d), bias K; ALBERT (and a factorized decoder):
		// dense d->E, LN(E), bias K.
		p.Head.add(d*E+E+K, d*E+E+K)
		p.Norms.add(2*E, 2*E)
	}
	if s.hasOutput() {
		out := K * E
		if c.Tie {
			p.Head.add(0, out)
			p.SavedByTying = out
		} else {
			p.Head.add(out, out)
		}
	}
	if s.Arch == Encoder && s.Pooler {
		p.Pooler.add(d*d+d, d*d+d)
	}
	p.SavedBySharing = (L-na)*p.AttnBlock + (L-nf)*p.FFNBlock
	for _, x := range []Count{p.Embeddings, p.Attention, p.FFN, p.Norms, p.Head, p.Pooler} {
		p.Total.add(x.Unique, x.Applied)
	}
	p.UntiedUnshared = p.Total.Applied
	return p
}

// NonEmbedding is the applied parameter count without the embedding tables
// and the output matrix: Kaplan et al.'s N, the parameters of the layers (and
// of an encoder's pooler, mapping and head dense layer).
func (p Params) NonEmbedding(s Spec) int64 {
	c := s.Config
	types := s.TypeVocab
	if s.Arch == Decoder {
		types = 0
	}
	pos := c.MaxSeq
	if c.Rotary() {
		pos = 0
	}
	n := p.Total.Applied - int64(c.Vocab+pos+types)*int64(s.E())
	if s.hasOutput() {
		n -= int64(c.Vocab) * int64(s.E())
	}
	return n
}

// Unshared returns s without tying or sharing (the baseline of the savings).
func (s Spec) Unshared() Spec {
	s.Config.Tie = false
	s.Config.Share = model.ShareNone
	s.Config.Groups = 1
	return s
}
