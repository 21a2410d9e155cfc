// Shared helpers for officina's tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace officina::test {

// The conformance folder: $OFFICINA_CONFORMANCE_DIR, else ../shared/conformance
// beside the source tree.
inline std::string conformance_dir() {
  if (const char* env = std::getenv("OFFICINA_CONFORMANCE_DIR"); env && *env) return env;
  return OFFICINA_DEFAULT_CONFORMANCE_DIR;
}

inline std::string conformance_path(const std::string& relative) {
  return conformance_dir() + "/" + relative;
}

// A fresh temporary directory for one test, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "officina-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path(const std::string& name = "") const { return name.empty() ? path_ : path_ + "/" + name; }

 private:
  std::string path_;
};

// The officina binary built beside the tests.
inline std::string officina_binary() { return OFFICINA_BINARY; }

}  // namespace officina::test
