#!/usr/bin/env bash
# The distillation rows of the README (issue 8): the 4-layer MLM encoder of
# pretrain_ablations.sh (OUT/bert-mlm) distilled into a student of half its depth by each
# method, 500 steps of 32 x 64 tokens, seed 1, one thread.
#
#   tools/experiments/distill_runs.sh SPADE CORPUS OUT
set -euo pipefail
spade=$1 corpus=$2 out=$3
for m in distilbert tinybert; do
  dir=$out/distill-$m
  if [[ -f $dir/model.safetensors ]]; then echo "skip $m (done)"; continue; fi
  resume=()
  [[ -f $dir/checkpoint.safetensors ]] && resume=(--resume)
  echo "$(date -u +%FT%TZ) start distill-$m"
  "$spade" distill --method "$m" --teacher "$out/bert-mlm" --student-preset small --corpus "$corpus" \
    --out "$dir" --steps 500 --batch 32 --seq 64 --lr 1e-3 --seed 1 --threads 1 \
    --save-every 100 --eval-every 250 --eval-batches 16 "${resume[@]}" > "$out/distill-$m.out" 2>&1
  echo "$(date -u +%FT%TZ) done distill-$m"
done
