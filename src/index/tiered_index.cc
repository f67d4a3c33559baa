// TieredIndex: the public class and its core state. The parts live in internal/: the state
// (tiers.h), the search plan (search_plan.h), the maintenance steps (maintenance.h), the
// snapshot format (snapshot_io.h) and the executor scheduling (background_worker.h).
//
// Locks: mu_ guards tiers_ (shared to search, exclusive to write; see tiers.h for what a
// maintenance step may read without it). work_mu_ serialises maintenance steps, snapshots,
// Stop and Destroy, and guards the snapshot bookkeeping. Order: work_mu_ before mu_; the
// worker's own mutex is never held while either is taken.
#include "index/tiered_index.h"

#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <new>
#include <roaring/roaring64map.hh>

#include "common/mutex.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/background_worker.h"
#include "index/internal/maintenance.h"
#include "index/internal/search_plan.h"
#include "index/internal/snapshot_io.h"
#include "index/internal/tiers.h"
#include "index/vector_file.h"

namespace iss::index {

using internal::BackgroundWorker;
using internal::IdMap;
using internal::Maintenance;
using internal::Work;

namespace {

TieredOptions WithDefaults(TieredOptions o) {
  if (o.env == nullptr) o.env = Env::Default();
  return o;
}

}  // namespace

class TieredIndex::Impl {
 public:
  Impl(int dim, const TieredOptions& o)
      : dim_(dim),
        opt_(WithDefaults(o)),
        nprobe_(std::max(1, o.nprobe)),
        rerank_(std::max(1, o.rerank)),
        bits_(o.vector_bits == 8 ? RowBits::k8 : RowBits::k16),
        maintenance_(dim, opt_, &mu_, &tiers_, [this] { return worker_.stopping(); }),
        worker_(opt_.executor, [this] { return RunStep(); }) {}

  ~Impl() { Stop(); }

  absl::Status Open() {
    Env* env = opt_.env;
    if (!opt_.dir.empty()) {
      RETURN_IF_ERROR(env->CreateDirs(opt_.dir));
      absl::Status loaded = Restore();
      if (loaded.ok()) {
        restored_ = true;
        preload_pending_ = opt_.preload;
      } else {
        if (env->FileExists(internal::PathIn(opt_.dir, internal::kMetaFile))) {
          spdlog::warn("index {}: snapshot discarded, rebuilding from the store: {}", opt_.dir,
                       loaded.ToString());
        }
        tiers_.Clear();
        absl::StatusOr<std::vector<std::string>> names = env->GetChildren(opt_.dir);
        if (names.ok()) {
          for (const std::string& name : *names) {
            (void)env->RemoveFile(internal::PathIn(opt_.dir, name));
          }
        }
      }
    }
    if (tiers_.file == nullptr) {
      ASSIGN_OR_RETURN(tiers_.file, VectorFile::Open(env, VectorPath(tiers_.vgen), dim_, 0, bits_));
      if (bits_ == RowBits::k8) {
        ASSIGN_OR_RETURN(tiers_.fine, VectorFile::Open(env, FinePath(tiers_.vgen), dim_, 0,
                                                       RowBits::k16, /*checksum=*/false));
      }
    }
    // Inline work waits for the next write; an executor starts on the preload at once.
    if (opt_.executor != nullptr) worker_.Kick();
    return absl::OkStatus();
  }

  void Stop() {
    worker_.Stop();
    std::lock_guard w(work_mu_);
    if (!destroyed_ && !opt_.dir.empty() && changes_.load() != snap_changes_) {
      absl::Status s = WriteSnapshotLocked();
      if (!s.ok()) spdlog::error("index {}: final snapshot failed: {}", opt_.dir, s.ToString());
    }
  }

  void Destroy() {
    worker_.Stop();
    std::lock_guard w(work_mu_);
    destroyed_ = true;
    if (!opt_.dir.empty()) {
      absl::Status s = opt_.env->RemoveAll(opt_.dir);
      if (!s.ok()) spdlog::error("index {}: cannot remove: {}", opt_.dir, s.ToString());
    }
  }

