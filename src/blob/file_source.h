// Image files in server-side directories the operator enables (jobs.import_dirs): the
// source of a directory import job, `file:///srv/photos/2024/` listed recursively, each
// regular file fetched as `file:///srv/photos/2024/a/b.jpg`. Off by default: without a
// root every file:// locator is refused (IS.2011). A locator is resolved (realpath: `..`
// and symbolic links followed) and must lie inside a root; symbolic links met while
// listing are skipped, so a listing never leaves the directory it names.
//
//   blob::FileSource files({.roots = {"/srv/photos"}});
//   ASSIGN_OR_RETURN(engine::ObjectPage page, files.ListObjects("file:///srv/photos/", ""));
//
// A listing returns pages of 1000 after the last path returned, in byte order; a page
// opens only the directories on the way to it (a sorted depth-first walk that skips whole
// subtrees before the token), so a page costs the directories it passes, not the tree.
// The "ETag" is the modification time and size.
// Failures: kBlobForbidden (not enabled, outside every root), kBlobNotFound (no such file),
// kPrefixEmpty (no such directory), kBlobUnreachable (unreadable, too large).
// Thread contract: immutable after construction; every method may be called concurrently.
#ifndef ISS_BLOB_FILE_SOURCE_H_
#define ISS_BLOB_FILE_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ports/blob_source.h"

namespace iss::blob {

struct FileSourceOptions {
  std::vector<std::string> roots;        // Default: none (directory imports are off)
  int64_t max_bytes = 10 * 1024 * 1024;  // Default: 10 MiB per file
};

class FileSource : public engine::BlobSource, public engine::ObjectLister {
 public:
  explicit FileSource(FileSourceOptions options);
  // True for every file:// locator (so that a refused one is answered as refused).
  bool Accepts(std::string_view locator) const override;
  absl::StatusOr<std::string> Fetch(std::string_view locator) const override;
  // The bytes with the file's listing ETag (modification time and size); no metadata.
  absl::StatusOr<engine::Blob> FetchWithMetadata(std::string_view locator) const override;
  absl::StatusOr<std::optional<engine::BlobStat>> Stat(std::string_view locator) const override;
  bool CanList(std::string_view prefix_locator) const override;
  absl::StatusOr<engine::ObjectPage> ListObjects(std::string_view prefix_locator,
                                                 const std::string& token) const override;
  absl::StatusOr<std::string> LocatorOf(std::string_view prefix_locator,
                                        std::string_view key) const override;

 private:
  // The resolved path a locator names, inside a root; `dir`: it must be a directory.
  absl::StatusOr<std::string> Resolve(std::string_view locator, bool dir) const;
  std::vector<std::string> roots_;  // resolved, without a trailing '/'
  int64_t max_bytes_;
};

// True for "file://..." (case-insensitive scheme).
bool IsFileLocator(std::string_view locator);

}  // namespace iss::blob

#endif  // ISS_BLOB_FILE_SOURCE_H_
