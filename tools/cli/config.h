// The CLI's profiles: ~/.config/imagesearch/config.toml (or $IMAGESEARCH_CONFIG), one table
// per profile, written 0600 by `imagesearch configure`; then IMAGESEARCH_* environment
// variables; then flags. A secret key never comes from the command line: the file, the
// environment (IMAGESEARCH_SK) or a file named by --sk-file / secret_key_file.
//
//   [profiles.default]
//   endpoint = "http://127.0.0.1:8080"
//   project_id = "0f1e..."
//   access_key = "51GJ..."
//   secret_key = "uSNV..."          # or secret_key_file = "/run/secrets/iss-sk"
//
// Thread contract: plain functions over values; no shared state.
#ifndef ISS_TOOLS_CLI_CONFIG_H_
#define ISS_TOOLS_CLI_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"

namespace iss::cli {

struct Profile {
  std::string endpoint = "http://127.0.0.1:8080";
  std::string project_id;
  std::string access_key;
  std::string secret_key;
  std::string token;
  bool insecure = false;
};

// The config file's path: $IMAGESEARCH_CONFIG, else $HOME/.config/imagesearch/config.toml.
std::string ConfigPath();

// The named profile from the file (a missing file or profile gives the defaults, unless the
// profile was asked for by name), then the environment on top.
absl::StatusOr<Profile> LoadProfile(const std::string& name, bool named_explicitly);

// Writes (or replaces) one profile in the file, mode 0600, keeping the others.
absl::Status SaveProfile(const std::string& name, const Profile& profile);

// First line of a file, without its line end.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

}  // namespace iss::cli

#endif  // ISS_TOOLS_CLI_CONFIG_H_
