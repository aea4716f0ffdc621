#!/usr/bin/env node
// Writes tokenizer/testdata/hf/<name>/ids.json for every fixture directory
// that reference/make_tokjson_fixtures.py made: several hundred varied,
// hostile texts and the ids an independent tokenizer.json implementation
// gives for each, with and without the post-processor's special tokens, for
// text pairs (with token types), and the decoded text.
//
// The implementation is the npm package @huggingface/tokenizers (the pure
// JavaScript tokenizer.json engine of transformers.js). Regenerate from the
// repository root:
//
//   npm ci --prefix reference
//   node reference/hf_tokens.cjs
//
// Where that package knowingly differs from the Rust `tokenizers` library
// (whose behaviour tformer follows) a fixture leaves out the texts that
// would show it, and says so in its "excluded" field:
//   - its ByteLevel pre-tokenizer uses JavaScript's \s, which has U+FEFF and
//     lacks U+0085 (gpt2, smollm2);
//   - its (?i:...) folds ASCII only, while Oniguruma also folds U+017F to s
//     (llama3, qwen2);
//   - its BertNormalizer pads CJK ideographs by UTF-16 unit, missing those
//     beyond U+FFFF (bert, bertcased);
//   - its Metaspace pre-tokenizer never splits at ▁ (albert, split: true).
// Its Unigram model has no byte fallback: for unigrambf the pieces it finds
// (tokenize) are mapped to ids here, a piece outside the vocabulary becoming
// the <0xXX> tokens of its UTF-8 bytes, which is the rule byte_fallback
// names.
"use strict";

const fs = require("fs");
const path = require("path");
const { Tokenizer } = require("@huggingface/tokenizers");
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules", "@huggingface", "tokenizers", "package.json"), "utf8"));

const root = path.join(__dirname, "..", "tokenizer", "testdata", "hf");

