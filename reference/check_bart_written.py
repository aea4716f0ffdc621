#!/usr/bin/env python3
"""Checks the BART directories tformer writes (hfbart.Save, `convert` of an
encoder-decoder to a directory) against the independent PyTorch BART of
reference/hf_bart_dirs.py.

    /usr/bin/python3 reference/check_bart_written.py testdata/bart/written

Each directory under the argument was written by hfbart/written_test.go's
TestWrittenGolden from a model built in Go, beside NAME.logits.json (the
engine's logits on two (source, target) pairs, the second source padded).
This script reads the written config.json as transformers' BartConfig
defines its fields (d_model, encoder_/decoder_layers, *_attention_heads,
*_ffn_dim, max_position_embeddings, activation_function, scale_embedding,
tie_word_embeddings), the weights by Hugging Face's names from
model.safetensors (parsed by reference/read_fixtures.parse), checks that
exactly BART's tensors are there (final_logits_bias included), runs the
float64 BART forward of hf_bart_dirs.py and compares its logits with the
engine's: max |diff| <= 1e-5 * max |logit|.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_bart_dirs as ref  # noqa: E402
import read_fixtures  # noqa: E402


def bart_names(c, tied):
    names = ["model.shared.weight"]
    for stack, n in (("encoder", c["encoder_layers"]), ("decoder", c["decoder_layers"])):
        names.append(f"model.{stack}.embed_positions.weight")
        names += [f"model.{stack}.layernorm_embedding.weight", f"model.{stack}.layernorm_embedding.bias"]
        for i in range(n):
            p = f"model.{stack}.layers.{i}."
            for a in ("self_attn",) + (("encoder_attn",) if stack == "decoder" else ()):
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    names += [p + a + "." + proj + ".weight", p + a + "." + proj + ".bias"]
                names += [p + a + "_layer_norm.weight", p + a + "_layer_norm.bias"]
            for x in ("fc1", "fc2", "final_layer_norm"):
                names += [p + x + ".weight", p + x + ".bias"]
    if not tied:
        names.append("lm_head.weight")
    names.append("final_logits_bias")
    return names


def check(d, logits_path):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    assert c["model_type"] == "bart" and c["architectures"] == ["BartForConditionalGeneration"], c
    assert c["encoder_attention_heads"] == c["decoder_attention_heads"] and c["encoder_ffn_dim"] == c["decoder_ffn_dim"]
    tied = c.get("tie_word_embeddings", True)
    _, tensors = read_fixtures.parse(os.path.join(d, "model.safetensors"))
    W = {n: torch.from_numpy(x.astype("float64")) for n, x in tensors}
    want = bart_names(c, tied)
    if sorted(W) != sorted(want):
        raise SystemExit(f"{d}: tensors {sorted(set(W) ^ set(want))[:5]} differ from BART's")
    assert float(W["final_logits_bias"].abs().max()) == 0
    ref.D, ref.FFN, ref.VOCAB = c["d_model"], c["encoder_ffn_dim"], c["vocab_size"]
    ref.ENC, ref.DEC, ref.MAXPOS = c["encoder_layers"], c["decoder_layers"], c["max_position_embeddings"]
    with open(logits_path) as f:
        g = json.load(f)
    src, tgt = torch.tensor(g["src"]), torch.tensor(g["tgt"])
    mask = torch.arange(src.shape[1])[None] < torch.tensor(g["src_lens"])[:, None]
    out = ref.forward(W, src, mask, tgt, c.get("scale_embedding", False), c.get("activation_function", "gelu"),
                      c["encoder_attention_heads"], tied).flatten()
    got = torch.tensor(g["logits"], dtype=torch.float64)
    worst, scale = float((out - got).abs().max()), float(out.abs().max())
    ok = worst <= 1e-5 * scale
    print(f"{os.path.basename(d)}: max |diff| {worst:.3g} of max |logit| {scale:.3g}: {'ok' if ok else 'FAIL'}")
    return ok


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "testdata/bart/written"
    ok = True
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isdir(d):
            ok &= check(d, d + ".logits.json")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
