#!/usr/bin/env bash
# Side-by-side: tformer's generation tokens/s with f32, bf16 and int8
# weights against llama.cpp's (node-llama-cpp's prebuilt CPU build, from the
# npm registry) at f32, f16 and q8_0, on the GPT-2 small shape with random
# weights, greedy from a 1-token prompt, at 1 and 2 threads (issue 14).
#
#   bench/gen_compare.sh [ROUNDS] [TOKENS]    # default 3 rounds of 64 tokens
#
# Environment (optional): OUT=/tmp/tformer-gen-bench holds the GGUF files,
# the tformer binary and results.jsonl (every run's raw JSON line).
#
# The GGUF files are written by bench/llamacpp/gguf_gpt2.mjs (this
# project's own writer, random weights) once and reused. tformer is built
# once from the working tree. Each round runs, for 1 and then 2 threads,
# `tformer bench --only generate --json` (its three dtypes in one process)
# and generate.mjs on each GGUF file, alternating which side goes first, so
# a neighbour's load hits both; bench/llamacpp/summary.mjs then prints the
# best tokens/s per side and the ratios. Needs Go, Node.js 20 and npm;
# `npm install` in bench/llamacpp fetches node-llama-cpp (about 1 GB with
# its prebuilt binaries). Takes about 5 minutes. CI never runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
tokens=${2:-64}
out=${OUT:-/tmp/tformer-gen-bench}
mkdir -p "$out"
grep -m1 "model name" /proc/cpuinfo || true
grep -o -w 'avx512f\|avx512_bf16\|avx_vnni\|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
go build -o "$out/tformer" ./cmd/tformer
(cd bench/llamacpp && [ -d node_modules/node-llama-cpp ] || npm install --no-audit --no-fund)
for t in f32 f16 q8_0; do
  [ -s "$out/gpt2_$t.gguf" ] || node bench/llamacpp/gguf_gpt2.mjs "$out/gpt2_$t.gguf" "$t"
done
res="$out/results.jsonl"
: > "$res"
tf() { "$out/tformer" bench --only generate --model gpt2 --gen-tokens "$tokens" --threads "$1" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s))))' >> "$res"; }
lc() { for t in f32 f16 q8_0; do node bench/llamacpp/generate.mjs "$out/gpt2_$t.gguf" "$1" "$tokens" >> "$res"; done; }
for r in $(seq 1 "$rounds"); do
  for th in 1 2; do
    echo "round $r, $th thread(s)" >&2
    if (( (r + th) % 2 )); then tf "$th"; lc "$th"; else lc "$th"; tf "$th"; fi
  done
done
node bench/llamacpp/summary.mjs "$res"
