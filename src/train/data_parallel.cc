#include "train/data_parallel.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#ifdef OFFICINA_WITH_MPI
// The C API only: Open MPI's and MPICH's mpi.h would otherwise pull in their
// old C++ bindings, which live in a library officina does not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace officina {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  return std::atoi(v);
}

// The launchers officina knows: Open MPI's mpirun, and PMI/PMIx ones
// (MPICH's hydra, Slurm's srun --mpi=pmi2|pmix).
bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

#ifdef OFFICINA_WITH_MPI
// MPI counts are ints: chunks of 16 Mi elements (the default) stay far below
// that and still move large gradients in few calls.
template <class T>
void allreduce_chunks(std::span<T> values, MPI_Datatype type, int64_t chunk) {
  for (int64_t begin = 0; begin < static_cast<int64_t>(values.size()); begin += chunk) {
    const int64_t n = std::min<int64_t>(chunk, static_cast<int64_t>(values.size()) - begin);
    MPI_Allreduce(MPI_IN_PLACE, values.data() + begin, static_cast<int>(n), type, MPI_SUM, MPI_COMM_WORLD);
  }
}
#endif

}  // namespace

bool DataParallel::built_with_mpi() {
#ifdef OFFICINA_WITH_MPI
  return true;
#else
  return false;
#endif
}

int DataParallel::launched_size() {
  if (int n = env_int("OMPI_COMM_WORLD_SIZE"); n > 0) return n;
  if (int n = env_int("PMI_SIZE"); n > 0) return n;
  return 1;
}

Result<std::unique_ptr<DataParallel>> DataParallel::start() {
  auto dp = std::make_unique<DataParallel>();
  if (!launched_by_mpi()) return dp;
  if (!built_with_mpi()) {
    if (launched_size() > 1)
      return fail("started by an MPI launcher with {} processes, but this officina was built without MPI "
                  "(install libopenmpi-dev and rebuild with -DOFFICINA_MPI=ON), or run it without mpirun",
                  launched_size());
    return dp;
  }
#ifdef OFFICINA_WITH_MPI
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return fail("MPI_Init_thread failed: check the mpirun command line and the MCA settings (docs/finetune.md)");
  dp->mpi_ = true;  // from here the destructor finalizes
  if (provided < MPI_THREAD_FUNNELED)
    return fail("this MPI library gives thread level {} but officina needs MPI_THREAD_FUNNELED", provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &dp->rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &dp->size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, dp->rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &dp->local_size_);
  MPI_Comm_free(&node);
#endif
  return dp;
}

DataParallel::~DataParallel() {
#ifdef OFFICINA_WITH_MPI
  if (mpi_) MPI_Finalize();
#endif
}

void DataParallel::allreduce_sum(std::span<float> values) {
#ifdef OFFICINA_WITH_MPI
  if (mpi_ && size_ > 1) allreduce_chunks(values, MPI_FLOAT, chunk_);
#endif
}

void DataParallel::allreduce_sum(std::span<double> values) {
#ifdef OFFICINA_WITH_MPI
  if (mpi_ && size_ > 1) allreduce_chunks(values, MPI_DOUBLE, chunk_);
#endif
}

void DataParallel::allreduce_sum(std::span<const std::span<float>> buffers) {
  if (!mpi_ || size_ == 1) return;
  // Buffers below `small` elements go through staging_ (up to a chunk at a time).
  const size_t small = static_cast<size_t>(chunk_ / 256);
  size_t first = 0, packed = 0;
  auto flush = [&](size_t end) {
    if (packed == 0) return;
    staging_.resize(packed);
    size_t at = 0;
    for (size_t i = first; i < end; ++i) {
      if (buffers[i].size() >= small) continue;
      std::copy(buffers[i].begin(), buffers[i].end(), staging_.begin() + static_cast<std::ptrdiff_t>(at));
      at += buffers[i].size();
    }
    allreduce_sum(std::span<float>(staging_));
    at = 0;
    for (size_t i = first; i < end; ++i) {
      if (buffers[i].size() >= small) continue;
      std::copy_n(staging_.begin() + static_cast<std::ptrdiff_t>(at), buffers[i].size(), buffers[i].begin());
      at += buffers[i].size();
    }
    packed = 0;
  };
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].size() >= small) {
      allreduce_sum(buffers[i]);
      continue;
    }
    if (packed + buffers[i].size() > static_cast<size_t>(chunk_)) {
      flush(i);
      first = i;
    }
    packed += buffers[i].size();
  }
  flush(buffers.size());
}

void DataParallel::broadcast(std::span<float> values) {
#ifdef OFFICINA_WITH_MPI
  if (!mpi_ || size_ == 1) return;
  for (int64_t begin = 0; begin < static_cast<int64_t>(values.size()); begin += chunk_) {
    const int64_t n = std::min<int64_t>(chunk_, static_cast<int64_t>(values.size()) - begin);
    MPI_Bcast(values.data() + begin, static_cast<int>(n), MPI_FLOAT, 0, MPI_COMM_WORLD);
  }
#endif
}

void DataParallel::barrier() {
#ifdef OFFICINA_WITH_MPI
  if (mpi_ && size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

Result<void> DataParallel::agree(Result<void> local) {
  if (!mpi_ || size_ == 1) return local;
#ifdef OFFICINA_WITH_MPI
  // The lowest failing rank (size_ when none) tells the others its message.
  int mine = local ? size_ : rank_, first = size_;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == size_) return {};
  std::string message = local ? std::string() : local.error().message;
  int length = static_cast<int>(std::min<size_t>(message.size(), 1 << 20));
  MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD);
  message.resize(static_cast<size_t>(length));
  MPI_Bcast(message.data(), length, MPI_CHAR, first, MPI_COMM_WORLD);
  if (first == 0) return std::unexpected(Error{std::move(message)});
  return fail("rank {}: {}", first, message);
#else
  return local;
#endif
}

}  // namespace officina