const handWritten = [
  "", " ", "  ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\t", " \t \n ", "a", "A", "1", ".",
  "Hello world", "Hello, world! How are you today?", "hello   world", "  leading", "trailing  ",
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure you'll see they've gone; it's what we'd do. He's, she'd, we're, you've, I'll, don't",
  "I'M LOUD, YOU'RE LOUD, IT'S LOUD, WE'VE, THEY'LL, HE'D", "'s 't 're 've 'm 'll 'd ' s '' ''s '''re 'RE 'Ll",
  "rock 'n' roll, 'quoted', \"double\", `back`, ``latex'' quotes",
  "a  b   c    d     e", "tab\tseparated\t\tvalues", "mixed \t \n whitespace \r\n lines",
  "line one\nline two\n\nparagraph\n", "\r\n\r\nwindows\r\n", "x" + " ".repeat(40) + "y", " ".repeat(17),
  "\t\t\tindented\n\t\t\t\tmore", "end with newline\n", "end with spaces   ", "   \n   \n",
  "numbers: 0 1 12 123 1234 12345 1234567890 3.14159 -42 +7 1,000,000 2024-05-20 0x1F 1e-5",
  "version 1.2.3-beta.4, ip 192.168.0.1, phone +1 (555) 010-9999", "12345678901234567890",
  "func main() {\n\tfmt.Println(\"hello, 世界\")\n\tfor i := 0; i < 10; i++ {\n\t\tx += i * 2 // comment\n\t}\n}\n",
  "def f(x):\n    return x**2 + 1  # square\n\nclass A:\n    pass\n",
  "if (a && b || !c) { return a->b[0] >= 3 ? 'y' : \"n\"; }", "<html><body class=\"x\">&amp; &lt;tag&gt;</body></html>",
  "https://example.com/path?query=1&x=y#frag user@example.org", "!!!???...,,,;;;:::---___===+++***",
  "((((nested)))) [[[[x]]]] {{{{y}}}}", "a.b.c.d e,f,g h;i;j", "... --- ... !?!?", "—–-‐‒ “”‘’ «» ‹› „",
  "Ünïcödé façade naïve café résumé coöperate Straße", "ÀÉÎÕÜ àéîõü ÇçÑñ ÅåØøÆæ", "İstanbul ıi İI",
  "ΣΊΣΥΦΟΣ ΟΔΥΣΣΕΥΣ ΣΑΣ Σ ΑΣ. ΣΑ", "Привет, мир! Как дела?", "Γειά σου Κόσμε", "שלום עולם", "مرحبا بالعالم ٣٤٥",
  "नमस्ते दुनिया", "こんにちは世界、カタカナ", "你好，世界！中文标点。", "我们今天学习中文分词", "안녕하세요 세계", "ภาษาไทย",
  "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇫🇷 ❤️ ✨ 🎉🎉🎉", "😀", " 😀", "a😀b", "🤖🦀🐹", "😀😀😀😀😀😀",
  "numbers in other scripts: ٠١٢ ४५६ ² ³ ½ ¾ Ⅻ ⅷ １２３ ①②", "combining: e\u0301 a\u0308 n\u0303 ｅ\u0301 \u0301start",
  "zero\u200bwidth\u200cjoin\u200dthings \u2060", "spaces: a\u00a0b\u2002c\u2003d\u3000e\u202ff\u205fg\u1680h\u2028i\u2029j",
  "nbsp before word\u00a0word and \u00a0 \u00a0 runs", "control\u0001chars\u0007here\u001b[0m\u007f", "nul\u0000byte",
  "ﬁ ﬂ ligatures ＦＵＬＬＷＩＤＴＨ ｋａｔａｋａｎａ ㌀ ㍻ ™ ℃ №", "Kelvin K Ångström Å Ohm Ω",
  "replacement \ufffd char", "private \ue000 use", "long s ſ and 'ſ",
  "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
  "a".repeat(150), "ab".repeat(60), "xyzzy".repeat(30), "9".repeat(25), "é".repeat(30), "中".repeat(40),
  "<|endoftext|>", "<|endoftext|>hello<|endoftext|>", "text <|endoftext|> more", "<|endoftext|", "|endoftext|>",
  "<s>", "</s>", "<s> hello </s>", "<s>hello</s>", "a<s>b", "<s", "<unk>", " <unk> ",
  "[CLS] hello [SEP] world [SEP]", "[MASK]", "the [MASK] sat", "[CLS", "[UNK]", "[PAD][PAD]",
  "<|begin_of_text|>Hello<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>",
  "<|reserved_special_token_0|><|reserved_special_token_1|>", "<|begin_of_text|", "<<|eot_id|>>",
  "Count to nineteen: one, two, three, four, five.", "On the pond, there lived a small yellow duck.",
  "\"Hello, lion,\" said the duck. \"Roar!\" said the lion.", "When the sun went down, the duck went home.",
  "▁already▁has▁metaspace", "mixed▁and spaces", "under_score snake_case camelCase PascalCase kebab-case",
  "email: a.b+c@d-e.fg", "C:\\Windows\\System32\\", "$HOME/.config/app.json", "#hashtag @mention",
  "100% of 3/4 = 75%", "£10 €20 ¥30 $40 ₹50", "α+β=γ ∀x∃y ∑∫∂√∞", "→ ← ↑ ↓ ⇒ ⇔", "♠♣♥♦ ★☆",
];

// Seeded random texts from fragments, so that the sample is large and
// varied but the fixture reproducible.
let seed = 0x9e3779b9;
function rnd(n) {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed % n;
}
const fragments = [
  "the", "The", " duck", " went", "home", "lion", " said", "ing", "tion", "'s", "'t", "'re", "'LL", "n't",
  " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\u00a0", "\u3000",
  "0", "7", "42", "123", "2024", "3.14", "1,000", "٣", "½",
  ".", ",", "!", "?", "...", "--", "()", "[]", "{}", "\"", "'", "`", "#", "@", "&", "*", "/", "\\", "_", "|",
  "é", "ü", "ß", "ñ", "ç", "e\u0301", "Ω", "Σ", "π", "ж", "Ж", "ש", "ع", "न", "ि", "中", "文", "日本", "한", "ไ",
  "😀", "👍🏽", "🇫🇷", "❤️", "✨", "\u200d", "\u200b", "\u0007", "ﬁ", "Ｆ", "™",
  "<|endoftext|>", "<s>", "</s>", "[CLS]", "[SEP]", "[MASK]", "<|eot_id|>", "<|im_start|>", "<unk>",
  "supercalifragilistic", "aaaaaaaaaaaaaaaaaaaaaaaaa", "x", "Q", "zz",
];
const generated = [];
for (let k = 0; k < 420; k++) {
  const n = 1 + rnd(k % 5 === 0 ? 40 : 12);
  let s = "";
  for (let i = 0; i < n; i++) s += fragments[rnd(fragments.length)];
  generated.push(s);
}
const texts = [...handWritten, ...generated];

