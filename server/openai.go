package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/tformer/tformer/generate"
)

// Limits of a request besides the configured ones.
const (
	maxStops   = 4   // as OpenAI
	maxStopLen = 256 // bytes per stop string
)

// sampling holds the request fields common to both endpoints.
type sampling struct {
	Model               *string          `json:"model"`
	MaxTokens           *int             `json:"max_tokens"`
	MaxCompletionTokens *int             `json:"max_completion_tokens"`
	Temperature         *float64         `json:"temperature"`
	TopP                *float64         `json:"top_p"`
	TopK                *int             `json:"top_k"`
	Seed                *int64           `json:"seed"`
	Stop                json.RawMessage  `json:"stop"`
	Stream              bool             `json:"stream"`
	StreamOptions       *streamOptions   `json:"stream_options"`
	N                   *int             `json:"n"`
	BestOf              *int             `json:"best_of"`
	Echo                bool             `json:"echo"`
	Logprobs            *json.RawMessage `json:"logprobs"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type completionRequest struct {
	sampling
	Prompt json.RawMessage `json:"prompt"`
}

type chatRequest struct {
	sampling
	Messages []chatMessage `json:"messages"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// job is a validated generation.
type job struct {
	prompt []int32
	opts   generate.Options
	stops  [][]byte
}

type paramError struct{ param, msg string }

func (e *paramError) Error() string { return e.msg }

func perr(param, format string, a ...any) error {
	return &paramError{param: param, msg: fmt.Sprintf(format, a...)}
}

// options validates the sampling fields into a job (without its prompt).
func (s *Server) options(q *sampling, defaultMax int) (job, error) {
	var j job
	if q.Model != nil && *q.Model != s.cfg.ModelName {
		return j, &modelError{*q.Model}
	}
	switch {
	case q.N != nil && *q.N != 1:
		return j, perr("n", "n must be 1, got %d", *q.N)
	case q.BestOf != nil && *q.BestOf != 1:
		return j, perr("best_of", "best_of must be 1, got %d", *q.BestOf)
	case q.Echo:
		return j, perr("echo", "echo is not supported")
	case q.Logprobs != nil && string(*q.Logprobs) != "null" && string(*q.Logprobs) != "false":
		return j, perr("logprobs", "logprobs are not supported")
	}
	maxTok := defaultMax
	if q.MaxCompletionTokens != nil {
		maxTok = *q.MaxCompletionTokens
	}
	if q.MaxTokens != nil {
		maxTok = *q.MaxTokens
	}
	if maxTok < 0 || maxTok > s.cfg.MaxTokens {
		return j, perr("max_tokens", "max_tokens must be in [0, %d], got %d", s.cfg.MaxTokens, maxTok)
	}
	o := generate.Options{Tokens: maxTok, Temperature: 1}
	if t := q.Temperature; t != nil {
		if math.IsNaN(*t) || *t < 0 || *t > 2 {
			return j, perr("temperature", "temperature must be in [0, 2], got %g", *t)
		}
		o.Temperature = *t
	}
	if p := q.TopP; p != nil {
		if math.IsNaN(*p) || *p <= 0 || *p > 1 {
			return j, perr("top_p", "top_p must be in (0, 1], got %g", *p)
		}
		o.TopP = *p
	}
	if k := q.TopK; k != nil {
		if *k < 0 {
			return j, perr("top_k", "top_k must be >= 0, got %d", *k)
		}
		o.TopK = *k
	}
	if q.Seed != nil {
		o.Seed = uint64(*q.Seed)
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:])
		for _, c := range b {
			o.Seed = o.Seed<<8 | uint64(c)
		}
	}
	stops, err := parseStop(q.Stop)
	if err != nil {
		return j, err
	}
	j.opts, j.stops = o, stops
	return j, nil
}

// parseStop reads OpenAI's stop: null, a string, or an array of strings.
func parseStop(raw json.RawMessage) ([][]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		list = []string{one}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, perr("stop", "stop must be a string or an array of strings")
	}
	if len(list) > maxStops {
		return nil, perr("stop", "at most %d stop strings, got %d", maxStops, len(list))
	}
	var out [][]byte
	for _, s := range list {
		if len(s) > maxStopLen {
			return nil, perr("stop", "a stop string is at most %d bytes, got %d", maxStopLen, len(s))
		}
		if s != "" {
			out = append(out, []byte(s))
		}
	}
	return out, nil
}

type modelError struct{ name string }

func (e *modelError) Error() string { return fmt.Sprintf("the model %q does not exist", e.name) }

// answerError maps a validation error to its HTTP answer.
func (s *Server) answerError(w http.ResponseWriter, err error) {
	var pe *paramError
	var me *modelError
	switch {
	case errors.As(err, &pe):
		badParam(w, pe.param, pe.msg)
	case errors.As(err, &me):
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", me.Error()+fmt.Sprintf(" (this server has %q)", s.cfg.ModelName))
	default:
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
	}
}

