#!/usr/bin/env bash
# Installs what is needed, builds from scratch and runs the whole test suite:
#   1. Release build, every ctest test (labels: unit, slow)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, the unit tests
#   3. libFuzzer targets (clang), each for a bounded time (FUZZ_SECONDS, default 20)
# Build trees: build/, build-asan/, build-fuzz/ (reused when present).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"

tools/deps.sh

echo "== Release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"
# The default KG (with short TransE training) for the slow tests that check path search on it.
export SPADE_TEST_KG="$PWD/build/test-kg"
build/tools/spade kg build --quiet --out "$SPADE_TEST_KG" data/kg/conceptnet100k/train100k.txt.gz \
  data/kg/conceptnet4/cn4_en_triples.tsv.gz /usr/share/wordnet
build/tools/spade kg embed --kg "$SPADE_TEST_KG" --epochs 2 >/dev/null
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 900

echo "== AddressSanitizer + UBSan build and unit tests"
# -O1 -g1: sanitizer builds of Eigen-heavy code compile several times faster than at -O2 -g.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DSPADE_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$JOBS" --timeout 900

echo "== libFuzzer targets, ${FUZZ_SECONDS}s each"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DSPADE_FUZZ=ON -DSPADE_BUILD_TESTS=OFF >/dev/null
fuzzers=$(cd tests/fuzz && ls *_fuzz.cc | sed 's/_fuzz\.cc$//')
targets=$(for f in $fuzzers; do echo "fuzz_$f"; done)
cmake --build build-fuzz -j "$JOBS" --target $targets
for f in $fuzzers; do
  corpus=$(mktemp -d)
  if [[ -d tests/fuzz/corpus/$f ]]; then cp tests/fuzz/corpus/$f/* "$corpus"/; fi
  echo "-- fuzz_$f"
  log=$(mktemp)
  status=0
  build-fuzz/tests/fuzz/fuzz_$f -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 \
    -print_final_stats=1 "$corpus" >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|Done)" "$log" || true
  rm -rf "$corpus"
  if [[ $status -ne 0 ]]; then tail -n 60 "$log"; echo "fuzz_$f FAILED (exit $status)"; exit 1; fi
  rm -f "$log"
done
echo "all test stages passed"
