package server

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tformer/tformer/cost"
	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/modelio"
)

// The README's screenshots of the cost explorer and the playground:
//
//	go test ./server -run TestBrowserScreenshots -args -browser.shots=../docs -browser.model=MODEL
var (
	browserShots = flag.String("browser.shots", "", "TestBrowserScreenshots: directory to write the page's screenshots to (PNG)")
	browserModel = flag.String("browser.model", "", "TestBrowserScreenshots: model for the playground (default: the tests' untrained tiny model)")
)

// chromium finds a headless-capable Chromium: $CHROMIUM, else Debian's
// chromium on PATH. Without one the browser tests skip, except under CI
// (CI=true), where .ci/run installs it and its absence is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH (and CHROMIUM is not set): CI must install Debian's chromium (see .ci/run)")
	}
	t.Skip("no chromium on PATH: install Debian's chromium (apt-get install chromium) or set CHROMIUM to run the browser test")
	return ""
}

// newBrowser starts headless Chromium and returns a tab's context.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	// Any exception the page's script throws fails the test (a refused
	// request in the browser log, source "network", is expected of the
	// error cases).
	var mu sync.Mutex
	var thrown []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				mu.Lock()
				thrown = append(thrown, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { // before the browser is closed
		time.Sleep(50 * time.Millisecond) // messages still on their way
		mu.Lock()
		defer mu.Unlock()
		for _, m := range thrown {
			t.Errorf("the page's console: %s", m)
		}
	})
	return ctx
}

// shown is one number the page displays: its exact value (data-exact) and
// the rounded text a person reads.
type shown struct {
	Exact string `json:"exact"`
	Text  string `json:"text"`
}

// readNumbers collects every number of the cost explorer, keyed by where it
// is: an element's id, or "table/row/column" for a table cell, with the row
// named by its id, its component or its first cell.
const readNumbers = `(() => {
  const out = {};
  for (const e of document.querySelectorAll("#view-cost [data-exact]")) {
    let key = e.id;
    if (!key) {
      const tr = e.closest("tr"), table = e.closest("table");
      const row = tr.id || tr.dataset.component || tr.cells[0].textContent;
      key = table.id + "/" + row + "/" + table.rows[0].cells[e.cellIndex].textContent;
    }
    if (key in out) throw new Error("two numbers at " + key);
    out[key] = { exact: e.dataset.exact, text: e.textContent };
  }
  const cx = document.getElementById("cross-text");
  out["cross/mha_equals_ffn"] = { exact: cx.dataset.mhaEqualsFfn, text: "" };
  out["cross/attention_core_equals_ffn"] = { exact: cx.dataset.coreEqualsFfn, text: "" };
  return out;
})()`

