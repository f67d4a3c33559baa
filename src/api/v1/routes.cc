#include "api/v1_routes.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/base64.h"
#include "api/error_response.h"
#include "api/request_json.h"
#include "auth/authenticator.h"
#include "common/error.h"
#include "common/status_macros.h"
#include "core/service.h"
#include "fetch/fetcher.h"

namespace iss::api {
namespace {

using nlohmann::json;

constexpr int64_t kOnlyLevel = 30000000;
constexpr size_t kMaxNameLength = 16;
constexpr size_t kMaxDescription = 512;
constexpr size_t kMaxInstanceTags = 10;
constexpr size_t kMaxPathLength = 2048;

// A handler body: validated request in, JSON answer (or an error status) out.
using Body = std::function<absl::StatusOr<json>(const std::string& project,
                                                const RouteParams& params, const json& body)>;

struct Context {
  core::Service* service;
  const auth::Authenticator* authenticator;
};

absl::Status Authenticate(const Context& ctx, const HttpRequest& req, const std::string& project) {
  if (ctx.authenticator == nullptr) return absl::OkStatus();
  auth::RequestFacts facts;
  facts.method = req.method;
  facts.raw_path = req.path;
  facts.raw_query = req.query;
  facts.headers = req.headers;
  facts.body = req.body;
  facts.remote_addr = req.remote_addr;
  absl::StatusOr<auth::Principal> who = ctx.authenticator->Authenticate(facts, project);
  return who.status();
}

// Authenticate, parse the body, run `fn`, serialise. `allow_empty_body` for GET and
// DELETE instance, which take no body (clients may still send "{}").
Handler Wrap(const Context& ctx, bool allow_empty_body, Body fn) {
  return [ctx, allow_empty_body, fn = std::move(fn)](const HttpRequest& req,
                                                     const RouteParams& params) {
    const std::string& project = params.at("project_id");
    if (absl::Status s = Authenticate(ctx, req, project); !s.ok()) return ErrorResponse(s);
    absl::StatusOr<json> body = ParseObject(req.body, allow_empty_body);
    if (!body.ok()) return ErrorResponse(body.status());
    absl::StatusOr<json> out = fn(project, params, *body);
    if (!out.ok()) return ErrorResponse(out.status());
    HttpResponse r;
    r.body = Dump(*out);
    return r;
  };
}

absl::Status ValidateInstanceName(const std::string& name) {
  if (name.empty()) return Error("IS.0003", "(`name` is empty)");
  bool ok = name.size() <= kMaxNameLength && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
  }
  if (!ok) {
    return Error("IS.0007",
                 "(a name starts with a-z, then a-z, 0-9, '-' or '_', at most 16 characters)");
  }
  // DELETE /v1/{p}/service/image would be ambiguous for an instance named "service".
  if (name == "service") return Error("IS.0007", "(`service` is reserved, see docs/api.md)");
  return absl::OkStatus();
}

// The instance name of a URL: same rule as at creation, but an instance that cannot exist
// is reported as missing (IS.2019), never as a bad name.
absl::Status CheckUrlInstance(const std::string& name) {
  if (!ValidateInstanceName(name).ok()) {
    return Error("IS.2019", "(no instance named `" + name + "`)");
  }
  return absl::OkStatus();
}

json InstanceJson(const core::Instance& inst) {
  return json{{"instanceName", inst.name},
              {"domain", inst.domain},
              {"desc", inst.description},
              {"registerDate", inst.register_date_ms},
              {"expiredDate", inst.expired_date_ms},
              {"level", inst.level},
              {"tags", inst.tags},
              {"status", inst.status}};
}

json TagsJson(const core::Tags& tags) {
  json t = json::object();
  for (const auto& [k, v] : tags) t[k] = v;
  return t;
}

// `path` of the image operations: required, non-empty (the reference answers IS.0003
// "Arguments of path can not be null." for both), at most 2048 characters.
absl::StatusOr<std::string> RequiredPath(const json& body) {
  ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(body, "path"));
  if (!path || path->empty()) return Error("IS.0003", "Arguments of path can not be null.");
  if (Utf8Length(*path) > kMaxPathLength) {
    return Error("IS.0016", "(`path` is longer than 2048 characters)");
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

absl::StatusOr<json> CreateInstance(const Context& ctx, const std::string& project,
                                    const json& body) {
  ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(body, "name"));
  if (!name) return Error("IS.0001", "(`name` is required)");
  RETURN_IF_ERROR(ValidateInstanceName(*name));
  ASSIGN_OR_RETURN(std::optional<std::string> model, OptionalString(body, "model"));
  if (!model) return Error("IS.0001", "(`model` is required)");
  if (model->empty()) return Error("IS.0003", "(`model` is empty)");
  ASSIGN_OR_RETURN(std::optional<std::string> desc, OptionalString(body, "description"));
  if (desc && Utf8Length(*desc) > kMaxDescription) {
    return Error("IS.3036", "(" + std::to_string(Utf8Length(*desc)) + " characters; at most 512)");
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> level, OptionalInt(body, "level"));
  if (level && *level != kOnlyLevel) {
    return Error("IS.3035", "(only level 30000000 is supported)");
  }
  ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> tags, OptionalStringArray(body, "tags"));
  core::InstanceSpec spec;
  spec.name = *name;
  spec.model = *model;
  spec.description = desc.value_or("");
  spec.level = kOnlyLevel;
  if (tags) {
    for (const std::string& t : *tags) {
      if (t.empty()) return Error("IS.0003", "(an instance tag name is empty)");
      if (std::any_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        return Error("IS.3026", "(tag name `" + t + "` has upper-case letters; not allowed)");
      }
      if (std::find(spec.tags.begin(), spec.tags.end(), t) == spec.tags.end()) {
        spec.tags.push_back(t);
      }
    }
    if (spec.tags.size() > kMaxInstanceTags) {
      return Error("IS.3024", "(" + std::to_string(spec.tags.size()) + " tags; at most 10)");
    }
  }
  ASSIGN_OR_RETURN(core::Instance inst, ctx.service->CreateInstance(project, spec));
  return InstanceJson(inst);
}

