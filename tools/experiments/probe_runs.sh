#!/usr/bin/env bash
# The two downstream probes (issue 8) of every encoder under OUT that has a model, and of a
# randomly initialised encoder of each shape, at one fixed budget:
#   mc       CommonsenseQA train -> dev, 300 steps of 16 questions (4,800 questions), lr 5e-4
#   triples  ConceptNet-100k train100k (+1 sampled negative each) -> threshold on dev1,
#            accuracy on dev2; 1,200 steps of 32 positives (38,400 triples), lr 1e-3
#
#   tools/experiments/probe_runs.sh SPADE DATA OUT [LANE NLANES]
#
# DATA holds qa/csqa/{train,dev}.jsonl and kg/conceptnet100k/ (../shared/data). Results:
# OUT/probes/<encoder>[-random]-{mc,triples}/log.jsonl (last line: the dev metrics).
set -euo pipefail
spade=$1 data=$2 out=$3 lane=${4:-0} nlanes=${5:-1}
seed=${SEED:-1}
jobs=()
for dir in "$out"/*/; do
  name=$(basename "$dir")
  [[ $name == probes ]] && continue
  [[ -f $dir/model.safetensors ]] || continue
  jobs+=("$name|")
done
# Random-init baselines: one per distinct shape.
for name in albert-e32-none albert-e32-attention albert-e32-ffn albert-e32-all \
            albert-e128-none albert-e128-attention albert-e128-ffn albert-e128-all \
            bert-mlm electra distill-distilbert; do
  [[ -f $out/$name/model.safetensors ]] && jobs+=("$name|random")
done
i=0
for j in "${jobs[@]}"; do
  name=${j%%|*} kind=${j#*|}
  if (( i++ % nlanes != lane )); then continue; fi
  flag=() tag=$name
  if [[ $kind == random ]]; then flag=(--random-init) tag=$name-random; fi
  [[ $seed != 1 ]] && tag=$tag-s$seed
  for p in mc triples; do
    dir=$out/probes/$tag-$p
    if [[ -f $dir/model.safetensors ]]; then continue; fi
    resume=()
    [[ -f $dir/checkpoint.safetensors ]] && resume=(--resume)
    if [[ $p == mc ]]; then
      args=(--train "$data/qa/csqa/train.jsonl" --dev "$data/qa/csqa/dev.jsonl" --steps 300 --batch 16 --lr 5e-4)
    else
      k=$data/kg/conceptnet100k
      args=(--train "$k/train100k.txt" --dev1 "$k/dev1.txt" --dev2 "$k/dev2.txt" --steps 1200 --batch 32 --lr 1e-3)
    fi
    mkdir -p "$out/probes"
    echo "$(date -u +%FT%TZ) probe $p $tag"
    "$spade" probe "$p" --encoder "$out/$name" "${flag[@]}" "${args[@]}" --seed "$seed" --threads 1 \
      --out "$dir" --save-every 100 "${resume[@]}" > "$dir.out" 2>&1
  done
done
