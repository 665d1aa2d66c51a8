#!/usr/bin/python3
"""Reference fixtures for spade_encoder's parity tests.

Builds tiny random BERT, ALBERT (every cross-layer sharing mode), ELECTRA (discriminator
and generator) models *directly in PyTorch* following the published architectures, with
Hugging Face's tensor names, runs one fixed batch in float64 and saves, per model, into
tests/encoder/fixtures/<name>/:

  config.json          HF config field names (+ spade_cross_layer_sharing for ALBERT ablations)
  model.safetensors    the float32 parameters under their published names
  batch.json           input_ids, token_type_ids, attention_mask and the targets
  expected.safetensors last_hidden_state, pooled, mlm_logits (every token), sentence_logits,
                       choice_logits, rtd_logits, loss, and grad.<tensor name> for every parameter

electra_joint/ holds one whole ELECTRA pretraining step instead (generator/ and
discriminator/ model directories sharing their embeddings, the draws, losses, every
gradient and the parameters after one AdamW step); see electra_joint_case.

Run with Debian's torch:  /usr/bin/python3 tools/reference/make_fixtures.py
Needs only torch (no transformers). Deterministic: re-running rewrites identical files.
"""
import json
import math
import os
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "encoder", "fixtures")


# ---------------------------------------------------------------- safetensors (own writer)
def write_safetensors(path, tensors):
    """tensors: name -> float tensor (stored F32) or ("I64", integer tensor)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        if isinstance(t, tuple):
            dtype, t = t
            data = t.to(torch.int64).contiguous().numpy().tobytes()
        else:
            dtype = "F32"
            data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- math
def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


ACT = {"gelu": gelu, "gelu_new": gelu_new, "relu": torch.relu}


class Params:
    """Named parameters (HF names without the model prefix), created float32 then used in float64."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.p = {}

    std = 0.3  # matrices' default; make_published_layout.py uses 0.02 at full size

    def matrix(self, name, rows, cols, std=None):
        std = self.std if std is None else std
        self.p[name] = (torch.randn(rows, cols, generator=self.g, dtype=torch.float32) * std).double().requires_grad_()

    def vector(self, name, n, mean=0.0, std=0.1):
        self.p[name] = (mean + torch.randn(n, generator=self.g, dtype=torch.float32) * std).double().requires_grad_()

    def linear(self, name, i, o):
        self.matrix(name + ".weight", o, i)
        self.vector(name + ".bias", o)

    def layernorm(self, name, n):
        self.vector(name + ".weight", n, mean=1.0)
        self.vector(name + ".bias", n)

    def __getitem__(self, k):
        return self.p[k]


def lin(P, name, x):
    return x @ P[name + ".weight"].T + P[name + ".bias"]


def ln(P, name, x, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), P[name + ".weight"], P[name + ".bias"], eps)


