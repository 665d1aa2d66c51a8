#!/usr/bin/python3
"""What a user would otherwise do (KagNet's preprocessing): stream the ConceptNet 5
assertions dump, keep English-English edges, and load them into a networkx MultiDiGraph
with relation and weight attributes. Same filter and concept naming as `spade kg build`.

usage: /usr/bin/python3 networkx_load.py DUMP.csv.gz
"""
import gzip
import json
import sys
import time

import networkx as nx


def concept(uri):
    # /c/en/dog/n/wn/animal -> dog
    parts = uri.split("/")
    return parts[3].lower()


def main(path):
    t0 = time.time()
    g = nx.MultiDiGraph()
    rows = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rows += 1
            uri, rel, start, end, meta = line.rstrip("\n").split("\t")
            if not (start.startswith("/c/en/") and end.startswith("/c/en/")):
                continue
            w = json.loads(meta)["weight"]
            h, t = concept(start), concept(end)
            if h == t:
                continue
            g.add_edge(h, t, rel=rel[3:], weight=w)
    print(json.dumps({"rows": rows, "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
                      "seconds": time.time() - t0}))


if __name__ == "__main__":
    main(sys.argv[1])
