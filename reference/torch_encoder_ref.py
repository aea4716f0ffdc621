#!/usr/bin/env python3
"""Independent PyTorch reference for tformer's encoder (BERT/ALBERT, masked-LM)
and its factorized-embedding decoder.

Writes golden fixtures (safetensors layout) to testdata/golden/encoder/ that the
Go tests compare against. Regenerate from the repository root with:

    /usr/bin/python3 reference/torch_encoder_ref.py --out testdata/golden/encoder

The decoder fixtures of reference/torch_ref.py (testdata/golden/*.safetensors)
are untouched by this script.

The encoder is written the ordinary PyTorch way, as BERT and ALBERT are:
token + position + token-type nn.Embedding tables (E wide), a LayerNorm over E,
an nn.Linear E -> d when E != d (ALBERT's embedding_hidden_mapping_in), post-LN
blocks x = LN(x + proj(attn(x))), x = LN(x + down(gelu(up(x)))) with
bidirectional attention and a key padding mask, and the masked-LM head:
dense d -> E, GELU (tanh form), LayerNorm(E), logits = x·Wᵀ + bias with W the
token embedding (tied) or a separate K x E matrix. The head runs on the
predicted positions only; the loss is their mean cross-entropy. Sharing reuses
the same module object across layers; tying reuses the embedding tensor.

The factorized decoder reuses torch_ref.py's pre-LN blocks and adds the E-wide
tables, the E -> d projection and, after the final LayerNorm, the same head.

Before writing anything the script runs self-checks:
  * torch.autograd.gradcheck in float64 on tiny encoders and a tiny
    factorized decoder;
  * a second, hand-written encoder (explicit per-position loops, no nn
    modules) where every use of a tied or shared tensor is a separate leaf,
    its gradients summed back and compared with the module model's;
  * the tie: grad(wte) == lookup-path grad + output-path grad;
  * every gradient nonzero; parameter counts by formula.
After writing, each file is re-read with reference/read_fixtures.py's
independent parser, compared byte for byte, and recomputed from the stored
parameters.

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
import torch_ref  # noqa: E402  (decoder blocks, sharing layout, safetensors writer)
import read_fixtures  # noqa: E402  (independent parser)

GENERATOR = "reference/torch_encoder_ref.py"
LN_EPS = 1e-5
W_STD, B_STD, LNW_STD = 0.2, 0.1, 0.1


def make_config(arch="encoder", vocab=23, d_model=16, layers=2, heads=4, d_ff=40, max_seq=9,
                tie=True, share="none", groups=1, embed_dim=0, type_vocab=2):
    """The config as Go's model.Config serialises it (canonical form: no arch
    key for decoders, embed_dim only when it differs from d_model, type_vocab
    only for encoders)."""
    cfg = dict(vocab=vocab, d_model=d_model, layers=layers, heads=heads, d_ff=d_ff,
               max_seq=max_seq, tie=tie, share=share, groups=groups)
    if arch == "encoder":
        cfg["arch"] = "encoder"
    if embed_dim and embed_dim != d_model:
        cfg["embed_dim"] = embed_dim
    if arch == "encoder":
        cfg["type_vocab"] = type_vocab
    assert share in torch_ref.SHARE_MODES and d_model % heads == 0
    assert share == "none" or layers % groups == 0
    assert cfg.get("embed_dim", d_model) <= d_model
    return cfg


def is_encoder(cfg):
    return cfg.get("arch") == "encoder"


def E(cfg):
    return cfg.get("embed_dim", cfg["d_model"])


# name, config, B, T, lengths (encoder), predicted positions per sequence (encoder), seed
FIXTURES = [
    ("enc_tied_none", make_config(layers=2, tie=True), 2, 7, [7, 5], 2, 2001),
    ("enc_untied_none_e8", make_config(layers=2, tie=False, embed_dim=8), 2, 7, [7, 4], 2, 2002),
    ("enc_tied_all_g1_e8", make_config(layers=3, tie=True, share="all", groups=1, embed_dim=8), 2, 7, [6, 7], 3, 2003),
    ("enc_tied_all_g2", make_config(layers=4, tie=True, share="all", groups=2), 2, 7, [7, 7], 2, 2004),
    ("enc_untied_attention_g2_e8", make_config(layers=4, tie=False, share="attention", groups=2, embed_dim=8),
     2, 7, [3, 7], 2, 2005),
    ("enc_tied_ffn_g2_e8_types3", make_config(layers=4, tie=True, share="ffn", groups=2, embed_dim=8, type_vocab=3),
     3, 6, [6, 2, 5], 1, 2006),
    ("enc_untied_all_g1_h1", make_config(layers=2, heads=1, d_model=8, d_ff=32, tie=False, share="all", groups=1),
     2, 9, [9, 8], 3, 2007),
    ("dec_fact_tied_none_e8", make_config(arch="decoder", layers=2, tie=True, embed_dim=8), 2, 7, None, None, 2101),
    ("dec_fact_untied_all_g2_e8", make_config(arch="decoder", layers=4, tie=False, share="all", groups=2, embed_dim=8),
     2, 7, None, None, 2102),
    ("dec_fact_tied_ffn_g2_e4", make_config(arch="decoder", layers=4, tie=True, share="ffn", groups=2, embed_dim=4),
     2, 7, None, None, 2103),
]


# ---------------------------------------------------------------------------
# The models (ordinary PyTorch modules)
# ---------------------------------------------------------------------------

class PostLNAttention(nn.Module):
    """BERT's attention sub-layer: qkv, bidirectional masked attention, output
    projection, residual, LayerNorm."""

    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln = nn.LayerNorm(d_model, eps=LN_EPS)

    def forward(self, x, key_valid):
        B, T, D = x.shape
        H = self.heads
        dh = D // H
        q, k, v = self.qkv(x).split(D, dim=-1)
        q = q.reshape(B, T, H, dh).transpose(1, 2)
        k = k.reshape(B, T, H, dh).transpose(1, 2)
        v = v.reshape(B, T, H, dh).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
        scores = scores.masked_fill(~key_valid[:, None, None, :], float("-inf"))
        y = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        return self.ln(x + self.proj(y))


class PostLNFFN(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.up = nn.Linear(d_model, d_ff)
        self.down = nn.Linear(d_ff, d_model)
        self.ln = nn.LayerNorm(d_model, eps=LN_EPS)

    def forward(self, x):
        return self.ln(x + self.down(F.gelu(self.up(x), approximate="tanh")))


class Head(nn.Module):
    """ALBERT's masked-LM head without its decoder matrix: dense d -> E, GELU,
    LayerNorm(E); the decoder matrix (tied or not) and the bias are applied by
    the model."""

    def __init__(self, d_model, e):
        super().__init__()
        self.dense = nn.Linear(d_model, e)
        self.ln = nn.LayerNorm(e, eps=LN_EPS)

    def forward(self, h):
        return self.ln(F.gelu(self.dense(h), approximate="tanh"))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        V, D, e, S = cfg["vocab"], cfg["d_model"], E(cfg), cfg["max_seq"]
        n_attn, n_ffn, self.attn_index, self.ffn_index = torch_ref.block_layout(cfg)
        self.wte = nn.Embedding(V, e)
        self.wpe = nn.Embedding(S, e)
        self.wtt = nn.Embedding(cfg["type_vocab"], e)
        self.emb_ln = nn.LayerNorm(e, eps=LN_EPS)
        self.embed_proj = nn.Linear(e, D) if e != D else None
        self.attn = nn.ModuleList([PostLNAttention(D, cfg["heads"]) for _ in range(n_attn)])
        self.ffn = nn.ModuleList([PostLNFFN(D, cfg["d_ff"]) for _ in range(n_ffn)])
        self.head = Head(D, e)
        self.head_bias = nn.Parameter(torch.zeros(V))
        self.lm_head = None if cfg["tie"] else nn.Linear(e, V, bias=False)

    def forward(self, tokens, types, lengths, positions, out_weight=None):
        """Returns the logits of the predicted positions (flat indices into
        B*T), shape (M, V)."""
        B, T = tokens.shape
        pos = torch.arange(T)
        x = self.wte(tokens) + self.wpe(pos)[None] + self.wtt(types)
        x = self.emb_ln(x)
        if self.embed_proj is not None:
            x = self.embed_proj(x)
        key_valid = pos[None, :] < lengths[:, None]
        for l in range(self.cfg["layers"]):
            x = self.attn[self.attn_index[l]](x, key_valid)
            x = self.ffn[self.ffn_index[l]](x)
        h = self.head(x.reshape(B * T, -1)[positions])
        if out_weight is None:
            out_weight = self.wte.weight if self.lm_head is None else self.lm_head.weight
        return F.linear(h, out_weight, self.head_bias)

    def spec_params(self):
        out = [("wte", self.wte.weight), ("wpe", self.wpe.weight), ("wtt", self.wtt.weight),
               ("emb_ln.w", self.emb_ln.weight), ("emb_ln.b", self.emb_ln.bias)]
        if self.embed_proj is not None:
            out += [("embed_proj.w", self.embed_proj.weight), ("embed_proj.b", self.embed_proj.bias)]
        for i, blk in enumerate(self.attn):
            out += [(f"attn.{i}.ln.w", blk.ln.weight), (f"attn.{i}.ln.b", blk.ln.bias),
                    (f"attn.{i}.qkv.w", blk.qkv.weight), (f"attn.{i}.qkv.b", blk.qkv.bias),
                    (f"attn.{i}.proj.w", blk.proj.weight), (f"attn.{i}.proj.b", blk.proj.bias)]
        for j, blk in enumerate(self.ffn):
            out += [(f"ffn.{j}.ln.w", blk.ln.weight), (f"ffn.{j}.ln.b", blk.ln.bias),
                    (f"ffn.{j}.up.w", blk.up.weight), (f"ffn.{j}.up.b", blk.up.bias),
                    (f"ffn.{j}.down.w", blk.down.weight), (f"ffn.{j}.down.b", blk.down.bias)]
        out += [("head.dense.w", self.head.dense.weight), ("head.dense.b", self.head.dense.bias),
                ("head.ln.w", self.head.ln.weight), ("head.ln.b", self.head.ln.bias),
                ("head.bias", self.head_bias)]
        if self.lm_head is not None:
            out.append(("lm_head", self.lm_head.weight))
        return out


class FactorizedDecoder(nn.Module):
    """torch_ref's GPT-2 decoder with E-wide tables, an E -> d projection and
    the head through E after the final LayerNorm."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        V, D, e, S = cfg["vocab"], cfg["d_model"], E(cfg), cfg["max_seq"]
        n_attn, n_ffn, self.attn_index, self.ffn_index = torch_ref.block_layout(cfg)
        self.wte = nn.Embedding(V, e)
        self.wpe = nn.Embedding(S, e)
        self.embed_proj = nn.Linear(e, D)
        self.attn = nn.ModuleList([torch_ref.AttentionBlock(D, cfg["heads"]) for _ in range(n_attn)])
        self.ffn = nn.ModuleList([torch_ref.FFNBlock(D, cfg["d_ff"]) for _ in range(n_ffn)])
        self.lnf = nn.LayerNorm(D, eps=LN_EPS)
        self.head = Head(D, e)
        self.head_bias = nn.Parameter(torch.zeros(V))
        self.lm_head = None if cfg["tie"] else nn.Linear(e, V, bias=False)

    def forward(self, tokens, out_weight=None):
        B, T = tokens.shape
        x = self.embed_proj(self.wte(tokens) + self.wpe(torch.arange(T))[None])
        for l in range(self.cfg["layers"]):
            x = self.attn[self.attn_index[l]](x)
            x = self.ffn[self.ffn_index[l]](x)
        h = self.head(self.lnf(x))
        if out_weight is None:
            out_weight = self.wte.weight if self.lm_head is None else self.lm_head.weight
        return F.linear(h, out_weight, self.head_bias)

    def spec_params(self):
        out = [("wte", self.wte.weight), ("wpe", self.wpe.weight),
               ("embed_proj.w", self.embed_proj.weight), ("embed_proj.b", self.embed_proj.bias)]
        for i, blk in enumerate(self.attn):
            out += [(f"attn.{i}.ln.w", blk.ln.weight), (f"attn.{i}.ln.b", blk.ln.bias),
                    (f"attn.{i}.qkv.w", blk.qkv.weight), (f"attn.{i}.qkv.b", blk.qkv.bias),
                    (f"attn.{i}.proj.w", blk.proj.weight), (f"attn.{i}.proj.b", blk.proj.bias)]
        for j, blk in enumerate(self.ffn):
            out += [(f"ffn.{j}.ln.w", blk.ln.weight), (f"ffn.{j}.ln.b", blk.ln.bias),
                    (f"ffn.{j}.up.w", blk.up.weight), (f"ffn.{j}.up.b", blk.up.bias),
                    (f"ffn.{j}.down.w", blk.down.weight), (f"ffn.{j}.down.b", blk.down.bias)]
        out += [("lnf.w", self.lnf.weight), ("lnf.b", self.lnf.bias),
                ("head.dense.w", self.head.dense.weight), ("head.dense.b", self.head.dense.bias),
                ("head.ln.w", self.head.ln.weight), ("head.ln.b", self.head.ln.bias),
                ("head.bias", self.head_bias)]
        if self.lm_head is not None:
            out.append(("lm_head", self.lm_head.weight))
        return out


