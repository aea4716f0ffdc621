#!/usr/bin/env python3
"""Golden fixtures for tformer's interop with Hugging Face GPT-2 directories
and llm.c checkpoints, written and checked without tformer's code.

This script has its own GPT-2: a forward pass written directly against
Hugging Face's tensor names and layouts (Conv1D weights stored (in, out), so
y = x @ W + b; c_attn holding q, k, v), its own safetensors writer and reader,
its own llm.c checkpoint writer and reader. It does not use `transformers`
(not installed here) nor anything from tformer.

Write the fixtures (from the repository root):

    /usr/bin/python3 reference/interop_ref.py write testdata/interop

which makes, in testdata/interop/,

    hf_tied/            config.json + model.safetensors, F32, "transformer." names,
                        no lm_head (tied), n_inner null, tie_word_embeddings absent
    hf_f16_noprefix/    F16, names without the prefix, the h.N.attn.bias and
                        masked_bias buffers, lm_head.weight equal to wte (tied)
    hf_bf16/            BF16, prefixed, tie_word_embeddings true
    hf_untied/          F32, lm_head.weight of its own, tie_word_embeddings false,
                        n_inner 40 (not 4 * n_embd), 3 layers, 2 heads
    llmc_f32.bin        llm.c version 3 (float32), vocabulary padded 61 -> 128 with zeros
    llmc_bf16.bin       llm.c version 5 (bfloat16), padding rows filled with junk
    expect/NAME.safetensors   tokens, targets [B,T] I32; logits [B,T,V] F32; loss F32 []

The logits and loss are computed in float64 from the parameters exactly as
stored (after rounding to F16/BF16 where the file uses them).

Check the files tformer wrote (tformer's test TestWrittenFixtures writes them
into testdata/interop/written/ with TFORMER_UPDATE_INTEROP=1):

    /usr/bin/python3 reference/interop_ref.py check testdata/interop

It loads every file in written/ with this script's readers, checks the layout
rules (names, Conv1D shapes, tied weight stored once, config.json fields,
safetensors metadata, llm.c header and zero padding), compares the parameters
bit for bit with the source fixture's, and recomputes the logits and loss.
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

GENERATOR = "reference/interop_ref.py"
B, T = 2, 9

SMALL = dict(vocab=61, n_embd=16, n_layer=2, n_head=4, n_inner=64, n_positions=12)
UNTIED = dict(vocab=61, n_embd=16, n_layer=3, n_head=2, n_inner=40, n_positions=12)

# name, shape, storage dtype, seed, format options
VARIANTS = [
    ("hf_tied", SMALL, "F32", 2001, dict(fmt="hf", prefix=True, lm_head=None, buffers=False,
                                         n_inner_null=True, tie_field=None)),
    ("hf_f16_noprefix", SMALL, "F16", 2002, dict(fmt="hf", prefix=False, lm_head="equal", buffers=True,
                                                 n_inner_null=False, tie_field=True)),
    ("hf_bf16", SMALL, "BF16", 2003, dict(fmt="hf", prefix=True, lm_head=None, buffers=False,
                                          n_inner_null=True, tie_field=True)),
    ("hf_untied", UNTIED, "F32", 2004, dict(fmt="hf", prefix=True, lm_head="own", buffers=False,
                                            n_inner_null=False, tie_field=False)),
    ("llmc_f32", SMALL, "F32", 2005, dict(fmt="llmc", padded=128, junk=False)),
    ("llmc_bf16", SMALL, "BF16", 2006, dict(fmt="llmc", padded=128, junk=True)),
]

# What tformer writes (see TestWrittenFixtures) and which source it came from.
WRITTEN = [
    ("hf_tied", "hf", "hf_tied"),              # hf_tied loaded, saved as HF
    ("hf_untied", "hf", "hf_untied"),          # hf_untied loaded, saved as HF
    ("hf_from_llmc_bf16", "hf", "llmc_bf16"),  # llmc_bf16 loaded, saved as HF
    ("llmc_from_hf_tied.bin", "llmc", "hf_tied"),  # hf_tied loaded, saved as llm.c
    ("llmc_f32.bin", "llmc", "llmc_f32"),      # llmc_f32 loaded, saved as llm.c
]

LAYER_NAMES = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
               "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
               "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]


# ---------------------------------------------------------------------------
# Parameters in Hugging Face naming (no prefix), float64 numpy arrays
# ---------------------------------------------------------------------------

def hf_shapes(s):
    V, D, L, Fi, P = s["vocab"], s["n_embd"], s["n_layer"], s["n_inner"], s["n_positions"]
    shapes = {"wte.weight": (V, D), "wpe.weight": (P, D)}
    for l in range(L):
        h = f"h.{l}."
        shapes.update({
            h + "ln_1.weight": (D,), h + "ln_1.bias": (D,),
            h + "attn.c_attn.weight": (D, 3 * D), h + "attn.c_attn.bias": (3 * D,),
            h + "attn.c_proj.weight": (D, D), h + "attn.c_proj.bias": (D,),
            h + "ln_2.weight": (D,), h + "ln_2.bias": (D,),
            h + "mlp.c_fc.weight": (D, Fi), h + "mlp.c_fc.bias": (Fi,),
            h + "mlp.c_proj.weight": (Fi, D), h + "mlp.c_proj.bias": (D,),
        })
    shapes["ln_f.weight"] = (D,)
    shapes["ln_f.bias"] = (D,)
    return shapes


def make_params(s, seed, own_head):
    rng = np.random.default_rng(seed)
    P = {}
    for name, shape in hf_shapes(s).items():
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            v = 0.05 * rng.standard_normal(shape)
        else:
            v = 0.15 * rng.standard_normal(shape)
        P[name] = v
    if own_head:
        P["lm_head.weight"] = 0.15 * rng.standard_normal((s["vocab"], s["n_embd"]))
    return P


def round_to(v, dtype):
    """Rounds float64 values to the storage dtype and back to float64."""
    v32 = np.asarray(v, dtype=np.float32)
    if dtype == "F32":
        return v32.astype(np.float64)
    if dtype == "F16":
        return v32.astype(np.float16).astype(np.float64)
    if dtype == "BF16":
        return torch.from_numpy(v32).to(torch.bfloat16).to(torch.float64).numpy()
    raise ValueError(dtype)


def encode_values(v, dtype):
    """Little-endian bytes of v (already representable) in dtype."""
    v32 = np.ascontiguousarray(v, dtype=np.float32)
    if dtype == "F32":
        return v32.astype("<f4").tobytes()
    if dtype == "F16":
        return v32.astype("<f2").tobytes()
    if dtype == "BF16":
        bits = v32.view(np.uint32)
        assert np.all(bits & 0xFFFF == 0), "value not representable in bfloat16"
        return (bits >> 16).astype("<u2").tobytes()
    raise ValueError(dtype)


def decode_values(raw, dtype, shape):
    if dtype == "F32":
        v = np.frombuffer(raw, dtype="<f4")
    elif dtype == "F16":
        v = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        v = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif dtype == "I32":
        return np.frombuffer(raw, dtype="<i4").reshape(shape).copy()
    else:
        raise ValueError(dtype)
    return v.astype(np.float64).reshape(shape)


# ---------------------------------------------------------------------------
# GPT-2 forward pass on Hugging Face-named tensors (float64)
# ---------------------------------------------------------------------------

def gpt2_logits(P, s, tokens):
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in P.items()}
    D, H = s["n_embd"], s["n_head"]
    hd = D // H
    Bn, Tn = tokens.shape
    idx = torch.from_numpy(tokens.astype(np.int64))
    x = t["wte.weight"][idx] + t["wpe.weight"][:Tn][None]
    causal = torch.ones(Tn, Tn, dtype=torch.bool).tril()
    for l in range(s["n_layer"]):
        h = f"h.{l}."
        a = F.layer_norm(x, (D,), t[h + "ln_1.weight"], t[h + "ln_1.bias"], eps=1e-5)
        qkv = a @ t[h + "attn.c_attn.weight"] + t[h + "attn.c_attn.bias"]  # Conv1D: x @ W + b
        q, k, v = qkv.split(D, dim=-1)
        q = q.view(Bn, Tn, H, hd).transpose(1, 2)
        k = k.view(Bn, Tn, H, hd).transpose(1, 2)
        v = v.view(Bn, Tn, H, hd).transpose(1, 2)
        w = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        w = w.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (w @ v).transpose(1, 2).reshape(Bn, Tn, D)
        x = x + y @ t[h + "attn.c_proj.weight"] + t[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (D,), t[h + "ln_2.weight"], t[h + "ln_2.bias"], eps=1e-5)
        u = m @ t[h + "mlp.c_fc.weight"] + t[h + "mlp.c_fc.bias"]
        u = 0.5 * u * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)))  # gelu_new
        x = x + u @ t[h + "mlp.c_proj.weight"] + t[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (D,), t["ln_f.weight"], t["ln_f.bias"], eps=1e-5)
    head = t["lm_head.weight"] if "lm_head.weight" in t else t["wte.weight"]
    return x @ head.T


def loss_of(logits, targets):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), torch.from_numpy(targets.astype(np.int64)).reshape(-1))


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

def st_serialize(entries, metadata):
    """entries: list of (name, dtype, shape, raw bytes)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    off, blobs = 0, []
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def st_parse(data):
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header longer than file"
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out, spans = {}, []
    for name, e in header.items():
        b0, b1 = e["data_offsets"]
        spans.append((b0, b1, name))
        out[name] = (e["dtype"], tuple(e["shape"]), data[base + b0:base + b1])
    spans.sort()
    for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
        assert a1 <= b0, f"{an} and {bn} overlap"
    assert not spans or spans[-1][1] == len(data) - base, "trailing bytes after the last tensor"
    return out, meta


