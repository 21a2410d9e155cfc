// Shared helpers for officina's tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
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

// A whole file as bytes ("" when it cannot be read), and writing one.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The officina binary built beside the tests.
inline std::string officina_binary() { return OFFICINA_BINARY; }

// Single-quotes a shell argument.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Outcome {
  int code = -1;    // exit code, -1 when the process did not exit normally
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `officina ARGS` (ARGS already shell-quoted where needed) and captures
// its exit code, stdout and stderr. A missing binary is a test failure.
inline Outcome run_officina(const std::string& args) {
  Outcome r;
  if (!std::filesystem::exists(officina_binary())) {
    ADD_FAILURE() << "the officina binary is missing: " << officina_binary() << " (build the 'officina' target)";
    return r;
  }
  TempDir dir;
  std::string cmd = shell_quote(officina_binary()) + " " + args + " 2>" + shell_quote(dir.path("err"));
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(dir.path("err"));
  std::stringstream text;
  text << err.rdbuf();
  r.err = text.str();
  return r;
}

}  // namespace officina::test