def param_count(cfg):
    V, D, F_, S, e = cfg["vocab"], cfg["d_model"], cfg["d_ff"], cfg["max_seq"], E(cfg)
    n_attn, n_ffn, _, _ = torch_ref.block_layout(cfg)
    attn = 4 * D * D + 4 * D + 2 * D
    ffn = 2 * D * F_ + F_ + D + 2 * D
    n = V * e + S * e + n_attn * attn + n_ffn * ffn + (D * e + e + 2 * e + V)  # tables, blocks, head
    n += 0 if cfg["tie"] else V * e
    n += e * D + D if e != D else 0
    n += cfg["type_vocab"] * e + 2 * e if is_encoder(cfg) else 2 * D
    return n


def init_params(model):
    with torch.no_grad():
        for name, p in model.spec_params():
            kind = name.rsplit(".", 1)[-1]
            if name.endswith("ln.w") or name == "lnf.w":
                p.copy_(1.0 + LNW_STD * torch.randn(p.shape, dtype=torch.float64))
            elif kind == "b" or name == "head.bias":
                p.copy_(B_STD * torch.randn(p.shape, dtype=torch.float64))
            else:
                p.copy_(W_STD * torch.randn(p.shape, dtype=torch.float64))
            p.copy_(p.float().double())
    ids = [id(p) for _, p in model.spec_params()]
    assert len(set(ids)) == len(ids)
    assert set(ids) == {id(p) for p in model.parameters()}


