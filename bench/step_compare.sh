#!/usr/bin/env bash
# Side-by-side: tformer's GPT-2-small training step and causal attention
# against PyTorch on this CPU (issue 4's targets: step time <= 0.5x
# PyTorch's; attention forward+backward at d 512, n 4096).
#
#   bench/step_compare.sh [ROUNDS]          # default 3 rounds
#
# Environment (all optional):
#   THREADS=2                 tformer --threads, torch.set_num_threads, OMP_NUM_THREADS
#   STEPS=5                   timed training steps per run, each side
#   SEQS=1024,2048,4096       attention sequence lengths n (d 512, 8 heads, batch 1)
#   PARTS=train,attention     what to compare
#   OUT=/tmp/tformer-step-bench   raw JSON of every run goes here
#   REV=                      build tformer from this git revision (git archive
#                             into $OUT/src) instead of the working tree
#   OPENBLAS_CORETYPE         if unset, SkylakeX is exported when the CPU has
#                             AVX-512 (avx512f in /proc/cpuinfo); without
#                             AVX-512 that kernel dies with SIGILL, so it is
#                             left unset and OpenBLAS picks its own kernel.
#
# tformer is built once; then, for ROUNDS rounds, `tformer bench --json` and
# bench/torch_gpt2_step.py run alternately (which goes first alternates too),
# so a neighbour's load hits both. The table reports, per side, the median
# over rounds of each run's figure (train: each run's median step; attention:
# each run's best of 3 rates), and the ratio of those medians.
#
# Needs Go, and Debian's PyTorch: apt-get install python3-torch python3-numpy
# (it runs /usr/bin/python3). The GPT-2 step needs ~2-3 GB per side and the
# attention at n 4096 ~2 GB. Takes about 10 minutes at the defaults. CI never
# runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${THREADS:-2}
steps=${STEPS:-5}
seqs=${SEQS:-1024,2048,4096}
parts=${PARTS:-train,attention}
out=${OUT:-/tmp/tformer-step-bench}
py=/usr/bin/python3

if ! "$py" -c 'import torch' 2>/dev/null; then
	echo "step_compare: $py cannot import torch (apt-get install python3-torch python3-numpy)" >&2
	exit 1
fi
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
	unset OPENBLAS_CORETYPE # an empty value is not the same as unset to OpenBLAS
	if grep -qw avx512f /proc/cpuinfo; then
		export OPENBLAS_CORETYPE=SkylakeX
	else
		echo "step_compare: no AVX-512 on this CPU: OPENBLAS_CORETYPE left unset (SkylakeX would die with SIGILL)" >&2
	fi
elif [ "$OPENBLAS_CORETYPE" != SkylakeX ] && grep -qw avx512f /proc/cpuinfo; then
	# Some environments preset it (Haswell on the Zen 5 machines): say so,
	# as torch then runs a 256-bit kernel on an AVX-512 CPU.
	echo "step_compare: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE is set in the environment and kept; on this AVX-512 CPU run with OPENBLAS_CORETYPE=SkylakeX to give torch its 512-bit kernel" >&2
fi
export OMP_NUM_THREADS=$threads

mkdir -p "$out"
rm -f "$out"/tformer-*.json "$out"/torch-*.json
src=.
if [ -n "${REV:-}" ]; then
	rm -rf "$out/src" && mkdir -p "$out/src"
	git archive "$REV" | tar -x -C "$out/src"
	src=$out/src
	echo "step_compare: tformer built from $(git rev-parse --short "$REV")" >&2
fi
# Others may be mid-edit in the tree: retry a failing build a few times.
for try in 1 2 3 4 5; do
	if (cd "$src" && go build -o "$out/tformer" ./cmd/tformer); then
		break
	fi
	[ "$try" = 5 ] && { echo "step_compare: go build failed" >&2; exit 1; }
	echo "step_compare: go build failed; retrying in 60 s" >&2
	sleep 60
done

# Since 9ed1ac9 tformer's bench step clips the gradient norm as torch's does;
# before, it did not, and the table then also compares torch's step minus
# its clip_grad_norm_.
# (The help is captured first: with pipefail, grep -q closing the pipe early
# made the check fail at random.)
clips=no
help=$("$out/tformer" bench --help 2>&1 || true)
case $help in *"clip to norm"*) clips=yes ;; esac

run_tformer() { # part round
	case $1 in
	train) "$out/tformer" bench --only train --steps "$steps" --threads "$threads" --json > "$out/tformer-train-$2.json" ;;
	attention) "$out/tformer" bench --only attention --attn-seq "$seqs" --attn-d 512 --attn-heads 8 --threads "$threads" --json > "$out/tformer-attention-$2.json" ;;
	esac
}
run_torch() { # part round
	case $1 in
	train) "$py" bench/torch_gpt2_step.py --threads "$threads" --steps "$steps" > "$out/torch-train-$2.json" ;;
	attention) "$py" bench/torch_gpt2_step.py --attention --seqs "$seqs" --attn-d 512 --attn-heads 8 --threads "$threads" > "$out/torch-attention-$2.json" ;;
	esac
}

for r in $(seq "$rounds"); do
	for part in ${parts//,/ }; do
		case $part in train | attention) ;; *) echo "step_compare: unknown part $part" >&2; exit 1 ;; esac
		if [ $((r % 2)) = 1 ]; then
			echo "round $r/$rounds $part: tformer" >&2; run_tformer "$part" "$r"
			echo "round $r/$rounds $part: torch" >&2; run_torch "$part" "$r"
		else
			echo "round $r/$rounds $part: torch" >&2; run_torch "$part" "$r"
			echo "round $r/$rounds $part: tformer" >&2; run_tformer "$part" "$r"
		fi
	done
