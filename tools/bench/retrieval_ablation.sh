#!/usr/bin/env bash
# KG-only accuracy with each knowledge source alone (README ablation). For each source:
# build a KG, train TransE (50 epochs), fit the KG scorer on CommonsenseQA train, evaluate
# on CommonsenseQA dev and OpenBookQA dev. Results: $OUT/<source>/{csqa,obqa}.json
#   tools/bench/retrieval_ablation.sh [SPADE_BIN] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
spade=${1:-build/tools/spade}
out=${2:-/tmp/spade_ablation}
mkdir -p "$out"
declare -A inputs=(
  [conceptnet100k]=data/kg/conceptnet100k/train100k.txt.gz
  [conceptnet4]=data/kg/conceptnet4/cn4_en_triples.tsv.gz
  [wordnet]=/usr/share/wordnet
)
for source in conceptnet100k conceptnet4 wordnet; do
  d="$out/$source"
  mkdir -p "$d"
  $spade kg build --out "$d/kg" "${inputs[$source]}" > "$d/build.txt"
  $spade kg embed --kg "$d/kg" --epochs 50 --json > "$d/embed.json"
  $spade train-kg-scorer --kg "$d/kg" --data data/qa/csqa/train.jsonl.gz --out "$d/kg_scorer.json" > "$d/train.txt"
  for set in csqa obqa; do
    $spade eval --kg "$d/kg" --scorer-weights "$d/kg_scorer.json" --data data/qa/$set/dev.jsonl.gz --json > "$d/$set.json"
  done
  echo "$source: csqa $(python3 -c "import json;print(json.load(open('$d/csqa.json'))['accuracy'])")" \
       "obqa $(python3 -c "import json;print(json.load(open('$d/obqa.json'))['accuracy'])")"
done
