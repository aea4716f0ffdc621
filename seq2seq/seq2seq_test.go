package seq2seq

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/corpus"
	"github.com/tformer/tformer/tokenizer"
)

var byteVocab = NewVocab(tokenizer.Byte{})

func gpt2Vocab(t testing.TB) Vocab {
	t.Helper()
	tok, err := tokenizer.New("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	return NewVocab(tok)
}

func TestVocab(t *testing.T) {
	v := byteVocab
	if v.Pad != 256 || v.BOS != 257 || v.EOS != 258 || v.Mask != 259 || v.Size() != 260 {
		t.Errorf("byte vocab %+v", v)
	}
	ids := append([]int32{v.BOS}, v.Encode("ab")...)
	ids = append(ids, v.Mask, 'c', v.EOS, 'z', v.Pad)
	if got := v.Text(ids); got != "ab<mask>c" {
		t.Errorf("Text %q", got)
	}
	g := gpt2Vocab(t)
	if g.Pad != 50257 || g.Size() != 50261 {
		t.Errorf("gpt2 vocab %+v", g)
	}
	if got := g.Text(g.Encode("The cat is grey.")); got != "The cat is grey." {
		t.Errorf("gpt2 round trip %q", got)
	}
}

func sources(ex []Example) map[string]bool {
	m := map[string]bool{}
	for _, e := range ex {
		m[e.Source] = true
	}
	return m
}

func TestFactsTask(t *testing.T) {
	train, held, err := Task("facts", 7)
	if err != nil {
		t.Fatal(err)
	}
	train2, held2, _ := Task("facts", 7)
	if !reflect.DeepEqual(train, train2) || !reflect.DeepEqual(held, held2) {
		t.Error("the same seed gives different examples")
	}
	train3, held3, _ := Task("facts", 8)
	if reflect.DeepEqual(held, held3) || reflect.DeepEqual(train, train3) {
		t.Error("another seed gives the same split")
	}
	facts := corpus.Facts()
	if len(train)+len(held) != 4*len(facts) || len(held) < len(facts)/4 || len(held) > 3*len(facts)/4 {
		t.Errorf("%d train, %d held out of %d facts", len(train), len(held), len(facts))
	}
	tr, ho := sources(train), sources(held)
	if len(tr) != len(train) || len(ho) != len(held) {
		t.Error("a source appears twice")
	}
	for s := range ho {
		if tr[s] {
			t.Errorf("%q is in both splits", s)
		}
	}
	// Every fact's answer and every wording is trained on.
	answers := map[string]int{}
	for _, e := range train {
		answers[e.Target]++
	}
	for _, f := range facts {
		if answers[f.Answer] < 3 {
			t.Errorf("%q: %d training questions, want 3 or 4", f.Answer, answers[f.Answer])
		}
	}
	for rel, forms := range questionForms {
		for _, q := range forms {
			prefix := q[:strings.Index(q, "%s")]
			found := false
			for _, e := range train {
				if strings.HasPrefix(e.Source, prefix) && strings.HasSuffix(e.Source, q[strings.Index(q, "%s")+2:]) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: wording %q never trained on", rel, q)
			}
		}
	}
	for _, e := range held {
		for _, f := range facts {
			if f.Answer == e.Target && !strings.Contains(e.Source, f.Subject) {
				t.Errorf("%q → %q: the subject is missing", e.Source, e.Target)
			}
		}
	}
	if _, _, err := Task("nope", 1); err == nil || !strings.Contains(err.Error(), "facts") {
		t.Errorf("unknown task: %v", err)
	}
}

func TestReverseTask(t *testing.T) {
	train, held, err := Task("reverse", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 3600 || len(held) != 400 {
		t.Fatalf("%d train, %d held out", len(train), len(held))
	}
	tr := sources(train)
	for _, e := range held {
		if tr[e.Source] {
			t.Errorf("%q is in both splits", e.Source)
		}
	}
	for _, e := range append(train[:50:50], held[:50]...) {
		if n := len(strings.Fields(e.Source)); n < 3 || n > 10 || len(e.Source) > 60 || ReverseWords(e.Target) != e.Source || e.Target == e.Source {
			t.Errorf("%q → %q", e.Source, e.Target)
		}
	}
	train2, _, _ := Task("reverse", 3)
	if !reflect.DeepEqual(train, train2) {
		t.Error("not deterministic")
	}
	if ReverseWords("The cat is grey.") != "grey. is cat The" {
		t.Error(ReverseWords("The cat is grey."))
	}
}

func TestEncode(t *testing.T) {
	ex := []Example{{"What colour is the cat?", "The cat is grey."}, {"ab", "c"}}
	for _, v := range []Vocab{byteVocab, gpt2Vocab(t)} {
		ps, err := Encode(v, ex, Limits{MaxSrc: 32, MaxTgt: 32})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range ps {
			if v.Text(p.Src) != ex[i].Source || v.Text(p.Tgt) != ex[i].Target {
				t.Errorf("%s: pair %d decodes to %q → %q", v.Tok.Name(), i, v.Text(p.Src), v.Text(p.Tgt))
			}
		}
	}
	for _, c := range []struct {
		ex   Example
		lim  Limits
		want string
	}{
		{Example{"abcd", "x"}, Limits{4, 8}, "example 1 (\"abcd\"): the source is 4 tokens, longer than the encoder's context of 4"},
		{Example{"a", "xyz"}, Limits{8, 3}, "the target is 3 tokens, longer than the decoder's context of 3"},
		{Example{"", "x"}, Limits{8, 8}, "the source is empty"},
		{Example{"a", "b"}, Limits{1, 8}, "at least 2"},
	} {
		if _, err := Encode(byteVocab, []Example{c.ex}, c.lim); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.ex, err, c.want)
		}
	}
}