  int dim() const { return dim_; }

  void SetSearchKnobs(int nprobe, int rerank) {
    nprobe_ = std::max(1, nprobe);
    rerank_ = std::max(1, rerank);
  }

  size_t size() const {
    iss::ReaderMutexLock l(&mu_);
    return tiers_.slot_of.size();
  }

  absl::Status Put(uint64_t id, const std::vector<float>& v, uint64_t version) {
    if (int(v.size()) != dim_) {
      return Fail(Reason::kInvalidArgument, "(vector has " + std::to_string(v.size()) +
                                                " dimensions, the index " + std::to_string(dim_) +
                                                ")");
    }
    for (float x : v) {
      if (!std::isfinite(x)) {
        return Fail(Reason::kInvalidArgument, "(vector has a non-finite value)");
      }
    }
    Work work;
    {
      iss::MutexLock l(&mu_);
      internal::Tiers& t = tiers_;
      const size_t slot = t.rows();
      if (slot >= UINT32_MAX) return Fail(Reason::kItemLimit, "(index is full)");
      RETURN_IF_ERROR(t.file->Append(v.data()));
      if (t.fine != nullptr) {
        absl::Status fine = t.fine->Append(v.data());
        if (!fine.ok()) {
          absl::Status undo = t.file->DropLast();  // the two files keep one row a slot
          if (!undo.ok()) spdlog::error("index {}: {}", opt_.dir, undo.ToString());
          return fine;
        }
      }
      internal::PushBack(t.ids, id);
      internal::PushBack(t.versions, version);
      if (t.dead.size() * 64 < t.ids.size()) internal::PushBack(t.dead, uint64_t(0));
      uint32_t old = t.slot_of.Set(id, uint32_t(slot));
      if (old != IdMap::kNone) t.Kill(old);
      ++changes_;
      work = Pending();
    }
    AfterWrite(work);
    return absl::OkStatus();
  }

  bool Remove(uint64_t id) {
    Work work;
    {
      iss::MutexLock l(&mu_);
      uint32_t old = tiers_.slot_of.Erase(id);
      if (old == IdMap::kNone) return false;
      tiers_.Kill(old);
      ++changes_;
      work = Pending();
    }
    AfterWrite(work);
    return true;
  }

  size_t RetainOnly(const ::Roaring64Map& live) {
    size_t removed = 0;
    Work work;
    {
      iss::MutexLock l(&mu_);
      std::vector<uint64_t> gone;
      tiers_.slot_of.ForEach([&](uint64_t id, uint32_t) {
        if (!live.contains(id)) gone.push_back(id);
      });
      for (uint64_t id : gone) tiers_.Kill(tiers_.slot_of.Erase(id));
      removed = gone.size();
      if (removed) ++changes_;
      work = Pending();
    }
    AfterWrite(work);
    return removed;
  }

  bool Contains(uint64_t id) const {
    iss::ReaderMutexLock l(&mu_);
    return tiers_.slot_of.Find(id) != IdMap::kNone;
  }

  bool HasVersion(uint64_t id, uint64_t version) const {
    iss::ReaderMutexLock l(&mu_);
    uint32_t slot = tiers_.slot_of.Find(id);
    return slot != IdMap::kNone && tiers_.versions[slot] == version;
  }

  absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& q, size_t k,
                                          const ::Roaring64Map* allowed) const {
    if (int(q.size()) != dim_) {
      return Fail(Reason::kInvalidArgument, "(query has " + std::to_string(q.size()) +
                                                " dimensions, the index " + std::to_string(dim_) +
                                                ")");
    }
    iss::ReaderMutexLock l(&mu_);
    return internal::SearchTiers(tiers_, dim_, {nprobe_.load(), rerank_.load()}, q, k, allowed,
                                 &counters_);
  }

  absl::Status Snapshot() {
    std::lock_guard w(work_mu_);
    return WriteSnapshotLocked();
  }

  void WaitIdle() {
    worker_.WaitIdle(
        [this] { return (PendingNow() != Work::kNone && !failed_) || preload_pending_.load(); });
  }

