#!/usr/bin/env python3
"""Writes the small tokenizer.json fixtures under tokenizer/testdata/hf/.

Every vocabulary is trained here, by this script, on tformer's own built-in
corpus (plus a few lines of multilingual text written for this script), so
no third-party vocabulary is committed. Each file follows the layout of one
family of real tokenizer.json files:

  gpt2       byte-level BPE, ByteLevel pre-tokenizer (GPT-2's regex)
  llama3     byte-level BPE, Split by Llama 3's regex + ByteLevel, ignore_merges,
             TemplateProcessing "<|begin_of_text|> $A", tokenizer_config.json
  qwen2      byte-level BPE, NFC, Split by Qwen2's regex + ByteLevel
  smollm2    byte-level BPE, Digits(individual) + ByteLevel
  llama2     SentencePiece BPE with byte fallback: Prepend/Replace normalizer,
             "▁" symbols, ByteFallback/Fuse/Strip decoder (Llama 2, Mistral,
             TinyLlama)
  llama2meta the same model with a Metaspace pre-tokenizer (prepend "first")
  bert       WordPiece, BertNormalizer (lowercase, accents, CJK, cleanup),
             BertPreTokenizer, TemplateProcessing [CLS] A [SEP] B [SEP]
  bertcased  WordPiece, cased BertNormalizer, BertProcessing, 20-char words
  albert     Unigram, Replace/NFKD/StripAccents/Lowercase, WhitespaceSplit +
             Metaspace, [CLS] A [SEP] B [SEP]
  unigrambf  Unigram with byte_fallback and <0xXX> pieces, Metaspace only

Run from the repository root, with the built-in corpus written to a file
first (corpus.Default() is generated, so a throw-away program prints it):

  mkdir -p internal/tmpdump && printf '%s\n' 'package main' \
    'import ("os"; "github.com/tformer/tformer/corpus")' \
    'func main() { os.Stdout.Write(corpus.Default()) }' > internal/tmpdump/main.go
  go run ./internal/tmpdump > /tmp/corpus.txt && rm -r internal/tmpdump
  python3 reference/make_tokjson_fixtures.py /tmp/corpus.txt
  npm ci --prefix reference && node reference/hf_tokens.cjs

The output is deterministic for a given corpus. Needs Python 3 with the
`regex` module (Debian python3-regex); only for training, whose
pre-tokenization need not be exact.
"""
import collections
import json
import math
import os
import sys
import unicodedata

import regex

EXTRA = """Ünïcödé façade naïve café résumé coöperate Straße. Ça va? Él está aquí.
Привет, мир! Как дела? Γειά σου Κόσμε. 你好，世界！中文分词很有趣。我们今天学习。
こんにちは世界、カタカナとひらがな。안녕하세요 세계. Hello world 123 456 7890.
def f(x):\n    return x**2 + 1  # square\n\tindent\r\nwindows line\r\n
emoji 😀😃 👍🏽 ❤️ ✨ 🎉 — “quotes” ‘single’ … ellipsis; don't, won't, I'm, you're, we've.
"""

OUT = os.path.join("tokenizer", "testdata", "hf")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
GPT2_RE = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def train_bpe(words, n_merges, initial=None):
    """Plain BPE: words is a Counter of tuples of symbols. Returns merges."""
    words = {tuple(w): c for w, c in words.items()}
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        new = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


def write(name, tok, config=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
        f.write("\n")
    if config is not None:
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=1)
            f.write("\n")


def added(id_, content, special=True, normalized=False, lstrip=False, rstrip=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": normalized, "special": special}


def base(model, added_tokens, normalizer=None, pre=None, post=None, decoder=None):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre, "post_processor": post,
            "decoder": decoder, "model": model}


def template(single, pair, specials):
    def item(x):
        if x in ("A", "B"):
            return {"Sequence": {"id": x, "type_id": 0 if x == "A" else 1}}
        name, t = x
        return {"SpecialToken": {"id": name, "type_id": t}}
    return {"type": "TemplateProcessing", "single": [item(x) for x in single],
            "pair": [item(x) for x in pair],
            "special_tokens": {k: {"id": k, "ids": [v], "tokens": [k]} for k, v in specials.items()}}


