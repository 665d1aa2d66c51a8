#!/usr/bin/python3
"""The README tables of issue 8 from the runs of pretrain_ablations.sh, distill_runs.sh and
probe_runs.sh under OUT, and the training-curve PNGs (gnuplot):

  /usr/bin/python3 tools/experiments/summarize.py OUT [--plots docs/] [--speed SPADE] [--probes DIR]

Every figure is read from the runs' own files: parameters from the header of
model.safetensors, held-out metrics from the last eval line of log.jsonl, probe accuracies
from the last eval line of OUT/probes/<run>[-random][-sSEED]-{mc,triples}/log.jsonl (a mean
over the seeds present, with the count). --speed times `spade bench encoder` (inference,
32 x 64 tokens, one thread) for the distillation teacher and students.
"""
import argparse
import glob
import json
import os
import re
import struct
import subprocess
import sys
import tempfile


def params(model_dir):
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    total = emb = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for d in t["shape"]:
            count *= d
        total += count
        if "embeddings" in name:
            emb += count
    return total, emb


PROBES = None  # --probes: another probe directory than OUT/probes


def log_lines(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def last_eval(run_dir):
    evals = [r for r in log_lines(os.path.join(run_dir, "log.jsonl")) if "eval" in r]
    return evals[-1]["eval"] if evals else {}


def median_tps(run_dir):
    v = sorted(r["tokens_per_second"] for r in log_lines(os.path.join(run_dir, "log.jsonl"))
               if "tokens_per_second" in r)
    return v[len(v) // 2] if v else float("nan")


def probe(out, run, kind, random_init):
    """Mean (and count) over seeds of the probe's dev metric, or None."""
    metric = "dev_accuracy" if kind == "mc" else "dev2_accuracy"
    base = run + ("-random" if random_init else "")
    pattern = re.compile(re.escape(base) + r"(-s\d+)?-" + kind + "$")
    vals = []
    for d in glob.glob(os.path.join(PROBES or os.path.join(out, "probes"), base + "*-" + kind)):
        if not pattern.match(os.path.basename(d)):
            continue
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            continue  # unfinished
        e = last_eval(d)
        if metric in e:
            vals.append(e[metric])
    if not vals:
        return None
    return sum(vals) / len(vals), len(vals)


def pct(x):
    return "—" if x is None else f"{100 * x:.1f}"


def probe_cell(out, run, kind, baseline):
    got = probe(out, run, kind, False)
    rnd = probe(out, baseline, kind, True)
    if got is None:
        return "not run"
    s = pct(got[0])
    if got[1] > 1:
        s += f" (n={got[1]})"
    if rnd is not None:
        s += f" vs {pct(rnd[0])}"
    return s


def albert_tables(out):
    print("| E | sharing | parameters (embeddings) | held-out MLM acc | SOP acc | CSQA dev (MC probe) vs random init | ConceptNet dev2 (triples probe) vs random init |")
    print("|---|---|---|---|---|---|---|")
    for e in (32, 128):
        for s in ("none", "attention", "ffn", "all"):
            run = f"albert-e{e}-{s}"
            d = os.path.join(out, run)
            if not os.path.exists(os.path.join(d, "model.safetensors")):
                print(f"| {e} | {s} | not run | | | | |")
                continue
            total, emb = params(d)
            ev = last_eval(d)
            print(f"| {e}{' (= H)' if e == 128 else ''} | {s} | {total / 1e6:.2f}M ({emb / 1e6:.2f}M) | "
                  f"{pct(ev.get('mlm_accuracy'))} | {pct(ev.get('sop_accuracy'))} | "
                  f"{probe_cell(out, run, 'mc', run)} | {probe_cell(out, run, 'triples', run)} |")
    print()
    print("| sentence task (E=32, all shared) | held-out MLM acc | sentence-task acc | CSQA dev vs random init | ConceptNet dev2 vs random init |")
    print("|---|---|---|---|---|")
    for run, task, key in (("albert-e32-all", "SOP", "sop_accuracy"), ("albert-e32-all-nsp", "NSP", "nsp_accuracy"),
                           ("albert-e32-all-nosent", "none", None)):
        d = os.path.join(out, run)
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            print(f"| {task} | not run | | | |")
            continue
        ev = last_eval(d)
        print(f"| {task} | {pct(ev.get('mlm_accuracy'))} | {pct(ev.get(key)) if key else '—'} | "
              f"{probe_cell(out, run, 'mc', 'albert-e32-all')} | {probe_cell(out, run, 'triples', 'albert-e32-all')} |")
    print()


def electra_table(out):
    print("| objective | steps | tokens/s (median) | parameters | held-out | CSQA dev vs random init | ConceptNet dev2 vs random init |")
    print("|---|---|---|---|---|---|---|")
    for run, label in (("bert-mlm", "MLM"), ("electra", "ELECTRA (discriminator)")):
        d = os.path.join(out, run)
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            print(f"| {label} | not run | | | | | |")
            continue
        total, _ = params(d)
        ev = last_eval(d)
        steps = max((r.get("step", 0) for r in log_lines(os.path.join(d, "log.jsonl"))), default=0)
        if run == "electra":
            held = (f"RTD acc {pct(ev.get('rtd_accuracy'))}, AUC {ev.get('rtd_auc', float('nan')):.3f}, "
                    f"generator MLM acc {pct(ev.get('generator_mlm_accuracy'))}")
        else:
            held = f"MLM acc {pct(ev.get('mlm_accuracy'))}"
        print(f"| {label} | {steps} | {median_tps(d):,.0f} | {total / 1e6:.2f}M | {held} | "
              f"{probe_cell(out, run, 'mc', run)} | {probe_cell(out, run, 'triples', run)} |")
    print()


def bench_tps(spade, model_dir):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        path = os.path.join(tmp, "config.json")
        json.dump(cfg, open(path, "w"))
        r = subprocess.run([spade, "bench", "encoder", "--config", path, "--batch", "32", "--seq", "64",
                            "--threads", "1", "--seconds", "3", "--json"], capture_output=True, text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])["tokens_per_second"]


def distill_table(out, spade):
    teacher = os.path.join(out, "bert-mlm")
    if not os.path.exists(os.path.join(teacher, "model.safetensors")):
        return
    t_ev = last_eval(teacher)
    t_mc, t_tr = probe(out, "bert-mlm", "mc", False), probe(out, "bert-mlm", "triples", False)
    t_speed = bench_tps(spade, teacher) if spade else None
    print("| model | layers | parameters | held-out MLM acc | agreement with teacher | CSQA dev (kept) | ConceptNet dev2 (kept) | speed |")
    print("|---|---|---|---|---|---|---|---|")
    total, _ = params(teacher)
    cfg = json.load(open(os.path.join(teacher, "config.json")))
    print(f"| teacher (MLM) | {cfg['num_hidden_layers']} | {total / 1e6:.2f}M | {pct(t_ev.get('mlm_accuracy'))} | — | "
          f"{pct(t_mc[0]) if t_mc else '—'} | {pct(t_tr[0]) if t_tr else '—'} | "
          f"{'1.00× (' + format(t_speed, ',.0f') + ' tokens/s)' if t_speed else '—'} |")
    for m in ("distilbert", "tinybert"):
        d = os.path.join(out, "distill-" + m)
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            print(f"| {m} | not run | | | | | | |")
            continue
        total, _ = params(d)
        cfg = json.load(open(os.path.join(d, "config.json")))
        ev = last_eval(d)
        mc, tr = probe(out, "distill-" + m, "mc", False), probe(out, "distill-" + m, "triples", False)

        def kept(s, t):
            if s is None or t is None:
                return "—"
            return f"{pct(s[0])} ({100 * s[0] / t[0]:.0f}%)"

        speed = "—"
        if t_speed:
            s_speed = bench_tps(spade, d)
            speed = f"{s_speed / t_speed:.2f}× ({s_speed:,.0f} tokens/s)"
        print(f"| {m} student | {cfg['num_hidden_layers']} | {total / 1e6:.2f}M | {pct(ev.get('student_mlm_accuracy'))} | "
              f"{pct(ev.get('teacher_agreement'))} | {kept(mc, t_mc)} | {kept(tr, t_tr)} | {speed} |")
    print()


def plot(out, plots):
    """Training curves: MLM loss of the ALBERT grid, the sentence tasks and MLM vs ELECTRA's
    generator, and the distillation students' loss."""
    os.makedirs(plots, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        def series(run, key):
            path = os.path.join(tmp, f"{run}-{key}.dat")
            with open(path, "w") as f:
                for r in log_lines(os.path.join(out, run, "log.jsonl")):
                    if key in r:
                        f.write(f"{r['step']} {r[key]}\n")
            return path

        def chart(png, title, ylabel, lines):
            cmds = [
                "set terminal pngcairo size 720,420 font 'DejaVu Sans,9'",
                f"set output '{os.path.join(plots, png)}'",
                f"set title '{title}'", "set xlabel 'step'", f"set ylabel '{ylabel}'",
                "set key outside right", "set grid",
            ]
            parts = [f"'{series(run, key)}' using 1:2 with lines lw 1.5 title '{label}'" for run, key, label in lines
                     if os.path.exists(os.path.join(out, run, "log.jsonl"))]
            cmds.append("plot " + ", ".join(parts))
            subprocess.run(["gnuplot"], input="\n".join(cmds), text=True, check=True)

        chart("pretrain-albert-grid.png", "ALBERT (H=128, 4 layers): MLM training loss", "MLM loss",
              [(f"albert-e{e}-{s}", "mlm_loss", f"E={e}, share {s}") for e in (32, 128)
               for s in ("none", "attention", "ffn", "all")])
        chart("pretrain-objectives.png", "Objectives at one budget: MLM loss (ELECTRA: of the generator)", "MLM loss",
              [("albert-e32-all", "mlm_loss", "ALBERT + SOP"), ("albert-e32-all-nsp", "mlm_loss", "ALBERT + NSP"),
               ("albert-e32-all-nosent", "mlm_loss", "ALBERT, no sentence task"), ("bert-mlm", "loss", "BERT MLM"),
               ("electra", "generator_loss", "ELECTRA generator")])
        chart("distill-loss.png", "Distillation of the 4-layer MLM encoder into 2 layers", "loss",
              [("distill-distilbert", "loss", "DistilBERT (soft CE + MLM + cosine)"),
               ("distill-tinybert", "loss", "TinyBERT (layers, then prediction)")])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--plots")
    ap.add_argument("--speed", metavar="SPADE")
    ap.add_argument("--probes", metavar="DIR", help="probe runs (default OUT/probes)")
    a = ap.parse_args()
    global PROBES
    PROBES = a.probes
    albert_tables(a.out)
    electra_table(a.out)
    distill_table(a.out, a.speed)
    if a.plots:
        plot(a.out, a.plots)


if __name__ == "__main__":
    sys.exit(main())
