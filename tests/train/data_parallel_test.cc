// DataParallel as one process (no launcher in the environment): every
// collective leaves its buffers alone and agree() passes the local outcome
// through. The collectives across two ranks are tested under mpirun in
// tests/mpi.
#include <vector>

#include <gtest/gtest.h>

#include "train/data_parallel.h"

namespace officina {
namespace {

TEST(DataParallel, OneProcessIsANoOp) {
  if (DataParallel::launched_size() > 1) {
    GTEST_SKIP() << "started by an MPI launcher";
  }
  auto started = DataParallel::start();
  ASSERT_TRUE(started) << started.error().message;
  DataParallel& dp = **started;
  EXPECT_EQ(dp.rank(), 0);
  EXPECT_EQ(dp.size(), 1);
  EXPECT_EQ(dp.local_size(), 1);
  EXPECT_TRUE(dp.is_root());

  std::vector<float> a = {1, 2, 3}, b(100000, 0.5f);
  std::vector<std::span<float>> spans = {a, b};
  dp.allreduce_sum(std::span<const std::span<float>>(spans));
  dp.allreduce_sum(std::span<float>(a));
  dp.broadcast(b);
  std::vector<double> d = {4.5};
  dp.allreduce_sum(std::span<double>(d));
  dp.barrier();
  EXPECT_EQ(a, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(b, std::vector<float>(100000, 0.5f));
  EXPECT_EQ(d[0], 4.5);

  EXPECT_TRUE(dp.agree({}));
  auto e = dp.agree(fail("data.jsonl:3: bad"));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "data.jsonl:3: bad");
}

TEST(DataParallel, DefaultIsOneProcess) {
  DataParallel dp;
  EXPECT_EQ(dp.size(), 1);
  EXPECT_EQ(dp.rank(), 0);
  EXPECT_TRUE(dp.agree({}));
}

}  // namespace
}  // namespace officina
