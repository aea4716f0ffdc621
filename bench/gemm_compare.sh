#!/usr/bin/env bash
# Side-by-side GEMM rates: tformer's BenchmarkGEMM against numpy at the same
# shapes, 1 and 2 threads (BenchmarkGoGEMM has the pure-Go kernels). The
# machine may be shared, so the two are run alternately for ROUNDS rounds
# and the best rate of each is compared.
#
#   bench/gemm_compare.sh [ROUNDS] [CASE-REGEXP]
#
# Raw output goes to $OUT (default /tmp/tformer-gemm-bench): go.txt and
# numpy-N.json; the table is printed at the end. With WAIT_IDLE=S, each side
# of each round first waits up to S seconds for every core to be idle (under
# 10% busy over one second, from /proc/stat), so that on a machine shared
# with other jobs both sides get their turn at a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
only=${2:-}
out=${OUT:-/tmp/tformer-gemm-bench}
mkdir -p "$out"
: > "$out/go.txt"
go test -c -o "$out/kernels.test" ./kernels/
bench='^BenchmarkGEMM$'
[ -n "$only" ] && bench="^BenchmarkGEMM$/$only"
"$out/kernels.test" -test.run '^$' -test.bench 'FMAPeak' -test.count 3 | tee -a "$out/go.txt"
wait_idle() {
	[ -n "${WAIT_IDLE:-}" ] && [ -r /proc/stat ] || return 0
	local t=0 busy=100 a b a2 b2 u n s i w q sq st rest
	while [ "$t" -lt "$WAIT_IDLE" ]; do
		read -r _ u n s i w q sq st rest < /proc/stat
		a=$((u + n + s + q + sq + st)) b=$((u + n + s + i + w + q + sq + st))
		sleep 1
		read -r _ u n s i w q sq st rest < /proc/stat
		a2=$((u + n + s + q + sq + st)) b2=$((u + n + s + i + w + q + sq + st))
		busy=$((100 * (a2 - a) / (b2 - b > 0 ? b2 - b : 1)))
		[ "$busy" -le 10 ] && return 0
		t=$((t + 1))
	done
	echo "  (still ${busy}% busy after ${WAIT_IDLE}s)" >&2
}
for r in $(seq "$rounds"); do
	wait_idle
	echo "round $r: tformer" >&2
	"$out/kernels.test" -test.run '^$' -test.bench "$bench" -test.benchtime 1s >> "$out/go.txt"
	wait_idle
	echo "round $r: numpy" >&2
	/usr/bin/python3 bench/gemm_numpy.py --json --reps 3 ${only:+--only "$only"} > "$out/numpy-$r.json"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, re, sys
out, rounds = sys.argv[1], int(sys.argv[2])
best, info = {}, None
for r in range(1, rounds + 1):
    for run in json.load(open("%s/numpy-%d.json" % (out, r))):
        info = run["blas"]
        for x in run["results"]:
            best[x["name"]] = max(best.get(x["name"], 0), x["gflops"])
gob, peak = {}, 0.0
for line in open(out + "/go.txt"):
    m = re.match(r"^Benchmark(GEMM/(\S+?)|FMAPeak)(?:-\d+)?\s.*?([\d.]+) GFLOP/s", line)
    if m:
        if m.group(1) == "FMAPeak":
            peak = max(peak, float(m.group(3)))
        else:
            gob[m.group(2)] = max(gob.get(m.group(2), 0), float(m.group(3)))
print("FMA peak (1 core): %.1f GFLOP/s" % peak)
print("BLAS: %s; OpenBLAS core: %s" % (", ".join(info["libraries"]), info.get("openblas_core", "none")))
print("%-24s %9s %9s %7s %8s" % ("case", "tformer", "numpy", "ratio", "%peak"))
for name in best:
    if name in gob:
        t = int(name.rsplit("/t", 1)[1])
        print("%-24s %9.1f %9.1f %7.2f %7.0f%%" % (name, gob[name], best[name], gob[name] / best[name], 100 * gob[name] / (peak * t)))
PY
