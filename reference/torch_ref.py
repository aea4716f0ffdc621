#!/usr/bin/env python3
"""Independent PyTorch reference for the tformer GPT-2-style decoder.

Writes golden fixtures (safetensors layout) that the Go tests compare against.
Regenerate from the repository root with:

    /usr/bin/python3 reference/torch_ref.py --out testdata/golden

The model is written the ordinary PyTorch way (one nn.Module per block,
nn.Linear / nn.LayerNorm / nn.Embedding, autograd for gradients). Weight
sharing reuses the same module object across layers, weight tying reuses the
embedding tensor for the output projection, so autograd accumulates the total
gradient of every shared/tied tensor.

Before writing anything the script runs self-checks:
  * a second, hand-written per-position computation (explicit LayerNorm, GELU,
    attention loops, log-sum-exp cross-entropy) for every config, with every
    tied/shared tensor "untangled" into separate leaves whose gradients are
    summed back and compared with the module's gradients;
  * torch.autograd.gradcheck in float64 on tiny models;
  * the tie: grad(wte) == grad via the lookup path + grad via the output path,
    obtained from a second forward that uses a separate copy of the weight for
    the output projection;
  * parameter counts per config.
After writing, every fixture is re-read with the independent parser in
reference/read_fixtures.py and compared.

Everything is computed in float64 and stored as float32. Parameters are rounded
to float32 *before* the forward pass, so the stored parameters are exactly the
ones the stored logits/loss/grads were computed from.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

GENERATOR = "reference/torch_ref.py"
CONFIG_KEYS = ["vocab", "d_model", "layers", "heads", "d_ff", "max_seq", "tie", "share", "groups"]
SHARE_MODES = ("none", "all", "attention", "ffn")
LN_EPS = 1e-5

# Init scales (std of the normal distributions).
W_STD = 0.2      # embeddings, lm_head, linear weights
B_STD = 0.1      # linear biases, LayerNorm biases
LNW_STD = 0.1    # LayerNorm weights are 1 + N(0, LNW_STD)


def make_config(vocab=23, d_model=16, layers=2, heads=4, d_ff=40, max_seq=9,
                tie=True, share="none", groups=1):
    cfg = dict(vocab=vocab, d_model=d_model, layers=layers, heads=heads,
               d_ff=d_ff, max_seq=max_seq, tie=tie, share=share, groups=groups)
    validate_config(cfg)
    return cfg


def validate_config(cfg):
    assert list(cfg.keys()) == CONFIG_KEYS, cfg
    assert cfg["share"] in SHARE_MODES, cfg["share"]
    assert cfg["d_model"] % cfg["heads"] == 0
    if cfg["share"] != "none":
        assert cfg["groups"] >= 1 and cfg["layers"] % cfg["groups"] == 0


# name, config, B, T, seed
FIXTURES = [
    ("tied_none", make_config(layers=2, tie=True, share="none", groups=1), 2, 7, 1001),
    ("untied_none", make_config(layers=2, tie=False, share="none", groups=1), 2, 7, 1002),
    ("tied_all_g1", make_config(layers=3, tie=True, share="all", groups=1), 2, 7, 1003),
    ("tied_all_g2", make_config(layers=4, tie=True, share="all", groups=2), 2, 7, 1004),
    ("untied_attention_g2", make_config(layers=4, tie=False, share="attention", groups=2), 2, 7, 1005),
    ("tied_ffn_g2", make_config(layers=4, tie=True, share="ffn", groups=2), 2, 7, 1006),
    ("tied_none_h1", make_config(layers=1, heads=1, d_model=8, d_ff=32, tie=True,
                                 share="none", groups=1), 2, 9, 1007),
]


# ---------------------------------------------------------------------------
# Sharing layout
# ---------------------------------------------------------------------------

def block_layout(cfg):
    """Returns (n_attn, n_ffn, a, f) with a[l]/f[l] the block index used by layer l."""
    L, G, share = cfg["layers"], cfg["groups"], cfg["share"]
    if share == "none":
        return L, L, list(range(L)), list(range(L))
    S = L // G
    g = [l // S for l in range(L)]
    ident = list(range(L))
    attn_shared = share in ("all", "attention")
    ffn_shared = share in ("all", "ffn")
    return ((G if attn_shared else L), (G if ffn_shared else L),
            (g if attn_shared else ident), (g if ffn_shared else ident))


# ---------------------------------------------------------------------------
# The model (ordinary PyTorch modules)
# ---------------------------------------------------------------------------

class AttentionBlock(nn.Module):
    def __init__(self, d_model, heads):
        super().__init__()
        self.heads = heads
        self.ln = nn.LayerNorm(d_model, eps=LN_EPS)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, D = x.shape
        H = self.heads
        dh = D // H
        h = self.ln(x)
        q, k, v = self.qkv(h).split(D, dim=-1)
        # (B, T, D) -> (B, H, T, dh); head j = columns j*dh:(j+1)*dh
        q = q.reshape(B, T, H, dh).transpose(1, 2)
        k = k.reshape(B, T, H, dh).transpose(1, 2)
        v = v.reshape(B, T, H, dh).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        att = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        return x + self.proj(y)


class FFNBlock(nn.Module):
    def __init__(self, d_model, d_ff):
        super().__init__()
        self.ln = nn.LayerNorm(d_model, eps=LN_EPS)
        self.up = nn.Linear(d_model, d_ff)
        self.down = nn.Linear(d_ff, d_model)

    def forward(self, x):
        return x + self.down(F.gelu(self.up(self.ln(x)), approximate="tanh"))


class TFormer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        validate_config(cfg)
        self.cfg = dict(cfg)
        V, D, Tmax = cfg["vocab"], cfg["d_model"], cfg["max_seq"]
        n_attn, n_ffn, self.attn_index, self.ffn_index = block_layout(cfg)
        self.wte = nn.Embedding(V, D)
        self.wpe = nn.Embedding(Tmax, D)
        # Only the distinct (stored) blocks are registered; layers index into them,
        # so a shared block is the very same module object in several layers.
        self.attn = nn.ModuleList([AttentionBlock(D, cfg["heads"]) for _ in range(n_attn)])
        self.ffn = nn.ModuleList([FFNBlock(D, cfg["d_ff"]) for _ in range(n_ffn)])
        self.lnf = nn.LayerNorm(D, eps=LN_EPS)
        self.lm_head = None if cfg["tie"] else nn.Linear(D, V, bias=False)

    def forward(self, tokens, out_weight=None):
        """tokens: (B, T) int64. out_weight overrides the output projection
        weight (used only by the tie self-check)."""
        B, T = tokens.shape
        pos = torch.arange(T, device=tokens.device)
        x = self.wte(tokens) + self.wpe(pos)[None, :, :]
        for l in range(self.cfg["layers"]):
            x = self.attn[self.attn_index[l]](x)
            x = self.ffn[self.ffn_index[l]](x)
        x = self.lnf(x)
        if out_weight is not None:
            return F.linear(x, out_weight)
        if self.cfg["tie"]:
            return F.linear(x, self.wte.weight)
        return self.lm_head(x)

    def spec_params(self):
        """Ordered list of (spec name, parameter)."""
        out = [("wte", self.wte.weight), ("wpe", self.wpe.weight)]
        if self.lm_head is not None:
            out.append(("lm_head", self.lm_head.weight))
        out += [("lnf.w", self.lnf.weight), ("lnf.b", self.lnf.bias)]
        for i, blk in enumerate(self.attn):
            out += [(f"attn.{i}.ln.w", blk.ln.weight), (f"attn.{i}.ln.b", blk.ln.bias),
                    (f"attn.{i}.qkv.w", blk.qkv.weight), (f"attn.{i}.qkv.b", blk.qkv.bias),
                    (f"attn.{i}.proj.w", blk.proj.weight), (f"attn.{i}.proj.b", blk.proj.bias)]
        for j, blk in enumerate(self.ffn):
            out += [(f"ffn.{j}.ln.w", blk.ln.weight), (f"ffn.{j}.ln.b", blk.ln.bias),
                    (f"ffn.{j}.up.w", blk.up.weight), (f"ffn.{j}.up.b", blk.up.bias),
                    (f"ffn.{j}.down.w", blk.down.weight), (f"ffn.{j}.down.b", blk.down.bias)]
        return out


def lm_loss(logits, targets):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="mean")


def init_params(model):
    """Seeded init in spec order (call torch.manual_seed first). Values are
    rounded to float32 so the stored float32 params are exactly the ones used."""
    with torch.no_grad():
        for name, p in model.spec_params():
            kind = name.rsplit(".", 1)[-1]
            if name.endswith("ln.w") or name == "lnf.w":
                p.copy_(1.0 + LNW_STD * torch.randn(p.shape, dtype=torch.float64))
            elif kind == "b":
                p.copy_(B_STD * torch.randn(p.shape, dtype=torch.float64))
            else:  # wte, wpe, lm_head, linear weights
                p.copy_(W_STD * torch.randn(p.shape, dtype=torch.float64))
            p.copy_(p.float().double())
    # spec_params must cover every registered parameter exactly once
    spec_ids = [id(p) for _, p in model.spec_params()]
    assert len(set(spec_ids)) == len(spec_ids)
    assert set(spec_ids) == {id(p) for p in model.parameters()}


def build(cfg, seed, B, T):
    torch.manual_seed(seed)
    model = TFormer(cfg).double()
    init_params(model)
    tokens = torch.randint(0, cfg["vocab"], (B, T), dtype=torch.int64)
    targets = torch.randint(0, cfg["vocab"], (B, T), dtype=torch.int64)
    return model, tokens, targets


def run(model, tokens, targets):
    model.zero_grad(set_to_none=True)
    logits = model(tokens)
    loss = lm_loss(logits, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.spec_params()}
    return logits.detach(), loss.detach(), grads


def param_count(cfg):
    V, D, F_, Tmax = cfg["vocab"], cfg["d_model"], cfg["d_ff"], cfg["max_seq"]
    n_attn, n_ffn, _, _ = block_layout(cfg)
    attn = 2 * D + 3 * D * D + 3 * D + D * D + D
    ffn = 2 * D + F_ * D + F_ + D * F_ + D
    return V * D + Tmax * D + (0 if cfg["tie"] else V * D) + 2 * D + n_attn * attn + n_ffn * ffn


# ---------------------------------------------------------------------------
# Second, hand-written computation (no nn modules, per-position loops)
# ---------------------------------------------------------------------------

def naive_layernorm(v, w, b):
    mu = v.sum() / v.numel()
    var = ((v - mu) * (v - mu)).sum() / v.numel()
    return (v - mu) / torch.sqrt(var + LN_EPS) * w + b


def naive_gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def naive_forward(cfg, tokens, targets, wte_in, wpe, w_out, lnf_w, lnf_b, attn_of_layer, ffn_of_layer):
    """attn_of_layer[l] / ffn_of_layer[l]: dict of the tensors used by layer l
    (keys ln.w ln.b qkv.w qkv.b proj.w proj.b / ln.w ln.b up.w up.b down.w down.b).
    Returns (logits (B,T,V), loss)."""
    B, T = tokens.shape
    D, H = cfg["d_model"], cfg["heads"]
    dh = D // H
    all_logits, total = [], 0.0
    for b in range(B):
        xs = [wte_in[int(tokens[b, t])] + wpe[t] for t in range(T)]
        for l in range(cfg["layers"]):
            A = attn_of_layer[l]
            qs, ks, vs = [], [], []
            for t in range(T):
                h = naive_layernorm(xs[t], A["ln.w"], A["ln.b"])
                qkv = torch.mv(A["qkv.w"], h) + A["qkv.b"]
                qs.append(qkv[0:D]); ks.append(qkv[D:2 * D]); vs.append(qkv[2 * D:3 * D])
            new_xs = []
            for t in range(T):
                heads = []
                for j in range(H):
                    sl = slice(j * dh, (j + 1) * dh)
                    scores = [(qs[t][sl] * ks[s][sl]).sum() / math.sqrt(dh) for s in range(t + 1)]
                    m = max(float(sc) for sc in scores)
                    es = [torch.exp(sc - m) for sc in scores]
                    z = sum(es)
                    heads.append(sum((es[s] / z) * vs[s][sl] for s in range(t + 1)))
                y = torch.cat(heads)
                new_xs.append(xs[t] + torch.mv(A["proj.w"], y) + A["proj.b"])
            xs = new_xs
            Fb = ffn_of_layer[l]
            new_xs = []
            for t in range(T):
                h = naive_layernorm(xs[t], Fb["ln.w"], Fb["ln.b"])
                u = naive_gelu(torch.mv(Fb["up.w"], h) + Fb["up.b"])
                new_xs.append(xs[t] + torch.mv(Fb["down.w"], u) + Fb["down.b"])
            xs = new_xs
        row = []
        for t in range(T):
            z = torch.mv(w_out, naive_layernorm(xs[t], lnf_w, lnf_b))
            m = float(z.max())
            lse = m + torch.log(torch.exp(z - m).sum())
            total = total + (lse - z[int(targets[b, t])])
            row.append(z)
        all_logits.append(torch.stack(row))
    return torch.stack(all_logits), total / (B * T)


ATTN_KEYS = ["ln.w", "ln.b", "qkv.w", "qkv.b", "proj.w", "proj.b"]
FFN_KEYS = ["ln.w", "ln.b", "up.w", "up.b", "down.w", "down.b"]


def untangled_check(cfg, model, tokens, targets, logits, loss, grads):
    """Hand-written forward where every use of a tied/shared tensor is a
    separate leaf; sums the per-use grads back and compares."""
    P = {n: p.detach() for n, p in model.spec_params()}
    leaf = lambda t: t.clone().requires_grad_(True)
    _, _, a, f = block_layout(cfg)
    wte_in, wpe = leaf(P["wte"]), leaf(P["wpe"])
    w_out = leaf(P["wte"] if cfg["tie"] else P["lm_head"])
    lnf_w, lnf_b = leaf(P["lnf.w"]), leaf(P["lnf.b"])
    A = [{k: leaf(P[f"attn.{a[l]}.{k}"]) for k in ATTN_KEYS} for l in range(cfg["layers"])]
    Fs = [{k: leaf(P[f"ffn.{f[l]}.{k}"]) for k in FFN_KEYS} for l in range(cfg["layers"])]
    n_logits, n_loss = naive_forward(cfg, tokens, targets, wte_in, wpe, w_out, lnf_w, lnf_b, A, Fs)
    n_loss.backward()
    summed = {n: torch.zeros_like(p) for n, p in P.items()}
    if cfg["tie"]:
        summed["wte"] += wte_in.grad + w_out.grad
    else:
        summed["wte"] += wte_in.grad
        summed["lm_head"] += w_out.grad
    summed["wpe"] += wpe.grad
    summed["lnf.w"] += lnf_w.grad
    summed["lnf.b"] += lnf_b.grad
    for l in range(cfg["layers"]):
        for k in ATTN_KEYS:
            summed[f"attn.{a[l]}.{k}"] += A[l][k].grad
        for k in FFN_KEYS:
            summed[f"ffn.{f[l]}.{k}"] += Fs[l][k].grad
    errs = {
        "logits": rel_err(logits, n_logits.detach()),
        "loss": rel_err(loss, n_loss.detach()),
        "grads": max(rel_err(grads[n], summed[n]) for n in P),
    }
    return errs


def rel_err(a, b):
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-300))


# ---------------------------------------------------------------------------
# Tie check: two separate copies of the embedding weight in a second forward
# ---------------------------------------------------------------------------

def tie_check(model, tokens, targets, grads):
    model.zero_grad(set_to_none=True)
    w_out = model.wte.weight.detach().clone().requires_grad_(True)
    loss = lm_loss(model(tokens, out_weight=w_out), targets)
    loss.backward()
    g_lookup = model.wte.weight.grad.detach().clone()
    g_output = w_out.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return (rel_err(grads["wte"], g_lookup + g_output),
            float(g_lookup.abs().max()), float(g_output.abs().max()))


# ---------------------------------------------------------------------------
# gradcheck on tiny models
# ---------------------------------------------------------------------------

def gradcheck_tiny(cfg, seed, B, T):
    from torch.nn.utils.stateless import functional_call
    model, tokens, targets = build(cfg, seed, B, T)
    names = [n for n, _ in model.named_parameters()]
    inputs = tuple(p.detach().clone().requires_grad_(True) for _, p in model.named_parameters())

    def fn(*ps):
        logits = functional_call(model, dict(zip(names, ps)), (tokens,))
        return lm_loss(logits, targets)

    ok = torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)
    return ok, sum(p.numel() for p in inputs)


# ---------------------------------------------------------------------------
# safetensors writer
# ---------------------------------------------------------------------------

def config_json(cfg):
    return json.dumps({k: cfg[k] for k in CONFIG_KEYS})


def serialize_safetensors(tensors, metadata):
    """tensors: list of (name, np.ndarray) with dtype float32 or int32."""
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, arr in tensors:
        if arr.dtype == np.float32:
            dt, raw = "F32", arr.astype("<f4").tobytes(order="C")
        elif arr.dtype == np.int32:
            dt, raw = "I32", arr.astype("<i4").tobytes(order="C")
        else:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)  # data starts at 8 + len(hjson), a multiple of 8
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs)


def fixture_tensors(model, tokens, targets, logits, loss, grads):
    out = [("tokens", tokens.numpy().astype(np.int32)),
           ("targets", targets.numpy().astype(np.int32)),
           ("logits", logits.numpy().astype(np.float32)),
           ("loss", np.array(loss.item(), dtype=np.float32))]
    for n, p in model.spec_params():
        out.append(("param." + n, p.detach().numpy().astype(np.float32)))
    for n, _ in model.spec_params():
        out.append(("grad." + n, grads[n].numpy().astype(np.float32)))
    return out


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="testdata/golden", help="output directory")
    ap.add_argument("--skip-checks", action="store_true", help="skip the slow self-checks")
    args = ap.parse_args()

    torch.set_num_threads(1)  # fixed reduction order -> identical bytes on re-run
    torch.use_deterministic_algorithms(True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import read_fixtures

    failures = []

    def check(label, ok, detail):
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")
        if not ok:
            failures.append(label)

    if not args.skip_checks:
        print("gradcheck (float64, tiny models):")
        tiny = [
            ("tiny tied share=all G=1", make_config(vocab=5, d_model=4, layers=2, heads=2, d_ff=6,
                                                    max_seq=4, tie=True, share="all", groups=1)),
            ("tiny untied share=attention G=1", make_config(vocab=5, d_model=4, layers=2, heads=2, d_ff=6,
                                                            max_seq=4, tie=False, share="attention", groups=1)),
            ("tiny tied share=ffn G=2", make_config(vocab=5, d_model=4, layers=2, heads=1, d_ff=6,
                                                    max_seq=4, tie=True, share="ffn", groups=2)),
        ]
        for i, (label, cfg) in enumerate(tiny):
            ok, n = gradcheck_tiny(cfg, 77 + i, 2, 3)
            check(label, ok, f"{n} parameters, B=2 T=3")

    os.makedirs(args.out, exist_ok=True)
    written = []
    print("fixtures:")
    for name, cfg, B, T, seed in FIXTURES:
        model, tokens, targets = build(cfg, seed, B, T)
        logits, loss, grads = run(model, tokens, targets)
        n_params = sum(p.numel() for _, p in model.spec_params())
        assert n_params == param_count(cfg)
        n_attn, n_ffn, a, f = block_layout(cfg)
        print(f"- {name}: params={n_params} (attn blocks={n_attn} {a}, ffn blocks={n_ffn} {f}) "
              f"B={B} T={T} loss={loss.item():.6f} logits std={logits.std().item():.3f}")
        if not args.skip_checks:
            e = untangled_check(cfg, model, tokens, targets, logits, loss, grads)
            check("hand-written per-position model (untangled tie/share)", max(e.values()) < 1e-10,
                  "rel err logits %.2e loss %.2e grads %.2e" % (e["logits"], e["loss"], e["grads"]))
            if cfg["tie"]:
                err, gl, go = tie_check(model, tokens, targets, grads)
                check("tie: grad(wte) == lookup + output", err < 1e-12 and gl > 0 and go > 0,
                      "rel err %.2e (max|lookup|=%.3g, max|output|=%.3g)" % (err, gl, go))
            zero = [n for n, g in grads.items() if float(g.abs().max()) == 0.0]
            check("every gradient nonzero", not zero, "all nonzero" if not zero else str(zero))
        tensors = fixture_tensors(model, tokens, targets, logits, loss, grads)
        meta = {"config": config_json(cfg), "generator": GENERATOR}
        data = serialize_safetensors(tensors, meta)
        path = os.path.join(args.out, name + ".safetensors")
        with open(path, "wb") as fh:
            fh.write(data)
        written.append((path, cfg, tensors, meta))

    print("re-reading fixtures with reference/read_fixtures.py:")
    for path, cfg, tensors, meta in written:
        errs = read_fixtures.compare_with_expected(path, tensors, meta)
        check(os.path.basename(path), not errs, "bytes/shapes/values identical, format valid" if not errs else "; ".join(errs))
        errs, worst = read_fixtures.recompute(path)
        check(os.path.basename(path) + " recompute from stored params", not errs,
              "max rel err vs stored %.2e" % worst if not errs else "; ".join(errs))

    if failures:
        print(f"FAILED: {len(failures)} check(s): {failures}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
