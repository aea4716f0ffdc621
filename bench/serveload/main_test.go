package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/server"
	"github.com/tformer/tformer/tokenizer"
)

func tinyServer(t *testing.T, concurrency, queue int) *httptest.Server {
	t.Helper()
	m, err := model.New(model.Config{Vocab: 256, DModel: 16, Layers: 1, Heads: 2, DFF: 32, MaxSeq: 64, Tie: true, Share: model.ShareNone, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	s, err := server.New(server.Config{Model: m, Tokenizer: tokenizer.Byte{}, Concurrency: concurrency, QueueSize: queue})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.5, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 95); got != 7 {
		t.Errorf("one sample: %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("no sample: %v", got)
	}
}

// Every request sent is answered and counted: the run stops by itself,
// all answers are 200 with max_tokens tokens each.
func TestRunCountsEveryRequest(t *testing.T) {
	ts := tinyServer(t, 2, 16)
	c := config{URL: ts.URL, Model: "tformer", Prompt: "The ", MaxTokens: 8, Clients: 3, Duration: 300 * time.Millisecond,
		Backoff: time.Millisecond, Timeout: 10 * time.Second, Seed: true}
	r := run(context.Background(), c, ts.Client())
	if r.OK == 0 || r.Failed != 0 || len(r.Status) != 0 || r.FirstErr != "" {
		t.Fatalf("%+v", r)
	}
	if r.Tokens != 8*r.OK || len(r.Latencies) != r.OK {
		t.Errorf("%d tokens and %d latencies for %d answers of 8 tokens", r.Tokens, len(r.Latencies), r.OK)
	}
	if r.Elapsed < c.Duration || r.Elapsed > c.Duration+5*time.Second {
		t.Errorf("elapsed %v for a %v run", r.Elapsed, c.Duration)
	}
	var out bytes.Buffer
	report(&out, []result{r})
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[1], " 3 ") {
		t.Errorf("report:\n%s", out.String())
	}
}

// More clients than workers plus queue: the extra ones are refused with
// 429 at once, counted, and no request is lost.
func TestRunCountsRefusals(t *testing.T) {
	ts := tinyServer(t, 1, 1)
	c := config{URL: ts.URL, Model: "tformer", Prompt: "The ", MaxTokens: 48, Clients: 6, Duration: 400 * time.Millisecond,
		Backoff: time.Millisecond, Timeout: 10 * time.Second}
	r := run(context.Background(), c, ts.Client())
	if r.OK == 0 || r.Status[http.StatusTooManyRequests] == 0 || r.Failed != 0 {
		t.Fatalf("ok %d, statuses %v, failed %d (%s): want answers and 429s, no failures", r.OK, r.Status, r.Failed, r.FirstErr)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-clients", "0"}, {"-clients", "1,x"}, {"-duration", "0s"}, {"-duration", "1h"}, {"-max-tokens", "0"},
		{"-url", "http://127.0.0.1:1"}} {
		if err := mainErr(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// The command against a server with no model says so instead of measuring 503s.
func TestNeedsAModel(t *testing.T) {
	s, err := server.New(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	if err := mainErr([]string{"-url", ts.URL}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("err = %v", err)
	}
}

func TestMainRuns(t *testing.T) {
	ts := tinyServer(t, 1, 4)
	var out bytes.Buffer
	if err := mainErr([]string{"-url", ts.URL, "-clients", "1,2", "-duration", "150ms", "-max-tokens", "4"}, &out); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 4 {
		t.Errorf("want a title, a header and two runs:\n%s", out.String())
	}
}

// Streamed, every answer's tokens come from its usage chunk and its first
// text arrives before its end.
func TestRunStreamed(t *testing.T) {
	ts := tinyServer(t, 2, 16)
	c := config{URL: ts.URL, Model: "tformer", Prompt: "The ", MaxTokens: 8, Clients: 2, Duration: 200 * time.Millisecond,
		Backoff: time.Millisecond, Timeout: 10 * time.Second, Seed: true, Stream: true}
	r := run(context.Background(), c, ts.Client())
	if r.OK == 0 || r.Failed != 0 || r.Tokens != 8*r.OK || len(r.First) != r.OK {
		t.Fatalf("ok %d, failed %d (%s), tokens %d, %d first-text times", r.OK, r.Failed, r.FirstErr, r.Tokens, len(r.First))
	}
	if r.First[0] <= 0 || r.First[len(r.First)-1] > r.Latencies[len(r.Latencies)-1] {
		t.Errorf("first text after %v..%v, answers in %v..%v", r.First[0], r.First[len(r.First)-1], r.Latencies[0], r.Latencies[len(r.Latencies)-1])
	}
	var out bytes.Buffer
	report(&out, []result{r})
	if !strings.Contains(out.String(), "first p50 ms") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestReadStreamBadStreams(t *testing.T) {
	for _, s := range []string{
		"data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: [DONE]\n\n", // no usage chunk
		"data: {\"choices\":[{\"text\":\"a\"}]}\n\n",                 // no [DONE]
		"data: {not json}\n\n",
	} {
		if _, _, err := readStream(strings.NewReader(s), time.Now()); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	n, _, err := readStream(strings.NewReader("data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"completion_tokens\":1}}\n\ndata: [DONE]\n\n"), time.Now())
	if err != nil || n != 1 {
		t.Errorf("good stream: %d %v", n, err)
	}
}
