// `imagesearch admin ...`: the operator API (/admin/v1) from the command line, against the
// running server: users, passwords, keys, projects, grants, instances, jobs, stats and
// backups. Secrets are read from a file or stdin, never from the command line.
//
//   imagesearch admin user-add alice --password-file - < pw.txt
//   imagesearch admin key-add alice          # prints the AK and (once) the SK
//   imagesearch admin backup /srv/backups/monday   # waits, printing progress
//
// Thread contract: main thread only.
#ifndef ISS_TOOLS_CLI_ADMIN_H_
#define ISS_TOOLS_CLI_ADMIN_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "client.h"

namespace iss::cli {

struct AdminArgs {
  CLI::App* command = nullptr;  // the `admin` subcommand
  std::string action;
  std::vector<std::string> args;
  std::string domain = "admin", password_file;
  bool is_operator = false, no_wait = false;
};

// Declares `admin` on `app`; `args` receives what it parses.
void AddAdminCommand(CLI::App* app, AdminArgs* args);

// Runs it; the exit codes of main.cc (0 done, 1 refused, 2 usage, 3 unreachable).
int RunAdmin(const Client& client, const AdminArgs& args, bool json_out);

}  // namespace iss::cli

#endif  // ISS_TOOLS_CLI_ADMIN_H_