# ---------------------------------------------------------------- architectures
def build(cfg, heads, seed):
    """Registers every tensor of the model under its published name."""
    arch, H, E, F, L = cfg["model_type"], cfg["hidden_size"], cfg.get("embedding_size", cfg["hidden_size"]), \
        cfg["intermediate_size"], cfg["num_hidden_layers"]
    P = Params(seed)
    P.matrix("embeddings.word_embeddings.weight", cfg["vocab_size"], E)
    P.matrix("embeddings.position_embeddings.weight", cfg["max_position_embeddings"], E)
    P.matrix("embeddings.token_type_embeddings.weight", cfg["type_vocab_size"], E)
    P.layernorm("embeddings.LayerNorm", E)
    if arch == "albert":
        P.linear("encoder.embedding_hidden_mapping_in", E, H)
    if arch == "electra" and E != H:
        P.linear("embeddings_project", E, H)
    schedule = []
    if arch in ("bert", "electra"):
        for l in range(L):
            p = f"encoder.layer.{l}"
            for n in ("query", "key", "value"):
                P.linear(f"{p}.attention.self.{n}", H, H)
            P.linear(f"{p}.attention.output.dense", H, H)
            P.layernorm(f"{p}.attention.output.LayerNorm", H)
            P.linear(f"{p}.intermediate.dense", H, F)
            P.linear(f"{p}.output.dense", F, H)
            P.layernorm(f"{p}.output.LayerNorm", H)
            schedule.append((("bert", p), ("bert", p)))
    else:
        sharing = cfg.get("spade_cross_layer_sharing", "all")
        G, K = cfg["num_hidden_groups"], cfg["inner_group_num"]

        def attn(g, k):
            p = f"encoder.albert_layer_groups.{g}.albert_layers.{k}"
            if p + ".attention.query.weight" not in P.p:
                for n in ("query", "key", "value", "dense"):
                    P.linear(f"{p}.attention.{n}", H, H)
                P.layernorm(f"{p}.attention.LayerNorm", H)
            return ("albert", p)

        def ffn(g, k):
            p = f"encoder.albert_layer_groups.{g}.albert_layers.{k}"
            if p + ".ffn.weight" not in P.p:
                P.linear(f"{p}.ffn", H, F)
                P.linear(f"{p}.ffn_output", F, H)
                P.layernorm(f"{p}.full_layer_layer_norm", H)
            return ("albert", p)

        if sharing == "all":
            for g in range(G):
                for k in range(K):
                    attn(g, k), ffn(g, k)
            for i in range(L):
                g = int(i / (L / G))  # AlbertTransformer's group_idx
                for k in range(K):
                    schedule.append((attn(g, k), ffn(g, k)))
        elif sharing == "attention":
            for i in range(L):
                schedule.append((attn(0, 0), ffn(i, 0)))
        elif sharing == "ffn":
            for i in range(L):
                schedule.append((attn(i, 0), ffn(0, 0)))
        else:
            raise ValueError(sharing)
    if arch == "bert":
        P.linear("pooler.dense", H, H)
    elif arch == "albert":
        P.linear("pooler", H, H)
    V = cfg["vocab_size"]
    if heads.get("mlm"):
        names = {"bert": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias"),
                 "albert": ("predictions.dense", "predictions.LayerNorm", "predictions.bias"),
                 "electra": ("generator_predictions.dense", "generator_predictions.LayerNorm", "generator_lm_head.bias")}[arch]
        P.linear(names[0], H, E)
        P.layernorm(names[1], E)
        P.vector(names[2], V)
    if heads.get("sentence") == "nsp":
        P.linear("cls.seq_relationship", H, 2)
    if heads.get("sentence") == "sop":
        P.linear("sop_classifier.classifier", H, 2)
    if heads.get("sentence") == "classification":
        if cfg["model_type"] == "electra":  # ElectraClassificationHead
            P.linear("classifier.dense", H, H)
            P.linear("classifier.out_proj", H, cfg["num_labels"])
        else:
            P.linear("classifier", H, cfg["num_labels"])
    if heads.get("multiple_choice"):
        if cfg["model_type"] == "electra":  # ElectraForMultipleChoice: SequenceSummary ("first", gelu)
            P.linear("sequence_summary.summary", H, H)
        P.linear("classifier", H, 1)
    if heads.get("rtd"):
        P.linear("discriminator_predictions.dense", H, H)
        P.linear("discriminator_predictions.dense_prediction", H, 1)
    return P, schedule


