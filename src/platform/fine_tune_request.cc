#include "platform/fine_tune_request.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;

ApiError bad(std::string message, std::string param) {
  return bad_request(std::move(message), std::move(param), "invalid_hyperparameter");
}

// A field that is an integer in [lo, hi], "auto" (nullopt) when allowed, or absent.
ApiResult<std::optional<int64_t>> integer(const OJson& h, const char* name, int64_t lo, int64_t hi, bool auto_ok) {
  auto it = h.find(name);
  if (it == h.end() || it->is_null()) return std::optional<int64_t>{};
  const std::string param = fmt::format("hyperparameters.{}", name);
  if (it->is_string() && auto_ok && *it == "auto") return std::optional<int64_t>{};
  if (!it->is_number_integer()) {
    return std::unexpected(bad(fmt::format("{} must be an integer{}", name, auto_ok ? " or \"auto\"" : ""), param));
  }
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return std::unexpected(bad(fmt::format("{} must be between {} and {}", name, lo, hi), param));
  return std::optional<int64_t>{v};
}

ApiResult<std::optional<double>> number(const OJson& h, const char* name, double lo, double hi, bool lo_open,
                                        bool auto_ok) {
  auto it = h.find(name);
  if (it == h.end() || it->is_null()) return std::optional<double>{};
  const std::string param = fmt::format("hyperparameters.{}", name);
  if (it->is_string() && auto_ok && *it == "auto") return std::optional<double>{};
  if (!it->is_number()) {
    return std::unexpected(bad(fmt::format("{} must be a number{}", name, auto_ok ? " or \"auto\"" : ""), param));
  }
  const double v = it->get<double>();
  if (!std::isfinite(v) || v > hi || (lo_open ? v <= lo : v < lo)) {
    return std::unexpected(bad(fmt::format("{} must be in {}{}, {}]", name, lo_open ? "(" : "[", lo, hi), param));
  }
  return std::optional<double>{v};
}

ApiResult<std::string> text(const OJson& body, const char* name, bool required, size_t max_size) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return std::unexpected(bad_request(fmt::format("'{}' is required", name), name));
    return std::string();
  }
  if (!it->is_string()) return std::unexpected(bad_request(fmt::format("'{}' must be a string", name), name));
  std::string v = *it;
  if (v.size() > max_size) {
    return std::unexpected(bad_request(fmt::format("'{}' is longer than {} characters", name, max_size), name));
  }
  return v;
}

ApiResult<std::string> targets(const OJson& h) {
  auto it = h.find("lora_target_modules");
  if (it == h.end() || it->is_null()) return std::string("all");
  const std::string param = "hyperparameters.lora_target_modules";
  if (it->is_string() && *it == "all") return std::string("all");
  if (!it->is_array() || it->empty() || it->size() > 7) {
    return std::unexpected(bad("lora_target_modules must be \"all\" or a list of q_proj, k_proj, v_proj, o_proj, "
                               "gate_proj, up_proj, down_proj",
                               param));
  }
  static const char* kKnown[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  std::string out;
  for (const auto& m : *it) {
    if (!m.is_string() || std::find(std::begin(kKnown), std::end(kKnown), m.get<std::string>()) == std::end(kKnown)) {
      return std::unexpected(bad(fmt::format("unknown target module {}", m.dump()), param));
    }
    out += (out.empty() ? "" : ",") + m.get<std::string>();
  }
  return out;
}

}  // namespace

