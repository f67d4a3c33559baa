// The catalog's keys and value encodings in the "catalog" namespace: the on-disk format
// (docs/storage.md), byte for byte the one src/core/catalog.cc wrote, so existing data
// directories open unchanged.
//
//   inst/<project_id>/<name>    -> gallery JSON (fields below; keys sorted, as nlohmann dumps)
//   seq/instance                -> the next gallery uid, decimal
//   img/<uid:016x>/<item key>   -> item record, binary format 3: u8 3, u64 id, i64 created_ms,
//                                  i64 updated_ms, u32 n + model, u32 n + tags JSON, u64 version
//                                  (legacy format 2: u8 2, the same up to the tags, then u32 dim
//                                  + dim float32: the vector inline, no version)
//   vec/<uid:016x>/<id:016x>    -> u64 version + float32 vector
// Integers and floats are little-endian (checked at compile time).
//
// Gallery JSON fields, mapped from model::Gallery: uid, project_id, name, model, domain
// (model_display_name), description, level (capacity), tags (tag_keys), register_date_ms
// (created_ms), expired_date_ms (expires_ms), status ("NORMAL" / "ABNORMAL": state).
//
//   std::string key = ItemKey(uid, "shoes/1.jpg");
//   std::string value = EncodeItem(record);
//   ASSIGN_OR_RETURN(engine::ItemRecord back, DecodeItem("shoes/1.jpg", value));
//
// Decoding fails with Reason::kCorrupt. Thread contract: pure functions.
#ifndef ISS_STORE_CATALOG_CODEC_H_
#define ISS_STORE_CATALOG_CODEC_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/ports/catalog_store.h"

namespace iss::store {

inline constexpr std::string_view kGalleryPrefix = "inst/";
inline constexpr std::string_view kGallerySeqKey = "seq/instance";

std::string GalleryKey(std::string_view project_id, std::string_view name);
// img/<uid:016x>/ : every item key of gallery `uid` starts with it; ItemPrefix(uid + 1) is
// the end of the gallery's range.
std::string ItemPrefix(uint64_t uid);
std::string ItemKey(uint64_t uid, std::string_view key);
std::string VectorPrefix(uint64_t uid);
std::string VectorKey(uint64_t uid, uint64_t id);
// lf/<uid:016x>/<id:016x>: an item's local features (ItemWrite::local_features), raw bytes.
std::string LocalFeaturesPrefix(uint64_t uid);
std::string LocalFeaturesKey(uint64_t uid, uint64_t id);
// ctr/<uid:016x>: the gallery's item counters (next id, next version), 16 bytes.
std::string CountersKey(uint64_t uid);
std::string EncodeCounters(const engine::ItemCounters& c);
absl::StatusOr<engine::ItemCounters> DecodeCounters(std::string_view bytes);
// The id of a VectorKey; nullopt when `key` is not one.
std::optional<uint64_t> ParseVectorKey(std::string_view key);

std::string EncodeGallery(const engine::GalleryRecord& record);
absl::StatusOr<engine::GalleryRecord> DecodeGallery(std::string_view bytes);

std::string EncodeGallerySeq(uint64_t next_uid);
absl::StatusOr<uint64_t> DecodeGallerySeq(std::string_view bytes);

// Always format 3; record.legacy_vector is not written (the vector goes to its own key).
std::string EncodeItem(const engine::ItemRecord& record);
// `key` is the item's key (the part of the record key after ItemPrefix).
absl::StatusOr<engine::ItemRecord> DecodeItem(std::string_view key, std::string_view bytes);

std::string EncodeVector(uint64_t version, std::span<const float> vector);
absl::StatusOr<engine::CatalogStore::StoredVector> DecodeVector(std::string_view bytes);

}  // namespace iss::store

#endif  // ISS_STORE_CATALOG_CODEC_H_
