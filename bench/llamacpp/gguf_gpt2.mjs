// gguf_gpt2.mjs writes a GGUF file (format version 3) holding a model of
// the GPT-2 small shape with random weights, for timing llama.cpp's
// generation against tformer's on the same shape. Written for this
// project from the GGUF specification (ggml's docs/gguf.md): header,
// metadata key/values, tensor infos, then the 32-byte-aligned tensor data.
//
//   node gguf_gpt2.mjs OUT.gguf f32|f16|q8_0 [layers d_model heads vocab ctx]
//
// The weight matrices (token embedding, which llama.cpp's gpt2 graph also
// uses as the output projection when output.weight is absent, and each
// block's attn_qkv, attn_output, ffn_up, ffn_down) are in the chosen type;
// norms, biases and the position table stay f32, as tformer keeps them.
// The values are N(0, 0.02)-like random numbers: the file measures speed
// only. The vocabulary is the 256 byte-level symbols of GPT-2 followed by
// placeholder tokens "<t256>", "<t257>", ..., with no merges.
import { openSync, writeSync, closeSync } from "node:fs";

const [out, type = "f16", ...dims] = process.argv.slice(2);
if (!out || !["f32", "f16", "q8_0"].includes(type)) {
  console.error("usage: node gguf_gpt2.mjs OUT.gguf f32|f16|q8_0 [layers d_model heads vocab ctx]");
  process.exit(2);
}
const [L, D, H, V, CTX] = [12, 768, 12, 50257, 1024].map((v, i) => (dims[i] ? Number(dims[i]) : v));
const F = 4 * D;

// GGUF value and tensor type codes.
const T = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9, u64: 10 };
const GGML = { f32: 0, f16: 1, q8_0: 8 };

// A deterministic generator (xorshift32), and approximately normal values
// from the sum of four uniforms, scaled to standard deviation 0.02.
let state = 0x9e3779b9;
function rand32() {
  state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
  return state >>> 0;
}
const pool = new Float32Array(1 << 16);
for (let i = 0; i < pool.length; i++) {
  let s = 0;
  for (let k = 0; k < 4; k++) s += rand32() / 4294967296 - 0.5;
  pool[i] = s * 0.02 * Math.sqrt(3);
}
let cursor = 0;
function nextValue() {
  cursor = (cursor + 1 + (rand32() & 1023)) & (pool.length - 1);
  return pool[cursor];
}

// float32 -> IEEE half (round to nearest even), enough for these small values.
const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
function toHalf(v) {
  f32buf[0] = v;
  const x = u32buf[0], sign = (x >>> 16) & 0x8000, exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp, half = 1 << (shift - 1), rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let h = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}

// Tensors: name, ggml dims (fastest first: [in, out] for a matrix), type.
const tensors = [];
const mat = (name, inDim, outDim) => tensors.push({ name, dims: [inDim, outDim], type });
const vec = (name, n, fill) => tensors.push({ name, dims: [n], type: "f32", fill });
mat("token_embd.weight", D, V);
tensors.push({ name: "position_embd.weight", dims: [D, CTX], type: "f32" });
for (let l = 0; l < L; l++) {
  const p = `blk.${l}.`;
  vec(p + "attn_norm.weight", D, 1); vec(p + "attn_norm.bias", D, 0);
  mat(p + "attn_qkv.weight", D, 3 * D); vec(p + "attn_qkv.bias", 3 * D, 0);
  mat(p + "attn_output.weight", D, D); vec(p + "attn_output.bias", D, 0);
  vec(p + "ffn_norm.weight", D, 1); vec(p + "ffn_norm.bias", D, 0);
  mat(p + "ffn_up.weight", D, F); vec(p + "ffn_up.bias", F, 0);
  mat(p + "ffn_down.weight", F, D); vec(p + "ffn_down.bias", D, 0);
}
vec("output_norm.weight", D, 1); vec("output_norm.bias", D, 0);

function tensorBytes(t) {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.type === "f32") return 4 * n;
  if (t.type === "f16") return 2 * n;
  if (t.dims[0] % 32) throw new Error(`${t.name}: q8_0 needs rows of a multiple of 32`);
  return (n / 32) * 34; // per 32 values: an f16 scale and 32 int8
}