ApiResult<FineTuneRequest> parse_fine_tune_request(const OJson& body) {
  if (!body.is_object()) return std::unexpected(bad_request("the body must be a JSON object"));
  FineTuneRequest r;
  auto model = text(body, "model", true, 256);
  if (!model) return std::unexpected(model.error());
  r.model = *model;
  auto training = text(body, "training_file", true, 64);
  if (!training) return std::unexpected(training.error());
  r.training_file = *training;
  auto validation = text(body, "validation_file", false, 64);
  if (!validation) return std::unexpected(validation.error());
  r.validation_file = *validation;
  auto suffix = text(body, "suffix", false, 64);
  if (!suffix) return std::unexpected(suffix.error());
  for (char c : *suffix) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return std::unexpected(bad_request("suffix may hold only letters, digits, '-', '_' and '.'", "suffix"));
    }
  }
  r.suffix = *suffix;
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 2147483647) {
      return std::unexpected(bad_request("seed must be an integer between 0 and 2147483647", "seed"));
    }
    r.seed = it->get<int64_t>();
  }
  OJson h = OJson::object();
  if (auto it = body.find("hyperparameters"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return std::unexpected(bad_request("hyperparameters must be an object", "hyperparameters"));
    h = *it;
  }
  if (auto it = body.find("method"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || !it->contains("type") || (*it)["type"] != "supervised") {
      return std::unexpected(bad_request("method.type must be \"supervised\" (the one method officina trains)",
                                         "method.type"));
    }
    if (auto s = it->find("supervised"); s != it->end() && s->is_object()) {
      if (auto mh = s->find("hyperparameters"); mh != s->end() && mh->is_object()) {
        for (const auto& [k, v] : mh->items()) h[k] = v;
      }
    }
  }
  static const char* kKnown[] = {"n_epochs",   "batch_size",  "learning_rate_multiplier", "lora_r",
                                 "lora_alpha", "lora_dropout", "lora_target_modules",     "seq_len"};
  for (const auto& [k, v] : h.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) {
      return std::unexpected(bad(fmt::format("unknown hyperparameter '{}'", k), "hyperparameters." + k));
    }
  }
  auto epochs = integer(h, "n_epochs", 1, 50, true);
  if (!epochs) return std::unexpected(epochs.error());
  r.n_epochs = *epochs;
  auto batch = integer(h, "batch_size", 1, 256, true);
  if (!batch) return std::unexpected(batch.error());
  r.batch_size = *batch;
  auto seq = integer(h, "seq_len", 16, 8192, true);
  if (!seq) return std::unexpected(seq.error());
  r.seq_len = *seq;
  auto lr = number(h, "learning_rate_multiplier", 0, 10, true, true);
  if (!lr) return std::unexpected(lr.error());
  r.learning_rate_multiplier = *lr;
  auto rank = integer(h, "lora_r", 1, 256, false);
  if (!rank) return std::unexpected(rank.error());
  r.lora_r = rank->value_or(16);
  auto alpha = number(h, "lora_alpha", 0, 4096, true, false);
  if (!alpha) return std::unexpected(alpha.error());
  r.lora_alpha = *alpha;
  auto dropout = number(h, "lora_dropout", 0, 0.5, false, false);
  if (!dropout) return std::unexpected(dropout.error());
  r.lora_dropout = dropout->value_or(0.0);
  auto t = targets(h);
  if (!t) return std::unexpected(t.error());
  r.lora_targets = *t;
  if (auto it = body.find("resources"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return std::unexpected(bad_request("resources must be an object", "resources"));
    struct Field {
      const char* name;
      int64_t lo, hi;
      std::optional<int64_t>* into;
    };
    const Field fields[] = {{"nodes", 1, 64, &r.nodes},
                            {"tasks_per_node", 1, 64, &r.tasks_per_node},
                            {"time_limit_minutes", 1, 10080, &r.time_limit_minutes},
                            {"gpus_per_node", 0, 16, &r.gpus_per_node}};
    for (const auto& [k, v] : it->items()) {
      const Field* f = std::find_if(std::begin(fields), std::end(fields), [&](const Field& x) { return k == x.name; });
      const std::string param = "resources." + k;
      if (f == std::end(fields)) {
        return std::unexpected(bad_request(fmt::format("unknown resource '{}'", k), param));
      }
      if (!v.is_number_integer() || v.get<int64_t>() < f->lo || v.get<int64_t>() > f->hi) {
        return std::unexpected(
            bad_request(fmt::format("{} must be an integer between {} and {}", param, f->lo, f->hi), param));
      }
      *f->into = v.get<int64_t>();
    }
  }
  return r;
}

ResolvedHyperparameters resolve_hyperparameters(const FineTuneRequest& r, int64_t samples, int64_t context,
                                                int64_t seed) {
  ResolvedHyperparameters h;
  samples = std::max<int64_t>(samples, 1);
  h.n_epochs = r.n_epochs.value_or(std::clamp<int64_t>((100 + samples - 1) / samples, 1, 10));
  h.batch_size = r.batch_size.value_or(std::min<int64_t>(4, samples));
  h.seq_len = r.seq_len.value_or(std::min<int64_t>(512, context));
  h.seq_len = std::min(h.seq_len, context);
  h.learning_rate_multiplier = r.learning_rate_multiplier.value_or(1.0);
  h.learning_rate = 2e-4 * h.learning_rate_multiplier;
  h.lora_r = r.lora_r;
  h.lora_alpha = r.lora_alpha.value_or(2.0 * static_cast<double>(r.lora_r));
  h.lora_dropout = r.lora_dropout;
  h.lora_targets = r.lora_targets;
  h.seed = r.seed.value_or(seed);
  return h;
}

OJson ResolvedHyperparameters::to_json() const {
  OJson targets = OJson::array();
  if (lora_targets == "all") {
    targets = "all";
  } else {
    size_t start = 0;
    while (start <= lora_targets.size()) {
      const size_t comma = std::min(lora_targets.find(',', start), lora_targets.size());
      targets.push_back(lora_targets.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return {{"n_epochs", n_epochs},       {"batch_size", batch_size},     {"learning_rate_multiplier", learning_rate_multiplier},
          {"lora_r", lora_r},           {"lora_alpha", lora_alpha},     {"lora_dropout", lora_dropout},
          {"lora_target_modules", targets}, {"seq_len", seq_len}};
}

}  // namespace officina