done

"$py" - "$out" "$rounds" "$parts" "$clips" <<'PY'
import json, statistics, sys, time
out, rounds, parts = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
tformer_clips = sys.argv[4] == "yes"
load = lambda name: json.load(open("%s/%s.json" % (out, name)))
med = statistics.median

cpu = "?"
flags = set()
for line in open("/proc/cpuinfo"):
    k, _, v = line.partition(":")
    if k.strip() == "model name" and cpu == "?":
        cpu = v.strip()
    if k.strip() == "flags" and not flags:
        flags = set(v.split())
isa = "AVX-512" if "avx512f" in flags else ("AVX2+FMA" if {"avx2", "fma"} <= flags else "no AVX2")
first = load("torch-%s-1" % parts[0])
tf0 = load("tformer-%s-1" % parts[0])
print("date %s; CPU %s (%s), %d logical CPUs" % (time.strftime("%Y-%m-%d %H:%M %Z"), cpu, isa, tf0["cpu"]["num_cpu"]))
print("tformer kernels %s, %d threads; torch %s, %d threads, OpenBLAS core %s (OPENBLAS_CORETYPE=%s)" % (
    tf0["cpu"]["accel"], tf0["threads"], first["torch"], first["threads"],
    first["blas"].get("openblas_core", "none"), first["env"].get("OPENBLAS_CORETYPE")))
print("torch attention: %s" % first["attention_impl"])
print("%d rounds, alternating; figures are medians over rounds\n" % rounds)

if "train" in parts:
    tf = [load("tformer-train-%d" % r) for r in range(1, rounds + 1)]
    th = [load("torch-train-%d" % r) for r in range(1, rounds + 1)]
    tf_ms = [x["train_step_ms"] for x in tf]
    th_ms = [x["median_ms"] for x in th]
    th_clip = [x["phase_median_ms"]["clip"] for x in th]
    th_fb = [x["fwd_bwd_median_ms"] for x in th]
    a, b = med(tf_ms), med(th_ms)
    t = th[0]
    print("GPT-2 small training step (%s params tformer / %s torch, B=%d, T=%d, %sAdamW)" % (
        format(tf[0]["train"]["params"], ","), format(t["params"], ","), t["batch"], t["seq"],
        "clip 1.0, " if tformer_clips else "torch clips 1.0, tformer does not, "))
    print("  %-50s %10s %10s %7s" % ("", "tformer", "torch", "ratio"))
    print("  %-50s %10.0f %10.0f %7.2f" % ("step ms (median of rounds)", a, b, a / b))
    print("  %-50s %10.0f %10.0f %7.2f" % ("step ms (best round)", min(tf_ms), min(th_ms), min(tf_ms) / min(th_ms)))
    if not tformer_clips:
        nc = med([m - c for m, c in zip(th_ms, th_clip)])
        print("  %-50s %10.0f %10.0f %7.2f" % ("step ms, torch minus its clip (tformer's has none)", a, nc, a / nc))
    print("  per round, ms: tformer %s; torch %s" % (", ".join("%.0f" % v for v in tf_ms), ", ".join("%.0f" % v for v in th_ms)))
    ph = {k: med([x["phase_median_ms"][k] for x in th]) for k in th[0]["phase_median_ms"]}
    print("  torch phases, ms: " + ", ".join("%s %.0f" % kv for kv in ph.items()) + "; fwd+bwd %.0f" % med(th_fb))
    print("  tformer fwd+bwd %.1f GFLOP/s over the whole step" % med([x["train"]["gflops"] for x in tf]))
    print("  target tformer/torch <= 0.50 (issue 4): %s; <= 0.20 (issue 14): %s\n" % (
        "met" if a / b <= 0.5 else "not met", "met" if a / b <= 0.2 else "not met"))

if "attention" in parts:
    tf = [load("tformer-attention-%d" % r) for r in range(1, rounds + 1)]
    th = [load("torch-attention-%d" % r) for r in range(1, rounds + 1)]
    print("Causal attention forward+backward, batch 1, d 512, 8 heads")
    print("  GFLOP/s = the FLOPs tformer's kernels report for the call / each side's time, so the ratio is torch ms / tformer ms")
    print("  %6s %12s %12s %7s %14s %14s" % ("n", "tformer", "torch", "ratio", "tformer ms", "torch ms"))
    for i, a0 in enumerate(tf[0]["attention"]):
        n = a0["seq"]
        tfr = [x["attention"][i] for x in tf]
        thr = [next(y for y in x["attention"] if y["seq"] == n) for x in th]
        # tformer's count per call (what its kernels reported) rates torch's time
        flops = tfr[0]["gflops"] * tfr[0]["seconds_per_call"] * 1e9
        note = ""
        if abs(flops - thr[0]["flops_per_call"]) > 1e-3 * flops:
            note = "  (tformer's kernels count %.4g FLOPs a call, 12dh+11 a pair gives %.4g)" % (flops, thr[0]["flops_per_call"])
        g_tf = med([x["gflops"] for x in tfr])
        g_th = med([flops / y["seconds_per_call"] / 1e9 for y in thr])
        print("  %6d %12.1f %12.1f %7.2f %14.0f %14.0f%s" % (n, g_tf, g_th, g_tf / g_th,
              med([x["seconds_per_call"] for x in tfr]) * 1e3, med([y["seconds_per_call"] for y in thr]) * 1e3, note))
PY
echo "raw JSON: $out" >&2