def forward(cfg, heads, P, schedule, batch, record=None):
    """record: a dict to fill with the named intermediates of encoder/transformer.h."""
    keep = (lambda name, t: record.__setitem__(name, t.detach().reshape(-1, t.shape[-1]))) if record is not None \
        else (lambda name, t: None)
    arch, H, nH = cfg["model_type"], cfg["hidden_size"], cfg["num_attention_heads"]
    eps, act = cfg["layer_norm_eps"], ACT[cfg["hidden_act"]]
    ids = torch.tensor(batch["input_ids"])
    tt = torch.tensor(batch["token_type_ids"])
    mask = torch.tensor(batch["attention_mask"], dtype=torch.float64)
    B, T = ids.shape
    D = H // nH
    x = P["embeddings.word_embeddings.weight"][ids] + P["embeddings.position_embeddings.weight"][torch.arange(T)][None] \
        + P["embeddings.token_type_embeddings.weight"][tt]
    x = ln(P, "embeddings.LayerNorm", x, eps)
    keep("embeddings", x)
    if arch == "albert":
        x = lin(P, "encoder.embedding_hidden_mapping_in", x)
        keep("embeddings.projected", x)
    if arch == "electra" and "embeddings_project.weight" in P.p:
        x = lin(P, "embeddings_project", x)
        keep("embeddings.projected", x)
    ext = (1.0 - mask)[:, None, None, :] * -1e9  # HF's extended additive mask
    for i, ((akind, ap), (fkind, fp)) in enumerate(schedule):
        if akind == "bert":
            qn, kn, vn = (f"{ap}.attention.self.{n}" for n in ("query", "key", "value"))
            on, lnn = f"{ap}.attention.output.dense", f"{ap}.attention.output.LayerNorm"
        else:
            qn, kn, vn, on = (f"{ap}.attention.{n}" for n in ("query", "key", "value", "dense"))
            lnn = f"{ap}.attention.LayerNorm"
        split = lambda t: t.view(B, T, nH, D).transpose(1, 2)
        q, k, v = lin(P, qn, x), lin(P, kn, x), lin(P, vn, x)
        keep(f"layer{i}.attn.query", q), keep(f"layer{i}.attn.key", k), keep(f"layer{i}.attn.value", v)
        q, k, v = split(q), split(k), split(v)
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + ext, dim=-1)
        keep(f"layer{i}.attn.probs", probs)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
        keep(f"layer{i}.attn.context", ctx)
        h1 = ln(P, lnn, lin(P, on, ctx) + x, eps)
        keep(f"layer{i}.attn.output", h1)
        if fkind == "bert":
            a = act(lin(P, f"{fp}.intermediate.dense", h1))
            x = ln(P, f"{fp}.output.LayerNorm", lin(P, f"{fp}.output.dense", a) + h1, eps)
        else:
            a = act(lin(P, f"{fp}.ffn", h1))
            x = ln(P, f"{fp}.full_layer_layer_norm", lin(P, f"{fp}.ffn_output", a) + h1, eps)
        keep(f"layer{i}.ffn.intermediate", a)
        keep(f"layer{i}.output", x)
    out = {"last_hidden_state": x}
    loss = torch.zeros(())
    ce = torch.nn.functional.cross_entropy
    pooled = None
    if arch in ("bert", "albert"):
        pooled = torch.tanh(lin(P, "pooler.dense" if arch == "bert" else "pooler", x[:, 0]))
        out["pooled"] = pooled
        keep("pooler", pooled)
    if heads.get("mlm"):
        dn, lnn, bn = {"bert": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias"),
                       "albert": ("predictions.dense", "predictions.LayerNorm", "predictions.bias"),
                       "electra": ("generator_predictions.dense", "generator_predictions.LayerNorm", "generator_lm_head.bias")}[arch]
        mact = gelu if arch == "electra" else act
        t = ln(P, lnn, mact(lin(P, dn, x)), eps)
        logits = t @ P["embeddings.word_embeddings.weight"].T + P[bn]
        out["mlm_logits"] = logits
        loss = loss + ce(logits.reshape(B * T, -1), torch.tensor(batch["mlm_labels"]).reshape(-1), ignore_index=-100)
    sent = heads.get("sentence")
    if sent:
        name = {"nsp": "cls.seq_relationship", "sop": "sop_classifier.classifier", "classification": "classifier"}[sent]
        if pooled is None:  # ELECTRA: dense, gelu, out_proj on the [CLS] row
            logits = lin(P, "classifier.out_proj", gelu(lin(P, "classifier.dense", x[:, 0])))
        else:
            logits = lin(P, name, pooled)
        out["sentence_logits"] = logits
        loss = loss + ce(logits, torch.tensor(batch["sentence_labels"]))
    if heads.get("multiple_choice"):
        C = batch["num_choices"]
        summary = pooled if pooled is not None else gelu(lin(P, "sequence_summary.summary", x[:, 0]))
        logits = lin(P, "classifier", summary).view(B // C, C)
        out["choice_logits"] = logits
        loss = loss + ce(logits, torch.tensor(batch["choice_labels"]))
    if heads.get("rtd"):
        h = act(lin(P, "discriminator_predictions.dense", x))
        logits = lin(P, "discriminator_predictions.dense_prediction", h).squeeze(-1)
        out["rtd_logits"] = logits
        active = mask.reshape(-1) == 1
        loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
            logits.reshape(-1)[active], torch.tensor(batch["rtd_labels"], dtype=torch.float64).reshape(-1)[active])
    out["loss"] = loss
    return out


