#include "api/v1/routes.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "api/v1/base64.h"
#include "api/v1/errors.h"
#include "api/v1/request_json.h"
#include "api/v1/v1_route.h"
#include "common/status_macros.h"
#include "engine/engine.h"
#include "model/types.h"

namespace iss::api::v1 {
namespace {

using nlohmann::json;

// v1's values where the request leaves them open (the reference's).
// Instance sizes (`level`): the reference's default and the sizes of the vendor's SDK/demo.
constexpr int64_t kDefaultLevel = 30000000;
constexpr int64_t kLevels[] = {1000000, 5000000, 10000000, 30000000, 50000000, 100000000};
constexpr int64_t kDefaultLimit = 10;
constexpr size_t kMaxNameLength = 16;
constexpr size_t kMaxDescription = 512;
constexpr size_t kMaxInstanceTags = 10;
constexpr size_t kMaxPathLength = 2048;
// offset + limit: the deepest result a search may page to (the cloud's successor API
// caps it at 1000); the engine refuses deeper windows too (model::kMaxResultWindow).
constexpr int64_t kMaxResultWindow = int64_t(model::kMaxResultWindow);
constexpr size_t kMaxCrossPaths = 10;

// The instance routes name a missing instance IS.4004; the image routes IS.2019 (table).
constexpr CodeOverride kInstanceRoutes[] = {{Reason::kGalleryNotFound, &Code("IS.4004")}};
// Modify answers a record that cannot be read back "failed to update the image".
constexpr CodeOverride kModifyRoute[] = {{Reason::kCorrupt, &Code("IS.2104")}};

absl::Status ValidateInstanceName(const std::string& name) {
  if (name.empty()) return CodeError(Code("IS.0003"), "(`name` is empty)");
  bool ok = name.size() <= kMaxNameLength && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  }
  if (!ok) {
    return CodeError(Code("IS.0007"),
                     "(a name starts with a-z, then a-z, 0-9, '-' or '_', at most 16 characters)");
  }
  // DELETE /v1/{p}/service/image would be ambiguous for an instance named "service".
  if (name == "service")
    return CodeError(Code("IS.0007"), "(`service` is reserved, see docs/api.md)");
  return absl::OkStatus();
}

json InstanceJson(const model::Gallery& g) {
  return json{{"instanceName", g.name},
              {"domain", g.model_display_name},
              {"desc", g.description},
              {"registerDate", g.created_ms},
              {"expiredDate", g.expires_ms},
              {"level", g.capacity},
              {"tags", g.tag_keys},
              {"status", g.state == model::GalleryState::kNormal ? "NORMAL" : "ABNORMAL"}};
}

json TagsJson(const model::Tags& tags) {
  json t = json::object();
  for (const auto& [k, v] : tags) t[k] = v;
  return t;
}

// `path` of the image operations: required, non-empty (the reference answers IS.0003
// "Arguments of path can not be null." for both), at most 2048 characters.
absl::StatusOr<std::string> RequiredPath(const json& body) {
  ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(body, "path"));
  if (!path || path->empty())
    return CodeError(Code("IS.0003"), "Arguments of path can not be null.");
  if (Utf8Length(*path) > kMaxPathLength) {
    return CodeError(Code("IS.0016"), "(`path` is longer than 2048 characters)");
  }
  return *path;
}

