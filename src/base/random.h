// A small, fast, portable random generator (xoshiro256** seeded through
// splitmix64): the same seed gives the same numbers on every machine and
// compiler, unlike std::normal_distribution.
// Thread-safety: one generator per thread.
#pragma once

#include <cstdint>

namespace officina {

class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1)
  double normal();   // mean 0, standard deviation 1 (Box-Muller)

 private:
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// A well-mixed 64-bit hash of a 64-bit value (splitmix64's finaliser), for
// deriving independent seeds: mix_seed(seed ^ mix_seed(stream)).
uint64_t mix_seed(uint64_t x);

}  // namespace officina
