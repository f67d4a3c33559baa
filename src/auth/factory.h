// What the server's main needs from auth/: the AuthService for a data directory, with the
// admin identity bootstrapped on first start (DATA_DIR/bootstrap.json, mode 0600).
#ifndef ISS_AUTH_FACTORY_H_
#define ISS_AUTH_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "auth/auth_service.h"

namespace iss::auth {

absl::StatusOr<std::unique_ptr<AuthService>> MakeAuthenticator(store::Database* db,
                                                               const std::string& data_dir,
                                                               const AuthOptions& options = {});

}  // namespace iss::auth

#endif  // ISS_AUTH_FACTORY_H_
