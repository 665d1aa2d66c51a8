#!/usr/bin/python3
"""Encoder speed, side by side: `spade bench encoder` vs the same BERT in PyTorch (CPU).

For each size (BERT-base: L=12 H=768; small: L=4 H=256) and batch (1x128, 32x128) it
times inference and a full training step (forward, MLM loss on 15% of tokens, backward,
AdamW) at the same thread count, and prints tokens/s, the ratio spade/torch and GFLOP/s.

  /usr/bin/python3 tools/bench/encoder_bench.py --spade build/tools/spade --threads 2 \
      [--sizes small,base] [--batches 1,32] [--seconds 3]

With --pretrain CORPUS it instead times pretraining itself: `spade pretrain --objective mlm
--preset small` on a `spade corpus build` directory (real batches: tokenised text, 80/10/10
masking, AdamW, warm-up) against the same BERT and MLM step in PyTorch, and prints median
tokens/s of each, the ratio, GFLOP/s beside the GEMM peak, and each process's peak resident
memory (getrusage of the child):

  /usr/bin/python3 tools/bench/encoder_bench.py --spade build/tools/spade --threads 1 \
      --pretrain ~/.local/share/spade/corpus [--steps 30]

The PyTorch model is written the way Hugging Face's BertModel is (nn.Linear projections,
post-LayerNorm, exact GELU, additive padding mask, dropout 0.1 in training).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time


def _threads_from_argv():
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return str(os.cpu_count())


# Debian's torch does its GEMMs in OpenBLAS (BLAS_INFO=generic), whose pthread pool ignores
# torch.set_num_threads: without this a "1-thread" torch run multiplies on every core.
# OpenBLAS reads the variable when it loads, so it is set before torch is imported.
os.environ["OPENBLAS_NUM_THREADS"] = _threads_from_argv()

import torch  # noqa: E402
import torch.nn as nn

SIZES = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
}


class Layer(nn.Module):
    def __init__(self, H, nH, F, p):
        super().__init__()
        self.nH = nH
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(H, F), nn.Linear(F, H)
        self.drop = nn.Dropout(p)

    def forward(self, x, ext):
        B, T, H = x.shape
        D = H // self.nH
        split = lambda t: t.view(B, T, self.nH, D).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        probs = self.drop(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + ext, dim=-1))
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
        h = self.ln1(self.drop(self.o(ctx)) + x)
        return self.ln2(self.drop(self.fc2(nn.functional.gelu(self.fc1(h)))) + h)


class Bert(nn.Module):
    def __init__(self, V, H, L, nH, F, P=512, p=0.1):
        super().__init__()
        self.word, self.pos, self.tok_type = nn.Embedding(V, H), nn.Embedding(P, H), nn.Embedding(2, H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(H, nH, F, p) for _ in range(L))
        self.mlm_dense, self.mlm_ln = nn.Linear(H, H), nn.LayerNorm(H, eps=1e-12)
        self.mlm_bias = nn.Parameter(torch.zeros(V))

    def forward(self, ids, mask):
        B, T = ids.shape
        x = self.drop(self.ln(self.word(ids) + self.pos(torch.arange(T))[None] + self.tok_type(torch.zeros_like(ids))))
        ext = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, ext)
        return x

    def mlm_loss(self, x, labels):
        rows = labels.view(-1) != -100
        t = self.mlm_ln(nn.functional.gelu(self.mlm_dense(x.view(-1, x.shape[-1])[rows])))
        logits = t @ self.word.weight.T + self.mlm_bias
        return nn.functional.cross_entropy(logits, labels.view(-1)[rows])


def torch_tps(cfg, B, T, train, seconds):
    torch.manual_seed(0)
    m = Bert(cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"],
             cfg["intermediate_size"])
    ids = torch.randint(5, cfg["vocab_size"], (B, T))
    mask = torch.ones(B, T)
    labels = torch.where(torch.rand(B, T) < 0.15, torch.randint(5, cfg["vocab_size"], (B, T)), torch.full((B, T), -100))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)

    def step():
        if train:
            m.train()
            loss = m.mlm_loss(m(ids, mask), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
        else:
            m.eval()
            with torch.inference_mode():
                m(ids, mask)

    step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= 2:
            return B * T * n / el


def spade_tps(spade, cfg_path, B, T, train, threads, seconds):
    cmd = [spade, "bench", "encoder", "--config", cfg_path, "--batch", str(B), "--seq", str(T), "--threads",
           str(threads), "--seconds", str(seconds), "--json"] + (["--train"] if train else [])
    return json.loads(subprocess.check_output(cmd))["tokens_per_second"]


def _run_measured(cmd):
    """Runs cmd; returns (stdout, peak resident set size in MiB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} exited with {proc.returncode}")
    return out, usage.ru_maxrss / 1024.0


