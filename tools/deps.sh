#!/usr/bin/env bash
# Installs the Debian 12 packages Spade needs: the one list, in one place. Idempotent:
# does nothing (and needs no root) when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librocksdb-dev libboost-graph-dev libeigen3-dev libopenblas-dev
  libsentencepiece-dev sentencepiece nlohmann-json3-dev libcli11-dev
  zlib1g-dev libutf8proc-dev libgtest-dev libgmock-dev
  wordnet-base
  dict-gcide                        # GCIDE definitions for the pretraining corpus
  clang libclang-rt-14-dev          # libFuzzer targets
)
# Reference scripts and benchmarks only (never needed to build or test):
OPTIONAL_PACKAGES=(python3-networkx python3-torch gnuplot-nox)  # benchmarks and the docs/ plots

want=("${PACKAGES[@]}")
if [[ "${1:-}" == "--with-bench" ]]; then want+=("${OPTIONAL_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then exit 0; fi

echo "installing: ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
