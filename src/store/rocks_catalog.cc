#include "store/rocks_catalog.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "store/catalog_codec.h"

namespace iss::store {
namespace {

// The end of the range of keys starting with `prefix` (which ends in '/'): '/' + 1 is '0'.
// Nothing sorts between it and the next gallery's prefix, and it cannot overflow.
std::string RangeEnd(std::string prefix) {
  prefix.back() = static_cast<char>('/' + 1);
  return prefix;
}

// A decode failure, with the key it came from.
absl::Status AtKey(const absl::Status& status, std::string_view key) {
  return Fail(ReasonOf(status), std::string(status.message()) + " at `" + std::string(key) + "`");
}

}  // namespace

RocksCatalog::RocksCatalog(Kv* kv) : kv_(kv) {}

absl::StatusOr<std::vector<engine::GalleryRecord>> RocksCatalog::LoadGalleries() {
  std::vector<engine::GalleryRecord> out;
  absl::Status err;
  RETURN_IF_ERROR(kv_->Scan(kGalleryPrefix, [&](std::string_view key, std::string_view value) {
    absl::StatusOr<engine::GalleryRecord> r = DecodeGallery(value);
    if (!r.ok()) {
      err = AtKey(r.status(), key);
      return false;
    }
    out.push_back(*std::move(r));
    return true;
  }));
  RETURN_IF_ERROR(err);
  return out;
}

absl::StatusOr<uint64_t> RocksCatalog::NextGalleryUid() {
  ASSIGN_OR_RETURN(std::optional<std::string> seq, kv_->Get(kGallerySeqKey));
  if (!seq) return uint64_t{1};
  return DecodeGallerySeq(*seq);
}

absl::Status RocksCatalog::CreateGallery(const engine::GalleryRecord& record) {
  if (record.uid == 0) return Fail(Reason::kInvalidArgument, "(gallery uid 0)");
  iss::MutexLock lock(&create_mu_);
  ASSIGN_OR_RETURN(uint64_t next, NextGalleryUid());
  const uint64_t after = std::max(next, record.uid + 1);  // never goes back
  return kv_->Write(
      {{GalleryKey(record.gallery.project_id, record.gallery.name), EncodeGallery(record)},
       {std::string(kGallerySeqKey), EncodeGallerySeq(after)}});
}

absl::Status RocksCatalog::DeleteGallery(const engine::GalleryRecord& record) {
  const std::string items = ItemPrefix(record.uid), vectors = VectorPrefix(record.uid);
  const std::string features = LocalFeaturesPrefix(record.uid);
  RETURN_IF_ERROR(kv_->DeleteRange(items, RangeEnd(items)));
  RETURN_IF_ERROR(kv_->DeleteRange(vectors, RangeEnd(vectors)));
  RETURN_IF_ERROR(kv_->DeleteRange(features, RangeEnd(features)));
  return kv_->Write({{GalleryKey(record.gallery.project_id, record.gallery.name), std::nullopt},
                     {CountersKey(record.uid), std::nullopt}});
}

void RocksCatalog::ReclaimGallery(uint64_t uid) {
  const std::string items = ItemPrefix(uid), vectors = VectorPrefix(uid);
  const std::string features = LocalFeaturesPrefix(uid);
  kv_->CompactRange(items, RangeEnd(items));
  kv_->CompactRange(vectors, RangeEnd(vectors));
  kv_->CompactRange(features, RangeEnd(features));
}

absl::Status RocksCatalog::ScanItems(uint64_t uid,
                                     const std::function<bool(engine::ItemRecord&&)>& fn) {
  const std::string prefix = ItemPrefix(uid);
  absl::Status err;
  RETURN_IF_ERROR(kv_->Scan(prefix, [&](std::string_view key, std::string_view value) {
    absl::StatusOr<engine::ItemRecord> r = DecodeItem(key.substr(prefix.size()), value);
    if (!r.ok()) {
      err = AtKey(r.status(), key);
      return false;
    }
    return fn(*std::move(r));
  }));
  return err;
}

absl::StatusOr<std::optional<engine::ItemRecord>> RocksCatalog::GetItem(uint64_t uid,
                                                                        std::string_view key) {
  const std::string k = ItemKey(uid, key);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, kv_->Get(k));
  if (!bytes) return std::optional<engine::ItemRecord>();
  absl::StatusOr<engine::ItemRecord> r = DecodeItem(key, *bytes);
  if (!r.ok()) return AtKey(r.status(), k);
  return std::optional<engine::ItemRecord>(*std::move(r));
}

