#!/usr/bin/python3
"""KG build benchmark: `spade kg build` vs. loading the same English triples into a networkx
MultiDiGraph, on a generated ConceptNet-5-format dump, side by side in one run.
Reports wall time, rows/s and peak resident memory (from wait4) of each, and the ratios.

usage: /usr/bin/python3 tools/bench/kg_build_bench.py [--english 3500000] [--other 2500000]
       [--build build] [--workdir /tmp/spade-bench]
"""
import argparse
import json
import os
import subprocess
import sys
import time


def run(cmd):
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - t0
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024.0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--english", type=int, default=3500000)
    ap.add_argument("--other", type=int, default=2500000)
    ap.add_argument("--build", default="build")
    ap.add_argument("--workdir", default="/tmp/spade-bench")
    ap.add_argument("--skip-networkx", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    dump = os.path.join(a.workdir, f"cn5-{a.english}-{a.other}.csv.gz")
    if not os.path.exists(dump):
        subprocess.run([os.path.join(a.build, "tools/bench/gen_conceptnet5"), dump, str(a.english), str(a.other)],
                       check=True)
    rows = a.english + a.other
    size_mb = os.path.getsize(dump) / 1e6

    wall_s, rss_s, out = run([os.path.join(a.build, "tools/spade"), "kg", "build", "--out",
                              os.path.join(a.workdir, "kg"), dump])
    stats = json.loads(subprocess.run([os.path.join(a.build, "tools/spade"), "kg", "stats", "--json", "--kg",
                                       os.path.join(a.workdir, "kg")], capture_output=True, check=True).stdout)
    result = {"dump": dump, "dump_mb_gz": round(size_mb, 1), "rows": rows, "english_rows": a.english,
              "spade": {"seconds": round(wall_s, 2), "rows_per_second": round(rows / wall_s),
                        "peak_rss_mb": round(rss_s), "concepts": stats["concepts"], "edges": stats["edges"]}}
    if not a.skip_networkx:
        here = os.path.dirname(os.path.abspath(__file__))
        wall_n, rss_n, out_n = run(["/usr/bin/python3", os.path.join(here, "networkx_load.py"), dump])
        nx_stats = json.loads(out_n)
        result["networkx"] = {"seconds": round(wall_n, 2), "rows_per_second": round(rows / wall_n),
                              "peak_rss_mb": round(rss_n), "nodes": nx_stats["nodes"], "edges": nx_stats["edges"]}
        result["speedup"] = round(wall_n / wall_s, 1)
        result["memory_ratio"] = round(rss_s / rss_n, 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
