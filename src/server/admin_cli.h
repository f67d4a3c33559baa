// `imagesearchd admin ...`: operator commands on a data directory's identities.
//
//   imagesearchd admin bootstrap --data-dir DIR
//     prints {"domain","user","password","project_id","project_name","ak","sk"}; the same
//     identity every time (created on the first run or the server's first start).
//   imagesearchd admin user-add|passwd|user-del|project-add|grant|key-add|key-list|key-del
//
// The commands open the database directly, so they need the server stopped (RocksDB
// allows one process per data directory); `bootstrap` alone also works while the server
// runs, by reading DIR/bootstrap.json (mode 0600) that the first start wrote.
// Thread contract: for the process's main thread (a command runs alone, then exits).
#ifndef ISS_SERVER_ADMIN_CLI_H_
#define ISS_SERVER_ADMIN_CLI_H_

#include <string>

#include "absl/status/status.h"

namespace iss::auth {
class AuthService;
}  // namespace iss::auth

namespace iss::server {

// argv[0] == "admin". Returns the process exit code.
int RunAdminCommand(int argc, char** argv);

// Bootstraps (if new) and writes DIR/bootstrap.json (0600) with the admin identity.
absl::Status WriteBootstrapFile(auth::AuthService& auth, const std::string& data_dir);

}  // namespace iss::server

#endif  // ISS_SERVER_ADMIN_CLI_H_
