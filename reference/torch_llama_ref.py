#!/usr/bin/env python3
"""Independent PyTorch reference for tformer's Llama-family decoders.

Writes golden fixtures (safetensors, the layout of reference/torch_ref.py's)
that model/llama_golden_test.go compares against. Regenerate from the
repository root with:

    /usr/bin/python3 reference/torch_llama_ref.py --out testdata/golden/llama

The model is written the way Hugging Face's modeling_llama.py is organised
(separate q_proj, k_proj, v_proj, o_proj; rotate_half on the half-split
rotary layout; repeat_kv to expand key/value heads for grouped-query and
multi-query attention; gate_proj, up_proj, down_proj; RMSNorm computing
x * rsqrt(mean(x^2) + eps) * w, or * (1 + w) for Gemma), from the formulas,
not from tformer's code. Sharing reuses the module object across layers and
tying reuses the embedding tensor, so autograd sums every gradient. Only at
the end are the tensors mapped onto tformer's names (q, k, v concatenated
row-wise into qkv.w / qkv.b).

Self-checks before writing: torch.autograd.gradcheck (float64) on tiny
models of each family; the llama3 frequency rescaling against a second,
loop-by-loop computation; the stored files are re-parsed with the same
writer's reader (reference/read_fixtures.parse).

Everything is computed in float64 and stored as float32; parameters are
rounded to float32 before the forward pass.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import serialize_safetensors  # noqa: E402  (the safetensors writer)
import read_fixtures  # noqa: E402

GENERATOR = "reference/torch_llama_ref.py"
W_STD, B_STD, NW_STD = 0.2, 0.1, 0.1


def cfg(**kw):
    c = dict(vocab=23, d_model=16, layers=2, heads=4, d_ff=40, max_seq=9, tie=True, share="none", groups=1,
             norm="rmsnorm", positions="rope", mlp="swiglu", kv_heads=0, head_dim=0, bias="none",
             rope_theta=10000.0, rope_scaling=None, norm_offset=False, embed_scale=False, eps=1e-5,
             activation="gelu_tanh", sliding_window=0, sliding_every=0,
             attn_softcap=0.0, final_softcap=0.0, query_scalar=0.0, post_norms=False)
    c.update(kw)
    return c


FIXTURES = [
    ("llama_tied_gqa", cfg(kv_heads=2), 2, 7, 2001),
    ("llama_untied_mqa_llama3_hd8", cfg(kv_heads=1, head_dim=8, tie=False, rope_theta=500000.0,
                                        rope_scaling=dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                                          original_max_position_embeddings=64)), 2, 7, 2002),
    ("qwen2_tied_qkvbias_shareall", cfg(kv_heads=2, bias="qkv", layers=3, share="all", rope_theta=1e6, eps=1e-6), 2, 7, 2003),
    ("gemma_tied_mqa_shareattn_g2", cfg(kv_heads=1, head_dim=8, mlp="geglu", norm_offset=True, embed_scale=True,
                                        layers=4, share="attention", groups=2, eps=1e-6), 2, 7, 2004),
    ("rms_rope_swiglu_allbias_untied_shareffn_g2", cfg(bias="all", tie=False, layers=4, share="ffn", groups=2), 2, 7, 2005),
    ("rms_learned_geglu_erf_mha", cfg(positions="learned", mlp="geglu", activation="gelu_erf", heads=2), 2, 9, 2006),
    # Sliding windows shorter than the sequence (T = 8): every layer
    # (Mistral), and the even layers only (Gemma 2's alternation), shared.
    ("mistral_window3_gqa_untied", cfg(kv_heads=2, tie=False, layers=3, sliding_window=3, max_seq=8), 2, 8, 2007),
    ("gemma_window2_every2_mqa_shareattn_g2", cfg(kv_heads=1, head_dim=8, mlp="geglu", norm_offset=True, embed_scale=True,
                                                  layers=4, share="attention", groups=2, eps=1e-6,
                                                  sliding_window=2, sliding_every=2, max_seq=8), 2, 8, 2008),
    # Gemma 2's attention: alternating windows, soft-capped scores and
    # logits (caps small enough to bite at these scales), the query scaled
    # by query_pre_attn_scalar^-1/2; tied, FFNs shared.
    ("gemma2attn_window3_every2_softcaps_qscalar_shareffn", cfg(kv_heads=2, head_dim=8, mlp="geglu", norm_offset=True,
                                                               embed_scale=True, layers=4, share="ffn", groups=2, eps=1e-6,
                                                               sliding_window=3, sliding_every=2, max_seq=8,
                                                               attn_softcap=0.5, final_softcap=1.5, query_scalar=3.0), 2, 8, 2009),
    # Gemma 2 whole: the above with the post-attention and post-feedforward
    # norms (x + norm(f(norm(x)))), tied, attention shared in two groups.
    ("gemma2_window3_every2_softcaps_qscalar_postnorms_shareattn_g2",
     cfg(kv_heads=2, head_dim=8, mlp="geglu", norm_offset=True, embed_scale=True, layers=4, share="attention", groups=2,
         eps=1e-6, sliding_window=3, sliding_every=2, max_seq=8, attn_softcap=0.5, final_softcap=1.5, query_scalar=3.0,
         post_norms=True), 2, 8, 2010),
]


def window(c, l):
    """Layer l's sliding window in keys (0: none). Hugging Face's Gemma 2
    makes layer l local when l % 2 == 0; Mistral every layer."""
    w, every = c["sliding_window"], c["sliding_every"]
    if w <= 0 or (every > 1 and l % every != 0):
        return 0
    return w


def attn_mask(T, w):
    """True where the query (row) i must not see the key (column) j: j > i,
    or, with a window of w keys, j <= i - w (Hugging Face's sliding-window
    mask: a query sees itself and the w - 1 keys before it)."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    masked = j > i
    if w > 0:
        masked = masked | (j <= i - w)
    return masked


