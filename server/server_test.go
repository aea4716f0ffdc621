package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/model"
)

// letters is a test tokenizer whose every token is a lower-case letter, so
// that any generated text is printable ASCII.
type letters struct{}

func (letters) Name() string   { return "letters" }
func (letters) VocabSize() int { return 26 }
func (letters) Encode(b []byte) []int32 {
	out := make([]int32, len(b))
	for i, c := range b {
		out[i] = int32(c) % 26
	}
	return out
}
func (letters) Decode(ids []int32) []byte {
	out := make([]byte, len(ids))
	for i, id := range ids {
		out[i] = byte('a' + id)
	}
	return out
}

func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{Vocab: 26, DModel: 32, Layers: 2, Heads: 2, DFF: 64, MaxSeq: 64, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	return m
}

func newTestServer(t testing.TB, mod func(*Config)) (*Server, *httptest.Server) {
	t.Helper()
	chat, err := LoadChatTemplate("testdata")
	if err != nil || chat == nil {
		t.Fatalf("chat template: %v %v", chat, err)
	}
	cfg := Config{Model: tinyModel(t), Tokenizer: letters{}, ModelName: "tiny", Chat: chat, MaxTokens: 2000}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func post(t testing.TB, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	resp, err := http.Post(url, "application/json", rd)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: status %d, body is not JSON: %q", url, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// choice returns choices[0] of a response.
func choice(t testing.TB, r map[string]any) map[string]any {
	t.Helper()
	cs, ok := r["choices"].([]any)
	if !ok || len(cs) != 1 {
		t.Fatalf("choices: %v", r)
	}
	return cs[0].(map[string]any)
}

func usageOf(r map[string]any) (p, c, tot int) {
	u, _ := r["usage"].(map[string]any)
	f := func(k string) int { v, _ := u[k].(float64); return int(v) }
	return f("prompt_tokens"), f("completion_tokens"), f("total_tokens")
}

// reference generates directly with package generate.
func reference(t testing.TB, m *model.Model, prompt string, o generate.Options) string {
	t.Helper()
	var out []byte
	err := generate.Generate(m, letters{}.Encode([]byte(prompt)), o, func(tok int32) error {
		out = append(out, letters{}.Decode([]int32{tok})...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestCompletion(t *testing.T) {
	s, ts := newTestServer(t, nil)
	st, r := post(t, ts.URL+"/v1/completions", map[string]any{"model": "tiny", "prompt": "hello", "max_tokens": 12, "temperature": 0})
	if st != 200 {
		t.Fatalf("status %d: %v", st, r)
	}
	c := choice(t, r)
	want := reference(t, s.cfg.Model, "hello", generate.Options{Tokens: 12})
	if c["text"] != want || c["finish_reason"] != "length" || r["object"] != "text_completion" || r["model"] != "tiny" {
		t.Errorf("got %v, want text %q finish length", r, want)
	}
	if p, n, tot := usageOf(r); p != 5 || n != 12 || tot != 17 {
		t.Errorf("usage %d %d %d, want 5 12 17", p, n, tot)
	}
	if !strings.HasPrefix(r["id"].(string), "cmpl-") {
		t.Errorf("id %v", r["id"])
	}
	// The prompt as token ids and as an array of one string.
	for _, p := range []any{letters{}.Encode([]byte("hello")), []string{"hello"}} {
		_, r2 := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": p, "max_tokens": 12, "temperature": 0})
		if got := choice(t, r2)["text"]; got != want {
			t.Errorf("prompt %v: %q, want %q", p, got, want)
		}
	}
}

func TestMaxTokensAndSeed(t *testing.T) {
	s, ts := newTestServer(t, nil)
	for _, n := range []int{0, 1, 7} {
		_, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "ab", "max_tokens": n, "seed": 3})
		if _, got, _ := usageOf(r); got != n || len(choice(t, r)["text"].(string)) != n {
			t.Errorf("max_tokens %d: %v", n, r)
		}
	}
	_, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "ab"})
	if _, got, _ := usageOf(r); got != 16 {
		t.Errorf("default max_tokens: %d tokens, want 16 (OpenAI's default)", got)
	}
	gen := func(seed int) string {
		_, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "the ", "max_tokens": 40, "seed": seed, "temperature": 1, "top_k": 20, "top_p": 0.95})
		return choice(t, r)["text"].(string)
	}
	a, b, c := gen(5), gen(5), gen(6)
	if a != b {
		t.Errorf("seed 5 twice: %q and %q", a, b)
	}
	if a == c {
		t.Errorf("seeds 5 and 6 gave the same %q", a)
	}
	if want := reference(t, s.cfg.Model, "the ", generate.Options{Tokens: 40, Seed: 5, Temperature: 1, TopK: 20, TopP: 0.95}); a != want {
		t.Errorf("seed 5: %q, package generate gives %q", a, want)
	}
}

