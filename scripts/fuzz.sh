#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs
# each for SECONDS (default 30) on a seed corpus of real files. Exits non-zero
# when a target finds a crash, leak or sanitizer error.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
conformance="${OFFICINA_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
# A cache made with another compiler cannot be reconfigured in place.
if [ -f build-fuzz/CMakeCache.txt ] && ! grep -q 'CMAKE_CXX_COMPILER:[A-Z]*=.*clang++-16' build-fuzz/CMakeCache.txt; then
  rm -rf build-fuzz/CMakeCache.txt build-fuzz/CMakeFiles
fi
# -O1 with line tables, as libFuzzer suggests: quick to build, readable traces.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-16 \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" -DOFFICINA_FUZZ=ON -DOFFICINA_TESTS=OFF >/dev/null
targets=$(for f in fuzz/*_fuzz.cc; do basename "$f" .cc; done)
ninja -C build-fuzz -j "$(nproc)" $targets
status=0
for target in build-fuzz/fuzz/*_fuzz; do
  name=$(basename "$target" _fuzz)
  corpus="build-fuzz/corpus/$name"
  mkdir -p "$corpus"
  case "$name" in
    gguf) for f in "$conformance"/models/*.gguf "$conformance"/lora/tiny-gqa/adapter.gguf; do
            # seeds: the first 64 KiB of each real file (headers and metadata)
            head -c 65536 "$f" > "$corpus/seed-$(basename "$f")"; done ;;
    safetensors) cp "$conformance"/lora/tiny-gqa/*.safetensors "$corpus/" ;;
    tokenizer_json) head -c 200000 "$conformance/models/tiny-gqa-hf/tokenizer.json" > "$corpus/seed-tokenizer.json" ;;
    jinja_template) cp "$conformance"/chat-templates/*.jinja "$corpus/" ;;
    # grammar, json_schema: seeds only from fuzz/seeds/<name>/ (below)
  esac
  if [ -d "fuzz/seeds/$name" ]; then cp fuzz/seeds/"$name"/* "$corpus/" 2>/dev/null || true; fi
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/$name-" "$corpus" > "build-fuzz/$name.log" 2>&1; then
    echo "fuzz: $name FAILED (see build-fuzz/$name.log)"; tail -40 "build-fuzz/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units|Done" "build-fuzz/$name.log" | tail -1
  fi
done
exit $status