// wantNumbers is what the page must show for spec at n: the numbers of
// cost.NewReport, the report `tformer cost --format json` prints.
func wantNumbers(t *testing.T, spec cost.Spec, n, batch int, train bool) map[string]string {
	t.Helper()
	causal := spec.Arch == cost.Decoder
	rep, err := cost.NewReport(spec, cost.Options{Seqs: []int{n}, Batch: batch, Causal: causal, Train: train})
	if err != nil {
		t.Fatal(err)
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	p := rep.Params
	w := map[string]string{"p-unique": i64(p.Unique), "p-applied": i64(p.Applied), "p-tying": i64(p.SavedByTying), "p-sharing": i64(p.SavedBySharing),
		"params-table/total/unique": i64(p.Unique), "params-table/total/applied": i64(p.Applied)}
	for k, c := range p.Components {
		if c.Unique != 0 || c.Applied != 0 {
			w["params-table/"+k+"/unique"], w["params-table/"+k+"/applied"] = i64(c.Unique), i64(c.Applied)
		}
	}
	e := rep.PerSeq[0]
	for _, c := range rep.Components {
		if e.Flops.Forward[c] != 0 || (train && e.Flops.Backward[c] != 0) {
			w["at-n-table/"+c+"/forward"] = i64(e.Flops.Forward[c])
			if train {
				w["at-n-table/"+c+"/backward"] = i64(e.Flops.Backward[c])
			}
		}
	}
	w["at-n-table/at-n-total/forward"] = i64(e.Flops.Forward["total"])
	if train {
		w["at-n-table/at-n-total/backward"] = i64(e.Flops.Backward["total"])
	}
	l := rep.PerLayer[0]
	for k, v := range map[string]int64{"QKV projections": l.QKV, "QKᵀ (scores)": l.Scores, "AV": l.AV, "output projection": l.Out, "MHA": l.MHA, "FFN": l.FFN} {
		w["layer-table/"+k+"/FLOPs per layer"] = i64(v)
	}
	m := e.Memory
	for k, v := range map[string]int64{"parameters": m.Params, "gradients": m.Grads, "AdamW moments": m.AdamW, "activations": m.Activations,
		"attention log-sum-exp": m.AttentionLSE, "mem-total": m.Total, "an unfused kernel's n² probabilities": m.NaiveAttentionProbs} {
		w["mem-table/"+k+"/bytes"] = i64(v)
	}
	if spec.Arch == cost.Decoder {
		w["inf-table/kv-row/"] = i64(spec.KVCache(n, batch))
		w[fmt.Sprintf("inf-table/KV cache the engine allocates (context %d)/", spec.Config.MaxSeq)] = i64(spec.KVCache(spec.Config.MaxSeq, 1))
		w[fmt.Sprintf("inf-table/forward FLOPs of token n = %d/", n)] = i64(spec.DecodeStep(n - 1).Total())
		w["inf-table/parameters read per token/"] = i64(4 * p.Unique)
	}
	cr := rep.Crossover.MHAEqualsFFN
	cc := rep.Crossover.CoreEqualsFFN
	if train {
		cr, cc = rep.Crossover.Train.MHAEqualsFFN, rep.Crossover.Train.CoreEqualsFFN
	}
	f := func(x *float64) string {
		if x == nil {
			return "null"
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	}
	w["cross/mha_equals_ffn"], w["cross/attention_core_equals_ffn"] = f(cr), f(cc)
	return w
}

var roundedRE = regexp.MustCompile(`^(-?[0-9.]+)(?: ([kMGTP]?)(B|KiB|MiB|GiB|TiB)?)?$`)

// roundedValue reads a number as the page rounds it ("124.4 M", "3 GiB").
func roundedValue(s string) (float64, bool) {
	m := roundedRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	scale := map[string]float64{"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}[m[2]]
	scale *= map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m[3]]
	return v * scale, true
}

// checkNumbers compares the page's numbers with want: the same places, the
// same exact values, and rounded texts within the 4 significant digits the
// page prints.
func checkNumbers(t *testing.T, step string, got map[string]shown, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: the page shows no %s (want %s)", step, k, want[k])
			continue
		}
		if g.Exact != want[k] {
			t.Errorf("%s: %s = %s on the page, the cost package says %s", step, k, g.Exact, want[k])
			continue
		}
		if strings.HasPrefix(k, "cross/") {
			continue
		}
		v, ok := roundedValue(g.Text)
		x, _ := strconv.ParseFloat(g.Exact, 64)
		if !ok || math.Abs(v-x) > 5e-4*math.Abs(x)+0.5 {
			t.Errorf("%s: %s is shown as %q, not the exact %s rounded", step, k, g.Text, g.Exact)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: the page shows %s = %s, which the report does not have", step, k, g.Exact)
		}
	}
	t.Logf("%s: %d numbers on the page, as the cost package has them", step, len(want))
}

