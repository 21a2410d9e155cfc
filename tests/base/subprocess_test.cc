#include "base/subprocess.h"

#include <gtest/gtest.h>

namespace officina {
namespace {

TEST(Subprocess, CollectsOutputAndExitCode) {
  auto r = run_program({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 10);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(Subprocess, AMissingProgramIsAnError) {
  auto r = run_program({"/nonexistent/officina-no-such-tool"}, 10);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos) << r.error().message;
  EXPECT_FALSE(run_program({}, 1));
}

TEST(Subprocess, APathLookupFindsPrograms) {
  auto r = run_program({"sh", "-c", "printf ok"}, 10);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "ok");
}

TEST(Subprocess, AHangingProgramIsKilledAtTheDeadline) {
  auto r = run_program({"/bin/sh", "-c", "echo started; sleep 30"}, 0.5);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->out, "started\n");
  EXPECT_EQ(r->signal, 9);
}

TEST(Subprocess, OutputBeyondTheLimitIsDropped) {
  auto r = run_program({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, 10, 1000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_EQ(r->exit_code, 0);
}

}  // namespace
}  // namespace officina