// sseEvents reads a server-sent event stream into its data payloads.
func sseEvents(t testing.TB, body io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		out = append(out, d)
	}
	return out
}

func stream(t testing.TB, url string, body any) []map[string]any {
	t.Helper()
	data, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	ev := sseEvents(t, resp.Body)
	if len(ev) == 0 || ev[len(ev)-1] != "[DONE]" {
		t.Fatalf("stream does not end in [DONE]: %q", ev)
	}
	var chunks []map[string]any
	for _, e := range ev[:len(ev)-1] {
		var c map[string]any
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("chunk %q: %v", e, err)
		}
		chunks = append(chunks, c)
	}
	return chunks
}

func TestCompletionStream(t *testing.T) {
	s, ts := newTestServer(t, nil)
	chunks := stream(t, ts.URL+"/v1/completions", map[string]any{"prompt": "hello", "max_tokens": 20, "temperature": 0,
		"stream": true, "stream_options": map[string]any{"include_usage": true}})
	want := reference(t, s.cfg.Model, "hello", generate.Options{Tokens: 20})
	var text strings.Builder
	for i, c := range chunks {
		if c["object"] != "text_completion" || c["id"] != chunks[0]["id"] {
			t.Fatalf("chunk %d: %v", i, c)
		}
		if i == len(chunks)-1 { // the usage chunk
			if cs := c["choices"].([]any); len(cs) != 0 {
				t.Errorf("usage chunk has choices %v", cs)
			}
			if p, n, _ := usageOf(c); p != 5 || n != 20 {
				t.Errorf("usage %v", c["usage"])
			}
			continue
		}
		ch := choice(t, c)
		text.WriteString(ch["text"].(string))
		last := i == len(chunks)-2
		if fr := ch["finish_reason"]; (last && fr != "length") || (!last && fr != nil) {
			t.Errorf("chunk %d finish_reason %v", i, fr)
		}
	}
	if text.String() != want || len(chunks) != 22 {
		t.Errorf("streamed %q in %d chunks, want %q in 20 + final + usage", text.String(), len(chunks), want)
	}
}

