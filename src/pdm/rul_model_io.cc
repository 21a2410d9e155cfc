// RulModel's MODEL_DIR: manifest.json (format, version, family, what the
// model expects and how it was trained) and model.json (preprocessing,
// health model, trees, calibration). Numbers are written with the shortest
// text that reads back to the same double, so a loaded model predicts
// exactly what the saved one did.
#include <filesystem>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "pdm/rul_model.h"

namespace officina::pdm {

namespace {

constexpr std::string_view kFormat = "officina-pdm-model";

Result<void> write_json(const std::string& path, const Json& json) {
  std::string text = json.dump(1) + "\n";
  OFFICINA_TRY(AtomicFile file, AtomicFile::create(path));
  OFFICINA_CHECK(file.write(text.data(), text.size()));
  return file.commit();
}

}  // namespace

Result<RulFamily> parse_rul_family(std::string_view name) {
  if (name == "gbt") return RulFamily::kGbt;
  if (name == "ensemble") return RulFamily::kEnsemble;
  if (name == "nn") return RulFamily::kNeural;
  return fail("unknown model family '{}': use gbt, nn or ensemble", name);
}

std::string_view rul_family_name(RulFamily family) {
  switch (family) {
    case RulFamily::kGbt: return "gbt";
    case RulFamily::kEnsemble: return "ensemble";
    case RulFamily::kNeural: return "nn";
  }
  return "?";
}

Result<void> RulModel::save(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("{}: cannot create the model directory: {}", dir, ec.message());
  Json members = Json::array();
  for (const GbtModel& m : members_) members.push_back(m.to_json());
  Json model = {{"preprocess", preprocess_.to_json()},
                {"health", health_.to_json()},
                {"members", std::move(members)},
                {"conformal", conformal_.to_json()}};
  if (!nets_.empty()) {
    Json nets = Json::array();
    for (const SequenceNet& n : nets_) nets.push_back(n.to_json());
    model["sequence"] = sequence_.to_json();
    model["nets"] = std::move(nets);
  }
  size_t trees = 0;
  for (const GbtModel& m : members_) trees += m.trees();
  Json manifest = {{"format", kFormat},
                   {"version", kFormatVersion},
                   {"family", rul_family_name(family_)},
                   {"rul_cap", rul_cap_},
                   {"seed", seed_},
                   {"feature_groups", feature_groups_},
                   {"settings", setting_names_},
                   {"sensors", preprocess_.to_json()["sensors"]},
                   {"kept_sensors", preprocess_.kept_names()},
                   {"dropped_sensors", preprocess_.dropped_names()},
                   {"regimes", preprocess_.regimes().count()},
                   {"features", feature_names_},
                   {"members", members_.size()},
                   {"trees", trees},
                   {"nets", nets_.size()},
                   {"coverage", conformal_.coverage()},
                   {"files", {"model.json"}}};
  // model.json first: a manifest never points at a model that is not there.
  OFFICINA_CHECK(write_json((std::filesystem::path(dir) / "model.json").string(), model));
  return write_json((std::filesystem::path(dir) / "manifest.json").string(), manifest);
}

Result<RulModel> RulModel::load(const std::string& dir) {
  const std::string manifest_path = (std::filesystem::path(dir) / "manifest.json").string();
  const std::string model_path = (std::filesystem::path(dir) / "model.json").string();
  if (!std::filesystem::exists(manifest_path)) {
    return fail("{}: not a model directory (no manifest.json; make one with `officina pdm train`)", dir);
  }
  OFFICINA_TRY(Json manifest, read_json_file(manifest_path));
  OFFICINA_TRY(std::string format, json_string(manifest, "format", manifest_path));
  if (format != kFormat) return fail("{}: format '{}', expected '{}'", manifest_path, format, kFormat);
  OFFICINA_TRY(int64_t version, json_int(manifest, "version", manifest_path));
  if (version < 1 || version > kFormatVersion) {
    return fail("{}: model format version {}; this officina reads versions 1 to {}", manifest_path, version, kFormatVersion);
  }
  RulModel m;
  OFFICINA_TRY(std::string family, json_string(manifest, "family", manifest_path));
  OFFICINA_TRY(m.family_, parse_rul_family(family));
  OFFICINA_TRY(m.rul_cap_, json_number(manifest, "rul_cap", manifest_path));
  OFFICINA_TRY(int64_t groups, json_int(manifest, "feature_groups", manifest_path));
  m.feature_groups_ = static_cast<uint32_t>(groups) & kAllFeatureGroups;
  try {
    m.seed_ = manifest.at("seed").get<uint64_t>();
    m.setting_names_ = manifest.at("settings").get<std::vector<std::string>>();
    m.feature_names_ = manifest.at("features").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return fail("{}: {}", manifest_path, e.what());
  }

  OFFICINA_TRY(Json model, read_json_file(model_path));
  for (const char* key : {"preprocess", "health", "members", "conformal"}) {
    if (!model.is_object() || !model.contains(key)) return fail("{}: field '{}' missing", model_path, key);
  }
  OFFICINA_TRY(m.preprocess_, Preprocessor::from_json(model["preprocess"], model_path));
  OFFICINA_TRY(m.health_, HealthModel::from_json(model["health"], model_path));
  OFFICINA_TRY(m.conformal_, ConformalCalibrator::from_json(model["conformal"], model_path));
  if (m.health_.dims() != m.preprocess_.kept_count()) {
    return fail("{}: the health model has {} sensors, preprocessing keeps {}", model_path, m.health_.dims(),
                m.preprocess_.kept_count());
  }
  WindowFeatures wf(m.preprocess_.kept_names(), m.setting_names_, m.feature_groups_);
  if (wf.names() != m.feature_names_) return fail("{}: the feature list does not match the model", manifest_path);
  if (!model["members"].is_array()) return fail("{}: field 'members' is not a list", model_path);
  for (size_t i = 0; i < model["members"].size(); ++i) {
    OFFICINA_TRY(GbtModel g, GbtModel::from_json(model["members"][i], model_path + ": members[" + std::to_string(i) + "]"));
    if (g.features() != wf.count()) {
      return fail("{}: members[{}] expects {} features, the model has {}", model_path, i, g.features(), wf.count());
    }
    m.members_.push_back(std::move(g));
  }
  if (model.contains("nets")) {
    if (!model["nets"].is_array() || !model.contains("sequence")) {
      return fail("{}: 'nets' must be a list, with 'sequence' beside it", model_path);
    }
    OFFICINA_TRY(m.sequence_, SequenceWindow::from_json(model["sequence"], model_path));
    if (m.sequence_.sensors() != m.preprocess_.kept_count() || m.sequence_.settings() != m.setting_names_.size()) {
      return fail("{}: the sequence input does not match the sensors and settings of the model", model_path);
    }
    for (size_t i = 0; i < model["nets"].size(); ++i) {
      OFFICINA_TRY(SequenceNet n, SequenceNet::from_json(model["nets"][i], model_path + ": nets[" + std::to_string(i) + "]"));
      if (n.window() != m.sequence_.window() || n.channels() != m.sequence_.channels() ||
          n.scalars() != m.sequence_.scalars()) {
        return fail("{}: nets[{}] does not take the model's sequence input", model_path, i);
      }
      m.nets_.push_back(std::move(n));
    }
  }
  // Version 1 ensembles (before the neural family) are trees only.
  const bool want_gbt = m.family_ != RulFamily::kNeural;
  const bool want_nn = m.family_ == RulFamily::kNeural || (m.family_ == RulFamily::kEnsemble && version >= 2);
  if (want_gbt == m.members_.empty() || want_nn == m.nets_.empty()) {
    return fail("{}: a '{}' model needs {}", model_path, rul_family_name(m.family_),
                m.family_ == RulFamily::kGbt ? "trees and no networks"
                : m.family_ == RulFamily::kNeural ? "networks and no trees" : "both trees and networks");
  }
  return m;
}

}  // namespace officina::pdm
