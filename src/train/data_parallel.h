// Data-parallel training across processes: what `mpirun -np N officina
// finetune` needs from MPI, and nothing more. Every rank holds the whole
// model and optimizer; each trains on its own shard of every global batch;
// the gradients are summed over the ranks (allreduce) before clipping and the
// optimizer step, so every rank applies the same update and the parameters
// stay identical. Rank 0 alone writes files.
//
// A DataParallel is either
//   - single: one process, no MPI (built without MPI, or not started by an
//     MPI launcher); every collective is a no-op and rank() == 0; or
//   - MPI: started by mpirun/srun (detected from the launcher's environment,
//     so a plain `officina finetune` never initialises MPI), MPI_Init_thread
//     with MPI_THREAD_FUNNELED (only the thread that created the
//     DataParallel calls MPI; officina's thread pool and OpenBLAS threads
//     never do), MPI_Finalize at destruction.
// Collectives must be called by every rank in the same order (MPI's rule);
// buffers are plain spans, reduced in place; large buffers are sent in
// chunks so that no count exceeds MPI's int.
// MPI's own errors abort the job (MPI_ERRORS_ARE_FATAL); errors of officina
// on one rank reach the others through agree().
// Thread-safety: call from the thread that created it only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/error.h"

namespace officina {

class DataParallel {
 public:
  // A single process (no MPI).
  DataParallel() = default;
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // MPI when the process was started by an MPI launcher, single otherwise.
  // Call once per process. Fails when the launcher runs several processes
  // but this officina was built without MPI (each would otherwise train
  // alone and overwrite the others' output), or when MPI cannot give
  // MPI_THREAD_FUNNELED.
  static Result<std::unique_ptr<DataParallel>> start();
  // Whether officina was built with MPI (OFFICINA_MPI).
  static bool built_with_mpi();
  // The world size the launcher's environment announces (1 without one).
  static int launched_size();

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ranks on this machine (MPI_COMM_TYPE_SHARED), to share its cores.
  int local_size() const { return local_size_; }
  bool is_root() const { return rank_ == 0; }

  // Elements per MPI call (default 16 Mi, 64 MiB of floats); buffers under
  // 1/256 of it are packed together. Tests make it small so that small
  // buffers cross its borders. n >= 256.
  void set_chunk_elements(int64_t n) { chunk_ = n; }

  // Element-wise sums over all ranks, in place; every rank gets the sums.
  void allreduce_sum(std::span<float> values);
  void allreduce_sum(std::span<double> values);
  // The same over many buffers (one per parameter tensor): small ones are
  // packed into one staging buffer so that a LoRA adapter's hundreds of
  // tensors cost a few calls, large ones are reduced where they are.
  void allreduce_sum(std::span<const std::span<float>> buffers);
  // Rank 0's values to every rank.
  void broadcast(std::span<float> values);
  void barrier();

  // Makes one outcome of all ranks' local outcomes: every rank returns the
  // error of the lowest rank that failed (prefixed "rank R: " when R > 0),
  // or success when none did. A collective: each rank must call it.
  Result<void> agree(Result<void> local);

 private:
  bool mpi_ = false;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  int64_t chunk_ = int64_t{1} << 24;
  std::vector<float> staging_;
};

}  // namespace officina
