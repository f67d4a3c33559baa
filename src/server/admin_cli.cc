#include "server/admin_cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/auth_service.h"
#include "blob/s3_source.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "server/backup.h"
#include "server/options.h"
#include "store/kv.h"

namespace iss::server {
namespace {

using auth::AuthOptions;
using auth::AuthService;
using auth::BootstrapIdentity;
using auth::OpenAuth;
using json = nlohmann::json;

// The first identity; a secret that was changed or deleted since is left out (not shown
// stale): "password" after `passwd`, "ak"/"sk" after `key-del` of that key.
json IdentityJson(const BootstrapIdentity& id) {
  json j = {{"domain", id.domain},
            {"user", id.user},
            {"project_id", id.project_id},
            {"project_name", id.project_name}};
  if (!id.password.empty()) j["password"] = id.password;
  if (!id.ak.empty()) j["ak"] = id.ak;
  if (!id.sk.empty()) j["sk"] = id.sk;
  return j;
}

// A password from a file or stdin ("-"), first line: never from the command line, where
// `ps` and shell histories show it.
absl::StatusOr<std::string> ReadPassword(const std::string& source) {
  std::string line;
  if (source == "-") {
    std::getline(std::cin, line);
  } else {
    std::ifstream in(source);
    if (!in) return Fail(Reason::kInvalidArgument, "(cannot read " + source + ")");
    std::getline(in, line);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

// The sentence printed before a failure's detail: the wording these commands have always
// printed (the API's default messages for the codes the reasons used to be).
std::string_view Wording(Reason reason) {
  switch (reason) {
    case Reason::kIdentityNotFound:
      return "The user does not exist.";
    case Reason::kIdentityExists:
      return "The service name already exists.";
    case Reason::kInvalidArgument:
      return "The request parameter cannot be empty.";
    case Reason::kUnauthenticated:
      return "Incorrect IAM authentication information.";
    case Reason::kPermissionDenied:
      return "The IAM user is not authorized to access the API.";
    default:
      return "The request failed due to an internal error.";
  }
}

int ExitWith(const absl::Status& s) {
  std::string text(Wording(ReasonOf(s)));
  if (!s.message().empty()) text.append(" ").append(std::string(s.message()));
  std::fprintf(stderr, "imagesearchd admin: %s\n", text.c_str());
  return 1;
}

// `storage-ls` / `storage-head`: what the server's storage profiles reach, without the
// server (an operator checks a profile and counts a bucket before and after an import).
int RunStorageCommand(const std::string& config, const std::string& locator, bool head,
                      bool count_only, int max_keys) {
  std::vector<std::string> args = {"imagesearchd"};
  if (!config.empty()) args.insert(args.end(), {"--config", config});
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  auto options = LoadOptions(int(argv.size()), argv.data());
  if (!options.ok()) {
    std::fprintf(stderr, "imagesearchd admin: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  blob::S3Source s3(options->storage);
  auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "imagesearchd admin: %s %s\n",
                 std::string(ReasonName(ReasonOf(s))).c_str(), std::string(s.message()).c_str());
    return 1;
  };
  if (head) {
    auto info = s3.Head(locator);
    if (!info.ok()) return fail(info.status());
    std::cout << json{{"key", info->key}, {"size", info->size}, {"etag", info->etag}}.dump()
              << "\n";
    return 0;
  }
  int64_t objects = 0, pages = 0;
  std::string token;
  do {
    auto page = s3.List(locator, token, max_keys);
    if (!page.ok()) return fail(page.status());
    ++pages;
    for (const blob::ObjectInfo& o : page->objects) {
      ++objects;
      if (!count_only) {
        std::cout << json{{"key", o.key}, {"size", o.size}, {"etag", o.etag}}.dump() << "\n";
      }
    }
    token = page->next_token;
  } while (!token.empty());
  if (count_only) std::cout << json{{"objects", objects}, {"pages", pages}}.dump() << "\n";
  return 0;
}

}  // namespace

absl::Status WriteBootstrapFile(AuthService& auth, const std::string& data_dir) {
  ASSIGN_OR_RETURN(BootstrapIdentity id, auth.Bootstrap());
  const std::string path = data_dir + "/bootstrap.json", tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Fail(Reason::kStorage, "(cannot write " + tmp + ")");
  std::string text = IdentityJson(id).dump() + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(Reason::kStorage, "(cannot write " + path + ")");
  }
  return absl::OkStatus();
}

int RunAdminCommand(int argc, char** argv) {
  CLI::App app(
      "imagesearchd admin: offline administration (the server stopped): identities, backups' "
      "restore and verification, object storage checks. While the server runs, use its admin "
      "API (`imagesearch admin ...`)");
  app.require_subcommand(1);
  std::string data_dir = "./data", domain = "admin", user, password, project;
  app.add_option("--data-dir", data_dir, "Data directory")->envname("ISS_DATA_DIR");
  auto* boot = app.add_subcommand("bootstrap", "Initialise (if new); print the admin identity");
  auto* user_add = app.add_subcommand("user-add", "Create a user");
  auto* passwd = app.add_subcommand("passwd", "Set a user's password (ends their tokens)");
  auto* user_del = app.add_subcommand("user-del", "Delete a user and their keys");
  auto* project_add = app.add_subcommand("project-add", "Create a project; prints its id");
  auto* grant = app.add_subcommand("grant", "Let a user use a project");
  auto* key_add = app.add_subcommand("key-add", "Create an AK/SK pair for a user");
  auto* key_list = app.add_subcommand("key-list", "List a user's access keys");
  auto* key_del = app.add_subcommand("key-del", "Delete an access key");
  auto* storage_ls = app.add_subcommand(
      "storage-ls", "List objects under s3://bucket/prefix with the config's storage profiles");
  auto* storage_head = app.add_subcommand("storage-head", "Size and ETag of one object");
  auto* restore = app.add_subcommand(
      "restore", "Make a new data dir from a backup (POST /admin/v1/backups), verified first");
  auto* verify = app.add_subcommand("backup-verify", "Check a backup's files against its manifest");
  std::string backup_dir;
  for (auto* c : {restore, verify}) {
    c->add_option("--from", backup_dir, "The backup directory")->required();
  }
  restore->add_option("--data-dir", data_dir, "The new data directory (must hold no data)")
      ->required();
  std::string config, locator;
  bool count_only = false;
  int max_keys = 1000;
  for (auto* c : {storage_ls, storage_head}) {
    c->add_option("--config", config, "The server's TOML configuration (its storage profiles)")
        ->envname("ISS_CONFIG");
    c->add_option("locator", locator, "s3://bucket/prefix or an object URL")->required();
  }
  storage_ls->add_flag("--count", count_only, "Print only the number of objects and pages");
  storage_ls->add_option("--max-keys", max_keys, "Objects per listing page (1..1000)")
      ->check(CLI::Range(1, 1000));
  std::string ak;
  for (auto* c : {user_add, passwd, user_del, grant, key_add, key_list}) {
    c->add_option("--domain", domain, "Domain (account) name; default admin");
    c->add_option("--user", user, "User name")->required();
  }
  std::string password_file;
  for (auto* c : {user_add, passwd}) {
    c->add_option("--password-file", password_file,
                  "File whose first line is the password (>= 8 characters); - reads stdin")
        ->required();
  }
  project_add->add_option("--domain", domain, "Domain (account) name; default admin");
  project_add->add_option("--name", project, "Project name")->required();
  grant->add_option("--project", project, "Project name")->required();
  key_del->add_option("--ak", ak, "Access key id")->required();
  for (auto* c :
       {boot, user_add, passwd, user_del, project_add, grant, key_add, key_list, key_del}) {
    c->add_option("--data-dir", data_dir, "Data directory");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*restore || *verify) {
    auto done = *restore ? RestoreBackup(backup_dir, data_dir) : VerifyBackup(backup_dir);
    if (!done.ok()) {
      std::fprintf(stderr, "imagesearchd admin: %s %s\n",
                   std::string(ReasonName(ReasonOf(done.status()))).c_str(),
                   std::string(done.status().message()).c_str());
      return 1;
    }
    std::cout << json{{"files", done->files},
                      {"bytes", done->bytes},
                      {"created_ms", done->created_ms},
                      {"verified", true}}
                     .dump()
              << "\n";
    return 0;
  }
  if (*storage_ls || *storage_head) {
    return RunStorageCommand(config, locator, bool(*storage_head), count_only, max_keys);
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  auto db = store::Database::Open(data_dir + "/db", {});
  if (!db.ok()) {
    // The server holds the database: `bootstrap` can still answer from its file.
    std::ifstream in(data_dir + "/bootstrap.json");
    if (*boot && in) {
      std::cout << in.rdbuf();
      return 0;
    }
    std::fprintf(stderr,
                 "imagesearchd admin: cannot open %s/db (is imagesearchd running on it? stop "
                 "it first): %s\n",
                 data_dir.c_str(), std::string(db.status().message()).c_str());
    return 1;
  }
  auto auth = OpenAuth(AuthOptions{}, db->get(), data_dir);
  if (!auth.ok()) return ExitWith(auth.status());
  AuthService& a = **auth;
  if (*user_add || *passwd) {
    auto read = ReadPassword(password_file);
    if (!read.ok()) return ExitWith(read.status());
    password = *read;
  }
  if (*boot) {
    if (absl::Status s = WriteBootstrapFile(a, data_dir); !s.ok()) return ExitWith(s);
    auto id = a.Bootstrap();
    if (!id.ok()) return ExitWith(id.status());
    std::cout << IdentityJson(*id).dump() << "\n";
  } else if (*user_add) {
    auto id = a.CreateUser(domain, user, password);
    if (!id.ok()) return ExitWith(id.status());
    std::cout << json{{"user_id", *id}}.dump() << "\n";
  } else if (*passwd) {
    if (auto s = a.SetPassword(domain, user, password); !s.ok()) return ExitWith(s);
  } else if (*user_del) {
    if (auto s = a.DeleteUser(domain, user); !s.ok()) return ExitWith(s);
  } else if (*project_add) {
    auto id = a.CreateProject(domain, project);
    if (!id.ok()) return ExitWith(id.status());
    std::cout << json{{"project_id", *id}, {"project_name", project}}.dump() << "\n";
  } else if (*grant) {
    if (auto s = a.Grant(domain, user, project); !s.ok()) return ExitWith(s);
  } else if (*key_add) {
    auto k = a.CreateKey(domain, user);
    if (!k.ok()) return ExitWith(k.status());
    std::cout << json{{"ak", k->ak}, {"sk", k->sk}}.dump() << "\n";
  } else if (*key_list) {
    auto keys = a.ListKeys(domain, user);
    if (!keys.ok()) return ExitWith(keys.status());
    std::cout << json(*keys).dump() << "\n";
  } else if (*key_del) {
    if (auto s = a.DeleteKey(ak); !s.ok()) return ExitWith(s);
  }
  // The bootstrap file follows its record: a secret changed or deleted above leaves it.
  if ((*passwd || *user_del || *key_del) && std::filesystem::exists(data_dir + "/bootstrap.json")) {
    if (absl::Status s = WriteBootstrapFile(a, data_dir); !s.ok()) return ExitWith(s);
  }
  return 0;
}

}  // namespace iss::server