# ---------------------------------------------------------------------------
# Hugging Face directory
# ---------------------------------------------------------------------------

def write_hf(dirpath, P, s, dtype, o):
    os.makedirs(dirpath, exist_ok=True)
    pre = "transformer." if o["prefix"] else ""
    entries = []
    for name, shape in hf_shapes(s).items():
        entries.append((pre + name, dtype, shape, encode_values(P[name], dtype)))
        if o["buffers"] and name.endswith("ln_1.bias"):
            l = name.split(".")[1]
            mask = np.tril(np.ones((s["n_positions"], s["n_positions"]), dtype=np.uint8))
            entries.append((pre + f"h.{l}.attn.bias", "U8", (1, 1, s["n_positions"], s["n_positions"]), mask.tobytes()))
            entries.append((pre + f"h.{l}.attn.masked_bias", "F32", (), struct.pack("<f", -1e4)))
    if o["lm_head"] == "equal":
        entries.append(("lm_head.weight", dtype, P["wte.weight"].shape, encode_values(P["wte.weight"], dtype)))
    elif o["lm_head"] == "own":
        entries.append(("lm_head.weight", dtype, P["lm_head.weight"].shape, encode_values(P["lm_head.weight"], dtype)))
    with open(os.path.join(dirpath, "model.safetensors"), "wb") as f:
        f.write(st_serialize(entries, {"format": "pt"}))
    cfg = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_embd": s["n_embd"],
        "n_head": s["n_head"],
        "n_inner": None if o["n_inner_null"] else s["n_inner"],
        "n_layer": s["n_layer"],
        "n_positions": s["n_positions"],
        "vocab_size": s["vocab"],
    }
    if o["tie_field"] is not None:
        cfg["tie_word_embeddings"] = o["tie_field"]
    with open(os.path.join(dirpath, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def read_hf(dirpath, strict=False):
    """Returns (params without prefix, shape dict s, dtype, tied, problems).
    strict: also check the layout rules tformer's writer promises."""
    problems = []
    with open(os.path.join(dirpath, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(dirpath, "model.safetensors"), "rb") as f:
        tensors, meta = st_parse(f.read())
    D = cfg["n_embd"]
    s = dict(vocab=cfg["vocab_size"], n_embd=D, n_layer=cfg["n_layer"], n_head=cfg["n_head"],
             n_inner=cfg.get("n_inner") or 4 * D, n_positions=cfg["n_positions"])
    tied = cfg.get("tie_word_embeddings", True)
    P, dtypes = {}, set()
    for name, (dtype, shape, raw) in tensors.items():
        bare = name[len("transformer."):] if name.startswith("transformer.") else name
        parts = bare.split(".")
        if len(parts) == 4 and parts[0] == "h" and parts[2] == "attn" and parts[3] in ("bias", "masked_bias"):
            continue  # causal-mask buffers, not parameters
        dtypes.add(dtype)
        P[bare] = decode_values(raw, dtype, shape)
        if strict and name != "lm_head.weight" and not name.startswith("transformer."):
            problems.append(f"{name}: no transformer. prefix")
    want = hf_shapes(s)
    for name, shape in want.items():
        if name not in P:
            problems.append(f"missing {name}")
        elif P[name].shape != shape:
            problems.append(f"{name}: shape {P[name].shape}, want {shape}")
    extra = set(P) - set(want) - {"lm_head.weight"}
    if extra:
        problems.append(f"unexpected tensors {sorted(extra)}")
    if strict:
        if meta.get("format") != "pt":
            problems.append(f"metadata format {meta.get('format')!r}, want 'pt'")
        if tied and "lm_head.weight" in P:
            problems.append("tied model stores lm_head.weight")
        if not tied and "lm_head.weight" not in P:
            problems.append("untied model lacks lm_head.weight")
        for k, v in [("model_type", "gpt2"), ("activation_function", "gelu_new"), ("layer_norm_epsilon", 1e-5)]:
            if cfg.get(k) != v:
                problems.append(f"config.json {k} = {cfg.get(k)!r}, want {v!r}")
        if cfg.get("architectures") != ["GPT2LMHeadModel"]:
            problems.append("config.json architectures is not [GPT2LMHeadModel]")
    if not tied and "lm_head.weight" not in P:
        problems.append("untied but no lm_head.weight")
    if tied:
        P.pop("lm_head.weight", None)
    return P, s, (dtypes.pop() if len(dtypes) == 1 else sorted(dtypes)), tied, problems


# ---------------------------------------------------------------------------
# llm.c checkpoint
# ---------------------------------------------------------------------------

def llmc_sequence(P, s, Vp, junk_rng=None):
    """The parameters in llm.c's order, as float64 arrays (wte padded)."""
    V, D, L = s["vocab"], s["n_embd"], s["n_layer"]
    pad = np.zeros((Vp - V, D)) if junk_rng is None else round_to(junk_rng.standard_normal((Vp - V, D)), "BF16")
    seq = [np.concatenate([P["wte.weight"], pad]), P["wpe.weight"]]

    def per_layer(key, transpose=False):
        arrs = [P[f"h.{l}.{key}"] for l in range(L)]
        return np.stack([a.T if transpose else a for a in arrs])

    seq += [per_layer("ln_1.weight"), per_layer("ln_1.bias"),
            per_layer("attn.c_attn.weight", True), per_layer("attn.c_attn.bias"),
            per_layer("attn.c_proj.weight", True), per_layer("attn.c_proj.bias"),
            per_layer("ln_2.weight"), per_layer("ln_2.bias"),
            per_layer("mlp.c_fc.weight", True), per_layer("mlp.c_fc.bias"),
            per_layer("mlp.c_proj.weight", True), per_layer("mlp.c_proj.bias"),
            P["ln_f.weight"], P["ln_f.bias"]]
    return seq


def write_llmc(path, P, s, dtype, padded, junk, seed):
    version = {"F32": 3, "BF16": 5}[dtype]
    header = np.zeros(256, dtype="<i4")
    header[:8] = [20240326, version, s["n_positions"], s["vocab"], s["n_layer"], s["n_head"], s["n_embd"], padded]
    rng = np.random.default_rng(seed + 1) if junk else None
    with open(path, "wb") as f:
        f.write(header.tobytes())
        for a in llmc_sequence(P, s, padded, rng):
            f.write(encode_values(a, dtype))


def read_llmc(path):
    """Returns (params in HF naming, s, dtype, padding rows, problems)."""
    data = open(path, "rb").read()
    h = np.frombuffer(data[:1024], dtype="<i4")
    problems = []
    if h[0] != 20240326:
        problems.append(f"magic {h[0]}")
    version, maxT, V, L, NH, C, Vp = (int(x) for x in h[1:8])
    if np.any(h[8:] != 0):
        problems.append("nonzero header tail")
    dtype = {3: "F32", 5: "BF16"}[version]
    es = 4 if dtype == "F32" else 2
    s = dict(vocab=V, n_embd=C, n_layer=L, n_head=NH, n_inner=4 * C, n_positions=maxT)
    sizes = [("wte", (Vp, C)), ("wpe", (maxT, C)), ("ln1w", (L, C)), ("ln1b", (L, C)),
             ("qkvw", (L, 3 * C, C)), ("qkvb", (L, 3 * C)), ("attprojw", (L, C, C)), ("attprojb", (L, C)),
             ("ln2w", (L, C)), ("ln2b", (L, C)), ("fcw", (L, 4 * C, C)), ("fcb", (L, 4 * C)),
             ("fcprojw", (L, C, 4 * C)), ("fcprojb", (L, C)), ("lnfw", (C,)), ("lnfb", (C,))]
    off, A = 1024, {}
    for name, shape in sizes:
        n = int(np.prod(shape)) * es
        A[name] = decode_values(data[off:off + n], dtype, shape)
        off += n
    if off != len(data):
        problems.append(f"file has {len(data)} bytes, parameters end at {off}")
    P = {"wte.weight": A["wte"][:V], "wpe.weight": A["wpe"], "ln_f.weight": A["lnfw"], "ln_f.bias": A["lnfb"]}
    for l in range(L):
        h_ = f"h.{l}."
        P[h_ + "ln_1.weight"], P[h_ + "ln_1.bias"] = A["ln1w"][l], A["ln1b"][l]
        P[h_ + "attn.c_attn.weight"], P[h_ + "attn.c_attn.bias"] = A["qkvw"][l].T, A["qkvb"][l]
        P[h_ + "attn.c_proj.weight"], P[h_ + "attn.c_proj.bias"] = A["attprojw"][l].T, A["attprojb"][l]
        P[h_ + "ln_2.weight"], P[h_ + "ln_2.bias"] = A["ln2w"][l], A["ln2b"][l]
        P[h_ + "mlp.c_fc.weight"], P[h_ + "mlp.c_fc.bias"] = A["fcw"][l].T, A["fcb"][l]
        P[h_ + "mlp.c_proj.weight"], P[h_ + "mlp.c_proj.bias"] = A["fcprojw"][l].T, A["fcprojb"][l]
    return P, s, dtype, A["wte"][V:], problems


# ---------------------------------------------------------------------------

def rel_err(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))


def torch_ref_logits(P, s, tokens):
    """The same model through reference/torch_ref.py's tformer-layout model
    (nn.Linear (out, in) weights), as a cross-check of gpt2_logits."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_ref
    cfg = torch_ref.make_config(vocab=s["vocab"], d_model=s["n_embd"], layers=s["n_layer"], heads=s["n_head"],
                                d_ff=s["n_inner"], max_seq=s["n_positions"], tie="lm_head.weight" not in P)
    m = torch_ref.TFormer(cfg).double()
    tf = {"wte": P["wte.weight"], "wpe": P["wpe.weight"], "lnf.w": P["ln_f.weight"], "lnf.b": P["ln_f.bias"]}
    if "lm_head.weight" in P:
        tf["lm_head"] = P["lm_head.weight"]
    for l in range(s["n_layer"]):
        h = f"h.{l}."
        tf.update({f"attn.{l}.ln.w": P[h + "ln_1.weight"], f"attn.{l}.ln.b": P[h + "ln_1.bias"],
                   f"attn.{l}.qkv.w": P[h + "attn.c_attn.weight"].T, f"attn.{l}.qkv.b": P[h + "attn.c_attn.bias"],
                   f"attn.{l}.proj.w": P[h + "attn.c_proj.weight"].T, f"attn.{l}.proj.b": P[h + "attn.c_proj.bias"],
                   f"ffn.{l}.ln.w": P[h + "ln_2.weight"], f"ffn.{l}.ln.b": P[h + "ln_2.bias"],
                   f"ffn.{l}.up.w": P[h + "mlp.c_fc.weight"].T, f"ffn.{l}.up.b": P[h + "mlp.c_fc.bias"],
                   f"ffn.{l}.down.w": P[h + "mlp.c_proj.weight"].T, f"ffn.{l}.down.b": P[h + "mlp.c_proj.bias"]})
    with torch.no_grad():
        for n, p in m.spec_params():
            p.copy_(torch.from_numpy(np.ascontiguousarray(tf[n])))
        return m(torch.from_numpy(tokens.astype(np.int64)))


def tokens_for(seed, V):
    rng = np.random.default_rng(seed + 7)
    return rng.integers(0, V, (B, T)).astype(np.int32), rng.integers(0, V, (B, T)).astype(np.int32)


def write(out):
    torch.set_num_threads(1)
    os.makedirs(os.path.join(out, "expect"), exist_ok=True)
    failures = []
    for name, s, dtype, seed, o in VARIANTS:
        P = make_params(s, seed, own_head=(o.get("lm_head") == "own"))
        P = {k: round_to(v, dtype) for k, v in P.items()}
        tokens, targets = tokens_for(seed, s["vocab"])
        logits = gpt2_logits(P, s, tokens)
        loss = loss_of(logits, targets)
        if o["fmt"] == "hf":
            path = os.path.join(out, name)
            write_hf(path, P, s, dtype, o)
            back, s2, dt2, tied, problems = read_hf(path)
        else:
            path = os.path.join(out, name + ".bin")
            write_llmc(path, P, s, dtype, o["padded"], o["junk"], seed)
            back, s2, dt2, pad, problems = read_llmc(path)
        # Re-read: same parameters, same numbers.
        same = set(back) == set(P) and all(np.array_equal(back[k], P[k]) for k in P)
        relog = rel_err(gpt2_logits(back, s2, tokens), logits)
        cross = rel_err(torch_ref_logits(P, s, tokens).numpy(), logits.numpy())
        ok = same and not problems and relog == 0.0 and cross < 1e-12
        print(f"{'PASS' if ok else 'FAIL'} {name}: {dtype}, loss {loss.item():.6f}, "
              f"logits std {logits.std().item():.3f}, re-read identical={same}, "
              f"torch_ref.py model agrees to {cross:.1e} {problems}")
        if not ok:
            failures.append(name)
        exp = [("tokens", "I32", tokens.shape, tokens.astype("<i4").tobytes()),
               ("targets", "I32", targets.shape, targets.astype("<i4").tobytes()),
               ("logits", "F32", tuple(logits.shape), logits.numpy().astype("<f4").tobytes()),
               ("loss", "F32", (), np.float32(loss.item()).astype("<f4").tobytes())]
        with open(os.path.join(out, "expect", name + ".safetensors"), "wb") as f:
            f.write(st_serialize(exp, {"generator": GENERATOR, "source": name}))
    if failures:
        sys.exit(f"FAILED: {failures}")


def load_source(out, name):
    if os.path.isdir(os.path.join(out, name)):
        P, s, _, _, _ = read_hf(os.path.join(out, name))
    else:
        P, s, _, _, _ = read_llmc(os.path.join(out, name + ".bin"))
    return P, s


def check(out):
    torch.set_num_threads(1)
    wdir = os.path.join(out, "written")
    failures = []
    for wname, fmt, source in WRITTEN:
        path = os.path.join(wdir, wname)
        if not os.path.exists(path):
            print(f"FAIL {wname}: missing (run tformer's TestWrittenFixtures with TFORMER_UPDATE_INTEROP=1)")
            failures.append(wname)
            continue
        if fmt == "hf":
            P, s, dtype, tied, problems = read_hf(path, strict=True)
        else:
            P, s, dtype, pad, problems = read_llmc(path)
            if np.any(pad != 0):
                problems.append("padding rows are not zero")
            if dtype != "F32":
                problems.append(f"written as {dtype}, want F32 (version 3)")
        SP, ss = load_source(out, source)
        if ss != s:
            problems.append(f"shape {s} differs from the source's {ss}")
        if set(SP) != set(P):
            problems.append(f"tensors differ from the source's: {sorted(set(SP) ^ set(P))}")
        else:
            diff = [k for k in SP if not np.array_equal(SP[k], P[k])]
            if diff:
                problems.append(f"parameters differ from the source's: {diff[:4]}")
        with open(os.path.join(out, "expect", source + ".safetensors"), "rb") as f:
            exp, _ = st_parse(f.read())
        tokens = decode_values(exp["tokens"][2], "I32", exp["tokens"][1])
        targets = decode_values(exp["targets"][2], "I32", exp["targets"][1])
        want_logits = decode_values(exp["logits"][2], "F32", exp["logits"][1])
        want_loss = decode_values(exp["loss"][2], "F32", ())
        logits = gpt2_logits(P, s, tokens)
        e1 = rel_err(logits.numpy(), want_logits)
        e2 = rel_err(loss_of(logits, targets).item(), want_loss)
        if e1 > 1e-6 or e2 > 1e-6:
            problems.append(f"logits rel err {e1:.2e}, loss rel err {e2:.2e}")
        ok = not problems
        print(f"{'PASS' if ok else 'FAIL'} {wname} (from {source}): params bit-identical, "
              f"logits rel err {e1:.1e}, loss rel err {e2:.1e} {problems}")
        if not ok:
            failures.append(wname)
    if failures:
        sys.exit(f"FAILED: {failures}")
    print("all written files load in the reference with the same numbers")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit("usage: interop_ref.py write|check DIR")
    (write if sys.argv[1] == "write" else check)(sys.argv[2])


if __name__ == "__main__":
    main()
