// A Hugging Face model directory: config.json, the weights as one
// model.safetensors or as shards listed by model.safetensors.index.json
// ({"weight_map": {tensor name: shard file name}}), and the tokenizer files.
// Weights are mapped, never copied; tensor views point into the shards.
// Interpreting config.json (hidden_size, rope_theta, ...) is the model
// layer's job; this class only finds and validates the files.
// Thread-safety: immutable after open(); share freely.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"
#include "formats/safetensors_file.h"
#include "tensor/tensor_view.h"

namespace officina {

class HfCheckpoint {
 public:
  // Opens DIR. Fails with "DIR: not a directory", "DIR/config.json: ...
  // (missing or invalid JSON)", "DIR: no model.safetensors or
  // model.safetensors.index.json", "INDEX: tensor 'T' is mapped to shard 'S',
  // which does not exist", "INDEX: tensor 'T' is not in shard 'S'", or a
  // shard's own safetensors error. When both weight layouts are present the
  // single file wins, as in transformers.
  static Result<HfCheckpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Json& config() const { return config_; }
  const std::string& config_path() const { return config_path_; }
  // Empty when the file is absent.
  const std::string& tokenizer_path() const { return tokenizer_path_; }
  const std::string& tokenizer_config_path() const { return tokenizer_config_path_; }

  // Null when absent or when the tensor's dtype/rank has no TensorView
  // (use tensor() for the reason).
  const TensorView* find_tensor(std::string_view name) const;
  // The view, or "DIR: tensor 'NAME' missing" / the shard's dtype error.
  Result<const TensorView*> tensor(std::string_view name) const;
  // The raw entry (dtype name, shape, bytes); null when absent.
  const SafetensorsTensor* find_entry(std::string_view name) const;
  // Every tensor name, sorted.
  std::vector<std::string> tensor_names() const;
  const std::vector<SafetensorsFile>& shards() const { return shards_; }

 private:
  struct Location {
    size_t shard = 0;
    size_t index = 0;  // in shards_[shard].tensors()
  };

  std::string dir_;
  Json config_;
  std::string config_path_;
  std::string tokenizer_path_;
  std::string tokenizer_config_path_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, Location, std::less<>> tensors_;
};

}  // namespace officina