def make_batch(cfg, B, T, lengths, seed, heads, num_choices=0):
    g = torch.Generator().manual_seed(seed)
    V = cfg["vocab_size"]
    ids = torch.randint(5, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    tt = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        tt[b, n // 2:n] = 1
        ids[b, n:] = 0
    batch = {"input_ids": ids.tolist(), "token_type_ids": tt.tolist(), "attention_mask": mask.tolist()}
    if heads.get("mlm"):
        labels = torch.full((B, T), -100, dtype=torch.int64)
        pick = (torch.rand(B, T, generator=g) < 0.4) & (mask == 1)
        pick[0, 1] = True
        labels[pick] = torch.randint(0, V, (int(pick.sum()),), generator=g)
        batch["mlm_labels"] = labels.tolist()
    if heads.get("sentence"):
        k = cfg.get("num_labels", 2) if heads["sentence"] == "classification" else 2
        batch["sentence_labels"] = torch.randint(0, k, (B,), generator=g).tolist()
    if heads.get("multiple_choice"):
        batch["num_choices"] = num_choices
        batch["choice_labels"] = torch.randint(0, num_choices, (B // num_choices,), generator=g).tolist()
    if heads.get("rtd"):
        batch["rtd_labels"] = (torch.rand(B, T, generator=g) < 0.3).long().tolist()
    return batch


def base_cfg(model_type, **kw):
    cfg = {"model_type": model_type, "vocab_size": 41, "hidden_size": 16, "num_hidden_layers": 2,
           "num_attention_heads": 2, "intermediate_size": 24, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
           "attention_probs_dropout_prob": 0.0, "max_position_embeddings": 12, "type_vocab_size": 2,
           "layer_norm_eps": 1e-12, "initializer_range": 0.02, "pad_token_id": 0}
    if model_type == "albert":
        cfg.update({"embedding_size": 8, "hidden_act": "gelu_new", "num_hidden_groups": 1, "inner_group_num": 1,
                    "layer_norm_eps": 1e-12})
    if model_type == "electra":
        cfg.update({"embedding_size": 8})
    cfg.update(kw)
    return cfg


CASES = [
    # name, config, heads, batch size, lengths, num_choices, architectures
    ("bert_pretraining", base_cfg("bert"), {"mlm": True, "sentence": "nsp"}, 3, [7, 5, 3], 0, "BertForPreTraining"),
    ("bert_classification", base_cfg("bert", num_labels=3, hidden_act="relu"), {"sentence": "classification"}, 3,
     [7, 6, 2], 0, "BertForSequenceClassification"),
    ("bert_multiple_choice", base_cfg("bert"), {"multiple_choice": True}, 4, [7, 4, 6, 5], 2, "BertForMultipleChoice"),
    ("albert_all", base_cfg("albert", num_hidden_layers=3), {"mlm": True, "sentence": "sop"}, 3, [7, 5, 3], 0,
     "AlbertForPreTraining"),
    ("albert_groups", base_cfg("albert", num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2),
     {"mlm": True, "sentence": "sop"}, 2, [7, 4], 0, "AlbertForPreTraining"),
    ("albert_none", base_cfg("albert", num_hidden_layers=3, num_hidden_groups=3), {"mlm": True, "sentence": "sop"}, 3,
     [7, 5, 3], 0, "AlbertForPreTraining"),
    ("albert_attention", base_cfg("albert", num_hidden_layers=3, spade_cross_layer_sharing="attention"),
     {"mlm": True, "sentence": "sop"}, 3, [7, 5, 3], 0, "AlbertForPreTraining"),
    ("albert_ffn", base_cfg("albert", num_hidden_layers=3, spade_cross_layer_sharing="ffn"),
     {"mlm": True, "sentence": "sop"}, 3, [7, 5, 3], 0, "AlbertForPreTraining"),
    ("electra_discriminator", base_cfg("electra"), {"rtd": True}, 3, [7, 5, 3], 0, "ElectraForPreTraining"),
    ("electra_generator", base_cfg("electra", hidden_size=12, intermediate_size=20), {"mlm": True}, 3, [7, 5, 3], 0,
     "ElectraForMaskedLM"),
    ("electra_multiple_choice", base_cfg("electra"), {"multiple_choice": True}, 4, [7, 4, 6, 5], 2,
     "ElectraForMultipleChoice"),
    ("electra_classification", base_cfg("electra", num_labels=3), {"sentence": "classification"}, 3, [7, 6, 2], 0,
     "ElectraForSequenceClassification"),
]

TRUNK = ("embeddings.", "encoder.", "pooler", "embeddings_project.")


# ---------------------------------------------------------------- GPT-2
def gpt2_params(cfg, seed):
    """GPT2Model's tensors under their published names (no "transformer." prefix)."""
    H, L, V = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"]
    F = 4 * H
    P = Params(seed)
    P.matrix("wte.weight", V, H)
    P.matrix("wpe.weight", cfg["n_positions"], H)
    for i in range(L):
        p = f"h.{i}"
        P.layernorm(p + ".ln_1", H)
        # Conv1D: weight (in, out)
        P.matrix(p + ".attn.c_attn.weight", H, 3 * H); P.vector(p + ".attn.c_attn.bias", 3 * H)
        P.matrix(p + ".attn.c_proj.weight", H, H); P.vector(p + ".attn.c_proj.bias", H)
        P.layernorm(p + ".ln_2", H)
        P.matrix(p + ".mlp.c_fc.weight", H, F); P.vector(p + ".mlp.c_fc.bias", F)
        P.matrix(p + ".mlp.c_proj.weight", F, H); P.vector(p + ".mlp.c_proj.bias", H)
    P.layernorm("ln_f", H)
    return P


def gpt2_forward(cfg, P, ids, mask):
    """Hidden states after ln_f, (B, T, H), for ids (B, T) with key padding mask (B, T)."""
    H, L, nH = cfg["n_embd"], cfg["n_layer"], cfg["n_head"]
    B, T = ids.shape
    D = H // nH
    conv = lambda name, x: x @ P[name + ".weight"] + P[name + ".bias"]
    x = P["wte.weight"][ids] + P["wpe.weight"][torch.arange(T)][None]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    ext = (1.0 - mask.double())[:, None, None, :] * -1e9
    for i in range(L):
        p = f"h.{i}"
        a = ln(P, p + ".ln_1", x, cfg["layer_norm_epsilon"])
        q, k, v = conv(p + ".attn.c_attn", a).split(H, dim=-1)
        split = lambda t: t.view(B, T, nH, D).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        w = q @ k.transpose(-1, -2) / math.sqrt(D)
        w = torch.where(causal, w, torch.full_like(w, -1e9)) + ext
        ctx = (torch.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(B, T, H)
        x = x + conv(p + ".attn.c_proj", ctx)
        m = ln(P, p + ".ln_2", x, cfg["layer_norm_epsilon"])
        x = x + conv(p + ".mlp.c_proj", gelu_new(conv(p + ".mlp.c_fc", m)))
    return ln(P, "ln_f", x, cfg["layer_norm_epsilon"])


def gpt2_case(out_dir, seed):
    cfg = {"model_type": "gpt2", "vocab_size": 41, "n_positions": 12, "n_embd": 16, "n_layer": 2, "n_head": 2,
           "n_inner": None, "activation_function": "gelu_new", "resid_pdrop": 0.0, "embd_pdrop": 0.0,
           "attn_pdrop": 0.0, "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
           "architectures": ["GPT2LMHeadModel"], "tie_word_embeddings": True}
    V = cfg["vocab_size"]
    P = gpt2_params(cfg, seed)
    B, T, lengths = 3, 7, [7, 5, 4]
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(1, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = 0
    labels = torch.where(mask == 1, ids, torch.full_like(ids, -100))
    hidden = gpt2_forward(cfg, P, ids, mask)
    logits = hidden @ P["wte.weight"].T
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    loss.backward()
    # Continuation scores: sum of log p(ids[t] | < t) for t in [start, length).
    starts = [2, 3, 1]
    logp = torch.log_softmax(logits.detach(), dim=-1)
    scores = torch.tensor([sum(logp[b, t - 1, ids[b, t]].item() for t in range(starts[b], lengths[b])) for b in range(B)])
    d = os.path.join(out_dir, "gpt2")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(d, "batch.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "labels": labels.tolist(),
                   "score_starts": starts}, f, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), {"transformer." + n: t for n, t in P.p.items()})
    expected = {"last_hidden_state": hidden, "logits": logits, "loss": loss.reshape(1), "scores": scores}
    for n, t in P.p.items():
        expected["grad.transformer." + n] = t.grad
    write_safetensors(os.path.join(d, "expected.safetensors"), expected)
    print(f"gpt2: loss {loss.item():.6f}, {len(P.p)} tensors")


# ---------------------------------------------------------------- ELECTRA joint step
SHARED = ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
          "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias")


def electra_joint_case(out_dir, seed):
    """One ELECTRA pretraining step: generator MLM loss + rtd_weight * discriminator RTD loss,
    the two models holding the embeddings as ONE set of tensors (autograd sums both models'
    gradients into them, which Spade does by hand). The draws are made here and written out
    for the C++ side to reuse: the masked tokens, and a sample from the generator at each
    (one forced to equal the original token, which must be labelled original). Then one
    AdamW step over all parameters (each shared tensor once), clipping off."""
    V, mask_id, rtd_weight = 41, 4, 50.0
    gcfg = base_cfg("electra", vocab_size=V, hidden_size=12, intermediate_size=20)
    dcfg = base_cfg("electra", vocab_size=V)
    Pd, dsched = build(dcfg, {"rtd": True}, seed)
    Pg, gsched = build(gcfg, {"mlm": True}, seed + 1)
    for n in SHARED:
        Pg.p[n] = Pd.p[n]
    B, T, lengths = 3, 7, [7, 5, 3]
    g = torch.Generator().manual_seed(seed + 2)
    ids = torch.randint(5, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    tt = torch.zeros(B, T, dtype=torch.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        tt[b, n // 2:n] = 1
        ids[b, n:] = 0
    pick = (torch.rand(B, T, generator=g) < 0.35) & (mask == 1)
    pick[0, 1] = pick[1, 3] = pick[2, 0] = True
    masked = [int(i) for i in torch.nonzero(pick.reshape(-1)).reshape(-1)]  # flat b*T + t, ascending
    flat = ids.reshape(-1)
    gen_ids = flat.clone()
    gen_ids[masked] = mask_id
    labels = torch.full((B * T,), -100, dtype=torch.int64)
    labels[masked] = flat[masked]
    gbatch = {"input_ids": gen_ids.view(B, T).tolist(), "token_type_ids": tt.tolist(), "attention_mask": mask.tolist(),
              "mlm_labels": labels.view(B, T).tolist()}
    gout = forward(gcfg, {"mlm": True}, Pg, gsched, gbatch)
    probs = torch.softmax(gout["mlm_logits"].detach().reshape(B * T, V)[masked], dim=-1)
    replaced = torch.multinomial(probs, 1, generator=g).reshape(-1)
    replaced[1] = flat[masked[1]]  # the generator "guessed right": label 0
    disc_ids = flat.clone()
    disc_ids[masked] = replaced
    rtd = (disc_ids != flat).long()
    dbatch = {"input_ids": disc_ids.view(B, T).tolist(), "token_type_ids": tt.tolist(), "attention_mask": mask.tolist(),
              "rtd_labels": rtd.view(B, T).tolist()}
    dout = forward(dcfg, {"rtd": True}, Pd, dsched, dbatch)
    loss = gout["loss"] + rtd_weight * dout["loss"]
    loss.backward()

    d = os.path.join(out_dir, "electra_joint")
    prefix = lambda n: ("electra." + n) if n.startswith(TRUNK) else n
    for sub, cfg, P, arch in (("generator", gcfg, Pg, "ElectraForMaskedLM"),
                              ("discriminator", dcfg, Pd, "ElectraForPreTraining")):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, sub, "config.json"), "w") as f:
            json.dump(dict(cfg, architectures=[arch]), f, indent=2, sort_keys=True)
            f.write("\n")
        # Each checkpoint carries its own copy of the shared embeddings, as published.
        write_safetensors(os.path.join(d, sub, "model.safetensors"), {prefix(n): t for n, t in P.p.items()})
    adamw = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-6, "weight_decay": 0.01}
    with open(os.path.join(d, "batch.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "token_type_ids": tt.tolist(), "attention_mask": mask.tolist(),
                   "masked": masked, "replaced": replaced.tolist(), "rtd_labels": rtd.view(B, T).tolist(),
                   "mask_token_id": mask_id, "rtd_weight": rtd_weight, "adamw": adamw}, f, sort_keys=True)
        f.write("\n")
    expected = {"loss": loss.reshape(1), "generator_loss": gout["loss"].reshape(1),
                "discriminator_loss": dout["loss"].reshape(1), "mlm_logits": gout["mlm_logits"].reshape(B * T, V)[masked],
                "rtd_logits": dout["rtd_logits"]}
    # Arena names (no "electra." prefix); the shared tensors once, under the discriminator.
    own = [("generator", n, t) for n, t in Pg.p.items() if n not in SHARED] + \
          [("discriminator", n, t) for n, t in Pd.p.items()]
    for model, n, t in own:
        expected[f"grad.{model}.{n}"] = t.grad
    # One AdamW step (torch's), weight decay on matrices only (Spade's mask: not biases/LayerNorm).
    decay = [t for _, _, t in own if t.dim() == 2]
    no_decay = [t for _, _, t in own if t.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": adamw["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=adamw["lr"], betas=(adamw["beta1"], adamw["beta2"]), eps=adamw["eps"])
    opt.step()
    for model, n, t in own:
        expected[f"after.{model}.{n}"] = t.detach()
    write_safetensors(os.path.join(d, "expected.safetensors"), expected)
    print(f"electra_joint: loss {loss.item():.6f} (generator {gout['loss'].item():.6f}, discriminator "
          f"{dout['loss'].item():.6f}), {len(masked)} masked, {int(rtd.sum())} replaced")


def distill_case(out_dir):
    """Distillation losses (encoder/distill.h) on tiny inputs, in float64, with torch's own
    modules where they exist: KLDivLoss(batchmean) * T^2 (DistilBERT), soft cross-entropy
    (TinyBERT's prediction layer, mean over rows), CosineEmbeddingLoss, MSELoss through a
    fit_dense projection, and TinyBERT's attention-score MSE with masked entries zeroed."""
    g = torch.Generator().manual_seed(400)
    rnd = lambda *shape, std=1.0: (torch.randn(*shape, generator=g, dtype=torch.float32) * std).double()
    F = torch.nn.functional
    out = {}
    # Soft targets over R = 5 rows of V = 7 logits; row 3 is not counted.
    s, t = rnd(5, 7, std=2.0).requires_grad_(), rnd(5, 7, std=2.0)
    rows = torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0])
    keep = rows.bool()
    T = 2.0
    kl = torch.nn.KLDivLoss(reduction="batchmean")(F.log_softmax(s[keep] / T, -1), F.softmax(t[keep] / T, -1)) * T * T
    kl.backward()
    out.update({"soft.student": s, "soft.teacher": t, "soft.rows": rows, "kl.loss": kl.reshape(1), "kl.grad": s.grad})
    s.grad = None
    ce = (-F.softmax(t[keep], -1) * F.log_softmax(s[keep], -1)).sum(-1).mean()  # temperature 1
    ce.backward()
    out.update({"ce.loss": ce.reshape(1), "ce.grad": s.grad})
    # Cosine between hidden states, N = 6 rows of H = 5; row 5 is padding.
    hs, ht = rnd(6, 5).requires_grad_(), rnd(6, 5)
    hrows = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    hk = hrows.bool()
    cos = torch.nn.CosineEmbeddingLoss(reduction="mean")(hs[hk], ht[hk], torch.ones(int(hk.sum())))
    cos.backward()
    out.update({"cos.student": hs, "cos.teacher": ht, "cos.rows": hrows, "cos.loss": cos.reshape(1),
                "cos.grad": hs.grad})
    # Hidden-state MSE through fit_dense (Hs = 3 -> H = 5), every row counted.
    xs, w, b, xt = rnd(6, 3).requires_grad_(), rnd(5, 3, std=0.5).requires_grad_(), rnd(5, std=0.1).requires_grad_(), \
        rnd(6, 5)
    mse = torch.nn.MSELoss()(xs @ w.T + b, xt)
    mse.backward()
    out.update({"mse.student": xs, "mse.weight": w, "mse.bias": b, "mse.teacher": xt, "mse.loss": mse.reshape(1),
                "mse.grad.student": xs.grad, "mse.grad.weight": w.grad, "mse.grad.bias": b.grad})
    # Attention scores, B = 2, T = 4, 2 heads of D = 3; the second sequence has one padded key.
    B, Tn, nH, D = 2, 4, 2, 3
    mask = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    qs, ks = rnd(B * Tn, nH * D).requires_grad_(), rnd(B * Tn, nH * D).requires_grad_()
    qt, kt = rnd(B * Tn, nH * D), rnd(B * Tn, nH * D)

    def scores(q, k):  # Hugging Face's attention_scores (additive mask), then TinyBERT's zeroing
        split = lambda x: x.view(B, Tn, nH, D).permute(0, 2, 1, 3)
        sc = split(q) @ split(k).transpose(-1, -2) / math.sqrt(D)
        sc = sc + ((1.0 - mask.view(B, 1, 1, Tn)) * -10000.0)
        return torch.where(sc <= -1e2, torch.zeros_like(sc), sc).reshape(B * nH * Tn, Tn)

    ss, st = scores(qs, ks), scores(qt, kt)
    att = torch.nn.MSELoss()(ss, st)
    att.backward()
    out.update({"att.mask": mask, "att.q_student": qs, "att.k_student": ks, "att.q_teacher": qt, "att.k_teacher": kt,
                "att.scores_student": ss, "att.loss": att.reshape(1), "att.grad.q": qs.grad, "att.grad.k": ks.grad})
    d = os.path.join(out_dir, "distill")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "losses.safetensors"), out)
    print(f"distill: kl {kl.item():.6f}, ce {ce.item():.6f}, cos {cos.item():.6f}, mse {mse.item():.6f}, "
          f"att {att.item():.6f}")


