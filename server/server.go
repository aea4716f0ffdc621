// Package server puts a tformer model behind an OpenAI-compatible HTTP API
// and serves a web page — a cost explorer over package cost and, when a
// model is loaded, a playground — embedded in the binary.
//
// The API has POST /v1/completions, POST /v1/chat/completions (when a chat
// template is configured), GET /v1/models and GET /health; the page uses
// POST /api/cost and GET /api/presets. Generations run on a fixed number of
// workers, each with its own key/value cache, made on the worker's first
// request and reused by the next ones; requests beyond the workers wait in
// a bounded queue, and one that finds the queue full is answered 429 at
// once. A client that goes away cancels its generation.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tformer/tformer/generate"
	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// Config configures a Server. Only the fields of a loaded model are
// required for the API; with a nil Model the server serves the cost
// explorer, GET /health and an empty GET /v1/models.
type Config struct {
	Model     *model.Model        // the model to serve (nil: cost explorer only)
	Tokenizer tokenizer.Tokenizer // required with Model
	ModelName string              // the id clients name in "model" (default "tformer")
	// Chat enables POST /v1/chat/completions (nil: no chat template).
	Chat *ChatTemplate
	// StopTokens end a generation with finish_reason "stop" when sampled
	// (an end-of-text token); they are not part of the returned text.
	StopTokens []int32

	APIKey string // when set, /v1/ requests must send "Authorization: Bearer APIKey"

	Concurrency      int   // generations at once, each worker with its own KV cache (default 1)
	QueueSize        int   // requests that may wait for a worker (default 16); more get 429
	MaxBodyBytes     int64 // request body limit (default 1 MiB)
	MaxTokens        int   // largest max_tokens accepted (default 1024)
	DefaultMaxTokens int   // chat's max_tokens when none is given (default 256; completions: 16, as OpenAI)
	MaxPromptTokens  int   // longest prompt accepted (default and at most the model's context)

	Log io.Writer // one line per request (nil: no log)
}

// Server is an http.Handler serving the API and the page.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	workers chan *worker // one per generation slot (nil until the slot is first used)
	pieces  [][]byte     // the text of each token id, decoded once (nil: the tokenizer is not PerToken)
	pending atomic.Int64 // admitted requests: running plus queued
	active  atomic.Int64 // running generations
	logMu   sync.Mutex
	logger  *log.Logger
	created int64

	stepHook func() // tests: called before each sampled token
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Model != nil {
		if cfg.Tokenizer == nil {
			return nil, errors.New("a model needs a tokenizer")
		}
		if cfg.Model.Config.IsEncoder() {
			return nil, errors.New("the model is an encoder (masked-LM); it cannot generate text")
		}
		if v := cfg.Tokenizer.VocabSize(); v > cfg.Model.Config.Vocab {
			return nil, fmt.Errorf("the tokenizer has %d tokens but the model only %d", v, cfg.Model.Config.Vocab)
		}
	}
	if cfg.ModelName == "" {
		cfg.ModelName = "tformer"
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Concurrency, 1)
	def(&cfg.QueueSize, 16)
	def(&cfg.MaxTokens, 1024)
	def(&cfg.DefaultMaxTokens, 256)
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	switch {
	case cfg.Concurrency < 0 || cfg.Concurrency > 256:
		return nil, fmt.Errorf("concurrency must be in [1, 256], got %d", cfg.Concurrency)
	case cfg.QueueSize < 0 || cfg.QueueSize > 1<<16:
		return nil, fmt.Errorf("queue size must be in [0, 65536], got %d", cfg.QueueSize)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("max body bytes must be positive, got %d", cfg.MaxBodyBytes)
	case cfg.MaxTokens < 0:
		return nil, fmt.Errorf("max tokens must be positive, got %d", cfg.MaxTokens)
	case cfg.DefaultMaxTokens < 0:
		return nil, fmt.Errorf("default max tokens must be positive, got %d", cfg.DefaultMaxTokens)
	case cfg.MaxPromptTokens < 0:
		return nil, fmt.Errorf("max prompt tokens must be positive, got %d", cfg.MaxPromptTokens)
	}
	cfg.DefaultMaxTokens = min(cfg.DefaultMaxTokens, cfg.MaxTokens)
	if cfg.Model != nil && (cfg.MaxPromptTokens == 0 || cfg.MaxPromptTokens > cfg.Model.Config.MaxSeq) {
		cfg.MaxPromptTokens = cfg.Model.Config.MaxSeq
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), workers: make(chan *worker, cfg.Concurrency), created: time.Now().Unix()}
	for range cfg.Concurrency {
		s.workers <- nil
	}
	if cfg.Model != nil && tokenizer.PerToken(cfg.Tokenizer) {
		// A generation decodes token by token; decoding each id once here
		// keeps that from allocating per token. Other tokenizers' text
		// depends on the ids around each one: workers stream it with a
		// tokenizer.StreamDecoder.
		s.pieces = make([][]byte, cfg.Model.Config.Vocab)
		for id := range s.pieces {
			s.pieces[id] = cfg.Tokenizer.Decode([]int32{int32(id)})
		}
	}
	if cfg.Log != nil {
		s.logger = log.New(cfg.Log, "", log.LstdFlags)
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.HandleFunc("GET /v1/models", s.auth(s.handleModels))
	s.mux.HandleFunc("POST /v1/completions", s.auth(s.handleCompletions))
	s.mux.HandleFunc("POST /v1/chat/completions", s.auth(s.handleChat))
	s.mux.HandleFunc("/v1/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	}))
	s.mux.HandleFunc("GET /api/presets", s.handlePresets)
	s.mux.HandleFunc("POST /api/cost", s.handleCost)
	s.mux.HandleFunc("GET /api/info", s.handleInfo)
	s.mux.Handle("/", webHandler())
}

// ServeHTTP logs one line per request and dispatches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	info := &reqInfo{}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	s.mux.ServeHTTP(rec, r)
	if s.logger != nil {
		s.logMu.Lock()
		s.logger.Printf("%s %s %d prompt_tokens=%d completion_tokens=%d %s", r.Method, r.URL.Path, rec.status,
			info.prompt.Load(), info.completion.Load(), time.Since(start).Round(time.Microsecond))
		s.logMu.Unlock()
	}
}

