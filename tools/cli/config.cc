#include "config.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/status.h"

namespace iss::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::string ConfigPath() {
  if (std::string p = Env("IMAGESEARCH_CONFIG"); !p.empty()) return p;
  return Env("HOME") + "/.config/imagesearch/config.toml";
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(Reason::kInvalidArgument, "(cannot read " + path + ")");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

absl::StatusOr<Profile> LoadProfile(const std::string& name, bool named_explicitly) {
  Profile p;
  const std::string path = ConfigPath();
  if (std::filesystem::exists(path)) {
    toml::table file;
    try {
      file = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return Fail(Reason::kInvalidArgument, "(" + path + ": " + std::string(e.description()) + ")");
    }
    const toml::table* t = file["profiles"][name].as_table();
    if (t == nullptr && named_explicitly) {
      return Fail(Reason::kInvalidArgument, "(no profile '" + name + "' in " + path + ")");
    }
    if (t != nullptr) {
      p.endpoint = (*t)["endpoint"].value_or(p.endpoint);
      p.project_id = (*t)["project_id"].value_or(std::string());
      p.access_key = (*t)["access_key"].value_or(std::string());
      p.secret_key = (*t)["secret_key"].value_or(std::string());
      p.insecure = (*t)["insecure"].value_or(false);
      if (auto f = (*t)["secret_key_file"].value<std::string>()) {
        auto sk = ReadSecretFile(*f);
        if (!sk.ok()) return sk.status();
        p.secret_key = *sk;
      }
      if (auto f = (*t)["token_file"].value<std::string>()) {
        auto tok = ReadSecretFile(*f);
        if (!tok.ok()) return tok.status();
        p.token = *tok;
      }
    }
  } else if (named_explicitly) {
    return Fail(Reason::kInvalidArgument, "(no config file " + path + ")");
  }
  if (std::string v = Env("IMAGESEARCH_ENDPOINT"); !v.empty()) p.endpoint = v;
  if (std::string v = Env("IMAGESEARCH_PROJECT_ID"); !v.empty()) p.project_id = v;
  if (std::string v = Env("IMAGESEARCH_AK"); !v.empty()) p.access_key = v;
  if (std::string v = Env("IMAGESEARCH_SK"); !v.empty()) p.secret_key = v;
  if (std::string v = Env("IMAGESEARCH_TOKEN"); !v.empty()) p.token = v;
  return p;
}

absl::Status SaveProfile(const std::string& name, const Profile& profile) {
  const std::string path = ConfigPath();
  toml::table file;
  if (std::filesystem::exists(path)) {
    try {
      file = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return Fail(Reason::kInvalidArgument, "(" + path + ": " + std::string(e.description()) + ")");
    }
  }
  if (!file["profiles"].as_table()) file.insert_or_assign("profiles", toml::table{});
  toml::table entry{{"endpoint", profile.endpoint}, {"project_id", profile.project_id}};
  if (!profile.access_key.empty()) entry.insert("access_key", profile.access_key);
  if (!profile.secret_key.empty()) entry.insert("secret_key", profile.secret_key);
  if (profile.insecure) entry.insert("insecure", true);
  file["profiles"].as_table()->insert_or_assign(name, std::move(entry));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ostringstream text;
  text << "# imagesearch CLI profiles (holds secret keys: keep it 0600)\n" << file << "\n";
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Fail(Reason::kInvalidArgument, "(cannot write " + tmp + ")");
  const std::string s = text.str();
  const bool ok = ::write(fd, s.data(), s.size()) == ssize_t(s.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(Reason::kInvalidArgument, "(cannot write " + path + ")");
  }
  return absl::OkStatus();
}

}  // namespace iss::cli