  TieredStats Stats() const {
    TieredStats s;
    iss::ReaderMutexLock l(&mu_);
    s.live = tiers_.slot_of.size();
    s.rows = tiers_.rows();
    s.ann_rows = tiers_.built;
    s.buffer_rows = tiers_.rows() - tiers_.built;
    s.ann = tiers_.ann != nullptr;
    s.nlist = tiers_.nlist();
    s.ram_bytes = tiers_.RamBytes();
    s.preloaded_bytes = preloaded_bytes_.load();
    s.subset_searches = counters_.subset.load();
    s.ann_filtered_searches = counters_.ann_filtered.load();
    s.disk_bytes = tiers_.file->FileBytes() + snapshot_bytes_.load() +
                   (tiers_.fine != nullptr ? tiers_.fine->FileBytes() : 0);
    s.builds = builds_.load();
    s.merges = merges_.load();
    s.restored = restored_;
    return s;
  }

  size_t MemoryBytes() const {
    iss::ReaderMutexLock l(&mu_);
    return tiers_.RamBytes();
  }

 private:
  std::string FinePath(uint64_t gen) const {
    if (opt_.dir.empty()) return "";
    return internal::PathIn(opt_.dir, internal::FineFileName(gen));
  }
  std::string VectorPath(uint64_t gen) const {
    if (opt_.dir.empty()) return "";
    return internal::PathIn(opt_.dir, internal::VectorFileName(gen, bits_));
  }

  // The snapshot in opt_.dir into tiers_, with its vector file cut to its rows.
  absl::Status Restore() {
    ASSIGN_OR_RETURN(internal::LoadedSnapshot s, internal::LoadSnapshot(opt_.env, opt_.dir, dim_));
    internal::SnapshotTables& st = s.tables;
    if (!opt_.env->FileExists(VectorPath(st.vgen))) {
      return Fail(Reason::kCorrupt,
                  "(index snapshot: missing " + internal::VectorFileName(st.vgen, bits_) + ")");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<VectorFile> file,
                     VectorFile::Open(opt_.env, VectorPath(st.vgen), dim_, st.rows, bits_));
    // Damaged rows would be served as matches (or as NaN): the whole index is rebuilt
    // from the catalog instead.
    if (file->crc() != st.vector_crc) {
      return Fail(Reason::kCorrupt, "(index snapshot: " + internal::VectorFileName(st.vgen, bits_) +
                                        " checksum mismatch)");
    }
    // The 16-bit twin of an 8-bit file: checked by size only (reading it whole at every
    // start would cost minutes at 30M rows); its rows only re-order the best candidates.
    std::unique_ptr<VectorFile> fine;
    if (bits_ == RowBits::k8) {
      if (!opt_.env->FileExists(FinePath(st.vgen))) {
        return Fail(Reason::kCorrupt,
                    "(index snapshot: missing " + internal::FineFileName(st.vgen) + ")");
      }
      ASSIGN_OR_RETURN(fine, VectorFile::Open(opt_.env, FinePath(st.vgen), dim_, st.rows,
                                              RowBits::k16, /*checksum=*/false));
    }
    const bool ann = s.ann != nullptr;
    internal::Tiers& t = tiers_;
    t.file = std::move(file);
    t.fine = std::move(fine);
    t.ids = std::move(st.ids);
    t.versions = std::move(st.versions);
    t.dead = std::move(st.dead);
    t.slot_of = std::move(s.slot_of);
    t.dead_count = s.dead_count;
    t.ann = std::move(s.ann);
    t.rot = ann ? std::move(st.rot) : std::vector<float>();
    t.built = ann ? st.built : 0;
    t.ann_dead = ann ? st.ann_dead : 0;
    t.trained_live = st.trained;
    t.vgen = st.vgen;
    generation_ = s.gen;
    snap_rows_ = st.rows;
    snapshot_bytes_ = s.bytes;
    return absl::OkStatus();
  }

  // ---- background work ----

