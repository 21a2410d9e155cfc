#include "twin/yaml_reader.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "twin/duration.h"

namespace officina::twin {

std::string child_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string index_path(std::string_view path, size_t index) { return fmt::format("{}[{}]", path, index); }

Result<YAML::Node> YamlReader::load(std::string_view text) {
  if (text.size() > kMaxInputBytes) return fail("{}: {} bytes, more than the {} a plant file may have", file_, text.size(), kMaxInputBytes);
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return root;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return fail("{}: invalid YAML: {}", file_, e.msg);
    return fail("{}:{}:{}: invalid YAML: {}", file_, e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    return fail("{}: invalid YAML: {}", file_, e.what());
  }
}

void YamlReader::note(const YAML::Node& at, std::string_view path) {
  if (!at.IsDefined() || at.Mark().is_null()) return;
  source_[std::string(path)] = fmt::format("{}:{}", file_, at.Mark().line + 1);
}

void YamlReader::error(const YAML::Node& at, std::string_view path, std::string_view message) {
  if (errors_.size() >= kMaxErrors) {
    ++dropped_;
    return;
  }
  std::string where = file_;
  if (at.IsDefined() && !at.Mark().is_null()) where = fmt::format("{}:{}", file_, at.Mark().line + 1);
  if (path.empty()) {
    errors_.push_back(fmt::format("{}: {}", where, message));
  } else {
    errors_.push_back(fmt::format("{}: {}: {}", where, path, message));
  }
}

Error YamlReader::errors() const {
  std::string text;
  for (const std::string& e : errors_) {
    if (!text.empty()) text += '\n';
    text += e;
  }
  if (dropped_ > 0) text += fmt::format("\n{}: {} more problems", file_, dropped_);
  return Error{text};
}

bool YamlReader::spend(const YAML::Node& node, std::string_view path) {
  if (budget_ == 0) return false;
  if (--budget_ == 0) {
    error(node, path, "document too large (too many nodes; are aliases repeating a big subtree?)");
    return false;
  }
  return true;
}

bool YamlReader::expect_map(const YAML::Node& node, std::string_view path,
                            std::initializer_list<std::string_view> allowed) {
  if (!spend(node, path)) return false;
  if (!node.IsMap()) {
    error(node, path, "must be a mapping of keys to values");
    return false;
  }
  note(node, path);
  bool ok = true;
  for (const auto& entry : node) {
    if (!spend(entry.first, path)) return false;
    if (!entry.first.IsScalar()) {
      error(entry.first, path, "keys must be plain names");
      ok = false;
      continue;
    }
    const std::string& key = entry.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
      error(entry.first, child_path(path, key), fmt::format("unknown key (expected one of: {})", list));
      ok = false;
    } else {
      note(entry.second, child_path(path, key));
    }
  }
  return ok;
}

bool YamlReader::expect_list(const YAML::Node& node, std::string_view path, size_t max_items) {
  if (!spend(node, path)) return false;
  if (!node.IsSequence()) {
    error(node, path, "must be a list");
    return false;
  }
  if (node.size() > max_items) {
    error(node, path, fmt::format("{} entries, at most {} allowed", node.size(), max_items));
    return false;
  }
  note(node, path);
  return true;
}