// Serve answers requests on ln until ctx is done, then shuts down: it stops
// accepting, lets in-flight requests finish for up to grace, then cancels
// the generations still running and closes their connections.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), grace)
	defer scancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		cancel() // generations stop at their next token
		err = hs.Close()
	}
	<-errc
	return err
}

// Stats are the server's load, as GET /health reports them.
type Stats struct {
	Status string `json:"status"`
	Model  string `json:"model,omitempty"`
	Active int64  `json:"active"` // generations running
	Queued int64  `json:"queued"` // requests waiting for a worker
}

// Stats returns the current load.
func (s *Server) Stats() Stats {
	a, p := s.active.Load(), s.pending.Load()
	st := Stats{Status: "ok", Active: a, Queued: max(p-a, 0)}
	if s.cfg.Model != nil {
		st.Model = s.cfg.ModelName
	}
	return st
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	data := []entry{}
	if s.cfg.Model != nil {
		data = append(data, entry{ID: s.cfg.ModelName, Object: "model", Created: s.created, OwnedBy: "tformer"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// auth checks the API key, when one is configured.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	if s.cfg.APIKey == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.APIKey)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "missing or wrong API key (send Authorization: Bearer KEY)")
			return
		}
		h(w, r)
	}
}

// errFull is returned by acquire when the queue is full.
var errFull = errors.New("server busy: the request queue is full, retry later")

// worker is what one generation slot keeps from one request to the next:
// a generator, whose decoder holds a key/value cache for the model's whole
// context, and the buffer of the generated text.
type worker struct {
	gen    *generate.Generator
	stream *tokenizer.StreamDecoder // when the tokenizer is not PerToken
	text   []byte
}

// acquire admits the request and waits for a worker, which it makes on the
// slot's first use; release must follow a nil error.
func (s *Server) acquire(ctx context.Context) (*worker, error) {
	if s.pending.Add(1) > int64(s.cfg.Concurrency+s.cfg.QueueSize) {
		s.pending.Add(-1)
		return nil, errFull
	}
	select {
	case w := <-s.workers:
		s.active.Add(1)
		if w == nil {
			w = &worker{gen: generate.NewGenerator(s.cfg.Model)}
			if s.pieces == nil {
				w.stream = tokenizer.NewStreamDecoder(s.cfg.Tokenizer, nil)
			}
		}
		return w, nil
	case <-ctx.Done():
		s.pending.Add(-1)
		return nil, ctx.Err()
	}
}

func (s *Server) release(w *worker) {
	s.active.Add(-1)
	s.workers <- w
	s.pending.Add(-1)
}

type infoKey struct{}

// reqInfo collects the token counts of a request for its log line.
type reqInfo struct{ prompt, completion atomic.Int64 }

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// recorder remembers the status code; it passes Flush through for streaming.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// apiError is OpenAI's error body.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	e := apiError{Error: apiErrorBody{Message: msg, Type: typ}}
	if code != "" {
		e.Error.Code = &code
	}
	writeJSON(w, status, e)
}

// badParam answers 400 naming the offending request field.
func badParam(w http.ResponseWriter, param, msg string) {
	e := apiError{Error: apiErrorBody{Message: msg, Type: "invalid_request_error", Param: &param}}
	writeJSON(w, http.StatusBadRequest, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// decodeBody reads a JSON body of at most the configured size into v,
// answering the error itself; it reports whether v was filled.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request_error", "", fmt.Sprintf("Content-Type must be application/json, got %q", ct))
		return false
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mb):
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", fmt.Sprintf("request body larger than %d bytes", mb.Limit))
		case errors.As(err, &te):
			f := strings.TrimPrefix(te.Field, "sampling.")
			badParam(w, f, fmt.Sprintf("%s: expected %s, got a JSON %s", f, te.Type, te.Value))
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "empty request body (want a JSON object)")
		default:
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed JSON: "+err.Error())
		}
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed JSON: data after the object")
		return false
	}
	return true
}
