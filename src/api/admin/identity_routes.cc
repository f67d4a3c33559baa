// The identity half of the admin API: users, their keys and projects, over AuthService.
#include <nlohmann/json.hpp>

#include "api/admin/internal.h"
#include "api/v1/errors.h"
#include "auth/auth_service.h"
#include "common/status_macros.h"

namespace iss::api::admin::internal {
namespace {

using nlohmann::json;

constexpr char kUser[] = "/admin/v1/users/{domain}/{user}";

json UserJson(const auth::UserSummary& u, const std::vector<auth::Project>& projects) {
  json granted = json::array();
  for (const std::string& id : u.user.projects) {
    json p = {{"id", id}};
    for (const auth::Project& known : projects) {
      if (known.id == id) p["name"] = known.name;
    }
    granted.push_back(std::move(p));
  }
  return {{"id", u.user.id},
          {"name", u.user.name},
          {"domain", u.domain},
          {"operator", u.user.is_operator},
          {"projects", std::move(granted)},
          {"keys", u.keys}};
}

// A handler over (body, domain, user) that answers {} or an error.
template <typename Fn>
Handler OnUser(bool needs_body, Fn fn) {
  return [needs_body, fn](const Call& c) {
    json body = json::object();
    if (needs_body) {
      absl::StatusOr<json> parsed = Body(c.request);
      if (!parsed.ok()) return Error(parsed.status());
      body = *std::move(parsed);
    }
    absl::StatusOr<json> answer = fn(body, c.params.at("domain"), c.params.at("user"), c.params);
    if (!answer.ok()) return Error(answer.status());
    return Json(*answer);
  };
}

absl::StatusOr<json> Done(const absl::Status& s) {
  if (!s.ok()) return s;
  return json::object();
}

}  // namespace

void RegisterIdentityRoutes(Router* router, const AdminDeps& deps) {
  auth::AuthService* auth = deps.auth;
  // Runs after a change that can end a bootstrap secret (the file then drops it).
  std::function<void()> changed = deps.secrets_changed ? deps.secrets_changed : [] {};
  const std::string user = kUser;

  router->Add(AdminRoute("GET", "/admin/v1/users", [auth](const Call&) {
    absl::StatusOr<std::vector<auth::UserSummary>> users = auth->ListUsers();
    if (!users.ok()) return Error(users.status());
    absl::StatusOr<std::vector<auth::Project>> projects = auth->ListAllProjects();
    if (!projects.ok()) return Error(projects.status());
    json list = json::array();
    for (const auth::UserSummary& u : *users) list.push_back(UserJson(u, *projects));
    return Json({{"users", std::move(list)}});
  }));
  router->Add(AdminRoute("POST", "/admin/v1/users", [auth](const Call& c) {
    absl::StatusOr<json> body = Body(c.request);
    if (!body.ok()) return Error(body.status());
    absl::StatusOr<std::string> name = NeedString(*body, "name");
    if (!name.ok()) return Error(name.status());
    absl::StatusOr<std::string> password = NeedString(*body, "password");
    if (!password.ok()) return Error(password.status());
    absl::StatusOr<std::string> domain = OptString(*body, "domain", "admin");
    if (!domain.ok()) return Error(domain.status());
    absl::StatusOr<bool> is_operator = OptBool(*body, "operator", false);
    if (!is_operator.ok()) return Error(is_operator.status());
    absl::StatusOr<std::string> id = auth->CreateUser(*domain, *name, *password, *is_operator);
    if (!id.ok()) return Error(id.status());
    return Json({{"user_id", *id}, {"name", *name}, {"domain", *domain}});
  }));
  router->Add(AdminRoute("DELETE", user,
                         OnUser(false, [auth, changed](const json&, auto& d, auto& u, auto&) {
                           absl::Status s = auth->DeleteUser(d, u);
                           if (s.ok()) changed();
                           return Done(s);
                         })));
  router->Add(AdminRoute(
      "PUT", user + "/password",
      OnUser(true, [auth, changed](const json& b, auto& d, auto& u, auto&) -> absl::StatusOr<json> {
        ASSIGN_OR_RETURN(std::string password, NeedString(b, "password"));
        absl::Status s = auth->SetPassword(d, u, password);
        if (s.ok()) changed();
        return Done(s);
      })));
  router->Add(AdminRoute(
      "PUT", user + "/operator",
      OnUser(true, [auth](const json& b, auto& d, auto& u, auto&) -> absl::StatusOr<json> {
        if (!b.contains("operator")) return v1::CodeError(v1::Code("IS.0001"), "(`operator`)");
        ASSIGN_OR_RETURN(bool is_operator, OptBool(b, "operator", false));
        return Done(auth->SetOperator(d, u, is_operator));
      })));
  router->Add(AdminRoute(
      "GET", user + "/keys",
      OnUser(false, [auth](const json&, auto& d, auto& u, auto&) -> absl::StatusOr<json> {
        ASSIGN_OR_RETURN(std::vector<std::string> keys, auth->ListKeys(d, u));
        json list = json::array();
        for (const std::string& ak : keys) list.push_back({{"ak", ak}});
        return json{{"keys", std::move(list)}};
      })));
  router->Add(AdminRoute(
      "POST", user + "/keys",
      OnUser(false, [auth](const json&, auto& d, auto& u, auto&) -> absl::StatusOr<json> {
        ASSIGN_OR_RETURN(auth::AccessKey k, auth->CreateKey(d, u));
        return json{{"ak", k.ak}, {"sk", k.sk}};
      })));
  router->Add(AdminRoute("DELETE", "/admin/v1/keys/{ak}", [auth, changed](const Call& c) {
    absl::Status s = auth->DeleteKey(c.params.at("ak"));
    if (!s.ok()) return Error(s);
    changed();
    return Json(json::object());
  }));
  for (const char* method : {"PUT", "DELETE"}) {
    const bool grant = method[0] == 'P';
    router->Add(AdminRoute(method, user + "/projects/{project}",
                           OnUser(false, [auth, grant](const json&, auto& d, auto& u, auto& p) {
                             const std::string& project = p.at("project");
                             return Done(grant ? auth->Grant(d, u, project)
                                               : auth->Revoke(d, u, project));
                           })));
  }
  router->Add(AdminRoute("GET", "/admin/v1/projects", [auth](const Call&) {
    absl::StatusOr<std::vector<auth::UserSummary>> users = auth->ListUsers();
    absl::StatusOr<std::vector<auth::Project>> projects = auth->ListAllProjects();
    if (!projects.ok()) return Error(projects.status());
    json list = json::array();
    for (const auth::Project& p : *projects) {
      json users_of = json::array();
      if (users.ok()) {
        for (const auth::UserSummary& u : *users) {
          if (u.user.MayUse(p.id)) users_of.push_back(u.user.name);
        }
      }
      list.push_back({{"id", p.id},
                      {"name", p.name},
                      {"domain_id", p.domain_id},
                      {"users", std::move(users_of)}});
    }
    return Json({{"projects", std::move(list)}});
  }));
  router->Add(AdminRoute("POST", "/admin/v1/projects", [auth](const Call& c) {
    absl::StatusOr<json> body = Body(c.request);
    if (!body.ok()) return Error(body.status());
    absl::StatusOr<std::string> name = NeedString(*body, "name");
    if (!name.ok()) return Error(name.status());
    absl::StatusOr<std::string> domain = OptString(*body, "domain", "admin");
    if (!domain.ok()) return Error(domain.status());
    absl::StatusOr<std::string> id = auth->CreateProject(*domain, *name);
    if (!id.ok()) return Error(id.status());
    return Json({{"project_id", *id}, {"project_name", *name}});
  }));
}

}  // namespace iss::api::admin::internal
