// A fresh platform instance in a temporary data directory per test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "model/model.h"
#include "model/model_chat_template.h"
#include "model/model_test_util.h"
#include "platform/file_service.h"
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

// The tiny conformance model and what the upload check needs from it.
struct TinyModel {
  std::string path = test::conformance_path("models/tiny-gqa.gguf");
  std::unique_ptr<Model> model;
  std::unique_ptr<ChatTemplate> tmpl;
  FileCheckOptions check;

  bool available() const { return std::filesystem::exists(path); }
  // Loads it; false (with a test failure) when that fails.
  bool load() {
    auto m = Model::load(path);
    EXPECT_TRUE(m) << (m ? "" : m.error().message);
    if (!m) return false;
    model = std::move(*m);
    auto t = model_chat_template(*model);
    EXPECT_TRUE(t);
    if (!t) return false;
    tmpl = std::make_unique<ChatTemplate>(t->tmpl);
    check.tokenizer = &model->tokenizer();
    check.chat_template = tmpl.get();
    check.render = chat_render_options(*model);
    check.seq_len = 256;
    return true;
  }
};

}  // namespace officina::testing
