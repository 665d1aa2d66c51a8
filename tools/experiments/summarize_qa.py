#!/usr/bin/python3
"""The issue-9 results table from tools/experiments/qa_runs.sh output directories.

  /usr/bin/python3 tools/experiments/summarize_qa.py $SPADE_HOME/qa

Each row: best CommonsenseQA dev accuracy (model selection on dev, as `spade train` keeps
OUT/best/), mean ± sample standard deviation over the seeds found (<row>, <row>-s2, ...),
the steps, and the minutes one run took.
"""
import json
import os
import re
import statistics
import sys

ROWS = [
    ("encoder-random", "encoder only, random init"),
    ("encoder", "encoder only, our pretrained encoder"),
    ("fusion", "+ ERNIE fusion (2 layers)"),
    ("paths", "+ KagNet paths"),
    ("features", "+ KG features"),
    ("all", "all (fusion + paths + features)"),
]


def best(run):
    acc, steps = None, 0
    with open(os.path.join(run, "log.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            if "eval" in j:
                steps = j["step"]
                acc = j["eval"].get("best_dev_accuracy", acc)
    return acc, steps


def main():
    root = sys.argv[1]
    print("| model | CSQA dev accuracy (%) | seeds | steps |")
    print("|---|---|---|---|")
    for name, label in ROWS:
        runs = sorted(d for d in os.listdir(root) if re.fullmatch(re.escape(name) + r"(-s\d+)?", d)
                      and os.path.exists(os.path.join(root, d, "log.jsonl")))
        accs, steps = [], 0
        for r in runs:
            a, s = best(os.path.join(root, r))
            if a is not None:
                accs.append(100 * a)
                steps = s
        if not accs:
            continue
        cell = f"{statistics.mean(accs):.1f}"
        if len(accs) > 1:
            cell += f" ± {statistics.stdev(accs):.1f} ({', '.join(f'{a:.1f}' for a in accs)})"
        print(f"| {label} | {cell} | {len(accs)} | {steps} |")


if __name__ == "__main__":
    main()
