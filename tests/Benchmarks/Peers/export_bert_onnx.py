"""Exports the benchmark's BertForMaskedLM checkpoint to ONNX for ONNX Runtime (the fill-mask peer).

usage: /usr/bin/python3 export_bert_onnx.py CHECKPOINT_DIR OUT.onnx
       /usr/bin/python3 export_bert_onnx.py --matmul ROWS IN OUT OUT.onnx   (one x W^T with a constant random W
       [OUT, IN], as a BERT linear layer exports: ONNX Runtime's GEMM rate at that shape, a machine limit)

Reads config.json and model.safetensors (float32, parsed by hand: no transformers or safetensors
package here) into a BERT written out in plain torch with Hugging Face's arithmetic (post-norm
blocks, erf GELU, additive -10000 mask as BertModel's ONNX exports use, so ONNX Runtime's
attention fusion recognises it). The graph takes input_ids, attention_mask [B, T] and mask_index [B]
and returns the vocabulary logits at each row's mask [B, V]: the MLM head runs at the mask only, as
the service runs it. Opset 12, batch and sequence dimensions dynamic.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{name}: only F32 checkpoints are exported, this one is {entry['dtype']}")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


class Bert(torch.nn.Module):
    def __init__(self, config, weights):
        super().__init__()
        self.c = config
        self.heads = config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.layers = config["num_hidden_layers"]
        for name, value in weights.items():
            self.register_buffer(name.replace(".", "__"), value)

    def w(self, name):
        return getattr(self, name.replace(".", "__"))

    def ln(self, x, prefix):
        return F.layer_norm(x, (self.c["hidden_size"],), self.w(prefix + ".weight"), self.w(prefix + ".bias"), self.eps)

    def dense(self, x, prefix):
        return F.linear(x, self.w(prefix + ".weight"), self.w(prefix + ".bias"))

    def forward(self, input_ids, attention_mask, mask_index):
        b, t = input_ids.shape
        h = self.c["hidden_size"]
        d = h // self.heads
        positions = torch.arange(t, dtype=torch.long).unsqueeze(0)
        e = "bert.embeddings."
        x = F.embedding(input_ids, self.w(e + "word_embeddings.weight")) + F.embedding(positions, self.w(e + "position_embeddings.weight")) \
            + self.w(e + "token_type_embeddings.weight")[0]
        x = self.ln(x, e + "LayerNorm")
        additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        for i in range(self.layers):
            p = f"bert.encoder.layer.{i}."
            def heads(y):
                return y.view(b, t, self.heads, d).permute(0, 2, 1, 3)
            q = heads(self.dense(x, p + "attention.self.query"))
            k = heads(self.dense(x, p + "attention.self.key"))
            v = heads(self.dense(x, p + "attention.self.value"))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + additive
            context = torch.matmul(scores.softmax(-1), v).permute(0, 2, 1, 3).reshape(b, t, h)
            x = self.ln(self.dense(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inner = F.gelu(self.dense(x, p + "intermediate.dense"))
            x = self.ln(self.dense(inner, p + "output.dense") + x, p + "output.LayerNorm")
        rows = x[torch.arange(b), mask_index]  # [B, H]: the head at the mask only
        c = "cls.predictions."
        rows = self.ln(F.gelu(self.dense(rows, c + "transform.dense")), c + "transform.LayerNorm")
        return F.linear(rows, self.w("bert.embeddings.word_embeddings.weight"), self.w(c + "bias"))


class Linear(torch.nn.Module):
    def __init__(self, inputs, outputs):
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer("weight", torch.randn(outputs, inputs) * 0.02)

    def forward(self, x):
        return F.linear(x, self.weight)


def export_matmul(rows, inputs, outputs, out):
    x = torch.randn(1, rows, inputs)
    with torch.no_grad():
        torch.onnx.export(Linear(inputs, outputs).eval(), (x,), out, opset_version=12, do_constant_folding=True,
                          input_names=["x"], output_names=["y"])


def main():
    if sys.argv[1] == "--matmul":
        export_matmul(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    directory, out = sys.argv[1], sys.argv[2]
    with open(f"{directory}/config.json") as f:
        config = json.load(f)
    if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
        raise SystemExit("only BERT checkpoints with the erf GELU are exported")
    model = Bert(config, read_safetensors(f"{directory}/model.safetensors")).eval()
    ids = torch.tensor([[101, 7, 103, 8, 102]], dtype=torch.long)
    mask = torch.ones_like(ids)
    index = torch.tensor([2], dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask, index), out, opset_version=12, do_constant_folding=True,
                          input_names=["input_ids", "attention_mask", "mask_index"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                        "mask_index": {0: "batch"}, "logits": {0: "batch"}})


if __name__ == "__main__":
    main()
