#!/usr/bin/env python3
"""Writes Hugging Face-layout Llama-family directories for the loader tests.

    /usr/bin/python3 reference/hf_llama_dirs.py --out testdata/hf/llama

Each directory is built from a golden fixture of reference/torch_llama_ref.py
(parameters in tformer's layout, read with reference/read_fixtures.parse),
renamed to Hugging Face's names (model.layers.i.self_attn.q_proj.weight, ...;
tformer's fused qkv split back into q, k and v; shared blocks written out
once per layer, as a Hugging Face model stores them), with a config.json of
the family, in F32, F16 or BF16 (rounded to nearest even here), in one file
or in shards with model.safetensors.index.json. expected.json holds the
logits of the stored (rounded) weights, recomputed with the PyTorch
reference model, and the tokens.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_fixtures  # noqa: E402
import torch_llama_ref as ref  # noqa: E402

# name, fixture, model_type, dtype, shards, write lm_head when tied
DIRS = [
    ("llama_f32", "llama_tied_gqa", "llama", "F32", 1, False),
    ("llama3_bf16_sharded", "llama_untied_mqa_llama3_hd8", "llama", "BF16", 3, False),
    ("llama_f16_tied_lm_head", "llama_tied_gqa", "llama", "F16", 1, True),
    ("qwen2_f32_expanded", "qwen2_tied_qkvbias_shareall", "qwen2", "F32", 2, False),
    ("gemma_bf16", "gemma_tied_mqa_shareattn_g2", "gemma", "BF16", 1, False),
    ("mistral_f32_window3", "mistral_window3_gqa_untied", "mistral", "F32", 1, False),
    ("gemma2_f32", "gemma2_window3_every2_softcaps_qscalar_postnorms_shareattn_g2", "gemma2", "F32", 1, False),
]

# Gemma 2 names its norms differently: post_attention_layernorm is the norm
# after the attention (Llama's name for the pre-FFN norm), and the FFN has
# pre_feedforward_layernorm and post_feedforward_layernorm.
GEMMA2_NORMS = {"attn_post": "post_attention_layernorm", "ffn_pre": "pre_feedforward_layernorm",
                "ffn_post": "post_feedforward_layernorm"}


def round_to(x, dt):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if dt == "F32":
        return x, x.astype("<f4").tobytes()
    if dt == "F16":
        h = x.astype(np.float16)
        return h.astype(np.float32), h.astype("<f2").tobytes()
    u = x.view(np.uint32).astype(np.uint64)
    b = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    back = (b.astype(np.uint32) << 16).view(np.float32)
    return back, b.astype("<u2").tobytes()


def write_st(path, items, dt):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, raw, shape in items:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/hf/llama")
    ap.add_argument("--fixtures", default="testdata/golden/llama")
    args = ap.parse_args()
    torch.set_num_threads(1)
    fixtures = {name: (c, B, T) for name, c, B, T, _ in ref.FIXTURES}
    for dname, fx, mt, dt, nshards, lm_head in DIRS:
        c, B, T = fixtures[fx]
        meta, tensors = read_fixtures.parse(os.path.join(args.fixtures, fx + ".safetensors"))
        P = {n[len("param."):]: v for n, v in tensors if n.startswith("param.")}
        tokens = dict(tensors)["tokens"]
        _, _, ai, fi = ref.block_layout(c)
        H, KV, dh, d = c["heads"], ref.kv_heads(c), ref.head_dim(c), c["d_model"]
        hf = [("model.embed_tokens.weight", P["wte"])]
        for l in range(c["layers"]):
            a, f = f"attn.{ai[l]}.", f"ffn.{fi[l]}."
            p = f"model.layers.{l}."
            q, k, v = np.split(P[a + "qkv.w"], [H * dh, H * dh + KV * dh])
            hf += [(p + "input_layernorm.weight", P[a + "ln.w"]), (p + "self_attn.q_proj.weight", q),
                   (p + "self_attn.k_proj.weight", k), (p + "self_attn.v_proj.weight", v),
                   (p + "self_attn.o_proj.weight", P[a + "proj.w"])]
            if a + "qkv.b" in P:
                qb, kb, vb = np.split(P[a + "qkv.b"], [H * dh, H * dh + KV * dh])
                hf += [(p + "self_attn.q_proj.bias", qb), (p + "self_attn.k_proj.bias", kb), (p + "self_attn.v_proj.bias", vb)]
            pre_ffn = "post_attention_layernorm"
            if c["post_norms"]:
                hf.append((p + GEMMA2_NORMS["attn_post"] + ".weight", P[a + "postln.w"]))
                pre_ffn = GEMMA2_NORMS["ffn_pre"]
            hf += [(p + pre_ffn + ".weight", P[f + "ln.w"]), (p + "mlp.gate_proj.weight", P[f + "gate.w"]),
                   (p + "mlp.up_proj.weight", P[f + "up.w"]), (p + "mlp.down_proj.weight", P[f + "down.w"])]
            if c["post_norms"]:
                hf.append((p + GEMMA2_NORMS["ffn_post"] + ".weight", P[f + "postln.w"]))
        hf.append(("model.norm.weight", P["lnf.w"]))
        if not c["tie"]:
            hf.append(("lm_head.weight", P["lm_head"]))
        elif lm_head:
            hf.append(("lm_head.weight", P["wte"]))
        # Round, and recompute the logits of the rounded weights with the
        # reference model (unshared: one block per layer).
        rounded = {n: round_to(x, dt) for n, x in hf}
        cu = dict(c, share="none", groups=1)
        m = ref.Model(cu).double()
        g = lambda n: torch.from_numpy(rounded[n][0].astype(np.float64))
        with torch.no_grad():
            m.embed.weight.copy_(g("model.embed_tokens.weight"))
            for l in range(c["layers"]):
                p = f"model.layers.{l}."
                at, ml = m.attn[l], m.mlp[l]
                at.norm.weight.copy_(g(p + "input_layernorm.weight"))
                for nm in ("q_proj", "k_proj", "v_proj", "o_proj"):
                    getattr(at, nm).weight.copy_(g(p + "self_attn." + nm + ".weight"))
                    if getattr(at, nm).bias is not None:
                        getattr(at, nm).bias.copy_(g(p + "self_attn." + nm + ".bias"))
                if c["post_norms"]:
                    at.post_norm.weight.copy_(g(p + GEMMA2_NORMS["attn_post"] + ".weight"))
                    ml.norm.weight.copy_(g(p + GEMMA2_NORMS["ffn_pre"] + ".weight"))
                    ml.post_norm.weight.copy_(g(p + GEMMA2_NORMS["ffn_post"] + ".weight"))
                else:
                    ml.norm.weight.copy_(g(p + "post_attention_layernorm.weight"))
                for nm in ("gate_proj", "up_proj", "down_proj"):
                    getattr(ml, nm).weight.copy_(g(p + "mlp." + nm + ".weight"))
            m.norm.weight.copy_(g("model.norm.weight"))
            if m.lm_head is not None:
                m.lm_head.weight.copy_(g("lm_head.weight"))
            logits = m(torch.from_numpy(tokens.astype(np.int64)))
        cfg = {"model_type": mt, "architectures": [{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "gemma": "GemmaForCausalLM",
                                                  "mistral": "MistralForCausalLM", "gemma2": "Gemma2ForCausalLM"}[mt]],
               "vocab_size": c["vocab"], "hidden_size": d, "num_hidden_layers": c["layers"], "num_attention_heads": H,
               "num_key_value_heads": KV, "head_dim": dh, "intermediate_size": c["d_ff"],
               "max_position_embeddings": c["max_seq"], "rms_norm_eps": c["eps"], "rope_theta": c["rope_theta"],
               "tie_word_embeddings": c["tie"], "attention_bias": False, "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dt]}
        if mt in ("gemma", "gemma2"):
            cfg["hidden_activation"] = "gelu_pytorch_tanh"
        else:
            cfg["hidden_act"] = "silu"
        if c["sliding_window"]:
            # Mistral windows every layer; Gemma 2 the even ones (layer_idx % 2 == 0).
            assert (mt == "mistral" and not c["sliding_every"]) or (mt == "gemma2" and c["sliding_every"] == 2)
            cfg["sliding_window"] = c["sliding_window"]
        if mt == "gemma2":
            assert c["post_norms"] and c["norm_offset"] and c["embed_scale"]
            cfg["attn_logit_softcapping"] = c["attn_softcap"]
            cfg["final_logit_softcapping"] = c["final_softcap"]
            cfg["query_pre_attn_scalar"] = c["query_scalar"]
        if c["rope_scaling"]:
            cfg["rope_scaling"] = dict(c["rope_scaling"], rope_type="llama3")
        out = os.path.join(args.out, dname)
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            os.remove(os.path.join(out, f))
        with open(os.path.join(out, "config.json"), "w") as fh:
            json.dump(cfg, fh, indent=1)
        items = [(n, rounded[n][1], x.shape) for n, x in hf]
        if nshards == 1:
            write_st(os.path.join(out, "model.safetensors"), items, dt)
        else:
            wm = {}
            per = (len(items) + nshards - 1) // nshards
            for s in range(nshards):
                fname = f"model-{s + 1:05d}-of-{nshards:05d}.safetensors"
                part = items[s * per:(s + 1) * per]
                write_st(os.path.join(out, fname), part, dt)
                wm.update({n: fname for n, _, _ in part})
            with open(os.path.join(out, "model.safetensors.index.json"), "w") as fh:
                json.dump({"metadata": {"total_size": sum(len(r) for _, r, _ in items)}, "weight_map": wm}, fh, indent=1)
        with open(os.path.join(out, "expected.json"), "w") as fh:
            json.dump({"tokens": tokens.reshape(-1).tolist(), "batch": B, "seq": T,
                       "logits": [float(x) for x in logits.reshape(-1).tolist()]}, fh)
        print(f"{dname}: {mt} {dt} {nshards} shard(s), {len(items)} tensors from {fx}")


if __name__ == "__main__":
    main()
