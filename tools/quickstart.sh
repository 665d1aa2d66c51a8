#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine: installs what Spade needs, builds build/spade,
# builds the default knowledge graph into $SPADE_HOME/kg (default ~/.local/share/spade) and
# shows what the product does with it.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target spade -j "$(nproc)"

export SPADE_HOME="${SPADE_HOME:-$HOME/.local/share/spade}"
KG="$SPADE_HOME/kg"
spade=build/tools/spade

echo "== building the default KG (ConceptNet-100k + ConceptNet 4 + WordNet 3.0) into $KG"
$spade kg build --out "$KG" \
  data/kg/conceptnet100k/train100k.txt.gz \
  data/kg/conceptnet4/cn4_en_triples.tsv.gz \
  /usr/share/wordnet

echo
echo "== spade kg stats"
$spade kg stats --kg "$KG"

for concept in shovel flower; do
  echo
  echo "== spade kg neighbors $concept --relation UsedFor --limit 6"
  $spade kg neighbors --kg "$KG" "$concept" --relation UsedFor --direction both --limit 6
done

echo
echo "== spade kg embed (TransE, 50 epochs, one thread and seed 1: the vectors the shipped QA model was trained with)"
$spade kg embed --kg "$KG" --epochs 50 --threads 1 --seed 1

for q in "I dug the ground to plant flowers. What did I dig with?" \
         "I dug the ground to build a house. What did I dig with?"; do
  echo
  echo "== spade ask \"$q\" --choices \"shovel|spoon|excavator|hammer|fork\""
  $spade ask --kg "$KG" "$q" --choices "shovel|spoon|excavator|hammer|fork"
done

echo
echo "== spade paths --question \"What did I dig with?\" --answer shovel --limit 5"
$spade paths --kg "$KG" --question "What did I dig with?" --answer shovel --limit 5

echo
echo "== the shipped causal LM (data/models/clm, 1.9M parameters trained on Spade's corpus):"
echo "== spade lm generate --model data/models/clm --prompt \"A shovel is used for\" --temperature 0"
$spade lm generate --model data/models/clm --prompt "A shovel is used for" --temperature 0 --max-tokens 16
echo
echo "== spade lm ask (zero-shot, GPT-2 style) with the same model"
$spade lm ask --model data/models/clm --question "I dug the ground to plant flowers. What did I dig with?" \
  --choice shovel --choice spoon --choice excavator --choice hammer --choice fork
echo
echo "== spade encode --model data/models/encoder (the shipped ALBERT encoder) \"a shovel is used for digging\""
$spade encode --model data/models/encoder "a shovel is used for digging"