def bytelevel_family(text):
    words = collections.Counter()
    for m in GPT2_RE.findall(text):
        words[tuple(B2U[b] for b in m.encode("utf-8"))] += 1
    merges = train_bpe(words, 700)
    vocab = {}
    for b in range(256):  # GPT-2's byte order: the printable bytes first
        pass
    order = sorted(range(256), key=lambda b: (0 if B2U[b] == chr(b) else 1, b))
    for b in order:
        vocab[B2U[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    bl_noregex = dict(bl, use_regex=False)
    dec = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    mlist = [a + " " + b for a, b in merges]
    n = len(vocab)

    def model(ignore=False, pairs=False):
        return {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                "ignore_merges": ignore, "vocab": vocab,
                "merges": [[a, b] for a, b in merges] if pairs else mlist}

    write("gpt2", base(model(), [added(n, "<|endoftext|>")], pre=bl,
                       post=dict(bl, type="ByteLevel"), decoder=dec))
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    split = lambda pat: {"type": "Split", "pattern": {"Regex": pat}, "behavior": "Isolated", "invert": False}
    llama3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    qwen2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    write("llama3", base(model(ignore=True, pairs=True), [added(n + i, s) for i, s in enumerate(specials)],
                         pre={"type": "Sequence", "pretokenizers": [split(llama3), bl_noregex]},
                         post={"type": "Sequence", "processors": [
                             {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                             template([("<|begin_of_text|>", 0), "A"], [("<|begin_of_text|>", 0), "A", ("<|begin_of_text|>", 1), "B"],
                                      {"<|begin_of_text|>": n})]},
                         decoder=dec),
          {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "clean_up_tokenization_spaces": True})
    write("qwen2", base(model(), [added(n, "<|endoftext|>"), added(n + 1, "<|im_start|>"), added(n + 2, "<|im_end|>")],
                        normalizer={"type": "NFC"},
                        pre={"type": "Sequence", "pretokenizers": [split(qwen2), bl_noregex]},
                        post=dict(bl, type="ByteLevel"), decoder=dec))
    write("smollm2", base(model(), [added(n, "<|endoftext|>"), added(n + 1, "<|im_start|>"), added(n + 2, "<|im_end|>")],
                          pre={"type": "Sequence", "pretokenizers": [
                              {"type": "Digits", "individual_digits": True}, bl]},
                          post=dict(bl, type="ByteLevel"), decoder=dec))


def sentencepiece_bpe(text):
    chars = collections.Counter(c for c in text.replace(" ", "\u2581"))
    keep = {c for c, k in chars.items() if k >= 3 and c not in "\n\r"}
    keep.add("\u2581")
    words = collections.Counter()
    for line in text.split("\n"):
        if not line:
            continue
        s = "\u2581" + line.replace(" ", "\u2581")
        for w in regex.findall(r"\u2581*[^\u2581]+|\u2581+", s):
            if all(c in keep for c in w):
                words[tuple(w)] += 1
    merges = train_bpe(words, 600)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for a, b in merges:
        for t in (a, b, a + b):
            if t not in vocab and len(t) > 1:
                vocab[t] = len(vocab)
    for c in sorted(keep):
        if c not in vocab:
            vocab[c] = len(vocab)
    merges = [(a, b) for a, b in merges]
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
             "vocab": vocab, "merges": [a + " " + b for a, b in merges]}
    specials = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")]
    post = template([("<s>", 0), "A"], [("<s>", 0), "A", ("<s>", 1), "B"], {"<s>": 1})
    write("llama2", base(model, specials,
                         normalizer={"type": "Sequence", "normalizers": [
                             {"type": "Prepend", "prepend": "\u2581"},
                             {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
                         post=post,
                         decoder={"type": "Sequence", "decoders": [
                             {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                             {"type": "ByteFallback"}, {"type": "Fuse"},
                             {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}),
          {"bos_token": "<s>", "eos_token": "</s>", "legacy": True})
    write("llama2meta", base(model, specials,
                             pre={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
                             post=post,
                             decoder={"type": "Sequence", "decoders": [
                                 {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
                                 {"type": "ByteFallback"}, {"type": "Fuse"}]}))


def bert_clean(text, lower):
    out = []
    for c in text:
        if c in "\t\n\r" or c.isspace():
            out.append(" ")
        elif unicodedata.category(c).startswith("C"):
            continue
        elif 0x4E00 <= ord(c) <= 0x9FFF:
            out.append(" " + c + " ")
        else:
            out.append(c)
    s = "".join(out)
    if lower:
        s = "".join(c for c in unicodedata.normalize("NFD", s.lower()) if unicodedata.category(c) != "Mn")
    return s


def wordpiece(text, lower, name, max_chars, bert_processing):
    words = collections.Counter()
    for w in regex.findall(r"[^\s\p{P}!-/:-@\[-`{-~]+|[\p{P}!-/:-@\[-`{-~]", bert_clean(text, lower)):
        words[tuple([w[0]] + ["##" + c for c in w[1:]])] += 1
    merges = train_bpe(words, 500)
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    alphabet = sorted({s for w in words for s in w})
    for s in alphabet:
        vocab[s] = len(vocab)
    for a, b in merges:
        t = a + b[2:] if b.startswith("##") else a + b
        if t not in vocab:
            vocab[t] = len(vocab)
    specials = [added(vocab[s], s) for s in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]]
    if bert_processing:
        post = {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}
    else:
        post = template([("[CLS]", 0), "A", ("[SEP]", 0)], [("[CLS]", 0), "A", ("[SEP]", 0), "B", ("[SEP]", 1)],
                        {"[CLS]": 2, "[SEP]": 3})
    write(name, base({"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": max_chars, "vocab": vocab}, specials,
                     normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                 "strip_accents": None if lower else False, "lowercase": lower},
                     pre={"type": "BertPreTokenizer"}, post=post,
                     decoder={"type": "WordPiece", "prefix": "##", "cleanup": True}))


def unigram(text, name, byte_fallback):
    # Candidate pieces: BPE tokens over "▁word" units; score: log frequency
    # of each piece as counted in the training words.
    low = unicodedata.normalize("NFKD", text.lower())
    low = "".join(c for c in low if not unicodedata.category(c).startswith("M"))
    words = collections.Counter()
    for w in low.split():
        words[tuple("\u2581" + w)] += 1
    merges = train_bpe(words, 500)
    counts = collections.Counter()
    for w, c in words.items():
        s = "".join(w)
        counts[s[0]] += c
        for ch in s[1:]:
            counts[ch] += c
    for a, b in merges:
        counts[a + b] += sum(c * "".join(w).count(a + b) for w, c in words.items()) or 1
    total = sum(counts.values())
    special = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    vocab = [[s, 0.0] for s in special]
    if byte_fallback:
        vocab += [["<0x%02X>" % b, 0.0] for b in range(256)]
    rare = 5 if byte_fallback else 1
    pieces = sorted(((p, c) for p, c in counts.items() if c >= rare), key=lambda pc: (-pc[1], pc[0]))
    for p, c in pieces:
        vocab.append([p, round(math.log(c / total), 4)])
    specials = [added(i, s) for i, s in enumerate(special)]
    post = template([("[CLS]", 0), "A", ("[SEP]", 0)], [("[CLS]", 0), "A", ("[SEP]", 0), "B", ("[SEP]", 1)],
                    {"[CLS]": 2, "[SEP]": 3})
    meta = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    model = {"type": "Unigram", "unk_id": 1, "vocab": vocab, "byte_fallback": byte_fallback}
    if byte_fallback:
        write(name, base(model, specials, pre=dict(meta, split=False), post=post,
                         decoder={"type": "Sequence", "decoders": [
                             {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False},
                             {"type": "ByteFallback"}, {"type": "Fuse"}]}))
    else:
        write(name, base(model, specials,
                         normalizer={"type": "Sequence", "normalizers": [
                             {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
                             {"type": "Replace", "pattern": {"String": "''"}, "content": "\""},
                             {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"}]},
                         pre={"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, meta]},
                         post=post, decoder=meta))


def main():
    text = open(sys.argv[1], encoding="utf-8").read()[:200_000] + EXTRA * 3
    bytelevel_family(text)
    sentencepiece_bpe(text)
    wordpiece(text, True, "bert", 100, False)
    wordpiece(text, False, "bertcased", 20, True)
    unigram(text, "albert", False)
    unigram(text, "unigrambf", True)


if __name__ == "__main__":
    main()
