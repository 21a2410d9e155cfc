#include "train/train_checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/safetensors_file.h"

namespace officina {
namespace fs = std::filesystem;

namespace {

// "pair.0.a" -> "pair.0.m_a"; "blk.0.attn_q.weight" -> "blk.0.attn_q.m_weight".
std::string moment_name(const std::string& name, char which) {
  const size_t dot = name.rfind('.');
  const std::string head = dot == std::string::npos ? "" : name.substr(0, dot + 1);
  const std::string tail = dot == std::string::npos ? name : name.substr(dot + 1);
  return head + which + "_" + tail;
}

std::span<const std::byte> bytes_of(std::span<const float> v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float)};
}

// Checkpoints written before full-parameter training had no "mode": LoRA.
Json identity_value(const Json& state, const std::string& key) {
  if (state.contains(key)) return state[key];
  if (key == "mode") return "lora";
  return nullptr;
}

}  // namespace

Result<void> save_train_checkpoint(const std::string& out, std::span<const ParamTensor> tensors, AdamW& optimizer,
                                   const TrainPosition& pos, const Json& identity) {
  const fs::path dir = fs::path(out) / "checkpoint";
  const fs::path tmp = fs::path(out) / "checkpoint.tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return fail("{}: cannot create ({})", tmp.string(), ec.message());
  std::vector<SafetensorsWriteTensor> st;
  auto& moments = optimizer.moments();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ParamTensor& t = tensors[i];
    st.push_back({t.name, DType::F32, t.shape, bytes_of(t.value)});
    st.push_back({moment_name(t.name, 'm'), DType::F32, t.shape, bytes_of(moments[2 * i])});
    st.push_back({moment_name(t.name, 'v'), DType::F32, t.shape, bytes_of(moments[2 * i + 1])});
  }
  OFFICINA_CHECK(write_safetensors((tmp / "state.safetensors").string(), st));
  Json state = {{"version", 1},
                {"step", pos.step},
                {"epoch", pos.epoch},
                {"index", pos.index},
                {"optimizer_steps", optimizer.steps()},
                {"tensors", tensors.size()}};
  for (const auto& [key, value] : identity.items()) state[key] = value;
  {
    std::ofstream f(tmp / "state.json");
    f << state.dump(2) << "\n";
    if (!f) return fail("{}: cannot write", (tmp / "state.json").string());
  }
  // Swap through checkpoint.old: a process killed at any point leaves a
  // whole checkpoint under one of the two names (checkpoint_dir() finds it).
  const fs::path old = fs::path(out) / "checkpoint.old";
  fs::remove_all(old, ec);
  if (fs::exists(dir / "state.json")) {
    fs::rename(dir, old, ec);
    if (ec) return fail("{}: cannot move the previous checkpoint aside ({})", dir.string(), ec.message());
  } else {
    fs::remove_all(dir, ec);
  }
  fs::rename(tmp, dir, ec);
  if (ec) return fail("{}: cannot move the checkpoint into place ({})", dir.string(), ec.message());
  fs::remove_all(old, ec);
  return {};
}

std::string checkpoint_dir(const std::string& out) {
  for (const char* name : {"checkpoint", "checkpoint.old"}) {
    const fs::path dir = fs::path(out) / name;
    std::error_code ec;
    if (fs::exists(dir / "state.json", ec)) return dir.string();
  }
  return {};
}

Result<TrainPosition> load_train_checkpoint(const std::string& out, std::span<const ParamTensor> tensors,
                                            AdamW& optimizer, const Json& identity) {
  const std::string found = checkpoint_dir(out);
  if (found.empty()) return fail("--resume: no checkpoint in {} (train with --save-every N first)", out);
  const fs::path dir = found;
  const std::string where = (dir / "state.json").string();
  OFFICINA_TRY(Json state, read_json_file(where, 1u << 20));
  if (!state.is_object()) return fail("{}: not a JSON object", where);
  for (const auto& [key, now] : identity.items()) {
    const Json then = identity_value(state, key);
    if (then != now) return fail("--resume: the checkpoint has {} = {} but this run has {}", key, then.dump(), now.dump());
  }
  OFFICINA_TRY(SafetensorsFile file, SafetensorsFile::open((dir / "state.safetensors").string()));
  auto& moments = optimizer.moments();
  auto read = [&](const std::string& name, std::span<float> into) -> Result<void> {
    OFFICINA_TRY(TensorView v, file.view(name));
    if (v.dtype != DType::F32 || static_cast<size_t>(v.elements()) != into.size())
      return fail("--resume: checkpoint tensor '{}' does not fit this run", name);
    std::memcpy(into.data(), v.data, into.size() * sizeof(float));
    return {};
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ParamTensor& t = tensors[i];
    OFFICINA_CHECK(read(t.name, t.value));
    OFFICINA_CHECK(read(moment_name(t.name, 'm'), moments[2 * i]));
    OFFICINA_CHECK(read(moment_name(t.name, 'v'), moments[2 * i + 1]));
  }
  TrainPosition pos;
  OFFICINA_TRY(pos.step, json_int(state, "step", where));
  OFFICINA_TRY(pos.epoch, json_int(state, "epoch", where));
  OFFICINA_TRY(pos.index, json_int(state, "index", where));
  OFFICINA_TRY(int64_t optimizer_steps, json_int(state, "optimizer_steps", where));
  optimizer.set_steps(optimizer_steps);
  return pos;
}

}  // namespace officina