func TestReadTSV(t *testing.T) {
	lim := Limits{MaxSrc: 8, MaxTgt: 6}
	ps, err := ReadTSV(strings.NewReader("ab\tcd\r\nhello\tw o\nx\ty"), byteVocab, lim)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{{[]int32{'a', 'b'}, []int32{'c', 'd'}}, {[]int32{'h', 'e', 'l', 'l', 'o'}, []int32{'w', ' ', 'o'}}, {[]int32{'x'}, []int32{'y'}}}
	if !reflect.DeepEqual(ps, want) {
		t.Errorf("pairs %v", ps)
	}
	g := gpt2Vocab(t)
	ps, err = ReadTSV(strings.NewReader("The cat\tLe chat\n"), g, Limits{MaxSrc: 8, MaxTgt: 8})
	if err != nil || len(ps) != 1 || g.Text(ps[0].Src) != "The cat" || g.Text(ps[0].Tgt) != "Le chat" {
		t.Errorf("gpt2: %v %v", ps, err)
	}
	for _, c := range []struct{ in, want string }{
		{"a\tb\n\nc\td\n", "line 2: empty line (want source<TAB>target)"},
		{"a\tb\nonly one column\n", "line 2: one column, no tab (want source<TAB>target)"},
		{"a\tb\tc\n", "line 1: 3 tab-separated columns (want 2: source<TAB>target)"},
		{"a\tb\nabcdefgh\tx\n", "line 2: the source is 8 tokens, longer than the encoder's context of 8 (with EOS: at most 7 tokens)"},
		{"a\tb\nc\td\ne\tuvwxyz\n", "line 3: the target is 6 tokens, longer than the decoder's context of 6 (with BOS/EOS: at most 5 tokens)"},
		{"\tb\n", "line 1: the source is empty"},
		{"a\t\r\n", "line 1: the target is empty"},
		{"", "no lines (want source<TAB>target lines)"},
		{"a\tb\n" + strings.Repeat("x", MaxLineBytes+1) + "\n", "line 2: longer than 1048576 bytes"},
	} {
		_, err := ReadTSV(strings.NewReader(c.in), byteVocab, lim)
		if err == nil || err.Error() != c.want {
			t.Errorf("%.30q: error %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := LoadTSV("no/such/file.tsv", byteVocab, lim); err == nil || !strings.Contains(err.Error(), "file.tsv") {
		t.Errorf("missing file: %v", err)
	}
}

// Poisson(3): mean and variance 3, P(0) = e⁻³.
func TestPoisson(t *testing.T) {
	r := newRNG(1, 2)
	const n = 200000
	var sum, sq float64
	zeros := 0
	for range n {
		k := float64(r.poisson(3))
		sum += k
		sq += k * k
		if k == 0 {
			zeros++
		}
	}
	mean := sum / n
	variance := sq/n - mean*mean
	// Standard errors: sqrt(3/n) ≈ 0.004 for the mean, ~0.013 for the variance.
	if math.Abs(mean-3) > 0.02 || math.Abs(variance-3) > 0.06 || math.Abs(float64(zeros)/n-math.Exp(-3)) > 0.003 {
		t.Errorf("mean %.4f variance %.4f P(0) %.4f", mean, variance, float64(zeros)/n)
	}
}

// Infilling masks round(0.3·n) tokens, never grows the sequence, and the
// spans rebuild the original; the share of zero-length spans and the mean
// span length are those of Poisson(3) spans (merged where they touch).
func TestInfill(t *testing.T) {
	ids := make([]int32, 200)
	for i := range ids {
		ids[i] = int32(i % 256)
	}
	o := DefaultNoise(5)
	var spans, zeroSpans, maskedTok int
	for s := range uint64(300) {
		out, sp, err := Infill(ids, 999, o, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > len(ids) {
			t.Fatalf("stream %d: %d tokens from %d", s, len(out), len(ids))
		}
		// Rebuild.
		var back []int32
		prev := 0
		m := 0
		for _, x := range sp {
			if out[x.Out] != 999 {
				t.Fatalf("span %+v: no mask at its output position", x)
			}
			back = append(back, out[prev:x.Out]...)
			back = append(back, ids[x.At:x.At+x.Len]...)
			prev = x.Out + 1
			m += x.Len
			if x.Len == 0 {
				zeroSpans++
			}
		}
		back = append(back, out[prev:]...)
		if !slices.Equal(back, ids) {
			t.Fatalf("stream %d: spans do not rebuild the input", s)
		}
		if m != 60 {
			t.Errorf("stream %d: %d tokens masked, want 60", s, m)
		}
		if c := strings.Count(fmt.Sprint(out), "999"); c != len(sp) {
			t.Errorf("%d masks for %d spans", c, len(sp))
		}
		spans += len(sp)
		maskedTok += m
	}
	// Unmerged Poisson(3) spans would be 60/3 = 20 per sequence plus the
	// zero-length ones (e⁻³ ≈ 5% of draws); touching spans merge, so a
	// little fewer, each a little longer.
	perSeq := float64(spans-zeroSpans) / 300
	if perSeq < 14 || perSeq > 21 {
		t.Errorf("%.1f non-empty spans per sequence, want 14-21", perSeq)
	}
	if z := float64(zeroSpans) / 300; z < 0.3 || z > 2 {
		t.Errorf("%.2f zero-length spans per sequence, want about 1", z)
	}
	a, _, _ := Infill(ids, 999, o, 1)
	b, _, _ := Infill(ids, 999, o, 1)
	c, _, _ := Infill(ids, 999, DefaultNoise(6), 1)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Error("noise is not a function of (seed, stream)")
	}
	if _, _, err := Infill(ids, 999, NoiseOptions{MaskRatio: 1, Lambda: 3}, 0); err == nil {
		t.Error("mask ratio 1 accepted")
	}
	if out, sp, _ := Infill(nil, 999, o, 0); len(out) != 0 || len(sp) != 0 {
		t.Error("empty input")
	}
}

func TestDenoise(t *testing.T) {
	text := corpus.Default()[:20000]
	for _, v := range []Vocab{byteVocab, gpt2Vocab(t)} {
		lim := Limits{MaxSrc: 64, MaxTgt: 80}
		ps, err := Denoise(v, text, lim, DefaultNoise(1))
		if err != nil {
			t.Fatal(err)
		}
		var all []int32
		var masked, total int
		for _, p := range ps {
			all = append(all, p.Tgt...)
			if len(p.Tgt) > 63 || len(p.Src) > len(p.Tgt) {
				t.Fatalf("%s: pair of %d → %d tokens", v.Tok.Name(), len(p.Src), len(p.Tgt))
			}
			masks := 0
			for _, id := range p.Src {
				if id == v.Mask {
					masks++
				}
			}
			total += len(p.Tgt)
			masked += len(p.Tgt) - (len(p.Src) - masks)
		}
		if !slices.Equal(all, v.Tok.Encode(text)) {
			t.Errorf("%s: the targets are not the text's tokens in order", v.Tok.Name())
		}
		if r := float64(masked) / float64(total); math.Abs(r-0.3) > 0.01 {
			t.Errorf("%s: %.3f of tokens masked", v.Tok.Name(), r)
		}
		if err := CheckPairs(ps, v, lim); err != nil {
			t.Error(err)
		}
		again, _ := Denoise(v, text, lim, DefaultNoise(1))
		other, _ := Denoise(v, text, lim, DefaultNoise(2))
		if !reflect.DeepEqual(ps, again) || reflect.DeepEqual(ps, other) {
			t.Errorf("%s: noise not a function of the seed", v.Tok.Name())
		}
	}
	if _, err := Denoise(byteVocab, nil, Limits{8, 8}, DefaultNoise(1)); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty text: %v", err)
	}
}

func TestBatch(t *testing.T) {
	v := byteVocab
	b, err := NewBatch(3, Limits{MaxSrc: 5, MaxTgt: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Fill(v, []Pair{{[]int32{1, 2}, []int32{7}}, {[]int32{3, 4, 5, 6}, []int32{8, 9, 10}}}); err != nil {
		t.Fatal(err)
	}
	P, B, E, I := v.Pad, v.BOS, v.EOS, IgnoreLabel
	want := &Batch{Size: 3, SrcLen: 5, TgtLen: 4, Rows: 2,
		Src:     []int32{1, 2, E, P, P, 3, 4, 5, 6, E, P, P, P, P, P},
		SrcLens: []int{3, 5, 0},
		DecIn:   []int32{B, 7, P, P, B, 8, 9, 10, P, P, P, P},
		Labels:  []int32{7, E, I, I, 8, 9, 10, E, I, I, I, I},
		TgtLens: []int{2, 4, 0}}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("batch\n got %+v\nwant %+v", b, want)
	}
	for _, c := range []struct {
		ps   []Pair
		want string
	}{
		{[]Pair{{[]int32{1, 2, 3, 4, 5}, []int32{1}}}, "pair 0: the source is 5 tokens"},
		{make([]Pair, 4), "4 pairs for a batch of 3"},
	} {
		if err := b.Fill(v, c.ps); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.ps, err)
		}
	}
	if _, err := NewBatch(0, Limits{4, 4}); err == nil {
		t.Error("empty batch accepted")
	}
	if _, err := NewBatch(1<<20, Limits{1 << 20, 4}); err == nil {
		t.Error("absurd batch accepted")
	}
}

