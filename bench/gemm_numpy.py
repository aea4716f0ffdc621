#!/usr/bin/python3
"""Time numpy float32 matrix products at tformer's GEMM benchmark shapes.

The cases are the ones of BenchmarkGEMM in kernels/gemm_bench_test.go (square
256..2048 in all three forms and the products of one GPT-2-small training
step at 256 rows), at 1 and 2 BLAS threads, so the two can be compared side
by side. The three forms map to numpy as

    NT  c[m,n] = a[m,k] @ b[n,k].T
    NN  c[m,n] = a[m,k] @ b[k,n]
    TN  c[m,n] = a[k,m].T @ b[k,n]

(transposed views: numpy hands them to sgemm with a transpose flag, no copy).

Usage (use Debian's interpreter, whose numpy uses the system BLAS):

    /usr/bin/python3 bench/gemm_numpy.py                 # numpy table
    go test -run '^$' -bench GEMM -count 3 ./kernels/ > go.txt
    /usr/bin/python3 bench/gemm_numpy.py --go go.txt     # side by side

Each thread count runs in a child process with OPENBLAS_NUM_THREADS (and
OMP_NUM_THREADS) set, since OpenBLAS reads them at load. The script prints
which BLAS numpy loaded and, for OpenBLAS, the kernel it chose
(openblas_get_corename; OPENBLAS_CORETYPE overrides the detection). On
Debian, numpy uses whatever libblas.so.3 the alternatives system points at:
install libopenblas0-pthread for OpenBLAS, else it is the slow reference
BLAS.

Rates are GFLOP/s counting 2*m*n*k per product; the best of --reps timed
runs (each at least --min-time seconds) is reported, with the median, since
a shared machine only ever slows a run down.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

CASES = [
    ("NT", 256, 256, 256), ("NN", 256, 256, 256), ("TN", 256, 256, 256),
    ("NT", 512, 512, 512), ("NN", 512, 512, 512), ("TN", 512, 512, 512),
    ("NT", 1024, 1024, 1024), ("NN", 1024, 1024, 1024), ("TN", 1024, 1024, 1024),
    ("NT", 2048, 2048, 2048), ("NN", 2048, 2048, 2048), ("TN", 2048, 2048, 2048),
    # forward projections: qkv, attention out, FFN up, FFN down, tied logits
    ("NT", 256, 2304, 768), ("NT", 256, 768, 768), ("NT", 256, 3072, 768),
    ("NT", 256, 768, 3072), ("NT", 256, 50257, 768),
    # backward: input gradients
    ("NN", 256, 768, 2304), ("NN", 256, 768, 768), ("NN", 256, 768, 3072),
    ("NN", 256, 3072, 768), ("NN", 256, 768, 50257),
    # backward: weight gradients
    ("TN", 2304, 768, 256), ("TN", 768, 768, 256), ("TN", 3072, 768, 256),
    ("TN", 768, 3072, 256), ("TN", 50257, 768, 256),
]


def case_name(form, m, n, k, threads):
    return "%s/%dx%dx%d/t%d" % (form, m, n, k, threads)


def blas_info():
    """Names the BLAS library numpy loaded and, for OpenBLAS, its kernel."""
    import ctypes

    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if re.search(r"lib(open)?blas|libblis|libmkl", path):
                    libs.add(path)
    except OSError:
        pass
    info = {"libraries": sorted(libs)}
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
            corename = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        info["openblas_core"] = corename().decode()
        try:
            cfg = lib.openblas_get_config
            cfg.restype = ctypes.c_char_p
            info["openblas_config"] = cfg().decode().strip()
            info["openblas_threads"] = lib.openblas_get_num_threads()
        except AttributeError:
            pass
        break
    if "openblas_core" not in info:
        info["note"] = "not OpenBLAS (on Debian: reference BLAS unless libopenblas0 is installed)"
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "")
    return info


def time_case(np, form, m, n, k, reps, min_time):
    rng = np.random.default_rng(1)
    if form == "NT":
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32)
        x, y = a, b.T
    elif form == "NN":
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        x, y = a, b
    else:
        a = rng.standard_normal((k, m), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        x, y = a.T, b
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(x, y, out=c)  # warm up
    flops = 2.0 * m * n * k
    # Calls per timed run: enough for min_time.
    t0 = time.perf_counter()
    np.matmul(x, y, out=c)
    once = max(time.perf_counter() - t0, 1e-6)
    calls = max(1, int(min_time / once))
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            np.matmul(x, y, out=c)
        dt = time.perf_counter() - t0
        rates.append(flops * calls / dt / 1e9)
    return max(rates), statistics.median(rates)


def worker(args):
    import numpy as np

    threads = int(os.environ["OPENBLAS_NUM_THREADS"])
    out = {"threads": threads, "numpy": np.__version__, "blas": blas_info(), "results": []}
    for form, m, n, k in CASES:
        name = case_name(form, m, n, k, threads)
        if args.only and not re.search(args.only, name):
            continue
        best, med = time_case(np, form, m, n, k, args.reps, args.min_time)
        out["results"].append({"name": name, "form": form, "m": m, "n": n, "k": k,
                               "threads": threads, "gflops": best, "gflops_median": med})
        print("  %-24s %8.1f GFLOP/s (median %.1f)" % (name, best, med), file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


def run_numpy(args):
    runs = []
    for t in args.threads:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
        cmd = [sys.executable, os.path.abspath(__file__), "--worker",
               "--reps", str(args.reps), "--min-time", str(args.min_time)]
        if args.only:
            cmd += ["--only", args.only]
        print("numpy, %d thread(s):" % t, file=sys.stderr, flush=True)
        res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True)
        runs.append(json.loads(res.stdout))
    return runs


def parse_go(path):
    """Best GFLOP/s per case from `go test -bench GEMM` output."""
    best = {}
    pat = re.compile(r"^BenchmarkGEMM/(\S+?)(?:-\d+)?\s.*?([\d.]+) GFLOP/s")
    with open(path) as f:
        for line in f:
            mt = pat.match(line)
            if mt:
                name, g = mt.group(1), float(mt.group(2))
                best[name] = max(best.get(name, 0.0), g)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="comma-separated BLAS thread counts")
    p.add_argument("--reps", type=int, default=5, help="timed runs per case")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per timed run")
    p.add_argument("--only", default="", help="regexp on case names (e.g. 'NT/1024')")
    p.add_argument("--go", default="", help="go test -bench output to compare with")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    args.threads = [int(t) for t in args.threads.split(",")]
    runs = run_numpy(args)
    if args.json:
        json.dump(runs, sys.stdout, indent=1)
        print()
        return
    info = runs[0]["blas"]
    print("numpy %s; BLAS %s" % (runs[0]["numpy"], ", ".join(info["libraries"]) or "?"))
    if "openblas_core" in info:
        print("OpenBLAS core: %s (OPENBLAS_CORETYPE=%r); config: %s"
              % (info["openblas_core"], info["OPENBLAS_CORETYPE"], info.get("openblas_config", "")))
    else:
        print(info["note"])
    gores = parse_go(args.go) if args.go else {}
    if gores:
        print("%-24s %10s %10s %8s" % ("case", "tformer", "numpy", "ratio"))
    else:
        print("%-24s %10s %10s" % ("case", "numpy", "median"))
    for run in runs:
        for r in run["results"]:
            if gores:
                g = gores.get(r["name"])
                if g is None:
                    continue
                print("%-24s %10.1f %10.1f %8.2f" % (r["name"], g, r["gflops"], g / r["gflops"]))
            else:
                print("%-24s %10.1f %10.1f" % (r["name"], r["gflops"], r["gflops_median"]))


if __name__ == "__main__":
    main()
