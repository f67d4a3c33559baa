#include "api/admin/routes.h"

#include <nlohmann/json.hpp>

#include "api/v1/errors.h"
#include "api/v1/request_json.h"
#include "engine/engine.h"
#include "model/types.h"

namespace iss::api::admin {
namespace {

using nlohmann::json;

HttpResponse Json(const json& body) {
  HttpResponse r;
  r.body = v1::Dump(body);
  return r;
}

Route AdminRoute(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.auth = AuthPolicy::kOperator;
  r.handler = std::move(handler);
  r.errors = [](const absl::Status& s) { return v1::RenderError(s); };
  return r;
}

}  // namespace

void RegisterRoutes(Router* router, engine::Engine* engine) {
  router->Add(AdminRoute("GET", "/admin/v1/instances", [engine](const Call&) {
    absl::StatusOr<std::vector<model::Gallery>> all = engine->ListGalleries("");
    if (!all.ok()) return v1::RenderError(all.status());
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
}

}  // namespace iss::api::admin
