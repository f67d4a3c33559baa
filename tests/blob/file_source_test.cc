// blob::FileSource listings: pages in byte order of the key across nested directories, every
// file exactly once however the pages fall, symbolic links skipped, nothing outside a root.
#include "blob/file_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace iss::blob {
namespace {

namespace fs = std::filesystem;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("iss-file-source-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    root_ = fs::canonical(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Put(const std::string& key) {
    fs::create_directories((root_ / key).parent_path());
    std::ofstream(root_ / key) << key;
    keys_.push_back(key);
  }
  // Every page of the listing of `dir`, checked for order and size on the way.
  std::vector<std::string> ListAll(const std::string& dir, size_t* pages) {
    FileSource files({.roots = {root_.string()}});
    std::vector<std::string> out;
    std::string token;
    *pages = 0;
    do {
      absl::StatusOr<engine::ObjectPage> page =
          files.ListObjects("file://" + (root_ / dir).string() + "/", token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->objects.size(), 1000u);
      for (const engine::ListedObject& o : page->objects) {
        EXPECT_EQ(o.locator, "file://" + (root_ / dir / o.key).string());
        EXPECT_TRUE(out.empty() || out.back() < o.key) << out.back() << " then " << o.key;
        out.push_back(o.key);
      }
      token = page->next_token;
      ++*pages;
    } while (!token.empty() && *pages < 100);
    return out;
  }
  fs::path root_;
  std::vector<std::string> keys_;
};

TEST_F(FileSourceTest, PagesFollowByteOrderAcrossDirectories) {
  // Names that sort differently as keys than as directory names: "a.jpg" < "a/..." < "a0"
  // ('.' < '/' < '0'), "a-b/..." < "a.jpg".
  for (const char* k : {"a.jpg", "a/x.jpg", "a/b/c.jpg", "a-b/x.jpg", "a0.jpg", "b/z/y/x.jpg",
                        "a/b.jpg", "a/b0.jpg", "z.jpg"}) {
    Put(k);
  }
  // Enough files in nested folders for several pages, with a page boundary inside a folder.
  for (int d = 0; d < 5; ++d) {
    for (int i = 0; i < 517; ++i) {
      Put("m/" + std::to_string(d) + "/" + std::to_string(i) + ".jpg");
    }
  }
  // Never listed: a link to a file, a link to a directory, an empty directory.
  fs::create_symlink(root_ / "a.jpg", root_ / "link.jpg");
  fs::create_directory_symlink(root_ / "a", root_ / "m" / "linked-dir");
  fs::create_directories(root_ / "empty" / "deeper");
  size_t pages = 0;
  std::vector<std::string> got = ListAll("", &pages);
  std::vector<std::string> want = keys_;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(pages, (want.size() + 999) / 1000);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size());
}

TEST_F(FileSourceTest, ASubdirectoryListsOnlyItsOwnFiles) {
  Put("x/1.jpg");
  Put("x/y/2.jpg");
  Put("x0/3.jpg");
  size_t pages = 0;
  EXPECT_EQ(ListAll("x", &pages), (std::vector<std::string>{"1.jpg", "y/2.jpg"}));
  FileSource files({.roots = {(root_ / "x").string()}});
  EXPECT_TRUE(Is(files.ListObjects("file://" + (root_ / "x0").string() + "/", "").status(),
                 Reason::kBlobForbidden));
}

}  // namespace
}  // namespace iss::blob
