// The mpirun command line the tests in tests/mpi start two ranks with.
#pragma once

#include <cstdlib>
#include <string>

#include "test_util.h"

namespace officina::test {

// What a container without a network, as root, needs (docs/finetune.md):
// shared memory between the ranks, no single-copy mechanism (no ptrace),
// and no core binding (the machine is shared). `timeout`: a rank that died
// badly or failed an ASSERT must not leave the other waiting forever in a
// collective. In a sanitizer build (scripts/run-sanitizers.sh) the ranks
// run without LeakSanitizer: Open MPI keeps allocations until exit, in
// plugins it unloads, which LSan reports as leaks it cannot attribute;
// officina's own leaks on these paths are checked by the single-process
// tests.
inline std::string mpirun_command(int np) {
  std::string env;
  if (const char* asan = std::getenv("ASAN_OPTIONS"); asan && *asan)
    env = "ASAN_OPTIONS=" + shell_quote(std::string(asan) + ":detect_leaks=0") + " ";
  return env + "timeout 120 " + shell_quote(OFFICINA_MPIEXEC) +
         " --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader"
         " --mca btl_vader_single_copy_mechanism none -np " +
         std::to_string(np) + " ";
}

}  // namespace officina::test