// waitCost waits until the page shows the numbers of its form as it is, at n.
func waitCost(n int) chromedp.Action[chromedp.Void] {
	return void(chromedp.Poll[bool](fmt.Sprintf(`document.body.dataset.costState === "ready" && document.body.dataset.costN === "%d"`, n),
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// selectOption picks value in a <select> as a person's choice does: the
// value changes and the element fires "change".
func selectOption(sel, value string) chromedp.Action[chromedp.Void] {
	return void(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		if (e.value !== %q) throw new Error("no option " + %q);
		e.dispatchEvent(new Event("change", { bubbles: true })); return true; })()`, sel, value, value, value)))
}

// typeInto replaces an input's text by typing keys into it.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Focus(chromedp.CSS(sel)),
		void(chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).select(), true`, sel))),
		chromedp.SendKeys(chromedp.CSS(sel), text),
	)
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// TestBrowserCostExplorer loads the page in headless Chromium, changes the
// model as a person would (a preset, the tying checkbox, the sharing mode,
// groups, n, training) and checks after each change that every number the
// page shows is the cost package's, that is `tformer cost --format json`'s,
// for the same settings.
func TestBrowserCostExplorer(t *testing.T) {
	s, ts := newTestServer(t, nil)
	ctx := newBrowser(t, 1400, 1000)
	read := func(step string, spec cost.Spec, n int, train bool) {
		t.Helper()
		err := chromedp.Do(ctx, waitCost(n))
		var got map[string]shown
		if err == nil {
			got, err = chromedp.Run(ctx, chromedp.Evaluate[map[string]shown](readNumbers))
		}
		if err != nil {
			msg, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#cost-error")))
			t.Fatalf("%s: %v (page error: %q)", step, err, msg)
		}
		checkNumbers(t, step, got, wantNumbers(t, spec, n, 1, train))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// With a model loaded the page starts from it, at n = 1024.
	loaded := cost.ForModel(s.cfg.Model.Config)
	loaded.Name = "loaded model"
	read("loaded model", loaded, 1024, false)

	spec, err := cost.Preset("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, selectOption("#f-preset", "gpt2")); err != nil {
		t.Fatal(err)
	}
	read("preset gpt2", spec, 1024, false)

	if err := chromedp.Do(ctx, click("#f-tie")); err != nil {
		t.Fatal(err)
	}
	spec.Config.Tie = false
	read("gpt2 untied", spec, 1024, false)

	if err := chromedp.Do(ctx, selectOption("#f-share", "all")); err != nil {
		t.Fatal(err)
	}
	spec.Config.Share = model.ShareAll
	read("gpt2 untied, all layers shared", spec, 1024, false)

	if err := chromedp.Do(ctx, typeInto("#f-groups", "3"), typeInto("#f-n", "300")); err != nil {
		t.Fatal(err)
	}
	spec.Config.Groups = 3
	read("3 groups, n = 300", spec, 300, false)

	if err := chromedp.Do(ctx, click("#f-tie"), selectOption("#f-share", "ffn"),
		click("#f-train"), typeInto("#f-n", "2048")); err != nil {
		t.Fatal(err)
	}
	spec.Config.Tie, spec.Config.Share = true, model.ShareFFN
	read("tied, FFN shared in 3 groups, training at n = 2048", spec, 2048, true)

	// An encoder preset: no KV cache, bidirectional.
	bert, err := cost.Preset("bert-base")
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, click("#f-train"), selectOption("#f-preset", "bert-base")); err != nil {
		t.Fatal(err)
	}
	read("preset bert-base", bert, 2048, false)
	if encText, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#inf-table"))); err != nil || !strings.Contains(encText, "no KV cache") {
		t.Errorf("an encoder's inference table: %q %v", encText, err)
	}

	// The chart: one path per series, the crossovers drawn.
	if err := chromedp.Do(ctx, selectOption("#f-preset", "gpt2"), typeInto("#f-n", "1024"), waitCost(1024)); err != nil {
		t.Fatal(err)
	}
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("#chart path[data-series]").length,
		document.querySelectorAll("#chart line[data-cross]").length]`))
	if err != nil {
		t.Fatal(err)
	}
	paths, crosses := counts[0], counts[1]
	if paths < 5 || crosses != 2 {
		t.Errorf("chart: %d series, %d crossover lines; want at least 5 and 2", paths, crosses)
	}

	// A pasted config.json.
	const hfConfig = `{"model_type": "gpt2", "vocab_size": 1000, "n_embd": 256, "n_layer": 4, "n_head": 8, "n_positions": 512, "tie_word_embeddings": false}`
	if err := chromedp.Do(ctx, click("#config-box summary"), typeInto("#f-config", hfConfig), click("#use-config")); err != nil {
		t.Fatal(err)
	}
	hf, err := cost.ParseHFConfig([]byte(hfConfig))
	if err != nil {
		t.Fatal(err)
	}
	read("pasted config.json", hf, 1024, false)

	// Bad input is one clear line on the page, not a stale or broken view.
	for _, c := range []struct {
		act  chromedp.Action[chromedp.Void]
		want string
	}{
		{chromedp.Steps(typeInto("#f-config", `{"model_type": "gpt2",`), click("#use-config")), "not valid JSON"},
		{typeInto("#f-heads", "7"), "head"},
	} {
		if err := chromedp.Do(ctx, c.act, void(chromedp.Poll[bool](`document.body.dataset.costState === "error"`, chromedp.WithPollingTimeout(10*time.Second)))); err != nil {
			t.Fatalf("want an error with %q: %v", c.want, err)
		}
		if msg, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#cost-error"))); err != nil || !strings.Contains(msg, c.want) {
			t.Errorf("error line %q (%v), want one that says %q", msg, err, c.want)
		}
	}
	if err := chromedp.Do(ctx, selectOption("#f-preset", "gpt2"), waitCost(1024)); err != nil {
		t.Fatal(err)
	}

	// Nothing runs off the side of the page, wide or narrow.
	for _, w := range []int64{1400, 1024, 760} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 1000),
			void(chromedp.Poll[bool](`document.body.dataset.costState === "ready"`, chromedp.WithPollingTimeout(10*time.Second)))); err != nil {
			t.Fatal(err)
		}
		sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
		if err != nil {
			t.Fatal(err)
		}
		if sizes[0] > sizes[1] {
			t.Errorf("at %d px the page is %d px wide: it overflows", w, sizes[0])
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 1000)); err != nil {
		t.Fatal(err)
	}

	// Hovering the chart shows the values at the nearest n of its grid.
	at, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const b = document.getElementById("chart").getBoundingClientRect();
		return [b.left + 0.45 * b.width, b.top + 0.5 * b.height]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1]),
		void(chromedp.Poll[bool](`!document.getElementById("tip").hidden`, chromedp.WithPollingTimeout(5*time.Second)))); err != nil {
		t.Fatal(err)
	}
	tip, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(() => { const tip = document.getElementById("tip"), out = { n: tip.firstChild.textContent };
		for (const tr of tip.querySelectorAll("tr")) out[tr.cells[0].textContent] = tr.cells[1].textContent; return out; })()`))
	if err != nil {
		t.Fatal(err)
	}
	hn, err := strconv.Atoi(strings.TrimPrefix(tip["n"], "n = "))
	if err != nil {
		t.Fatalf("tooltip %v", tip)
	}
	gpt2, _ := cost.Preset("gpt2")
	hrep, err := cost.NewReport(gpt2, cost.Options{Seqs: []int{hn}, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"MHA": hrep.PerSeq[0].MHA, "FFN": hrep.PerSeq[0].FFN, "qkv": hrep.PerSeq[0].Flops.Forward["qkv"]} {
		if v, ok := roundedValue(tip[name]); !ok || math.Abs(v-float64(want)) > 5e-4*float64(want) {
			t.Errorf("tooltip at n = %d: %s %q, the cost package says %d", hn, name, tip[name], want)
		}
	}
}

