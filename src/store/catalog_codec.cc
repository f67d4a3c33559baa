#include "store/catalog_codec.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/status.h"

namespace iss::store {
namespace {

// The format is the memory image of the host the first data directories were written on.
static_assert(std::endian::native == std::endian::little, "the catalog format is little-endian");
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4);

constexpr char kItemFormat = 3;        // 3: version stamp, vector in vec/
constexpr char kItemFormatLegacy = 2;  // 2: 64-bit ids, vector inline

constexpr int64_t kDefaultCapacity = 30000000;

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
bool Take(std::string_view& in, T* v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

bool TakeString(std::string_view& in, std::string* s) {
  uint32_t n;
  if (!Take(in, &n) || in.size() < n) return false;
  s->assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

void PutString(std::string& out, std::string_view s) {
  Put<uint32_t>(out, uint32_t(s.size()));
  out.append(s);
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

// Typed reads of the gallery JSON, without exceptions. A missing optional field keeps the
// default the old decoder used; a field of the wrong type is corruption.
bool ReadString(const nlohmann::json& j, const char* field, std::string* out) {
  auto it = j.find(field);
  if (it == j.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool ReadInt(const nlohmann::json& j, const char* field, int64_t* out) {
  auto it = j.find(field);
  if (it == j.end()) return true;
  if (!it->is_number_integer()) return false;
  *out = it->get<int64_t>();
  return true;
}

bool ReadStrings(const nlohmann::json& j, const char* field, std::vector<std::string>* out) {
  auto it = j.find(field);
  if (it == j.end()) return true;
  if (!it->is_array()) return false;
  out->clear();
  for (const nlohmann::json& e : *it) {
    if (!e.is_string()) return false;
    out->push_back(e.get<std::string>());
  }
  return true;
}

// As json::dump(), except that invalid UTF-8 is replaced (U+FFFD) where dump() would throw;
// valid text is written byte for byte as before.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status CorruptGallery(std::string_view why) {
  return Fail(Reason::kCorrupt, "(corrupt instance record: " + std::string(why) + ")");
}

}  // namespace

std::string GalleryKey(std::string_view project_id, std::string_view name) {
  std::string key(kGalleryPrefix);
  key.append(project_id);
  key.push_back('/');
  key.append(name);
  return key;
}

std::string ItemPrefix(uint64_t uid) { return "img/" + Hex16(uid) + "/"; }

std::string ItemKey(uint64_t uid, std::string_view key) {
  std::string out = ItemPrefix(uid);
  out.append(key);
  return out;
}

std::string VectorPrefix(uint64_t uid) { return "vec/" + Hex16(uid) + "/"; }

std::string VectorKey(uint64_t uid, uint64_t id) { return VectorPrefix(uid) + Hex16(id); }

std::string LocalFeaturesPrefix(uint64_t uid) { return "lf/" + Hex16(uid) + "/"; }

std::string LocalFeaturesKey(uint64_t uid, uint64_t id) {
  return LocalFeaturesPrefix(uid) + Hex16(id);
}

std::string CountersKey(uint64_t uid) { return "ctr/" + Hex16(uid); }

std::string EncodeCounters(const engine::ItemCounters& c) {
  std::string out(16, '\0');
  std::memcpy(out.data(), &c.next_id, 8);
  std::memcpy(out.data() + 8, &c.next_version, 8);
  return out;
}

absl::StatusOr<engine::ItemCounters> DecodeCounters(std::string_view bytes) {
  if (bytes.size() != 16) return Fail(Reason::kCorrupt, "(item counters record)");
  engine::ItemCounters c;
  std::memcpy(&c.next_id, bytes.data(), 8);
  std::memcpy(&c.next_version, bytes.data() + 8, 8);
  return c;
}

std::optional<uint64_t> ParseVectorKey(std::string_view key) {
  if (key.size() != 4 + 16 + 1 + 16 || key.substr(0, 4) != "vec/" || key[20] != '/') {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : key.substr(21)) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

std::string EncodeGallery(const engine::GalleryRecord& r) {
  const model::Gallery& g = r.gallery;
  // nlohmann's object is a std::map: dump() writes the keys sorted, whatever the order here.
  nlohmann::json j = {
      {"uid", r.uid},
      {"project_id", g.project_id},
      {"name", g.name},
      {"model", g.model},
      {"domain", g.model_display_name},
      {"description", g.description},
      {"level", g.capacity},
      {"tags", g.tag_keys},
      {"register_date_ms", g.created_ms},
      {"expired_date_ms", g.expires_ms},
      {"status", g.state == model::GalleryState::kAbnormal ? "ABNORMAL" : "NORMAL"}};
  return Dump(j);
}

absl::StatusOr<engine::GalleryRecord> DecodeGallery(std::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Fail(Reason::kCorrupt, "(corrupt instance record)");
  }
  engine::GalleryRecord r;
  model::Gallery& g = r.gallery;
  auto uid = j.find("uid");
  if (uid == j.end() || !uid->is_number_unsigned()) return CorruptGallery("uid");
  r.uid = uid->get<uint64_t>();
  for (const char* required : {"project_id", "name", "model"}) {
    if (!j.contains(required)) return CorruptGallery(required);
  }
  if (!ReadString(j, "project_id", &g.project_id)) return CorruptGallery("project_id");
  if (!ReadString(j, "name", &g.name)) return CorruptGallery("name");
  if (!ReadString(j, "model", &g.model)) return CorruptGallery("model");
  g.model_display_name = g.model;
  if (!ReadString(j, "domain", &g.model_display_name)) return CorruptGallery("domain");
  if (!ReadString(j, "description", &g.description)) return CorruptGallery("description");
  g.capacity = kDefaultCapacity;
  if (!ReadInt(j, "level", &g.capacity)) return CorruptGallery("level");
  if (!ReadStrings(j, "tags", &g.tag_keys)) return CorruptGallery("tags");
  g.created_ms = 0;
  if (!ReadInt(j, "register_date_ms", &g.created_ms)) return CorruptGallery("register_date_ms");
  g.expires_ms = -1;
  if (!ReadInt(j, "expired_date_ms", &g.expires_ms)) return CorruptGallery("expired_date_ms");
  std::string status = "NORMAL";
  if (!ReadString(j, "status", &status)) return CorruptGallery("status");
  if (status == "NORMAL") {
    g.state = model::GalleryState::kNormal;
  } else if (status == "ABNORMAL") {
    g.state = model::GalleryState::kAbnormal;
  } else {
    return CorruptGallery("status `" + status + "`");
  }
  return r;
}

std::string EncodeGallerySeq(uint64_t next_uid) { return std::to_string(next_uid); }

absl::StatusOr<uint64_t> DecodeGallerySeq(std::string_view bytes) {
  uint64_t next = 0;
  if (!absl::SimpleAtoi(absl::string_view(bytes.data(), bytes.size()), &next)) {
    return Fail(Reason::kCorrupt, "(corrupt instance sequence `" + std::string(bytes) + "`)");
  }
  return next;
}

std::string EncodeItem(const engine::ItemRecord& r) {
  std::string out;
  out.reserve(64);
  out.push_back(kItemFormat);
  Put<uint64_t>(out, r.id);
  Put<int64_t>(out, r.created_ms);
  Put<int64_t>(out, r.updated_ms);
  PutString(out, r.model);
  PutString(out, Dump(nlohmann::json(r.tags)));
  Put<uint64_t>(out, r.version);
  return out;
}

absl::StatusOr<engine::ItemRecord> DecodeItem(std::string_view key, std::string_view in) {
  engine::ItemRecord r;
  r.key = std::string(key);
  if (in.empty() || (in[0] != kItemFormat && in[0] != kItemFormatLegacy)) {
    return Fail(Reason::kCorrupt, "(image record version)");
  }
  const bool legacy = in[0] == kItemFormatLegacy;
  in.remove_prefix(1);
  std::string tags;
  if (!Take(in, &r.id) || !Take(in, &r.created_ms) || !Take(in, &r.updated_ms) ||
      !TakeString(in, &r.model) || !TakeString(in, &tags)) {
    return Fail(Reason::kCorrupt, "(corrupt image record)");
  }
  if (legacy) {
    uint32_t dim = 0;
    if (!Take(in, &dim) || in.size() != size_t(dim) * sizeof(float)) {
      return Fail(Reason::kCorrupt, "(corrupt image record)");
    }
    r.legacy_vector.resize(dim);
    if (dim > 0) std::memcpy(r.legacy_vector.data(), in.data(), in.size());
  } else if (!Take(in, &r.version) || !in.empty()) {
    return Fail(Reason::kCorrupt, "(corrupt image record)");
  }
  nlohmann::json tj = nlohmann::json::parse(tags, nullptr, false);
  if (tj.is_discarded() || !tj.is_object()) {
    return Fail(Reason::kCorrupt, "(corrupt image tags)");
  }
  for (auto& [k, v] : tj.items()) {
    if (v.is_string()) r.tags[k] = v.get<std::string>();  // as before: other values ignored
  }
  return r;
}

std::string EncodeVector(uint64_t version, std::span<const float> vector) {
  std::string out;
  out.reserve(sizeof(uint64_t) + vector.size_bytes());
  Put<uint64_t>(out, version);
  out.append(reinterpret_cast<const char*>(vector.data()), vector.size_bytes());
  return out;
}

absl::StatusOr<engine::CatalogStore::StoredVector> DecodeVector(std::string_view in) {
  engine::CatalogStore::StoredVector v;
  if (!Take(in, &v.version) || in.size() % sizeof(float) != 0) {
    return Fail(Reason::kCorrupt, "(corrupt vector record)");
  }
  v.vector.resize(in.size() / sizeof(float));
  // An empty vector has no storage: memcpy's pointers must not be null, even for 0 bytes.
  if (!in.empty()) std::memcpy(v.vector.data(), in.data(), in.size());
  return v;
}

}  // namespace iss::store
