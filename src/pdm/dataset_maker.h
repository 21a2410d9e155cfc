// Train/test/RUL sets from the twin's run-to-failure export
// (`officina twin export-runs`, see docs/twin.md): the runs of one machine
// are split by unit (seeded) into a training set, which keeps whole runs,
// and a test set whose runs are cut at a random cycle before the failure —
// at least `min_test_cycles` cycles where the run is long enough, always at
// least one cycle and one cycle short of the failure — with the true RUL of
// each test unit. Units are renumbered 1..n in each set, as in C-MAPSS.
// Runs of a single cycle cannot be cut and stay in the training set.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "pdm/run_dataset.h"

namespace officina::pdm {

struct MadeDataset {
  std::string machine;                    // LINE__MACHINE stem of the export
  std::vector<std::string> sensor_names;  // from index.json
  RunDataset train, test;
  std::vector<double> rul;  // [test units]
};

struct MakeDatasetOptions {
  double test_fraction = 0.3;  // 0 = all training, 1 = all test
  uint64_t seed = 1;
  size_t min_test_cycles = 31;
};

// Splits an already-read dataset.
MadeDataset split_runs(const RunDataset& runs, const MakeDatasetOptions& options);

// Reads RUNS_DIR/index.json, finds the machine (its name, or LINE__MACHINE,
// or LINE/MACHINE) and splits its runs. Errors list the machines there are.
Result<MadeDataset> make_dataset(const std::string& runs_dir, const std::string& machine,
                                 const MakeDatasetOptions& options);

// When DATA_PATH's directory holds a dataset.json (written by write_dataset)
// whose sensor list matches DATA's sensor count, names DATA's sensors after
// it (C-MAPSS text has no header). Fails only on an unreadable dataset.json.
Result<void> apply_dataset_names(RunDataset& data, const std::string& data_path);

// Writes OUT/train.txt, test.txt, RUL.txt (C-MAPSS layout; a set with no
// units is not written) and OUT/dataset.json (sensor names, counts, seed).
Result<std::vector<std::string>> write_dataset(const MadeDataset& made, const MakeDatasetOptions& options,
                                               const std::string& out_dir);

}  // namespace officina::pdm
