package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/server"
	"github.com/tformer/tformer/tokenizer"
)

// ServeOptions are the flags of `tformer serve`.
type ServeOptions struct {
	Model        string // model path ("" : cost explorer only)
	Name         string // model id in the API
	Addr         string
	APIKey       string
	ChatTemplate string // Jinja file or tokenizer_config.json ("": look beside the model)
	Concurrency  int
	Queue        int
	MaxTokens    int
	MaxBody      int64
	Shutdown     time.Duration
	Quiet        bool   // no per-request log
	DType        string // --dtype: f32, bf16 or int8

	ready func(addr string) // tests: called with the bound address
}

func newServeCmd() *cobra.Command {
	o := &ServeOptions{Name: "tformer", Addr: "127.0.0.1:8080", Concurrency: 1, Queue: 16, MaxTokens: 1024, MaxBody: 1 << 20, Shutdown: 10 * time.Second}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model behind an OpenAI-compatible API, and the cost explorer web page",
		Long: `Serve the web page (a cost explorer over the same cost model as tformer cost, and a
playground when a model is loaded) and, with --model, an OpenAI-compatible API:
POST /v1/completions, POST /v1/chat/completions (when a chat template is found),
GET /v1/models and GET /health.

The server listens on the loopback interface unless --addr says otherwise; on any
other address it refuses to start without --api-key. --concurrency generations run
at once, each with its own key/value cache; up to --queue more wait, and further
requests are answered 429 at once. SIGINT or SIGTERM stops accepting requests, lets
running ones finish for --shutdown-timeout, then cancels them.

The chat template is tokenizer_config.json's chat_template (Jinja) in the model's
directory, or the file given with --chat-template.`,
		Example: `  tformer serve
  tformer serve --model tformer-model.safetensors --addr 127.0.0.1:8080 --concurrency 2`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Model, "model", "", "model to serve: a tformer checkpoint, a Hugging Face directory or an llm.c .bin (none: the cost explorer only)")
	fs.StringVar(&o.Name, "name", o.Name, "the model's id in the API")
	fs.StringVar(&o.Addr, "addr", o.Addr, "address to listen on (host:port)")
	fs.StringVar(&o.APIKey, "api-key", "", "require Authorization: Bearer KEY on /v1/ (required when --addr is not a loopback address)")
	fs.StringVar(&o.ChatTemplate, "chat-template", "", "Jinja chat template file or tokenizer_config.json (default: tokenizer_config.json beside the model)")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "generations at once")
	fs.IntVar(&o.Queue, "queue", o.Queue, "requests that may wait for a generation slot; more are refused with 429")
	fs.IntVar(&o.MaxTokens, "max-tokens", o.MaxTokens, "largest max_tokens a request may ask for")
	fs.Int64Var(&o.MaxBody, "max-body", o.MaxBody, "largest request body in bytes")
	fs.DurationVar(&o.Shutdown, "shutdown-timeout", o.Shutdown, "on SIGINT/SIGTERM, how long running requests may take to finish")
	fs.BoolVar(&o.Quiet, "quiet", false, "do not log one line per request")
	addDTypeFlag(fs, &o.DType)
	applyThreads := addThreadsFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyThreads(); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serveRun(ctx, o, cmd.ErrOrStderr())
	}
	return cmd
}

// serveRun loads the model, listens and serves until ctx is done.
func serveRun(ctx context.Context, o *ServeOptions, stderr io.Writer) error {
	switch {
	case o.Concurrency < 1 || o.Concurrency > 256:
		return fmt.Errorf("--concurrency must be in [1, 256], got %d", o.Concurrency)
	case o.Queue < 0:
		return fmt.Errorf("--queue must be >= 0, got %d", o.Queue)
	case o.MaxTokens < 1:
		return fmt.Errorf("--max-tokens must be positive, got %d", o.MaxTokens)
	case o.MaxBody < 1024:
		return fmt.Errorf("--max-body must be at least 1024 bytes, got %d", o.MaxBody)
	case o.Shutdown < 0:
		return fmt.Errorf("--shutdown-timeout must not be negative, got %v", o.Shutdown)
	}
	dt, err := parseDTypeFlag(o.DType)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", o.Addr, err)
	}
	if !isLoopback(host) && o.APIKey == "" {
		return fmt.Errorf("--addr %s is not a loopback address: give --api-key to expose the API beyond this machine", o.Addr)
	}
	cfg := server.Config{ModelName: o.Name, APIKey: o.APIKey, Concurrency: o.Concurrency, QueueSize: o.Queue,
		MaxTokens: o.MaxTokens, MaxBodyBytes: o.MaxBody}
	if !o.Quiet {
		cfg.Log = stderr
	}
	if o.Model != "" {
		m, tok, err := loadModelAs(o.Model, dt, stderr)
		if err != nil {
			return err
		}
		cfg.Model, cfg.Tokenizer = m, tok
		if eos, ok := tokenizer.EndOfText(tok); ok { // GPT-2's <|endoftext|>, a tokenizer.json's EOS
			cfg.StopTokens = []int32{eos}
		}
		tpl := o.ChatTemplate
		if tpl == "" {
			tpl = o.Model
			if st, err := os.Stat(tpl); err == nil && !st.IsDir() {
				tpl = filepath.Dir(tpl)
			}
		}
		chat, err := server.LoadChatTemplate(tpl)
		if err != nil {
			if o.ChatTemplate != "" {
				return fmt.Errorf("--chat-template: %w", err)
			}
			return err
		}
		cfg.Chat = chat
	} else if o.ChatTemplate != "" {
		return errors.New("--chat-template needs --model")
	}
	s, err := server.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	what := "the cost explorer (no --model)"
	if cfg.Model != nil {
		what = fmt.Sprintf("model %q (%s tokenizer, context %d; chat: %v)", o.Name, cfg.Tokenizer.Name(), cfg.Model.Config.MaxSeq, cfg.Chat != nil)
	}
	fmt.Fprintf(stderr, "serving %s on http://%s/\n", what, ln.Addr())
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	err = s.Serve(ctx, ln, o.Shutdown)
	fmt.Fprintln(stderr, "server stopped")
	return err
}

// isLoopback reports whether host names only this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
