#!/usr/bin/env python3
"""Writes tokenizer/testdata/gpt2_pretokens.json: strings and the pieces
GPT-2's pre-tokenisation pattern cuts them into, found with the `regex`
module (the engine OpenAI's GPT-2 encoder uses; Debian package
python3-regex). tformer implements the pattern by hand, since Go's regexp has
no lookahead; this fixture checks that hand-written split, including the
characters where JavaScript's \\s differs from Unicode's White_Space
(U+0085, U+FEFF), which the js-tiktoken id fixture has to avoid.

    /usr/bin/python3 reference/gpt2_split_ref.py tokenizer/testdata/gpt2_pretokens.json

The output is deterministic.
"""

import json
import random
import sys

import regex

# GPT-2's pre-tokenisation pattern, as published with its encoder.
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

HAND = [
    "", " ", "  ", "a", " a", "  a", "a ", "a  ", "\n", "\n\na", " \n a", "a\n\n\nb",
    "\u0085a\u0085 \u0085", "\ufeffword \ufeff\ufeff", "x\u00a0\u00a0y", "\u3000\u3000z",
    "it's 'tis ''s '' s 'S 'll've", "12ab 3 4.5 ½Ⅻ", "😀 😀😀 a😀",
    "\t \t b", "  \t\n  c  ", "e\u0301\u0301 \u0301", "a.b,c;d", " ,, ..",
    "\u2028\u2029 \u2028x", "\x1c\x1d\x1e\x1f sep", "\x0b\x0c v",
]

POOL = (list("abcXYZ019") + [" "] * 6 + ["\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\ufeff", "\u00a0",
        "\u2003", "\u3000", "\u2028", "\u200b", "\x1c", "'", "'", "s", "t", "re", "ll", "é", "中", "\u0301",
        "²", "Ⅻ", "٣", "😀", "!", ".", "-", "_", "€"])


def main():
    rng = random.Random(20240520)
    cases = list(HAND)
    for _ in range(600):
        n = rng.randrange(0, 30)
        cases.append("".join(rng.choice(POOL) for _ in range(n)))
    out = []
    for text in cases:
        pieces = PATTERN.findall(text)
        assert "".join(pieces) == text, text
        out.append({"text": text, "pieces": pieces})
    doc = {"generator": "reference/gpt2_split_ref.py", "engine": f"python regex {regex.__version__}", "cases": out}
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(out)} cases to {sys.argv[1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
