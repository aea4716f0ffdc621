#!/usr/bin/env python3
"""Reader check for the golden fixtures written by reference/torch_ref.py.

Parses each .safetensors fixture with a small hand-written parser (struct +
json, no safetensors package), validates the layout, and recomputes the model
in float64 from the stored float32 parameters and tokens, comparing against the
stored logits, loss and gradients.

    /usr/bin/python3 reference/read_fixtures.py testdata/golden
"""

import glob
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "I32": np.dtype("<i4")}


def parse(path):
    """Returns (metadata dict, ordered list of (name, np.ndarray)); raises
    ValueError on any layout violation."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 8:
        raise ValueError("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("header length past end of file")
    if (8 + n) % 8 != 0:
        raise ValueError(f"data start {8 + n} not 8-byte aligned")
    htext = raw[8:8 + n].decode("utf-8")
    if htext.rstrip(" ") != htext.strip():
        raise ValueError("header has leading whitespace")
    header = json.loads(htext, object_pairs_hook=lambda kv: _no_dupes(kv))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("__metadata__ missing or not a str->str map")
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    pos, out = 0, []
    for name, info in entries:
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{name}: unexpected keys {sorted(info)}")
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{name}: unexpected dtype {info['dtype']}")
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if b != pos:
            raise ValueError(f"{name}: not contiguous (begin {b}, expected {pos})")
        if e - b != count * dt.itemsize:
            raise ValueError(f"{name}: byte size {e - b} != {count} * {dt.itemsize}")
        out.append((name, np.frombuffer(data[b:e], dtype=dt).reshape(shape).copy()))
        pos = e
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} trailing bytes after last tensor")
    # header order must equal data order
    if [k for k in header] != [k for k, _ in entries]:
        raise ValueError("header order differs from data order")
    return meta, out


def _no_dupes(kv):
    d = {}
    for k, v in kv:
        if k in d:
            raise ValueError(f"duplicate key {k}")
        d[k] = v
    return d


def expected_names(cfg):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_ref
    n_attn, n_ffn, _, _ = torch_ref.block_layout(cfg)
    params = ["wte", "wpe"] + ([] if cfg["tie"] else ["lm_head"]) + ["lnf.w", "lnf.b"]
    for i in range(n_attn):
        params += [f"attn.{i}.{k}" for k in torch_ref.ATTN_KEYS]
    for j in range(n_ffn):
        params += [f"ffn.{j}.{k}" for k in torch_ref.FFN_KEYS]
    return params


def validate(meta, tensors):
    errs = []
    if set(meta) != {"config", "generator"}:
        errs.append(f"metadata keys {sorted(meta)}")
    cfg = json.loads(meta["config"])
    keys = ["vocab", "d_model", "layers", "heads", "d_ff", "max_seq", "tie", "share", "groups"]
    if list(cfg) != keys:
        errs.append(f"config keys {list(cfg)}")
    V, D, F_, Tmax = cfg["vocab"], cfg["d_model"], cfg["d_ff"], cfg["max_seq"]
    t = dict(tensors)
    params = expected_names(cfg)
    want = ["tokens", "targets", "logits", "loss"] + ["param." + p for p in params] + ["grad." + p for p in params]
    if [n for n, _ in tensors] != want:
        errs.append("tensor list mismatch")
        return errs
    B, T = t["tokens"].shape
    shapes = {"wte": (V, D), "wpe": (Tmax, D), "lm_head": (V, D), "lnf.w": (D,), "lnf.b": (D,),
              "ln.w": (D,), "ln.b": (D,), "qkv.w": (3 * D, D), "qkv.b": (3 * D,), "proj.w": (D, D),
              "proj.b": (D,), "up.w": (F_, D), "up.b": (F_,), "down.w": (D, F_), "down.b": (D,)}
    exp = {"tokens": (B, T), "targets": (B, T), "logits": (B, T, V), "loss": ()}
    for p in params:
        s = shapes[p] if p in shapes else shapes[p.split(".", 2)[2]]
        exp["param." + p] = exp["grad." + p] = s
    for n, arr in tensors:
        if arr.shape != exp[n]:
            errs.append(f"{n}: shape {arr.shape} != {exp[n]}")
        want_dt = np.int32 if n in ("tokens", "targets") else np.float32
        if arr.dtype != want_dt:
            errs.append(f"{n}: dtype {arr.dtype}")
    if T > Tmax:
        errs.append("T > max_seq")
    for n in ("tokens", "targets"):
        if t[n].min() < 0 or t[n].max() >= V:
            errs.append(f"{n} out of range")
    return errs


def compare_with_expected(path, tensors, meta):
    """Compare a written file against the in-memory tensors it was written from."""
    errs = []
    try:
        rmeta, rtensors = parse(path)
    except ValueError as e:
        return [f"parse: {e}"]
    if rmeta != meta:
        errs.append("metadata differs")
    if [n for n, _ in rtensors] != [n for n, _ in tensors]:
        errs.append("tensor names/order differ")
    for (n, a), (_, b) in zip(rtensors, tensors):
        if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
            errs.append(f"{n} differs")
    errs += validate(rmeta, rtensors)
    return errs


def recompute(path):
    """Rebuild the model from the stored config/params, recompute in float64
    and compare. Returns (errors, worst relative error)."""
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_ref
    meta, tensors = parse(path)
    t = dict(tensors)
    cfg = json.loads(meta["config"])
    model = torch_ref.TFormer(cfg).double()
    with torch.no_grad():
        for n, p in model.spec_params():
            p.copy_(torch.from_numpy(t["param." + n].astype(np.float64)))
    tokens = torch.from_numpy(t["tokens"].astype(np.int64))
    targets = torch.from_numpy(t["targets"].astype(np.int64))
    logits, loss, grads = torch_ref.run(model, tokens, targets)
    errs, worst = [], 0.0
    pairs = [("logits", logits), ("loss", loss)] + [("grad." + n, g) for n, g in grads.items()]
    for n, got in pairs:
        ref = torch.from_numpy(t[n].astype(np.float64))
        r = float((got - ref).abs().max() / max(float(ref.abs().max()), 1e-30))
        worst = max(worst, r)
        if r > 1e-6:
            errs.append(f"{n}: rel err {r:.2e}")
    return errs, worst


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "testdata/golden"
    paths = sorted(glob.glob(os.path.join(d, "*.safetensors")))
    if not paths:
        print(f"no fixtures in {d}")
        sys.exit(1)
    bad = 0
    for p in paths:
        try:
            meta, tensors = parse(p)
            errs = validate(meta, tensors)
            if not errs:
                e2, worst = recompute(p)
                errs += e2
        except Exception as e:  # report and continue
            errs = [f"{type(e).__name__}: {e}"]
        status = "OK" if not errs else "FAIL " + "; ".join(errs)
        if not errs:
            status += f" ({len(tensors)} tensors, recompute max rel err {worst:.2e})"
        print(f"{os.path.basename(p)}: {status}")
        bad += bool(errs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