def block_layout(c):
    L, G, share = c["layers"], c["groups"], c["share"]
    ident = list(range(L))
    if share == "none":
        return L, L, ident, ident
    g = [l // (L // G) for l in range(L)]
    a = share in ("all", "attention")
    f = share in ("all", "ffn")
    return (G if a else L), (G if f else L), (g if a else ident), (g if f else ident)


def head_dim(c):
    return c["head_dim"] or c["d_model"] // c["heads"]


def kv_heads(c):
    return c["kv_heads"] or c["heads"]


def inv_freq(c):
    dh = head_dim(c)
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    s = c["rope_scaling"]
    if s is None:
        return inv
    factor, lo, hi, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(medium, smoothed, scaled)


def inv_freq_loops(c):
    """The llama3 rescaling again, one frequency at a time (self-check)."""
    dh = head_dim(c)
    out = []
    for i in range(dh // 2):
        f = 1.0 / (c["rope_theta"] ** (2 * i / dh))
        s = c["rope_scaling"]
        if s is not None:
            w = 2 * math.pi / f
            old = s["original_max_position_embeddings"]
            if w < old / s["high_freq_factor"]:
                pass
            elif w > old / s["low_freq_factor"]:
                f = f / s["factor"]
            else:
                sm = (old / w - s["low_freq_factor"]) / (s["high_freq_factor"] - s["low_freq_factor"])
                f = (1 - sm) * f / s["factor"] + sm * f
        out.append(f)
    return torch.tensor(out, dtype=torch.float64)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, d, eps, offset):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps, self.offset = eps, offset

    def forward(self, x):
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return x * (1.0 + self.weight if self.offset else self.weight)


def make_norm(c):
    if c["norm"] == "rmsnorm":
        return RMSNorm(c["d_model"], c["eps"], c["norm_offset"])
    return nn.LayerNorm(c["d_model"], eps=c["eps"])


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, H, KV, dh = c["d_model"], c["heads"], kv_heads(c), head_dim(c)
        qb = c["bias"] in ("all", "qkv")
        self.c, self.H, self.KV, self.dh = c, H, KV, dh
        self.norm = make_norm(c)
        self.q_proj = nn.Linear(d, H * dh, bias=qb)
        self.k_proj = nn.Linear(d, KV * dh, bias=qb)
        self.v_proj = nn.Linear(d, KV * dh, bias=qb)
        self.o_proj = nn.Linear(H * dh, d, bias=c["bias"] == "all")
        self.post_norm = make_norm(c) if c["post_norms"] else None  # Gemma 2's post_attention_layernorm

    def forward(self, x, cos, sin, w=0):
        B, T, _ = x.shape
        h = self.norm(x)
        q = self.q_proj(h).view(B, T, self.H, self.dh).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.KV, self.dh).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.KV, self.dh).transpose(1, 2)
        if cos is not None:
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        rep = self.H // self.KV  # repeat_kv
        k = k[:, :, None].expand(B, self.KV, rep, T, self.dh).reshape(B, self.H, T, self.dh)
        v = v[:, :, None].expand(B, self.KV, rep, T, self.dh).reshape(B, self.H, T, self.dh)
        c = self.c
        # Gemma 2: scaled by query_pre_attn_scalar^-1/2, then soft-capped.
        scale = c["query_scalar"] ** -0.5 if c["query_scalar"] else 1 / math.sqrt(self.dh)
        s = (q @ k.transpose(-1, -2)) * scale
        if c["attn_softcap"]:
            s = torch.tanh(s / c["attn_softcap"]) * c["attn_softcap"]
        s = s.masked_fill(attn_mask(T, w), float("-inf"))
        y = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, self.H * self.dh)
        o = self.o_proj(y)
        if self.post_norm is not None:
            o = self.post_norm(o)
        return x + o


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f, b = c["d_model"], c["d_ff"], c["bias"] == "all"
        self.c = c
        self.norm = make_norm(c)
        self.gate_proj = nn.Linear(d, f, bias=b) if c["mlp"] != "gelu" else None
        self.up_proj = nn.Linear(d, f, bias=b)
        self.down_proj = nn.Linear(f, d, bias=b)
        self.post_norm = make_norm(c) if c["post_norms"] else None  # Gemma 2's post_feedforward_layernorm

    def act(self, x):
        if self.c["mlp"] == "swiglu":
            return F.silu(x)
        return F.gelu(x, approximate="none" if self.c["activation"] == "gelu_erf" else "tanh")

    def forward(self, x):
        h = self.norm(x)
        if self.gate_proj is None:
            o = self.down_proj(self.act(self.up_proj(h)))
        else:
            o = self.down_proj(self.act(self.gate_proj(h)) * self.up_proj(h))
        if self.post_norm is not None:
            o = self.post_norm(o)
        return x + o


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        na, nf, self.ai, self.fi = block_layout(c)
        self.embed = nn.Embedding(c["vocab"], c["d_model"])
        self.wpe = nn.Embedding(c["max_seq"], c["d_model"]) if c["positions"] == "learned" else None
        self.attn = nn.ModuleList([Attention(c) for _ in range(na)])
        self.mlp = nn.ModuleList([MLP(c) for _ in range(nf)])
        self.norm = make_norm(c)
        self.lm_head = None if c["tie"] else nn.Linear(c["d_model"], c["vocab"], bias=False)

    def forward(self, tokens):
        c = self.c
        B, T = tokens.shape
        x = self.embed(tokens)
        if c["embed_scale"]:
            x = x * torch.tensor(math.sqrt(c["d_model"]), dtype=torch.float32).double()
        cos = sin = None
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T))[None]
        else:
            ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq(c)[None, :]
            emb = torch.cat((ang, ang), dim=-1)
            cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        for l in range(c["layers"]):
            x = self.attn[self.ai[l]](x, cos, sin, window(c, l))
            x = self.mlp[self.fi[l]](x)
        x = self.norm(x)
        w = self.embed.weight if self.lm_head is None else self.lm_head.weight
        logits = F.linear(x, w)
        if c["final_softcap"]:
            logits = torch.tanh(logits / c["final_softcap"]) * c["final_softcap"]
        return logits

    def tformer_params(self):
        """(tformer name, tensor) in tformer's layout, built from the modules
        (q, k, v concatenated); values are views or cats of the parameters."""
        c = self.c
        out = [("wte", self.embed.weight)]
        if self.wpe is not None:
            out.append(("wpe", self.wpe.weight))

        def norm(name, m):
            out.append((name + ".w", m.weight))
            if c["norm"] != "rmsnorm":
                out.append((name + ".b", m.bias))

        for i, a in enumerate(self.attn):
            norm(f"attn.{i}.ln", a.norm)
            out.append((f"attn.{i}.qkv.w", (a.q_proj.weight, a.k_proj.weight, a.v_proj.weight)))
            if a.q_proj.bias is not None:
                out.append((f"attn.{i}.qkv.b", (a.q_proj.bias, a.k_proj.bias, a.v_proj.bias)))
            out.append((f"attn.{i}.proj.w", a.o_proj.weight))
            if a.o_proj.bias is not None:
                out.append((f"attn.{i}.proj.b", a.o_proj.bias))
            if a.post_norm is not None:
                out.append((f"attn.{i}.postln.w", a.post_norm.weight))
        for i, m in enumerate(self.mlp):
            norm(f"ffn.{i}.ln", m.norm)
            for nm, lin in (("gate", m.gate_proj), ("up", m.up_proj), ("down", m.down_proj)):
                if lin is None:
                    continue
                out.append((f"ffn.{i}.{nm}.w", lin.weight))
                if lin.bias is not None:
                    out.append((f"ffn.{i}.{nm}.b", lin.bias))
            if m.post_norm is not None:
                out.append((f"ffn.{i}.postln.w", m.post_norm.weight))
        norm("lnf", self.norm)
        if self.lm_head is not None:
            out.append(("lm_head", self.lm_head.weight))
        return out


