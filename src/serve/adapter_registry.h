// The LoRA adapters a server can use, by name. Adapters named at start or
// added at run time (POST /v1/adapters) are known by their path; at most
// `max_loaded` are held in memory, the least recently used one is dropped
// when another must load (requests already using it keep their reference).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "model/lora_adapter.h"
#include "model/model_config.h"

namespace officina {

struct AdapterHandle {
  std::shared_ptr<const LoraAdapter> adapter;
  std::string key;  // name + load generation: the identity prefix reuse compares
};

struct AdapterInfoRow {
  std::string name, path;
  std::string owner;  // the project it belongs to; empty: every key may use it
  bool loaded = false;
  int64_t created = 0;  // unix seconds when registered
};

class AdapterRegistry {
 public:
  AdapterRegistry(const ModelConfig& config, size_t max_loaded) : config_(config), max_loaded_(max_loaded) {}

  // Registers and loads NAME from PATH[:SCALE] (fails on a bad adapter, a
  // name already taken, or a name that is not [A-Za-z0-9._:-]{1,128}).
  // `owner`: the project whose keys alone may use it (empty: every key).
  Result<void> add(const std::string& name, const std::string& spec, const std::string& owner = "");
  // The adapter's owner; nullopt when there is no such adapter.
  std::optional<std::string> owner(const std::string& name) const;
  // Forgets NAME; false when there is none.
  bool remove(const std::string& name);
  bool contains(const std::string& name) const;
  // The adapter, loading it again if it was dropped.
  Result<AdapterHandle> get(const std::string& name);
  std::vector<AdapterInfoRow> list() const;
  size_t loaded_count() const;
  int64_t loads() const;  // adapter loads so far (misses of the in-memory cache)

  static bool valid_name(const std::string& name);

 private:
  struct Entry {
    std::string path;
    std::string owner;
    float scale = 1.0f;
    int64_t created = 0;
    int64_t generation = 0;
    std::shared_ptr<const LoraAdapter> adapter;
    int64_t last_used = 0;
  };
  void evict_locked();

  ModelConfig config_;
  size_t max_loaded_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  int64_t clock_ = 0, generation_ = 0, loads_ = 0;
};

}  // namespace officina
