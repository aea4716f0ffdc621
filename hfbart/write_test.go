package hfbart

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tformer/tformer/model"
	"github.com/tformer/tformer/tokenizer"
)

// sameLogits compares two models' teacher-forced logits on the fixture's
// pairs bit for bit.
func sameLogits(t *testing.T, a, b *model.Model) {
	t.Helper()
	e := readExpected(t, filepath.Join(fixtureDir, "bart_f32.expected.json"))
	la, lb := seq2seqLogits(t, a, e), seq2seqLogits(t, b, e)
	for i := range la {
		if math.Float32bits(la[i]) != math.Float32bits(lb[i]) {
			t.Fatalf("logit %d: %g against %g", i, lb[i], la[i])
		}
	}
}

// TestRoundTrip writes each fixture back as a directory and reads it again:
// the same config, every parameter bit for bit, the same special ids, the
// tokenizer files, and tying kept (one stored table when tied).
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"bart_f32", "bart_scaled_gelunew_f16", "bart_untied_relu_bf16"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(fixtureDir, name)
			l, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			var tok tokenizer.Tokenizer
			if _, err := os.Stat(filepath.Join(src, "vocab.json")); err == nil {
				if tok, err = tokenizer.LoadGPT2Dir(src); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			if _, err := Save(dir, l.Model, tok, Options{}); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := back.Model.Config.JSON(), l.Model.Config.JSON(); got != want {
				t.Fatalf("config %s, want %s", got, want)
			}
			if !slices.Equal(back.Model.Params, l.Model.Params) {
				t.Fatal("parameters differ")
			}
			if back.DType != "F32" {
				t.Errorf("written dtype %s", back.DType)
			}
			if tok != nil {
				ids, ok := back.IDs()
				if !ok || ids != (SpecialIDs{Pad: 1, BOS: 0, EOS: 2, DecoderStart: 2}) {
					t.Errorf("ids %+v %v", ids, ok)
				}
				t2, err := tokenizer.LoadGPT2Dir(dir)
				if err != nil {
					t.Fatal(err)
				}
				text := []byte(" the ring and an other")
				if !slices.Equal(t2.Encode(text), tok.Encode(text)) {
					t.Error("tokenizer changed")
				}
			}
			cj, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
			tied := l.Model.Config.TyingMode() == model.TieAll
			if strings.Contains(string(cj), `"tie_word_embeddings": true`) != tied {
				t.Errorf("tie_word_embeddings in %s, tied %v", cj, tied)
			}
		})
	}
}

// tinyBART is a BART-shaped config at test size.
func tinyBART() model.Config {
	c := model.BARTBase()
	c.Vocab, c.DModel, c.Heads, c.DFF, c.MaxSeq, c.EncLayers, c.Layers = 270, 16, 2, 40, 12, 2, 2
	return c
}

// TestWriteShared: a model with cross-layer sharing and sharing between
// the stacks is refused without ExpandShared and, with it, written as the
// unshared model with the same outputs.
func TestWriteShared(t *testing.T) {
	c := tinyBART()
	c.Share, c.Groups, c.ShareStacks = model.ShareAll, 1, true
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(7)
	dir := t.TempDir()
	if _, err := Save(dir, m, nil, Options{}); err == nil || !strings.Contains(err.Error(), "ExpandShared") {
		t.Fatalf("shared without ExpandShared: %v", err)
	}
	notes, err := Save(dir, m, nil, Options{ExpandShared: true, IDs: &SpecialIDs{Pad: 1, BOS: 0, EOS: 2, DecoderStart: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "expanded") {
		t.Errorf("notes %q", notes)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Model.Config.Share != model.ShareNone || back.Model.Config.ShareStacks {
		t.Fatalf("read back as %+v", back.Model.Config)
	}
	if back.Model.Layout.Total <= m.Layout.Total {
		t.Fatalf("expanded %d parameters, shared %d", back.Model.Layout.Total, m.Layout.Total)
	}
	sameLogits(t, m, back.Model)
}

// TestNotWritable: the choices BART's layout lacks are refused, one line
// each.
func TestNotWritable(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*model.Config)
		want string
	}{
		{"pre-LN", func(c *model.Config) { c.PostLN = false }, "pre-LN"},
		{"sinusoidal", func(c *model.Config) { c.Positions, c.PosOffset = model.SinusoidalPositions, 0 }, "sinusoidal"},
		{"offset", func(c *model.Config) { c.PosOffset = 0 }, "pos-offset 0"},
		{"no embed norm", func(c *model.Config) { c.EmbedNorm = false }, "layernorm_embedding"},
		{"no bias", func(c *model.Config) { c.Bias = model.BiasNone }, "bias"},
		{"tying decoder", func(c *model.Config) { c.Tying, c.Tie = model.TieDecoder, true }, "tying decoder"},
		{"tying none", func(c *model.Config) { c.Tying, c.Tie = model.TieNone, false }, "different source and target tables"},
		{"eps", func(c *model.Config) { c.LayerNormEps = 1e-6 }, "epsilon"},
	} {
		c := tinyBART()
		tc.edit(&c)
		m, err := model.New(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m.Init(1)
		_, err = Save(t.TempDir(), m, nil, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.name, err, tc.want)
		}
	}
	if _, _, err := Encode(mustNew(t, model.Tiny()), nil, Options{}); err == nil || !strings.Contains(err.Error(), "encoder-decoder") {
		t.Errorf("decoder: %v", err)
	}
}

func mustNew(t *testing.T, c model.Config) *model.Model {
	t.Helper()
	m, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
