#!/usr/bin/python3
"""PyTorch side of bench/llama_gen_compare.sh: greedy generation with a KV
cache from a Llama-family Hugging Face directory, on the CPU.

    /usr/bin/python3 bench/torch_llama_gen.py --write DIR [--seed 1]
        writes a SmolLM2-135M-shaped Llama with random weights into DIR in
        Hugging Face's layout (config.json, model.safetensors in F32,
        written here with struct + json, no safetensors package), plus the
        tokenizer.json given by --tokenizer.

    /usr/bin/python3 bench/torch_llama_gen.py --time DIR --prompt-ids FILE \
        --tokens N --threads T
        reads DIR's weights (the same hand-written parser), runs greedy
        generation of N tokens after the prompt (ids from FILE, an llm.c
        token file as `tformer tokenize` writes it) and prints one JSON
        object: seconds, tokens_per_s and the generated ids.

The model is written the usual way for a Llama (as transformers'
modeling_llama computes it; transformers itself is not needed): token
embedding, per layer RMSNorm -> q, k, v projections (no biases), rotary
positions with HF's half-split rotate_half, grouped-query attention (each
group of heads attends to its kv head, without copying K/V), output
projection, residual; RMSNorm -> SiLU(gate) * up -> down, residual; final
RMSNorm; logits through the tied embedding. float32 throughout,
torch.no_grad(), torch.set_num_threads(T). The prompt goes through one
forward pass (as transformers' generate does), then one token per step
with the cached keys and values; the timed span is from the prompt's
forward to the N-th token's argmax, what `tformer generate` reports.
This is a reference point, not part of tformer: CI never runs it.
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# SmolLM2-135M's published config.json (HuggingFaceTB/SmolLM2-135M).
SMOLLM2 = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
    "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "intermediate_size": 1536,
    "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": True,
    "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32",
}


def names(c):
    d, f, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    dh = d // H
    out = [("model.embed_tokens.weight", (c["vocab_size"], d))]
    for l in range(L):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", (d,)), (p + "self_attn.q_proj.weight", (H * dh, d)),
                (p + "self_attn.k_proj.weight", (KV * dh, d)), (p + "self_attn.v_proj.weight", (KV * dh, d)),
                (p + "self_attn.o_proj.weight", (d, H * dh)), (p + "post_attention_layernorm.weight", (d,)),
                (p + "mlp.gate_proj.weight", (f, d)), (p + "mlp.up_proj.weight", (f, d)), (p + "mlp.down_proj.weight", (d, f))]
    out.append(("model.norm.weight", (d,)))
    return out


def write(dirname, seed, tokenizer, favor):
    c = SMOLLM2
    rng = np.random.default_rng(seed)
    L = c["num_hidden_layers"]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for n, shape in names(c):
        if n.endswith("layernorm.weight") or n == "model.norm.weight":
            x = (1 + 0.1 * rng.standard_normal(shape)).astype("<f4")
        else:
            # Projections wider than the usual 0.02, so that the context, not
            # just the last token's (tied) embedding, decides the next token.
            std = 0.02 if n == "model.embed_tokens.weight" else 0.1
            x = (std * rng.standard_normal(shape)).astype("<f4")
            if n == "model.embed_tokens.weight" and favor:
                # Longer embedding rows for the ids the small test
                # tokenizer can spell, so that greedy output is text both
                # sides can be compared on (the compute is the same).
                x[:favor] *= 4
        raw = x.tobytes()
        header[n] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "model.safetensors"), "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            fh.write(b)
    with open(os.path.join(dirname, "config.json"), "w") as fh:
        json.dump(c, fh, indent=1)
    if tokenizer:
        shutil.copy(tokenizer, os.path.join(dirname, "tokenizer.json"))
    params = sum(int(np.prod(s)) for _, s in names(c))
    print("wrote %s: %s parameters (tied), %.0f MB" % (dirname, format(params, ","), off / 1e6), file=sys.stderr)


def read_weights(dirname):
    with open(os.path.join(dirname, "model.safetensors"), "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = memoryview(raw)[8 + n:]
    W = {}
    for k, v in header.items():
        if v["dtype"] != "F32":
            raise SystemExit("%s: dtype %s (this reader takes F32)" % (k, v["dtype"]))
        a, b = v["data_offsets"]
        W[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return W


def read_tokens(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    hdr = np.frombuffer(raw[:1024], dtype="<i4")
    if hdr[0] != 20240520 or hdr[1] != 1:
        raise SystemExit("%s: not an llm.c uint16 token file (magic %d version %d)" % (path, hdr[0], hdr[1]))
    return np.frombuffer(raw[1024:], dtype="<u2")[: hdr[2]].astype(np.int64).tolist()


class Llama:
    def __init__(self, c, W):
        self.c, self.W = c, W
        d, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.H, self.KV, self.dh, self.L = H, KV, d // H, c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.dh, 2, dtype=torch.float32) / self.dh))
        t = torch.arange(c["max_position_embeddings"], dtype=torch.float32)
        fr = torch.outer(t, inv)
        emb = torch.cat((fr, fr), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()
        self.layers = [{k: W["model.layers.%d.%s" % (l, k)] for k in (
            "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
            "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
            "mlp.down_proj.weight")} for l in range(self.L)]

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    @staticmethod
    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, ids, cache, pos):
        """ids: list of T new tokens at positions pos..pos+T-1; cache: per
        layer (k, v) of shape (KV, pos, dh) or None. Returns the last
        position's logits and the grown cache."""
        T, H, KV, dh = len(ids), self.H, self.KV, self.dh
        G = H // KV
        x = self.W["model.embed_tokens.weight"][torch.tensor(ids)]
        cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
        mask = None
        if T > 1:
            mask = torch.full((T, pos + T), float("-inf")).triu(pos + 1)
        out_cache = []
        for l, p in enumerate(self.layers):
            h = self.rms(x, p["input_layernorm.weight"])
            q = F.linear(h, p["self_attn.q_proj.weight"]).view(T, H, dh).transpose(0, 1)
            k = F.linear(h, p["self_attn.k_proj.weight"]).view(T, KV, dh).transpose(0, 1)
            v = F.linear(h, p["self_attn.v_proj.weight"]).view(T, KV, dh).transpose(0, 1)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if cache is not None:
                k = torch.cat((cache[l][0], k), dim=1)
                v = torch.cat((cache[l][1], v), dim=1)
            out_cache.append((k, v))
            # Grouped-query attention: the G query heads of a group share
            # one kv head (q as (KV, G*T, dh) against k (KV, S, dh)).
            qg = q.reshape(KV, G * T, dh)
            s = torch.bmm(qg, k.transpose(1, 2)) / math.sqrt(dh)
            if mask is not None:
                s = s.view(KV, G, T, -1) + mask
                s = s.view(KV, G * T, -1)
            a = torch.bmm(torch.softmax(s, dim=-1), v).view(H, T, dh).transpose(0, 1).reshape(T, H * dh)
            x = x + F.linear(a, p["self_attn.o_proj.weight"])
            h = self.rms(x, p["post_attention_layernorm.weight"])
            g = F.silu(F.linear(h, p["mlp.gate_proj.weight"])) * F.linear(h, p["mlp.up_proj.weight"])
            x = x + F.linear(g, p["mlp.down_proj.weight"])
        x = self.rms(x[-1:], self.W["model.norm.weight"])
        return F.linear(x, self.W["model.embed_tokens.weight"])[0], out_cache


