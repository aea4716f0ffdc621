// Command serveload is a bounded load test of `tformer serve`: for each
// number of concurrent clients it sends completions from the loopback for a
// fixed time, then prints requests/s, latency percentiles, tokens/s and how
// many requests the server refused (429 when its queue is full, 503) or
// failed. It stops by itself; in-flight requests at the deadline are
// waited for, not cancelled, so every request sent is accounted for.
//
//	tformer serve --model tformer-model.safetensors --concurrency 2 --quiet &
//	go run ./bench/serveload -url http://127.0.0.1:8080 -clients 1,2,4 -duration 3s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// config is one load run: Clients clients for Duration.
type config struct {
	URL       string        // the server's base URL (no /v1)
	Model     string        // the "model" field
	Prompt    string        // the prompt of every request
	MaxTokens int           // max_tokens of every request
	Clients   int           // concurrent clients, each one request at a time
	Duration  time.Duration // how long clients start new requests
	Backoff   time.Duration // a refused client waits this long before its next request
	Timeout   time.Duration // per request
	Seed      bool          // send seed = request number (reproducible texts)
}

// result is what one run measured.
type result struct {
	Clients   int
	Elapsed   time.Duration
	OK        int             // 200 answers
	Status    map[int]int     // non-200 answers by status code
	Failed    int             // requests with no answer (transport errors, timeouts, bad bodies)
	Tokens    int             // completion tokens of the 200 answers (their usage)
	Latencies []time.Duration // of the 200 answers, sorted
	FirstErr  string          // the first failure, for the report
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted latencies
// by the nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// completion is the part of a /v1/completions answer the test reads.
type completion struct {
	Choices []struct {
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// run drives the load of c and returns what it measured.
func run(ctx context.Context, c config, client *http.Client) result {
	res := result{Clients: c.Clients, Status: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(c.Duration)
	var seq int
	for range c.Clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				mu.Lock()
				seq++
				n := seq
				mu.Unlock()
				body := map[string]any{"model": c.Model, "prompt": c.Prompt, "max_tokens": c.MaxTokens}
				if c.Seed {
					body["seed"] = n
				}
				status, tokens, lat, err := request(ctx, client, c, body)
				mu.Lock()
				switch {
				case err != nil:
					res.Failed++
					if res.FirstErr == "" {
						res.FirstErr = err.Error()
					}
				case status == http.StatusOK:
					res.OK++
					res.Tokens += tokens
					res.Latencies = append(res.Latencies, lat)
				default:
					res.Status[status]++
				}
				mu.Unlock()
				if err == nil && status != http.StatusOK {
					select {
					case <-time.After(c.Backoff):
					case <-ctx.Done():
					}
				}
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res
}

// request sends one completion and returns its status, its completion
// tokens and its latency.
func request(ctx context.Context, client *http.Client, c config, body map[string]any) (int, int, time.Duration, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, 0, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/v1/completions", bytes.NewReader(data))
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	lat := time.Since(t0)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0, lat, nil
	}
	var out completion
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, 0, 0, fmt.Errorf("answer is not JSON: %w", err)
	}
	if len(out.Choices) != 1 || out.Usage.CompletionTokens < 0 || out.Usage.CompletionTokens > c.MaxTokens {
		return 0, 0, 0, fmt.Errorf("answer has %d choices and %d completion tokens (max_tokens %d)", len(out.Choices), out.Usage.CompletionTokens, c.MaxTokens)
	}
	return resp.StatusCode, out.Usage.CompletionTokens, lat, nil
}

// parseClients reads "1,2,4".
func parseClients(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("-clients: %q is not a number of clients in [1, 4096]", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

// report prints one line per run.
func report(w io.Writer, rs []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\tok\treq/s\tp50 ms\tp95 ms\tp99 ms\ttokens/s\t429\t503\tother\tfailed\t")
	for _, r := range rs {
		sec := r.Elapsed.Seconds()
		other := 0
		for code, n := range r.Status {
			if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
				other += n
			}
		}
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%s\t%s\t%s\t%.0f\t%d\t%d\t%d\t%d\t\n", r.Clients, r.OK, float64(r.OK)/sec,
			ms(percentile(r.Latencies, 50)), ms(percentile(r.Latencies, 95)), ms(percentile(r.Latencies, 99)),
			float64(r.Tokens)/sec, r.Status[http.StatusTooManyRequests], r.Status[http.StatusServiceUnavailable], other, r.Failed)
	}
	tw.Flush()
	for _, r := range rs {
		if r.FirstErr != "" {
			fmt.Fprintf(w, "%d clients: first failure: %s\n", r.Clients, r.FirstErr)
		}
	}
}

func main() {
	if err := mainErr(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
}

func mainErr(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serveload", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of a running tformer serve")
	clients := fs.String("clients", "1,2,4", "numbers of concurrent clients, one run each")
	dur := fs.Duration("duration", 3*time.Second, "how long each run sends requests (at most 5m)")
	maxTok := fs.Int("max-tokens", 64, "max_tokens of each request")
	prompt := fs.String("prompt", "The ", "prompt of each request")
	modelName := fs.String("model", "tformer", "the model id to ask for")
	backoff := fs.Duration("backoff", 10*time.Millisecond, "wait after a refused request (429/503) before the next")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cs, err := parseClients(*clients)
	switch {
	case err != nil:
		return err
	case *dur <= 0 || *dur > 5*time.Minute:
		return fmt.Errorf("-duration must be in (0, 5m], got %v", *dur)
	case *maxTok < 1:
		return fmt.Errorf("-max-tokens must be positive, got %d", *maxTok)
	case *timeout <= 0:
		return fmt.Errorf("-timeout must be positive, got %v", *timeout)
	case *backoff < 0:
		return fmt.Errorf("-backoff must not be negative, got %v", *backoff)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096}}
	hresp, err := client.Get(strings.TrimSuffix(*url, "/") + "/health")
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	var health struct {
		Model string `json:"model"`
	}
	herr := json.NewDecoder(hresp.Body).Decode(&health)
	hresp.Body.Close()
	if herr != nil || health.Model == "" {
		return errors.New("-url: the server's /health names no model (start tformer serve with --model)")
	}
	fmt.Fprintf(stdout, "%s, model %q: %d-token completions of %q, %v per run\n", *url, health.Model, *maxTok, *prompt, *dur)
	var rs []result
	for _, n := range cs {
		rs = append(rs, run(context.Background(), config{URL: *url, Model: *modelName, Prompt: *prompt, MaxTokens: *maxTok,
			Clients: n, Duration: *dur, Backoff: *backoff, Timeout: *timeout, Seed: true}, client))
	}
	report(stdout, rs)
	return nil
}
