#!/usr/bin/python3
"""Time a GPT-2-small training step (or causal attention) in PyTorch on the CPU.

This is the PyTorch side of bench/step_compare.sh, which runs it alternately
with `tformer bench --only train,attention --json`. It is a reference point,
not part of tformer: CI never runs it.

Training step (default mode). GPT-2 small written the usual way, one
parameter tensor per layer: nn.Embedding wte (50257 x 768, tied to the LM
head) and wpe (1024 x 768); 12 pre-LayerNorm blocks, each with one qkv
nn.Linear(768, 2304), causal softmax attention through scaled dot-product
attention, nn.Linear(768, 768) output projection, and an MLP
nn.Linear(768, 3072) -> GELU(tanh) -> nn.Linear(3072, 768); a final LayerNorm;
biases everywhere but the LM head (124,439,808 parameters, as tformer's
GPT2Small). float32, random tokens and targets at B=4, T=64, AdamW
(lr 3e-4, betas 0.9/0.95 as tformer's bench, weight decay 0.1 on the
parameters with two or more dimensions, none on biases and LayerNorm). One
step is

    optimizer.zero_grad(set_to_none=True); logits = model(x);
    loss = cross_entropy(logits, y); loss.backward();
    clip_grad_norm_(params, 1.0); optimizer.step()

timed with time.perf_counter after --warmup steps; median and min over
--steps steps are printed, with the median of each phase (the CPU backend is
synchronous, so phase boundaries are exact). "fwd_bwd" is forward + loss +
backward alone; the clip's time is in phase_median_ms (tformer's bench step
clips as well since commit 9ed1ac9, but not before).

Attention (--attention). Causal scaled dot-product attention forward +
backward at batch 1, --attn-heads 8, --attn-d 512 (head size 64), for each n
in --seqs, on contiguous (B, heads, n, head size) q, k, v. Timing mirrors
tformer's speed.Attention: one warm-up call, then three runs, each repeating
the call until --min-time has passed; the best rate is reported. FLOPs are
counted as tformer's kernels count them, per (query, key) pair of the causal
triangle (n(n+1)/2 pairs per head) and per head of size dh:

    forward   2dh (QK^T) + 6 (softmax) + 2dh (AV)
    backward  4dh (AV)   + 5 (softmax) + 4dh (QK^T)
    total     B * heads * n(n+1)/2 * (12 dh + 11)

The attention function is torch.nn.functional.scaled_dot_product_attention
(..., is_causal=True) where it exists (PyTorch >= 2.0); PyTorch 1.13 (Debian
bookworm's python3-torch) only has the private
F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True), which on
the CPU is the "math" composite (bmm, causal masked_fill, softmax, bmm) with
autograd's backward. --attn-impl math forces that composite written out by
hand. The JSON says which one ran ("attention_impl").

Threads: torch.set_num_threads(--threads), default 2. BLAS is whatever
libblas.so.3 Debian's alternatives select (install libopenblas0-pthread);
OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS at load, so set them
in the environment (step_compare.sh does). The JSON reports the OpenBLAS core
in use.

Usage (Debian's interpreter: apt-get install python3-torch python3-numpy):

    /usr/bin/python3 bench/torch_gpt2_step.py [--threads 2] [--steps 5]
    /usr/bin/python3 bench/torch_gpt2_step.py --attention [--seqs 1024,2048,4096]

Prints one JSON object on stdout; progress goes to stderr.
"""

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def log(msg):
    print("torch_gpt2_step: " + msg, file=sys.stderr, flush=True)


