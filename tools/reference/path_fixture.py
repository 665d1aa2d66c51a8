#!/usr/bin/python3
"""Reference fixtures for fusion/lstm.h and fusion/path_encoder.h (KagNet's path encoder).

Independent PyTorch code: torch.nn.LSTM over packed variable-length sequences (its h_n is the
final state per sequence) and the hierarchical path attention in plain torch ops, in float64
from float32-representable parameters. Writes, into tests/fusion/fixtures/path_encoder/:

  lstm_uni.safetensors, lstm_bi.safetensors
      lstm.<torch name>          parameters (weight_ih_l0, ..., *_reverse)
      x (B*T, I), lengths (B) as F32, g_outputs (B*T, D*H), g_final (B, D*H)
      outputs, final             forward results (padded output rows are 0)
      grad.lstm.<name>, grad.x   gradients of sum(outputs*g_outputs) + sum(final*g_final)
  path_encoder.json              the batch (statement -> pairs -> paths of concept/relation ids)
                                 and the config
  path_encoder.safetensors
      paths.<name>               parameters; concepts, relations, statements, g_output
      output, path_attention, pair_attention (0 for a pair without paths)
      grad.paths.<name>, grad.concepts, grad.relations, grad.statements  of sum(output*g_output)

Run: /usr/bin/python3 tools/reference/path_fixture.py  (deterministic; rewrites identical files)
"""
import json
import os
import sys

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402  (the project's own F32 writer)

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fusion", "fixtures",
                   "path_encoder")


def randn(g, *shape, std=0.5):
    # float32 first so the values the C++ side loads are exactly the ones used here
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * std).to(torch.float64)


def make_lstm(g, inp, hidden, bidirectional):
    lstm = torch.nn.LSTM(inp, hidden, num_layers=1, bidirectional=bidirectional, batch_first=True)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(randn(g, *p.shape))
    return lstm


def run_lstm(lstm, x, lengths):
    """x (B, T, I) padded; returns outputs (B, T, D*H) zero-padded and final (B, D*H) from h_n."""
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, (h_n, _) = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    final = torch.cat(list(h_n), dim=1)  # (B, D*H): forward's last step, backward's step 0
    return out, final


def lstm_case(name, bidirectional, seed):
    g = torch.Generator().manual_seed(seed)
    B, T, I, H = 3, 4, 3, 4
    D = 2 if bidirectional else 1
    lengths = [4, 2, 1]
    lstm = make_lstm(g, I, H, bidirectional)
    x = randn(g, B, T, I, std=1.0).requires_grad_(True)
    g_out = randn(g, B, T, D * H, std=1.0)
    g_final = randn(g, B, D * H, std=1.0)
    out, final = run_lstm(lstm, x, lengths)
    ((out * g_out).sum() + (final * g_final).sum()).backward()
    t = {}
    for n, p in lstm.named_parameters():
        t["lstm." + n] = p.detach()
    t["x"] = x.detach().reshape(B * T, I)
    t["lengths"] = torch.tensor(lengths, dtype=torch.float64)  # F32: the C++ reader converts floats only
    t["g_outputs"] = g_out.reshape(B * T, D * H)
    t["g_final"] = g_final
    t["outputs"] = out.detach().reshape(B * T, D * H)
    t["final"] = final.detach()
    for n, p in lstm.named_parameters():
        t["grad.lstm." + n] = p.grad
    t["grad.x"] = x.grad.reshape(B * T, I)
    write_safetensors(os.path.join(OUT, name + ".safetensors"), t)


# statement -> pairs -> paths; each path (concept ids, relation ids). Covers: paths of 1-3 hops in
# one pair, a single-path pair, a pair without paths beside one with paths, a statement without
# pairs, and a statement whose only pair has no paths.
BATCH = [
    [[([0, 1], [0]), ([0, 2, 1], [1, 2]), ([0, 3, 4, 1], [3, 0, 1])], [([5, 6, 2], [2, 2])]],
    [[], [([2, 4], [3]), ([2, 0, 4], [1, 0])]],
    [],
    [[]],
]