  // REQUIRES: mu_ held (shared).
  Work Pending() const {
    if (failed_ && tiers_.rows() < retry_rows_) return Work::kNone;
    return internal::PendingWork(tiers_, opt_);
  }

  Work PendingNow() const {
    iss::ReaderMutexLock l(&mu_);
    return Pending();
  }

  // `work`: Pending() as the write left it.
  void AfterWrite(Work work) {
    if (work != Work::kNone) worker_.Kick();
  }

  // One unit of background work; true when more may remain.
  bool RunStep() {
    std::lock_guard w(work_mu_);
    if (destroyed_) return false;
    if (preload_pending_.exchange(false)) {
      preloaded_bytes_ = maintenance_.Preload();
      return true;
    }
    const Work work = PendingNow();
    if (work == Work::kNone) {
      MaybeSnapshot();
      return false;
    }
    absl::Status s;
    try {
      s = RunWork(work);
    } catch (const faiss::FaissException& e) {
      s = Fail(Reason::kInternal, std::string("(faiss: ") + e.what() + ")");
    } catch (const std::bad_alloc&) {
      s = Fail(Reason::kInternal, "(out of memory)");
    }
    if (Is(s, Reason::kCancelled)) return false;
    if (!s.ok()) {
      {
        iss::ReaderMutexLock l(&mu_);
        failed_ = true;
        retry_rows_ = tiers_.rows() + opt_.merge_rows;
      }
      spdlog::error("index {}: background work failed (retried after {} more rows): {}", opt_.dir,
                    opt_.merge_rows, s.ToString());
      MaybeSnapshot();
      return false;
    }
    failed_ = false;
    return true;
  }

  // REQUIRES: work_mu_ held.
  absl::Status RunWork(Work work) {
    switch (work) {
      case Work::kTrain:
        RETURN_IF_ERROR(maintenance_.Train());
        ++builds_;
        break;
      case Work::kMerge:
        RETURN_IF_ERROR(maintenance_.Merge());
        ++merges_;
        break;
      case Work::kDrop:
        maintenance_.Drop();
        break;
      case Work::kCompact:
        RETURN_IF_ERROR(maintenance_.Compact());
        ++changes_;
        force_snapshot_ = true;
        break;
      case Work::kNone:
        break;
    }
    return absl::OkStatus();
  }

  // ---- snapshots ----

  // REQUIRES: work_mu_ held. A snapshot once the rows grew by max(merge_rows, a quarter)
  // since the last one, or after a compaction.
  void MaybeSnapshot() {
    if (opt_.dir.empty()) return;
    size_t rows;
    {
      iss::ReaderMutexLock l(&mu_);
      rows = tiers_.rows();
    }
    const size_t step = std::max(opt_.merge_rows, snap_rows_ / 4);
    if (!force_snapshot_ && (rows < snap_rows_ + step || changes_.load() == snap_changes_)) return;
    absl::Status s = WriteSnapshotLocked();
    if (!s.ok()) spdlog::error("index {}: snapshot failed: {}", opt_.dir, s.ToString());
  }

  // REQUIRES: work_mu_ held.
  absl::Status WriteSnapshotLocked() {
    if (opt_.dir.empty() || destroyed_) return absl::OkStatus();
    internal::SnapshotTables t;
    uint64_t changes;
    {
      iss::ReaderMutexLock l(&mu_);
      const internal::Tiers& s = tiers_;
      t.rows = s.rows();
      t.built = s.built;
      t.ann_dead = s.ann_dead;
      t.trained = s.trained_live;
      t.vgen = s.vgen;
      t.vector_crc = s.file->crc();  // of rows [0, t.rows): appends hold mu_ exclusively
      t.rot = s.rot;
      t.ids.assign(s.ids.begin(), s.ids.end());
      t.versions.assign(s.versions.begin(), s.versions.end());
      t.dead.assign(s.dead.begin(), s.dead.begin() + (t.rows + 63) / 64);
      t.bits = bits_;
      changes = changes_.load();
    }
    // The vector file and the ANN tier change only under work_mu_, which this holds.
    RETURN_IF_ERROR(tiers_.file->Sync());
    if (tiers_.fine != nullptr) RETURN_IF_ERROR(tiers_.fine->Sync());
    const uint64_t gen = ++generation_;
    ASSIGN_OR_RETURN(const size_t bytes,
                     internal::WriteSnapshot(opt_.env, opt_.dir, dim_, gen, tiers_.ann.get(), t));
    snap_rows_ = t.rows;
    snap_changes_ = changes;
    force_snapshot_ = false;
    snapshot_bytes_ = bytes;
    return absl::OkStatus();
  }

