#!/usr/bin/env bash
# The QA-model rows of the issue-9 table: `spade train` from the shipped encoder (and a
# random-init one) with each part switched on alone and all together, one thread each.
#
#   tools/experiments/qa_runs.sh SPADE DATA OUT [LANE NLANES]
#
# DATA holds qa/csqa/{train,dev}.jsonl; the KG is $SPADE_HOME/kg (quick start) with TransE
# vectors from `spade kg embed --threads 1`. Results: OUT/<row>/log.jsonl (eval lines) and
# OUT/<row>/best/best.json. SEED (default 1) picks the seed; rows get "-s<seed>" beyond 1.
# ROWS="all encoder" runs only those rows; STEPS (default 1500) the steps.
set -euo pipefail
spade=$1 data=$2 out=$3 lane=${4:-0} nlanes=${5:-1}
seed=${SEED:-1}
steps=${STEPS:-1500}
rows=(
  "all|"
  "features|--fusion-layers 0 --no-paths"
  "encoder|--fusion-layers 0 --no-paths --no-kg-features"
  "fusion|--no-paths --no-kg-features"
  "paths|--fusion-layers 0 --no-kg-features"
  "encoder-random|--random-init --fusion-layers 0 --no-paths --no-kg-features"
)
i=0
for r in "${rows[@]}"; do
  name=${r%%|*} flags=${r#*|}
  if [[ -n ${ROWS:-} && " $ROWS " != *" $name "* ]]; then continue; fi
  if (( i++ % nlanes != lane )); then continue; fi
  tag=$name
  [[ $seed != 1 ]] && tag=$tag-s$seed
  dir=$out/$tag
  [[ -f $dir/spade.json ]] && continue
  resume=()
  [[ -f $dir/checkpoint.safetensors ]] && resume=(--resume)
  mkdir -p "$out"
  echo "$(date -u +%FT%TZ) train $tag"
  # shellcheck disable=SC2086
  "$spade" train --init data/models/encoder $flags --train "$data/qa/csqa/train.jsonl" --dev "$data/qa/csqa/dev.jsonl" \
    --out "$dir" --steps "$steps" --batch 8 --lr 2e-4 --seed "$seed" --threads 1 --data-threads 1 \
    --eval-every 250 --save-every 250 --log-every 25 "${resume[@]}" > "$dir.out" 2>&1
done
