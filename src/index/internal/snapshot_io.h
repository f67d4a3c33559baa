// The tiered index's snapshot format: the files in an index directory, how a snapshot is
// written (atomically, through the Env) and how one is loaded and checked. A snapshot is
//   ivf-<gen>.faiss   the ANN tier, Faiss's serialisation (absent without one)
//   snapshot.meta     magic, format, dim, counts, the ANN file's size and CRC-32, the
//                     vector file's generation and the CRC-32 of its rows (checked by
//                     TieredIndex on load), the rotation, slot -> id, slot -> version,
//                     the tombstone bitset, and the CRC-32 of everything before it
//   vectors-<g>.q16   the vector file (vector_file.h), synced before meta is written
// Each file goes to <name>.tmp, is synced, renamed and its directory synced; meta's rename
// is the commit point. Loading checks every count against the file's real size and the
// CRC-32s before it allocates or deserialises anything, so a corrupt or foreign snapshot is
// rejected (kCorrupt) instead of sizing tables from garbage.
//
//   ASSIGN_OR_RETURN(size_t bytes, WriteSnapshot(env, dir, dim, gen, ann, tables));
//   absl::StatusOr<LoadedSnapshot> s = LoadSnapshot(env, dir, dim);   // !ok: discard it
//
// Thread contract: stateless functions; the caller serialises writers of one directory
// and keeps `ann` unchanged while it is written.
#ifndef ISS_INDEX_INTERNAL_SNAPSHOT_IO_H_
#define ISS_INDEX_INTERNAL_SNAPSHOT_IO_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "index/internal/id_map.h"
#include "index/vector_file.h"

namespace faiss {
struct IndexIVFPQ;
}  // namespace faiss

namespace iss::index::internal {

inline constexpr char kMetaFile[] = "snapshot.meta";
// "vectors-<vgen>.q16" (".q8" for 8-bit rows) and "ivf-<gen>.faiss".
std::string VectorFileName(uint64_t vgen, RowBits bits = RowBits::k16);
// "vectors-<vgen>.r16": the 16-bit rows beside an 8-bit vector file (tiers.h: `fine`).
std::string FineFileName(uint64_t vgen);
std::string AnnFileName(uint64_t gen);
// dir + "/" + name.
std::string PathIn(const std::string& dir, const std::string& name);

// Byte offsets of snapshot.meta's header fields (format 3), for tests that patch them.
struct MetaLayout {
  static constexpr size_t kFormat = 8, kDim = 12, kRows = 16, kBuilt = 24, kAnnDead = 32,
                          kTrained = 40, kAnnGen = 48, kAnnBytes = 56, kAnnCrc = 64, kVgen = 68,
                          kVectorCrc = 76, kRotSize = 80, kHeader = 88;
};

// What snapshot.meta holds besides the file names.
struct SnapshotTables {
  uint64_t rows = 0;            // slots in the vector file covered by the snapshot
  RowBits bits = RowBits::k16;  // the vector file's rows: names the file, not stored in meta
  uint64_t built = 0;           // slots [0, built) are in the ANN tier
  uint64_t ann_dead = 0;        // ANN entries dead when written
  uint64_t trained = 0;         // live vectors when the ANN tier was trained
  uint64_t vgen = 1;            // the vector file's generation
  uint32_t vector_crc = 0;      // CRC-32 of the vector file's first `rows` rows
  std::vector<float> rot;       // dim x dim, or empty
  std::vector<uint64_t> ids, versions, dead;  // rows, rows, (rows + 63) / 64 words
};

// Writes generation `gen`: ivf-<gen>.faiss when `ann` is set, then snapshot.meta (the
// commit point), then removes every other file of `dir` except the vector file of
// `tables.vgen`. REQUIRES: that vector file synced. Returns the bytes of meta + ANN file.
absl::StatusOr<size_t> WriteSnapshot(Env* env, const std::string& dir, int dim, uint64_t gen,
                                     const faiss::IndexIVFPQ* ann, const SnapshotTables& tables);

struct LoadedSnapshot {
  LoadedSnapshot();
  ~LoadedSnapshot();
  LoadedSnapshot(LoadedSnapshot&&);
  LoadedSnapshot& operator=(LoadedSnapshot&&);

  SnapshotTables tables;
  uint64_t gen = 0;                        // the ANN file's generation (0: none)
  std::unique_ptr<faiss::IndexIVFPQ> ann;  // null without one
  IdMap slot_of;                           // live id -> slot, from the tables
  size_t dead_count = 0;
  size_t bytes = 0;  // meta + ANN file
};

// Loads and checks the snapshot in `dir` (the vector file is the caller's: open it with
// tables.rows). Fails with kCorrupt (detail "(index snapshot: ...)") when there is none or
// any check fails.
absl::StatusOr<LoadedSnapshot> LoadSnapshot(Env* env, const std::string& dir, int dim);

}  // namespace iss::index::internal

#endif  // ISS_INDEX_INTERNAL_SNAPSHOT_IO_H_