func TestChat(t *testing.T) {
	s, ts := newTestServer(t, nil)
	msgs := []map[string]any{{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
		{"role": "assistant", "content": "yo"}, {"role": "user", "content": []map[string]string{{"type": "text", "text": "again"}}}}
	// What the fixture's template renders, written out by hand.
	prompt := "^[sys]be brief\n[user]hi\n[bot]yo$\n[user]again\n[bot]"
	want := reference(t, s.cfg.Model, prompt, generate.Options{Tokens: 15})
	st, r := post(t, ts.URL+"/v1/chat/completions", map[string]any{"model": "tiny", "messages": msgs, "max_tokens": 15, "temperature": 0})
	if st != 200 {
		t.Fatalf("status %d %v", st, r)
	}
	c := choice(t, r)
	msg := c["message"].(map[string]any)
	if msg["role"] != "assistant" || msg["content"] != want || c["finish_reason"] != "length" || r["object"] != "chat.completion" {
		t.Errorf("got %v, want content %q", r, want)
	}
	if p, n, _ := usageOf(r); p != len(prompt) || n != 15 {
		t.Errorf("usage %d %d, want %d 15", p, n, len(prompt))
	}
	chunks := stream(t, ts.URL+"/v1/chat/completions", map[string]any{"messages": msgs, "max_tokens": 15, "temperature": 0, "stream": true})
	var text strings.Builder
	for i, ch := range chunks {
		if ch["object"] != "chat.completion.chunk" {
			t.Fatalf("chunk %d: %v", i, ch)
		}
		d := choice(t, ch)["delta"].(map[string]any)
		if i == 0 && d["role"] != "assistant" {
			t.Errorf("first delta %v has no role", d)
		}
		if s, ok := d["content"].(string); ok {
			text.WriteString(s)
		}
	}
	if fr := choice(t, chunks[len(chunks)-1])["finish_reason"]; fr != "length" || text.String() != want {
		t.Errorf("streamed %q finish %v, want %q length", text.String(), fr, want)
	}
	// The template's own checks and bad roles are 400s.
	if st, r := post(t, ts.URL+"/v1/chat/completions", map[string]any{"messages": []map[string]any{{"role": "tool", "content": "x"}}}); st != 400 {
		t.Errorf("role tool: %d %v", st, r)
	}
	if st, _ := post(t, ts.URL+"/v1/chat/completions", map[string]any{"messages": []any{}}); st != 400 {
		t.Errorf("no messages: %d", st)
	}
}

func TestChatTemplateRaises(t *testing.T) {
	ct, err := NewChatTemplate(`{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}{{ messages[0].content }}`, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, ts := newTestServer(t, func(c *Config) { c.Chat = ct })
	st, r := post(t, ts.URL+"/v1/chat/completions", map[string]any{"messages": []map[string]any{{"role": "assistant", "content": "x"}}})
	if st != 400 || !strings.Contains(fmt.Sprint(r), "first must be user") {
		t.Errorf("%d %v", st, r)
	}
	if _, err := NewChatTemplate("{% for %}", "", ""); err == nil {
		t.Error("a broken template compiled")
	}
}

func TestStopStrings(t *testing.T) {
	s, ts := newTestServer(t, nil)
	full := reference(t, s.cfg.Model, "stop here", generate.Options{Tokens: 60})
	for _, stop := range []string{full[20:23], full[5:6], full[40:44]} {
		want := full[:strings.Index(full, stop)]
		_, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "stop here", "max_tokens": 60, "temperature": 0, "stop": []string{"zzzzzzzzzz", stop}})
		c := choice(t, r)
		if c["text"] != want || c["finish_reason"] != "stop" {
			t.Errorf("stop %q: got %q (%v), want %q", stop, c["text"], c["finish_reason"], want)
		}
		chunks := stream(t, ts.URL+"/v1/completions", map[string]any{"prompt": "stop here", "max_tokens": 60, "temperature": 0, "stop": stop, "stream": true})
		var text strings.Builder
		for _, ch := range chunks {
			text.WriteString(choice(t, ch)["text"].(string))
		}
		if text.String() != want || choice(t, chunks[len(chunks)-1])["finish_reason"] != "stop" {
			t.Errorf("streamed stop %q: %q, want %q", stop, text.String(), want)
		}
	}
	// A stop token ends the text without appearing in it.
	_, ts2 := newTestServer(t, func(c *Config) { c.StopTokens = []int32{int32(full[10] - 'a')} })
	_, r := post(t, ts2.URL+"/v1/completions", map[string]any{"prompt": "stop here", "max_tokens": 60, "temperature": 0})
	c := choice(t, r)
	if want := full[:strings.IndexByte(full, full[10])]; c["text"] != want || c["finish_reason"] != "stop" {
		t.Errorf("stop token: %q %v, want %q", c["text"], c["finish_reason"], want)
	}
}

func TestStopTextHoldsBack(t *testing.T) {
	st := &stopText{stops: [][]byte{[]byte("END")}}
	var sent bytes.Buffer
	for _, p := range []string{"ab", "E", "N", "x", "é"[:1], "é"[1:], "EN", "D", "tail"} {
		if st.add([]byte(p)) {
			break
		}
		sent.Write(st.ready())
	}
	sent.Write(st.rest())
	if sent.String() != "abENxé" {
		t.Errorf("sent %q, want %q", sent.String(), "abENxé")
	}
	// An incomplete UTF-8 sequence is held back until it completes.
	st = &stopText{}
	st.add([]byte("a\xe2\x82"))
	if got := string(st.ready()); got != "a" {
		t.Errorf("ready %q, want a", got)
	}
	st.add([]byte("\xac"))
	if got := string(st.ready()); got != "€" {
		t.Errorf("ready %q, want €", got)
	}
}