// `file`: absent, null and "" all mean "no file"; otherwise Base64 (see base64.h).
absl::StatusOr<std::optional<std::string>> OptionalFile(const json& body) {
  ASSIGN_OR_RETURN(std::optional<std::string> file, OptionalString(body, "file"));
  if (!file) return std::optional<std::string>();
  if (file->find_first_not_of(" \t\r\n") == std::string::npos) {
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(std::string bytes, DecodeBase64Image(*file));
  return std::optional<std::string>(std::move(bytes));
}

absl::StatusOr<json> CreateInstance(engine::Engine* engine, const std::string& project,
                                    const json& body) {
  ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(body, "name"));
  if (!name) return CodeError(Code("IS.0001"), "(`name` is required)");
  RETURN_IF_ERROR(ValidateInstanceName(*name));
  ASSIGN_OR_RETURN(std::optional<std::string> model, OptionalString(body, "model"));
  if (!model) return CodeError(Code("IS.0001"), "(`model` is required)");
  if (model->empty()) return CodeError(Code("IS.0003"), "(`model` is empty)");
  ASSIGN_OR_RETURN(std::optional<std::string> desc, OptionalString(body, "description"));
  if (desc && Utf8Length(*desc) > kMaxDescription) {
    return CodeError(Code("IS.3036"),
                     "(" + std::to_string(Utf8Length(*desc)) + " characters; at most 512)");
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> level, OptionalInt(body, "level"));
  if (level && std::find(std::begin(kLevels), std::end(kLevels), *level) == std::end(kLevels)) {
    return CodeError(Code("IS.3035"),
                     "(level is one of 1000000, 5000000, 10000000, 30000000, 50000000, "
                     "100000000)");
  }
  ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> tags, OptionalStringArray(body, "tags"));
  model::GallerySpec spec;
  spec.name = *name;
  spec.model = *model;
  spec.description = desc.value_or("");
  spec.capacity = level.value_or(kDefaultLevel);
  if (tags) {
    for (const std::string& t : *tags) {
      if (t.empty()) return CodeError(Code("IS.0003"), "(an instance tag name is empty)");
      if (Utf8Length(t) > kMaxTagLength) {
        return CodeError(Code("IS.3026"), "(an instance tag name is longer than " +
                                              std::to_string(kMaxTagLength) + " characters)");
      }
      if (std::any_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        return CodeError(Code("IS.3026"),
                         "(tag name `" + t + "` has upper-case letters; not allowed)");
      }
      if (std::find(spec.tag_keys.begin(), spec.tag_keys.end(), t) == spec.tag_keys.end()) {
        spec.tag_keys.push_back(t);
      }
      // At once: the de-duplication above is quadratic in a long array.
      if (spec.tag_keys.size() > kMaxInstanceTags) {
        return CodeError(Code("IS.3024"), "(more than 10 distinct tags)");
      }
    }
  }
  ASSIGN_OR_RETURN(model::Gallery g, engine->CreateGallery(project, spec));
  return InstanceJson(g);
}

absl::StatusOr<json> AddImage(engine::Engine* engine, const std::string& project,
                              const std::string& instance, const json& body) {
  RETURN_IF_ERROR(CheckUrlInstance(instance));
  ASSIGN_OR_RETURN(std::string path, RequiredPath(body));
  ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags", Code("IS.1003")));
  ASSIGN_OR_RETURN(std::optional<std::string> file, OptionalFile(body));
  if (!file && !engine->CanFetch(path)) {
    return CodeError(Code("IS.2015"), "(no `file`, and `path` is not an http(s) URL to download)");
  }
  model::NewItem item;
  item.key = std::move(path);
  item.image = std::move(file);
  if (tags) item.tags = std::move(*tags);
  RETURN_IF_ERROR(engine->PutItem(project, instance, item));
  return json{{"result", "Success"}};
}

absl::StatusOr<model::Box> ParseBox(const json& body) {
  auto it = body.find("box");
  if (it == body.end() || it->is_null()) {
    return CodeError(Code("IS.0001"), "(`is_crop` is true but `box` is missing)");
  }
  if (!it->is_object()) return CodeError(Code("IS.0002"), "(`box` must be an object)");
  int64_t v[4];
  const char* keys[4] = {"x", "y", "width", "height"};
  for (int i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(std::optional<int64_t> f, OptionalInt(*it, keys[i]));
    if (!f) return CodeError(Code("IS.0001"), std::string("(`box.") + keys[i] + "` is required)");
    if (*f < 0 || *f > 1000000 || (i >= 2 && *f == 0)) {
      return CodeError(Code("IS.0002"),
                       std::string("(`box.") + keys[i] + "` must be >= 0, width and height > 0)");
    }
    v[i] = *f;
  }
  return model::Box{int(v[0]), int(v[1]), int(v[2]), int(v[3])};
}

