// Tests of test::FaultInjectionFs on the real file system: what DropUnsyncedData keeps is
// exactly what was synced (bytes by file Sync/Fsync, entries by directory fsync).
#include "testing/rocks/fault_injection_fs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace iss::test {
namespace {

using rocksdb::FileOptions;
using rocksdb::IOOptions;

class FaultInjectionFsTest : public testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = testing::TempDir() + "/iss_fault_fs_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    fs_ = std::make_shared<FaultInjectionFs>();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::unique_ptr<rocksdb::FSWritableFile> Create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    rocksdb::IOStatus s = fs_->NewWritableFile(Path(name), FileOptions(), &f, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return f;
  }
  void Append(rocksdb::FSWritableFile* f, const std::string& data) {
    rocksdb::IOStatus s = f->Append(data, IOOptions(), nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void SyncDir() {
    std::unique_ptr<rocksdb::FSDirectory> d;
    ASSERT_TRUE(fs_->NewDirectory(dir_, IOOptions(), &d, nullptr).ok());
    ASSERT_TRUE(d->Fsync(IOOptions(), nullptr).ok());
  }
  void Drop() {
    absl::Status s = fs_->DropUnsyncedData();
    ASSERT_TRUE(s.ok()) << s;
  }
  bool Exists(const std::string& name) const { return std::filesystem::exists(Path(name)); }
  std::string Read(const std::string& name) const {
    std::ifstream in(Path(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void WriteOutside(const std::string& name, const std::string& data) const {
    std::ofstream(Path(name), std::ios::binary) << data;
  }

  std::string dir_;
  std::shared_ptr<FaultInjectionFs> fs_;
};

TEST_F(FaultInjectionFsTest, UnsyncedBytesAreDroppedSyncedKept) {
  auto f = Create("a.log");
  SyncDir();
  Append(f.get(), "synced-");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  Append(f.get(), "lost");
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());  // closing persists nothing
  EXPECT_EQ(Read("a.log"), "synced-lost");           // the page cache has it all
  EXPECT_EQ(fs_->SyncedBytes(Path("a.log")), 7u);
  Drop();
  EXPECT_EQ(Read("a.log"), "synced-");
}

TEST_F(FaultInjectionFsTest, FsyncCountsRangeSyncDoesNot) {
  auto f = Create("b.sst");
  SyncDir();
  Append(f.get(), "12345");
  ASSERT_TRUE(f->Fsync(IOOptions(), nullptr).ok());
  Append(f.get(), "678");
  ASSERT_TRUE(f->RangeSync(0, 8, IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  Drop();
  EXPECT_EQ(Read("b.sst"), "12345");
}

TEST_F(FaultInjectionFsTest, NewFileWithoutDirectoryFsyncIsRemoved) {
  auto f = Create("new.log");
  Append(f.get(), "data");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());  // its bytes, but not its entry
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  auto g = Create("kept.log");
  Append(g.get(), "data");
  ASSERT_TRUE(g->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(g->Close(IOOptions(), nullptr).ok());
  SyncDir();
  auto h = Create("late.log");  // after the directory fsync
  ASSERT_TRUE(h->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(h->Close(IOOptions(), nullptr).ok());
  Drop();
  EXPECT_TRUE(Exists("new.log")) << "synced before the directory fsync: durable";
  EXPECT_EQ(Read("kept.log"), "data");
  EXPECT_FALSE(Exists("late.log"));
}

TEST_F(FaultInjectionFsTest, EntryWithoutFsyncIsRemovedEvenWhenBytesSynced) {
  auto f = Create("x.log");
  Append(f.get(), "data");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  Drop();
  EXPECT_FALSE(Exists("x.log"));
}

TEST_F(FaultInjectionFsTest, FilesItDidNotWriteAreUntouched) {
  WriteOutside("outside", "as it was");
  auto f = Create("mine");
  Append(f.get(), "x");
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  Drop();
  EXPECT_EQ(Read("outside"), "as it was");
  EXPECT_FALSE(Exists("mine"));
}

TEST_F(FaultInjectionFsTest, ReopenedFileKeepsWhatItHadAndLosesUnsyncedAppends) {
  WriteOutside("wal", "old");
  std::unique_ptr<rocksdb::FSWritableFile> f;
  ASSERT_TRUE(fs_->ReopenWritableFile(Path("wal"), FileOptions(), &f, nullptr).ok());
  Append(f.get(), "+new");
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Read("wal"), "old+new");
  Drop();
  EXPECT_EQ(Read("wal"), "old");
}

TEST_F(FaultInjectionFsTest, RenameWithoutDirectoryFsyncIsUndone) {
  WriteOutside("CURRENT", "MANIFEST-1\n");
  auto f = Create("tmp");
  Append(f.get(), "MANIFEST-2\n");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  ASSERT_TRUE(fs_->RenameFile(Path("tmp"), Path("CURRENT"), IOOptions(), nullptr).ok());
  EXPECT_EQ(Read("CURRENT"), "MANIFEST-2\n");
  Drop();
  EXPECT_EQ(Read("CURRENT"), "MANIFEST-1\n");
  EXPECT_FALSE(Exists("tmp")) << "tmp was never durable";
}

TEST_F(FaultInjectionFsTest, RenameOfADurableFileComesBack) {
  auto f = Create("a");
  Append(f.get(), "abc");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  SyncDir();
  ASSERT_TRUE(fs_->RenameFile(Path("a"), Path("b"), IOOptions(), nullptr).ok());
  Drop();
  EXPECT_EQ(Read("a"), "abc");
  EXPECT_FALSE(Exists("b"));
}

TEST_F(FaultInjectionFsTest, RenameMadeDurableStays) {
  WriteOutside("CURRENT", "MANIFEST-1\n");
  auto f = Create("tmp");
  Append(f.get(), "MANIFEST-2\n");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  ASSERT_TRUE(fs_->RenameFile(Path("tmp"), Path("CURRENT"), IOOptions(), nullptr).ok());
  SyncDir();
  Drop();
  EXPECT_EQ(Read("CURRENT"), "MANIFEST-2\n");
}

TEST_F(FaultInjectionFsTest, InactiveMachineWritesNothing) {
  auto f = Create("a.log");
  SyncDir();
  Append(f.get(), "before");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  fs_->SetActive(false);
  Append(f.get(), "after");  // OK, and nothing happens
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Read("a.log"), "before");
  auto g = Create("born-dead.log");
  Append(g.get(), "x");
  ASSERT_TRUE(g->Close(IOOptions(), nullptr).ok());
  EXPECT_FALSE(Exists("born-dead.log"));
  ASSERT_TRUE(fs_->DeleteFile(Path("a.log"), IOOptions(), nullptr).ok());
  ASSERT_TRUE(fs_->RenameFile(Path("a.log"), Path("b.log"), IOOptions(), nullptr).ok());
  EXPECT_EQ(Read("a.log"), "before");
  EXPECT_FALSE(Exists("b.log"));
  Drop();
  EXPECT_EQ(Read("a.log"), "before");
}

TEST_F(FaultInjectionFsTest, NoSpaceFailsAppendsAndWritesNothing) {
  auto f = Create("a.log");
  Append(f.get(), "ok");
  fs_->SetNoSpace(true);
  rocksdb::IOStatus s = f->Append("full", IOOptions(), nullptr);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(fs_->no_space_failures(), 1);
  fs_->SetNoSpace(false);
  Append(f.get(), "+more");
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Read("a.log"), "ok+more");
}

TEST_F(FaultInjectionFsTest, NoSpaceCanBeLimitedToSomeFiles) {
  auto wal = Create("000004.log");
  auto sst = Create("000005.sst");
  fs_->SetNoSpace(true, ".sst");
  Append(wal.get(), "fine");
  EXPECT_TRUE(sst->Append("full", IOOptions(), nullptr).IsNoSpace());
  fs_->SetNoSpace(false);
  Append(sst.get(), "fine");
  ASSERT_TRUE(wal->Close(IOOptions(), nullptr).ok());
  ASSERT_TRUE(sst->Close(IOOptions(), nullptr).ok());
  EXPECT_EQ(Read("000005.sst"), "fine");
}

TEST_F(FaultInjectionFsTest, RecreatingAFileLosesItsUnsyncedNewBytes) {
  auto f = Create("OPTIONS");
  Append(f.get(), "v1");
  ASSERT_TRUE(f->Sync(IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(IOOptions(), nullptr).ok());
  SyncDir();
  auto g = Create("OPTIONS");  // truncates; the entry stays durable
  Append(g.get(), "v2");
  ASSERT_TRUE(g->Close(IOOptions(), nullptr).ok());
  Drop();
  EXPECT_TRUE(Exists("OPTIONS"));
  EXPECT_EQ(Read("OPTIONS"), "");
}

}  // namespace
}  // namespace iss::test