def make_inputs(cfg, B, T, lengths, per_seq):
    """Random tokens (any id, [MASK] included), types, and per sequence
    per_seq distinct predicted positions inside its length (sorted), with
    random targets."""
    V = cfg["vocab"]
    tokens = torch.randint(0, V, (B, T), dtype=torch.int64)
    if not is_encoder(cfg):
        return dict(tokens=tokens, targets=torch.randint(0, V, (B, T), dtype=torch.int64))
    types = torch.randint(0, cfg["type_vocab"], (B, T), dtype=torch.int64)
    positions = []
    for r in range(B):
        chosen = torch.randperm(lengths[r])[:per_seq].sort().values
        positions += [r * T + int(i) for i in chosen]
    positions = torch.tensor(positions, dtype=torch.int64)
    targets = torch.randint(0, V, (len(positions),), dtype=torch.int64)
    return dict(tokens=tokens, types=types, lengths=torch.tensor(lengths, dtype=torch.int64),
                positions=positions, targets=targets)


def build(cfg, seed, B, T, lengths, per_seq):
    torch.manual_seed(seed)
    model = (Encoder(cfg) if is_encoder(cfg) else FactorizedDecoder(cfg)).double()
    init_params(model)
    return model, make_inputs(cfg, B, T, lengths, per_seq)


