#!/usr/bin/env python3
"""Fixtures for tformer's Hugging Face BERT / ALBERT masked-LM loader (package hfbert).

Without the transformers package, this script builds tiny models whose module
hierarchy mirrors Hugging Face's BertForMaskedLM and AlbertForMaskedLM (so the
state-dict names are the ones save_pretrained writes: bert.embeddings.*,
bert.encoder.layer.N.attention.self.query.*, cls.predictions.transform.*,
albert.encoder.albert_layer_groups.G.albert_layers.K.*, predictions.*, ...),
runs them the way those classes do (separate q/k/v projections, an additive
attention mask, post-LN, erf or tanh GELU per hidden_act, LayerNorm eps from
the config) and writes, per model, a directory with config.json,
model.safetensors and expect.safetensors (input ids, token types, the
attention mask and the logits at every position).

    /usr/bin/python3 reference/hf_encoder_ref.py --out testdata/golden/hf

Computed in float64, stored as float32 (parameters rounded first).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref  # noqa: E402  (safetensors writer)


def act_fn(name):
    if name == "gelu":
        return lambda x: F.gelu(x)  # erf form
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: F.gelu(x, approximate="tanh")
    raise ValueError(name)


def attend(q, k, v, heads, mask):
    """q, k, v (B, T, D); mask (B, T) of 1/0 -> context (B, T, D)."""
    B, T, D = q.shape
    dh = D // heads
    split = lambda x: x.view(B, T, heads, dh).permute(0, 2, 1, 3)
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    scores = scores + (1.0 - mask[:, None, None, :]) * -1e9  # the extended attention mask
    ctx = scores.softmax(-1) @ split(v)
    return ctx.permute(0, 2, 1, 3).reshape(B, T, D)


# --- BERT ------------------------------------------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1])[None]
        return self.LayerNorm(self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, mask):
        return attend(self.query(x), self.key(x), self.value(x), self.heads, mask)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.act = act_fn(c["hidden_act"])

    def forward(self, x):
        return self.act(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, mask):
        for l in self.layer:
            x = l(x, mask)
        return x


class BertModel(nn.Module):
    def __init__(self, c, pooler):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        if pooler:
            self.pooler = nn.Module()
            self.pooler.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, ids, types, mask):
        return self.encoder(self.embeddings(ids, types), mask)


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.act = act_fn(c["hidden_act"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, x):
        return F.linear(self.transform(x), self.decoder.weight, self.bias)


class BertForMaskedLM(nn.Module):
    def __init__(self, c, pooler=False):
        super().__init__()
        self.bert = BertModel(c, pooler)
        self.cls = nn.Module()
        self.cls.predictions = BertLMPredictionHead(c)
        if c.get("tie_word_embeddings", True):
            self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(self, ids, types, mask):
        return self.cls.predictions(self.bert(ids, types, mask))


# --- ALBERT ----------------------------------------------------------------

class AlbertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        e = c["embedding_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], e)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], e)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], e)
        self.LayerNorm = nn.LayerNorm(e, eps=c["layer_norm_eps"])

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1])[None]
        return self.LayerNorm(self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos))


class AlbertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])

    def forward(self, x, mask):
        return self.LayerNorm(x + self.dense(attend(self.query(x), self.key(x), self.value(x), self.heads, mask)))


class AlbertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["hidden_size"], c["intermediate_size"]
        self.full_layer_layer_norm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.attention = AlbertAttention(c)
        self.ffn = nn.Linear(d, f)
        self.ffn_output = nn.Linear(f, d)
        self.act = act_fn(c["hidden_act"])

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.full_layer_layer_norm(self.ffn_output(self.act(self.ffn(a))) + a)


class AlbertLayerGroup(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(c) for _ in range(c["inner_group_num"])])

    def forward(self, x, mask):
        for l in self.albert_layers:
            x = l(x, mask)
        return x


class AlbertTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embedding_hidden_mapping_in = nn.Linear(c["embedding_size"], c["hidden_size"])
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(c) for _ in range(c["num_hidden_groups"])])

    def forward(self, x, mask):
        x = self.embedding_hidden_mapping_in(x)
        L, G = self.c["num_hidden_layers"], self.c["num_hidden_groups"]
        for i in range(L):
            x = self.albert_layer_groups[int(i / (L / G))](x, mask)
        return x


class AlbertModel(nn.Module):
    def __init__(self, c, pooler):
        super().__init__()
        self.embeddings = AlbertEmbeddings(c)
        self.encoder = AlbertTransformer(c)
        if pooler:
            self.pooler = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, ids, types, mask):
        return self.encoder(self.embeddings(ids, types), mask)


class AlbertMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        e = c["embedding_size"]
        self.LayerNorm = nn.LayerNorm(e, eps=c["layer_norm_eps"])
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
        self.dense = nn.Linear(c["hidden_size"], e)
        self.decoder = nn.Linear(e, c["vocab_size"], bias=False)
        self.act = act_fn(c["hidden_act"])

    def forward(self, x):
        return F.linear(self.LayerNorm(self.act(self.dense(x))), self.decoder.weight, self.bias)


class AlbertForMaskedLM(nn.Module):
    def __init__(self, c, pooler=False):
        super().__init__()
        self.albert = AlbertModel(c, pooler)
        self.predictions = AlbertMLMHead(c)
        if c.get("tie_word_embeddings", True):
            self.predictions.decoder.weight = self.albert.embeddings.word_embeddings.weight

    def forward(self, ids, types, mask):
        return self.predictions(self.albert(ids, types, mask))


# ---------------------------------------------------------------------------

def bert_config(**kw):
    c = dict(model_type="bert", architectures=["BertForMaskedLM"], vocab_size=30, hidden_size=16,
              num_hidden_layers=2, num_attention_heads=4, intermediate_size=40, max_position_embeddings=12,
              type_vocab_size=2, hidden_act="gelu_new", layer_norm_eps=1e-12, position_embedding_type="absolute",
              pad_token_id=0)
    c.update(kw)
    return c


def albert_config(**kw):
    c = dict(model_type="albert", architectures=["AlbertForMaskedLM"], vocab_size=30, embedding_size=8,
             hidden_size=16, num_hidden_layers=4, num_hidden_groups=2, inner_group_num=1, num_attention_heads=4,
             intermediate_size=40, max_position_embeddings=12, type_vocab_size=2, hidden_act="gelu_new",
             layer_norm_eps=1e-12, position_embedding_type="absolute", pad_token_id=0)
    c.update(kw)
    return c


# name, config, pooler in the file, keep the (tied) decoder weight in the file, rename LayerNorm to gamma/beta, seed
MODELS = [
    ("bert_tiny", bert_config(), False, False, False, 3001),
    ("bert_tiny_erf_pooler", bert_config(hidden_act="gelu", num_hidden_layers=3, architectures=["BertForPreTraining"]),
     True, True, True, 3002),
    ("bert_tiny_untied", bert_config(tie_word_embeddings=False), False, True, False, 3003),
    ("albert_tiny", albert_config(), True, True, False, 3004),
    ("albert_tiny_g1", albert_config(num_hidden_layers=3, num_hidden_groups=1, embedding_size=4, type_vocab_size=3),
     False, False, False, 3005),
]


def init(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, dtype=torch.float64))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, dtype=torch.float64))
            else:
                p.copy_(0.2 * torch.randn(p.shape, dtype=torch.float64))
            p.copy_(p.float().double())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="testdata/golden/hf")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name, cfg, pooler, keep_decoder, gamma, seed in MODELS:
        torch.manual_seed(seed)
        cls = BertForMaskedLM if cfg["model_type"] == "bert" else AlbertForMaskedLM
        model = cls(cfg, pooler=pooler).double()
        init(model)
        B, T = 2, 7
        ids = torch.randint(0, cfg["vocab_size"], (B, T))
        types = torch.randint(0, cfg["type_vocab_size"], (B, T))
        mask = torch.ones(B, T, dtype=torch.float64)
        mask[1, 5:] = 0  # the second sequence is padded after 5 tokens
        with torch.no_grad():
            logits = model(ids, types, mask)
        sd = model.state_dict()  # tied tensors appear under both names
        tensors = []
        for k, v in sd.items():
            if not keep_decoder and k.endswith("decoder.weight") and cfg.get("tie_word_embeddings", True):
                continue  # save_pretrained stores a tied matrix once
            if gamma and k.endswith("LayerNorm.weight"):
                k = k[: -len("weight")] + "gamma"
            elif gamma and k.endswith("LayerNorm.bias"):
                k = k[: -len("bias")] + "beta"
            tensors.append((k, v.numpy().astype(np.float32)))
        if cfg["model_type"] == "bert":
            # HF ties cls.predictions.decoder.bias to cls.predictions.bias; the
            # files hold both names.
            tensors.append(("cls.predictions.decoder.bias", sd["cls.predictions.bias"].numpy().astype(np.float32)))
        else:
            tensors.append(("predictions.decoder.bias", sd["predictions.bias"].numpy().astype(np.float32)))
        if pooler and cfg["model_type"] == "bert":
            tensors.append(("cls.seq_relationship.weight", np.zeros((2, cfg["hidden_size"]), dtype=np.float32)))
            tensors.append(("cls.seq_relationship.bias", np.zeros((2,), dtype=np.float32)))
        tensors.append(((cfg["model_type"]) + ".embeddings.position_ids", np.arange(cfg["max_position_embeddings"], dtype=np.int32)[None]))
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as fh:
            json.dump(cfg, fh, indent=2)
            fh.write("\n")
        with open(os.path.join(d, "model.safetensors"), "wb") as fh:
            fh.write(torch_ref.serialize_safetensors(tensors, {"format": "pt"}))
        expect = [("input_ids", ids.numpy().astype(np.int32)), ("token_type_ids", types.numpy().astype(np.int32)),
                  ("attention_mask", mask.numpy().astype(np.int32)), ("logits", logits.numpy().astype(np.float32))]
        with open(os.path.join(d, "expect.safetensors"), "wb") as fh:
            fh.write(torch_ref.serialize_safetensors(expect, {"generator": "reference/hf_encoder_ref.py"}))
        print(f"- {name}: {len(tensors)} tensors, logits {tuple(logits.shape)} std {logits.std().item():.3f}")


if __name__ == "__main__":
    main()