func (s *Server) noModel(w http.ResponseWriter) bool {
	if s.cfg.Model == nil {
		writeError(w, http.StatusServiceUnavailable, "invalid_request_error", "model_not_loaded", "no model is loaded (start tformer serve with --model)")
		return true
	}
	return false
}

// promptTokens reads OpenAI's prompt: a string, an array of one string, or
// an array of token ids.
func (s *Server) promptTokens(raw json.RawMessage) ([]int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, perr("prompt", "prompt is required")
	}
	var text string
	var texts []string
	var ids []int64
	switch {
	case json.Unmarshal(raw, &text) == nil:
	case json.Unmarshal(raw, &texts) == nil:
		if len(texts) != 1 {
			return nil, perr("prompt", "prompt must be one string (batches of %d are not supported)", len(texts))
		}
		text = texts[0]
	case json.Unmarshal(raw, &ids) == nil:
		out := make([]int32, 0, min(len(ids), s.cfg.MaxPromptTokens+1))
		for _, id := range ids {
			if id < 0 || id >= int64(s.cfg.Model.Config.Vocab) {
				return nil, perr("prompt", "token id %d is outside the vocabulary [0, %d)", id, s.cfg.Model.Config.Vocab)
			}
			out = append(out, int32(id))
		}
		return out, s.checkPrompt(out)
	default:
		return nil, perr("prompt", "prompt must be a string, an array of one string, or an array of token ids")
	}
	out := s.cfg.Tokenizer.Encode([]byte(text))
	return out, s.checkPrompt(out)
}

func (s *Server) checkPrompt(ids []int32) error {
	if len(ids) == 0 {
		return perr("prompt", "the prompt is empty (it must have at least one token)")
	}
	if len(ids) > s.cfg.MaxPromptTokens {
		return perr("prompt", "the prompt is %d tokens; the limit is %d", len(ids), s.cfg.MaxPromptTokens)
	}
	return nil
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	if s.noModel(w) {
		return
	}
	var q completionRequest
	if !s.decodeBody(w, r, &q) {
		return
	}
	j, err := s.options(&q.sampling, 16)
	if err == nil {
		j.prompt, err = s.promptTokens(q.Prompt)
	}
	if err != nil {
		s.answerError(w, err)
		return
	}
	s.run(w, r, j, &q.sampling, false)
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	if s.noModel(w) {
		return
	}
	if s.cfg.Chat == nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "this model has no chat template (give tformer serve --chat-template, or a model directory with tokenizer_config.json's chat_template); use /v1/completions")
		return
	}
	var q chatRequest
	if !s.decodeBody(w, r, &q) {
		return
	}
	j, err := s.options(&q.sampling, s.cfg.DefaultMaxTokens)
	if err == nil {
		var text string
		text, err = s.cfg.Chat.Render(q.Messages)
		if err == nil {
			j.prompt = s.cfg.Tokenizer.Encode([]byte(text))
			err = s.checkPrompt(j.prompt)
		}
	}
	if err != nil {
		s.answerError(w, err)
		return
	}
	s.run(w, r, j, &q.sampling, true)
}

// errStop ends a generation early (a stop string or token).
var errStop = errors.New("stop")

