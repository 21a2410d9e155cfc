// DataParallel's collectives across two real ranks. The launcher test runs
// this executable again under `mpirun -np 2` with only the DataParallelRanks
// tests selected; run any other way (ctest, by hand) those skip themselves.
// Chunks are made small (4096 elements, so buffers under 16 are packed) and
// the sizes cross those limits: buffers around 16 elements, more than a
// chunk packed, buffers over a chunk. The values are small integers, so the
// sums are exact whatever order MPI adds them in.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mpi/mpi_test_util.h"
#include "test_util.h"
#include "train/data_parallel.h"

namespace officina {
namespace {

constexpr int64_t kChunk = 4096;

bool launched() { return DataParallel::launched_size() > 1; }

// MPI is initialised once per process: one DataParallel for all the tests.
DataParallel& world() {
  static std::unique_ptr<DataParallel> dp = [] {
    auto r = DataParallel::start();
    EXPECT_TRUE(r) << r.error().message;
    auto dp = r ? std::move(*r) : std::make_unique<DataParallel>();
    dp->set_chunk_elements(kChunk);
    return dp;
  }();
  return *dp;
}

#define SKIP_UNLESS_LAUNCHED()                                                 \
  if (!launched()) {                                                           \
    GTEST_SKIP() << "runs under mpirun -np 2 (DataParallel.CollectivesOnTwoRanks)"; \
  }

TEST(DataParallelRanks, RankAndSize) {
  SKIP_UNLESS_LAUNCHED();
  DataParallel& dp = world();
  EXPECT_EQ(dp.size(), 2);
  EXPECT_TRUE(dp.rank() == 0 || dp.rank() == 1);
  EXPECT_EQ(dp.local_size(), 2);
  EXPECT_EQ(dp.is_root(), dp.rank() == 0);
}

TEST(DataParallelRanks, AllreduceSumsEveryBuffer) {
  SKIP_UNLESS_LAUNCHED();
  DataParallel& dp = world();
  const float r = static_cast<float>(dp.rank());
  // Many small buffers (packed, more than one staging chunk), some at the
  // small/large border, and one large one over a chunk.
  std::vector<size_t> sizes = {0, 1, 7, 15, 16, 17, 3 * kChunk + 5};
  for (int i = 0; i < 700; ++i) sizes.push_back(1 + static_cast<size_t>(i) % 15);
  sizes.push_back(kChunk);
  std::vector<std::vector<float>> buffers;
  for (size_t b = 0; b < sizes.size(); ++b) {
    buffers.emplace_back(sizes[b]);
    for (size_t i = 0; i < sizes[b]; ++i) buffers[b][i] = static_cast<float>((i + b) % 1000) + 1000.0f * r;
  }
  std::vector<std::span<float>> spans(buffers.begin(), buffers.end());
  dp.allreduce_sum(std::span<const std::span<float>>(spans));
  for (size_t b = 0; b < sizes.size(); ++b) {
    for (size_t i = 0; i < sizes[b]; ++i) {
      ASSERT_EQ(buffers[b][i], 2.0f * static_cast<float>((i + b) % 1000) + 1000.0f) << "buffer " << b << "[" << i << "]";
    }
  }
  std::vector<float> one(2 * kChunk + 1, 1.0f + r);
  dp.allreduce_sum(std::span<float>(one));
  EXPECT_EQ(one.front(), 3.0f);
  EXPECT_EQ(one.back(), 3.0f);
  std::vector<double> d = {1.5 + dp.rank(), -2.0};
  dp.allreduce_sum(std::span<double>(d));
  EXPECT_EQ(d[0], 4.0);
  EXPECT_EQ(d[1], -4.0);
}

TEST(DataParallelRanks, BroadcastGivesRankZerosValues) {
  SKIP_UNLESS_LAUNCHED();
  DataParallel& dp = world();
  std::vector<float> v(2 * kChunk + 3, dp.is_root() ? 3.0f : -1.0f);
  v.back() = dp.is_root() ? 7.0f : 0.0f;
  dp.broadcast(v);
  EXPECT_EQ(v.front(), 3.0f);
  EXPECT_EQ(v[v.size() / 2], 3.0f);
  EXPECT_EQ(v.back(), 7.0f);
}

TEST(DataParallelRanks, AgreeGivesEveryRankTheLowestFailure) {
  SKIP_UNLESS_LAUNCHED();
  DataParallel& dp = world();
  EXPECT_TRUE(dp.agree({}));
  // Only rank 1 fails: rank 0 hears of it.
  auto one = dp.agree(dp.rank() == 1 ? Result<void>(fail("data.jsonl:3: bad")) : Result<void>{});
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().message, "rank 1: data.jsonl:3: bad");
  // Both fail: rank 0's message wins, unprefixed.
  auto both = dp.agree(fail("mine is rank {}", dp.rank()));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message, "mine is rank 0");
  dp.barrier();
}

TEST(DataParallel, CollectivesOnTwoRanks) {
  if (launched()) {
    GTEST_SKIP() << "the launcher itself";
  }
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  const std::string command = test::mpirun_command(2) + test::shell_quote(self) +
                              " --gtest_filter='DataParallelRanks.*' --gtest_color=no 2>&1";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  // Both ranks ran all four tests, none skipped.
  size_t passed = 0;
  for (size_t at = out.find("[  PASSED  ] 4 tests"); at != std::string::npos; at = out.find("[  PASSED  ] 4 tests", at + 1))
    ++passed;
  EXPECT_EQ(passed, 2u) << out;
  EXPECT_EQ(out.find("SKIPPED"), std::string::npos) << out;
}

}  // namespace
}  // namespace officina
