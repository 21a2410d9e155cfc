// A fresh platform instance in a temporary data directory per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "platform/platform.h"

namespace officina::testing {

class PlatformFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("officina-platform-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto init = Platform::init(dir_.string());
    ASSERT_TRUE(init) << init.error().message;
    operator_key_ = init->operator_key;
    auto opened = Platform::open(dir_.string());
    ASSERT_TRUE(opened) << opened.error().message;
    platform_ = std::move(*opened);
    platform_->set_clock([this] { return clock_; });
  }
  void TearDown() override {
    platform_.reset();
    std::filesystem::remove_all(dir_);
  }

  // An organisation, a project in it, and a key of `role` for the project.
  struct Tenant {
    Organization org;
    Project project;
    std::string key;
    Principal who;
  };
  Tenant make_tenant(const std::string& name, const std::string& role = "owner") {
    Tenant t;
    auto org = platform_->create_organization(cli_operator(), "test", name, "sme");
    EXPECT_TRUE(org) << org.error().message;
    t.org = *org;
    auto project = platform_->create_project(cli_operator(), "test", t.org.id, name + "-project");
    EXPECT_TRUE(project) << project.error().message;
    t.project = *project;
    auto key = platform_->create_api_key(cli_operator(), "test", t.project.id, role, std::nullopt);
    EXPECT_TRUE(key) << key.error().message;
    t.key = key->second;
    auto who = platform_->authenticate(t.key);
    EXPECT_TRUE(who) << who.error().message;
    t.who = *who;
    return t;
  }

  std::filesystem::path dir_;
  std::string operator_key_;
  std::unique_ptr<Platform> platform_;
  int64_t clock_ = 1'790'000'000;  // 2026-09-21
};

}  // namespace officina::testing
