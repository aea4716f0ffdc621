#!/usr/bin/env bash
# Side-by-side: greedy generation with a KV cache from a SmolLM2-135M-shaped
# Llama (134,515,008 parameters, tied; 30 layers, d 576, 9 query / 3 kv
# heads, SwiGLU 1536, vocabulary 49,152) in tformer and in PyTorch, on this
# CPU, from the same Hugging Face directory, prompt and length.
#
#   bench/llama_gen_compare.sh [ROUNDS]          # default 3 rounds
#
# Environment (all optional):
#   THREADS=2      tformer --threads, torch.set_num_threads, OMP_NUM_THREADS
#   TOKENS=128     tokens generated per run, each side
#   OUT=/tmp/tformer-llama-gen   the model directory and raw output go here
#
# bench/torch_llama_gen.py writes the model once (random weights in Hugging
# Face's layout, F32, with the small SmolLM2-style tokenizer.json fixture),
# `tformer tokenize` turns the prompt into ids for the PyTorch side, then for
# ROUNDS rounds `tformer generate --temperature 0 --no-stop` and the PyTorch
# script run alternately (which goes first alternates too). Each side's
# figure is its own tokens/s over prompt + TOKENS tokens (model loading
# excluded); the table gives the medians over rounds and their ratio, and
# whether both sides generated the same text (the greedy ids decoded the
# same way). Needs Go and Debian's PyTorch (/usr/bin/python3); ~0.6 GB of
# disk and ~2 GB of memory per side. CI never runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${THREADS:-2}
tokens=${TOKENS:-128}
out=${OUT:-/tmp/tformer-llama-gen}
py=/usr/bin/python3
export OMP_NUM_THREADS=$threads

mkdir -p "$out"
go build -o "$out/tformer" ./cmd/tformer
dir=$out/smollm2-135m-random
[ -f "$dir/model.safetensors" ] || "$py" bench/torch_llama_gen.py --write "$dir"
printf 'The quick brown fox jumps over the lazy dog, and then' > "$out/prompt.txt"
"$out/tformer" tokenize --tokenizer "$dir" "$out/prompt.txt" "$out/prompt.bin" >&2

for r in $(seq "$rounds"); do
	tf() {
		echo "round $r/$rounds: tformer" >&2
		"$out/tformer" generate --model "$dir" --prompt-file "$out/prompt.txt" --tokens "$tokens" --temperature 0 --no-stop --threads "$threads" > "$out/tformer-$r.txt" 2> "$out/tformer-$r.err"
	}
	th() {
		echo "round $r/$rounds: torch" >&2
		"$py" bench/torch_llama_gen.py --time "$dir" --prompt-ids "$out/prompt.bin" --tokens "$tokens" --threads "$threads" --decode-with "$dir/tokenizer.json" > "$out/torch-$r.json"
	}
	if [ $((r % 2)) = 1 ]; then tf; th; else th; tf; fi
done

"$py" - "$out" "$rounds" "$tokens" "$threads" <<'PY'
import json, re, statistics, sys, time
out, rounds, tokens, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu, flags = "?", set()
for line in open("/proc/cpuinfo"):
    k, _, v = line.partition(":")
    if k.strip() == "model name" and cpu == "?":
        cpu = v.strip()
    if k.strip() == "flags" and not flags:
        flags = set(v.split())
isa = "AVX-512" if "avx512f" in flags else ("AVX2+FMA" if {"avx2", "fma"} <= flags else "no AVX2")
prompt = open(out + "/prompt.txt", "rb").read()
tf, th, same = [], [], []
for r in range(1, rounds + 1):
    err = open("%s/tformer-%d.err" % (out, r)).read()
    tf.append(float(re.search(r"([0-9.]+) tokens/s", err).group(1)))
    j = json.load(open("%s/torch-%d.json" % (out, r)))
    th.append(j["tokens_per_s"])
    text = open("%s/tformer-%d.txt" % (out, r), "rb").read()
    same.append(text == prompt + j["text"].encode("utf-8", errors="surrogateescape") + b"\n")
with open("/proc/loadavg") as fh:
    load = fh.read().split()[0]
print("date %s; CPU %s (%s); load average %s at the end" % (time.strftime("%Y-%m-%d %H:%M %Z"), cpu, isa, load))
print("SmolLM2-135M-shaped Llama (134,515,008 params, random weights, F32), greedy, %d prompt tokens + %d generated, %d threads; torch %s" % (
    j["prompt_tokens"], tokens, threads, j["torch"]))
print("%d rounds, alternating" % rounds)
print("  %-28s %10s %10s %7s" % ("", "tformer", "torch", "ratio"))
a, b = statistics.median(tf), statistics.median(th)
print("  %-28s %10.1f %10.1f %7.2f" % ("tokens/s (median of rounds)", a, b, a / b))
print("  %-28s %10.1f %10.1f %7.2f" % ("tokens/s (best round)", max(tf), max(th), max(tf) / max(th)))
print("  per round: tformer %s; torch %s" % (", ".join("%.1f" % v for v in tf), ", ".join("%.1f" % v for v in th)))
print("  same generated text in every round: %s" % ("yes" if all(same) else "NO (%s)" % same))
PY
