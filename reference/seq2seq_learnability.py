"""Can a small encoder-decoder learn tformer's built-in seq2seq tasks in
minutes on 2 cores? An independent check in PyTorch (Debian python3-torch
1.13, /usr/bin/python3), not used by CI.

Export the task first (any Go program calling seq2seq.Task and
seq2seq.WriteTSV; e.g. train/held splits of "facts" and "reverse" with seed
1), then:

    /usr/bin/python3 reference/seq2seq_learnability.py facts_train.tsv facts_held.tsv STEPS

The model: byte tokens plus PAD, BOS, EOS (ids 256-258, as seq2seq.NewVocab
places them), a post-LN nn.Transformer with sinusoidal positions and one
matrix for the source embedding, the target embedding and the output
(three-way tying), AdamW with warmup. It prints the loss and the greedy
exact-match accuracy on the training and held-out pairs before and after.
"""
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn

PAD, BOS, EOS, V = 256, 257, 258, 260


def read(path):
    out = []
    for line in open(path, "rb").read().split(b"\n"):
        if line:
            s, t = line.split(b"\t")
            out.append((list(s), list(t)))
    return out


class Model(nn.Module):
    def __init__(self, d=64, layers=2, heads=4, ff=256, maxlen=128):
        super().__init__()
        self.d = d
        self.emb = nn.Embedding(V, d)
        nn.init.normal_(self.emb.weight, std=d ** -0.5)
        pe = torch.zeros(maxlen, d)
        pos = torch.arange(maxlen).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.tf = nn.Transformer(d, heads, layers, layers, ff, dropout=0.0, batch_first=True)

    def embed(self, x):
        return self.emb(x) * math.sqrt(self.d) + self.pe[: x.shape[1]]

    def forward(self, src, dec):
        causal = self.tf.generate_square_subsequent_mask(dec.shape[1])
        h = self.tf(self.embed(src), self.embed(dec), tgt_mask=causal,
                    src_key_padding_mask=src == PAD, memory_key_padding_mask=src == PAD)
        return h @ self.emb.weight.t()


def pad(rows, n):
    return torch.tensor([r + [PAD] * (n - len(r)) for r in rows])


def batch(pairs):
    src = [s + [EOS] for s, _ in pairs]
    dec = [[BOS] + t for _, t in pairs]
    lab = [t + [EOS] for _, t in pairs]
    n, m = max(map(len, src)), max(map(len, dec))
    return pad(src, n), pad(dec, m), pad(lab, m)


@torch.no_grad()
def exact(model, pairs, maxlen=64):
    model.eval()
    ok = 0
    for i in range(0, len(pairs), 128):
        chunk = pairs[i:i + 128]
        src, _, _ = batch(chunk)
        out = torch.full((len(chunk), 1), BOS)
        for _ in range(maxlen):
            nxt = model(src, out)[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], 1)
            if ((out == EOS).any(1)).all():
                break
        for row, (_, t) in zip(out.tolist(), chunk):
            row = row[1:]
            ok += (row[:row.index(EOS)] if EOS in row else row) == t
    model.train()
    return ok / len(pairs)


def loss_of(model, pairs):
    src, dec, lab = batch(pairs)
    logits = model(src, dec)
    return nn.functional.cross_entropy(logits.reshape(-1, V), lab.reshape(-1), ignore_index=PAD)


def main():
    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    train, held = read(sys.argv[1]), read(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    model = Model()
    print("parameters", sum(p.numel() for p in model.parameters()))
    probe = train[:len(held)]
    with torch.no_grad():
        print(f"before: loss train {loss_of(model, probe).item():.3f} held {loss_of(model, held).item():.3f}"
              f" exact train {exact(model, probe, 8):.3f} held {exact(model, held, 8):.3f}")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 100) * max(0.1, 1 - s / steps))
    t0 = time.time()
    for step in range(steps):
        loss = loss_of(model, random.sample(train, 32))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if (step + 1) % 250 == 0:
            print(f"step {step + 1} loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    took = time.time() - t0
    with torch.no_grad():
        print(f"after {steps} steps ({took:.0f} s): loss train {loss_of(model, probe).item():.3f}"
              f" held {loss_of(model, held).item():.3f}"
              f" exact train {exact(model, probe):.3f} held {exact(model, held):.3f}")


if __name__ == "__main__":
    main()
