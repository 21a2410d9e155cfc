#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds officina and shows what it does on
# bundled data: the conformance models beside the repository and a random
# model it makes itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
bin="${BUILD_DIR:-build}/src/cli/officina"
models="${OFFICINA_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}/models"
out="${BUILD_DIR:-build}/demo"
mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Model information (GGUF)" "$bin" info "$models/tiny-gqa.gguf"
step "Model information (Hugging Face directory)" "$bin" info "$models/tiny-gqa-hf"
step "Tokenize Italian text" "$bin" tokenize -m "$models/tiny-gqa.gguf" -p "Buongiorno! La pressa 2 vibra più del solito."
step "Convert Hugging Face to GGUF" "$bin" convert "$models/tiny-gqa-hf" "$out/tiny-gqa-converted.gguf"
step "Generate (greedy) from the converted file" "$bin" generate -m "$out/tiny-gqa-converted.gguf" -p "Once upon a time" -n 24 --temp 0
step "Generate (sampled, seeded) from a Q4_K_M model" "$bin" generate -m "$models/small-256-Q4_K_M.gguf" -p "La manutenzione predittiva" -n 24 --seed 7
templates="$(dirname "$models")/chat-templates"
step "Chat template: render a conversation with tools (Qwen 2.5 template)" bash -c "'$bin' template render --template '$templates/Qwen-Qwen2.5-7B-Instruct.jinja' --messages examples/chat/messages.json --tools examples/chat/tools.json --add-generation-prompt; echo"
step "Generation held to a JSON schema" "$bin" generate -m "$models/tiny-mha.gguf" -p "Stato:" --json-schema examples/chat/status-schema.json -n 120 --seed 3
step "Fine-tune a LoRA adapter on plant Q&A (tiny model, 30 steps)" "$bin" finetune -m "$models/tiny-gqa.gguf" --data examples/finetune/plant-qa.jsonl --out "$out/plant-adapter" --rank 8 --alpha 16 --steps 30 --batch-size 2 --lr 5e-3 --seq-len 160 --val-split 0.2 --eval-every 10 --seed 1
step "Generate with the adapter" "$bin" generate -m "$models/tiny-gqa.gguf" --lora "$out/plant-adapter" -p "Stato della pressa 3?" -n 16 --temp 0
serve_demo() {
  # Serve the base model with the fine-tuned adapter; ask both over the OpenAI API.
  local key=sk-demo-0123456789abcdef log="$out/serve.log"
  "$bin" serve -m "$models/tiny-gqa.gguf" --adapter plant="$out/plant-adapter" --api-key "$key" --port 0 -t 2 >"$log" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  for model in tiny-gqa plant; do
    echo "POST /v1/chat/completions model=$model"
    curl -sf "http://127.0.0.1:$port/v1/chat/completions" -H "Authorization: Bearer $key" \
      -d "{\"model\": \"$model\", \"messages\": [{\"role\": \"user\", \"content\": \"Stato della pressa 3?\"}], \"max_tokens\": 16, \"temperature\": 0}"
    echo
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}
step "Serve the model and the fine-tuned adapter over the OpenAI API" serve_demo
platform_demo() {
  # The one-stop shop: onboard a company, upload its data, fine-tune, chat.
  local data="$out/platform-data" log="$out/platform-serve.log"
  rm -rf "$data"
  local operator org project key port="" file job model
  operator=$("$bin" admin init --data-dir "$data" | tail -n 1)
  org=$("$bin" admin org create "Acciaierie Rossi" --kind sme --data-dir "$data" | jq -r .id)
  project=$("$bin" admin project create "$org" plant-twin --data-dir "$data" | jq -r .id)
  "$bin" admin allocation create "$project" --tier playground --core-hours 100 --days 90 --data-dir "$data" | jq -c .
  key=$("$bin" admin key create "$project" --role owner --data-dir "$data" | tail -n 1)
  "$bin" serve -m "$models/tiny-gqa.gguf" --data-dir "$data" --port 0 -t 1 --job-cores 1 >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  local api="http://127.0.0.1:$port/v1"
  echo "POST /v1/files (encrypted at rest, checked line by line)"
  file=$(curl -sf "$api/files" -H "Authorization: Bearer $key" -F purpose=fine-tune -F file=@examples/finetune/plant-qa.jsonl | tee /dev/stderr | jq -r .id)
  echo; echo "POST /v1/fine_tuning/jobs"
  job=$(curl -sf "$api/fine_tuning/jobs" -H "Authorization: Bearer $key" \
    -d "{\"model\": \"tiny-gqa\", \"training_file\": \"$file\", \"suffix\": \"plant\", \"hyperparameters\": {\"n_epochs\": 2, \"lora_r\": 8}}" | jq -r .id)
  local status=queued
  while [ "$status" = queued ] || [ "$status" = running ] || [ "$status" = validating_files ]; do
    sleep 0.5
    status=$(curl -sf "$api/fine_tuning/jobs/$job" -H "Authorization: Bearer $key" | jq -r .status)
  done
  curl -sf "$api/fine_tuning/jobs/$job/events?limit=4" -H "Authorization: Bearer $key" | jq -r '.data[].message'
  model=$(curl -sf "$api/fine_tuning/jobs/$job" -H "Authorization: Bearer $key" | jq -r .fine_tuned_model)
  echo "POST /v1/chat/completions model=$model"
  curl -sf "$api/chat/completions" -H "Authorization: Bearer $key" \
    -d "{\"model\": \"$model\", \"messages\": [{\"role\": \"user\", \"content\": \"Stato della pressa 3?\"}], \"max_tokens\": 16, \"temperature\": 0}" | jq -c .choices[0].message
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  "$bin" admin usage "$project" --data-dir "$data" | jq -c '.allocations[0] | {tier, core_hours, used_core_hours}'
  "$bin" admin audit verify --data-dir "$data" | jq -c .
  [ -n "$operator" ]
}
step "Platform: onboard a tenant, upload, fine-tune, chat with the result, audit" platform_demo
step "A random 4-layer model with the same vocabulary" "$bin" model init --dim 128 --layers 4 --heads 4 --kv-heads 2 --ffn 384 --vocab-from "$models/tiny-gqa.gguf" --seed 1 --out "$out/random-128x4.gguf"
step "Its first logits" bash -c "'$bin' logits -m '$out/random-128x4.gguf' -p 'Hello' --top 3 | head -c 300; echo"
if "$bin" twin --help >/dev/null 2>&1 && [ -f examples/plants/demo-packaging-line.yaml ]; then
  step "Digital twin: validate the demo plant" "$bin" twin validate examples/plants/demo-packaging-line.yaml
  step "Digital twin: simulate 30 days, 8 replications" "$bin" twin simulate examples/plants/demo-packaging-line.yaml --horizon 30d --replications 8 --seed 1 --json "$out/twin-kpis.json"
  step "Digital twin: a 14-day maintenance plan (MILP over CBC) against run-to-failure and the best fixed interval" "$bin" twin plan examples/plants/demo-packaging-line.yaml --horizon 14d --replications 10 --seed 1 --json "$out/twin-plan.json"
  pdm_demo() {
    local plant=examples/plants/demo-packaging-line.yaml
    "$bin" twin export-runs "$plant" --out "$out/runs-train" --horizon 365d --replications 4 --seed 1 >/dev/null
    "$bin" twin export-runs "$plant" --out "$out/runs-test" --horizon 365d --replications 4 --seed 2 >/dev/null
    "$bin" pdm make-dataset --runs "$out/runs-train" --machine forno-verniciatura --test-fraction 0 --seed 1 --out "$out/pdm-train" >/dev/null
    "$bin" pdm make-dataset --runs "$out/runs-test" --machine forno-verniciatura --test-fraction 1 --seed 2 --out "$out/pdm-test" >/dev/null
    "$bin" pdm train --data "$out/pdm-train/train.txt" --model nn --rul-cap 0 --seed 1 --out "$out/pdm-nn"
    "$bin" pdm evaluate --model "$out/pdm-nn" --data "$out/pdm-test/test.txt" --rul "$out/pdm-test/RUL.txt"
    "$bin" pdm predict --model "$out/pdm-nn" --data "$out/pdm-test/test.txt" > "$out/pdm-predictions.txt"
    head -5 "$out/pdm-predictions.txt"
  }
  step "Predictive maintenance: the oven's runs to failure from the twin, a neural RUL model, its scores on other seeds" pdm_demo
fi
printf '\ndemo: done (outputs in %s)\n' "$out"
