// The web console: a browser UI over the v1, import-job, IAM and metrics routes, written
// in plain HTML, CSS and ES modules (src/api/console/web/, no build step, nothing loaded
// from elsewhere), embedded into the binary at build time (embed.cmake) and served here:
//
//   GET /            -> 302 /console/
//   GET /console     -> 302 /console/
//   GET /console/    -> index.html
//   GET /console/{file} -> the embedded file of that exact name, else 404
//
// This module owns only the serving: the names, the Content-Types and the security headers
// of every answer (a strict Content-Security-Policy without inline script, nosniff, no
// framing, no referrer). Files are looked up by exact name in the embedded table, so no
// request can reach the file system. The console itself calls the same public routes any
// client calls, with the token it obtains at sign-in (docs/console.md).
//
//   api::console::RegisterRoutes(&router);   // when [console] enabled (the default)
//
// Thread contract: the routes are public and thread-safe (they read immutable tables);
// they may run on the I/O threads.
#ifndef ISS_API_CONSOLE_CONSOLE_H_
#define ISS_API_CONSOLE_CONSOLE_H_

#include <string_view>
#include <vector>

#include "api/http/router.h"

namespace iss::api::console {

struct ConsoleOptions {
  bool enabled = true;  // Default: true. false: no /console routes, `/` answers 404
};

// One embedded file of web/.
struct Asset {
  std::string_view name;  // "app.js"
  std::string_view body;
};

// The embedded files, sorted by name (generated: console_assets.cc).
const std::vector<Asset>& Assets();

// The Content-Security-Policy every console answer carries.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data: "
    "http: https:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'";

void RegisterRoutes(Router* router);

}  // namespace iss::api::console

#endif  // ISS_API_CONSOLE_CONSOLE_H_