func TestSamplerAndSplit(t *testing.T) {
	train, _, _ := Task("facts", 1)
	lim := Limits{MaxSrc: 48, MaxTgt: 48}
	ps, err := Encode(byteVocab, train, lim)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSampler(ps, byteVocab, lim, 9)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := NewBatch(8, lim)
	b2, _ := NewBatch(8, lim)
	if err := s.Fill(b1, 5); err != nil {
		t.Fatal(err)
	}
	s2, _ := NewSampler(ps, byteVocab, lim, 9)
	s2.Fill(b2, 4)
	s2.Fill(b2, 5)
	if !reflect.DeepEqual(b1, b2) {
		t.Error("step 5's batch depends on what came before")
	}
	s.Fill(b2, 6)
	if reflect.DeepEqual(b1.Src, b2.Src) {
		t.Error("steps 5 and 6 drew the same batch")
	}
	if n := testing.AllocsPerRun(20, func() { s.Fill(b1, 3) }); n != 0 {
		t.Errorf("Fill allocates %v times", n)
	}
	for r := range b1.Size {
		if b1.Src[r*48+b1.SrcLens[r]-1] != byteVocab.EOS || b1.Labels[r*48+b1.TgtLens[r]-1] != byteVocab.EOS {
			t.Errorf("row %d: no EOS at its length", r)
		}
	}
	if _, err := NewSampler(ps, byteVocab, Limits{MaxSrc: 10, MaxTgt: 48}, 1); err == nil || !strings.Contains(err.Error(), "pair") {
		t.Errorf("long pairs: %v", err)
	}
	if _, err := NewSampler([]Pair{{[]int32{300}, []int32{1}}}, byteVocab, lim, 1); err == nil || !strings.Contains(err.Error(), "token id 300") {
		t.Errorf("bad id: %v", err)
	}
	if _, err := NewSampler(nil, byteVocab, lim, 1); err == nil {
		t.Error("no pairs accepted")
	}

	tr, ho, err := Split(ps, 0.1, 4)
	if err != nil || len(ho) != len(ps)/10 || len(tr)+len(ho) != len(ps) {
		t.Fatalf("split %d + %d of %d: %v", len(tr), len(ho), len(ps), err)
	}
	seen := map[string]int{}
	for _, p := range ps {
		seen[fmt.Sprint(p)]++
	}
	for _, p := range append(slices.Clone(tr), ho...) {
		seen[fmt.Sprint(p)]--
	}
	for k, n := range seen {
		if n != 0 {
			t.Errorf("%s: count off by %d", k, n)
		}
	}
	tr2, ho2, _ := Split(ps, 0.1, 4)
	_, ho3, _ := Split(ps, 0.1, 5)
	if !reflect.DeepEqual(tr, tr2) || !reflect.DeepEqual(ho, ho2) || reflect.DeepEqual(ho, ho3) {
		t.Error("split is not a function of the seed")
	}
	if _, _, err := Split(ps, 1, 1); err == nil {
		t.Error("fraction 1 accepted")
	}
}

