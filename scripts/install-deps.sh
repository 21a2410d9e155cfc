#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing officina needs.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config git
  # libraries (see README "Dependencies")
  libhwy-dev libopenblas-dev nlohmann-json3-dev libcpp-httplib-dev
  libfmt-dev libspdlog-dev libcli11-dev
  # server and platform docs tests drive the server with curl (and jq)
  curl jq
  # tests, benchmarks, fuzzing, sanitizers
  libgtest-dev libgmock-dev libbenchmark-dev clang-16 libclang-rt-16-dev
  # digital twin (plant YAML)
  libyaml-cpp-dev
  # twin live mode: MQTT client, broker (integration tests), telemetry store
  libmosquitto-dev mosquitto libsqlite3-dev
  # twin maintenance plans: the MILP solver (CBC)
  coinor-libcbc-dev
  # platform: argon2id key hashes, XChaCha20-Poly1305 encryption at rest
  libsodium-dev
  # data-parallel training: `mpirun -np N officina finetune` (tests/mpi)
  libopenmpi-dev openmpi-bin
)
# Node.js + npm fetch the reference Llama-3 tokenizer for conformance tests
# and run the server tests with the openai SDK (which wants node >= 20);
# use the machine's own node if it has one (Debian's nodejs conflicts with it).
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} packages present"
