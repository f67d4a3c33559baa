// The index snapshot loader (LoadSnapshot, what TieredIndex::Open runs at start-up) on
// arbitrary snapshot.meta and ANN files, written to a temporary directory through the real
// Env (format: snapshot_input.h). It must load or fail with a status: never crash, abort,
// or allocate from an unchecked count.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "index/internal/checksummed_io.h"
#include "index/internal/snapshot_io.h"
#include "snapshot_input.h"

namespace {

using namespace iss::index::internal;

const std::string& Dir() {
  static const std::string* dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "snapshot_fuzzer.XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    return new std::string(tmpl);
  }();
  return *dir;
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t sep = in.find(iss::fuzz::kAnnSeparator);
  std::string meta(in.substr(0, sep));
  std::string_view ann;
  if (sep != std::string_view::npos) ann = in.substr(sep + iss::fuzz::kAnnSeparator.size());
  if ((flags & iss::fuzz::kFixMetaCrc) && meta.size() >= sizeof(uint32_t)) {
    const uint32_t crc = Crc32(Crc32Init(), meta.data(), meta.size() - sizeof(uint32_t));
    std::memcpy(meta.data() + meta.size() - sizeof(uint32_t), &crc, sizeof(crc));
  }
  const std::string& dir = Dir();
  for (const auto& e : std::filesystem::directory_iterator(dir)) std::filesystem::remove(e);
  WriteFile(PathIn(dir, kMetaFile), meta);
  if (sep != std::string_view::npos) {
    uint64_t gen = 0;  // the generation meta's header names, so the file is found
    if (meta.size() >= MetaLayout::kAnnGen + sizeof(gen)) {
      std::memcpy(&gen, meta.data() + MetaLayout::kAnnGen, sizeof(gen));
    }
    WriteFile(PathIn(dir, AnnFileName(gen)), ann);
  }
  absl::StatusOr<LoadedSnapshot> s =
      LoadSnapshot(iss::Env::Default(), dir, iss::fuzz::kSnapshotDim);
  if (s.ok()) {
    // A loaded snapshot is consistent: every live slot's id maps back to it.
    const SnapshotTables& t = s->tables;
    for (size_t slot = 0; slot < t.rows; ++slot) {
      if ((t.dead[slot >> 6] >> (slot & 63)) & 1) continue;
      if (s->slot_of.Find(t.ids[slot]) != slot) __builtin_trap();
    }
  }
  return 0;
}