// Metadata.
const byteSyms = [];
{
  const keep = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  let extra = 0;
  for (let b = 0; b < 256; b++) byteSyms.push(String.fromCodePoint(keep.includes(b) ? b : 256 + extra++));
}
const tokens = [];
for (let i = 0; i < V; i++) tokens.push(i < 256 ? byteSyms[i] : i === V - 1 ? "<|endoftext|>" : `<t${i}>`);
const kv = [
  ["general.architecture", T.str, "gpt2"],
  ["general.name", T.str, "random GPT-2 small shape (tformer bench)"],
  ["general.alignment", T.u32, 32],
  ["gpt2.context_length", T.u32, CTX],
  ["gpt2.embedding_length", T.u32, D],
  ["gpt2.feed_forward_length", T.u32, F],
  ["gpt2.block_count", T.u32, L],
  ["gpt2.attention.head_count", T.u32, H],
  ["gpt2.attention.layer_norm_epsilon", T.f32, 1e-5],
  ["general.file_type", T.u32, { f32: 0, f16: 1, q8_0: 7 }[type]],
  ["tokenizer.ggml.model", T.str, "gpt2"],
  ["tokenizer.ggml.tokens", T.arr, [T.str, tokens]],
  ["tokenizer.ggml.merges", T.arr, [T.str, []]],
  ["tokenizer.ggml.bos_token_id", T.u32, V - 1],
  ["tokenizer.ggml.eos_token_id", T.u32, V - 1],
];

// Serialisation into a growable header buffer.
let hdr = Buffer.alloc(1 << 20), hl = 0;
function need(n) {
  if (hl + n > hdr.length) { const b = Buffer.alloc(Math.max(hdr.length * 2, hl + n)); hdr.copy(b, 0, 0, hl); hdr = b; }
}
const u32 = (v) => { need(4); hdr.writeUInt32LE(v, hl); hl += 4; };
const u64 = (v) => { need(8); hdr.writeBigUInt64LE(BigInt(v), hl); hl += 8; };
const f32 = (v) => { need(4); hdr.writeFloatLE(v, hl); hl += 4; };
const str = (s) => { const b = Buffer.from(s, "utf8"); u64(b.length); need(b.length); b.copy(hdr, hl); hl += b.length; };
function value(t, v) {
  switch (t) {
    case T.u32: return u32(v);
    case T.f32: return f32(v);
    case T.str: return str(v);
    case T.arr: { const [et, items] = v; u32(et); u64(items.length); for (const it of items) value(et, it); return; }
    default: throw new Error("type " + t);
  }
}
u32(0x46554747); // "GGUF"
u32(3);
u64(tensors.length);
u64(kv.length);
for (const [k, t, v] of kv) { str(k); u32(t); value(t, v); }
let off = 0;
for (const t of tensors) {
  str(t.name); u32(t.dims.length); for (const d of t.dims) u64(d);
  u32(GGML[t.type]); u64(off);
  t.offset = off;
  off += Math.ceil(tensorBytes(t) / 32) * 32;
}
need(32); hl = Math.ceil(hl / 32) * 32;

const fd = openSync(out, "w");
writeSync(fd, hdr, 0, hl);
const chunk = Buffer.alloc(1 << 22);
for (const t of tensors) {
  const n = t.dims.reduce((a, b) => a * b, 1), size = tensorBytes(t);
  let pos = 0, done = 0;
  const flush = () => { writeSync(fd, chunk, 0, pos); pos = 0; };
  if (t.type === "f32") {
    for (let i = 0; i < n; i++) { if (pos + 4 > chunk.length) flush(); chunk.writeFloatLE(t.fill ?? nextValue(), pos); pos += 4; }
  } else if (t.type === "f16") {
    for (let i = 0; i < n; i++) { if (pos + 2 > chunk.length) flush(); chunk.writeUInt16LE(toHalf(nextValue()), pos); pos += 2; }
  } else {
    const q = new Int8Array(32);
    for (let b = 0; b < n / 32; b++) {
      let m = 0;
      const v = new Float32Array(32);
      for (let i = 0; i < 32; i++) { v[i] = nextValue(); m = Math.max(m, Math.abs(v[i])); }
      const d = m / 127;
      for (let i = 0; i < 32; i++) q[i] = d ? Math.round(v[i] / d) : 0;
      if (pos + 34 > chunk.length) flush();
      chunk.writeUInt16LE(toHalf(d), pos); pos += 2;
      Buffer.from(q.buffer).copy(chunk, pos); pos += 32;
    }
  }
  const pad = Math.ceil(size / 32) * 32 - size;
  if (pos + pad > chunk.length) flush();
  chunk.fill(0, pos, pos + pad); pos += pad;
  flush();
  done += size;
}
closeSync(fd);
console.error(`wrote ${out}: ${type}, ${L} layers, d ${D}, ${H} heads, vocab ${V}, context ${CTX}, ${tensors.length} tensors`);
