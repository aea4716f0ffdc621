// Command serveload is a bounded load test of `tformer serve`: for each
// number of concurrent clients it sends completions from the loopback for a
// fixed time, then prints requests/s, latency percentiles, tokens/s and how
// many requests the server refused (429 when its queue is full, 503) or
// failed. It stops by itself; in-flight requests at the deadline are
// waited for, not cancelled, so every request sent is accounted for. With
// -stream it asks for server-sent events and also reports the time to the
// first text.
//
//	tformer serve --model tformer-model.safetensors --concurrency 2 --quiet &
//	go run ./bench/serveload -url http://127.0.0.1:8080 -clients 1,2,4 -duration 3s
package main

import (
	"bufio"
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
	Stream    bool          // ask for server-sent events and time the first token
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
	First     []time.Duration // streamed: time to the first text of the 200 answers, sorted
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
				if c.Stream {
					body["stream"] = true
					body["stream_options"] = map[string]any{"include_usage": true}
				}
				status, tokens, lat, first, err := request(ctx, client, c, body)
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
					if c.Stream {
						res.First = append(res.First, first)
					}
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
	slices.Sort(res.First)
	return res
}

// request sends one completion and returns its status, its completion
// tokens, its latency and, streamed, the time to its first text.
func request(ctx context.Context, client *http.Client, c config, body map[string]any) (status, tokens int, lat, first time.Duration, err error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/v1/completions", bytes.NewReader(data))
	if err != nil {
		return 0, 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, err := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, 0, time.Since(t0), 0, err
	}
	if c.Stream {
		tokens, first, err = readStream(resp.Body, t0)
		lat = time.Since(t0)
	} else {
		var raw []byte
		raw, err = io.ReadAll(resp.Body)
		lat = time.Since(t0)
		if err == nil {
			tokens, err = readCompletion(raw)
		}
	}
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if tokens < 0 || tokens > c.MaxTokens {
		return 0, 0, 0, 0, fmt.Errorf("answer has %d completion tokens (max_tokens %d)", tokens, c.MaxTokens)
	}
	return resp.StatusCode, tokens, lat, first, nil
}

// readCompletion returns the completion tokens of a whole answer.
func readCompletion(raw []byte) (int, error) {
	var out completion
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, fmt.Errorf("answer is not JSON: %w", err)
	}
	if len(out.Choices) != 1 {
		return 0, fmt.Errorf("answer has %d choices", len(out.Choices))
	}
	return out.Usage.CompletionTokens, nil
}

// readStream reads server-sent events to data: [DONE] and returns the
// completion tokens of the usage chunk and the time to the first text.
func readStream(r io.Reader, t0 time.Time) (int, time.Duration, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var first time.Duration
	tokens := -1
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			if tokens < 0 {
				return 0, 0, errors.New("stream ended without a usage chunk")
			}
			return tokens, first, nil
		}
		var c completion
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return 0, 0, fmt.Errorf("chunk is not JSON: %w", err)
		}
		if first == 0 && len(c.Choices) == 1 && c.Choices[0].Text != "" {
			first = time.Since(t0)
		}
		if len(c.Choices) == 0 {
			tokens = c.Usage.CompletionTokens
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read stream: %w", err)
	}
	return 0, 0, errors.New("stream ended before data: [DONE]")
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
	streamed := len(rs) > 0 && len(rs[0].First) > 0
	head := "clients\tok\treq/s\tp50 ms\tp95 ms\tp99 ms\ttokens/s\t429\t503\tother\tfailed\t"
	if streamed {
		head += "first p50 ms\tfirst p95 ms\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rs {
		sec := r.Elapsed.Seconds()
		other := 0
		for code, n := range r.Status {
			if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
				other += n
			}
		}
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%s\t%s\t%s\t%.0f\t%d\t%d\t%d\t%d\t", r.Clients, r.OK, float64(r.OK)/sec,
			ms(percentile(r.Latencies, 50)), ms(percentile(r.Latencies, 95)), ms(percentile(r.Latencies, 99)),
			float64(r.Tokens)/sec, r.Status[http.StatusTooManyRequests], r.Status[http.StatusServiceUnavailable], other, r.Failed)
		if streamed {
			fmt.Fprintf(tw, "%s\t%s\t", ms(percentile(r.First, 50)), ms(percentile(r.First, 95)))
		}
		fmt.Fprintln(tw)
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
	stream := fs.Bool("stream", false, "stream the answers (server-sent events) and report the time to the first text")
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
			Clients: n, Duration: *dur, Backoff: *backoff, Timeout: *timeout, Seed: true, Stream: *stream}, client))
	}
	report(stdout, rs)
	return nil
}