// TestBrowserPlayground generates from the page's playground: the output
// arrives in pieces as the server streams it, and is the text package
// generate samples for the same prompt and seed.
func TestBrowserPlayground(t *testing.T) {
	s, ts := newTestServer(t, nil)
	s.stepHook = func() { time.Sleep(8 * time.Millisecond) } // tokens arrive one by one, even on a busy machine
	ctx := newBrowser(t, 1400, 800)
	const prompt, tokens, seed = "the cat ", 60, 11
	want := reference(t, s.cfg.Model, prompt, generate.Options{Tokens: tokens, Seed: seed, Temperature: 0.8, TopK: 40, TopP: 1})
	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/#playground"),
		chromedp.WaitVisible(chromedp.CSS("#g-run")),
		typeInto("#g-prompt", prompt),
		typeInto("#g-max", strconv.Itoa(tokens)),
		typeInto("#g-seed", strconv.Itoa(seed)),
		// Record the output's length at every change, to see it stream.
		void(chromedp.Evaluate[bool](`window.lens = []; new MutationObserver(() => window.lens.push(document.getElementById("g-text").textContent.length))
			.observe(document.getElementById("g-text"), { childList: true, characterData: true, subtree: true }); true`)),
		click("#g-run"),
		void(chromedp.Poll[bool](`document.body.dataset.playState === "done" || document.body.dataset.playState === "error"`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))),
	)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Text    string `json:"text"`
		Stats   string `json:"stats"`
		Tokens  string `json:"tokens"`
		Error   string `json:"error"`
		Lengths []int  `json:"lengths"`
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[result](`({ text: document.getElementById("g-text").textContent,
		stats: document.getElementById("g-stats").textContent, tokens: document.getElementById("g-stats").dataset.tokens,
		error: document.getElementById("g-error").textContent, lengths: window.lens })`))
	if err != nil {
		t.Fatal(err)
	}
	text, stats, gotTokens, pageErr, lengths := res.Text, res.Stats, res.Tokens, res.Error, res.Lengths
	if pageErr != "" {
		t.Fatalf("the playground shows an error: %s", pageErr)
	}
	if text != want {
		t.Errorf("playground output %q, package generate gives %q", text, want)
	}
	if gotTokens != strconv.Itoa(tokens) || !strings.Contains(stats, "tokens/s") || !strings.Contains(stats, "finish: length") {
		t.Errorf("stats %q (data-tokens %q), want %d tokens, a rate and finish: length", stats, gotTokens, tokens)
	}
	// Streamed: the text grew in many steps, not at once.
	steps := 0
	for i, l := range lengths {
		if l > 0 && l < len(want) && (i == 0 || l > lengths[i-1]) {
			steps++
		}
	}
	t.Logf("the output grew in %d partial steps to %d bytes: %q", steps, len(text), text)
	if steps < tokens/4 {
		t.Errorf("the output grew in %d partial steps (%v); a streamed answer of %d tokens shows many", steps, lengths, tokens)
	}
}