def path_case(seed):
    g = torch.Generator().manual_seed(seed)
    De, Dr, Hs, Hl, Nc, Nr = 3, 2, 5, 3, 7, 4
    P = 2 * Hl
    S = len(BATCH)
    lstm = make_lstm(g, De + Dr, Hl, True)
    wp, bp = randn(g, P, Hs), randn(g, P)
    wr, br = randn(g, P, Hs), randn(g, P)
    params = {"paths.path_query.weight": wp, "paths.path_query.bias": bp,
              "paths.pair_query.weight": wr, "paths.pair_query.bias": br}
    for p in params.values():
        p.requires_grad_(True)
    concepts = randn(g, Nc, De, std=1.0).requires_grad_(True)
    relations = randn(g, Nr, Dr, std=1.0).requires_grad_(True)
    statements = randn(g, S, Hs, std=1.0).requires_grad_(True)
    g_output = randn(g, S, P, std=1.0)

    flat = [path for st in BATCH for pair in st for path in pair]
    T = max(len(c) for c, _ in flat)
    seqs = []
    for c, r in flat:
        rel = torch.cat([relations[torch.tensor(r)], torch.zeros(1, Dr)])  # the last concept has no relation
        x = torch.cat([concepts[torch.tensor(c)], rel], dim=1)
        seqs.append(torch.cat([x, torch.zeros(T - len(c), De + Dr)]))
    _, path_vecs = run_lstm(lstm, torch.stack(seqs), [len(c) for c, _ in flat])

    q = statements @ wp.T + bp
    r = statements @ wr.T + br
    outputs, alphas, betas = [], [], []
    k = 0
    for s, st in enumerate(BATCH):
        pair_vecs, live = [], []
        for pair in st:
            if not pair:
                betas.append(None)
                continue
            pv = path_vecs[k:k + len(pair)]
            k += len(pair)
            a = torch.softmax(pv @ q[s], dim=0)
            alphas.append(a)
            pair_vecs.append(a @ pv)
            live.append(len(betas))
            betas.append(None)
        if not pair_vecs:
            outputs.append(torch.zeros(P))
            continue
        u = torch.stack(pair_vecs)
        b = torch.softmax(u @ r[s], dim=0)
        for i, m in enumerate(live):
            betas[m] = b[i]
        outputs.append(b @ u)
    output = torch.stack(outputs)
    (output * g_output).sum().backward()

    t = {}
    for n, p in lstm.named_parameters():
        t["paths.lstm." + n] = p.detach()
    t.update({n: p.detach() for n, p in params.items()})
    t["concepts"], t["relations"], t["statements"] = concepts.detach(), relations.detach(), statements.detach()
    t["g_output"] = g_output
    t["output"] = output.detach()
    t["path_attention"] = torch.cat(alphas).detach()
    t["pair_attention"] = torch.stack([b.detach() if b is not None else torch.zeros(()) for b in betas])
    for n, p in lstm.named_parameters():
        t["grad.paths.lstm." + n] = p.grad
    for n, p in params.items():
        t["grad." + n] = p.grad
    t["grad.concepts"], t["grad.relations"], t["grad.statements"] = concepts.grad, relations.grad, statements.grad
    write_safetensors(os.path.join(OUT, "path_encoder.safetensors"), t)
    batch = [[[{"concepts": c, "relations": rr} for c, rr in pair] for pair in st] for st in BATCH]
    config = {"concept_dim": De, "relation_dim": Dr, "statement_dim": Hs, "hidden": Hl, "bidirectional": True}
    with open(os.path.join(OUT, "path_encoder.json"), "w") as f:
        json.dump({"config": config, "batch": batch}, f, indent=1)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    lstm_case("lstm_uni", False, 1)
    lstm_case("lstm_bi", True, 2)
    path_case(3)


if __name__ == "__main__":
    main()
