#include "blob/file_source.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "common/status.h"
#include "common/status_macros.h"

namespace iss::blob {
namespace {

namespace fs = std::filesystem;

constexpr size_t kPage = 1000;

std::string RealPath(const std::string& p, bool* missing) {
  char buf[PATH_MAX];
  if (realpath(p.c_str(), buf) == nullptr) {
    *missing = true;
    return {};
  }
  *missing = false;
  return buf;
}

// A file's ETag: its modification time (ns) and size, as listings and Stat report it.
std::string Etag(const struct stat& st) {
  return std::to_string(int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec) + "-" +
         std::to_string(int64_t(st.st_size));
}

// One page of a listing: the regular files under `root` whose relative path (the key) is
// after `token`, in byte order, at most kPage + 1 of them (one more tells that a next page
// exists). Siblings are visited in the order of their names, a directory's with a '/'
// appended (its keys all start with "name/"), so a depth-first walk meets keys in byte
// order; a subtree whose keys all sort before the token is never opened, and the walk stops
// once the page is full. Symbolic links and other file types are skipped.
struct Walk {
  const std::string& root;
  const std::string& token;
  std::vector<engine::ListedObject> found;

  bool Full() const { return found.size() > kPage; }

  // Lists the directory `rel` ("" or "a/b/"); false when the root itself cannot be read.
  bool Visit(const std::string& rel) {
    std::error_code ec;
    fs::directory_iterator it(rel.empty() ? fs::path(root) : fs::path(root) / rel,
                              fs::directory_options::skip_permission_denied, ec);
    if (ec) return !rel.empty();                        // an unreadable subdirectory is skipped
    std::vector<std::pair<std::string, bool>> entries;  // (sort key, is a directory)
    for (fs::directory_iterator end; it != end; it.increment(ec)) {
      if (ec) return !rel.empty();
      const fs::file_status st = it->symlink_status(ec);
      if (ec) continue;
      const std::string name = it->path().filename().string();
      if (fs::is_directory(st)) {
        entries.emplace_back(rel + name + "/", true);
      } else if (fs::is_regular_file(st)) {
        entries.emplace_back(rel + name, false);
      }
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& [key, is_dir] : entries) {
      if (Full()) return true;
      if (is_dir) {
        // Every key below starts with `key`: all before the token unless the token is
        // inside this directory or sorts before it.
        if (!token.empty() && key < token && token.compare(0, key.size(), key) != 0) continue;
        if (!Visit(key)) return false;
        continue;
      }
      if (!token.empty() && key <= token) continue;
      const std::string path = root + "/" + key;
      struct stat raw {};
      if (lstat(path.c_str(), &raw) != 0 || !S_ISREG(raw.st_mode)) continue;
      engine::ListedObject o;
      o.locator = "file://" + path;
      o.key = key;
      o.size = int64_t(raw.st_size);
      o.etag = Etag(raw);
      found.push_back(std::move(o));
    }
    return true;
  }
};

}  // namespace

bool IsFileLocator(std::string_view locator) {
  if (locator.size() < 7) return false;
  std::string scheme(locator.substr(0, 7));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return scheme == "file://";
}

FileSource::FileSource(FileSourceOptions options) : max_bytes_(options.max_bytes) {
  for (const std::string& r : options.roots) {
    bool missing = false;
    std::string real = RealPath(r, &missing);
    if (!missing) roots_.push_back(real == "/" ? "" : real);
  }
}

bool FileSource::Accepts(std::string_view locator) const { return IsFileLocator(locator); }

absl::StatusOr<std::string> FileSource::Resolve(std::string_view locator, bool dir) const {
  if (roots_.empty()) {
    return Fail(Reason::kBlobForbidden,
                "(server-side directories are not enabled: see jobs.import_dirs)");
  }
  const std::string path(locator.substr(7));
  if (path.empty() || path[0] != '/') {
    return Fail(Reason::kBlobForbidden, "(a file:// locator needs an absolute path)");
  }
  bool missing = false;
  const std::string real = RealPath(path, &missing);
  if (missing) {
    if (dir) return Fail(Reason::kPrefixEmpty, "(no such directory)");
    return Fail(Reason::kBlobNotFound, "(no such file)");
  }
  bool inside = false;
  for (const std::string& r : roots_) {
    inside = inside || real == r ||
             (real.size() > r.size() && real.compare(0, r.size(), r) == 0 && real[r.size()] == '/');
  }
  if (!inside) return Fail(Reason::kBlobForbidden, "(outside every enabled directory)");
  struct stat st {};
  if (stat(real.c_str(), &st) != 0) return Fail(Reason::kBlobNotFound, "(no such file)");
  if (dir && !S_ISDIR(st.st_mode)) return Fail(Reason::kPrefixEmpty, "(not a directory)");
  if (!dir && !S_ISREG(st.st_mode)) return Fail(Reason::kBlobNotFound, "(not a regular file)");
  return real;
}

absl::StatusOr<std::string> FileSource::Fetch(std::string_view locator) const {
  absl::StatusOr<std::string> real = Resolve(locator, false);
  if (!real.ok()) return real.status();
  std::error_code ec;
  const uintmax_t size = fs::file_size(*real, ec);
  if (ec) return Fail(Reason::kBlobUnreachable, "(the file cannot be read)");
  if (int64_t(size) > max_bytes_) return Fail(Reason::kBlobUnreachable, "(the file is too large)");
  std::ifstream in(*real, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return Fail(Reason::kBlobUnreachable, "(the file cannot be read)");
  return bytes;
}

absl::StatusOr<engine::Blob> FileSource::FetchWithMetadata(std::string_view locator) const {
  // Stat first: a file replaced between the two reads is seen as changed on the next run.
  ASSIGN_OR_RETURN(std::optional<engine::BlobStat> stat, Stat(locator));
  engine::Blob blob;
  ASSIGN_OR_RETURN(blob.bytes, Fetch(locator));
  blob.etag = stat->etag;
  return blob;
}

absl::StatusOr<std::optional<engine::BlobStat>> FileSource::Stat(std::string_view locator) const {
  absl::StatusOr<std::string> real = Resolve(locator, false);
  if (!real.ok()) return real.status();
  struct stat raw {};
  if (stat(real->c_str(), &raw) != 0) return Fail(Reason::kBlobNotFound, "(no such file)");
  return std::optional<engine::BlobStat>(engine::BlobStat{int64_t(raw.st_size), Etag(raw)});
}

bool FileSource::CanList(std::string_view prefix_locator) const {
  return IsFileLocator(prefix_locator);
}

absl::StatusOr<std::string> FileSource::LocatorOf(std::string_view prefix_locator,
                                                  std::string_view key) const {
  absl::StatusOr<std::string> dir = Resolve(prefix_locator, true);
  if (!dir.ok()) return dir.status();
  return "file://" + *dir + "/" + std::string(key);
}

absl::StatusOr<engine::ObjectPage> FileSource::ListObjects(std::string_view prefix_locator,
                                                           const std::string& token) const {
  absl::StatusOr<std::string> dir = Resolve(prefix_locator, true);
  if (!dir.ok()) return dir.status();
  Walk walk{*dir, token, {}};
  if (!walk.Visit("")) return Fail(Reason::kBlobUnreachable, "(the directory cannot be listed)");
  engine::ObjectPage page;
  if (walk.found.size() > kPage) {
    walk.found.resize(kPage);
    page.next_token = walk.found.back().key;
  }
  page.objects = std::move(walk.found);
  return page;
}

}  // namespace iss::blob
