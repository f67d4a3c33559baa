// A corrupt snapshot is checked before anything is sized from it. Regression: a huge row
// count in snapshot.meta made every start abort with bad_alloc, because the tables were
// allocated from the count before the CRC was checked. Each header count of a real
// snapshot is patched to a huge value (with the old CRC, and with a CRC recomputed so that
// only the size check stands in the way); a corrupt or truncated ANN file is never handed
// to Faiss. Every case: Open succeeds, restored == false, the index is empty, and
// replaying the store works.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "index/internal/snapshot_io.h"
#include "index/tiered_index.h"
#include "test_vectors.h"

namespace iss::index {
namespace {

namespace fs = std::filesystem;
using internal::MetaLayout;
constexpr int kDim = 48;
constexpr uint64_t kIds = 500;

TieredOptions Options(const std::string& dir) {
  TieredOptions o;
  o.dir = dir;
  o.exact_max = 300;
  o.merge_rows = 100;
  o.nlist = 16;
  o.pq_m = 12;
  return o;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteAll(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

class SnapshotChecksTest : public ::testing::Test {
 protected:
  // One real snapshot (ANN tier trained) of ids 1..kIds, copied fresh into dir_ per case.
  static void SetUpTestSuite() {
    pristine_ = new std::string(testing::FreshDir("checks-pristine"));
    auto ix = TieredIndex::Open(kDim, Options(*pristine_));
    ASSERT_TRUE(ix.ok()) << ix.status();
    for (uint64_t id = 1; id <= kIds; ++id) {
      ASSERT_TRUE((*ix)->Put(id, testing::Vec(id, 0, kDim), 1).ok());
    }
    ASSERT_TRUE((*ix)->Stats().ann);
    ASSERT_TRUE((*ix)->Snapshot().ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*pristine_);
    delete pristine_;
  }
  void SetUp() override {
    dir_ = testing::FreshDir("checks");
    fs::copy(*pristine_, dir_, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Meta() const { return fs::path(dir_) / internal::kMetaFile; }

  // Overwrites the 8-byte field at `at` of snapshot.meta; with `fix_crc`, recomputes the
  // trailing CRC-32 so that the patched file passes the checksum.
  void PatchMeta(size_t at, uint64_t value, bool fix_crc) {
    std::string bytes = ReadAll(Meta());
    ASSERT_GE(bytes.size(), MetaLayout::kHeader + 4);
    std::memcpy(bytes.data() + at, &value, sizeof(value));
    if (fix_crc) {
      const uint32_t crc =
          uint32_t(::crc32(::crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data()),
                           uInt(bytes.size() - 4)));
      std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
    }
    WriteAll(Meta(), bytes);
  }

  // Open discards the snapshot and starts empty; replaying the "store" restores every id.
  void ExpectDiscardedAndReplayable() {
    auto ix = TieredIndex::Open(kDim, Options(dir_));
    ASSERT_TRUE(ix.ok()) << ix.status();
    EXPECT_FALSE((*ix)->Stats().restored);
    EXPECT_EQ((*ix)->size(), 0u);
    for (uint64_t id = 1; id <= kIds; ++id) {
      ASSERT_FALSE((*ix)->HasVersion(id, 1));
      ASSERT_TRUE((*ix)->Put(id, testing::Vec(id, 0, kDim), 1).ok());
    }
    EXPECT_EQ((*ix)->size(), kIds);
    for (uint64_t id = 1; id <= kIds; id += 37) {
      auto hits = (*ix)->Search(testing::Vec(id, 0, kDim), 1, nullptr);
      ASSERT_TRUE(hits.ok());
      ASSERT_EQ(hits->size(), 1u);
      EXPECT_EQ((*hits)[0].id, id);
    }
  }

  static std::string* pristine_;
  std::string dir_;
};

std::string* SnapshotChecksTest::pristine_ = nullptr;

TEST_F(SnapshotChecksTest, ThePristineSnapshotRestores) {
  auto ix = TieredIndex::Open(kDim, Options(dir_));
  ASSERT_TRUE(ix.ok());
  EXPECT_TRUE((*ix)->Stats().restored);
  EXPECT_EQ((*ix)->size(), kIds);
}

struct Patch {
  const char* field;
  size_t at;
  uint64_t value;
};

// Below UINT32_MAX rows, so the old row-count bound let it through to 32 GB of tables.
constexpr Patch kHuge[] = {
    {"rows", MetaLayout::kRows, 0xF0000000ull},
    {"rows", MetaLayout::kRows, ~0ull},
    {"built", MetaLayout::kBuilt, 0xF0000000ull},
    {"ann_dead", MetaLayout::kAnnDead, ~0ull},
    {"trained", MetaLayout::kTrained, ~0ull},
    {"ann generation", MetaLayout::kAnnGen, ~0ull},
    {"ann bytes", MetaLayout::kAnnBytes, uint64_t(1) << 50},
    {"vector generation", MetaLayout::kVgen, ~0ull},
    {"rotation size", MetaLayout::kRotSize, uint64_t(1) << 60},
};

TEST_F(SnapshotChecksTest, HugeCountsWithTheOldChecksumAreDiscarded) {
  for (const Patch& p : kHuge) {
    SCOPED_TRACE(p.field);
    SetUp();
    PatchMeta(p.at, p.value, /*fix_crc=*/false);
    ExpectDiscardedAndReplayable();
  }
}

TEST_F(SnapshotChecksTest, HugeCountsWithAValidChecksumAreDiscarded) {
  for (const Patch& p : kHuge) {
    SCOPED_TRACE(p.field);
    SetUp();
    PatchMeta(p.at, p.value, /*fix_crc=*/true);
    ExpectDiscardedAndReplayable();
  }
}

TEST_F(SnapshotChecksTest, ATruncatedMetaIsDiscarded) {
  const std::string bytes = ReadAll(Meta());
  for (size_t keep :
       {size_t(0), size_t(7), MetaLayout::kHeader, bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(keep);
    SetUp();
    WriteAll(Meta(), bytes.substr(0, keep));
    ExpectDiscardedAndReplayable();
  }
}

TEST_F(SnapshotChecksTest, ACorruptOrTruncatedAnnFileIsNeverDeserialised) {
  fs::path ivf;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() == ".faiss") ivf = e.path();
  }
  ASSERT_FALSE(ivf.empty());
  const std::string bytes = ReadAll(ivf);
  // A flipped byte early in the file (Faiss's header: sizes it would allocate from), in the
  // middle, and a truncation.
  for (size_t at : {size_t(20), bytes.size() / 2, bytes.size()}) {
    SCOPED_TRACE(at);
    SetUp();
    std::string patched = bytes;
    if (at < bytes.size()) {
      patched[at] = char(~patched[at]);
    } else {
      patched.resize(bytes.size() - 100);
    }
    WriteAll(ivf, patched);
    ExpectDiscardedAndReplayable();
  }
}

}  // namespace
}  // namespace iss::index