def forward(model, x, out_weight=None):
    if is_encoder(model.cfg):
        return model(x["tokens"], x["types"], x["lengths"], x["positions"], out_weight=out_weight)
    return model(x["tokens"], out_weight=out_weight)


def loss_of(logits, x):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), x["targets"].reshape(-1), reduction="mean")


def run(model, x):
    model.zero_grad(set_to_none=True)
    logits = forward(model, x)
    loss = loss_of(logits, x)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.spec_params()}
    return logits.detach(), loss.detach(), grads


# ---------------------------------------------------------------------------
# Second, hand-written encoder (no nn modules, per-position loops)
# ---------------------------------------------------------------------------

def naive_ln(v, w, b):
    mu = v.sum() / v.numel()
    var = ((v - mu) * (v - mu)).sum() / v.numel()
    return (v - mu) / torch.sqrt(var + LN_EPS) * w + b


def naive_encoder(cfg, x, P):
    """P: per-use leaves: 'wte_in', 'w_out', tables, and per layer dicts
    P['attn'][l], P['ffn'][l]. Returns (logits (M,V), loss)."""
    tokens, types, lengths = x["tokens"], x["types"], x["lengths"]
    B, T = tokens.shape
    D, H = cfg["d_model"], cfg["heads"]
    dh = D // H
    hidden = []
    for b in range(B):
        xs = []
        for t in range(T):
            v = P["wte_in"][int(tokens[b, t])] + P["wpe"][t] + P["wtt"][int(types[b, t])]
            v = naive_ln(v, P["emb_ln.w"], P["emb_ln.b"])
            if "embed_proj.w" in P:
                v = torch.mv(P["embed_proj.w"], v) + P["embed_proj.b"]
            xs.append(v)
        nk = int(lengths[b])
        for l in range(cfg["layers"]):
            A, Fb = P["attn"][l], P["ffn"][l]
            qkv = [torch.mv(A["qkv.w"], xs[t]) + A["qkv.b"] for t in range(T)]
            new = []
            for t in range(T):
                heads = []
                for j in range(H):
                    sl = slice(j * dh, (j + 1) * dh)
                    q = qkv[t][0:D][sl]
                    sc = [(q * qkv[s][D:2 * D][sl]).sum() / math.sqrt(dh) for s in range(nk)]
                    m = max(float(c) for c in sc)
                    es = [torch.exp(c - m) for c in sc]
                    z = sum(es)
                    heads.append(sum((es[s] / z) * qkv[s][2 * D:3 * D][sl] for s in range(nk)))
                y = torch.cat(heads)
                new.append(naive_ln(xs[t] + torch.mv(A["proj.w"], y) + A["proj.b"], A["ln.w"], A["ln.b"]))
            xs = new
            new = []
            for t in range(T):
                u = torch_ref.naive_gelu(torch.mv(Fb["up.w"], xs[t]) + Fb["up.b"])
                new.append(naive_ln(xs[t] + torch.mv(Fb["down.w"], u) + Fb["down.b"], Fb["ln.w"], Fb["ln.b"]))
            xs = new
        hidden += xs
    rows, total = [], 0.0
    for i, p in enumerate(x["positions"].tolist()):
        h = torch_ref.naive_gelu(torch.mv(P["head.dense.w"], hidden[p]) + P["head.dense.b"])
        h = naive_ln(h, P["head.ln.w"], P["head.ln.b"])
        z = torch.mv(P["w_out"], h) + P["head.bias"]
        m = float(z.max())
        total = total + (m + torch.log(torch.exp(z - m).sum()) - z[int(x["targets"][i])])
        rows.append(z)
    return torch.stack(rows), total / len(rows)