absl::StatusOr<json> AddImage(const Context& ctx, const std::string& project,
                              const std::string& instance, const json& body) {
  RETURN_IF_ERROR(CheckUrlInstance(instance));
  ASSIGN_OR_RETURN(std::string path, RequiredPath(body));
  ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags", "IS.1003"));
  ASSIGN_OR_RETURN(std::optional<std::string> file, OptionalFile(body));
  if (!file && !fetch::Fetcher::LooksLikeUrl(path)) {
    return Error("IS.2015", "(no `file`, and `path` is not an http(s) URL to download)");
  }
  core::AddImageRequest req;
  req.path = std::move(path);
  req.file = std::move(file);
  if (tags) req.tags = std::move(*tags);
  RETURN_IF_ERROR(ctx.service->AddImage(project, instance, req));
  return json{{"result", "Success"}};
}

absl::StatusOr<features::Box> ParseBox(const json& body) {
  auto it = body.find("box");
  if (it == body.end() || it->is_null()) {
    return Error("IS.0001", "(`is_crop` is true but `box` is missing)");
  }
  if (!it->is_object()) return Error("IS.0002", "(`box` must be an object)");
  int64_t v[4];
  const char* keys[4] = {"x", "y", "width", "height"};
  for (int i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(std::optional<int64_t> f, OptionalInt(*it, keys[i]));
    if (!f) return Error("IS.0001", std::string("(`box.") + keys[i] + "` is required)");
    if (*f < 0 || *f > 1000000 || (i >= 2 && *f == 0)) {
      return Error("IS.0002",
                   std::string("(`box.") + keys[i] + "` must be >= 0, width and height > 0)");
    }
    v[i] = *f;
  }
  return features::Box{int(v[0]), int(v[1]), int(v[2]), int(v[3])};
}

absl::StatusOr<json> Search(const Context& ctx, const std::string& project,
                            const std::string& instance, const json& body) {
  RETURN_IF_ERROR(CheckUrlInstance(instance));
  core::SearchRequest req;
  ASSIGN_OR_RETURN(std::optional<int64_t> limit, OptionalInt(body, "limit"));
  if (limit && (*limit < 1 || *limit > 100)) {
    return Error("IS.1010", "(`limit` must be 1..100)");
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> offset, OptionalInt(body, "offset"));
  if (offset && (*offset < 0 || *offset > 1000000000)) {
    return Error("IS.1011", "(`offset` must be >= 0)");
  }
  req.limit = int(limit.value_or(10));
  req.offset = int(offset.value_or(0));
  ASSIGN_OR_RETURN(auto tags, OptionalStringMap(body, "tags", "IS.1003"));
  if (tags) req.tags = std::move(*tags);
  ASSIGN_OR_RETURN(std::optional<bool> is_crop, OptionalBool(body, "is_crop"));
  if (is_crop.value_or(false)) {
    ASSIGN_OR_RETURN(features::Box box, ParseBox(body));
    req.box = box;
  }
  ASSIGN_OR_RETURN(req.file, OptionalFile(body));
  ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(body, "path"));
  if (path && !path->empty()) {
    if (Utf8Length(*path) > kMaxPathLength) {
      return Error("IS.0016", "(`path` is longer than 2048 characters)");
    }
    req.path = std::move(path);
  }
  if (!req.file && !req.path && req.tags.empty()) {
    return Error("IS.2015", "(give `file`, `path` or `tags` to search with)");
  }
  ASSIGN_OR_RETURN(core::SearchResult result, ctx.service->Search(project, instance, req));
  json hits = json::array();
  for (const core::SearchHit& h : result.hits) {
    // nlohmann writes doubles with a fraction ("1.0"), so `sim` is always a float.
    hits.push_back(json{{"path", h.path}, {"sim", double(h.sim)}, {"tags", TagsJson(h.tags)}});
  }
  return json{{"count", result.count}, {"result", std::move(hits)}};
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

