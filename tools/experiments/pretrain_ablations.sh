#!/usr/bin/env bash
# The pretraining runs behind the README's ablation tables (issue 8), at one fixed budget:
# 4-layer, H=128 encoders (configs/), 1,000 steps of 32 x 64 tokens (2.05M tokens), seed 1.
#
#   tools/experiments/pretrain_ablations.sh SPADE CORPUS OUT [LANE NLANES]
#
# SPADE is the spade binary, CORPUS a `spade corpus build` directory, OUT the runs' root.
# Runs are split round-robin over NLANES lanes (default 1); start one process per lane, each
# on one thread, to use several cores. A finished run (model.safetensors present) is
# skipped; an interrupted one resumes from its checkpoint.
set -euo pipefail
spade=$1 corpus=$2 out=$3 lane=${4:-0} nlanes=${5:-1}
here=$(cd "$(dirname "$0")" && pwd)
cfg=$here/configs
steps=${STEPS:-1000}
common=(--corpus "$corpus" --batch 32 --seq 64 --lr 1e-3 --seed 1 --threads 1
        --save-every 100 --eval-every 250 --eval-batches 16)

runs=()
for e in 32 128; do
  for s in none attention ffn all; do
    runs+=("albert-e$e-$s|--objective albert --config $cfg/albert-h128-l4.json --embedding-size $e --sharing $s --steps $steps")
  done
done
runs+=("albert-e32-all-nsp|--objective albert --config $cfg/albert-h128-l4.json --sentence-task nsp --steps $steps")
runs+=("albert-e32-all-nosent|--objective albert --config $cfg/albert-h128-l4.json --sentence-task none --steps $steps")
runs+=("bert-mlm|--objective mlm --config $cfg/bert-h128-l4.json --steps $steps")
# ELECTRA at the MLM run's compute: its step costs ELECTRA_COST x an MLM step (generator
# forward/backward and the discriminator over every token), so it gets steps / ELECTRA_COST.
electra_steps=$(awk -v s="$steps" -v c="${ELECTRA_COST:-1.3}" 'BEGIN { printf "%d", s / c }')
runs+=("electra|--objective electra --config $cfg/electra-h128-l4.json --steps $electra_steps")

i=0
for r in "${runs[@]}"; do
  name=${r%%|*} args=${r#*|}
  if (( i++ % nlanes != lane )); then continue; fi
  dir=$out/$name
  if [[ -f $dir/model.safetensors ]]; then echo "skip $name (done)"; continue; fi
  resume=()
  [[ -f $dir/checkpoint.safetensors ]] && resume=(--resume)
  echo "$(date -u +%FT%TZ) start $name"
  # shellcheck disable=SC2086
  "$spade" pretrain "${common[@]}" $args --out "$dir" "${resume[@]}" > "$out/$name.out" 2>&1
  echo "$(date -u +%FT%TZ) done $name"
done