def untangled_check(cfg, model, x, logits, loss, grads):
    S = {n: p.detach() for n, p in model.spec_params()}
    leaf = lambda t: t.clone().requires_grad_(True)
    _, _, a, f = torch_ref.block_layout(cfg)
    P = {"wte_in": leaf(S["wte"]), "w_out": leaf(S["wte"] if cfg["tie"] else S["lm_head"])}
    for n in S:
        if not n.startswith(("attn.", "ffn.")) and n not in ("wte", "lm_head"):
            P[n] = leaf(S[n])
    P["attn"] = [{k: leaf(S[f"attn.{a[l]}.{k}"]) for k in torch_ref.ATTN_KEYS} for l in range(cfg["layers"])]
    P["ffn"] = [{k: leaf(S[f"ffn.{f[l]}.{k}"]) for k in torch_ref.FFN_KEYS} for l in range(cfg["layers"])]
    n_logits, n_loss = naive_encoder(cfg, x, P)
    n_loss.backward()
    summed = {n: torch.zeros_like(p) for n, p in S.items()}
    if cfg["tie"]:
        summed["wte"] += P["wte_in"].grad + P["w_out"].grad
    else:
        summed["wte"] += P["wte_in"].grad
        summed["lm_head"] += P["w_out"].grad
    for n in S:
        if n in P:
            summed[n] += P[n].grad
    for l in range(cfg["layers"]):
        for k in torch_ref.ATTN_KEYS:
            summed[f"attn.{a[l]}.{k}"] += P["attn"][l][k].grad
        for k in torch_ref.FFN_KEYS:
            summed[f"ffn.{f[l]}.{k}"] += P["ffn"][l][k].grad
    return {"logits": torch_ref.rel_err(logits, n_logits.detach()),
            "loss": torch_ref.rel_err(loss, n_loss.detach()),
            "grads": max(torch_ref.rel_err(grads[n], summed[n]) for n in S)}


