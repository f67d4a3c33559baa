// What the server's main needs from auth/: the AuthService for a data directory, with the
// admin identity bootstrapped on first start (DATA_DIR/bootstrap.json, mode 0600).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<auth::AuthService> auth,
//                    server::MakeAuthenticator(db.get(), options.data_dir, auth_options));
//
// Thread contract: call once at startup; the service it returns is thread-safe.
#ifndef ISS_SERVER_AUTH_SETUP_H_
#define ISS_SERVER_AUTH_SETUP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "auth/auth_service.h"

namespace iss::server {

absl::StatusOr<std::unique_ptr<auth::AuthService>> MakeAuthenticator(
    store::Database* db, const std::string& data_dir, const auth::AuthOptions& options = {});

}  // namespace iss::server

#endif  // ISS_SERVER_AUTH_SETUP_H_
