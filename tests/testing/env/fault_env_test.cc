// FaultInjectionEnv itself: unsynced bytes are dropped at a power cut, synced ones kept; a
// file whose creation no SyncDir made durable disappears; an unsynced rename is undone
// (the file it replaced comes back with its bytes), a synced one is kept; an unsynced
// removal is undone; with syncs off nothing survives; an inactive file system refuses
// changes.
#include "testing/env/fault_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

namespace iss::testing {
namespace {

namespace fs = std::filesystem;

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "iss-fault-env-" + std::to_string(getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Read(const std::string& name) {
    absl::StatusOr<std::string> s = ReadFileToString(Env::Default(), Path(name));
    return s.ok() ? *s : "<missing>";
  }
  // Writes `synced`, Syncs, then appends `unsynced`; closes.
  void Write(const std::string& name, const std::string& synced, const std::string& unsynced) {
    auto f = env_.NewWritableFile(Path(name));
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append(synced).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Append(unsynced).ok());
    ASSERT_TRUE((*f)->Close().ok());
  }

  std::string dir_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(FaultEnvTest, UnsyncedBytesAreDroppedSyncedOnesKept) {
  Write("a", "durable", "-lost");
  ASSERT_TRUE(env_.SyncDir(dir_).ok());  // the creation is durable
  EXPECT_EQ(Read("a"), "durable-lost");  // before the cut, the page cache has it all
  EXPECT_EQ(env_.DurableBytes(Path("a")), 7u);
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_EQ(Read("a"), "durable");
}

TEST_F(FaultEnvTest, RowFileAppendsSurviveOnlyUpToTheirSync) {
  {
    auto f = env_.OpenRowFile(Path("rows"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("0123", 4).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Append("4567", 4).ok());
  }
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_EQ(Read("rows"), "0123");
}

TEST_F(FaultEnvTest, ACreationWithoutSyncDirDisappears) {
  Write("new", "synced bytes", "");
  EXPECT_EQ(env_.PendingDirChanges(), 1u);
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_FALSE(fs::exists(Path("new")));
}

TEST_F(FaultEnvTest, AnUnsyncedRenameIsUndoneAndTheReplacedFileRestored) {
  Write("meta", "old", "");
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  Write("meta.tmp", "new", "");
  ASSERT_TRUE(env_.RenameFile(Path("meta.tmp"), Path("meta")).ok());
  EXPECT_EQ(Read("meta"), "new");
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_EQ(Read("meta"), "old");
  EXPECT_FALSE(fs::exists(Path("meta.tmp")));  // its creation was not durable either
}

TEST_F(FaultEnvTest, ASyncedRenameIsKept) {
  Write("meta", "old", "");
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  Write("meta.tmp", "new", "");
  ASSERT_TRUE(env_.RenameFile(Path("meta.tmp"), Path("meta")).ok());
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  EXPECT_EQ(env_.PendingDirChanges(), 0u);
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_EQ(Read("meta"), "new");
  EXPECT_FALSE(fs::exists(Path("meta.tmp")));
}

TEST_F(FaultEnvTest, AnUnsyncedRemovalIsUndone) {
  Write("kept", "bytes", "+tail");
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.RemoveFile(Path("kept")).ok());
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_EQ(Read("kept"), "bytes");  // back, with its synced bytes only
  ASSERT_TRUE(env_.RemoveFile(Path("kept")).ok());
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_FALSE(fs::exists(Path("kept")));
}

TEST_F(FaultEnvTest, WithSyncsOffNothingNewSurvives) {
  Write("before", "durable", "");
  ASSERT_TRUE(env_.SyncDir(dir_).ok());
  env_.SetSyncEnabled(false);
  Write("meta.tmp", "new", "");  // Sync returns OK ...
  ASSERT_TRUE(env_.RenameFile(Path("meta.tmp"), Path("before")).ok());
  ASSERT_TRUE(env_.SyncDir(dir_).ok());  // ... and so does SyncDir
  ASSERT_TRUE(env_.PowerCut().ok());
  EXPECT_EQ(Read("before"), "durable");
  EXPECT_FALSE(fs::exists(Path("meta.tmp")));
}

TEST_F(FaultEnvTest, AnInactiveFileSystemRefusesChanges) {
  Write("a", "x", "");
  env_.SetFilesystemActive(false);
  EXPECT_FALSE(env_.NewWritableFile(Path("b")).ok());
  EXPECT_FALSE(env_.RenameFile(Path("a"), Path("c")).ok());
  EXPECT_FALSE(env_.RemoveFile(Path("a")).ok());
  EXPECT_FALSE(env_.SyncDir(dir_).ok());
  EXPECT_EQ(Read("a"), "x");  // reads still work
  env_.SetFilesystemActive(true);
  EXPECT_TRUE(env_.SyncDir(dir_).ok());
}

}  // namespace
}  // namespace iss::testing