// `limit` and `offset` of a search (and a cross-search).
absl::Status ParsePaging(const json& body, model::Query* q) {
  ASSIGN_OR_RETURN(std::optional<int64_t> limit, OptionalInt(body, "limit"));
  if (limit && (*limit < 1 || *limit > 100)) {
    return CodeError(Code("IS.1010"), "(`limit` must be 1..100)");
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> offset, OptionalInt(body, "offset"));
  if (offset && *offset < 0) {
    return CodeError(Code("IS.1011"), "(`offset` must be >= 0)");
  }
  // Both are at most 100 and int64 here, so the sum cannot overflow.
  if (offset && *offset > kMaxResultWindow - limit.value_or(kDefaultLimit)) {
    return CodeError(Code("IS.1011"), "(`offset` + `limit` must be at most " +
                                          std::to_string(kMaxResultWindow) + ")");
  }
  q->limit = size_t(limit.value_or(kDefaultLimit));
  q->offset = size_t(offset.value_or(0));
  return absl::OkStatus();
}

json PageJson(const model::Page& page) {
  json hits = json::array();
  for (const model::Hit& h : page.hits) {
    // nlohmann writes doubles with a fraction ("1.0"), so `sim` is always a float,
    // and always a finite number in [0, 1] (the engine guarantees it; JSON has no NaN).
    const double sim = std::isfinite(h.score) ? std::clamp(h.score, 0.0, 1.0) : 0.0;
    hits.push_back(json{{"path", h.key}, {"sim", sim}, {"tags", TagsJson(h.tags)}});
  }
  return json{{"count", page.count}, {"result", std::move(hits)}};
}

absl::StatusOr<json> Search(engine::Engine* engine, const std::string& project,
                            const std::string& instance, const json& body) {
  RETURN_IF_ERROR(CheckUrlInstance(instance));
  model::Query q;
  RETURN_IF_ERROR(ParsePaging(body, &q));
  ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags", Code("IS.1003")));
  if (tags) q.filter = std::move(*tags);
  // `is_crop: true` crops to `box`; a `box` without `is_crop` crops too (the reference's
  // example 6 sends `path` + `box` alone); `is_crop: false` searches with the whole image.
  ASSIGN_OR_RETURN(std::optional<bool> is_crop, OptionalBool(body, "is_crop"));
  auto box_it = body.find("box");
  const bool has_box = box_it != body.end() && !box_it->is_null();
  if (is_crop.value_or(has_box)) {
    ASSIGN_OR_RETURN(model::Box box, ParseBox(body));
    q.crop = box;
  }
  ASSIGN_OR_RETURN(q.image, OptionalFile(body));
  ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(body, "path"));
  if (path && !path->empty()) {
    if (Utf8Length(*path) > kMaxPathLength) {
      return CodeError(Code("IS.0016"), "(`path` is longer than 2048 characters)");
    }
    q.key = std::move(path);
  }
  if (q.crop && !q.image && q.key && !engine->CanFetch(*q.key)) {
    // A stored image keeps only its features: cropping needs its pixels again.
    return CodeError(Code("IS.0016"),
                     "(a crop needs the image's pixels: `path` must be an http(s) URL to "
                     "download them from, or send the image as `file`)");
  }
  if (!q.image && !q.key && q.filter.empty()) {
    return CodeError(Code("IS.2015"), "(give `file`, `path` or `tags` to search with)");
  }
  ASSIGN_OR_RETURN(model::Page page, engine->Search(project, instance, q));
  return PageJson(page);
}