const exclusions = {
  gpt2: ["U+0085 and U+FEFF (JavaScript \\s)", (t) => /[\u0085\ufeff]/.test(t)],
  smollm2: ["U+0085 and U+FEFF (JavaScript \\s)", (t) => /[\u0085\ufeff]/.test(t)],
  llama3: ["U+017F (ASCII-only (?i:) folding)", (t) => t.includes("\u017f")],
  qwen2: ["U+017F (ASCII-only (?i:) folding)", (t) => t.includes("\u017f")],
  bert: ["CJK beyond U+FFFF (UTF-16 CJK padding)", (t) => /[\u{20000}-\u{2FA1F}]/u.test(t)],
  bertcased: ["CJK beyond U+FFFF (UTF-16 CJK padding)", (t) => /[\u{20000}-\u{2FA1F}]/u.test(t)],
  albert: ["U+2581 (Metaspace split)", (t) => t.includes("\u2581")],
};

for (const name of fs.readdirSync(root).sort()) {
  const dir = path.join(root, name);
  const file = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(file)) continue;
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  const cfgFile = path.join(dir, "tokenizer_config.json");
  const cfg = fs.existsSync(cfgFile) ? JSON.parse(fs.readFileSync(cfgFile, "utf8")) : {};
  const tok = new Tokenizer(json, cfg);
  const byteFallback = json.model.type === "Unigram" && json.model.byte_fallback;
  const ids = (tokens) => tokens.flatMap((t) => {
    const a = tok.added_tokens_map.get(t);
    if (a) return [a.id];
    const id = tok.model.tokens_to_ids.get(t);
    if (id !== undefined) return [id];
    if (byteFallback) {
      return Array.from(new TextEncoder().encode(t), (b) => tok.model.tokens_to_ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`));
    }
    return [tok.model.unk_token_id];
  });
  const [why, exclude] = exclusions[name] ?? ["", () => false];
  const cases = [];
  let excluded = 0;
  texts.forEach((text, i) => {
    if (exclude(text)) { excluded++; return; }
    const plain = ids(tok.tokenize(text));
    const withSpecial = ids(tok.tokenize(text, { add_special_tokens: true }));
    if (!byteFallback) {
      const e = tok.encode(text, { add_special_tokens: false }).ids;
      if (JSON.stringify(e) !== JSON.stringify(plain)) throw new Error(`${name}: encode and tokenize disagree on ${JSON.stringify(text)}`);
    }
    const c = { text, ids: plain, special: withSpecial };
    c.decoded = plain.length > 0 ? tok.decode(plain, { clean_up_tokenization_spaces: false }) : "";
    // Its ByteLevel post-processor drops the second text of a pair (Rust
    // keeps it), so those fixtures have no pairs.
    if (i % 7 === 3 && json.post_processor?.type !== "ByteLevel") {
      const pair = texts[(i * 31 + 5) % texts.length];
      if (!exclude(pair)) {
        c.pair = pair;
        const toks = tok.tokenize(text, { text_pair: pair, add_special_tokens: true });
        const types = tok.encode(text, { text_pair: pair, add_special_tokens: true, return_token_type_ids: true }).token_type_ids;
        c.pair_ids = ids(toks);
        // One type per token; a token that byte fallback spells with several
        // ids gives each of them its type.
        c.pair_types = types ? toks.flatMap((t, k) => ids([t]).map(() => types[k])) : null;
      }
    }
    cases.push(c);
  });
  const out = { reference: `${pkg.name}@${pkg.version}`, excluded: excluded ? `${excluded} texts with ${why}` : "", cases };
  fs.writeFileSync(path.join(dir, "ids.json"), JSON.stringify(out, null, 0).replace(/\},\{/g, "},\n{") + "\n");
  console.log(`${name}: ${cases.length} texts${excluded ? `, ${excluded} excluded` : ""}`);
}
