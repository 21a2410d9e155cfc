#include <atomic>
#include <chrono>
#include <thread>
#include <fstream>
#include <numeric>

#include "base/atomic_file.h"
#include "base/json_util.h"
#include "base/mapped_file.h"
#include "base/random.h"
#include "base/thread_pool.h"
#include "test_util.h"

namespace officina {
namespace {

TEST(ThreadPool, RunsEveryTaskOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 5, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.run(n, [&](int64_t i, int t) {
        EXPECT_LT(t, threads);
        hits[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      std::atomic<int64_t> sum = 0;
      pool.parallel_for(n, [&](int64_t b, int64_t e, int) {
        int64_t s = 0;
        for (int64_t i = b; i < e; ++i) s += i;
        sum += s;
      });
      EXPECT_EQ(sum.load(), n * (n - 1) / 2);
    }
  }
}

// The pool hands jobs over by spinning, then sleeping: a job must reach every
// worker whether it is posted before the workers start, while they spin, or
// after they went to sleep; more threads than cores must not deadlock.
TEST(ThreadPool, HandsOffJobsAtEveryPhase) {
  for (int threads : {2, 3, 8}) {
    for (int round = 0; round < 20; ++round) {
      ThreadPool pool(threads);  // first job right after the workers are created
      std::atomic<int64_t> sum = 0;
      pool.run(threads * 2, [&](int64_t i, int) { sum += i + 1; });
      EXPECT_EQ(sum.load(), threads * 2 * (threads * 2 + 1) / 2);
    }
    ThreadPool pool(threads);
    int64_t expected = 0;
    std::atomic<int64_t> sum = 0;
    for (int job = 0; job < 2000; ++job) {  // back to back: the workers are spinning
      pool.run(threads, [&](int64_t i, int) { sum += i; });
      expected += threads * (threads - 1) / 2;
    }
    for (int job = 0; job < 3; ++job) {  // after the spin time: the workers sleep
      std::this_thread::sleep_for(std::chrono::microseconds(4 * ThreadPool::kSpinMicros));
      pool.run(threads, [&](int64_t i, int) { sum += i; });
      expected += threads * (threads - 1) / 2;
    }
    // A slow task makes the caller outlast its spin and sleep until it ends.
    pool.run(threads, [&](int64_t i, int) {
      if (i == threads - 1) std::this_thread::sleep_for(std::chrono::microseconds(3 * ThreadPool::kSpinMicros));
      sum += i;
    });
    expected += threads * (threads - 1) / 2;
    EXPECT_EQ(sum.load(), expected) << threads << " threads";
  }
}

TEST(MappedFile, MapsAndReportsErrors) {
  test::TempDir dir;
  std::ofstream(dir.path("a.bin")) << "hello";
  auto f = MappedFile::open(dir.path("a.bin"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->size(), 5u);
  EXPECT_EQ(std::memcmp(f->data(), "hello", 5), 0);
  auto missing = MappedFile::open(dir.path("nope.bin"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.bin"), std::string::npos);
  auto directory = MappedFile::open(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("directory"), std::string::npos);
}

TEST(AtomicFile, CommitsOrLeavesTheOldFile) {
  test::TempDir dir;
  std::string path = dir.path("out.txt");
  std::ofstream(path) << "old";
  {
    auto f = AtomicFile::create(path);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write("new!", 4));
    // destroyed without commit: the old file stays, no temporary remains
  }
  EXPECT_EQ(*read_text_file(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  auto f = AtomicFile::create(path);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->write("new!", 4));
  EXPECT_EQ(f->offset(), 4u);
  ASSERT_TRUE(f->commit());
  EXPECT_EQ(*read_text_file(path), "new!");
}

TEST(Json, ErrorsNameThePlace) {
  auto bad = parse_json("{\"a\": ", "config.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("config.json"), std::string::npos);
  auto j = parse_json(R"({"n": 3, "s": "x", "f": 1.5, "b": true})", "t");
  ASSERT_TRUE(j);
  EXPECT_EQ(*json_int(*j, "n", "t"), 3);
  EXPECT_FALSE(json_int(*j, "s", "t"));
  EXPECT_NE(json_int(*j, "missing", "t").error().message.find("'missing'"), std::string::npos);
  EXPECT_EQ(*json_number_or(*j, "missing", 2.5, "t"), 2.5);
  EXPECT_FALSE(json_bool_or(*j, "n", false, "t"));
  EXPECT_TRUE(*json_bool_or(*j, "b", false, "t"));
}

TEST(Rng, IsDeterministicAndRoughlyNormal) {
  Rng a(5), b(5);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  Rng r(9);
  double sum = 0, sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double x = r.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  EXPECT_NE(mix_seed(1), mix_seed(2));
}

}  // namespace
}  // namespace officina