def tie_check(model, x, grads):
    model.zero_grad(set_to_none=True)
    w_out = model.wte.weight.detach().clone().requires_grad_(True)
    loss_of(forward(model, x, out_weight=w_out), x).backward()
    g_lookup = model.wte.weight.grad.detach().clone()
    g_output = w_out.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return (torch_ref.rel_err(grads["wte"], g_lookup + g_output),
            float(g_lookup.abs().max()), float(g_output.abs().max()))


def gradcheck_tiny(cfg, seed, B, T, lengths, per_seq):
    from torch.nn.utils.stateless import functional_call
    model, x = build(cfg, seed, B, T, lengths, per_seq)
    names = [n for n, _ in model.named_parameters()]
    inputs = tuple(p.detach().clone().requires_grad_(True) for _, p in model.named_parameters())

    def fn(*ps):
        if is_encoder(cfg):
            args = (x["tokens"], x["types"], x["lengths"], x["positions"])
        else:
            args = (x["tokens"],)
        return loss_of(functional_call(model, dict(zip(names, ps)), args), x)

    ok = torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)
    return ok, sum(p.numel() for p in inputs)


# ---------------------------------------------------------------------------
# Fixture files
# ---------------------------------------------------------------------------

def fixture_tensors(model, x, logits, loss, grads):
    i32 = lambda t: t.numpy().astype(np.int32)
    if is_encoder(model.cfg):
        correct = int((logits.argmax(dim=-1) == x["targets"]).sum())
        out = [("tokens", i32(x["tokens"])), ("types", i32(x["types"])), ("lengths", i32(x["lengths"])),
               ("positions", i32(x["positions"])), ("targets", i32(x["targets"])),
               ("logits", logits.numpy().astype(np.float32)), ("loss", np.array(loss.item(), dtype=np.float32)),
               ("correct", np.array(correct, dtype=np.int32))]
    else:
        out = [("tokens", i32(x["tokens"])), ("targets", i32(x["targets"])),
               ("logits", logits.numpy().astype(np.float32)), ("loss", np.array(loss.item(), dtype=np.float32))]
    for n, p in model.spec_params():
        out.append(("param." + n, p.detach().numpy().astype(np.float32)))
    for n, _ in model.spec_params():
        out.append(("grad." + n, grads[n].numpy().astype(np.float32)))
    return out