def byte_decoder():
    # GPT-2's byte-level alphabet: printable bytes map to themselves, the
    # others to U+0100 onwards, in order.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs, k = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + k)
            k += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def decode(path, ids):
    with open(path) as fh:
        j = json.load(fh)
    vocab = {v: k for k, v in j["model"]["vocab"].items()}
    added = {a["id"]: a["content"] for a in j["added_tokens"]}
    bd = byte_decoder()
    out = b""
    for i in ids:
        if i in added:
            out += added[i].encode()
        elif i in vocab:
            out += bytes(bd[ch] for ch in vocab[i])
        else:
            out += "\ufffd".encode()
    return out.decode("utf-8", errors="surrogateescape")


def time_generation(dirname, prompt_path, n, threads, decode_with):
    torch.set_num_threads(threads)
    with open(os.path.join(dirname, "config.json")) as fh:
        c = json.load(fh)
    m = Llama(c, read_weights(dirname))
    prompt = read_tokens(prompt_path)
    with torch.no_grad():
        # One untimed warm-up of both paths (allocator, thread pool).
        z, cache = m.forward(prompt, None, 0)
        m.forward([int(z.argmax())], cache, len(prompt))
        start = time.perf_counter()
        z, cache = m.forward(prompt, None, 0)
        out = []
        pos = len(prompt)
        for i in range(n):
            t = int(z.argmax())
            out.append(t)
            if i == n - 1:
                break
            z, cache = m.forward([t], cache, pos)
            pos += 1
        el = time.perf_counter() - start
    r = {"seconds": el, "tokens": n, "tokens_per_s": n / el, "prompt_tokens": len(prompt), "threads": threads,
         "torch": torch.__version__, "ids": out}
    if decode_with:
        r["text"] = decode(decode_with, out)
    print(json.dumps(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write")
    ap.add_argument("--tokenizer", default="tokenizer/testdata/hf/smollm2/tokenizer.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--favor", type=int, default=956, help="scale the embedding rows of the first FAVOR ids by 4 (0: none)")
    ap.add_argument("--decode-with", help="tokenizer.json to decode the generated ids with (byte-level BPE), printed as text")
    ap.add_argument("--time")
    ap.add_argument("--prompt-ids")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.write:
        write(a.write, a.seed, a.tokenizer, a.favor)
    elif a.time:
        time_generation(a.time, a.prompt_ids, a.tokens, a.threads, a.decode_with)
    else:
        ap.error("give --write DIR or --time DIR")


if __name__ == "__main__":
    main()
