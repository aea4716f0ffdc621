// summary.mjs reads the JSON lines bench/gen_compare.sh collected (tformer
// bench reports and generate.mjs lines, each tagged with its round) and
// prints, per implementation and weight type, the best tokens/s over the
// rounds at each thread count, the best of 1 and 2 threads, and the ratios
// the issue asks about.
//
//   node summary.mjs RESULTS.jsonl
import { readFileSync } from "node:fs";

const rows = [];
for (const line of readFileSync(process.argv[2], "utf8").split("\n")) {
  if (!line.trim()) continue;
  const r = JSON.parse(line);
  if (r.generate) {
    for (const g of r.generate) {
      if (g.model === "gpt2") rows.push({ impl: "tformer", dtype: g.dtype, threads: g.threads, tps: g.tokens_per_s, isa: g.isa });
    }
  } else if (r.file) {
    const dtype = r.file.match(/_(f32|f16|q8_0)\.gguf$/)[1];
    rows.push({ impl: "llama.cpp", dtype, threads: r.threads, tps: r.tokens_per_s, isa: "prebuilt" });
  }
}
const key = (r) => `${r.impl} ${r.dtype}`;
const best = new Map();
for (const r of rows) {
  const k = key(r);
  const e = best.get(k) ?? { impl: r.impl, dtype: r.dtype, isa: r.isa, t: {}, all: {} };
  e.t[r.threads] = Math.max(e.t[r.threads] ?? 0, r.tps);
  (e.all[r.threads] ??= []).push(r.tps);
  best.set(k, e);
}
const fmt = (v) => (v === undefined ? "-" : v.toFixed(1));
console.log("GPT-2 small shape, greedy from a 1-token prompt; tokens/s, best over rounds (all rounds in brackets)");
console.log("impl       dtype  kernels   1 thread               2 threads              best of 1 and 2");
const top = {};
for (const e of best.values()) {
  const b = Math.max(e.t[1] ?? 0, e.t[2] ?? 0);
  top[key(e)] = b;
  const col = (t) => `${fmt(e.t[t])} [${(e.all[t] ?? []).map(fmt).join(" ")}]`.padEnd(22);
  console.log(`${e.impl.padEnd(10)} ${e.dtype.padEnd(6)} ${e.isa.padEnd(9)} ${col(1)} ${col(2)} ${fmt(b)}`);
}
const ratio = (a, b) => (top[a] && top[b] ? (top[a] / top[b]).toFixed(2) + "x" : "-");
console.log("");
console.log(`tformer bf16 / tformer f32: ${ratio("tformer bf16", "tformer f32")} (goal >= 1.8x)`);
console.log(`tformer int8 / tformer f32: ${ratio("tformer int8", "tformer f32")} (goal >= 3x)`);
console.log(`tformer f32  / llama.cpp f32:  ${ratio("tformer f32", "llama.cpp f32")}`);
console.log(`tformer bf16 / llama.cpp f16:  ${ratio("tformer bf16", "llama.cpp f16")} (goal >= 1x)`);
console.log(`tformer int8 / llama.cpp q8_0: ${ratio("tformer int8", "llama.cpp q8_0")} (goal >= 1x)`);
