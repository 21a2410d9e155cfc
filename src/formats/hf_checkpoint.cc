#include "formats/hf_checkpoint.h"

#include <filesystem>

#include "formats/gguf_value.h"

namespace officina {

namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Index files name shards beside them; anything with a directory part could
// point outside the checkpoint, so it is refused.
bool plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

Result<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
  HfCheckpoint out;
  out.dir_ = dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return fail("{}: no such directory", dir);
  if (!fs::is_directory(dir, ec)) return fail("{}: not a directory (expected a Hugging Face model directory)", dir);
  fs::path root(dir);

  fs::path config = root / "config.json";
  out.config_path_ = config.string();
  if (!is_file(config)) return fail("{}: config.json missing (not a Hugging Face model directory?)", dir);
  OFFICINA_TRY(out.config_, read_json_file(out.config_path_, 64u << 20));
  if (!out.config_.is_object()) return fail("{}: expected a JSON object", out.config_path_);
  if (fs::path p = root / "tokenizer.json"; is_file(p)) out.tokenizer_path_ = p.string();
  if (fs::path p = root / "tokenizer_config.json"; is_file(p)) out.tokenizer_config_path_ = p.string();

  fs::path single = root / "model.safetensors";
  fs::path index_path = root / "model.safetensors.index.json";
  if (is_file(single)) {
    OFFICINA_TRY(SafetensorsFile shard, SafetensorsFile::open(single.string()));
    out.shards_.push_back(std::move(shard));
    const auto& tensors = out.shards_[0].tensors();
    for (size_t n = 0; n < tensors.size(); ++n) out.tensors_.emplace(tensors[n].name, Location{0, n});
    return out;
  }
  if (!is_file(index_path))
    return fail("{}: no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)",
                dir);

  std::string index = index_path.string();
  OFFICINA_TRY(Json index_json, read_json_file(index, 256u << 20));
  auto weight_map = index_json.is_object() ? index_json.find("weight_map") : index_json.end();
  if (weight_map == index_json.end() || !weight_map->is_object())
    return fail("{}: 'weight_map' missing or not an object", index);

  std::map<std::string, size_t, std::less<>> shard_index;  // shard file name -> shards_ position
  for (const auto& [name, shard_json] : weight_map->items()) {
    if (!shard_json.is_string()) return fail("{}: weight_map entry {} must be a file name", index, quote_name(name));
    const auto& shard_name = shard_json.get_ref<const std::string&>();
    if (!plain_file_name(shard_name))
      return fail("{}: tensor {} is mapped to {}, which is not a file name in this directory", index,
                  quote_name(name), quote_name(shard_name));
    auto it = shard_index.find(shard_name);
    if (it == shard_index.end()) {
      fs::path shard_path = root / shard_name;
      if (!is_file(shard_path))
        return fail("{}: tensor {} is mapped to shard {}, which does not exist", index, quote_name(name),
                    quote_name(shard_name));
      OFFICINA_TRY(SafetensorsFile shard, SafetensorsFile::open(shard_path.string()));
      it = shard_index.emplace(shard_name, out.shards_.size()).first;
      out.shards_.push_back(std::move(shard));
    }
    const SafetensorsFile& shard = out.shards_[it->second];
    const SafetensorsTensor* entry = shard.find(name);
    if (!entry)
      return fail("{}: tensor {} is mapped to shard {}, but that shard has no such tensor", index, quote_name(name),
                  quote_name(shard_name));
    out.tensors_.emplace(name, Location{it->second, static_cast<size_t>(entry - shard.tensors().data())});
  }
  if (out.tensors_.empty()) return fail("{}: 'weight_map' lists no tensors", index);
  return out;
}

const SafetensorsTensor* HfCheckpoint::find_entry(std::string_view name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return nullptr;
  return &shards_[it->second.shard].tensors()[it->second.index];
}

const TensorView* HfCheckpoint::find_tensor(std::string_view name) const {
  const SafetensorsTensor* entry = find_entry(name);
  return entry && entry->has_view() ? &entry->view : nullptr;
}

Result<const TensorView*> HfCheckpoint::tensor(std::string_view name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return fail("{}: tensor {} missing", dir_, quote_name(name));
  const SafetensorsFile& shard = shards_[it->second.shard];
  const SafetensorsTensor& entry = shard.tensors()[it->second.index];
  if (!entry.has_view()) {
    auto view = shard.view(name);  // carries the reason
    return std::unexpected(view.error());
  }
  return &entry.view;
}

std::vector<std::string> HfCheckpoint::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, location] : tensors_) names.push_back(name);
  return names;
}

}  // namespace officina
