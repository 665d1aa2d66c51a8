#!/usr/bin/python3
"""Model directories laid out exactly as the published bert-base-uncased, albert-base-v2
and gpt2 checkpoints are, filled with random weights (no published weights exist here).

What is copied from the published directories is everything but the numbers:
  - config.json with every field the published file has (including the ones spade does
    not use: gradient_checkpointing, use_cache, transformers_version, ALBERT's
    down_scale_factor/gap_size/net_structure_type/num_memory_blocks, integer 0 for float
    dropouts, GPT-2's n_ctx, summary_* and task_specific_params);
  - tensor names and dtypes: BERT's TF-converted "bert." trunk with LayerNorm gamma/beta
    and the cls.predictions / cls.seq_relationship heads; ALBERT's AlbertForMaskedLM names
    (albert.*, predictions.*, a predictions.decoder copy of the embeddings) and its int64
    albert.embeddings.position_ids buffer; GPT-2's un-prefixed h.{i}.* names with the
    float32 causal-mask buffers h.{i}.attn.bias and h.{i}.attn.masked_bias;
  - tokenizer files: vocab.txt + tokenizer_config.json (do_lower_case) for BERT.

With --size full the shapes are the published ones (L=12, H=768, V=30522/30000/50257) and
BERT gets the real bert-base-uncased vocab.txt from data/tokenizers/; --size tiny keeps
every name and field but shrinks the dimensions, for committed test fixtures. Each
directory also gets expected.json: {"ids": [...], "last_hidden_state": [[...]]} computed
here in float64 by the reference math of make_fixtures.py, and BERT/ALBERT get
intermediates.safetensors: every named intermediate of encoder/transformer.h
("layer3.attn.probs", ...) for that input.

  /usr/bin/python3 tools/reference/make_published_layout.py --size tiny tests/encoder/fixtures/published
  /usr/bin/python3 tools/reference/make_published_layout.py --size full /tmp/published
  /usr/bin/python3 tools/reference/make_published_layout.py --size full /tmp/published --check build/tools/spade

--check SPADE runs `SPADE encode --model DIR --ids ... --json [--dump F]` on each directory
and prints the largest absolute difference from expected.json and, per intermediate, from
intermediates.safetensors.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.float32).reshape(e["shape"]).double()
    return out


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def bert_config(full):
    c = {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
         "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
         "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
         "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
         "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0", "type_vocab_size": 2,
         "use_cache": True, "vocab_size": 30522}
    if not full:
        c.update(hidden_size=16, intermediate_size=24, num_attention_heads=2, num_hidden_layers=2,
                 max_position_embeddings=16, vocab_size=120)
    return c


def albert_config(full):
    c = {"architectures": ["AlbertForMaskedLM"], "attention_probs_dropout_prob": 0, "bos_token_id": 2,
         "classifier_dropout_prob": 0.1, "down_scale_factor": 1, "embedding_size": 128, "eos_token_id": 3,
         "gap_size": 0, "hidden_act": "gelu_new", "hidden_dropout_prob": 0, "hidden_size": 768,
         "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 3072, "layer_norm_eps": 1e-12,
         "max_position_embeddings": 512, "model_type": "albert", "net_structure_type": 0, "num_attention_heads": 12,
         "num_hidden_groups": 1, "num_hidden_layers": 12, "num_memory_blocks": 0, "pad_token_id": 0,
         "type_vocab_size": 2, "vocab_size": 30000}
    if not full:
        c.update(embedding_size=8, hidden_size=16, intermediate_size=24, num_attention_heads=2, num_hidden_layers=3,
                 max_position_embeddings=16, vocab_size=60)
    return c


def gpt2_config(full):
    c = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
         "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
         "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12,
         "n_positions": 1024, "resid_pdrop": 0.1, "summary_activation": None, "summary_first_dropout": 0.1,
         "summary_proj_to_labels": True, "summary_type": "cls_id", "summary_use_proj": True,
         "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}}, "vocab_size": 50257}
    if not full:
        c.update(n_ctx=16, n_embd=16, n_head=2, n_layer=2, n_positions=16, vocab_size=70, bos_token_id=69,
                 eos_token_id=69)
    return c


def encoder_case(d, cfg, heads, ids, seed, names):
    """BERT/ALBERT: random weights, one unpadded sequence, published names via names(n)."""
    # make_fixtures' math reads the no-dropout fields; the published ones say 0.1 for BERT,
    # which only matters in training.
    P, schedule = mf.build(cfg, heads, seed)
    batch = {"input_ids": [ids], "token_type_ids": [[0] * len(ids)], "attention_mask": [[1] * len(ids)]}
    record = {}
    with torch.no_grad():
        out = mf.forward(cfg, {}, P, schedule, batch, record=record)
    os.makedirs(d, exist_ok=True)
    dump_json(os.path.join(d, "config.json"), cfg)
    mf.write_safetensors(os.path.join(d, "intermediates.safetensors"), record)
    tensors = {}
    for n, t in P.p.items():
        tensors[names(n)] = t
    return tensors, out["last_hidden_state"][0]


def bert_names(n):
    if n.startswith(mf.TRUNK):
        n = "bert." + n
    if ".LayerNorm." in n:
        n = n.replace(".LayerNorm.weight", ".LayerNorm.gamma").replace(".LayerNorm.bias", ".LayerNorm.beta")
    return n


def albert_names(n):
    return "albert." + n if n.startswith(mf.TRUNK) else n


def make_bert(out, full):
    cfg = bert_config(full)
    d = os.path.join(out, "bert-base-uncased")
    ids = [101, 7592, 1010, 2088, 999, 102] if full else [101, 17, 44, 9, 102]
    tensors, hidden = encoder_case(d, cfg, {"mlm": True, "sentence": "nsp"}, ids, 500, bert_names)
    mf.write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    dump_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": True, "model_max_length": 512})
    with open(os.path.join(ROOT, "data", "tokenizers", "bert-base-uncased-vocab.txt")) as f:
        vocab = f.read().splitlines()
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab[:cfg["vocab_size"]]) + "\n")
    dump_json(os.path.join(d, "expected.json"), {"ids": ids, "last_hidden_state": hidden.tolist()})
    return d


def make_albert(out, full):
    cfg = albert_config(full)
    d = os.path.join(out, "albert-base-v2")
    ids = [2, 10975, 15, 126, 187, 3] if full else [2, 31, 7, 58, 3]
    tensors, hidden = encoder_case(d, cfg, {"mlm": True}, ids, 501, albert_names)
    # AlbertForMaskedLM saves the tied decoder too, and the position_ids buffer.
    tensors["predictions.decoder.weight"] = tensors["albert.embeddings.word_embeddings.weight"]
    tensors["predictions.decoder.bias"] = tensors["predictions.bias"]
    tensors["albert.embeddings.position_ids"] = ("I64", torch.arange(cfg["max_position_embeddings"])[None])
    mf.write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    dump_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": True, "keep_accents": False,
                                                          "remove_space": True, "model_max_length": 512})
    dump_json(os.path.join(d, "expected.json"), {"ids": ids, "last_hidden_state": hidden.tolist()})
    return d


def make_gpt2(out, full):
    cfg = gpt2_config(full)
    d = os.path.join(out, "gpt2")
    L, Pn = cfg["n_layer"], cfg["n_positions"]
    P = mf.gpt2_params(cfg, 502)
    ids = [15496, 11, 995, 0, 1318] if full else [15, 11, 69, 0, 31]
    with torch.no_grad():
        hidden = mf.gpt2_forward(cfg, P, torch.tensor([ids]), torch.ones(1, len(ids)))[0]
    os.makedirs(d, exist_ok=True)
    dump_json(os.path.join(d, "config.json"), cfg)
    tensors = dict(P.p)
    mask = torch.tril(torch.ones(Pn, Pn))[None, None]
    for i in range(L):  # old checkpoints carry the causal mask and its fill value as tensors
        tensors[f"h.{i}.attn.bias"] = mask
        tensors[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    mf.write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    dump_json(os.path.join(d, "expected.json"), {"ids": ids, "last_hidden_state": hidden.tolist()})
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", choices=["tiny", "full"], default="tiny")
    ap.add_argument("--check", metavar="SPADE", help="compare `SPADE encode` on each directory with expected.json")
    a = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    full = a.size == "full"
    if full:
        mf.Params.std = 0.02  # BERT's initializer_range keeps 768-wide activations float32-friendly
    for make in (make_bert, make_albert, make_gpt2):
        d = make(a.out, full)
        if not a.check:
            print(d)
            continue
        with open(os.path.join(d, "expected.json")) as f:
            exp = json.load(f)
        cmd = [a.check, "encode", "--model", d, "--json", "--ids", ",".join(map(str, exp["ids"]))]
        ref_path = os.path.join(d, "intermediates.safetensors")
        dump = os.path.join(d, "spade_intermediates.safetensors")
        if os.path.exists(ref_path):
            cmd += ["--dump", dump]
        got = json.loads(subprocess.check_output(cmd))
        diff = max(abs(g - e) for gr, er in zip(got["last_hidden_state"], exp["last_hidden_state"])
                   for g, e in zip(gr, er))
        print(f"{d}: {len(exp['ids'])} tokens x {len(exp['last_hidden_state'][0])}, max |spade - torch| = {diff:.2e}")
        if os.path.exists(ref_path):
            ref, mine = read_safetensors(ref_path), read_safetensors(dump)
            worst = max(((ref[n] - mine[n]).abs().max().item(), n) for n in ref)
            missing = sorted(set(ref) ^ set(mine))
            print(f"  {len(ref)} intermediates, worst {worst[1]} {worst[0]:.2e}" +
                  (f"; names not in both: {missing}" if missing else ""))


if __name__ == "__main__":
    main()