def blas_info():
    """The BLAS libraries mapped into this process and OpenBLAS's core name."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if ".so" in path and ("blas" in path or "lapack" in path):
                libs.add(path)
    info = {"libraries": sorted(libs)}
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            fn = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_char_p
        info["openblas_core"] = fn().decode()
        try:
            info["openblas_threads"] = lib.openblas_get_num_threads()
        except AttributeError:
            pass
        break
    return info


# ---------------------------------------------------------------- attention

def pick_attention(impl):
    """Return (name, f) where f(q, k, v) is causal attention on (B, h, n, dh)."""
    if impl in ("auto", "sdpa") and hasattr(F, "scaled_dot_product_attention"):
        return ("F.scaled_dot_product_attention(is_causal=True)",
                lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))
    if impl in ("auto", "sdpa") and hasattr(F, "_scaled_dot_product_attention"):
        # PyTorch 1.13: (query, key, value, attn_mask, dropout_p,
        # need_attn_weights, is_causal) -> (output, weights).
        return ("F._scaled_dot_product_attention(is_causal=True) [torch 1.13 private; math composite on CPU]",
                lambda q, k, v: F._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0])
    if impl == "sdpa":
        raise SystemExit("torch_gpt2_step: this PyTorch has no scaled_dot_product_attention")
    masks = {}

    def math_attention(q, k, v):
        n = q.shape[-2]
        if n not in masks:
            masks[n] = torch.ones(n, n, dtype=torch.bool).triu(1)
        s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        s = s.masked_fill(masks[n], float("-inf"))
        return s.softmax(dim=-1) @ v

    return ("math (q@k^T, causal masked_fill, softmax, @v; written out)", math_attention)


def attention_flops(b, heads, n, d):
    dh = d // heads
    return b * heads * (n * (n + 1) // 2) * (12 * dh + 11)


def best_rate(flops, min_time, f):
    """One warm-up call, then three runs of repeated calls lasting at least
    min_time each; returns (best GFLOP/s, its seconds per call, all rates)."""
    f()
    rates = []
    best, secs = 0.0, 0.0
    for _ in range(3):
        reps = 0
        t0 = time.perf_counter()
        while True:
            f()
            reps += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        s = el / reps
        r = flops / s / 1e9
        rates.append(r)
        if r > best:
            best, secs = r, s
    return best, secs, rates


def run_attention(args, out):
    name, attn = pick_attention(args.attn_impl)
    out["attention_impl"] = name
    b, h, d = 1, args.attn_heads, args.attn_d
    if d % h:
        raise SystemExit("torch_gpt2_step: --attn-heads must divide --attn-d")
    dh = d // h
    results = []
    gen = torch.Generator().manual_seed(3)
    for n in args.seqs:
        log("attention n %d, d %d, heads %d" % (n, d, h))
        q, k, v = [torch.rand(b, h, n, dh, generator=gen).mul_(2).sub_(1).requires_grad_() for _ in range(3)]
        dout = torch.rand(b, h, n, dh, generator=gen).mul_(2).sub_(1)

        def call():
            for t in (q, k, v):
                t.grad = None
            attn(q, k, v).backward(dout)

        flops = attention_flops(b, h, n, d)
        g, s, rates = best_rate(flops, args.min_time, call)
        results.append({"seq": n, "d": d, "heads": h, "batch": b, "threads": torch.get_num_threads(),
                        "gflops": g, "seconds_per_call": s, "flops_per_call": flops,
                        "gflops_runs": rates})
        del q, k, v, dout
    out["attention"] = results


# ---------------------------------------------------------------- GPT-2 small

class Block(nn.Module):
    def __init__(self, d, heads, attn):
        super().__init__()
        self.heads = heads
        self.attn = attn
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = [t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v)]
        y = self.attn(q, k, v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, vocab, max_seq, layers, heads, d, attn):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(max_seq, d)
        self.blocks = nn.ModuleList([Block(d, heads, attn) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: one tensor, both uses
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, dtype=torch.long))
        for blk in self.blocks:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


def run_train(args, out):
    name, attn = pick_attention(args.attn_impl)
    out["attention_impl"] = name
    torch.manual_seed(1)
    model = GPT(args.vocab, args.max_seq, args.layers, args.heads, args.d, attn)
    params = list(model.parameters())  # the tied matrix appears once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    B, T = args.batch, args.seq
    x = torch.randint(0, args.vocab, (B, T))
    y = torch.randint(0, args.vocab, (B, T))
    out.update({"model": "gpt2-small", "params": sum(p.numel() for p in params),
                "batch": B, "seq": T, "vocab": args.vocab, "layers": args.layers,
                "heads": args.heads, "d_model": args.d,
                "optimizer": "AdamW(lr=3e-4, betas=(0.9,0.95), eps=1e-8, weight_decay=0.1 on dim>=2, foreach=%r)"
                % opt.defaults.get("foreach"),
                "clip_grad_norm": 1.0, "zero_grad": "set_to_none=True"})

    phases = {k: [] for k in ("zero_grad", "forward", "loss", "backward", "clip", "optimizer", "fwd_bwd", "step")}
    loss_v = None
    total = args.warmup + args.steps
    for i in range(total):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        logits = model(x)
        t2 = time.perf_counter()
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        t5 = time.perf_counter()
        opt.step()
        t6 = time.perf_counter()
        loss_v = loss.item()
        del logits, loss
        ms = lambda a, b: (b - a) * 1e3
        log("step %d/%d%s: %.0f ms (fwd+bwd %.0f)" % (i + 1, total, " warmup" if i < args.warmup else "", ms(t0, t6), ms(t1, t4)))
        if i < args.warmup:
            continue
        for k, (a, b) in {"zero_grad": (t0, t1), "forward": (t1, t2), "loss": (t2, t3), "backward": (t3, t4),
                          "clip": (t4, t5), "optimizer": (t5, t6), "fwd_bwd": (t1, t4), "step": (t0, t6)}.items():
            phases[k].append(ms(a, b))

    steps = phases["step"]
    out.update({"steps": len(steps), "warmup_steps": args.warmup,
                "median_ms": statistics.median(steps), "min_ms": min(steps), "steps_ms": steps,
                "fwd_bwd_median_ms": statistics.median(phases["fwd_bwd"]),
                "fwd_bwd_min_ms": min(phases["fwd_bwd"]),
                "phase_median_ms": {k: statistics.median(v) for k, v in phases.items() if k not in ("step", "fwd_bwd")},
                "tokens_per_s": B * T / (statistics.median(steps) / 1e3),
                "loss": loss_v})


def int_list(s):
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("want comma-separated integers, got %r" % s)
    if not v or any(x <= 0 for x in v):
        raise argparse.ArgumentTypeError("want positive integers, got %r" % s)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed warm-up steps (default 2)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps (default 5)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--max-seq", type=int, default=1024, help="wpe rows (default 1024)")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--attention", action="store_true", help="time causal attention forward+backward instead")
    ap.add_argument("--seqs", type=int_list, default=[1024, 2048, 4096], help="attention n (default 1024,2048,4096)")
    ap.add_argument("--attn-d", type=int, default=512)
    ap.add_argument("--attn-heads", type=int, default=8)
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds each attention run repeats for (best of 3)")
    ap.add_argument("--attn-impl", choices=("auto", "sdpa", "math"), default="auto",
                    help="auto/sdpa: scaled_dot_product_attention (public, else 1.13's private one); math: written out")
    args = ap.parse_args()
    for name in ("threads", "steps", "batch", "seq", "vocab", "max_seq", "layers", "heads", "d"):
        if getattr(args, name) <= 0:
            ap.error("--%s must be positive" % name.replace("_", "-"))
    if args.warmup < 0 or args.min_time <= 0 or args.seq > args.max_seq or args.d % args.heads:
        ap.error("need --warmup >= 0, --min-time > 0, --seq <= --max-seq, --heads dividing --d")

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(True)
    out = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "torch": torch.__version__,
           "python": platform.python_version(), "threads": torch.get_num_threads(),
           "interop_threads": torch.get_num_interop_threads(),
           "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
           "blas": blas_info(), "mode": "attention" if args.attention else "train"}
    if args.attention:
        run_attention(args, out)
    else:
        run_train(args, out)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