def main():
    for i, (name, cfg, heads, B, lengths, C, archname) in enumerate(CASES):
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        P, schedule = build(cfg, heads, seed=100 + i)
        batch = make_batch(cfg, B, 7, lengths, seed=200 + i, heads=heads, num_choices=C)
        out = forward(cfg, heads, P, schedule, batch)
        out["loss"].backward()
        prefix = cfg["model_type"] + "."
        file_name = lambda n: (prefix + n) if n.startswith(TRUNK) else n
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(dict(cfg, architectures=[archname]), f, indent=2, sort_keys=True)
            f.write("\n")
        with open(os.path.join(d, "batch.json"), "w") as f:
            json.dump(batch, f, sort_keys=True)
            f.write("\n")
        write_safetensors(os.path.join(d, "model.safetensors"), {file_name(n): p for n, p in P.p.items()})
        expected = {k: v for k, v in out.items()}
        expected["loss"] = out["loss"].reshape(1)
        for n, p in P.p.items():
            expected["grad." + file_name(n)] = p.grad
        write_safetensors(os.path.join(d, "expected.safetensors"), expected)
        print(f"{name}: loss {out['loss'].item():.6f}, {len(P.p)} tensors")
    gpt2_case(OUT, seed=300)
    distill_case(OUT)
    electra_joint_case(OUT, seed=400)


if __name__ == "__main__":
    sys.exit(main())
