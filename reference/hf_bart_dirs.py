#!/usr/bin/env python3
"""Writes tiny Hugging Face BartForConditionalGeneration directories for the
hfbart loader tests, with the logits an independent BART forward computes.

    /usr/bin/python3 reference/hf_bart_dirs.py --out testdata/bart

Nothing here comes from tformer: the weights are drawn at random under
Hugging Face's own tensor names (model.shared.weight,
model.encoder.layers.i.self_attn.q_proj.weight, ...), and the forward pass
is BART as Lewis et al. (2019) and transformers' modeling_bart describe it,
written out here in float64 PyTorch (transformers itself is not installed):

  * token embedding (times sqrt(d_model) when scale_embedding) plus a
    learned position table indexed by position + 2, then layernorm_embedding;
  * post-LN layers: x = LN(x + SelfAttn(x)); in the decoder then
    x = LN(x + CrossAttn(x, enc)); then x = LN(x + fc2(act(fc1(x))));
  * attention with q scaled by head_dim^-0.5 before q.k, the encoder's
    padded keys masked in encoder self-attention and in cross-attention,
    causal masking in decoder self-attention;
  * logits = x . shared^T (or lm_head^T when untied) + final_logits_bias.

The weights are rounded to the stored dtype (F16 or BF16, nearest even)
before the forward, so the logits are those of the files' values. Each
directory gets config.json and model.safetensors (written by the small
writer below); <name>.expected.json beside it holds the sources, their
lengths, the decoder inputs and the logits [B, T, vocab]. The output is
deterministic (fixed seeds, one thread, float64).
"""

import argparse
import json
import math
import os
import struct

import numpy as np
import torch

torch.set_num_threads(1)

# name, dtype, scale_embedding, activation, tied, final_logits_bias stored,
# tied copies stored (encoder/decoder embed_tokens and lm_head), heads,
# tokenizer files
DIRS = [
    ("bart_f32", "F32", False, "gelu", True, True, True, 2, True),
    ("bart_scaled_gelunew_f16", "F16", True, "gelu_new", True, True, False, 4, False),
    ("bart_untied_relu_bf16", "BF16", True, "relu", False, False, False, 2, False),
]

VOCAB, D, FFN, ENC, DEC, MAXPOS = 270, 16, 40, 2, 2, 12
PAD, BOS, EOS = 1, 0, 2


def bytes_to_unicode():
    """GPT-2's byte alphabet: printable bytes stand for themselves, the rest
    are shifted to code points from 256 up, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


def tokenizer_files():
    """A small BART-style vocabulary: <s> <pad> </s> <unk>, the 256 bytes, a
    few merges, and <mask> last (id 269)."""
    u = bytes_to_unicode()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[u[b]] = 4 + b
    sp = u[ord(" ")]
    merges = [("t", "h"), ("th", "e"), (sp, "the"), ("a", "n"), (sp, "an"), ("i", "n"), ("in", "g"), (sp, "a"), ("e", "r")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<mask>"] = len(vocab)
    assert len(vocab) == VOCAB, len(vocab)
    mtxt = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    return json.dumps(vocab, ensure_ascii=False).encode(), mtxt.encode()


def round_to(x, dt):
    if dt == "F16":
        return x.to(torch.float16).to(torch.float64)
    if dt == "BF16":
        return x.to(torch.float32).to(torch.bfloat16).to(torch.float64)
    return x.to(torch.float32).to(torch.float64)


def raw_bytes(x, dt):
    if dt == "F16":
        return x.to(torch.float16).numpy().tobytes()
    if dt == "BF16":
        return x.to(torch.float32).to(torch.bfloat16).view(torch.int16).numpy().tobytes()
    return x.to(torch.float32).numpy().tobytes()


def write_safetensors(path, tensors, dt):
    header, blobs, off = {}, [], 0
    for name, x in tensors:
        b = raw_bytes(x, dt)
        header[name] = {"dtype": dt, "shape": list(x.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_weights(gen, tied, flb, copies):
    """Random weights under Hugging Face's names, in its order."""
    w = []

    def rnd(*shape, std=0.3):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    def ln(p):
        w.append((p + ".weight", 1 + rnd(D, std=0.1)))
        w.append((p + ".bias", rnd(D, std=0.1)))

    def lin(p, out, inp):
        w.append((p + ".weight", rnd(out, inp, std=1 / math.sqrt(inp))))
        w.append((p + ".bias", rnd(out, std=0.1)))

    shared = rnd(VOCAB, D, std=0.5)
    w.append(("model.shared.weight", shared))
    for stack, n in (("encoder", ENC), ("decoder", DEC)):
        if copies:
            w.append((f"model.{stack}.embed_tokens.weight", shared.clone()))
        w.append((f"model.{stack}.embed_positions.weight", rnd(MAXPOS + 2, D, std=0.5)))
        ln(f"model.{stack}.layernorm_embedding")
        for i in range(n):
            p = f"model.{stack}.layers.{i}."
            for a in ("self_attn",) + (("encoder_attn",) if stack == "decoder" else ()):
                for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
                    lin(p + a + "." + proj, D, D)
                ln(p + a + "_layer_norm")
            lin(p + "fc1", FFN, D)
            lin(p + "fc2", D, FFN)
            ln(p + "final_layer_norm")
    if not tied:
        w.append(("lm_head.weight", rnd(VOCAB, D, std=0.5)))
    elif copies:
        w.append(("lm_head.weight", shared.clone()))
    if flb:
        w.append(("final_logits_bias", torch.zeros(1, VOCAB, dtype=torch.float64)))
    return w


def layer_norm(x, W, p):
    return torch.nn.functional.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], eps=1e-5)


def linear(x, W, p):
    return x @ W[p + ".weight"].T + W[p + ".bias"]


def attention(xq, xkv, W, p, heads, key_mask, causal):
    """BART's attention: q = q_proj(x) * head_dim^-0.5; softmax(q k^T +
    mask) v; out_proj. key_mask [B, S] is True at real keys."""
    B, T, _ = xq.shape
    S = xkv.shape[1]
    hd = D // heads
    q = linear(xq, W, p + ".q_proj") * hd ** -0.5
    k = linear(xkv, W, p + ".k_proj")
    v = linear(xkv, W, p + ".v_proj")
    q = q.view(B, T, heads, hd).transpose(1, 2)
    k = k.view(B, S, heads, hd).transpose(1, 2)
    v = v.view(B, S, heads, hd).transpose(1, 2)
    s = q @ k.transpose(-1, -2)
    allow = torch.ones(B, 1, T, S, dtype=torch.bool)
    if key_mask is not None:
        allow = allow & key_mask[:, None, None, :]
    if causal:
        allow = allow & torch.tril(torch.ones(T, S, dtype=torch.bool))[None, None]
    s = s.masked_fill(~allow, float("-inf"))
    y = torch.softmax(s, dim=-1) @ v
    return linear(y.transpose(1, 2).reshape(B, T, D), W, p + ".out_proj")


def act(x, name):
    if name == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name == "gelu_new":
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "relu":
        return torch.clamp(x, min=0)
    raise ValueError(name)


def embed(ids, W, stack, scale):
    T = ids.shape[1]
    e = W["model.shared.weight"][ids] * (math.sqrt(D) if scale else 1.0)
    e = e + W[f"model.{stack}.embed_positions.weight"][torch.arange(T) + 2][None]
    return layer_norm(e, W, f"model.{stack}.layernorm_embedding")


def forward(W, src, src_mask, tgt, scale, actname, heads, tied):
    h = embed(src, W, "encoder", scale)
    for i in range(ENC):
        p = f"model.encoder.layers.{i}."
        h = layer_norm(h + attention(h, h, W, p + "self_attn", heads, src_mask, False), W, p + "self_attn_layer_norm")
        h = layer_norm(h + linear(act(linear(h, W, p + "fc1"), actname), W, p + "fc2"), W, p + "final_layer_norm")
    enc = h
    h = embed(tgt, W, "decoder", scale)
    for i in range(DEC):
        p = f"model.decoder.layers.{i}."
        h = layer_norm(h + attention(h, h, W, p + "self_attn", heads, None, True), W, p + "self_attn_layer_norm")
        h = layer_norm(h + attention(h, enc, W, p + "encoder_attn", heads, src_mask, False), W, p + "encoder_attn_layer_norm")
        h = layer_norm(h + linear(act(linear(h, W, p + "fc1"), actname), W, p + "fc2"), W, p + "final_layer_norm")
    out = W["model.shared.weight"] if tied else W["lm_head.weight"]
    logits = h @ out.T
    if "final_logits_bias" in W:
        logits = logits + W["final_logits_bias"]
    return logits


def config_json(scale, actname, tied, heads):
    c = {
        "architectures": ["BartForConditionalGeneration"],
        "model_type": "bart",
        "vocab_size": VOCAB,
        "d_model": D,
        "encoder_layers": ENC,
        "decoder_layers": DEC,
        "encoder_attention_heads": heads,
        "decoder_attention_heads": heads,
        "encoder_ffn_dim": FFN,
        "decoder_ffn_dim": FFN,
        "max_position_embeddings": MAXPOS,
        "activation_function": actname,
        "scale_embedding": scale,
        "pad_token_id": PAD,
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "decoder_start_token_id": EOS,
        "forced_eos_token_id": EOS,
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "torch_dtype": "float32",
    }
    if not tied:
        c["tie_word_embeddings"] = False
    return json.dumps(c, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/bart")
    args = ap.parse_args()
    # Two pairs: the second source is padded (3 real tokens of 7).
    src = torch.tensor([[0, 40, 77, 201, 9, 133, 2], [0, 55, 2, PAD, PAD, PAD, PAD]])
    src_lens = [7, 3]
    src_mask = torch.arange(src.shape[1])[None] < torch.tensor(src_lens)[:, None]
    tgt = torch.tensor([[EOS, 0, 12, 250, 61], [EOS, 0, 88, 3, 269]])
    for seed, (name, dt, scale, actname, tied, flb, copies, heads, tok) in enumerate(DIRS):
        gen = torch.Generator().manual_seed(1000 + seed)
        ws = make_weights(gen, tied, flb, copies)
        ws = [(n, round_to(x, dt)) for n, x in ws]
        W = dict(ws)
        logits = forward(W, src, src_mask, tgt, scale, actname, heads, tied)
        # Self-check: padded keys do not matter (their ids changed).
        src2 = src.clone()
        src2[1, 3:] = 7
        again = forward(W, src2, src_mask, tgt, scale, actname, heads, tied)
        assert torch.allclose(logits, again, atol=0, rtol=0), "padding leaks"
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        write_safetensors(os.path.join(d, "model.safetensors"), ws, dt)
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write(config_json(scale, actname, tied, heads))
        if tok:
            v, m = tokenizer_files()
            with open(os.path.join(d, "vocab.json"), "wb") as f:
                f.write(v)
            with open(os.path.join(d, "merges.txt"), "wb") as f:
                f.write(m)
        # Greedy decoding of the first source from the decoder start id
        # (</s>), each step the full forward over the prefix, up to 8 ids
        # or </s>; the margin between the best two logits is kept so that a
        # near-tie cannot make the comparison fragile.
        dec, margin = [EOS], float("inf")
        for _ in range(8):
            row = forward(W, src[:1], src_mask[:1], torch.tensor([dec]), scale, actname, heads, tied)[0, -1]
            top = torch.topk(row, 2).values
            margin = min(margin, float(top[0] - top[1]))
            nxt = int(row.argmax())
            if nxt == EOS:
                break
            dec.append(nxt)
        assert margin > 1e-3, f"greedy near-tie {margin}"
        exp = {"src": src.tolist(), "src_lens": src_lens, "tgt": tgt.tolist(), "greedy": dec[1:], "greedy_margin": round(margin, 6),
               "logits_shape": list(logits.shape), "logits": [round(float(x), 9) for x in logits.flatten()]}
        with open(os.path.join(args.out, name + ".expected.json"), "w") as f:
            json.dump(exp, f)
        print(f"{name}: {dt}, |logits| max {logits.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
