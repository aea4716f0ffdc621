package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ardanlabs/jinja"
)

// ChatTemplate turns chat messages into a prompt with a Hugging Face chat
// template (Jinja), as tokenizer_config.json's chat_template holds it.
type ChatTemplate struct {
	Source   string // the Jinja source
	BOSToken string // bos_token, as templates read it
	EOSToken string // eos_token

	tmpl *jinja.Template
}

// maxMessages bounds a chat request's messages.
const maxMessages = 1024

// NewChatTemplate compiles a Jinja chat template.
func NewChatTemplate(source, bos, eos string) (*ChatTemplate, error) {
	t, err := jinja.Compile(source)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &ChatTemplate{Source: source, BOSToken: bos, EOSToken: eos, tmpl: t}, nil
}

// LoadChatTemplate reads a chat template from path: a Hugging Face
// tokenizer_config.json (its chat_template, bos_token and eos_token), a
// directory holding one, or any other file as the bare Jinja source. For a
// directory or tokenizer_config.json without a chat_template it returns
// nil and no error: the model simply has no chat template.
func LoadChatTemplate(path string) (*ChatTemplate, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	if st.IsDir() {
		p := filepath.Join(path, "tokenizer_config.json")
		if _, err := os.Stat(p); err != nil {
			return nil, nil
		}
		path = p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	if filepath.Ext(path) != ".json" {
		return NewChatTemplate(string(data), "", "")
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cfg.ChatTemplate) == 0 || string(cfg.ChatTemplate) == "null" {
		return nil, nil
	}
	var src string
	if err := json.Unmarshal(cfg.ChatTemplate, &src); err != nil {
		// A list of named templates: take "default".
		var named []struct{ Name, Template string }
		if err := json.Unmarshal(cfg.ChatTemplate, &named); err != nil {
			return nil, fmt.Errorf("%s: chat_template must be a string or a list of named templates", path)
		}
		for _, n := range named {
			if n.Name == "default" {
				src = n.Template
			}
		}
		if src == "" {
			return nil, fmt.Errorf("%s: chat_template has no template named \"default\"", path)
		}
	}
	t, err := NewChatTemplate(src, tokenString(cfg.BOS), tokenString(cfg.EOS))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// tokenString reads a special token given as a string or as an object with
// a "content" field.
func tokenString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct{ Content string }
	if json.Unmarshal(raw, &o) == nil {
		return o.Content
	}
	return ""
}

// Render returns the prompt for msgs, ending with the assistant's turn
// (add_generation_prompt is true).
func (c *ChatTemplate) Render(msgs []chatMessage) (string, error) {
	if len(msgs) == 0 {
		return "", perr("messages", "messages must not be empty")
	}
	if len(msgs) > maxMessages {
		return "", perr("messages", "at most %d messages, got %d", maxMessages, len(msgs))
	}
	list := make([]any, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "system", "developer", "user", "assistant":
		default:
			return "", perr(fmt.Sprintf("messages[%d].role", i), "messages[%d].role must be system, user or assistant, got %q", i, m.Role)
		}
		text, err := contentText(m.Content)
		if err != nil {
			return "", perr(fmt.Sprintf("messages[%d].content", i), "messages[%d].content: %v", i, err)
		}
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		list[i] = map[string]any{"role": role, "content": text}
	}
	out, err := c.tmpl.Render(map[string]any{"messages": list, "add_generation_prompt": true,
		"bos_token": c.BOSToken, "eos_token": c.EOSToken})
	if err != nil {
		return "", perr("messages", "the chat template rejected the messages: %v", err)
	}
	return out, nil
}

// contentText reads a message's content: a string, or an array of parts of
// which the text parts are joined.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("part type %q is not supported (only text)", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}
