#include "core/catalog.h"

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace iss::core {
namespace {

constexpr char kImageVersion = 3;    // 3: version stamp, vector in vec/
constexpr char kImageVersionV2 = 2;  // 2: 64-bit ids, vector inline

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

void PutString(std::string& out, const std::string& s) {
  Put<uint32_t>(out, uint32_t(s.size()));
  out.append(s);
}

}  // namespace

std::string InstanceKey(const std::string& project_id, const std::string& name) {
  return "inst/" + project_id + "/" + name;
}

std::string ImagePrefix(uint64_t uid) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "img/%016llx/", static_cast<unsigned long long>(uid));
  return buf;
}

std::string ImageKey(uint64_t uid, const std::string& path) { return ImagePrefix(uid) + path; }

std::string VectorPrefix(uint64_t uid) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "vec/%016llx/", static_cast<unsigned long long>(uid));
  return buf;
}

std::string VectorKey(uint64_t uid, uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return VectorPrefix(uid) + buf;
}

bool ParseVectorKey(std::string_view key, uint64_t* id) {
  if (key.size() != 4 + 16 + 1 + 16 || key.substr(0, 4) != "vec/") return false;
  uint64_t v = 0;
  for (char c : key.substr(21)) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | uint64_t(d);
  }
  *id = v;
  return true;
}

std::string EncodeVector(uint64_t version, const std::vector<float>& vector) {
  std::string out;
  out.reserve(8 + vector.size() * sizeof(float));
  Put<uint64_t>(out, version);
  out.append(reinterpret_cast<const char*>(vector.data()), vector.size() * sizeof(float));
  return out;
}

absl::Status DecodeVector(std::string_view in, uint64_t* version, std::vector<float>* vector) {
  if (!Take(in, version) || in.size() % sizeof(float) != 0) {
    return Error("IS.0009", "(corrupt vector record)");
  }
  vector->resize(in.size() / sizeof(float));
  std::memcpy(vector->data(), in.data(), in.size());
  return absl::OkStatus();
}

std::string EncodeInstance(const InstanceRecord& r) {
  const Instance& i = r.instance;
  nlohmann::json j = {{"uid", r.uid},
                      {"project_id", i.project_id},
                      {"name", i.name},
                      {"model", i.model},
                      {"domain", i.domain},
                      {"description", i.description},
                      {"level", i.level},
                      {"tags", i.tags},
                      {"register_date_ms", i.register_date_ms},
                      {"expired_date_ms", i.expired_date_ms},
                      {"status", i.status}};
  return j.dump();
}

absl::StatusOr<InstanceRecord> DecodeInstance(std::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error("IS.0009", "(corrupt instance record)");
  InstanceRecord r;
  try {
    r.uid = j.at("uid").get<uint64_t>();
    Instance& i = r.instance;
    i.project_id = j.at("project_id").get<std::string>();
    i.name = j.at("name").get<std::string>();
    i.model = j.at("model").get<std::string>();
    i.domain = j.value("domain", i.model);
    i.description = j.value("description", "");
    i.level = j.value("level", int64_t{30000000});
    i.tags = j.value("tags", std::vector<std::string>{});
    i.register_date_ms = j.value("register_date_ms", int64_t{0});
    i.expired_date_ms = j.value("expired_date_ms", int64_t{-1});
    i.status = j.value("status", "NORMAL");
  } catch (const nlohmann::json::exception& e) {
    return Error("IS.0009", std::string("(corrupt instance record: ") + e.what() + ")");
  }
  return r;
}

std::string EncodeImage(const ImageRecord& r) {
  std::string out;
  out.reserve(64);
  out.push_back(kImageVersion);
  Put<uint64_t>(out, r.id);
  Put<int64_t>(out, r.created_ms);
  Put<int64_t>(out, r.updated_ms);
  PutString(out, r.model);
  PutString(out, nlohmann::json(r.tags).dump());
  Put<uint64_t>(out, r.version);
  return out;
}

absl::StatusOr<ImageRecord> DecodeImage(std::string_view path, std::string_view in) {
  ImageRecord r;
  r.path = std::string(path);
  std::string tags;
  uint32_t dim = 0;
  if (in.empty() || (in[0] != kImageVersion && in[0] != kImageVersionV2))
    return Error("IS.0009", "(image record version)");
  const bool v2 = in[0] == kImageVersionV2;
  in.remove_prefix(1);
  if (!Take(in, &r.id) || !Take(in, &r.created_ms) || !Take(in, &r.updated_ms) ||
      !TakeString(in, &r.model) || !TakeString(in, &tags)) {
    return Error("IS.0009", "(corrupt image record)");
  }
  if (v2) {
    if (!Take(in, &dim) || in.size() != size_t(dim) * sizeof(float))
      return Error("IS.0009", "(corrupt image record)");
    r.vector.resize(dim);
    std::memcpy(r.vector.data(), in.data(), in.size());
  } else if (!Take(in, &r.version) || !in.empty()) {
    return Error("IS.0009", "(corrupt image record)");
  }
  nlohmann::json tj = nlohmann::json::parse(tags, nullptr, false);
  if (tj.is_discarded() || !tj.is_object()) return Error("IS.0009", "(corrupt image tags)");
  for (auto& [k, v] : tj.items()) {
    if (v.is_string()) r.tags[k] = v.get<std::string>();
  }
  return r;
}

}  // namespace iss::core