func TestWriteTSVRoundTrip(t *testing.T) {
	train, _, _ := Task("facts", 2)
	var b strings.Builder
	if err := WriteTSV(&b, train); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTSV(strings.NewReader(b.String()), byteVocab, Limits{64, 64})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Encode(byteVocab, train, Limits{64, 64})
	if !reflect.DeepEqual(got, want) {
		t.Error("WriteTSV then ReadTSV changes the pairs")
	}
	for _, e := range []Example{{"a\tb", "c"}, {"a", "b\nc"}, {"", "x"}} {
		if err := WriteTSV(&b, []Example{e}); err == nil || !strings.Contains(err.Error(), "example 1") {
			t.Errorf("%q: %v", e, err)
		}
	}
}

func TestFitLimits(t *testing.T) {
	for _, task := range Tasks() {
		tr, ho, _ := Task(task, 1)
		big := Limits{MaxSrc: 1000, MaxTgt: 1000}
		a, _ := Encode(byteVocab, tr, big)
		b, _ := Encode(byteVocab, ho, big)
		l := FitLimits(a, b)
		want := map[string]Limits{"facts": {38, 33}, "reverse": {61, 61}}[task]
		if l != want {
			t.Errorf("%s: %+v, want %+v", task, l, want)
		}
		if err := CheckPairs(append(a, b...), byteVocab, l); err != nil {
			t.Error(err)
		}
		if err := CheckPairs(a, byteVocab, Limits{l.MaxSrc - 1, l.MaxTgt}); err == nil && FitLimits(a).MaxSrc == l.MaxSrc {
			t.Errorf("%s: a limit one shorter still fits", task)
		}
	}
}
