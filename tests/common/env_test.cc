#include "common/env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/status.h"

namespace iss {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/iss_env_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(env_->CreateDirs(dir_ + "/a/b").ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Env* env_ = Env::Default();
  std::string dir_;
};

TEST_F(EnvTest, WriteReadRenameList) {
  ASSERT_TRUE(WriteFileAtomically(env_, dir_ + "/a/f", "hello").ok());
  EXPECT_TRUE(env_->FileExists(dir_ + "/a/f"));
  EXPECT_FALSE(env_->FileExists(dir_ + "/a/f.tmp"));
  EXPECT_EQ(ReadFileToString(env_, dir_ + "/a/f").value(), "hello");
  EXPECT_EQ(env_->FileSize(dir_ + "/a/f").value(), 5u);
  ASSERT_TRUE(WriteFileAtomically(env_, dir_ + "/a/f", "bye").ok());
  EXPECT_EQ(ReadFileToString(env_, dir_ + "/a/f").value(), "bye");
  ASSERT_TRUE(env_->RenameFile(dir_ + "/a/f", dir_ + "/a/g").ok());
  auto children = env_->GetChildren(dir_ + "/a").value();
  std::sort(children.begin(), children.end());
  EXPECT_EQ(children, (std::vector<std::string>{"b", "g"}));
  ASSERT_TRUE(env_->RemoveAll(dir_ + "/a").ok());
  EXPECT_FALSE(env_->FileExists(dir_ + "/a"));
  EXPECT_TRUE(env_->RemoveAll(dir_ + "/never").ok());
}

TEST_F(EnvTest, FailuresCarryTheStorageReason) {
  absl::StatusOr<std::string> missing = ReadFileToString(env_, dir_ + "/none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ReasonOf(missing.status()), Reason::kStorage);
  EXPECT_NE(missing.status().message().find("/none"), std::string::npos);
  EXPECT_EQ(ReasonOf(IoError("write x", ENOSPC)), Reason::kNoSpace);
}

TEST_F(EnvTest, RowFileAppendsAreVisibleThroughTheMap) {
  for (const std::string& path : {dir_ + "/rows", std::string()}) {  // named and temporary
    auto f = env_->OpenRowFile(path);
    ASSERT_TRUE(f.ok()) << f.status();
    auto map = (*f)->Map(1 << 20);
    ASSERT_TRUE(map.ok()) << map.status();
    ASSERT_TRUE((*f)->Append("abcd", 4).ok());
    ASSERT_TRUE((*f)->Append("efgh", 4).ok());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>((*map)->data()), 8), "abcdefgh");
    EXPECT_EQ((*f)->Size().value(), 8u);
    EXPECT_EQ((*map)->Resident({0, 4}), 2u);
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Truncate(4).ok());
    EXPECT_EQ((*f)->Size().value(), 4u);
  }
  EXPECT_GT(env_->MemAvailableBytes(), 0u);
  EXPECT_EQ(DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(DirName("c"), ".");
}

}  // namespace
}  // namespace iss
