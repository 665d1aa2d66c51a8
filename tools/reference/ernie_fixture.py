#!/usr/bin/python3
"""Reference fixture for fusion/ernie_layer.h (tests/fusion/ernie_layer_test.cc).

A two-layer stack of ERNIE aggregator layers (thunlp/ERNIE knowledge_bert BertLayer) written
here in plain torch ops, in float64, independently of the C++: BERT attention over tokens,
BERT attention over entities (keys masked by the entity mask, ERNIE's additive -10000
mask), masking of the attended entities, the fusion h = gelu(W_t wa + W_e ea + b), and one
projection + residual + LayerNorm per side. No dropout (the C++ gradient check covers it).

Writes tests/fusion/fixtures/ernie_layer/:
  params.safetensors    float32 parameters under the C++ names ("fusion.layer.{i}.<ERNIE name>")
  expected.safetensors  input.{w,e,attention_mask,entity_mask,dw_out,de_out}, output.{w,e},
                        grad.input.{w,e} and grad.<parameter name> for every parameter, where the
                        loss is sum(w_out * dw_out) + sum(e_out * de_out).

Run: /usr/bin/python3 tools/reference/ernie_fixture.py   (deterministic)
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402  (the project's own small writer)

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fusion", "fixtures",
                   "ernie_layer")

B, T, H, DE, F = 3, 5, 16, 8, 24
HEADS, ENT_HEADS, LAYERS, EPS = 2, 4, 2, 1e-12
PREFIX = "fusion.layer."


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Params:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.p = {}

    def _new(self, name, shape, mean, std):
        t = mean + torch.randn(*shape, generator=self.g, dtype=torch.float32) * std
        self.p[name] = t.double().requires_grad_()

    def linear(self, name, i, o):
        self._new(name + ".weight", (o, i), 0.0, 0.3)
        self._new(name + ".bias", (o,), 0.0, 0.1)

    def layernorm(self, name, n):
        self._new(name + ".weight", (n,), 1.0, 0.1)
        self._new(name + ".bias", (n,), 0.0, 0.1)

    def __getitem__(self, k):
        return self.p[k]


def build(seed):
    P = Params(seed)
    for i in range(LAYERS):
        p = f"{PREFIX}{i}."
        for side, width in (("", H), ("_ent", DE)):
            for proj in ("query", "key", "value"):
                P.linear(f"{p}attention.self{side}.{proj}", width, width)
            P.linear(f"{p}attention.output{side}.dense", width, width)
            P.layernorm(f"{p}attention.output{side}.LayerNorm", width)
        P.linear(p + "intermediate.dense", H, F)
        P.linear(p + "intermediate.dense_ent", DE, F)
        P.linear(p + "output.dense", F, H)
        P.layernorm(p + "output.LayerNorm", H)
        P.linear(p + "output.dense_ent", F, DE)
        P.layernorm(p + "output.LayerNorm_ent", DE)
    return P


def lin(P, name, x):
    return x @ P[name + ".weight"].T + P[name + ".bias"]


def layer_norm(P, name, x):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + EPS) * P[name + ".weight"] + P[name + ".bias"]


def self_attention(P, name, x, mask, heads):
    """x (B, T, W); mask (B, T) of 0/1 over keys; ERNIE's additive mask."""
    b, t, w = x.shape
    d = w // heads

    def split(y):
        return y.view(b, t, heads, d).permute(0, 2, 1, 3)

    q, k, v = (split(lin(P, f"{name}.{n}", x)) for n in ("query", "key", "value"))
    scores = q @ k.transpose(-1, -2) / math.sqrt(d) + ((1.0 - mask) * -10000.0)[:, None, None, :]
    ctx = torch.softmax(scores, dim=-1) @ v
    return ctx.permute(0, 2, 1, 3).reshape(b, t, w)


def attention_block(P, self_name, out_name, x, mask, heads):
    ctx = self_attention(P, self_name, x, mask, heads)
    return layer_norm(P, out_name + ".LayerNorm", lin(P, out_name + ".dense", ctx) + x)


def ernie_layer(P, i, w, e, attn_mask, ent_mask):
    p = f"{PREFIX}{i}."
    wa = attention_block(P, p + "attention.self", p + "attention.output", w, attn_mask, HEADS)
    ea = attention_block(P, p + "attention.self_ent", p + "attention.output_ent", e, ent_mask, ENT_HEADS)
    ea = ea * ent_mask[..., None]
    h = gelu(lin(P, p + "intermediate.dense", wa) + lin(P, p + "intermediate.dense_ent", ea))
    w_out = layer_norm(P, p + "output.LayerNorm", lin(P, p + "output.dense", h) + wa)
    e_out = layer_norm(P, p + "output.LayerNorm_ent", lin(P, p + "output.dense_ent", h) + ea)
    return w_out, e_out


def main():
    P = build(seed=7)
    g = torch.Generator().manual_seed(11)
    w = torch.randn(B, T, H, generator=g, dtype=torch.float32).double().requires_grad_()
    e = torch.randn(B, T, DE, generator=g, dtype=torch.float32).double().requires_grad_()
    # Sequence 0: full, entities at 0, 2, 3. Sequence 1: last token padding, no entity at all.
    # Sequence 2: two padding tokens, entities at 1 and 2.
    attn_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], dtype=torch.float64)
    ent_mask = torch.tensor([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [0, 1, 1, 0, 0]], dtype=torch.float64)
    dw_out = torch.randn(B, T, H, generator=g, dtype=torch.float32).double()
    de_out = torch.randn(B, T, DE, generator=g, dtype=torch.float32).double()

    x, y = w, e
    for i in range(LAYERS):
        x, y = ernie_layer(P, i, x, y, attn_mask, ent_mask)
    loss = (x * dw_out).sum() + (y * de_out).sum()
    loss.backward()

    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "params.safetensors"), {k: v for k, v in P.p.items()})
    n = B * T
    expected = {
        "input.w": w.reshape(n, H), "input.e": e.reshape(n, DE),
        "input.attention_mask": attn_mask.reshape(n), "input.entity_mask": ent_mask.reshape(n),
        "input.dw_out": dw_out.reshape(n, H), "input.de_out": de_out.reshape(n, DE),
        "output.w": x.reshape(n, H), "output.e": y.reshape(n, DE),
        "grad.input.w": w.grad.reshape(n, H), "grad.input.e": e.grad.reshape(n, DE),
    }
    for k, v in P.p.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
    print("wrote", OUT, "loss", float(loss))


if __name__ == "__main__":
    main()
