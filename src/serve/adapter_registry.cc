#include "serve/adapter_registry.h"

#include <chrono>

namespace officina {

bool AdapterRegistry::valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == ':')) return false;
  return true;
}

Result<void> AdapterRegistry::add(const std::string& name, const std::string& spec, const std::string& owner) {
  if (!valid_name(name)) return fail("adapter name '{}' must be 1 to 128 of A-Z a-z 0-9 . _ : -", name);
  std::pair<std::string, float> parsed;
  OFFICINA_TRY(parsed, LoraAdapter::parse_spec(spec));
  {
    std::lock_guard lock(mutex_);
    if (entries_.contains(name)) return fail("an adapter named '{}' is already loaded", name);
  }
  // Load outside the lock: it reads files.
  LoraAdapter adapter;
  OFFICINA_TRY(adapter, LoraAdapter::load(parsed.first, config_, parsed.second));
  std::lock_guard lock(mutex_);
  if (entries_.contains(name)) return fail("an adapter named '{}' is already loaded", name);
  Entry e;
  e.path = parsed.first;
  e.owner = owner;
  e.scale = parsed.second;
  e.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  e.generation = ++generation_;
  e.adapter = std::make_shared<const LoraAdapter>(std::move(adapter));
  e.last_used = ++clock_;
  ++loads_;
  entries_.emplace(name, std::move(e));
  evict_locked();
  return {};
}

bool AdapterRegistry::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  return entries_.erase(name) > 0;
}

bool AdapterRegistry::contains(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return entries_.contains(name);
}

Result<AdapterHandle> AdapterRegistry::get(const std::string& name) {
  std::string path;
  float scale = 1.0f;
  int64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return fail("no adapter named '{}'", name);
    it->second.last_used = ++clock_;
    if (it->second.adapter) return AdapterHandle{it->second.adapter, name + "#" + std::to_string(it->second.generation)};
    path = it->second.path;
    scale = it->second.scale;
    generation = it->second.generation;
  }
  LoraAdapter adapter;
  OFFICINA_TRY(adapter, LoraAdapter::load(path, config_, scale));
  auto shared = std::make_shared<const LoraAdapter>(std::move(adapter));
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.generation != generation) return fail("adapter '{}' was removed", name);
  if (!it->second.adapter) {
    it->second.adapter = shared;
    ++loads_;
  }
  it->second.last_used = ++clock_;
  AdapterHandle handle{it->second.adapter, name + "#" + std::to_string(generation)};
  evict_locked();
  return handle;
}

void AdapterRegistry::evict_locked() {
  while (true) {
    size_t loaded = 0;
    Entry* oldest = nullptr;
    for (auto& [name, e] : entries_) {
      if (!e.adapter) continue;
      ++loaded;
      if (!oldest || e.last_used < oldest->last_used) oldest = &e;
    }
    if (loaded <= max_loaded_ || !oldest) return;
    oldest->adapter.reset();
  }
}

std::optional<std::string> AdapterRegistry::owner(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return it->second.owner;
}

std::vector<AdapterInfoRow> AdapterRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<AdapterInfoRow> rows;
  for (const auto& [name, e] : entries_) rows.push_back({name, e.path, e.owner, e.adapter != nullptr, e.created});
  return rows;
}

size_t AdapterRegistry::loaded_count() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [name, e] : entries_) n += e.adapter ? 1 : 0;
  return n;
}

int64_t AdapterRegistry::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

}  // namespace officina