std::optional<double> YamlReader::scalar_number(const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) {
    error(node, path, "must be a number");
    return std::nullopt;
  }
  const std::string& s = node.Scalar();
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) {
    error(node, path, fmt::format("'{}' is not a number", s));
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::scalar_duration(const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) {
    error(node, path, "must be a duration (30s, 5m, 2h, 1d or seconds)");
    return std::nullopt;
  }
  auto d = parse_duration(node.Scalar());
  if (!d) {
    error(node, path, d.error().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<double> YamlReader::number(const YAML::Node& map, std::string_view key, std::string_view path) {
  const YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  return scalar_number(v, child_path(path, key));
}

std::optional<int64_t> YamlReader::integer(const YAML::Node& map, std::string_view key, std::string_view path) {
  const YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  std::string p = child_path(path, key);
  if (!v.IsScalar()) {
    error(v, p, "must be a whole number");
    return std::nullopt;
  }
  const std::string& s = v.Scalar();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    error(v, p, fmt::format("'{}' is not a whole number", s));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> YamlReader::string(const YAML::Node& map, std::string_view key, std::string_view path) {
  const YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  if (!v.IsScalar()) {
    error(v, child_path(path, key), "must be a string");
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<bool> YamlReader::boolean(const YAML::Node& map, std::string_view key, std::string_view path) {
  const YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) return v.Scalar() == "true";
  error(v, child_path(path, key), "must be true or false");
  return std::nullopt;
}

std::optional<double> YamlReader::duration(const YAML::Node& map, std::string_view key, std::string_view path) {
  const YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  return scalar_duration(v, child_path(path, key));
}

std::optional<Distribution> YamlReader::distribution(const YAML::Node& map, std::string_view key,
                                                     std::string_view path) {
  const YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  std::string p = child_path(path, key);
  if (v.IsScalar()) {
    auto d = scalar_duration(v, p);
    if (!d) return std::nullopt;
    return Distribution::fixed(*d);
  }
  if (!v.IsMap()) {
    error(v, p, "must be a duration or {dist: KIND, ...}");
    return std::nullopt;
  }
  auto kind = string(v, "dist", p);
  if (!kind) {
    error(v, p, "missing 'dist' (fixed, exponential, normal, lognormal, triangular or weibull)");
    return std::nullopt;
  }
  Distribution d;
  auto need = [&](std::string_view k) -> double {
    const YAML::Node n = v[std::string(k)];
    if (!n.IsDefined() || n.IsNull()) error(v, child_path(p, k), "missing");
    auto x = duration(v, k, p);
    return x.value_or(NAN);
  };
  bool keys_ok = true;
  if (*kind == "fixed") {
    keys_ok = expect_map(v, p, {"dist", "value"});
    d = Distribution::fixed(need("value"));
  } else if (*kind == "exponential") {
    keys_ok = expect_map(v, p, {"dist", "mean"});
    d = Distribution::exponential(need("mean"));
  } else if (*kind == "normal" || *kind == "lognormal") {
    keys_ok = expect_map(v, p, {"dist", "mean", "sd"});
    d.kind = *kind == "normal" ? DistributionKind::kNormal : DistributionKind::kLognormal;
    d.a = need("mean");
    d.b = need("sd");
  } else if (*kind == "triangular") {
    keys_ok = expect_map(v, p, {"dist", "min", "mode", "max"});
    d.kind = DistributionKind::kTriangular;
    d.a = need("min");
    d.b = need("mode");
    d.c = need("max");
  } else if (*kind == "weibull") {
    keys_ok = expect_map(v, p, {"dist", "shape", "scale", "mean"});
    d.kind = DistributionKind::kWeibull;
    auto shape = number(v, "shape", p);
    if (!shape) {
      const YAML::Node n = v["shape"];
      if (!n.IsDefined() || n.IsNull()) error(v, child_path(p, "shape"), "missing");
      return std::nullopt;
    }
    d.a = *shape;
    auto scale = duration(v, "scale", p);
    auto mean = duration(v, "mean", p);
    if (scale.has_value() == mean.has_value()) {
      error(v, p, "give exactly one of 'scale' or 'mean'");
      return std::nullopt;
    }
    if (*shape <= 0) {
      error(v, child_path(p, "shape"), "must be > 0");
      return std::nullopt;
    }
    d.b = scale ? *scale : *mean / std::tgamma(1 + 1 / *shape);
  } else {
    error(v["dist"], child_path(p, "dist"),
          fmt::format("unknown distribution '{}' (fixed, exponential, normal, lognormal, triangular or weibull)", *kind));
    return std::nullopt;
  }
  if (!keys_ok || std::isnan(d.a) || std::isnan(d.b) || std::isnan(d.c)) return std::nullopt;
  return d;
}

}  // namespace officina::twin

