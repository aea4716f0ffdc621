#!/usr/bin/env node
// Writes the GPT-2 tokenizer fixture tokenizer/testdata/gpt2_tiktoken.json:
// a varied text sample and the token ids an independent GPT-2 encoder gives
// for it. The encoder is the npm package js-tiktoken (a JavaScript port of
// OpenAI's tiktoken, with its own copy of GPT-2's ranks), encoding "gpt2".
//
// Regenerate from the repository root (needs node and the npm registry):
//
//   npm install --prefix /tmp/tformer-npm js-tiktoken@1.0.21
//   NODE_PATH=/tmp/tformer-npm/node_modules node reference/gpt2_tokens.cjs \
//       tokenizer/testdata/gpt2_tiktoken.json
//
// The output is deterministic. JavaScript's \s differs from Unicode's
// White_Space (which OpenAI's Python encoder and tformer use) in two
// characters, U+0085 and U+FEFF, so the sample avoids both; the pre-token
// fixture from reference/gpt2_split_ref.py covers them.
"use strict";

const fs = require("fs");
const { getEncoding } = require("js-tiktoken");
const path = require("path");
const pkg = JSON.parse(fs.readFileSync(
  path.join(path.dirname(require.resolve("js-tiktoken")), "..", "package.json"), "utf8"));

const enc = getEncoding("gpt2");

const handWritten = [
  "",
  "Hello world",
  "Hello, world! How are you today?",
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure you'll see they've gone; it's what we'd do. He's, she'd, we're, you've, I'll, don't",
  "I'M LOUD, YOU'RE LOUD, IT'S LOUD",
  "'s 't 're 've 'm 'll 'd ' s '' ''s '''re",
  "rock 'n' roll, 'quoted', \"double\", `back`",
  "  leading spaces", "trailing spaces   ", "   ", " ", "\n", "\n\n", "\n\n\n",
  "a  b   c    d", "tab\tseparated\t\tvalues", "mixed \t \n whitespace \r\n lines",
  "line one\nline two\n\nparagraph\n",
  "\r\n\r\nwindows\r\n",
  "x" + " ".repeat(40) + "y",
  " ".repeat(17),
  "\t\t\tindented\n\t\t\t\tmore",
  "numbers: 0 1 12 123 1234 12345 1234567890 3.14159 -42 +7 1,000,000 2024-05-20 0x1F 1e-5",
  "version 1.2.3-beta.4, ip 192.168.0.1, phone +1 (555) 010-9999",
  "func main() {\n\tfmt.Println(\"hello, 世界\")\n\tfor i := 0; i < 10; i++ {\n\t\tx += i * 2 // comment\n\t}\n}\n",
  "def f(x):\n    return x**2 + 1  # square\n\nclass A:\n    pass\n",
  "if (a && b || !c) { return a->b[0] >= 3 ? 'y' : \"n\"; }",
  "<html><body class=\"x\">&amp; &lt;tag&gt;</body></html>",
  "https://example.com/path?query=1&x=y#frag user@example.org",
  "Ünïcödé façade naïve café résumé coöperate Straße",
  "Привет, мир! Как дела?", "Γειά σου Κόσμε", "שלום עולם", "مرحبا بالعالم ٣٤٥",
  "नमस्ते दुनिया", "こんにちは世界、カタカナ", "你好，世界！中文标点。", "안녕하세요 세계",
  "ภาษาไทย", "ᚠᛇᚻ᛫ᛒᛦᚦ",
  "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇺🇸🇫🇷 ❤️ ✨ 🎉🎉🎉",
  "😀", " 😀", "a😀b", "🤖🦀🐹",
  "numbers in other scripts: ٠١٢ ४५६ ² ³ ½ ¾ Ⅻ ⅷ １２３ ①②",
  "combining: e\u0301 a\u0308 n\u0303 ｅ\u0301",
  "zero\u200bwidth\u200cjoin\u200dthings \u2060",
  "spaces: a\u00a0b\u2002c\u2003d\u3000e\u202ff\u205fg\u1680h\u2028i\u2029j",
  "nbsp before word\u00a0word and \u00a0 \u00a0 runs",
  "symbols: © ® ™ § ¶ † ‡ • … ‰ € £ ¥ ¢ ∞ ≠ ≤ ≥ ± × ÷ √ ∑ ∫ → ← ↑ ↓",
  "punct!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) ___ +++",
  "MiXeD CaSe wOrDs AND UPPERCASE and lowercase",
  "<|endoftext|> is just text here",
  "a'b c's d't e're f've g'm h'll i'd j'x",
  "Control\u0001chars\u0007and\u001bescape\u007f",
  "\u00ad soft hyphen and \u00a7 section",
  "Long word: pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
  "=".repeat(80) + "\n" + "-".repeat(64),
  "1111111111111111111111111111111111",
];

// A small deterministic generator (xorshift32) for random strings.
let state = 0x9e3779b9;
function next() {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state;
}
const pool = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
  ..."0123456789", ..."!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~",
  " ", " ", " ", " ", "\t", "\n", "\r", "\u000b", "\u000c", "'", "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d",
  "é", "ß", "ñ", "Ω", "ж", "中", "文", "あ", "한", "ع", "ह", "\u0301", "\u00a0", "\u2003", "\u3000", "\u200b",
  "²", "½", "Ⅻ", "٣", "１", "😀", "👍🏽", "🇺🇸", "€", "©", "…", "—",
];
const randomCases = [];
for (let i = 0; i < 400; i++) {
  const len = next() % 40;
  let s = "";
  for (let j = 0; j < len; j++) s += pool[next() % pool.length];
  randomCases.push(s);
}

const cases = [...handWritten, ...randomCases].map((text) => ({
  text,
  ids: Array.from(enc.encode(text, [], [])),
}));

const out = {
  generator: "reference/gpt2_tokens.cjs",
  encoder: `js-tiktoken@${pkg.version} getEncoding("gpt2"), special tokens encoded as text`,
  cases,
};
fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 0) + "\n");
console.error(`wrote ${cases.length} cases to ${process.argv[2]}`);