def torch_worker(cfg_path, B, T, seconds):
    """Child process for --pretrain: the PyTorch training step alone, so its peak RSS is its own."""
    with open(cfg_path) as f:
        cfg = json.load(f)
    print(json.dumps({"tokens_per_second": torch_tps(cfg, B, T, True, seconds)}))


def pretrain_bench(a):
    import statistics
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "run")
        n = a.steps
        cmd = [a.spade, "pretrain", "--objective", "mlm", "--preset", "small", "--corpus", a.pretrain,
               "--out", out, "--steps", str(n), "--threads", str(a.threads), "--log-every", "1",
               "--save-every", str(n + 1), "--eval-every", str(n + 1), "--eval-batches", "1"]
        _, spade_rss = _run_measured(cmd)
        with open(os.path.join(out, "log.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        tps = [r["tokens_per_second"] for r in rows if "tokens_per_second" in r and r.get("step", 0) > 1]
        s = statistics.median(tps)
        with open(os.path.join(out, "config.json")) as f:
            model_cfg = json.load(f)
        B, T = 32, 128  # the small preset's batch and sequence
        cfg = {k: model_cfg[k] for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                         "intermediate_size")}
        cfg_path = os.path.join(d, "torch.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        seconds = max(a.seconds, n * B * T / s / 2)
        tout, torch_rss = _run_measured([sys.executable, __file__, "--torch-worker", cfg_path, "--threads",
                                         str(a.threads), "--seconds", str(seconds), "--spade", a.spade])
        t = json.loads(tout)["tokens_per_second"]
    fl = flops_per_token(cfg, T, True)
    print(f"threads={a.threads} torch={torch.__version__} small preset (BERT L={cfg['num_hidden_layers']} "
          f"H={cfg['hidden_size']} V={cfg['vocab_size']}), batch {B}x{T}, MLM, {len(tps)} spade steps")
    print(f"peak (2048^3 sgemm in torch): {gemm_peak(a.seconds):.1f} GFLOP/s")
    print(f"{'':8} {'tok/s':>9} {'GFLOP/s':>8} {'peak RSS MiB':>12}")
    print(f"{'spade':8} {s:>9.1f} {s * fl / 1e9:>8.1f} {spade_rss:>12.0f}")
    print(f"{'torch':8} {t:>9.1f} {t * fl / 1e9:>8.1f} {torch_rss:>12.0f}")
    print(f"ratio spade/torch: {s / t:.2f}")


def flops_per_token(cfg, T, train):
    H, F, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    f = L * (2 * (4 * H * H + 2 * H * F) + 4 * T * H)
    if train:
        f = 3 * (f + 0.15 * 2 * (H * H + H * V))
    return f


def gemm_peak(seconds):
    """GFLOP/s of one large float32 GEMM in PyTorch: the machine's attainable peak."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        a @ b
        n += 1
    return 2 * 2048 ** 3 * n / (time.perf_counter() - t0) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spade", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--sizes", default="small,base")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--modes", default="infer,train")
    ap.add_argument("--pretrain", metavar="CORPUS", help="time `spade pretrain --preset small` on CORPUS")
    ap.add_argument("--steps", type=int, default=30, help="spade pretrain steps for --pretrain")
    ap.add_argument("--torch-worker", metavar="CONFIG", help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.torch_worker:
        return torch_worker(a.torch_worker, 32, 128, a.seconds)
    if a.pretrain:
        return pretrain_bench(a)
    print(f"threads={a.threads} torch={torch.__version__} "
          f"peak (2048^3 sgemm in torch): {gemm_peak(a.seconds):.1f} GFLOP/s")
    print(f"{'size':6} {'B':>3} {'T':>4} {'mode':6} {'spade tok/s':>12} {'torch tok/s':>12} {'ratio':>6} "
          f"{'spade GF/s':>10} {'torch GF/s':>10}")
    with tempfile.TemporaryDirectory() as d:
        for size in a.sizes.split(","):
            cfg = dict(model_type="bert", vocab_size=30522, max_position_embeddings=512, type_vocab_size=2,
                       hidden_act="gelu", **SIZES[size])
            path = os.path.join(d, size + ".json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            for B in map(int, a.batches.split(",")):
                for mode in a.modes.split(","):
                    train = mode == "train"
                    s = spade_tps(a.spade, path, B, a.seq, train, a.threads, a.seconds)
                    t = torch_tps(cfg, B, a.seq, train, a.seconds)
                    fl = flops_per_token(cfg, a.seq, train)
                    print(f"{size:6} {B:>3} {a.seq:>4} {mode:6} {s:>12.1f} {t:>12.1f} {s / t:>6.2f} "
                          f"{s * fl / 1e9:>10.1f} {t * fl / 1e9:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