// POST /v1/{project_id}/image/cross-search (the vendor's SDK and demo): searches
// `target_instance` with the stored images `paths` (1..10) of `source_instance`.
absl::StatusOr<json> CrossSearch(engine::Engine* engine, const std::string& project,
                                 const json& body) {
  std::string names[2];
  const char* fields[2] = {"source_instance", "target_instance"};
  for (int i = 0; i < 2; ++i) {
    ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(body, fields[i]));
    if (!name) return CodeError(Code("IS.0001"), std::string("(`") + fields[i] + "` is required)");
    if (name->empty())
      return CodeError(Code("IS.0003"), std::string("(`") + fields[i] + "` is empty)");
    RETURN_IF_ERROR(CheckUrlInstance(*name));
    names[i] = std::move(*name);
  }
  ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> paths,
                   OptionalStringArray(body, "paths"));
  if (!paths) return CodeError(Code("IS.0001"), "(`paths` is required)");
  if (paths->empty()) return CodeError(Code("IS.0003"), "(`paths` is empty)");
  if (paths->size() > kMaxCrossPaths) {
    return CodeError(Code("IS.0002"), "(at most 10 `paths`)");
  }
  for (const std::string& p : *paths) {
    if (p.empty()) return CodeError(Code("IS.0003"), "Arguments of path can not be null.");
    if (Utf8Length(p) > kMaxPathLength) {
      return CodeError(Code("IS.0016"), "(a path is longer than 2048 characters)");
    }
  }
  model::Query q;
  RETURN_IF_ERROR(ParsePaging(body, &q));
  ASSIGN_OR_RETURN(model::Gallery source, engine->GetGallery(project, names[0]));
  ASSIGN_OR_RETURN(model::Gallery target, engine->GetGallery(project, names[1]));
  if (source.model != target.model) {
    return CodeError(Code("IS.3004"), "(`source_instance` uses model `" + source.model +
                                          "`, `target_instance` `" + target.model + "`)");
  }
  ASSIGN_OR_RETURN(model::Page page, engine->CrossSearch(project, names[0], *paths, names[1], q));
  return PageJson(page);
}

// The image an operation names: the instance of the URL and the body's `path`.
struct ImageRef {
  std::string instance;
  std::string path;
};

absl::StatusOr<ImageRef> ImageRefOf(const RouteParams& params, const json& body) {
  ImageRef ref;
  ref.instance = params.at("instance_name");
  RETURN_IF_ERROR(CheckUrlInstance(ref.instance));
  ASSIGN_OR_RETURN(ref.path, RequiredPath(body));
  return ref;
}

json IndexJson(const model::IndexStats& i) {
  return json{{"index",
               {{"tier", i.tier},
                {"vectors", i.vectors},
                {"ann_rows", i.ann_rows},
                {"buffer_rows", i.buffer_rows},
                {"nlist", i.nlist},
                {"ram_bytes", i.ram_bytes},
                {"disk_bytes", i.disk_bytes},
                {"restored", i.restored},
                {"preloaded_bytes", i.preloaded_bytes}}}};
}

}  // namespace

namespace {
ErrorRenderer Renderer(std::span<const CodeOverride> overrides) {
  return [overrides](const absl::Status& s) { return RenderError(s, overrides); };
}
}  // namespace

Route V1Route(std::string method, std::string pattern, bool allow_empty_body, Body fn,
              std::span<const CodeOverride> overrides) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.auth = AuthPolicy::kProject;
  r.errors = Renderer(overrides);
  r.handler = [allow_empty_body, overrides, fn = std::move(fn)](const Call& call) {
    const std::string& project = call.params.at("project_id");
    absl::StatusOr<json> body = ParseObject(call.request.body, allow_empty_body);
    if (!body.ok()) return RenderError(body.status(), overrides);
    absl::StatusOr<json> out = fn(project, call.params, *body);
    if (!out.ok()) return RenderError(out.status(), overrides);
    HttpResponse resp;
    resp.body = Dump(*out);
    return resp;
  };
  return r;
}

absl::Status CheckUrlInstance(const std::string& name) {
  if (!ValidateInstanceName(name).ok()) {
    return CodeError(Code("IS.2019"), "(no instance named `" + name + "`)");
  }
  return absl::OkStatus();
}

