#include "api/admin/routes.h"

#include <nlohmann/json.hpp>
#include <set>

#include "api/admin/backups.h"
#include "api/admin/internal.h"
#include "api/v1/errors.h"
#include "api/v1/jobs_routes.h"
#include "api/v1/request_json.h"
#include "engine/engine.h"
#include "engine/jobs/job_runner.h"
#include "model/types.h"

namespace iss::api::admin {
namespace internal {

using nlohmann::json;

Route AdminRoute(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.auth = AuthPolicy::kOperator;
  r.handler = std::move(handler);
  r.errors = [](const absl::Status& s) { return v1::RenderError(s); };
  return r;
}

HttpResponse Json(const json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = v1::Dump(body);
  return r;
}

HttpResponse Error(const absl::Status& status) { return v1::RenderError(status); }

absl::StatusOr<json> Body(const HttpRequest& request) {
  absl::StatusOr<json> body = v1::ParseObject(request.body, /*allow_empty=*/false);
  if (!body.ok()) return v1::CodeError(v1::Code("IS.0008"), "(a JSON object body)");
  return body;
}

absl::StatusOr<std::string> NeedString(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return v1::CodeError(v1::Code("IS.0001"), std::string("(`") + name + "`)");
  }
  if (!it->is_string()) {
    return v1::CodeError(v1::Code("IS.0002"), std::string("(`") + name + "` is a string)");
  }
  if (it->get_ref<const std::string&>().empty()) {
    return v1::CodeError(v1::Code("IS.0003"), std::string("(`") + name + "`)");
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> OptString(const json& body, const char* name,
                                      const std::string& fallback) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_string()) {
    return v1::CodeError(v1::Code("IS.0002"), std::string("(`") + name + "` is a string)");
  }
  return it->get<std::string>();
}

absl::StatusOr<bool> OptBool(const json& body, const char* name, bool fallback) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return v1::CodeError(v1::Code("IS.0002"), std::string("(`") + name + "` is true or false)");
  }
  return it->get<bool>();
}

}  // namespace internal

namespace {

using internal::AdminRoute;
using internal::Error;
using internal::Json;
using nlohmann::json;

// A backup id that is not known is "the request parameter does not exist".
constexpr v1::CodeOverride kBackupRoutes[] = {{Reason::kItemNotFound, &v1::Code("IS.2010")}};

json BackupJson(const BackupInfo& b) {
  json j = {{"id", b.id},
            {"target", b.target},
            {"state", b.state},
            {"started_ms", b.started_ms},
            {"finished_ms", b.finished_ms == 0 ? json(nullptr) : json(b.finished_ms)},
            {"files", b.files},
            {"bytes", b.bytes},
            {"index_snapshots", b.shards}};
  if (!b.error.empty()) j["error"] = b.error;
  return j;
}

void RegisterBackupRoutes(Router* router, Backups* backups) {
  router->Add(AdminRoute("POST", "/admin/v1/backups", [backups](const Call& c) {
    absl::StatusOr<json> body = internal::Body(c.request);
    if (!body.ok()) return Error(body.status());
    absl::StatusOr<std::string> target = internal::NeedString(*body, "target");
    if (!target.ok()) return Error(target.status());
    absl::StatusOr<BackupInfo> b = backups->Start(*target);
    if (!b.ok()) return Error(b.status());
    return Json(BackupJson(*b), 202);
  }));
  router->Add(AdminRoute("GET", "/admin/v1/backups", [backups](const Call&) {
    json list = json::array();
    for (const BackupInfo& b : backups->List()) list.push_back(BackupJson(b));
    return Json({{"backups", std::move(list)}});
  }));
  router->Add(AdminRoute("GET", "/admin/v1/backups/{backup_id}", [backups](const Call& c) {
    absl::StatusOr<BackupInfo> b = backups->Get(c.params.at("backup_id"));
    if (!b.ok()) return v1::RenderError(b.status(), kBackupRoutes);
    return Json(BackupJson(*b));
  }));
}

// Every project's jobs: the projects are those with instances (a job needs one).
void RegisterJobRoutes(Router* router, engine::Engine* engine, engine::JobRunner* jobs) {
  router->Add(AdminRoute("GET", "/admin/v1/jobs", [engine, jobs](const Call&) {
    absl::StatusOr<std::vector<model::Gallery>> all = engine->ListGalleries("");
    if (!all.ok()) return Error(all.status());
    std::set<std::string> projects;
    for (const model::Gallery& g : *all) projects.insert(g.project_id);
    json list = json::array();
    for (const std::string& p : projects) {
      absl::StatusOr<std::vector<engine::Job>> js = jobs->List(p);
      if (!js.ok()) return Error(js.status());
      for (const engine::Job& j : *js) {
        json one = v1::JobJson(j);
        one["project_id"] = p;
        list.push_back(std::move(one));
      }
    }
    return Json({{"jobs", std::move(list)}});
  }));
}

}  // namespace

void RegisterRoutes(Router* router, const AdminDeps& deps) {
  engine::Engine* engine = deps.engine;
  router->Add(AdminRoute("GET", "/admin/v1/instances", [engine](const Call&) {
    absl::StatusOr<std::vector<model::Gallery>> all = engine->ListGalleries("");
    if (!all.ok()) return Error(all.status());
    json list = json::array();
    for (const model::Gallery& g : *all) {
      list.push_back({{"project_id", g.project_id},
                      {"name", g.name},
                      {"model", g.model},
                      {"images", g.item_count},
                      {"status", g.state == model::GalleryState::kNormal ? "NORMAL" : "ABNORMAL"},
                      {"created_ms", g.created_ms}});
    }
    return Json({{"instances", std::move(list)}});
  }));
  router->Add(AdminRoute("GET", "/admin/v1/stats", [engine](const Call&) {
    const model::EngineStats s = engine->Stats();
    return Json({{"instances", s.galleries},
                 {"images", s.items},
                 {"index_ram_bytes", s.index_ram_bytes},
                 {"index_disk_bytes", s.index_disk_bytes}});
  }));
  if (deps.jobs != nullptr) RegisterJobRoutes(router, engine, deps.jobs);
  if (deps.backups != nullptr) RegisterBackupRoutes(router, deps.backups);
  if (deps.auth != nullptr) internal::RegisterIdentityRoutes(router, deps);
}

}  // namespace iss::api::admin
