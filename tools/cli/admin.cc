#include "admin.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

namespace iss::cli {
namespace {

using json = nlohmann::json;

enum Exit { kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3 };

// A path segment: unreserved characters as they are, everything else %XX.
std::string Segment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(char(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// The first line of a file, or of stdin for "-".
bool ReadSecret(const std::string& source, std::string* out) {
  std::string line;
  if (source == "-") {
    if (isatty(STDIN_FILENO)) std::cerr << "password: ";
    std::getline(std::cin, line);
  } else {
    std::ifstream in(source);
    if (!in) return false;
    std::getline(in, line);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  *out = line;
  return !line.empty();
}

class Admin {
 public:
  Admin(const Client& client, bool json_out) : client_(client), json_(json_out) {}

  int Call(const std::string& method, const std::string& path, const json& body, json* answer) {
    auto r = client_.Call(method, "/admin/v1" + path, body.is_null() ? "" : body.dump());
    if (!r.ok()) {
      std::cerr << "imagesearch: cannot reach the server: " << r.status().message() << "\n";
      return kUnreachable;
    }
    json parsed = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (r->status >= 200 && r->status < 300) {
      *answer = parsed;
      return kOk;
    }
    std::string code = "HTTP " + std::to_string(r->status), msg = r->body;
    if (parsed.is_object() && parsed.contains("error_code")) {
      code = parsed.value("error_code", code);
      msg = parsed.value("error_msg", std::string());
    }
    std::cerr << "imagesearch admin: " << code << " " << msg << "\n";
    return kRefused;
  }

  int Show(const std::string& method, const std::string& path, const json& body = nullptr) {
    json answer;
    const int rc = Call(method, path, body, &answer);
    if (rc == kOk) std::cout << answer.dump(json_ ? -1 : 2) << "\n";
    return rc;
  }

  // Starts a backup and, unless no_wait, follows it to its end (exit 1 when it failed).
  int Backup(const std::string& target, bool no_wait) {
    json b;
    if (int rc = Call("POST", "/backups", {{"target", target}}, &b); rc != kOk) return rc;
    const std::string id = b.value("id", "");
    while (!no_wait && b.value("state", "") == "running") {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (int rc = Call("GET", "/backups/" + Segment(id), nullptr, &b); rc != kOk) return rc;
      if (!json_ && isatty(STDERR_FILENO)) {
        std::fprintf(stderr, "\rbackup %s: %llu bytes", id.c_str(),
                     static_cast<unsigned long long>(b.value("bytes", uint64_t{0})));
      }
    }
    if (!json_ && isatty(STDERR_FILENO)) std::fputc('\n', stderr);
    std::cout << b.dump(json_ ? -1 : 2) << "\n";
    return b.value("state", "") == "failed" ? kRefused : kOk;
  }

 private:
  const Client& client_;
  bool json_;
};

}  // namespace

void AddAdminCommand(CLI::App* app, AdminArgs* a) {
  a->command = app->add_subcommand(
      "admin",
      "The operator API of the running server (an operator's credentials): instances, stats, "
      "jobs, users, user-add, user-del, passwd, operator, key-list, key-add, key-del, projects, "
      "project-add, grant, revoke, backup, backups");
  a->command->add_option("action", a->action, "What to do (see above)")->required();
  a->command->add_option("args", a->args, "Its arguments: a user, a project, an AK, a target");
  a->command->add_option("--domain", a->domain, "The user's or project's domain (default admin)");
  a->command->add_option("--password-file", a->password_file,
                         "user-add, passwd: file whose first line is the password; - reads stdin");
  a->command->add_flag("--operator", a->is_operator,
                       "user-add: make an operator; operator: make (absent: unmake)");
  a->command->add_flag("--no-wait", a->no_wait, "backup: print it and return at once");
}

int RunAdmin(const Client& client, const AdminArgs& a, bool json_out) {
  Admin admin(client, json_out);
  const std::string& act = a.action;
  // action -> how many arguments it takes
  static const std::map<std::string, size_t> kArity = {
      {"instances", 0}, {"stats", 0},    {"jobs", 0},     {"users", 0},       {"projects", 0},
      {"backups", 0},   {"user-add", 1}, {"user-del", 1}, {"passwd", 1},      {"operator", 1},
      {"key-list", 1},  {"key-add", 1},  {"key-del", 1},  {"project-add", 1}, {"backup", 1},
      {"grant", 2},     {"revoke", 2}};
  auto it = kArity.find(act);
  if (it == kArity.end()) {
    std::cerr << "imagesearch admin: unknown action " << act << "\n";
    return kUsage;
  }
  if (a.args.size() != it->second) {
    std::cerr << "imagesearch admin " << act << ": takes " << it->second << " argument(s)\n";
    return kUsage;
  }
  if (it->second == 0) return admin.Show("GET", "/" + act);
  const std::string arg = a.args[0];
  const std::string user = "/users/" + Segment(a.domain) + "/" + Segment(arg);
  if (act == "user-add" || act == "passwd") {
    std::string password;
    if (a.password_file.empty() || !ReadSecret(a.password_file, &password)) {
      std::cerr << "imagesearch admin " << act
                << ": --password-file FILE (or - for stdin) with the password is needed\n";
      return kUsage;
    }
    if (act == "passwd") return admin.Show("PUT", user + "/password", {{"password", password}});
    return admin.Show(
        "POST", "/users",
        {{"name", arg}, {"password", password}, {"domain", a.domain}, {"operator", a.is_operator}});
  }
  if (act == "user-del") return admin.Show("DELETE", user);
  if (act == "operator")
    return admin.Show("PUT", user + "/operator", {{"operator", a.is_operator}});
  if (act == "key-list") return admin.Show("GET", user + "/keys");
  if (act == "key-add") return admin.Show("POST", user + "/keys", json::object());
  if (act == "key-del") return admin.Show("DELETE", "/keys/" + Segment(arg));
  if (act == "project-add") {
    return admin.Show("POST", "/projects", {{"name", arg}, {"domain", a.domain}});
  }
  if (act == "backup") return admin.Backup(arg, a.no_wait);
  const std::string grant = user + "/projects/" + Segment(a.args[1]);
  return admin.Show(act == "grant" ? "PUT" : "DELETE", grant);
}

}  // namespace iss::cli