  const int dim_;
  const TieredOptions opt_;
  std::atomic<int> nprobe_, rerank_;  // search knobs, adjustable at run time
  const RowBits bits_;                // the vector file's row format

  // iss::Mutex: writers waiting block new readers, so a stream of searches cannot starve
  // Put/Remove (libstdc++'s shared_mutex prefers readers).
  mutable iss::Mutex mu_;
  internal::Tiers tiers_;  // guarded by mu_ (tiers.h: what a step reads without it)
  std::atomic<uint64_t> changes_{0};
  mutable internal::SearchCounters counters_;

  // Maintenance bookkeeping, guarded by work_mu_ unless atomic.
  std::mutex work_mu_;
  uint64_t generation_ = 0;  // of the last ANN file written or loaded
  size_t snap_rows_ = 0;
  uint64_t snap_changes_ = 0;
  bool force_snapshot_ = false;
  bool destroyed_ = false;
  std::atomic<bool> failed_{false};
  std::atomic<size_t> retry_rows_{0};
  bool restored_ = false;                     // set by Open, read-only after
  std::atomic<bool> preload_pending_{false};  // read the vector file into the page cache
  std::atomic<size_t> preloaded_bytes_{0};
  std::atomic<size_t> snapshot_bytes_{0};
  std::atomic<uint64_t> builds_{0}, merges_{0};

  Maintenance maintenance_;
  BackgroundWorker worker_;  // last: its steps use everything above
};

TieredIndex::TieredIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TieredIndex::~TieredIndex() = default;

absl::StatusOr<std::unique_ptr<TieredIndex>> TieredIndex::Open(int dim,
                                                               const TieredOptions& options) {
  if (dim <= 0) return Fail(Reason::kInvalidArgument, "(index dimension must be positive)");
  if (options.vector_bits != 8 && options.vector_bits != 16) {
    return Fail(Reason::kInvalidArgument, "(index vector_bits must be 8 or 16)");
  }
  auto impl = std::make_unique<Impl>(dim, options);
  RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<TieredIndex>(new TieredIndex(std::move(impl)));
}

int TieredIndex::dim() const { return impl_->dim(); }
size_t TieredIndex::size() const { return impl_->size(); }
absl::Status TieredIndex::Put(uint64_t id, const std::vector<float>& v, uint64_t version) {
  return impl_->Put(id, v, version);
}
bool TieredIndex::Remove(uint64_t id) { return impl_->Remove(id); }
bool TieredIndex::Contains(uint64_t id) const { return impl_->Contains(id); }
absl::StatusOr<std::vector<Hit>> TieredIndex::Search(const std::vector<float>& q, size_t k,
                                                     const ::Roaring64Map* allowed) const {
  return impl_->Search(q, k, allowed);
}
size_t TieredIndex::MemoryBytes() const { return impl_->MemoryBytes(); }
bool TieredIndex::HasVersion(uint64_t id, uint64_t version) const {
  return impl_->HasVersion(id, version);
}
size_t TieredIndex::RetainOnly(const ::Roaring64Map& live) { return impl_->RetainOnly(live); }
absl::Status TieredIndex::Snapshot() { return impl_->Snapshot(); }
void TieredIndex::WaitIdle() { impl_->WaitIdle(); }
void TieredIndex::Destroy() { impl_->Destroy(); }
TieredStats TieredIndex::Stats() const { return impl_->Stats(); }
void TieredIndex::SetSearchKnobs(int nprobe, int rerank) { impl_->SetSearchKnobs(nprobe, rerank); }

}  // namespace iss::index