def init(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                base = 0.0 if model.c["norm_offset"] and model.c["norm"] == "rmsnorm" else 1.0
                p.copy_(base + NW_STD * torch.randn(p.shape, dtype=torch.float64))
            elif name.endswith("bias"):
                p.copy_(B_STD * torch.randn(p.shape, dtype=torch.float64))
            else:
                p.copy_(W_STD * torch.randn(p.shape, dtype=torch.float64))
            p.copy_(p.float().double())


def build(c, seed, B, T):
    torch.manual_seed(seed)
    m = Model(c).double()
    init(m)
    tokens = torch.randint(0, c["vocab"], (B, T))
    targets = torch.randint(0, c["vocab"], (B, T))
    return m, tokens, targets


def loss_of(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def tformer_config(c):
    """tformer's model.Config JSON (defaults omitted as tformer omits them)."""
    out = dict(vocab=c["vocab"], d_model=c["d_model"], layers=c["layers"], heads=c["heads"], d_ff=c["d_ff"],
               max_seq=c["max_seq"], tie=c["tie"], share=c["share"], groups=c["groups"])
    out["layer_norm_eps"] = c["eps"]
    if c["activation"] == "gelu_erf":
        out["activation"] = "gelu_erf"
    if c["norm"] == "rmsnorm":
        out["norm"] = "rmsnorm"
    if c["norm_offset"]:
        out["norm_offset"] = True
    if c["positions"] == "rope":
        out["positions"] = "rope"
        out["rope_theta"] = c["rope_theta"]
        if c["rope_scaling"]:
            out["rope_scaling"] = c["rope_scaling"]
    if c["mlp"] != "gelu":
        out["mlp"] = c["mlp"]
    if c["kv_heads"]:
        out["kv_heads"] = c["kv_heads"]
    if c["head_dim"]:
        out["head_dim"] = c["head_dim"]
    if c["bias"] != "all":
        out["bias"] = c["bias"]
    if c["embed_scale"]:
        out["embed_scale"] = True
    if c["sliding_window"]:
        out["sliding_window"] = c["sliding_window"]
    if c["sliding_every"]:
        out["sliding_every"] = c["sliding_every"]
    if c["attn_softcap"]:
        out["attn_softcap"] = c["attn_softcap"]
    if c["final_softcap"]:
        out["final_softcap"] = c["final_softcap"]
    if c["query_scalar"]:
        out["query_pre_attn_scalar"] = c["query_scalar"]
    if c["post_norms"]:
        out["post_norms"] = True
    return json.dumps(out)


def value(t, grad):
    if isinstance(t, tuple):
        parts = [(p.grad if grad else p).detach() for p in t]
        return torch.cat(parts, dim=0)
    return (t.grad if grad else t).detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="testdata/golden/llama")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    failures = []

    def check(label, ok, detail):
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")
        if not ok:
            failures.append(label)

    print("self-checks:")
    # The mask against a loop over (i, j) of the window's definition.
    for T, w in ((8, 3), (5, 1), (6, 0), (4, 9)):
        want = torch.tensor([[not (j <= i and (w <= 0 or i - w < j)) for j in range(T)] for i in range(T)])
        check(f"mask T={T} w={w}", bool((attn_mask(T, w) == want).all()), "i - w < j <= i")
    for name, c, *_ in FIXTURES:
        if c["positions"] == "rope":
            e = float((inv_freq(c) - inv_freq_loops(c)).abs().max())
            check(f"{name}: rope frequencies, vectorised == loops", e < 1e-15, f"max diff {e:.2e}")
    from torch.nn.utils.stateless import functional_call
    for i, (name, c, *_) in enumerate(FIXTURES):
        tiny = dict(c, vocab=5, d_ff=6, max_seq=4)
        m, tok, tgt = build(tiny, 90 + i, 2, 3)
        names = [n for n, _ in m.named_parameters()]
        ps = tuple(p.detach().clone().requires_grad_(True) for _, p in m.named_parameters())
        ok = torch.autograd.gradcheck(lambda *q: loss_of(functional_call(m, dict(zip(names, q)), (tok,)), tgt),
                                      ps, eps=1e-6, atol=1e-8, rtol=1e-6)
        check(f"gradcheck tiny {name}", ok, f"{sum(p.numel() for p in ps)} parameters")

    # The caps must bite: the fixture's capped scores and logits differ from
    # the uncapped ones by more than rounding.
    for name, c, B, T, seed in FIXTURES:
        if c["attn_softcap"] or c["final_softcap"]:
            m, tokens, _ = build(c, seed, B, T)
            m0, _, _ = build(dict(c, attn_softcap=0.0), seed, B, T)
            m1, _, _ = build(dict(c, final_softcap=0.0), seed, B, T)
            with torch.no_grad():
                z, z0, z1 = m(tokens), m0(tokens), m1(tokens)
            d0, d1 = float((z - z0).abs().max()), float((z - z1).abs().max())
            check(f"{name}: the caps change the logits", d0 > 1e-2 and d1 > 1e-2, f"attention cap {d0:.3g}, logit cap {d1:.3g}")

    os.makedirs(args.out, exist_ok=True)
    print("fixtures:")
    for name, c, B, T, seed in FIXTURES:
        m, tokens, targets = build(c, seed, B, T)
        logits = m(tokens)
        loss = loss_of(logits, targets)
        loss.backward()
        tensors = [("tokens", tokens.numpy().astype(np.int32)), ("targets", targets.numpy().astype(np.int32)),
                   ("logits", logits.detach().reshape(B * T, -1).numpy().astype(np.float32)),
                   ("loss", np.array(loss.item(), dtype=np.float32))]
        tp = m.tformer_params()
        assert sum(value(t, False).numel() for _, t in tp) == sum(p.numel() for p in m.parameters())
        for n, t in tp:
            tensors.append(("param." + n, value(t, False).numpy().astype(np.float32)))
        zero = []
        for n, t in tp:
            g = value(t, True)
            if float(g.abs().max()) == 0:
                zero.append(n)
            tensors.append(("grad." + n, g.numpy().astype(np.float32)))
        check(f"{name}: every gradient nonzero", not zero, str(zero) if zero else "all nonzero")
        meta = {"config": tformer_config(c), "generator": GENERATOR}
        path = os.path.join(args.out, name + ".safetensors")
        with open(path, "wb") as fh:
            fh.write(serialize_safetensors(tensors, meta))
        meta2, back = read_fixtures.parse(path)
        same = meta2 == meta and all(a == b and np.array_equal(x, y) for (a, x), (b, y) in zip(tensors, back))
        check(f"{name}: re-read", same, f"{len(back)} tensors, loss {loss.item():.6f}")
    if failures:
        print("FAILED:", failures)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
