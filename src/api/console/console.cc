#include "api/console/console.h"

#include <string>

namespace iss::api::console {
namespace {

// By extension; anything else is not served (no guessing, and nosniff forbids it too).
std::string_view ContentType(std::string_view name) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type kTypes[] = {{".html", "text/html; charset=utf-8"},
                                    {".js", "text/javascript; charset=utf-8"},
                                    {".css", "text/css; charset=utf-8"},
                                    {".svg", "image/svg+xml"},
                                    {".png", "image/png"},
                                    {".ico", "image/x-icon"}};
  for (const Type& t : kTypes) {
    if (name.size() > t.ext.size() && name.substr(name.size() - t.ext.size()) == t.ext) {
      return t.type;
    }
  }
  return {};
}

void AddSecurityHeaders(HttpResponse* r) {
  r->headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r->headers.emplace_back("Cache-Control", "no-cache");
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  AddSecurityHeaders(&r);
  return r;
}

HttpResponse Redirect() {
  HttpResponse r = Text(302, "see /console/\n");
  r.headers.emplace_back("Location", "/console/");
  return r;
}

HttpResponse Serve(std::string_view name) {
  const std::string_view type = ContentType(name);
  if (!type.empty()) {
    for (const Asset& a : Assets()) {
      if (a.name != name) continue;
      HttpResponse r;
      r.content_type = std::string(type);
      r.body = std::string(a.body);
      AddSecurityHeaders(&r);
      return r;
    }
  }
  return Text(404, "not found\n");
}

Route Get(std::string pattern, Handler handler) {
  return Route{.method = "GET",
               .pattern = std::move(pattern),
               .auth = AuthPolicy::kPublic,
               .handler = std::move(handler),
               .on_io_thread = true};  // a table lookup and a copy: microseconds
}

}  // namespace

void RegisterRoutes(Router* router) {
  router->Add(Get("/", [](const Call&) { return Redirect(); }));
  router->Add(Get("/console", [](const Call&) { return Redirect(); }));
  router->Add(Get("/console/", [](const Call&) { return Serve("index.html"); }));
  router->Add(Get("/console/{file}", [](const Call& c) { return Serve(c.params.at("file")); }));
}

}  // namespace iss::api::console