def recompute(path):
    """Rebuild the model from a written file's config and float32 params and
    recompute everything in float64."""
    meta, tensors = read_fixtures.parse(path)
    t = dict(tensors)
    cfg = json.loads(meta["config"])
    model = (Encoder(cfg) if is_encoder(cfg) else FactorizedDecoder(cfg)).double()
    with torch.no_grad():
        for n, p in model.spec_params():
            p.copy_(torch.from_numpy(t["param." + n].astype(np.float64)))
    keys = ["tokens", "types", "lengths", "positions", "targets"] if is_encoder(cfg) else ["tokens", "targets"]
    x = {k: torch.from_numpy(t[k].astype(np.int64)) for k in keys}
    logits, loss, grads = run(model, x)
    worst = 0.0
    errs = []
    for n, got in [("logits", logits), ("loss", loss)] + [("grad." + n, g) for n, g in grads.items()]:
        ref = torch.from_numpy(t[n].astype(np.float64))
        r = float((got - ref).abs().max() / max(float(ref.abs().max()), 1e-30))
        worst = max(worst, r)
        if r > 1e-6:
            errs.append(f"{n}: rel err {r:.2e}")
    if len([n for n, _ in tensors if n.startswith("param.")]) != len(model.spec_params()):
        errs.append("parameter count differs")
    return errs, worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="testdata/golden/encoder", help="output directory")
    ap.add_argument("--skip-checks", action="store_true", help="skip the slow self-checks")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    failures = []

    def check(label, ok, detail):
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")
        if not ok:
            failures.append(label)

    if not args.skip_checks:
        print("gradcheck (float64, tiny models):")
        tiny = [
            ("tiny encoder tied share=all G=1 E=2", make_config(vocab=5, d_model=4, layers=2, heads=2, d_ff=6, max_seq=4,
                                                               tie=True, share="all", embed_dim=2), [3, 2], 1),
            ("tiny encoder untied share=ffn G=2", make_config(vocab=5, d_model=4, layers=2, heads=1, d_ff=6, max_seq=4,
                                                             tie=False, share="ffn", groups=2), [3, 3], 2),
            ("tiny factorized decoder tied share=attention E=2",
             make_config(arch="decoder", vocab=5, d_model=4, layers=2, heads=2, d_ff=6, max_seq=4, tie=True,
                         share="attention", embed_dim=2), None, None),
        ]
        for i, (label, cfg, lengths, per_seq) in enumerate(tiny):
            ok, n = gradcheck_tiny(cfg, 97 + i, 2, 3, lengths, per_seq)
            check(label, ok, f"{n} parameters, B=2 T=3")

    os.makedirs(args.out, exist_ok=True)
    written = []
    print("fixtures:")
    for name, cfg, B, T, lengths, per_seq, seed in FIXTURES:
        model, x = build(cfg, seed, B, T, lengths, per_seq)
        logits, loss, grads = run(model, x)
        n_params = sum(p.numel() for _, p in model.spec_params())
        assert n_params == param_count(cfg), (n_params, param_count(cfg))
        print(f"- {name}: params={n_params} B={B} T={T} lengths={lengths} "
              f"rows={logits.shape[0] if is_encoder(cfg) else B * T} loss={loss.item():.6f}")
        if not args.skip_checks:
            if is_encoder(cfg):
                e = untangled_check(cfg, model, x, logits, loss, grads)
                check("hand-written per-position encoder (untangled tie/share)", max(e.values()) < 1e-10,
                      "rel err logits %.2e loss %.2e grads %.2e" % (e["logits"], e["loss"], e["grads"]))
            if cfg["tie"]:
                err, gl, go = tie_check(model, x, grads)
                check("tie: grad(wte) == lookup + output", err < 1e-12 and gl > 0 and go > 0,
                      "rel err %.2e (max|lookup|=%.3g, max|output|=%.3g)" % (err, gl, go))
            zero = [n for n, g in grads.items() if float(g.abs().max()) == 0.0]
            check("every gradient nonzero", not zero, "all nonzero" if not zero else str(zero))
        tensors = fixture_tensors(model, x, logits, loss, grads)
        meta = {"config": json.dumps(cfg), "generator": GENERATOR}
        path = os.path.join(args.out, name + ".safetensors")
        with open(path, "wb") as fh:
            fh.write(torch_ref.serialize_safetensors(tensors, meta))
        written.append((path, tensors, meta))

    print("re-reading fixtures with reference/read_fixtures.py's parser:")
    for path, tensors, meta in written:
        rmeta, rtensors = read_fixtures.parse(path)
        same = rmeta == meta and [n for n, _ in rtensors] == [n for n, _ in tensors] and all(
            a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
            for (_, a), (_, b) in zip(rtensors, tensors))
        check(os.path.basename(path), same, "bytes/shapes/metadata identical" if same else "differs")
        errs, worst = recompute(path)
        check(os.path.basename(path) + " recompute from stored params", not errs,
              "max rel err vs stored %.2e" % worst if not errs else "; ".join(errs))

    if failures:
        print(f"FAILED: {len(failures)} check(s): {failures}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