void RegisterRoutes(Router* router, const Context& ctx) {
  router->Add("POST", "/v1/{project_id}/service",
              Wrap(ctx, false, [ctx](const std::string& p, const RouteParams&, const json& b) {
                return CreateInstance(ctx, p, b);
              }));
  router->Add(
      "GET", "/v1/{project_id}/service/{instance_name}",
      Wrap(ctx, true,
           [ctx](const std::string& p, const RouteParams& r, const json&) -> absl::StatusOr<json> {
             const std::string& name = r.at("instance_name");
             RETURN_IF_ERROR(CheckUrlInstance(name));
             ASSIGN_OR_RETURN(core::Instance inst, ctx.service->GetInstance(p, name));
             return InstanceJson(inst);
           }));
  router->Add(
      "DELETE", "/v1/{project_id}/service/{instance_name}",
      Wrap(ctx, true,
           [ctx](const std::string& p, const RouteParams& r, const json&) -> absl::StatusOr<json> {
             const std::string& name = r.at("instance_name");
             RETURN_IF_ERROR(CheckUrlInstance(name));
             RETURN_IF_ERROR(ctx.service->DeleteInstance(p, name));
             return json{{"result", "success"}};
           }));
  router->Add("POST", "/v1/{project_id}/{instance_name}/image",
              Wrap(ctx, false, [ctx](const std::string& p, const RouteParams& r, const json& b) {
                return AddImage(ctx, p, r.at("instance_name"), b);
              }));
  router->Add("POST", "/v1/{project_id}/{instance_name}/image/search",
              Wrap(ctx, false, [ctx](const std::string& p, const RouteParams& r, const json& b) {
                return Search(ctx, p, r.at("instance_name"), b);
              }));
  router->Add(
      "POST", "/v1/{project_id}/{instance_name}/image/check",
      Wrap(
          ctx, false,
          [ctx](const std::string& p, const RouteParams& r, const json& b) -> absl::StatusOr<json> {
            ASSIGN_OR_RETURN(ImageRef img, ImageRefOf(r, b));
            ASSIGN_OR_RETURN(bool exists, ctx.service->CheckImage(p, img.instance, img.path));
            return json{{"exist", exists ? "true" : "false"}};
          }));
  router->Add("DELETE", "/v1/{project_id}/{instance_name}/image",
              Wrap(ctx, false,
                   [ctx](const std::string& p, const RouteParams& r,
                         const json& b) -> absl::StatusOr<json> {
                     ASSIGN_OR_RETURN(ImageRef img, ImageRefOf(r, b));
                     RETURN_IF_ERROR(ctx.service->DeleteImage(p, img.instance, img.path));
                     return json{{"result", "Success"}};
                   }));
  // Beyond the cloud's API: the operator's view of an instance's index.
  router->Add(
      "GET", "/v1/{project_id}/{instance_name}/index",
      Wrap(ctx, true,
           [ctx](const std::string& p, const RouteParams& r, const json&) -> absl::StatusOr<json> {
             const std::string& name = r.at("instance_name");
             RETURN_IF_ERROR(CheckUrlInstance(name));
             ASSIGN_OR_RETURN(core::IndexInfo i, ctx.service->GetIndexInfo(p, name));
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
           }));
  router->Add("PUT", "/v1/{project_id}/{instance_name}/image",
              Wrap(ctx, false,
                   [ctx](const std::string& p, const RouteParams& r,
                         const json& b) -> absl::StatusOr<json> {
                     ASSIGN_OR_RETURN(ImageRef img, ImageRefOf(r, b));
                     ASSIGN_OR_RETURN(auto tags, OptionalStringMap(b, "tags", "IS.1003"));
                     if (!tags) return Error("IS.2009", "(`tags` is required on modify)");
                     RETURN_IF_ERROR(ctx.service->ModifyImage(p, img.instance, img.path, *tags));
                     return json{{"result", "Success"}};
                   }));
}

}  // namespace

void RegisterV1Routes(Router* router, core::Service* service,
                      const auth::Authenticator* authenticator) {
  RegisterRoutes(router, Context{service, authenticator});
}

}  // namespace iss::api