// TestBrowserScreenshots renders the cost explorer (GPT-2 small at n = 1024)
// and the playground after a generation, when -browser.shots names a
// directory.
func TestBrowserScreenshots(t *testing.T) {
	if *browserShots == "" {
		t.Skip("give -browser.shots=DIR (and -browser.model=MODEL) to write the README's screenshots")
	}
	var mod func(*Config)
	prompt := "the cat "
	if *browserModel != "" {
		l, err := modelio.Load(*browserModel)
		if err != nil {
			t.Fatal(err)
		}
		mod = func(c *Config) {
			c.Model, c.Tokenizer, c.ModelName, c.Chat = l.Model, l.Tokenizer, "tformer", nil
		}
		prompt = "The lion "
	}
	_, ts := newTestServer(t, mod)
	ctx := newBrowser(t, 1400, 900)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), waitCost(1024), selectOption("#f-preset", "gpt2"), waitCost(1024)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, filepath.Join(*browserShots, "serve-cost-explorer.png"))
	if err := chromedp.Do(ctx, click("#tab-play"), typeInto("#g-prompt", prompt), typeInto("#g-max", "300"), typeInto("#g-seed", "1"),
		click("#g-run"), void(chromedp.Poll[bool](`document.body.dataset.playState === "done"`, chromedp.WithPollingTimeout(30*time.Second))),
		chromedp.EmulateViewport(1400, 620)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, filepath.Join(*browserShots, "serve-playground.png"))
}

// TestBrowserPlaygroundChatAndStop: the playground's chat endpoint answers
// with the text of the chat template's prompt, and its Stop button ends a
// generation in the server too (the worker is free again at once).
func TestBrowserPlaygroundChatAndStop(t *testing.T) {
	s, ts := newTestServer(t, nil)
	ctx := newBrowser(t, 1200, 800)
	const user, tokens = "hello there", 30
	prompt, err := s.cfg.Chat.Render([]chatMessage{{Role: "user", Content: []byte(strconv.Quote(user))}})
	if err != nil {
		t.Fatal(err)
	}
	want := reference(t, s.cfg.Model, prompt, generate.Options{Tokens: tokens, Seed: 4, Temperature: 0.8, TopK: 40, TopP: 1})
	type state struct {
		Text  string `json:"text"`
		Stats string `json:"stats"`
		Error string `json:"error"`
	}
	read := `({ text: document.getElementById("g-text").textContent, stats: document.getElementById("g-stats").textContent,
		error: document.getElementById("g-error").textContent })`
	done := void(chromedp.Poll[bool](`document.body.dataset.playState === "done" || document.body.dataset.playState === "error"`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/#playground"), chromedp.WaitVisible(chromedp.CSS("#g-mode")),
		selectOption("#g-mode", "chat"), typeInto("#g-prompt", user), typeInto("#g-max", strconv.Itoa(tokens)), typeInto("#g-seed", "4"),
		click("#g-run"), done); err != nil {
		t.Fatal(err)
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[state](read))
	if err != nil {
		t.Fatal(err)
	}
	if st.Error != "" || st.Text != want || !strings.Contains(st.Stats, "finish: length") {
		t.Errorf("chat: %+v, want text %q", st, want)
	}

	// A long, slow generation, stopped from the page.
	var steps atomic.Int64
	s.stepHook = func() { steps.Add(1); time.Sleep(5 * time.Millisecond) }
	if err := chromedp.Do(ctx, selectOption("#g-mode", "completion"), typeInto("#g-max", "1500"), click("#g-run"),
		void(chromedp.Poll[bool](`document.getElementById("g-text").textContent.length > 5`, chromedp.WithPollingTimeout(10*time.Second))),
		click("#g-stopbtn"), done); err != nil {
		t.Fatal(err)
	}
	if st, err = chromedp.Run(ctx, chromedp.Evaluate[state](read)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Stats, "stopped by you") || st.Error != "" {
		t.Errorf("after Stop: %+v", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Active != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	n := steps.Load()
	time.Sleep(100 * time.Millisecond)
	if a := s.Stats().Active; a != 0 || steps.Load() != n || n >= 1500 {
		t.Errorf("after Stop the server still generates: %d active, %d then %d of 1500 tokens", a, n, steps.Load())
	}
}

// screenshot writes the whole page as a PNG, with no element focused.
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement && document.activeElement.blur(), true`))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