func TestBadRequests(t *testing.T) {
	_, ts := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 4096; c.MaxPromptTokens = 32 })
	u := ts.URL + "/v1/completions"
	cases := []struct {
		name   string
		body   any
		status int
		param  string
	}{
		{"malformed", `{"prompt": "a",`, 400, ""},
		{"not an object", `[1,2]`, 400, ""},
		{"empty", ``, 400, ""},
		{"trailing", `{"prompt":"a"} x`, 400, ""},
		{"type", `{"prompt":"a","max_tokens":"ten"}`, 400, "max_tokens"},
		{"too large", `{"prompt":"` + strings.Repeat("a", 5000) + `"}`, 413, ""},
		{"unknown model", map[string]any{"model": "gpt-4", "prompt": "a"}, 404, ""},
		{"no prompt", map[string]any{"max_tokens": 3}, 400, "prompt"},
		{"empty prompt", map[string]any{"prompt": ""}, 400, "prompt"},
		{"long prompt", map[string]any{"prompt": strings.Repeat("a", 33)}, 400, "prompt"},
		{"bad token id", map[string]any{"prompt": []int{1, 26}}, 400, "prompt"},
		{"batch prompt", map[string]any{"prompt": []string{"a", "b"}}, 400, "prompt"},
		{"max_tokens", map[string]any{"prompt": "a", "max_tokens": 2001}, 400, "max_tokens"},
		{"negative max_tokens", map[string]any{"prompt": "a", "max_tokens": -1}, 400, "max_tokens"},
		{"temperature", map[string]any{"prompt": "a", "temperature": 2.5}, 400, "temperature"},
		{"top_p", map[string]any{"prompt": "a", "top_p": 0}, 400, "top_p"},
		{"top_k", map[string]any{"prompt": "a", "top_k": -2}, 400, "top_k"},
		{"n", map[string]any{"prompt": "a", "n": 2}, 400, "n"},
		{"stop count", map[string]any{"prompt": "a", "stop": []string{"a", "b", "c", "d", "e"}}, 400, "stop"},
		{"stop type", map[string]any{"prompt": "a", "stop": 5}, 400, "stop"},
	}
	for _, c := range cases {
		st, r := post(t, u, c.body)
		e, ok := r["error"].(map[string]any)
		if st != c.status || !ok || e["message"] == "" || e["type"] == nil {
			t.Errorf("%s: status %d body %v, want %d and an OpenAI error", c.name, st, r, c.status)
			continue
		}
		if c.param != "" && e["param"] != c.param {
			t.Errorf("%s: param %v, want %s", c.name, e["param"], c.param)
		}
	}
	resp, err := http.Post(u, "text/plain", strings.NewReader(`{"prompt":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	resp, err = http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 4 {
		t.Errorf("GET /v1/completions: %d", resp.StatusCode)
	}
}

func TestModelsHealthAuth(t *testing.T) {
	_, ts := newTestServer(t, func(c *Config) { c.APIKey = "sekret" })
	get := func(path, key string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if st, _ := get("/v1/models", ""); st != 401 {
		t.Errorf("no key: %d", st)
	}
	if st, _ := get("/v1/models", "wrong"); st != 401 {
		t.Errorf("wrong key: %d", st)
	}
	st, r := get("/v1/models", "sekret")
	data, _ := r["data"].([]any)
	if st != 200 || len(data) != 1 || data[0].(map[string]any)["id"] != "tiny" {
		t.Errorf("models: %d %v", st, r)
	}
	if st, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "a"}); st != 401 {
		t.Errorf("completion without key: %d %v", st, r)
	}
	if st, r := get("/health", ""); st != 200 || r["status"] != "ok" {
		t.Errorf("health: %d %v", st, r)
	}
}

func TestNoModel(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	if st, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "a"}); st != 503 {
		t.Errorf("completion without a model: %d %v", st, r)
	}
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("<title>")) {
		t.Errorf("page: %d %q", resp.StatusCode, page[:min(len(page), 100)])
	}
}

// gate blocks every generation step until it is opened.
type gate struct {
	steps atomic.Int64
	open  chan struct{}
	once  sync.Once
}

func newGate() *gate     { return &gate{open: make(chan struct{})} }
func (g *gate) step()    { g.steps.Add(1); <-g.open }
func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestQueueFull(t *testing.T) {
	s, ts := newTestServer(t, func(c *Config) { c.Concurrency = 1; c.QueueSize = 1 })
	g := newGate()
	s.stepHook = g.step
	defer g.release()
	type result struct {
		st int
		r  map[string]any
	}
	res := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			st, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "a", "max_tokens": 3})
			res <- result{st, r}
		}()
		if i == 0 {
			waitFor(t, "the first generation to start", func() bool { return g.steps.Load() > 0 })
		}
	}
	waitFor(t, "one running and one queued", func() bool { st := s.Stats(); return st.Active == 1 && st.Queued == 1 })
	start := time.Now()
	st, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "a", "max_tokens": 3})
	if st != 429 || r["error"].(map[string]any)["code"] != "queue_full" || time.Since(start) > time.Second {
		t.Errorf("third request: %d %v after %v, want an immediate 429", st, r, time.Since(start))
	}
	g.release()
	for i := 0; i < 2; i++ {
		r := <-res
		if r.st != 200 {
			t.Errorf("queued request: %d %v", r.st, r.r)
		}
	}
	if st := s.Stats(); st.Active != 0 || st.Queued != 0 {
		t.Errorf("after: %+v", st)
	}
}

func TestConcurrentRequests(t *testing.T) {
	s, ts := newTestServer(t, func(c *Config) { c.Concurrency = 2; c.QueueSize = 8 })
	want := reference(t, s.cfg.Model, "abc", generate.Options{Tokens: 10})
	var wg sync.WaitGroup
	errs := make(chan string, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "abc", "max_tokens": 10, "temperature": 0})
			if st != 200 || choice(t, r)["text"] != want {
				errs <- fmt.Sprintf("%d %v", st, r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent request: %s (want %q)", e, want)
	}
}

func TestDisconnectFreesWorker(t *testing.T) {
	s, ts := newTestServer(t, func(c *Config) { c.Concurrency = 1 })
	var steps atomic.Int64
	s.stepHook = func() { steps.Add(1); time.Sleep(time.Millisecond) }
	for _, streamed := range []bool{true, false} {
		steps.Store(0)
		ctx, cancel := context.WithCancel(context.Background())
		data, _ := json.Marshal(map[string]any{"prompt": "a", "max_tokens": 2000, "stream": streamed})
		req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", bytes.NewReader(data))
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				br := bufio.NewReader(resp.Body)
				_, _ = br.ReadString('\n')
				<-ctx.Done()
				resp.Body.Close()
			}
		}()
		waitFor(t, "generation to start", func() bool { return steps.Load() > 5 })
		cancel()
		<-done
		waitFor(t, "the worker to be free", func() bool { return s.Stats().Active == 0 })
		if n := steps.Load(); n >= 2000 {
			t.Errorf("stream %v: the generation ran to the end (%d tokens) after the client left", streamed, n)
		}
	}
	s.stepHook = nil
	if st, r := post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "a", "max_tokens": 2}); st != 200 {
		t.Errorf("after the disconnect: %d %v", st, r)
	}
}

func TestServeShutdown(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.Concurrency = 2 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var steps atomic.Int64
	s.stepHook = func() { steps.Add(1); time.Sleep(2 * time.Millisecond) }
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 200*time.Millisecond) }()
	url := "http://" + ln.Addr().String() + "/v1/completions"
	short := make(chan int, 1)
	go func() { st, _ := post(t, url, map[string]any{"prompt": "a", "max_tokens": 20}); short <- st }()
	long := make(chan error, 1)
	go func() {
		data, _ := json.Marshal(map[string]any{"prompt": "a", "max_tokens": 2000})
		resp, err := http.Post(url, "application/json", bytes.NewReader(data))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		long <- err
	}()
	waitFor(t, "both generations to start", func() bool { return s.Stats().Active == 2 })
	start := time.Now()
	cancel()
	if st := <-short; st != 200 {
		t.Errorf("the short request finished with %d during the grace period", st)
	}
	<-served
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v with a 200 ms grace", d)
	}
	if err := <-long; err == nil {
		t.Error("the long request was answered in full despite the shutdown")
	}
	waitFor(t, "the cancelled generation to stop", func() bool { return s.Stats().Active == 0 })
	if n := steps.Load(); n >= 2000 {
		t.Errorf("%d steps: the long generation was not cancelled", n)
	}
}

func TestLogLine(t *testing.T) {
	var buf syncBuffer
	_, ts := newTestServer(t, func(c *Config) { c.Log = &buf })
	post(t, ts.URL+"/v1/completions", map[string]any{"prompt": "abc", "max_tokens": 4})
	post(t, ts.URL+"/v1/completions", `{`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "POST /v1/completions 200 prompt_tokens=3 completion_tokens=4 ") ||
		!strings.Contains(lines[1], "POST /v1/completions 400 ") {
		t.Errorf("log:\n%s", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }
