#!/usr/bin/env python3
"""Checks the Hugging Face directories tformer writes (hf.Save, `tformer
convert MODEL DIR`) against the independent PyTorch reference.

    /usr/bin/python3 reference/check_hf_written.py testdata/hf/llama_written

Each directory under the argument is one that hf/hf_test.go's
TestWrittenGolden wrote from a directory of reference/hf_llama_dirs.py
(testdata/hf/llama/NAME; the test keeps the written files byte for byte).
This script reads the written config.json the way transformers'
LlamaConfig / Qwen2Config / GemmaConfig define its fields (model_type
picks the family: Qwen2's q/k/v biases, Gemma's 1 + w norms, √d embedding
scale and tanh-GELU GeGLU; head_dim, num_key_value_heads, rope_theta,
rope_scaling of type llama3, rms_norm_eps, tie_word_embeddings,
attention_bias/mlp_bias), parses model.safetensors with
reference/read_fixtures.parse, builds reference/torch_llama_ref.py's model
from those values alone (float64), and compares its logits on the source
directory's tokens with the source's expected.json: they must agree to
1e-9 relative, since the weights are the same float32 values.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_fixtures  # noqa: E402
import torch_llama_ref as ref  # noqa: E402


def config_from_hf(h):
    mt = h["model_type"]
    if mt not in ("llama", "qwen2", "gemma"):
        raise SystemExit("model_type %s is not one this check knows" % mt)
    gemma = mt == "gemma"
    act = h.get("hidden_activation") or h.get("hidden_act")
    bias = "none"
    if mt == "qwen2":
        bias = "qkv"
    elif h.get("attention_bias") and h.get("mlp_bias"):
        bias = "all"
    elif h.get("attention_bias") or h.get("mlp_bias"):
        raise SystemExit("attention_bias without mlp_bias is not a tformer layout")
    rs = h.get("rope_scaling")
    if rs is not None:
        if rs.get("rope_type", rs.get("type")) != "llama3":
            raise SystemExit("rope_scaling %s" % rs)
        rs = {k: rs[k] for k in ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")}
    return ref.cfg(vocab=h["vocab_size"], d_model=h["hidden_size"], layers=h["num_hidden_layers"], heads=h["num_attention_heads"],
                   kv_heads=h.get("num_key_value_heads", h["num_attention_heads"]),
                   head_dim=h.get("head_dim", h["hidden_size"] // h["num_attention_heads"]),
                   d_ff=h["intermediate_size"], max_seq=h["max_position_embeddings"],
                   tie=h.get("tie_word_embeddings", gemma), rope_theta=float(h.get("rope_theta", 10000.0)), rope_scaling=rs,
                   eps=h.get("rms_norm_eps", 1e-6), bias=bias,
                   mlp="geglu" if gemma or act.startswith("gelu") else "swiglu",
                   activation="gelu_tanh" if gemma or act in ("gelu_pytorch_tanh", "gelu_new") else "gelu_erf",
                   norm_offset=gemma, embed_scale=gemma)


def check(d, src):
    with open(os.path.join(d, "config.json")) as fh:
        h = json.load(fh)
    c = config_from_hf(h)
    _, tensors = read_fixtures.parse(os.path.join(d, "model.safetensors"))
    W = dict(tensors)
    m = ref.Model(c).double()
    used = set()

    def g(n):
        used.add(n)
        return torch.from_numpy(W[n].astype(np.float64))

    with torch.no_grad():
        m.embed.weight.copy_(g("model.embed_tokens.weight"))
        for l in range(c["layers"]):
            p = "model.layers.%d." % l
            at, ml = m.attn[l], m.mlp[l]
            at.norm.weight.copy_(g(p + "input_layernorm.weight"))
            for nm in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(at, nm).weight.copy_(g(p + "self_attn." + nm + ".weight"))
                if getattr(at, nm).bias is not None:
                    getattr(at, nm).bias.copy_(g(p + "self_attn." + nm + ".bias"))
            ml.norm.weight.copy_(g(p + "post_attention_layernorm.weight"))
            for nm in ("gate_proj", "up_proj", "down_proj"):
                getattr(ml, nm).weight.copy_(g(p + "mlp." + nm + ".weight"))
                if getattr(ml, nm).bias is not None:
                    getattr(ml, nm).bias.copy_(g(p + "mlp." + nm + ".bias"))
        m.norm.weight.copy_(g("model.norm.weight"))
        if m.lm_head is not None:
            m.lm_head.weight.copy_(g("lm_head.weight"))
        if set(W) != used:
            raise SystemExit("%s: tensors the model does not use: %s" % (d, sorted(set(W) - used)))
        with open(os.path.join(src, "expected.json")) as fh:
            e = json.load(fh)
        tokens = torch.tensor(e["tokens"], dtype=torch.int64).view(e["batch"], e["seq"])
        got = m(tokens).reshape(-1).numpy()
    want = np.array(e["logits"])
    err = np.abs(got - want).max() / np.abs(want).max()
    ok = err <= 1e-9
    print("%s: %s (%s, %d tensors): logits relative error %.2g %s" % (os.path.basename(d), h["model_type"],
          "tied" if c["tie"] else "untied", len(W), err, "ok" if ok else "FAIL"))
    return ok


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "testdata/hf/llama_written"
    src_root = os.path.join(os.path.dirname(root.rstrip("/")), "llama")
    names = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    if not names:
        raise SystemExit("no directories under %s" % root)
    ok = all([check(os.path.join(root, n), os.path.join(src_root, n)) for n in names])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
