// TieredIndex: the index of one gallery at any size: exact search while it is small, then a
// compressed approximate tier (Faiss IVF-PQ over inner product) whose candidates are
// re-ranked exactly, plus an exact side buffer for vectors added since the last merge.
// Training, merging, compaction and snapshots run as tasks on a shared iss::Executor (at
// most one task of an index at a time); searches and writes go on meanwhile and stay
// correct. (As an engine::IndexShard: shard.h.)
//
//   TieredOptions o;  o.dir = data_dir + "/index/0000000000000007";  o.executor = &executor;
//   ASSIGN_OR_RETURN(std::unique_ptr<TieredIndex> idx, TieredIndex::Open(576, o));
//   if (!idx->HasVersion(id, version)) RETURN_IF_ERROR(idx->Put(id, vec, version));
//   idx->RetainOnly(live_ids);     // after replaying the store at start-up
//
// Layout: every vector ever added is a row ("slot") of an append-only 16-bit file
// (vector_file.h); the id's current slot is in a paged direct map, replaced or deleted
// slots are tombstoned in a bitset and skipped by every search (Faiss sees slots through an
// IDSelector). The ANN tier holds slots [0, built); rows from `built` on are the side
// buffer, scanned exactly. The parts: internal/tiers.h (the state), search_plan.h,
// maintenance.h, pq_encoder.h, snapshot_io.h, background_worker.h.
//
// Persistence (when `dir` is set): a snapshot is the ANN tier (ivf-<generation>.faiss)
// plus snapshot.meta (rows, built, slot -> id and version, tombstones, checksums), written
// to temporary files, synced and renamed; meta's rename is the commit point. Open() loads
// the snapshot and drops rows written after it; a missing, unreadable or inconsistent
// snapshot is discarded (Open starts empty and the caller replays the store). Versions are
// the caller's write stamps: HasVersion() tells the caller which stored vectors the
// snapshot already reflects. Every file operation goes through TieredOptions::env.
//
// Errors: kInvalidArgument (wrong dimension, non-finite value), the Env's kStorage /
// kNoSpace, kCorrupt (a snapshot failed its checks: Open discards it), kInternal (Faiss,
// out of memory), kItemLimit (2^32 - 1 rows), kCancelled (work abandoned on shutdown).
//
// Thread contract: every public method is thread-safe. Search/Contains/size take a shared
// lock; Put/Remove an exclusive one for microseconds; a background step holds the exclusive
// lock only to swap in finished work. Without an executor, that work runs inline inside
// the Put/Remove/RetainOnly that made it due.
#ifndef ISS_INDEX_TIERED_INDEX_H_
#define ISS_INDEX_TIERED_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "index/vector_index.h"

namespace iss {
class Executor;
}  // namespace iss

namespace iss::index {

struct TieredOptions {
  std::string dir;            // snapshot directory; empty: not persisted
  size_t exact_max = 50000;   // live vectors searched exactly, without ANN
  size_t merge_rows = 20000;  // side-buffer rows that trigger a merge
  double retrain_growth = 4;  // retrain when live > growth x trained size
  double compact_dead = 0.2;  // rebuild when this share of ANN rows is dead
  int nlist = 0;              // inverted lists; 0: 4 x sqrt(live), 64..2048
  int pq_m = 0;               // PQ sub-quantizers (8 bits each); 0: dim/9-ish
  int nprobe = 16;            // lists probed per unfiltered query, per 2,048 lists
  int rerank = 200;           // exact re-rank of rerank x k candidates (100..5000)
  // Bits a value of the vector file (re-rank and exact tiers): 16, or 8 for half the page
  // cache at some cost in recall (docs/scaling.md). An existing index whose file has the
  // other format is rebuilt from the caller's store (Open discards its snapshot).
  int vector_bits = 16;
  // After a snapshot is loaded, the worker reads the vector file once into the
  // page cache (when it fits in 3/4 of MemAvailable), before any other work.
  bool preload = true;
  size_t train_sample = 100000;  // vectors k-means trains on, at most
  // Where background work runs (shared by many indexes; must outlive them). Default: null,
  // the work runs inline inside the Put/Remove/RetainOnly that made it due (tests, tools).
  Executor* executor = nullptr;
  // Every file operation of the index. Default: the process's POSIX file system.
  Env* env = Env::Default();
};

struct TieredStats {
  size_t live = 0;         // vectors searchable
  size_t rows = 0;         // rows in the vector file (live + tombstoned)
  size_t ann_rows = 0;     // rows the ANN tier covers ("built")
  size_t buffer_rows = 0;  // rows scanned exactly (side buffer)
  bool ann = false;        // the approximate tier is in use
  int nlist = 0;
  size_t ram_bytes = 0;                // heap: codes, ids, maps, tombstones, centroids
  size_t disk_bytes = 0;               // vector file + snapshot files
  uint64_t builds = 0;                 // trainings finished since Open
  uint64_t merges = 0;                 // side-buffer merges finished since Open
  bool restored = false;               // Open() loaded a snapshot
  size_t preloaded_bytes = 0;          // vector file bytes read into the page cache since Open
  uint64_t subset_searches = 0;        // filtered searches scored exactly, id by id
  uint64_t ann_filtered_searches = 0;  // filtered searches through the ANN tier
};

class TieredIndex : public VectorIndex {
 public:
  static absl::StatusOr<std::unique_ptr<TieredIndex>> Open(int dim, const TieredOptions& options);
  // Stops background work (an unfinished build is abandoned; a task still queued on the
  // executor becomes a no-op) and, when persisted and changed since the last snapshot,
  // writes one.
  ~TieredIndex() override;

  int dim() const override;
  size_t size() const override;
  absl::Status Add(uint64_t id, const std::vector<float>& v) override { return Put(id, v, 0); }
  absl::Status Put(uint64_t id, const std::vector<float>& v, uint64_t version);
  bool Remove(uint64_t id) override;
  bool Contains(uint64_t id) const override;
  absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& query, size_t k,
                                          const ::Roaring64Map* allowed) const override;
  size_t MemoryBytes() const override;

  // True when `id` is present with exactly this version.
  bool HasVersion(uint64_t id, uint64_t version) const;
  // Removes every id not in `live`; returns how many were removed.
  size_t RetainOnly(const ::Roaring64Map& live);
  // Writes a snapshot now (no-op when not persisted).
  absl::Status Snapshot();
  // Blocks until no background work is pending (tests, benchmarks).
  void WaitIdle();
  // Stops background work like the destructor (writing no snapshot) and removes the
  // snapshot directory; the index is unusable afterwards.
  void Destroy();
  TieredStats Stats() const;
  // Changes TieredOptions::nprobe and ::rerank for later searches.
  void SetSearchKnobs(int nprobe, int rerank);

  class Impl;

 private:
  explicit TieredIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace iss::index

#endif  // ISS_INDEX_TIERED_INDEX_H_