void RegisterRoutes(Router* router, engine::Engine* e) {
  using R = const RouteParams&;
  using J = const json&;
  using S = const std::string&;
  router->Add(V1Route("POST", "/v1/{project_id}/service", false,
                      [e](S p, R, J b) { return CreateInstance(e, p, b); }));
  router->Add(V1Route(
      "GET", "/v1/{project_id}/service/{instance_name}", true,
      [e](S p, R r, J) -> absl::StatusOr<json> {
        const std::string& name = r.at("instance_name");
        RETURN_IF_ERROR(CheckUrlInstance(name));
        ASSIGN_OR_RETURN(model::Gallery g, e->GetGallery(p, name));
        return InstanceJson(g);
      },
      kInstanceRoutes));
  router->Add(V1Route(
      "DELETE", "/v1/{project_id}/service/{instance_name}", true,
      [e](S p, R r, J) -> absl::StatusOr<json> {
        const std::string& name = r.at("instance_name");
        RETURN_IF_ERROR(CheckUrlInstance(name));
        RETURN_IF_ERROR(e->DeleteGallery(p, name));
        return json{{"result", "success"}};
      },
      kInstanceRoutes));
  router->Add(V1Route("POST", "/v1/{project_id}/{instance_name}/image", false,
                      [e](S p, R r, J b) { return AddImage(e, p, r.at("instance_name"), b); }));
  router->Add(V1Route("POST", "/v1/{project_id}/{instance_name}/image/search", false,
                      [e](S p, R r, J b) { return Search(e, p, r.at("instance_name"), b); }));
  router->Add(V1Route("POST", "/v1/{project_id}/image/cross-search", false,
                      [e](S p, R, J b) { return CrossSearch(e, p, b); }));
  router->Add(V1Route("POST", "/v1/{project_id}/{instance_name}/image/check", false,
                      [e](S p, R r, J b) -> absl::StatusOr<json> {
                        ASSIGN_OR_RETURN(ImageRef img, ImageRefOf(r, b));
                        ASSIGN_OR_RETURN(bool exists, e->HasItem(p, img.instance, img.path));
                        return json{{"exist", exists ? "true" : "false"}};
                      }));
  router->Add(V1Route("DELETE", "/v1/{project_id}/{instance_name}/image", false,
                      [e](S p, R r, J b) -> absl::StatusOr<json> {
                        ASSIGN_OR_RETURN(ImageRef img, ImageRefOf(r, b));
                        RETURN_IF_ERROR(e->RemoveItem(p, img.instance, img.path));
                        return json{{"result", "Success"}};
                      }));
  router->Add(V1Route(
      "PUT", "/v1/{project_id}/{instance_name}/image", false,
      [e](S p, R r, J b) -> absl::StatusOr<json> {
        ASSIGN_OR_RETURN(ImageRef img, ImageRefOf(r, b));
        ASSIGN_OR_RETURN(auto tags, OptionalStringMap(b, "tags", Code("IS.1003")));
        if (!tags) return CodeError(Code("IS.2009"), "(`tags` is required on modify)");
        RETURN_IF_ERROR(e->SetItemTags(p, img.instance, img.path, *tags));
        return json{{"result", "Success"}};
      },
      kModifyRoute));
  // Beyond the cloud's API: the operator's view of an instance's index.
  router->Add(V1Route("GET", "/v1/{project_id}/{instance_name}/index", true,
                      [e](S p, R r, J) -> absl::StatusOr<json> {
                        const std::string& name = r.at("instance_name");
                        RETURN_IF_ERROR(CheckUrlInstance(name));
                        ASSIGN_OR_RETURN(model::IndexStats i, e->GetIndexStats(p, name));
                        return IndexJson(i);
                      }));
  // Beyond the cloud's API (which has no listing): the project's instances, by name, each
  // as "query instance" answers it plus its image count (the console lists them).
  router->Add(V1Route("GET", "/v1/{project_id}/image-search/instances", true,
                      [e](S p, R, J) -> absl::StatusOr<json> {
                        ASSIGN_OR_RETURN(std::vector<model::Gallery> all, e->ListGalleries(p));
                        json list = json::array();
                        for (const model::Gallery& g : all) {
                          json one = InstanceJson(g);
                          one["images"] = g.item_count;
                          list.push_back(std::move(one));
                        }
                        return json{{"count", list.size()}, {"instances", std::move(list)}};
                      }));
}

HttpResponse RenderDefaultError(const absl::Status& status) { return RenderError(status); }

}  // namespace iss::api::v1
