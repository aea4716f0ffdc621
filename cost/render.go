package cost

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tformer/tformer/internal/textfmt"
)

// Formats lists the output formats of Report.Write.
func Formats() []string { return []string{"table", "md", "csv", "json"} }

// Write renders the report as "table" (aligned text), "md" (Markdown
// tables), "csv" (one row per sequence length) or "json" (see Report). With
// perLayer, table, md and csv show only the matmul-only per-layer MHA vs FFN
// table and the crossovers; json always has every section.
func (r *Report) Write(w io.Writer, format string, perLayer bool) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return r.writeCSV(w, perLayer)
	case "table", "md":
		return r.writeTables(w, format == "md", perLayer)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// si formats x with 4 significant digits and an SI prefix (1.611G).
func si(x float64) string {
	ax := math.Abs(x)
	for _, u := range []struct {
		v float64
		s string
	}{{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if ax >= u.v {
			return strconv.FormatFloat(x/u.v, 'f', decimals(ax/u.v), 64) + u.s
		}
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func decimals(x float64) int {
	switch {
	case x >= 100:
		return 1
	case x >= 10:
		return 2
	}
	return 3
}

func commas(n int64) string { return textfmt.Commas(n) }

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

// crossText formats a crossover in whole tokens: "n = 1024" when exact,
// "n ≈ 2021" when the real crossover lies between two lengths (the JSON
// keeps the real number).
func crossText(x *float64) string {
	if x == nil {
		return "none"
	}
	if *x == math.Trunc(*x) {
		return "n = " + strconv.FormatFloat(*x, 'f', 0, 64)
	}
	return "n ≈ " + strconv.FormatFloat(math.Round(*x), 'f', 0, 64)
}

type table struct {
	title string
	head  []string
	rows  [][]string
	notes []string
}

func (t *table) write(w io.Writer, md bool) {
	if md {
		fmt.Fprintf(w, "### %s\n\n| %s |\n|", t.title, strings.Join(t.head, " | "))
		for i := range t.head {
			if i == 0 {
				fmt.Fprint(w, "---|")
			} else {
				fmt.Fprint(w, "---:|")
			}
		}
		fmt.Fprintln(w)
		for _, r := range t.rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		if len(t.notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range t.notes {
				fmt.Fprintf(w, "%s  \n", n)
			}
		}
		fmt.Fprintln(w)
		return
	}
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	fmt.Fprintln(w, t.title)
	for _, r := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, "  "+strings.TrimRight(b.String(), " "))
	}
	for _, n := range t.notes {
		fmt.Fprintln(w, "  "+n)
	}
	fmt.Fprintln(w)
}

func (r *Report) seqHeads(first string) ([]string, string) {
	h := []string{first}
	beyond := false
	for _, e := range r.PerSeq {
		s := strconv.Itoa(e.Seq)
		if e.BeyondContext {
			s += "*"
			beyond = true
		}
		h = append(h, s)
	}
	note := ""
	if beyond {
		note = fmt.Sprintf("* beyond the model's context of %d positions (counted as if it had them)", r.Model.MaxSeq)
	}
	return h, note
}

func (r *Report) perLayerTable() *table {
	d, f := r.Model.DModel, r.Model.DFF
	t := &table{title: fmt.Sprintf("Per layer, matmul FLOPs only (d=%d, d_ff=%d; one sequence; bidirectional n²; 2 FLOPs per multiply-add; no bias, softmax, norm or activation)", d, f),
		head: []string{"n", "QKV 6nd²", "QKᵀ 2n²d", "AV 2n²d", "out 2nd²", "MHA", "FFN 4n·d·d_ff", "MHA share", "FFN share", "MHA/FFN"}}
	for _, l := range r.PerLayer {
		t.rows = append(t.rows, []string{strconv.Itoa(l.Seq), si(float64(l.QKV)), si(float64(l.Scores)), si(float64(l.AV)), si(float64(l.Out)),
			si(float64(l.MHA)), si(float64(l.FFN)), pct(l.MHAShare), pct(l.FFNShare), strconv.FormatFloat(l.Ratio, 'f', 3, 64)})
	}
	m := r.Crossover.MatmulOnly
	c := r.spec.Config
	if c.QKVDim() == 3*d && c.QDim() == d && !c.Gated() {
		t.notes = append(t.notes, fmt.Sprintf("crossovers (exact): MHA = FFN at %s (d_ff − 2d); QKᵀ+AV = FFN at %s (d_ff)", crossText(m.MHAEqualsFFN), crossText(m.CoreEqualsFFN)))
		return t
	}
	// Grouped-query attention, a head_dim of its own or a gated FFN.
	q, kv, mats := c.QDim(), c.KVDim(), 2
	if c.Gated() {
		mats = 3
	}
	t.head = []string{"n", "QKV 2nd(q+2kv)", "QKᵀ 2n²q", "AV 2n²q", "out 2nqd", "MHA", fmt.Sprintf("FFN %d·2n·d·d_ff", mats), "MHA share", "FFN share", "MHA/FFN"}
	t.notes = append(t.notes, fmt.Sprintf("q = heads·head_dim = %d, kv = kv_heads·head_dim = %d; crossovers (exact): MHA = FFN at %s; QKᵀ+AV = FFN at %s",
		q, kv, crossText(m.MHAEqualsFFN), crossText(m.CoreEqualsFFN)))
	return t
}

func (r *Report) engineCrossNotes() []string {
	c := r.Crossover
	other := "bidirectional"
	if c.Convention == "bidirectional" {
		other = "causal"
	}
	out := []string{
		fmt.Sprintf("crossovers (exact, engine counts, per layer = whole model, %s forward): MHA = FFN at %s; QKᵀ+AV = FFN at %s",
			c.Convention, crossText(c.MHAEqualsFFN), crossText(c.CoreEqualsFFN)),
		fmt.Sprintf("  %s forward: MHA = FFN at %s; QKᵀ+AV = FFN at %s", other, crossText(c.OtherConvention.MHAEqualsFFN), crossText(c.OtherConvention.CoreEqualsFFN)),
	}
	if c.Train != nil {
		out = append(out, fmt.Sprintf("  %s forward+backward: MHA = FFN at %s; QKᵀ+AV = FFN at %s", c.Convention, crossText(c.Train.MHAEqualsFFN), crossText(c.Train.CoreEqualsFFN)))
	}
	return out
}

func (r *Report) componentTable(title string, get func(SeqCost) Counts, withMHA bool) *table {
	head, note := r.seqHeads("component")
	t := &table{title: title, head: head}
	for _, k := range r.parts {
		row := []string{k.String()}
		for _, e := range r.PerSeq {
			row = append(row, si(float64(get(e)[k])))
		}
		t.rows = append(t.rows, row)
	}
	rowOf := func(name string, f func(Counts) string) {
		row := []string{name}
		for _, e := range r.PerSeq {
			row = append(row, f(get(e)))
		}
		t.rows = append(t.rows, row)
	}
	rowOf("total", func(c Counts) string { return si(float64(c.Total())) })
	if withMHA {
		rowOf("MHA", func(c Counts) string { return si(float64(c.MHA())) })
		rowOf("FFN", func(c Counts) string { return si(float64(c.FFN())) })
		rowOf("QKᵀ+AV", func(c Counts) string { return si(float64(c.Core())) })
		rowOf("MHA share", func(c Counts) string { return pct(float64(c.MHA()) / float64(c.Total())) })
		rowOf("FFN share", func(c Counts) string { return pct(float64(c.FFN()) / float64(c.Total())) })
		rowOf("MHA/FFN", func(c Counts) string { return strconv.FormatFloat(float64(c.MHA())/float64(c.FFN()), 'f', 3, 64) })
	}
	if note != "" {
		t.notes = append(t.notes, note)
	}
	return t
}

func (r *Report) writeTables(w io.Writer, md bool, perLayer bool) error {
	s, o := r.spec, r.opts
	attn := "causal: n(n+1)/2 (query, key) pairs per head"
	if !o.Causal {
		attn = "bidirectional: n² (query, key) pairs per head"
	}
	intro := []string{
		"model " + s.String(),
		"FLOPs: a matmul (m x k)·(k x n) counts 2·m·k·n (a multiply and an add; no MACs anywhere); other operations count the engine's per-element constants (" + r.Conventions.Elementwise + ").",
		fmt.Sprintf("attention %s; batch %d; the forward includes the loss.", attn, o.Batch),
	}
	if s.Arch == Encoder && !s.MLMHead {
		intro[2] = fmt.Sprintf("attention %s; batch %d; no output head or loss: backward starts from a gradient at the outputs.", attn, o.Batch)
	}
	if md {
		name := s.Name
		if name == "" {
			name = "model"
		}
		fmt.Fprintf(w, "## tformer cost: %s\n\n", name)
		for _, l := range intro {
			fmt.Fprintf(w, "%s  \n", l)
		}
		fmt.Fprintln(w)
	} else {
		for _, l := range intro {
			fmt.Fprintln(w, l)
		}
		fmt.Fprintln(w)
	}
	if perLayer {
		t := r.perLayerTable()
		t.notes = append(t.notes, r.engineCrossNotes()...)
		t.write(w, md)
		return nil
	}

	p := r.Params
	pt := &table{title: "Parameters", head: []string{"component", "unique (stored)", "applied (per use)"}}
	for _, k := range []string{"embeddings", "attention", "ffn", "norms", "head", "pooler"} {
		c := p.Components[k]
		if c.Applied == 0 {
			continue
		}
		pt.rows = append(pt.rows, []string{k, commas(c.Unique), commas(c.Applied)})
	}
	pt.rows = append(pt.rows, []string{"total", commas(p.Unique), commas(p.Applied)})
	pt.notes = []string{fmt.Sprintf("untied, unshared model: %s; tying saves %s, sharing saves %s (%s in all)",
		commas(p.UntiedUnshared), commas(p.SavedByTying), commas(p.SavedBySharing), pct(float64(p.UntiedUnshared-p.Unique)/float64(p.UntiedUnshared)))}
	pt.write(w, md)

	r.perLayerTable().write(w, md)

	ft := r.componentTable(fmt.Sprintf("Forward FLOPs per component (whole model, batch %d, %s)", o.Batch, convention(o.Causal)),
		func(e SeqCost) Counts { return e.raw.Forward }, true)
	ft.notes = append(ft.notes, r.engineCrossNotes()...)
	ft.write(w, md)
	if o.Train {
		r.componentTable(fmt.Sprintf("Backward FLOPs per component (batch %d)", o.Batch), func(e SeqCost) Counts { return e.raw.Backward }, false).write(w, md)
		r.componentTable(fmt.Sprintf("Training step FLOPs, forward + backward (batch %d)", o.Batch), func(e SeqCost) Counts { return e.raw.Total() }, true).write(w, md)
	}

	mt := &table{title: fmt.Sprintf("Memory of a training step (batch %d, float32, AdamW)", o.Batch),
		head: []string{"n", "params", "grads", "AdamW m+v", "activations", "attention lse", "total", "naive probs"}}
	for _, e := range r.PerSeq {
		m := e.Memory
		mt.rows = append(mt.rows, []string{strconv.Itoa(e.Seq), textfmt.Bytes(m.Params, 2), textfmt.Bytes(m.Grads, 2), textfmt.Bytes(m.AdamW, 2),
			textfmt.Bytes(m.Activations, 2), textfmt.Bytes(m.AttentionLSE, 2), textfmt.Bytes(m.Total, 2), textfmt.Bytes(m.NaiveAttentionProbs, 2)})
	}
	mt.notes = []string{"activations: the tensors kept for backward, logits and probabilities, and the backward scratch;",
		"attention lse: the B·H·n log-sum-exp values per layer the fused (flash-style) attention keeps for backward;",
		"naive probs: not in the total — the B·H·n·n probabilities per layer an unfused attention would keep instead."}
	if s.Arch == Encoder && s.Pooler {
		mt.notes = append(mt.notes, "the pooler's few values are not counted (the engine builds no pooler).")
	}
	mt.write(w, md)
	if r.Inference != nil {
		r.inferenceTable().write(w, md)
	}

	ct := &table{title: "Training FLOPs per token (forward + backward) against closed forms",
		head: []string{"n", "exact", "PaLM 6N+12LHQT", "exact/PaLM", "Kaplan 3(2N+2Lnd)", "exact/Kaplan"}}
	for _, e := range r.PerSeq {
		c := e.PerToken
		ct.rows = append(ct.rows, []string{strconv.Itoa(e.Seq), si(c.Exact), si(c.PaLM), strconv.FormatFloat(c.Exact/c.PaLM, 'f', 3, 64),
			si(c.Kaplan), strconv.FormatFloat(c.Exact/c.Kaplan, 'f', 3, 64)})
	}
	if len(r.PerSeq) > 0 {
		c := r.PerSeq[0].PerToken
		ct.notes = []string{
			fmt.Sprintf("PaLM's N = %s: applied parameters in matmuls (all but the embedding lookup; the output projection included);", commas(c.PaLMN)),
			fmt.Sprintf("Kaplan's N = %s: non-embedding parameters (embedding tables and output projection excluded).", commas(c.KaplanN)),
			"Both: backward = 2 x forward for matmuls, exactly as the engine counts. The exact count adds biases, residuals,",
			"LayerNorm, GELU, softmax, embedding and loss; PaLM counts QKᵀ and AV over all n² pairs (no causal halving), Kaplan over n/2",
			"per token (the engine's causal count is (n+1)/2), and Kaplan leaves out the 6·d·K per token of the logits.",
		}
	}
	ct.write(w, md)
	return nil
}

func (r *Report) writeCSV(w io.Writer, perLayer bool) error {
	cw := csv.NewWriter(w)
	if perLayer {
		_ = cw.Write([]string{"seq", "qkv", "scores", "av", "out_proj", "mha", "ffn", "mha_share", "ffn_share", "mha_ffn_ratio"})
		for _, l := range r.PerLayer {
			_ = cw.Write([]string{strconv.Itoa(l.Seq), i64(l.QKV), i64(l.Scores), i64(l.AV), i64(l.Out), i64(l.MHA), i64(l.FFN), f64(l.MHAShare), f64(l.FFNShare), f64(l.Ratio)})
		}
		cw.Flush()
		return cw.Error()
	}
	head := []string{"seq", "batch", "attention"}
	for _, k := range r.parts {
		head = append(head, "forward_"+k.String())
	}
	head = append(head, "forward_total")
	if r.opts.Train {
		for _, k := range r.parts {
			head = append(head, "backward_"+k.String())
		}
		head = append(head, "backward_total", "train_total")
	}
	head = append(head, "mha", "ffn", "attention_core", "mha_share", "ffn_share", "mha_ffn_ratio",
		"mem_params", "mem_grads", "mem_adamw", "mem_activations", "mem_attention_lse", "mem_total", "mem_naive_attention_probs",
		"per_token_exact", "per_token_palm", "per_token_kaplan")
	_ = cw.Write(head)
	for _, e := range r.PerSeq {
		row := []string{strconv.Itoa(e.Seq), strconv.Itoa(e.Batch), r.Conventions.Attention}
		for _, k := range r.parts {
			row = append(row, i64(e.raw.Forward[k]))
		}
		row = append(row, i64(e.raw.Forward.Total()))
		if r.opts.Train {
			for _, k := range r.parts {
				row = append(row, i64(e.raw.Backward[k]))
			}
			row = append(row, i64(e.raw.Backward.Total()), i64(e.Flops.TrainTotal))
		}
		m := e.Memory
		row = append(row, i64(e.MHA), i64(e.FFN), i64(e.Core), f64(e.MHAShare), f64(e.FFNShare), f64(e.Ratio),
			i64(m.Params), i64(m.Grads), i64(m.AdamW), i64(m.Activations), i64(m.AttentionLSE), i64(m.Total), i64(m.NaiveAttentionProbs),
			f64(e.PerToken.Exact), f64(e.PerToken.PaLM), f64(e.PerToken.Kaplan))
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func i64(v int64) string   { return strconv.FormatInt(v, 10) }
func f64(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
