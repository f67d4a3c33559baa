// Durability in the leveldb manner (db/fault_injection_test.cc): acknowledged writes, then
// the machine dies (test::FaultInjectionFs::SetActive(false): RocksDB's shutdown can save
// nothing more), then everything not fsynced is dropped (DropUnsyncedData: unsynced bytes,
// files whose directory entry was never fsynced, renames not made durable), then the
// database is reopened on the plain file system.
//
// With sync_writes on, every acknowledged write must be there. With it off, writes are
// lost, and the test asserts that they are: it shows the check above can fail, which
// crash_test.cc (kill -9, the page cache survives) cannot.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/status.h"
#include "store/kv.h"
#include "store/rocks_catalog.h"
#include "store/rocks_testing.h"
#include "store_test_util.h"
#include "testing/rocks/fault_injection_fs.h"

namespace iss::store {
namespace {

constexpr uint64_t kGallery = 1;
constexpr uint64_t kDoomedGallery = 2;

// What the writes acknowledged so far have made the database hold.
struct Acked {
  std::map<std::string, std::optional<std::string>> kv;  // "d" namespace: value or deleted
  std::map<std::string, std::optional<uint64_t>> items;  // gallery 1: version or removed
  std::set<std::string> unsure;  // keys of a write in flight at the power cut: either way
  std::atomic<int> writes{0};    // read by the test while the writer runs
};

std::string Value(int i) {
  return std::string(100 + (i * 37) % 3000, static_cast<char>('a' + i % 26));
}

engine::GalleryRecord Gallery(uint64_t uid) {
  engine::GalleryRecord g;
  g.uid = uid;
  g.gallery.project_id = "p";
  g.gallery.name = "g" + std::to_string(uid);
  g.gallery.model = "m";
  return g;
}

engine::ItemWrite Item(const std::string& key, uint64_t id) {
  engine::ItemWrite w;
  w.record.key = key;
  w.record.id = id;
  w.record.model = "m";
  w.record.version = id;
  w.vector.assign(64, float(id));
  return w;
}

// Writes i in [from, to): plain puts, multi-key batches with a delete, and catalog batches
// (record + vector puts, removals). Each acknowledged write is recorded in `acked`, unless
// `dead` is set by the time it returns: the power may have gone before its sync (which
// then did nothing), so it does not count, and the loop stops.
void Work(Database* db, int from, int to, Acked* acked, const std::atomic<bool>* dead = nullptr) {
  Kv* kv = *db->Namespace("d");
  auto catalog = *OpenCatalog(db);
  for (int i = from; i < to; ++i) {
    if (dead != nullptr && dead->load()) return;
    const std::string k = "k" + std::to_string(i);
    auto alive = [dead] { return dead == nullptr || !dead->load(); };
    absl::Status s;
    switch (i % 4) {
      case 0:
        s = kv->Put(k, Value(i));
        if (s.ok() && alive()) {
          acked->kv[k] = Value(i);
        } else {
          acked->unsure.insert(k);
        }
        break;
      case 1: {
        const std::string prev = "k" + std::to_string(i - 1);
        s = kv->Write({{k, Value(i)}, {k + "/twin", Value(i + 1)}, {prev, std::nullopt}});
        if (s.ok() && alive()) {
          acked->kv[k] = Value(i);
          acked->kv[k + "/twin"] = Value(i + 1);
          acked->kv[prev] = std::nullopt;
        } else {
          acked->unsure.insert({k, k + "/twin", prev});
        }
        break;
      }
      default: {
        engine::CatalogBatch batch;
        batch.puts.push_back(Item("item/" + std::to_string(i), uint64_t(i)));
        if (i % 4 == 3)
          batch.removals.push_back({"item/" + std::to_string(i - 1), uint64_t(i - 1)});
        s = catalog->Apply(kGallery, batch);
        if (s.ok() && alive()) {
          acked->items["item/" + std::to_string(i)] = uint64_t(i);
          if (i % 4 == 3) acked->items["item/" + std::to_string(i - 1)] = std::nullopt;
        } else {
          acked->unsure.insert({"item/" + std::to_string(i), "item/" + std::to_string(i - 1)});
        }
        break;
      }
    }
    ASSERT_TRUE(s.ok()) << "write " << i << ": " << s;
    if (alive()) ++acked->writes;
  }
}

// Acknowledged writes the database does not reflect (a value missing or different, a
// deleted key back). Keys of the write in flight when the power went may go either way.
int Lost(Database* db, const Acked& acked) {
  Kv* kv = *db->Namespace("d");
  auto catalog = *OpenCatalog(db);
  int lost = 0;
  auto report = [&lost](const std::string& key) {
    if (++lost <= 5) std::cout << "  lost: " << key << "\n";
  };
  for (const auto& [key, value] : acked.kv) {
    if (acked.unsure.count(key)) continue;
    auto got = kv->Get(key);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || *got != value) report(key);
  }
  for (const auto& [key, version] : acked.items) {
    if (acked.unsure.count(key)) continue;
    auto item = catalog->GetItem(kGallery, key);
    EXPECT_TRUE(item.ok()) << item.status();
    if (!item.ok()) {
      report(key);
      continue;
    }
    std::optional<uint64_t> got_version;
    if (item->has_value()) got_version = (*item)->version;
    if (got_version != version) {
      report(key);
      continue;
    }
    if (version) {
      auto v = catalog->GetVector(kGallery, *version);
      if (!v.ok() || !v->has_value() || (*v)->version != *version) report(key + " (vector)");
    }
  }
  return lost;
}

// Three phases on one fault-injecting file system: writes; a clean close and reopen
// (recovery flushes the memtable to an SST, a new WAL, MANIFEST and CURRENT); more writes
// around a deleted and reclaimed gallery (range deletes, a compaction, file deletions),
// the last of them from a thread that is still writing when the power goes. Returns the
// losses after the power comes back.
int LossesAfterPowerCut(bool sync_writes, Acked* acked) {
  const std::string dir = testutil::FreshDir(testutil::CurrentTestName()) + "/db";
  auto fs = std::make_shared<test::FaultInjectionFs>();
  DatabaseOptions options;
  options.sync_writes = sync_writes;
  {
    auto db = OpenDatabaseForTest(dir, options, fs);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return -1;
    auto catalog = *OpenCatalog(db->get());
    EXPECT_TRUE(catalog->CreateGallery(Gallery(kGallery)).ok());
    EXPECT_TRUE(catalog->CreateGallery(Gallery(kDoomedGallery)).ok());
    engine::CatalogBatch doomed;
    for (uint64_t id = 1; id <= 50; ++id) doomed.puts.push_back(Item("x" + std::to_string(id), id));
    EXPECT_TRUE(catalog->Apply(kDoomedGallery, doomed).ok());
    Work(db->get(), 0, 200, acked);
  }
  {
    auto db = OpenDatabaseForTest(dir, options, fs);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return -1;
    Work(db->get(), 200, 300, acked);
    auto catalog = *OpenCatalog(db->get());
    EXPECT_TRUE(catalog->DeleteGallery(Gallery(kDoomedGallery)).ok());
    catalog->ReclaimGallery(kDoomedGallery);
    Work(db->get(), 300, 400, acked);
    std::atomic<bool> dead{false};
    const int before = acked->writes;
    std::thread writer([&] { Work(db->get(), 400, 1000000, acked, &dead); });
    // The power goes while the writer is busy: once it has had 50 writes acknowledged.
    for (int i = 0; i < 30000 && acked->writes < before + 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    dead = true;           // writes returning from now on are not counted as acknowledged
    fs->SetActive(false);  // the power goes: from here nothing reaches the disk
    writer.join();
  }  // RocksDB's shutdown runs, and saves nothing
  absl::Status dropped = fs->DropUnsyncedData();
  EXPECT_TRUE(dropped.ok()) << dropped;

  auto db = Database::Open(dir, {});  // the plain file system, as after a reboot
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return -1;
  auto catalog = *OpenCatalog(db->get());
  auto galleries = catalog->LoadGalleries();
  EXPECT_TRUE(galleries.ok()) << galleries.status();
  const int lost = Lost(db->get(), *acked);
  if (sync_writes && galleries.ok()) {
    EXPECT_EQ(galleries->size(), 1u) << "the deleted gallery came back";
    int doomed_items = 0;
    EXPECT_TRUE(catalog
                    ->ScanItems(kDoomedGallery,
                                [&](engine::ItemRecord&&) {
                                  ++doomed_items;
                                  return true;
                                })
                    .ok());
    EXPECT_EQ(doomed_items, 0);
  }
  return lost;
}

TEST(StoreDurabilityTest, SyncedWritesSurvivePowerLoss) {
  Acked acked;
  const int lost = LossesAfterPowerCut(/*sync_writes=*/true, &acked);
  std::cout << "sync_writes on: " << lost << " of " << acked.writes
            << " acknowledged writes lost\n";
  EXPECT_GT(acked.writes, 400);
  EXPECT_EQ(lost, 0) << "acknowledged writes lost with sync_writes on";
}

TEST(StoreDurabilityTest, UnsyncedWritesAreLostOnPowerLoss) {
  Acked acked;
  const int lost = LossesAfterPowerCut(/*sync_writes=*/false, &acked);
  EXPECT_GT(acked.writes, 400);
  // Everything after the reopen lived only in an unsynced WAL: the test above would fail
  // if the store stopped syncing.
  EXPECT_GT(lost, 0) << "no loss detected: the fault injection is not biting";
  std::cout << "sync_writes off: " << lost << " of " << acked.writes
            << " acknowledged writes lost\n";
}

}  // namespace
}  // namespace iss::store
