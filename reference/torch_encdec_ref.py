#!/usr/bin/env python3
"""Independent PyTorch reference for tformer's encoder-decoder (arch encdec).

Writes golden fixtures (safetensors layout) to testdata/golden/encdec/ that
model/golden_encdec_test.go compares against. Regenerate from the repository
root with:

    /usr/bin/python3 reference/torch_encdec_ref.py --out testdata/golden/encdec

The model is built from PyTorch's own nn.TransformerEncoderLayer and
nn.TransformerDecoderLayer (norm_first for pre-LN, post-LN otherwise; dropout
0; batch_first), so the attention, its masks and the residual placement are
PyTorch's code, not a transcription of tformer's:

  * source: E_src[src] * scale + P_enc[pos], target: E_tgt[tgt] * scale +
    P_dec[pos], with scale = sqrt(d) when embed_scale, P a learned table per
    stack or the sinusoidal table of Vaswani et al. (sin on even, cos on odd
    columns, written here from the paper's formula);
  * encoder layers with src_key_padding_mask (padded source keys ignored),
    decoder layers with a causal tgt_mask and memory_key_padding_mask;
    pre-LN stacks end with a LayerNorm;
  * logits = h @ W_out^T on the real target rows only (pair by pair, position
    by position), W_out the target table (tying all or decoder) or its own;
    tying all makes E_src the same tensor too;
  * the loss is the mean cross-entropy over those rows.

Sharing assigns the same submodules (self_attn + norm1 [+ multihead_attn +
norm2 in the decoder] for attention; linear1, linear2 and the FFN's norm for
the FFN) to every layer of a group, so PyTorch accumulates their gradients.
tformer's cross.i.q.w and cross.i.kv.w are the rows [0, d) and [d, 3d) of the
decoder's multihead_attn.in_proj_weight (likewise the biases).

Self-checks before writing: torch.autograd.gradcheck of the loss with respect
to the (tied) embedding on the smallest case; changing the padded source ids
and the padded target rows' ids changes neither logits nor loss; every
gradient nonzero. Computed in float64 from parameters rounded to float32;
stored as float32.
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
from torch_ref import serialize_safetensors  # noqa: E402  (the safetensors writer only)

torch.set_default_dtype(torch.float64)


def act_fn(name):
    if name == "relu":
        return F.relu
    if name == "gelu_erf":
        return lambda x: F.gelu(x)
    return lambda x: F.gelu(x, approximate="tanh")


def group_index(layers, groups, share, kind, l):
    """The stored block layer l of a stack uses (tformer's AttnIndex/FFNIndex)."""
    shared = share == "all" or share == kind
    return l // (layers // groups) if shared else l


def n_blocks(layers, groups, share, kind):
    return groups if (share == "all" or share == kind) else layers


class EncDec(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, H, f, K = cfg["d_model"], cfg["heads"], cfg["d_ff"], cfg["vocab"]
        post = cfg.get("post_ln", False)
        act = act_fn(cfg.get("activation", "gelu_tanh"))
        share, G = cfg["share"], cfg["groups"]
        Le, Ld = cfg["enc_layers"], cfg["layers"]
        mk_enc = lambda: nn.TransformerEncoderLayer(d, H, f, dropout=0.0, activation=act, layer_norm_eps=1e-5,
                                                    batch_first=True, norm_first=not post)
        mk_dec = lambda: nn.TransformerDecoderLayer(d, H, f, dropout=0.0, activation=act, layer_norm_eps=1e-5,
                                                    batch_first=True, norm_first=not post)
        # Stored blocks: one full layer module per stored block, submodules
        # reassigned below so a layer sees its attention block and FFN block.
        self.enc_attn = nn.ModuleList([mk_enc() for _ in range(n_blocks(Le, G, share, "attention"))])
        self.enc_ffn = nn.ModuleList([mk_enc() for _ in range(n_blocks(Le, G, share, "ffn"))])
        self.dec_attn = nn.ModuleList([mk_dec() for _ in range(n_blocks(Ld, G, share, "attention"))])
        self.share_stacks = cfg.get("share_stacks", False)
        self.dec_ffn = nn.ModuleList([] if self.share_stacks else [mk_dec() for _ in range(n_blocks(Ld, G, share, "ffn"))])
        self.enc_layers, self.dec_layers = [], []
        for l in range(Le):
            layer = mk_enc()
            a = self.enc_attn[group_index(Le, G, share, "attention", l)]
            fb = self.enc_ffn[group_index(Le, G, share, "ffn", l)]
            layer.self_attn, layer.norm1 = a.self_attn, a.norm1
            layer.linear1, layer.linear2, layer.norm2 = fb.linear1, fb.linear2, fb.norm2
            self.enc_layers.append(layer)
        for l in range(Ld):
            layer = mk_dec()
            a = self.dec_attn[group_index(Ld, G, share, "attention", l)]
            layer.multihead_attn, layer.norm2 = a.multihead_attn, a.norm2
            if self.share_stacks:
                # The decoder's self-attention and FFN are the encoder's
                # blocks of the same index (an encoder layer's FFN norm is
                # its norm2, a decoder layer's its norm3).
                ea = self.enc_attn[group_index(Ld, G, share, "attention", l)]
                ef = self.enc_ffn[group_index(Ld, G, share, "ffn", l)]
                layer.self_attn, layer.norm1 = ea.self_attn, ea.norm1
                layer.linear1, layer.linear2, layer.norm3 = ef.linear1, ef.linear2, ef.norm2
            else:
                fb = self.dec_ffn[group_index(Ld, G, share, "ffn", l)]
                layer.self_attn, layer.norm1 = a.self_attn, a.norm1
                layer.linear1, layer.linear2, layer.norm3 = fb.linear1, fb.linear2, fb.norm3
            self.dec_layers.append(layer)
        self.tying = cfg["tying"]
        self.wte = nn.Parameter(torch.zeros(K, d))
        if self.tying != "all":
            self.enc_wte = nn.Parameter(torch.zeros(K, d))
        if self.tying == "none":
            self.lm_head = nn.Parameter(torch.zeros(K, d))
        self.sinusoidal = cfg.get("positions") == "sinusoidal"
        T = cfg["max_seq"]
        if self.sinusoidal:
            pe = torch.zeros(T, d)
            for p in range(T):
                for i in range(d // 2):
                    a = p / (10000 ** (2 * i / d))
                    pe[p, 2 * i], pe[p, 2 * i + 1] = math.sin(a), math.cos(a)
            self.register_buffer("pe", pe)
        else:
            off = cfg.get("pos_offset", 0)
            self.enc_wpe = nn.Parameter(torch.zeros(T + off, d))
            self.wpe = nn.Parameter(torch.zeros(T + off, d))
        self.pos_offset = cfg.get("pos_offset", 0)
        if cfg.get("embed_norm"):
            self.enc_emb_ln = nn.LayerNorm(d, eps=1e-5)
            self.emb_ln = nn.LayerNorm(d, eps=1e-5)
        if not post:
            self.enc_lnf = nn.LayerNorm(d, eps=1e-5)
            self.lnf = nn.LayerNorm(d, eps=1e-5)
        self.scale = math.sqrt(d) if cfg.get("embed_scale") else 1.0

    def tables(self):
        src = self.wte if self.tying == "all" else self.enc_wte
        out = self.lm_head if self.tying == "none" else self.wte
        if self.sinusoidal:
            return src, out, self.pe, self.pe
        return src, out, self.enc_wpe, self.wpe

    def forward(self, src, src_lens, tgt, tgt_lens):
        B, Ts = src.shape
        Tt = tgt.shape[1]
        esrc, wout, penc, pdec = self.tables()
        o = 0 if self.sinusoidal else self.pos_offset  # BART's learned positions start at row 2
        x = esrc[src] * self.scale + penc[o:o + Ts]
        if hasattr(self, "enc_emb_ln"):
            x = self.enc_emb_ln(x)
        pad = torch.arange(Ts)[None, :] >= src_lens[:, None]  # True: a padded key
        for layer in self.enc_layers:
            x = layer(x, src_key_padding_mask=pad)
        if hasattr(self, "enc_lnf"):
            x = self.enc_lnf(x)
        y = self.wte[tgt] * self.scale + pdec[o:o + Tt]
        if hasattr(self, "emb_ln"):
            y = self.emb_ln(y)
        causal = torch.triu(torch.ones(Tt, Tt, dtype=torch.bool), diagonal=1)
        for layer in self.dec_layers:
            y = layer(y, x, tgt_mask=causal, memory_key_padding_mask=pad)
        if hasattr(self, "lnf"):
            y = self.lnf(y)
        rows = torch.cat([y[b, : int(tgt_lens[b])] for b in range(B)])
        return rows @ wout.t()

    def named(self):
        """(tformer name, tensor) for every stored tensor, in tformer's layout order."""
        cfg = self.cfg
        d = cfg["d_model"]
        out = [("wte", self.wte)]
        if self.tying != "all":
            out.append(("enc.wte", self.enc_wte))
        if not self.sinusoidal:
            out += [("enc.wpe", self.enc_wpe), ("wpe", self.wpe)]

        def norm(p, m):
            return [(p + ".w", m.weight), (p + ".b", m.bias)]

        for prefix, attn, ffn, dec in (("enc.", self.enc_attn, self.enc_ffn, False), ("", self.dec_attn, self.dec_ffn, True)):
            if hasattr(self, prefix.replace(".", "_") + "emb_ln"):
                out += norm(prefix + "emb_ln", getattr(self, prefix.replace(".", "_") + "emb_ln"))
            for i, a in enumerate(attn):
                if dec and self.share_stacks:
                    break
                p = f"{prefix}attn.{i}."
                out += norm(p + "ln", a.norm1)
                out += [(p + "qkv.w", a.self_attn.in_proj_weight), (p + "qkv.b", a.self_attn.in_proj_bias),
                        (p + "proj.w", a.self_attn.out_proj.weight), (p + "proj.b", a.self_attn.out_proj.bias)]
            if dec:
                for i, a in enumerate(attn):
                    p = f"cross.{i}."
                    m = a.multihead_attn
                    out += norm(p + "ln", a.norm2)
                    out += [(p + "q.w", (m.in_proj_weight, 0, d)), (p + "q.b", (m.in_proj_bias, 0, d)),
                            (p + "kv.w", (m.in_proj_weight, d, 3 * d)), (p + "kv.b", (m.in_proj_bias, d, 3 * d)),
                            (p + "proj.w", m.out_proj.weight), (p + "proj.b", m.out_proj.bias)]
            for i, fb in enumerate(ffn):
                p = f"{prefix}ffn.{i}."
                out += norm(p + "ln", fb.norm3 if dec else fb.norm2)
                out += [(p + "up.w", fb.linear1.weight), (p + "up.b", fb.linear1.bias),
                        (p + "down.w", fb.linear2.weight), (p + "down.b", fb.linear2.bias)]
            if hasattr(self, prefix.replace(".", "_") + "lnf"):
                out += norm(prefix + "lnf", getattr(self, prefix.replace(".", "_") + "lnf"))
        if self.tying == "none":
            out.append(("lm_head", self.lm_head))
        return out


def view(t):
    """A named entry's value: a tensor, or a row slice (tensor, lo, hi) of one."""
    if isinstance(t, tuple):
        x, lo, hi = t
        return x[lo:hi]
    return t


def init(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        seen = set()
        for name, t in model.named():
            x = t[0] if isinstance(t, tuple) else t
            if id(x) in seen:
                continue
            seen.add(id(x))
            if name.endswith("ln.w") or name.endswith("lnf.w"):
                v = 1 + 0.1 * torch.randn(x.shape, generator=g)
            elif x.dim() == 1:
                v = 0.1 * torch.randn(x.shape, generator=g)
            else:
                v = 0.3 * torch.randn(x.shape, generator=g)
            x.copy_(v.float().double())  # float32-representable values


def loss_of(model, batch):
    src, src_lens, tgt, tgt_lens, targets = batch
    logits = model(src, src_lens, tgt, tgt_lens)
    tg = torch.cat([targets[b, : int(tgt_lens[b])] for b in range(src.shape[0])])
    return logits, F.cross_entropy(logits, tg), tg


def make_batch(cfg, seed, B, Ts, Tt, src_lens, tgt_lens):
    g = torch.Generator().manual_seed(seed)
    K = cfg["vocab"]
    src = torch.randint(0, K, (B, Ts), generator=g)
    tgt = torch.randint(0, K, (B, Tt), generator=g)
    targets = torch.randint(0, K, (B, Tt), generator=g)
    return src, torch.tensor(src_lens), tgt, torch.tensor(tgt_lens), targets


def base_cfg(**kw):
    cfg = {"vocab": 19, "d_model": 8, "layers": 2, "heads": 2, "d_ff": 12, "max_seq": 9, "tie": True,
           "share": "none", "groups": 1, "arch": "encdec", "enc_layers": 2, "tying": "all"}
    cfg.update(kw)
    cfg["tie"] = cfg["tying"] != "none"
    return cfg


CASES = {
    # The paper's Transformer at toy size: post-LN, sinusoidal, √d, ReLU, three-way tie.
    "post_tie_all_sinusoidal_relu": base_cfg(post_ln=True, positions="sinusoidal", embed_scale=True, activation="relu"),
    "pre_tie_all_learned": base_cfg(),
    "post_tie_decoder_learned": base_cfg(post_ln=True, tying="decoder"),
    "pre_tie_none_erf": base_cfg(tying="none", activation="gelu_erf"),
    "post_tie_none_share_all": base_cfg(post_ln=True, tying="none", share="all", groups=1, enc_layers=3, layers=2),
    "pre_tie_decoder_share_attention_g2": base_cfg(tying="decoder", share="attention", groups=2, enc_layers=4, layers=2,
                                                   positions="sinusoidal", embed_scale=True),
    "post_tie_all_share_ffn_g1": base_cfg(post_ln=True, share="ffn", groups=1, layers=3),
    # Sharing between the stacks: the decoder's self-attention and FFN are the encoder's.
    "post_tie_all_share_stacks": base_cfg(post_ln=True, share_stacks=True, positions="sinusoidal", embed_scale=True, activation="relu"),
    "pre_tie_none_share_all_share_stacks": base_cfg(tying="none", share="all", groups=1, enc_layers=3, layers=2, share_stacks=True),
    # BART's choices: post-LN, layernorm_embedding, learned positions from row 2, erf GELU, tie all.
    "post_tie_all_bart": base_cfg(post_ln=True, embed_norm=True, pos_offset=2, activation="gelu_erf"),
}

B, TS, TT = 3, 7, 5
SRC_LENS, TGT_LENS = [7, 3, 5], [5, 2, 4]


def config_json(cfg):
    keys = ["vocab", "d_model", "layers", "heads", "d_ff", "max_seq", "tie", "share", "groups", "arch", "enc_layers",
            "tying", "post_ln", "positions", "embed_scale", "activation", "share_stacks", "embed_norm", "pos_offset"]
    return json.dumps({k: cfg[k] for k in keys if k in cfg})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="testdata/golden/encdec")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    # Self-check: gradcheck on the smallest model, through the tied embedding.
    small = base_cfg(d_model=4, heads=2, d_ff=6, vocab=5, enc_layers=1, layers=1, max_seq=4)
    m = EncDec(small)
    init(m, 1)
    batch = make_batch(small, 2, 2, 3, 2, [3, 1], [2, 1])

    w0 = m.wte.detach().clone().requires_grad_(True)

    # gradcheck needs the input in the graph: rebuild the tables from w.
    def loss_w(w):
        orig = m.wte
        del m.wte
        m.wte = w
        try:
            return loss_of(m, batch)[1]
        finally:
            del m.wte
            m.wte = orig

    assert torch.autograd.gradcheck(loss_w, (w0,), eps=1e-6, atol=1e-6), "gradcheck failed"
    print("gradcheck: ok")

    for name, cfg in CASES.items():
        torch.manual_seed(0)
        model = EncDec(cfg)
        init(model, 7)
        batch = make_batch(cfg, 11, B, TS, TT, SRC_LENS, TGT_LENS)
        logits, loss, tg = loss_of(model, batch)
        model.zero_grad()
        loss.backward()
        # Padding must not matter: other ids in the padded source positions
        # and in the padded target rows leave logits and loss unchanged.
        src, sl, tgt, tl, targets = [x.clone() for x in batch]
        for b in range(B):
            src[b, int(sl[b]):] = (src[b, int(sl[b]):] + 1) % cfg["vocab"]
            tgt[b, int(tl[b]):] = (tgt[b, int(tl[b]):] + 2) % cfg["vocab"]
            targets[b, int(tl[b]):] = (targets[b, int(tl[b]):] + 3) % cfg["vocab"]
        with torch.no_grad():
            l2, loss2, _ = loss_of(model, (src, sl, tgt, tl, targets))
        assert torch.allclose(l2, logits.detach(), atol=1e-12) and abs(loss2 - loss.item()) < 1e-12, name + ": padding matters"
        correct = int((logits.argmax(dim=1) == tg).sum())
        tensors = [("src", batch[0].numpy().astype(np.int32)), ("src_lens", batch[1].numpy().astype(np.int32)),
                   ("tgt", batch[2].numpy().astype(np.int32)), ("tgt_lens", batch[3].numpy().astype(np.int32)),
                   ("targets", batch[4].numpy().astype(np.int32)),
                   ("logits", logits.detach().numpy().astype(np.float32)),
                   ("loss", np.array(loss.item(), dtype=np.float32)),
                   ("correct", np.array([correct], dtype=np.int32))]
        named = model.named()
        for n, t in named:
            tensors.append(("param." + n, view(t).detach().numpy().astype(np.float32)))
        for n, t in named:
            if isinstance(t, tuple):
                gr = t[0].grad[t[1]:t[2]]
            else:
                gr = t.grad
            assert gr is not None and float(gr.abs().max()) > 0, f"{name}: {n} has no gradient"
            tensors.append(("grad." + n, gr.numpy().astype(np.float32)))
        path = os.path.join(args.out, name + ".safetensors")
        with open(path, "wb") as fh:
            fh.write(serialize_safetensors(tensors, {"config": config_json(cfg), "generator": "reference/torch_encdec_ref.py"}))
        print(f"{path}: loss {loss.item():.6f}, {len(named)} tensors, correct {correct}/{len(tg)}")


if __name__ == "__main__":
    main()
