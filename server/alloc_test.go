//go:build !race

// The race detector makes sync.Pool drop values at random, so allocation
// counts mean nothing under it.

package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// A completion's allocations do not grow with max_tokens (with a PerToken
// tokenizer, whose ids decode alone), and a request
// allocates far less than a KV cache: each worker keeps its decoder, its
// sampling buffers and its text buffer from one request to the next, and
// token ids are decoded from a table made once.
func TestRequestAllocsDoNotGrowWithTokens(t *testing.T) {
	m, err := model.New(model.Config{Vocab: 256, DModel: 64, Layers: 2, Heads: 2, DFF: 128, MaxSeq: 1024, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	s, err := New(Config{Model: m, Tokenizer: tokenizer.Byte{}, Concurrency: 2, MaxTokens: 2000})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(maxTokens int) func() {
		body := fmt.Sprintf(`{"prompt":"hello","max_tokens":%d,"temperature":0.9,"top_k":10,"seed":3}`, maxTokens)
		return func() {
			req := httptest.NewRequest(http.MethodPost, "/v1/completions", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			rec.Body = bytes.NewBuffer(make([]byte, 0, 8<<10)) // its growth is not the server's
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), fmt.Sprintf(`"completion_tokens":%d`, maxTokens)) {
				t.Fatalf("%d %s", rec.Code, rec.Body.String())
			}
		}
	}
	// The first requests make the workers and grow their buffers.
	for range 3 {
		serve(300)()
	}
	short, long := testing.AllocsPerRun(5, serve(4)), testing.AllocsPerRun(5, serve(300))
	if long > short+2 {
		t.Errorf("%v allocations per request of 4 tokens, %v of 300: they grow with max_tokens", short, long)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const reqs = 5
	for range reqs {
		serve(300)()
	}
	runtime.ReadMemStats(&after)
	perReq := float64(after.TotalAlloc-before.TotalAlloc) / reqs
	kv := float64(2 * m.Config.Layers * m.Config.MaxSeq * m.Config.KVDim() * 4)
	t.Logf("%v allocations per request of 4 tokens, %v of 300; %.0f bytes per request, the KV cache is %.0f", short, long, perReq, kv)
	if perReq > kv/4 {
		t.Errorf("a request allocates %.0f bytes, the KV cache %.0f: the cache is made per request", perReq, kv)
	}
}
