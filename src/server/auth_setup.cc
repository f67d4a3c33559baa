#include "server/auth_setup.h"

#include <spdlog/spdlog.h>

#include "common/status_macros.h"
#include "server/admin_cli.h"

namespace iss::server {

absl::StatusOr<std::unique_ptr<auth::AuthService>> MakeAuthenticator(
    store::Database* db, const std::string& data_dir, const auth::AuthOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<auth::AuthService> auth, auth::OpenAuth(options, db, data_dir));
  RETURN_IF_ERROR(WriteBootstrapFile(*auth, data_dir));
  spdlog::info(
      "authentication on: the admin identity (user, password, project, AK/SK) is in "
      "{}/bootstrap.json (mode 0600); print it with `imagesearchd admin bootstrap "
      "--data-dir {}`",
      data_dir, data_dir);
  return auth;
}

}  // namespace iss::server
