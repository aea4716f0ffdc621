// generate.mjs times llama.cpp's greedy generation through node-llama-cpp
// (its prebuilt CPU build) on a GGUF file: a 1-token prompt, then TOKENS
// generated tokens, as `tformer bench --only generate` times tformer's.
// It prints one JSON line per run: {"file", "threads", "tokens", "seconds",
// "tokens_per_s"}. One untimed short run warms the context up first.
//
//   node generate.mjs MODEL.gguf THREADS [TOKENS]
import { getLlama } from "node-llama-cpp";

const [file, threadsArg = "1", tokensArg = "32"] = process.argv.slice(2);
if (!file) {
  console.error("usage: node generate.mjs MODEL.gguf THREADS [TOKENS]");
  process.exit(2);
}
const threads = Number(threadsArg), tokens = Number(tokensArg);
const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0, logLevel: "error" });
const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 256, threads, batchSize: 32, flashAttention: false });

async function greedy(n) {
  const seq = context.getSequence();
  const t0 = performance.now();
  let got = 0;
  // evaluate feeds the prompt, then each sampled token back in; it yields
  // every sampled token (end-of-text included), so exactly n are produced.
  for await (const _ of seq.evaluate([model.tokens.bos ?? 0], { temperature: 0 })) {
    if (++got >= n) break;
  }
  const s = (performance.now() - t0) / 1000;
  seq.dispose();
  return s;
}
await greedy(4);
const seconds = await greedy(tokens);
console.log(JSON.stringify({ file, threads, tokens, seconds, tokens_per_s: tokens / seconds, llama_cpp: llama.buildType ?? "prebuilt", cpu_math_cores: llama.cpuMathCores }));
await context.dispose();
await model.dispose();
await llama.dispose();