// run queues j, generates, and writes the answer (streamed or whole).
func (s *Server) run(w http.ResponseWriter, r *http.Request, j job, q *sampling, chat bool) {
	ctx := r.Context()
	info := infoOf(r)
	info.prompt.Store(int64(len(j.prompt)))
	wk, err := s.acquire(ctx)
	if err != nil {
		if errors.Is(err, errFull) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate_limit_error", "queue_full", err.Error())
		}
		return // the client went away while queued
	}
	defer s.release(wk)

	id := newID(chat)
	created := time.Now().Unix()
	var sse *sseWriter
	if q.Stream {
		sse = newSSE(w)
		if chat {
			sse.send(chatChunk(id, created, s.cfg.ModelName, &delta{Role: "assistant", Content: ""}, nil))
		}
	}
	text := &stopText{stops: j.stops, buf: wk.text[:0]}
	defer func() { wk.text = text.buf[:0] }() // the buffer, grown, serves the next request
	finish := "length"
	completion := 0
	cut := false // a stop string ended the text
	if s.pieces == nil {
		wk.stream.Reset(j.prompt)
	}
	err = wk.gen.Generate(j.prompt, j.opts, func(t int32) error {
		if s.stepHook != nil {
			s.stepHook()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if slices.Contains(s.cfg.StopTokens, t) {
			finish = "stop"
			return errStop
		}
		completion++
		info.completion.Store(int64(completion))
		var stopped bool
		if s.pieces != nil {
			stopped = text.add(s.pieces[t])
		} else {
			stopped = text.add(wk.stream.Next(t))
		}
		if sse != nil {
			if piece := text.ready(); len(piece) > 0 {
				if err := s.sendPiece(sse, chat, id, created, piece); err != nil {
					return err
				}
			}
		}
		if stopped {
			finish, cut = "stop", true
			return errStop
		}
		return nil
	})
	if s.pieces == nil && !cut && (err == nil || errors.Is(err, errStop)) {
		// the end of a character the last ids had begun
		if text.add(wk.stream.Flush()) {
			finish = "stop"
		}
	}
	if err != nil && !errors.Is(err, errStop) {
		if ctx.Err() != nil {
			return // the client is gone (or the server is shutting down)
		}
		if sse != nil {
			sse.send(apiError{Error: apiErrorBody{Message: err.Error(), Type: "server_error"}})
			return
		}
		writeError(w, http.StatusInternalServerError, "server_error", "", err.Error())
		return
	}
	u := usage{PromptTokens: len(j.prompt), CompletionTokens: completion, TotalTokens: len(j.prompt) + completion}
	if sse != nil {
		if piece := text.rest(); len(piece) > 0 {
			if err := s.sendPiece(sse, chat, id, created, piece); err != nil {
				return
			}
		}
		var final any
		if chat {
			final = chatChunk(id, created, s.cfg.ModelName, &delta{}, &finish)
		} else {
			final = completionObj(id, created, s.cfg.ModelName, "", &finish, nil)
		}
		sse.send(final)
		if q.StreamOptions != nil && q.StreamOptions.IncludeUsage {
			obj := "text_completion"
			if chat {
				obj = "chat.completion.chunk"
			}
			sse.send(map[string]any{"id": id, "object": obj, "created": created, "model": s.cfg.ModelName, "choices": []any{}, "usage": u})
		}
		sse.done()
		return
	}
	out := string(bytes.ToValidUTF8(text.rest(), []byte("\uFFFD")))
	if chat {
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": s.cfg.ModelName,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": out},
				"logprobs": nil, "finish_reason": finish}}, "usage": u})
		return
	}
	writeJSON(w, http.StatusOK, completionObj(id, created, s.cfg.ModelName, out, &finish, &u))
}

func (s *Server) sendPiece(sse *sseWriter, chat bool, id string, created int64, piece []byte) error {
	txt := string(bytes.ToValidUTF8(piece, []byte("\uFFFD")))
	if chat {
		return sse.send(chatChunk(id, created, s.cfg.ModelName, &delta{Content: txt}, nil))
	}
	return sse.send(completionObj(id, created, s.cfg.ModelName, txt, nil, nil))
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type delta struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
}

func completionObj(id string, created int64, model, text string, finish *string, u *usage) map[string]any {
	m := map[string]any{"id": id, "object": "text_completion", "created": created, "model": model,
		"choices": []any{map[string]any{"text": text, "index": 0, "logprobs": nil, "finish_reason": finish}}}
	if u != nil {
		m["usage"] = u
	}
	return m
}

func chatChunk(id string, created int64, model string, d *delta, finish *string) map[string]any {
	return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
		"choices": []any{map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}}
}

func newID(chat bool) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	if chat {
		return "chatcmpl-" + hex.EncodeToString(b[:])
	}
	return "cmpl-" + hex.EncodeToString(b[:])
}

// sseWriter writes server-sent events.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (e *sseWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.w, "data: %s\n\n", b); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *sseWriter) done() {
	_, _ = fmt.Fprint(e.w, "data: [DONE]\n\n")
	_ = e.rc.Flush()
}

// stopText accumulates generated bytes, cuts them at the first stop
// string, and tells how much can be streamed: never the tail that could
// still become a stop string, nor an incomplete UTF-8 sequence.
type stopText struct {
	stops [][]byte
	buf   []byte
	sent  int
}

// add appends b and reports whether a stop string now occurs (the text is
// then cut before it).
func (t *stopText) add(b []byte) bool {
	from := len(t.buf)
	t.buf = append(t.buf, b...)
	for _, st := range t.stops {
		lo := max(0, from-len(st)+1)
		if i := bytes.Index(t.buf[lo:], st); i >= 0 {
			t.buf = t.buf[:lo+i]
			return true
		}
	}
	return false
}

// ready returns the new text that can be sent now and marks it sent.
func (t *stopText) ready() []byte {
	end := len(t.buf)
	for _, st := range t.stops {
		// the longest suffix of buf that is a proper prefix of st
		for k := min(len(st)-1, end-t.sent); k > 0; k-- {
			if bytes.HasSuffix(t.buf, st[:k]) {
				end = min(end, len(t.buf)-k)
				break
			}
		}
	}
	// hold back an incomplete UTF-8 sequence at the end
	for k := 1; k <= 3 && end-k >= t.sent; k++ {
		c := t.buf[end-k]
		if c < 0x80 {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(t.buf[end-k : end]) {
				end -= k
			}
			break
		}
	}
	if end <= t.sent {
		return nil
	}
	out := t.buf[t.sent:end]
	t.sent = end
	return out
}

// rest returns everything not yet sent and marks it sent.
func (t *stopText) rest() []byte {
	out := t.buf[t.sent:]
	t.sent = len(t.buf)
	return out
}