absl::Status RocksCatalog::Apply(uint64_t uid, const engine::CatalogBatch& batch) {
  if (batch.empty()) return absl::OkStatus();
  std::vector<std::pair<std::string, std::optional<std::string>>> ops;
  ops.reserve(3 * (batch.puts.size() + batch.removals.size()));
  for (const engine::ItemRemoval& r : batch.removals) {
    ops.emplace_back(ItemKey(uid, r.key), std::nullopt);
    ops.emplace_back(VectorKey(uid, r.id), std::nullopt);
    ops.emplace_back(LocalFeaturesKey(uid, r.id), std::nullopt);
  }
  for (const engine::ItemWrite& w : batch.puts) {
    ops.emplace_back(ItemKey(uid, w.record.key), EncodeItem(w.record));
    if (!w.vector.empty()) {
      ops.emplace_back(VectorKey(uid, w.record.id), EncodeVector(w.record.version, w.vector));
    }
    if (!w.local_features.empty()) {
      ops.emplace_back(LocalFeaturesKey(uid, w.record.id), w.local_features);
    }
  }
  if (batch.counters) ops.emplace_back(CountersKey(uid), EncodeCounters(*batch.counters));
  return kv_->Write(ops);
}

absl::StatusOr<std::optional<engine::ItemCounters>> RocksCatalog::GetCounters(uint64_t uid) {
  const std::string k = CountersKey(uid);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, kv_->Get(k));
  if (!bytes) return std::optional<engine::ItemCounters>();
  absl::StatusOr<engine::ItemCounters> c = DecodeCounters(*bytes);
  if (!c.ok()) return AtKey(c.status(), k);
  return std::optional<engine::ItemCounters>(*c);
}

absl::StatusOr<std::optional<engine::CatalogStore::StoredVector>> RocksCatalog::GetVector(
    uint64_t uid, uint64_t id) {
  const std::string k = VectorKey(uid, id);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, kv_->Get(k));
  if (!bytes) return std::optional<StoredVector>();
  absl::StatusOr<StoredVector> v = DecodeVector(*bytes);
  if (!v.ok()) return AtKey(v.status(), k);
  return std::optional<StoredVector>(*std::move(v));
}

absl::StatusOr<std::optional<std::string>> RocksCatalog::GetLocalFeatures(uint64_t uid,
                                                                          uint64_t id) {
  return kv_->Get(LocalFeaturesKey(uid, id));
}

absl::Status RocksCatalog::ScanVectors(uint64_t uid,
                                       const std::function<bool(uint64_t, StoredVector&&)>& fn) {
  absl::Status err;
  RETURN_IF_ERROR(kv_->Scan(VectorPrefix(uid), [&](std::string_view key, std::string_view value) {
    std::optional<uint64_t> id = ParseVectorKey(key);
    absl::StatusOr<StoredVector> v =
        id ? DecodeVector(value) : Fail(Reason::kCorrupt, "(corrupt vector key)");
    if (!v.ok()) {
      err = AtKey(v.status(), key);
      return false;
    }
    return fn(*id, *std::move(v));
  }));
  return err;
}

absl::StatusOr<std::unique_ptr<engine::CatalogStore>> OpenCatalog(Database* db) {
  ASSIGN_OR_RETURN(Kv * kv, db->Namespace(kCatalogNamespace));
  return std::unique_ptr<engine::CatalogStore>(new RocksCatalog(kv));
}

}  // namespace iss::store
