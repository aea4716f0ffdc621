#!/usr/bin/env python3
"""Expected masked-LM loss and accuracy of `tformer eval` on a Hugging Face
BERT / ALBERT directory.

Reads testdata/mlmeval/<model>.json — the masked windows ([CLS] ... [SEP],
the tokenizer's [MASK] id) that tformer's eval scores, with the positions
scored and their original tokens, as the Go test
TestEvalHFMaskedLMMatchesReference writes them with -write-mlm-windows —
loads the model's weights from testdata/golden/hf/<model>/model.safetensors
into the independent PyTorch BertForMaskedLM / AlbertForMaskedLM of
reference/hf_encoder_ref.py, and adds "expect": {"loss", "accuracy"}: the
mean cross-entropy (nats) over every scored position of every window and the
share whose arg-max logit is the original token. Computed in float64.

    /usr/bin/python3 reference/hf_mlm_eval_ref.py
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_encoder_ref as ref  # noqa: E402
import read_fixtures  # noqa: E402  (safetensors reader)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def load(name):
    d = os.path.join(ROOT, "testdata", "golden", "hf", name)
    with open(os.path.join(d, "config.json")) as fh:
        cfg = json.load(fh)
    cls = ref.BertForMaskedLM if cfg["model_type"] == "bert" else ref.AlbertForMaskedLM
    pooler = any(e[0] == name and e[2] for e in ref.MODELS)
    model = cls(cfg, pooler=pooler).double()
    _, tensors = read_fixtures.parse(os.path.join(d, "model.safetensors"))
    sd = model.state_dict()
    loaded = set()
    with torch.no_grad():
        for k, v in tensors:
            if k in sd:
                sd[k].copy_(torch.from_numpy(v).double())
                loaded.add(k)
    missing = [k for k in sd if k not in loaded and not k.endswith("decoder.weight")]
    if missing:
        raise SystemExit(f"{name}: weights not in the file: {missing}")
    return model


def main():
    torch.set_num_threads(1)
    for name in ["bert_tiny", "albert_tiny"]:
        path = os.path.join(ROOT, "testdata", "mlmeval", name + ".json")
        with open(path) as fh:
            fx = json.load(fh)
        model = load(name)
        ids = torch.tensor(fx["windows"], dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.ones(ids.shape, dtype=torch.float64)
        with torch.no_grad():
            logits = model(ids, types, mask)
        total, correct, count = 0.0, 0, 0
        for w, (pos, tgt) in enumerate(zip(fx["positions"], fx["targets"])):
            for p, t in zip(pos, tgt):
                row = logits[w, p]
                total += (torch.logsumexp(row, 0) - row[t]).item()
                correct += int(row.argmax().item() == t)
                count += 1
        fx["expect"] = {"loss": total / count, "accuracy": correct / count}
        with open(path, "w") as fh:
            json.dump(fx, fh, separators=(",", ":"))
            fh.write("\n")
        print(f"- {name}: {len(fx['windows'])} windows, {count} scored, loss {total / count:.6f}, accuracy {correct / count:.4f}")


if __name__ == "__main__":
    main()
