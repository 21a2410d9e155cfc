// Random-weight models for tests, benchmarks and training from scratch:
// matrices drawn from N(0, std²) with a seeded portable generator (the same
// seed gives the same file everywhere), norms set to 1.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/error.h"
#include "model/model.h"

namespace officina {

struct RandomModel {
  ModelConfig config;
  ModelWeights weights;  // views into `storage`
  std::vector<std::unique_ptr<std::vector<float>>> storage;
};

// Fails when config does not validate.
Result<std::unique_ptr<RandomModel>> make_random_model(const ModelConfig& config, uint64_t seed,
                                                       double weight_std = 0.02);

}  // namespace officina
