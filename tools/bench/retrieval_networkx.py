#!/usr/bin/python3
"""networkx side of the retrieval benchmark (KagNet's preprocessing does this search).

Reads the KG as TSV (`spade kg export --kg DIR > kg.tsv`: head, relation, tail[, weight]),
builds the undirected simple graph KagNet searches (nx.Graph, self loops dropped), then for
each question of PAIRS.jsonl (written by retrieval_bench) times
    for (q, a) in pairs: list(islice(nx.all_simple_paths(G, q, a, cutoff=HOPS), LIMIT))
i.e. the same pairs, the same cutoff and the same per-pair enumeration limit as the C++ run.

    /usr/bin/python3 tools/bench/retrieval_networkx.py kg.tsv pairs.jsonl [--questions N]
"""
import argparse
import itertools
import json
import sys
import time

import networkx as nx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kg_tsv")
    ap.add_argument("pairs")
    ap.add_argument("--questions", type=int, default=100, help="first N questions of PAIRS")
    ap.add_argument("--hops", type=int, default=3)
    ap.add_argument("--limit", type=int, default=2000, help="paths per pair, as the C++ enumeration_limit")
    ap.add_argument("--budget-seconds", type=float, default=600,
                    help="stop starting new questions after this much search time")
    args = ap.parse_args()

    t0 = time.perf_counter()
    g = nx.Graph()
    with open(args.kg_tsv, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) > 3 and float(parts[3]) < 0:
                continue  # negated assertions are not evidence (not in the C++ graph either)
            h, t = parts[0], parts[2]
            if h != t:
                g.add_edge(h, t)
    load_s = time.perf_counter() - t0

    rows = []
    with open(args.pairs, encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) >= args.questions:
                break
    nx_ms, cpp_ms, found = [], [], 0
    search_start = time.perf_counter()
    for row in rows:
        if time.perf_counter() - search_start > args.budget_seconds:
            break
        start = time.perf_counter()
        for q, a in row["pairs"]:
            if q in g and a in g and q != a:
                found += sum(1 for _ in itertools.islice(nx.all_simple_paths(g, q, a, cutoff=args.hops), args.limit))
        nx_ms.append((time.perf_counter() - start) * 1000)
        cpp_ms.append(row["ms"])

    def pct(v, p):
        s = sorted(v)
        return s[min(len(s) - 1, int(p * (len(s) - 1) + 0.5))]

    ratios = sorted(n / max(c, 1e-6) for n, c in zip(nx_ms, cpp_ms))
    out = {
        "questions": len(nx_ms),
        "graph_nodes": g.number_of_nodes(),
        "graph_edges": g.number_of_edges(),
        "load_seconds": round(load_s, 1),
        "networkx_p50_ms": pct(nx_ms, 0.5),
        "networkx_p99_ms": pct(nx_ms, 0.99),
        "networkx_mean_ms": sum(nx_ms) / len(nx_ms),
        "cpp_p50_ms": pct(cpp_ms, 0.5),
        "cpp_p99_ms": pct(cpp_ms, 0.99),
        "cpp_mean_ms": sum(cpp_ms) / len(cpp_ms),
        "speedup_p50_of_ratios": pct(ratios, 0.5),
        "speedup_min": ratios[0],
        "speedup_of_totals": sum(nx_ms) / max(sum(cpp_ms), 1e-6),
        "networkx_paths": found,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
