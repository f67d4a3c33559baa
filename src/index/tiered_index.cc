// TieredIndex: exact tier, IVF-PQ tier with exact re-rank, side buffer,
// tombstones, background training/merging, snapshots. See tiered_index.h.
//
// Invariants (under mu_): ids_.size() == versions_.size() == file_->rows();
// slot_of_ maps every live id to its one live slot; a slot's dead bit is set
// exactly when it is not in slot_of_; ann_ holds the slots below built_ that
// were live when encoded, ann_dead_ counts those that died since. Only the
// background worker (holding work_mu_) changes ann_, built_ and file_, so it
// reads them without mu_.
#include "index/tiered_index.h"

#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/utils/distances.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <roaring/roaring64map.hh>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/error.h"
#include "common/status_macros.h"
#include "index/vector_file.h"

namespace iss::index {
namespace {

namespace fs = std::filesystem;
using Idx = faiss::Index::idx_t;

constexpr char kMagic[8] = {'I', 'S', 'S', 'I', 'D', 'X', '0', '1'};
constexpr uint32_t kFormat = 2;   // 2: 16-bit quantised vector files (1: float32)
constexpr size_t kChunk = 16384;  // rows encoded per step
// Filters of at most kSubsetMin ids, or rarer than kSubsetShare and at most
// kSubsetMax ids, are scored exactly id by id; so are larger ones when
// kIdCost x ids <= the codes the widened probe would scan (at 10M an id scored
// from the page cache took ~600 ns, a code scanned with the filter ~200 ns)
// and a sample of their rows is in the page cache. The rest go through the ANN
// tier with a probe widened by 1/sqrt(share).
constexpr size_t kSubsetMin = 2000;
constexpr double kSubsetShare = 0.02;
constexpr size_t kSubsetMax = 30000;
constexpr double kIdCost = 3;
constexpr size_t kResidentSample = 32;
constexpr size_t kCompactMin = 1024;  // exact tier: dead rows before rewrite
constexpr size_t kMinTrain = 256;     // fewest vectors the ANN tier trains on

absl::Status Corrupt(const std::string& what) {
  return Error("IS.0009", "(index snapshot: " + what + ")");
}

// zlib's crc32 takes at most 4 GiB a call.
uint32_t Crc32(uint32_t crc, const void* p, size_t len) {
  const auto* b = static_cast<const Bytef*>(p);
  while (len > 0) {
    const uInt step = uInt(std::min<size_t>(len, 1u << 30));
    crc = uint32_t(::crc32(crc, b, step));
    b += step;
    len -= step;
  }
  return crc;
}

// A FILE* that checksums what goes through it; also Faiss's reader/writer.
class CrcWriter : public faiss::IOWriter {
 public:
  explicit CrcWriter(FILE* f) : f_(f) {}
  size_t operator()(const void* p, size_t size, size_t n) override {
    if (size == 0 || n == 0) return n;  // Faiss writes empty vectors (p may be null)
    size_t done = std::fwrite(p, size, n, f_);
    Update(p, done * size);
    return done;
  }
  template <typename T>
  void Put(const T& v) {
    (*this)(&v, sizeof(T), 1);
  }
  template <typename T>
  void PutVector(const std::vector<T>& v, size_t n) {
    if (n) (*this)(v.data(), sizeof(T), n);
  }
  uint32_t crc() const { return crc_; }
  size_t bytes() const { return bytes_; }

 private:
  void Update(const void* p, size_t len) {
    bytes_ += len;
    crc_ = Crc32(crc_, p, len);
  }
  FILE* f_;
  uint32_t crc_ = uint32_t(::crc32(0, nullptr, 0));
  size_t bytes_ = 0;
};

class CrcReader : public faiss::IOReader {
 public:
  explicit CrcReader(FILE* f) : f_(f) {}
  size_t operator()(void* p, size_t size, size_t n) override {
    if (size == 0 || n == 0) return n;
    size_t done = std::fread(p, size, n, f_);
    bytes_ += done * size;
    crc_ = Crc32(crc_, p, done * size);
    return done;
  }
  template <typename T>
  bool Get(T* v) {
    return (*this)(v, sizeof(T), 1) == 1;
  }
  template <typename T>
  bool GetVector(std::vector<T>* v, size_t n) {
    v->resize(n);
    return n == 0 || (*this)(v->data(), sizeof(T), n) == n;
  }
  uint32_t crc() const { return crc_; }
  size_t bytes() const { return bytes_; }

 private:
  FILE* f_;
  uint32_t crc_ = uint32_t(::crc32(0, nullptr, 0));
  size_t bytes_ = 0;
};

// Writes `path` atomically: temporary file, fsync, rename, fsync of the dir.
absl::Status WriteAtomically(const fs::path& path,
                             const std::function<absl::Status(CrcWriter&)>& body) {
  fs::path tmp = path;
  tmp += ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Error("IS.0009", "(cannot write " + tmp.string() + ")");
  CrcWriter w(f);
  absl::Status s;
  try {
    s = body(w);
  } catch (const faiss::FaissException& e) {
    s = Error("IS.0009", std::string("(faiss: ") + e.what() + ")");
  }
  bool ok = s.ok() && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return s.ok() ? Error("IS.0009", "(cannot write " + tmp.string() + ")") : s;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error("IS.0009", "(rename " + tmp.string() + ": " + ec.message() + ")");
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

// Inner product of two float rows. Debian's Faiss is a generic build whose
// single-vector kernel (fvec_inner_product) is scalar; this one is AVX2+FMA
// where the CPU has it (chosen at load time).
__attribute__((target_clones("avx2", "default"))) float Dot(const float* a, const float* b, int d) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
size_t MemAvailableBytes() {
  FILE* f = std::fopen("/proc/meminfo", "r");
  if (f == nullptr) return 0;
  char line[256];
  size_t kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

int AutoNlist(size_t live, size_t sample) {
  int n = 64;
  while (n * 2 <= 4 * std::sqrt(double(live)) && n < 2048) n *= 2;
  // k-means wants ~39+ points per centroid.
  while (n > 16 && size_t(n) * 39 > sample) n /= 2;
  return n;
}

int AutoPqM(int dim) {
  // 8-bit sub-quantizers of at least 6 dimensions, at most 96 of them
  // (576 -> 96 bytes a vector, 768 -> 96, 512 -> 64).
  for (int m = std::min(96, dim); m >= 1; --m) {
    if (dim % m == 0 && dim / m >= 6) return m;
  }
  return 1;
}

// id -> slot for the live ids, as pages of 4096 direct entries: 4 bytes an id
// instead of ~30 for a hash map. Gallery ids are dense (allocated in sequence),
// so pages are full; a sparse id costs one 16 KiB page.
class IdMap {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t Find(uint64_t id) const {
    auto it = pages_.find(id >> kBits);
    return it == pages_.end() ? kNone : it->second[id & kMask];
  }
  // Returns the previous slot (kNone if absent).
  uint32_t Set(uint64_t id, uint32_t slot) {
    auto& page = pages_[id >> kBits];
    if (page == nullptr) {
      page = std::make_unique<uint32_t[]>(kPage);
      std::fill_n(page.get(), kPage, kNone);
    }
    uint32_t old = page[id & kMask];
    page[id & kMask] = slot;
    size_ += old == kNone;
    return old;
  }
  uint32_t Erase(uint64_t id) {
    auto it = pages_.find(id >> kBits);
    if (it == pages_.end()) return kNone;
    uint32_t old = it->second[id & kMask];
    if (old == kNone) return kNone;
    it->second[id & kMask] = kNone;
    --size_;
    return old;
  }
  size_t size() const { return size_; }
  size_t bytes() const { return pages_.size() * (kPage * sizeof(uint32_t) + 32); }
  void clear() {
    pages_.clear();
    size_ = 0;
  }
  // fn(id, slot) for every entry.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const auto& [page_no, page] : pages_) {
      for (uint64_t i = 0; i < kPage; ++i) {
        if (page[i] != kNone) fn((page_no << kBits) | i, page[i]);
      }
    }
  }

 private:
  static constexpr int kBits = 12;
  static constexpr uint64_t kPage = uint64_t(1) << kBits, kMask = kPage - 1;
  absl::flat_hash_map<uint64_t, std::unique_ptr<uint32_t[]>> pages_;
  size_t size_ = 0;
};

// Grows `v` by an eighth instead of doubling: per-vector tables stay within
// ~12% of their size.
template <typename T>
void PushBack(std::vector<T>& v, T x) {
  if (v.size() == v.capacity()) v.reserve(v.size() + std::max<size_t>(4096, v.size() / 8));
  v.push_back(x);
}

// IVF-PQ residual encoding (8-bit sub-quantizers), laid out so the compiler
// vectorises over the 256 centroids. Faiss 1.7.3 encodes sub-vectors under 16
// dimensions one scalar distance at a time, ~8x slower; the codes are the same
// (nearest centroid of each residual sub-vector).
class PqEncoder {
 public:
  explicit PqEncoder(const faiss::IndexIVFPQ& ivf)
      : d_(int(ivf.d)),
        m_(int(ivf.pq.M)),
        dsub_(int(ivf.pq.dsub)),
        coarse_(dynamic_cast<const faiss::IndexFlat*>(ivf.quantizer)) {
    const auto& c = ivf.pq.centroids;  // (M, 256, dsub)
    table_.resize(size_t(m_) * dsub_ * 256);
    norms_.assign(size_t(m_) * 256, 0.0f);
    for (int m = 0; m < m_; ++m) {
      for (int k = 0; k < 256; ++k) {
        for (int j = 0; j < dsub_; ++j) {
          const float v = c[(size_t(m) * 256 + k) * dsub_ + j];
          table_[(size_t(m) * dsub_ + j) * 256 + k] = v;
          norms_[size_t(m) * 256 + k] += v * v;
        }
      }
    }
  }
  void Encode(const float* x, const Idx* lists, size_t n, uint8_t* codes) const {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) EncodeOne(x + i * d_, lists[i], codes + i * m_);
  }

 private:
  // AVX2+FMA where the CPU has them (chosen at run time), SSE2 otherwise.
  __attribute__((target_clones("avx2", "default"))) void EncodeOne(const float* x, Idx list,
                                                                   uint8_t* code) const {
    std::vector<float> r(x, x + d_);
    if (list >= 0) {
      const float* centre = coarse_->get_xb() + size_t(list) * d_;
      for (int j = 0; j < d_; ++j) r[j] -= centre[j];
    }
    alignas(32) float acc[256];
    for (int m = 0; m < m_; ++m) {
      std::fill_n(acc, 256, 0.0f);
      for (int j = 0; j < dsub_; ++j) {
        const float rj = r[size_t(m) * dsub_ + j];
        const float* row = table_.data() + (size_t(m) * dsub_ + j) * 256;
        for (int k = 0; k < 256; ++k) acc[k] += rj * row[k];
      }
      const float* norm = norms_.data() + size_t(m) * 256;
      int best = 0;
      float best_d = norm[0] - 2 * acc[0];
      for (int k = 1; k < 256; ++k) {
        const float dk = norm[k] - 2 * acc[k];
        if (dk < best_d) {
          best_d = dk;
          best = k;
        }
      }
      code[m] = uint8_t(best);
    }
  }

  const int d_, m_, dsub_;
  const faiss::IndexFlat* coarse_;
  std::vector<float> table_;  // (M, dsub, 256)
  std::vector<float> norms_;  // (M, 256)
};

}  // namespace

class TieredIndex::Impl {
 public:
  Impl(int dim, const TieredOptions& o)
      : dim_(dim), opt_(o), nprobe_(std::max(1, o.nprobe)), rerank_(std::max(1, o.rerank)) {}

  void SetSearchKnobs(int nprobe, int rerank) {
    nprobe_ = std::max(1, nprobe);
    rerank_ = std::max(1, rerank);
  }

  ~Impl() { Stop(); }

  absl::Status Open() {
    if (!opt_.dir.empty()) {
      std::error_code ec;
      fs::create_directories(opt_.dir, ec);
      if (ec) return Error("IS.0009", "(index dir " + opt_.dir + ": " + ec.message() + ")");
      absl::Status loaded = LoadSnapshot();
      if (loaded.ok()) {
        restored_ = true;
        preload_pending_ = opt_.preload;
      } else {
        if (fs::exists(fs::path(opt_.dir) / "snapshot.meta")) {
          spdlog::warn("index {}: snapshot discarded, rebuilding from the store: {}", opt_.dir,
                       loaded.ToString());
        }
        Reset();
        for (const auto& e : fs::directory_iterator(opt_.dir, ec)) fs::remove(e.path(), ec);
      }
    }
    if (file_ == nullptr) {
      ASSIGN_OR_RETURN(file_, VectorFile::Open(VectorPath(vgen_), dim_, 0));
    }
    if (opt_.background) thread_ = std::thread([this] { Loop(); });
    Kick();
    return absl::OkStatus();
  }

  void Stop() {
    {
      std::lock_guard l(cv_mu_);
      if (stopped_) return;
      stop_ = true;
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard w(work_mu_);
    if (!destroyed_ && !opt_.dir.empty() && changes_.load() != snap_changes_) {
      absl::Status s = WriteSnapshot();
      if (!s.ok()) spdlog::error("index {}: final snapshot failed: {}", opt_.dir, s.ToString());
    }
  }

  void Destroy() {
    {
      std::lock_guard l(cv_mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard l(cv_mu_);
      stopped_ = true;
    }
    std::lock_guard w(work_mu_);
    destroyed_ = true;
    if (!opt_.dir.empty()) {
      std::error_code ec;
      fs::remove_all(opt_.dir, ec);
    }
  }

  int dim() const { return dim_; }

  size_t size() const {
    absl::ReaderMutexLock l(&mu_);
    return slot_of_.size();
  }

  absl::Status Put(uint64_t id, const std::vector<float>& v, uint64_t version) {
    if (int(v.size()) != dim_) {
      return Error("IS.0009", "(vector has " + std::to_string(v.size()) +
                                  " dimensions, the index " + std::to_string(dim_) + ")");
    }
    for (float x : v) {
      if (!std::isfinite(x)) return Error("IS.0009", "(vector has a non-finite value)");
    }
    Work work;
    {
      absl::MutexLock l(&mu_);
      size_t slot = ids_.size();
      if (slot >= UINT32_MAX) return Error("IS.0009", "(index is full)");
      RETURN_IF_ERROR(file_->Append(v.data()));
      PushBack(ids_, id);
      PushBack(versions_, version);
      if (dead_.size() * 64 < ids_.size()) PushBack(dead_, uint64_t(0));
      uint32_t old = slot_of_.Set(id, uint32_t(slot));
      if (old != IdMap::kNone) Kill(old);
      ++changes_;
      work = Pending();
    }
    AfterWrite(work);
    return absl::OkStatus();
  }

  bool Remove(uint64_t id) {
    Work work;
    {
      absl::MutexLock l(&mu_);
      uint32_t old = slot_of_.Erase(id);
      if (old == IdMap::kNone) return false;
      Kill(old);
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
      absl::MutexLock l(&mu_);
      std::vector<uint64_t> gone;
      slot_of_.ForEach([&](uint64_t id, uint32_t) {
        if (!live.contains(id)) gone.push_back(id);
      });
      for (uint64_t id : gone) Kill(slot_of_.Erase(id));
      removed = gone.size();
      if (removed) ++changes_;
      work = Pending();
    }
    AfterWrite(work);
    return removed;
  }

  bool Contains(uint64_t id) const {
    absl::ReaderMutexLock l(&mu_);
    return slot_of_.Find(id) != IdMap::kNone;
  }

  bool HasVersion(uint64_t id, uint64_t version) const {
    absl::ReaderMutexLock l(&mu_);
    uint32_t slot = slot_of_.Find(id);
    return slot != IdMap::kNone && versions_[slot] == version;
  }

  absl::StatusOr<std::vector<Hit>> Search(const std::vector<float>& q, size_t k,
                                          const ::Roaring64Map* allowed) const {
    if (int(q.size()) != dim_) {
      return Error("IS.1008", "(query has " + std::to_string(q.size()) + " dimensions, the index " +
                                  std::to_string(dim_) + ")");
    }
    absl::ReaderMutexLock l(&mu_);
    std::vector<Hit> hits;
    const size_t live = slot_of_.size();
    if (live == 0 || k == 0) return hits;
    double share = 1;
    if (allowed != nullptr) {
      const uint64_t card = allowed->cardinality();
      if (card == 0) return hits;
      share = std::min(1.0, double(card) / double(live));
      const bool subset =
          ann_ == nullptr ? share < 0.05  // else one filtered pass over the rows is cheaper
                          : card <= kSubsetMin || (share < kSubsetShare && card <= kSubsetMax) ||
                                SubsetIsCheaper(*allowed, card, share);
      (subset ? subset_searches_ : ann_filtered_searches_).fetch_add(1, std::memory_order_relaxed);
      if (subset) return SearchSubset(q, k, *allowed);
    }
    try {
      if (ann_ != nullptr && built_ > 0) RETURN_IF_ERROR(SearchAnn(q, k, allowed, share, &hits));
      SearchBuffer(q, k, allowed, &hits);
    } catch (const faiss::FaissException& e) {
      return Error("IS.1008", std::string("(faiss: ") + e.what() + ")");
    }
    KeepBest(&hits, k);
    return hits;
  }

  absl::Status Snapshot() {
    std::lock_guard w(work_mu_);
    return WriteSnapshot();
  }

  void WaitIdle() {
    if (!opt_.background) {
      RunPending();
      return;
    }
    for (;;) {
      {
        std::unique_lock l(cv_mu_);
        idle_cv_.wait(l, [&] { return stop_ || (!busy_ && !kick_); });
        if (stop_) return;
      }
      if (PendingNow() == Work::kNone || failed_) return;
      Kick();
    }
  }

  TieredStats Stats() const {
    TieredStats s;
    absl::ReaderMutexLock l(&mu_);
    s.live = slot_of_.size();
    s.rows = ids_.size();
    s.ann_rows = built_;
    s.buffer_rows = ids_.size() - built_;
    s.ann = ann_ != nullptr;
    s.nlist = ann_ ? int(ann_->nlist) : 0;
    s.ram_bytes = RamLocked();
    s.preloaded_bytes = preloaded_bytes_.load();
    s.subset_searches = subset_searches_.load();
    s.ann_filtered_searches = ann_filtered_searches_.load();
    s.disk_bytes = file_->FileBytes() + snapshot_bytes_.load();
    s.builds = builds_.load();
    s.merges = merges_.load();
    s.restored = restored_;
    return s;
  }

  size_t MemoryBytes() const {
    absl::ReaderMutexLock l(&mu_);
    return RamLocked();
  }

 private:
  enum class Work { kNone, kTrain, kMerge, kDrop, kCompact };

  // Faiss sees slots; a slot qualifies when live and (no filter or) allowed.
  class SlotSelector : public faiss::IDSelector {
   public:
    SlotSelector(const Impl& ix, const ::Roaring64Map* allowed, size_t base)
        : ix_(ix), allowed_(allowed), base_(base) {}
    bool is_member(Idx i) const override {
      size_t slot = base_ + size_t(i);
      if (ix_.Dead(slot)) return false;
      return allowed_ == nullptr || allowed_->contains(ix_.ids_[slot]);
    }

   private:
    const Impl& ix_;
    const ::Roaring64Map* allowed_;
    size_t base_;
  };

  bool Dead(size_t slot) const { return (dead_[slot >> 6] >> (slot & 63)) & 1; }

  // REQUIRES: mu_ held exclusively; `slot` live.
  void Kill(uint32_t slot) {
    dead_[slot >> 6] |= uint64_t(1) << (slot & 63);
    ++dead_count_;
    if (ann_ != nullptr && slot < built_) ++ann_dead_;
  }

  // REQUIRES: mu_ held (shared); ann_ set. True when scoring the filter's ids
  // costs less than the codes its widened probe would scan and nearly all of a
  // sample of their rows are in the page cache (else exact scoring would fault
  // on the disk).
  bool SubsetIsCheaper(const ::Roaring64Map& allowed, uint64_t card, double share) const {
    const size_t nlist = ann_->nlist;
    const double probe = std::min(double(nlist), std::ceil(nprobe_.load() / std::sqrt(share)));
    if (kIdCost * double(card) > probe * double(built_) / double(nlist)) return false;
    std::vector<size_t> rows;
    for (size_t i = 0; i < kResidentSample; ++i) {
      uint64_t id = 0;
      if (!allowed.select(card * i / kResidentSample, &id)) continue;
      uint32_t slot = slot_of_.Find(id);
      if (slot != IdMap::kNone) rows.push_back(slot);
    }
    return file_->Resident(rows) * 16 >= rows.size() * 15;
  }

  // REQUIRES: mu_ held (shared).
  std::vector<Hit> SearchSubset(const std::vector<float>& q, size_t k,
                                const ::Roaring64Map& allowed) const {
    std::vector<Hit> hits;
    for (uint64_t id : allowed) {
      uint32_t slot = slot_of_.Find(id);
      if (slot == IdMap::kNone) continue;
      hits.push_back({id, file_->Dot(q.data(), slot)});
    }
    KeepBest(&hits, k);
    return hits;
  }

  // REQUIRES: mu_ held (shared). Candidates from the ANN tier, re-ranked
  // exactly. A filter widens the probe in proportion to its rarity, and the
  // probe doubles until the page is full or every list was scanned.
  absl::Status SearchAnn(const std::vector<float>& q, size_t k, const ::Roaring64Map* allowed,
                         double share, std::vector<Hit>* hits) const {
    const size_t nlist = ann_->nlist;
    const size_t want =
        std::clamp<size_t>(size_t(rerank_.load()) * k, 100, std::max<size_t>(k, 5000));
    size_t nprobe = size_t(std::ceil(nprobe_.load() / std::sqrt(share)));
    nprobe = std::clamp<size_t>(nprobe, 1, nlist);
    SlotSelector sel(*this, allowed, 0);
    std::vector<float> qr(q);
    if (!rot_.empty()) {
      // One row at a time on this thread: BLAS would wake its thread pool
      // for every query.
      for (int i = 0; i < dim_; ++i) {
        qr[i] = Dot(rot_.data() + size_t(i) * dim_, q.data(), dim_);
      }
    }
    // Coarse scores for every list, so widening the probe costs no rescoring.
    const auto* coarse = static_cast<const faiss::IndexFlat*>(ann_->quantizer);
    std::vector<std::pair<float, Idx>> lists(nlist);
    for (size_t l = 0; l < nlist; ++l) {
      lists[l] = {Dot(qr.data(), coarse->get_xb() + l * dim_, dim_), Idx(l)};
    }
    auto by_score = [](const auto& a, const auto& b) { return a.first > b.first; };
    std::vector<float> scores(want);
    std::vector<Idx> slots(want);
    size_t got = 0, sorted = 0;
    for (;;) {
      if (nprobe > sorted) {
        std::partial_sort(lists.begin() + sorted, lists.begin() + nprobe, lists.end(), by_score);
        sorted = nprobe;
      }
      std::vector<Idx> assign(nprobe);
      std::vector<float> assign_score(nprobe);
      for (size_t p = 0; p < nprobe; ++p) {
        assign_score[p] = lists[p].first;
        assign[p] = lists[p].second;
      }
      faiss::SearchParametersIVF params;
      params.nprobe = nprobe;
      params.sel = (allowed != nullptr || dead_count_ > 0) ? &sel : nullptr;
      ann_->search_preassigned(1, qr.data(), Idx(want), assign.data(), assign_score.data(),
                               scores.data(), slots.data(), false, &params);
      got = 0;
      while (got < want && slots[got] >= 0) ++got;
      if (got >= want || nprobe >= nlist) break;
      nprobe = std::min(nlist, nprobe * 2);
    }
    // Exact re-rank in file order (page-cache and disk friendly), fetching a
    // few rows ahead.
    slots.resize(got);
    std::sort(slots.begin(), slots.end());
    constexpr size_t kAhead = 4;
    for (size_t i = 0; i < got; ++i) {
      if (i + kAhead < got) {
        const char* ahead = reinterpret_cast<const char*>(file_->Row(size_t(slots[i + kAhead])));
        for (size_t b = 0; b < file_->row_bytes(); b += 64) __builtin_prefetch(ahead + b);
      }
      size_t slot = size_t(slots[i]);
      if (slot >= built_ || Dead(slot)) continue;  // defensive: never a dead row
      hits->push_back({ids_[slot], file_->Dot(q.data(), slot)});
    }
    return absl::OkStatus();
  }

  // REQUIRES: mu_ held (shared). The rows since `built_`, exactly.
  void SearchBuffer(const std::vector<float>& q, size_t k, const ::Roaring64Map* allowed,
                    std::vector<Hit>* hits) const {
    const size_t rows = ids_.size();
    if (rows <= built_) return;
    // Heap of the best k, the worst of them on top (Better as "less").
    std::vector<Hit> heap;
    heap.reserve(k + 1);
    for (size_t slot = built_; slot < rows; ++slot) {
      if (Dead(slot) || (allowed != nullptr && !allowed->contains(ids_[slot]))) continue;
      Hit h{ids_[slot], file_->Dot(q.data(), slot)};
      if (heap.size() < k) {
        heap.push_back(h);
        std::push_heap(heap.begin(), heap.end(), Better);
      } else if (Better(h, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), Better);
        heap.back() = h;
        std::push_heap(heap.begin(), heap.end(), Better);
      }
    }
    hits->insert(hits->end(), heap.begin(), heap.end());
  }

  size_t RamLocked() const {
    size_t bytes =
        ids_.capacity() * 8 + versions_.capacity() * 8 + dead_.capacity() * 8 + slot_of_.bytes();
    if (ann_ != nullptr) {
      const auto* lists = dynamic_cast<const faiss::ArrayInvertedLists*>(ann_->invlists);
      if (lists != nullptr) {
        for (size_t l = 0; l < lists->nlist; ++l) {
          bytes += lists->codes[l].capacity() + lists->ids[l].capacity() * sizeof(Idx);
        }
      } else {
        bytes += ann_->ntotal * (ann_->code_size + sizeof(Idx));
      }
      bytes += ann_->nlist * size_t(dim_) * sizeof(float);      // coarse centroids
      bytes += ann_->pq.centroids.size() * sizeof(float);       // PQ codebooks
      bytes += rot_.size() * sizeof(float);                     // rotation
      bytes += ann_->nlist * 2 * sizeof(std::vector<uint8_t>);  // list headers
    }
    return bytes;
  }

  std::string VectorPath(uint64_t gen) const {
    if (opt_.dir.empty()) return "";
    return (fs::path(opt_.dir) / ("vectors-" + std::to_string(gen) + ".q16")).string();
  }

  void Reset() {
    file_.reset();
    ann_.reset();
    ids_.clear();
    versions_.clear();
    dead_.clear();
    slot_of_.clear();
    built_ = ann_dead_ = trained_live_ = dead_count_ = 0;
    vgen_ = 1;
    restored_ = false;
  }

  // ---- background work ----

  void Kick() {
    if (!opt_.background) return;
    {
      std::lock_guard l(cv_mu_);
      kick_ = true;
    }
    cv_.notify_all();
  }

  // `work`: Pending() as the write left it.
  void AfterWrite(Work work) {
    if (work == Work::kNone) return;
    if (opt_.background) {
      Kick();
    } else {
      RunPending();
    }
  }

  void Loop() {
    std::unique_lock l(cv_mu_);
    for (;;) {
      cv_.wait(l, [&] { return stop_ || kick_; });
      if (stop_) break;
      kick_ = false;
      busy_ = true;
      l.unlock();
      RunPending();
      l.lock();
      busy_ = false;
      idle_cv_.notify_all();
    }
    busy_ = false;
    idle_cv_.notify_all();
  }

  bool Stopping() {
    std::lock_guard l(cv_mu_);
    return stop_;
  }

  Work PendingNow() const {
    absl::ReaderMutexLock l(&mu_);
    return Pending();
  }

  // REQUIRES: mu_ held (shared).
  Work Pending() const {
    const size_t live = slot_of_.size(), rows = ids_.size();
    if (failed_ && rows < retry_rows_) return Work::kNone;
    if (ann_ == nullptr) {
      // PQ's 8-bit codebooks need at least 256 training vectors.
      if (live >= std::max<size_t>(opt_.exact_max, kMinTrain)) return Work::kTrain;
      if (dead_count_ >= std::max(kCompactMin, live)) return Work::kCompact;
      return Work::kNone;
    }
    if (live < opt_.exact_max / 2) return Work::kDrop;
    if (double(live) > opt_.retrain_growth * double(trained_live_)) return Work::kTrain;
    if (double(ann_dead_) > opt_.compact_dead * double(ann_->ntotal)) return Work::kTrain;
    if (rows - built_ >= opt_.merge_rows) return Work::kMerge;
    return Work::kNone;
  }

  void RunPending() {
    std::lock_guard w(work_mu_);
    if (destroyed_) return;
    if (preload_pending_) {
      preload_pending_ = false;
      Preload();
    }
    for (;;) {
      if (opt_.background && Stopping()) return;
      Work work = PendingNow();
      if (work == Work::kNone) break;
      absl::Status s;
      try {
        switch (work) {
          case Work::kTrain:
            s = Train();
            break;
          case Work::kMerge:
            s = Merge();
            break;
          case Work::kDrop:
            Drop();
            break;
          case Work::kCompact:
            s = Compact();
            break;
          case Work::kNone:
            break;
        }
      } catch (const faiss::FaissException& e) {
        s = Error("IS.0009", std::string("(faiss: ") + e.what() + ")");
      } catch (const std::bad_alloc&) {
        s = Error("IS.0009", "(out of memory)");
      }
      if (s.code() == absl::StatusCode::kCancelled) return;
      if (!s.ok()) {
        absl::ReaderMutexLock l(&mu_);
        failed_ = true;
        retry_rows_ = ids_.size() + opt_.merge_rows;
        spdlog::error("index {}: background work failed (retried after {} more rows): {}", opt_.dir,
                      opt_.merge_rows, s.ToString());
        break;
      }
      failed_ = false;
    }
    MaybeSnapshot();
  }

  // REQUIRES: work_mu_ held. Reads the restored vector file once so that
  // re-ranks hit memory, not the disk, when it fits in 3/4 of MemAvailable.
  void Preload() {
    const size_t bytes = file_->FileBytes();
    const size_t avail = MemAvailableBytes();
    if (bytes == 0) return;
    if (bytes > avail / 4 * 3) {
      spdlog::info("index {}: vector file ({} MiB) not preloaded: {} MiB of memory available",
                   opt_.dir, bytes >> 20, avail >> 20);
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const size_t done = file_->Preload([this] { return opt_.background && Stopping(); });
    preloaded_bytes_ = done;
    spdlog::info("index {}: preloaded {} MiB of vectors into the page cache in {:.1f} s", opt_.dir,
                 done >> 20,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  // Rows of `slots` into one buffer.
  void Gather(const uint32_t* slots, size_t n, std::vector<float>* out) const {
    out->resize(n * dim_);
    for (size_t i = 0; i < n; ++i) {
      file_->Read(slots[i], out->data() + i * dim_);
    }
  }

  // x (n rows) <- x R^T: into the ANN tier's rotated space (no-op when empty).
  void Rotate(const std::vector<float>& rot, std::vector<float>* x, size_t n) const {
    if (rot.empty() || n == 0) return;
    std::vector<float> y(n * dim_);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), dim_, dim_, 1.0f, x->data(), dim_,
                rot.data(), dim_, 0.0f, y.data(), dim_);
    x->swap(y);
  }

  // Encodes `slots` with `ivf`; the result is (list, slot, code) in columns.
  struct Encoded {
    std::vector<Idx> lists, slots;
    std::vector<uint8_t> codes;
  };
  absl::Status Encode(const faiss::IndexIVFPQ& ivf, const std::vector<float>& rot,
                      const std::vector<uint32_t>& slots, Encoded* out) {
    std::vector<float> buf;
    out->lists.resize(slots.size());
    out->slots.assign(slots.begin(), slots.end());
    out->codes.resize(slots.size() * ivf.code_size);
    const PqEncoder encoder(ivf);
    for (size_t at = 0; at < slots.size(); at += kChunk) {
      if (opt_.background && Stopping()) return absl::CancelledError("stopping");
      size_t n = std::min(kChunk, slots.size() - at);
      Gather(slots.data() + at, n, &buf);
      Rotate(rot, &buf, n);
      ivf.quantizer->assign(Idx(n), buf.data(), out->lists.data() + at);
      encoder.Encode(buf.data(), out->lists.data() + at, n, out->codes.data() + at * ivf.code_size);
    }
    return absl::OkStatus();
  }

  // Appends to the inverted lists, growing each by at most an eighth over
  // its need (Faiss's lists would double).
  static void AddEncoded(faiss::IndexIVFPQ* ivf, const Encoded& e) {
    if (auto* lists = dynamic_cast<faiss::ArrayInvertedLists*>(ivf->invlists)) {
      std::vector<size_t> extra(lists->nlist);
      for (Idx l : e.lists) {
        if (l >= 0) ++extra[size_t(l)];
      }
      for (size_t l = 0; l < lists->nlist; ++l) {
        const size_t need = lists->ids[l].size() + extra[l];
        if (extra[l] == 0 || need <= lists->ids[l].capacity()) continue;
        const size_t target = lists->ids[l].empty() ? need : need + need / 8;
        lists->ids[l].reserve(target);
        lists->codes[l].reserve(target * ivf->code_size);
      }
    }
    for (size_t i = 0; i < e.slots.size(); ++i) {
      if (e.lists[i] < 0) continue;
      ivf->invlists->add_entry(size_t(e.lists[i]), e.slots[i], e.codes.data() + i * ivf->code_size);
      ++ivf->ntotal;
    }
  }

  std::vector<uint32_t> LiveSlots(size_t from, size_t to) const {
    std::vector<uint32_t> out;
    for (size_t s = from; s < to; ++s) {
      if (!Dead(s)) out.push_back(uint32_t(s));
    }
    return out;
  }

  // Trains a new ANN tier on the live vectors and encodes all of them; swaps
  // it in. Adds meanwhile land in the side buffer.
  absl::Status Train() {
    size_t rows;
    std::vector<uint32_t> slots;
    double train_s = 0, encode_s = 0;
    {
      absl::ReaderMutexLock l(&mu_);
      rows = ids_.size();
      slots = LiveSlots(0, rows);
    }
    if (slots.empty()) return absl::OkStatus();
    const size_t sample = std::min(slots.size(), opt_.train_sample);
    const int nlist = opt_.nlist > 0 ? opt_.nlist : AutoNlist(slots.size(), sample);
    const int m = opt_.pq_m > 0 ? opt_.pq_m : AutoPqM(dim_);
    std::vector<uint32_t> picked(sample);
    for (size_t i = 0; i < sample; ++i) picked[i] = slots[i * slots.size() / sample];
    std::vector<float> buf;
    Gather(picked.data(), sample, &buf);
    // PCA rotation with eigenvalue allocation: each PQ sub-space gets an equal
    // share of the variance. A rotation keeps inner products, so the tier
    // lives in rotated space and queries are rotated the same way.
    std::vector<float> rot;
    if (sample >= 2 * size_t(dim_)) {  // fewer points than that: no full-rank PCA
      faiss::PCAMatrix pca(dim_, dim_, 0, false);
      pca.balanced_bins = m;
      pca.train(Idx(sample), buf.data());
      rot = pca.A;
    }
    Rotate(rot, &buf, sample);
    auto ivf = std::make_unique<faiss::IndexIVFPQ>(new faiss::IndexFlatIP(dim_), dim_, nlist, m, 8,
                                                   faiss::METRIC_INNER_PRODUCT);
    ivf->own_fields = true;
    ivf->cp.max_points_per_centroid = 256;
    ivf->pq.cp.max_points_per_centroid = 64;  // PQ k-means is the slow part
    ivf->pq.cp.niter = 12;
    // Small tiers train on few points; Faiss would warn on stderr each time.
    ivf->cp.min_points_per_centroid = 1;
    ivf->pq.cp.min_points_per_centroid = 1;
    ivf->cp.niter = 15;
    // Inner product wants unit centroids; otherwise a few long centroids
    // attract most vectors and the lists become lopsided.
    ivf->cp.spherical = true;
    auto t0 = std::chrono::steady_clock::now();
    ivf->train(Idx(sample), buf.data());
    buf = {};
    auto t1 = std::chrono::steady_clock::now();
    Encoded enc;
    RETURN_IF_ERROR(Encode(*ivf, rot, slots, &enc));
    AddEncoded(ivf.get(), enc);
    auto t2 = std::chrono::steady_clock::now();
    train_s = std::chrono::duration<double>(t1 - t0).count();
    encode_s = std::chrono::duration<double>(t2 - t1).count();
    {
      absl::MutexLock l(&mu_);
      size_t dead_now = 0;
      for (uint32_t s : slots) dead_now += Dead(s);
      ann_ = std::move(ivf);
      rot_ = std::move(rot);
      built_ = rows;
      ann_dead_ = dead_now;
      trained_live_ = slots.size();
    }
    ++builds_;
    spdlog::info(
        "index {}: trained ANN tier over {} vectors ({} lists, {} B codes; train {:.1f} s, "
        "encode {:.1f} s)",
        opt_.dir, slots.size(), nlist, m, train_s, encode_s);
    return absl::OkStatus();
  }

  // Encodes the side buffer with the current ANN tier and appends it.
  absl::Status Merge() {
    size_t from, rows;
    std::vector<uint32_t> slots;
    {
      absl::ReaderMutexLock l(&mu_);
      from = built_;
      rows = ids_.size();
      slots = LiveSlots(from, rows);
    }
    Encoded enc;
    RETURN_IF_ERROR(Encode(*ann_, rot_, slots, &enc));
    {
      absl::MutexLock l(&mu_);
      AddEncoded(ann_.get(), enc);
      for (uint32_t s : slots) ann_dead_ += Dead(s);
      built_ = rows;
    }
    ++merges_;
    return absl::OkStatus();
  }

  void Drop() {
    absl::MutexLock l(&mu_);
    ann_.reset();
    rot_.clear();
    built_ = ann_dead_ = trained_live_ = 0;
  }

  // Exact tier only: rewrites the vector file without dead rows (slots are
  // renumbered, so it runs under the exclusive lock; the tier is small).
  absl::Status Compact() {
    absl::MutexLock l(&mu_);
    if (ann_ != nullptr) return absl::OkStatus();
    const uint64_t gen = vgen_ + 1;
    ASSIGN_OR_RETURN(std::unique_ptr<VectorFile> file, VectorFile::Open(VectorPath(gen), dim_, 0));
    std::vector<uint64_t> ids, versions;
    IdMap slot_of;
    for (size_t s = 0; s < ids_.size(); ++s) {
      if (Dead(s)) continue;
      RETURN_IF_ERROR(file->AppendRow(file_->Row(s)));
      slot_of.Set(ids_[s], uint32_t(ids.size()));
      ids.push_back(ids_[s]);
      versions.push_back(versions_[s]);
    }
    file_ = std::move(file);  // the old file stays on disk until a snapshot
    ids_ = std::move(ids);
    versions_ = std::move(versions);
    slot_of_ = std::move(slot_of);
    dead_.assign((ids_.size() + 63) / 64, 0);
    dead_count_ = 0;
    vgen_ = gen;
    ++changes_;
    force_snapshot_ = true;
    return absl::OkStatus();
  }

  // ---- snapshots ----

  void MaybeSnapshot() {
    if (opt_.dir.empty()) return;
    size_t rows;
    {
      absl::ReaderMutexLock l(&mu_);
      rows = ids_.size();
    }
    const size_t step = std::max(opt_.merge_rows, snap_rows_ / 4);
    if (!force_snapshot_ && (rows < snap_rows_ + step || changes_.load() == snap_changes_)) return;
    absl::Status s = WriteSnapshot();
    if (!s.ok()) spdlog::error("index {}: snapshot failed: {}", opt_.dir, s.ToString());
  }

  // REQUIRES: work_mu_ held.
  absl::Status WriteSnapshot() {
    if (opt_.dir.empty() || destroyed_) return absl::OkStatus();
    size_t rows, built, ann_dead, trained, dead_words;
    uint64_t changes, vgen;
    std::vector<uint64_t> ids, versions, dead;
    {
      absl::ReaderMutexLock l(&mu_);
      rows = ids_.size();
      built = built_;
      ann_dead = ann_dead_;
      trained = trained_live_;
      changes = changes_.load();
      vgen = vgen_;
      ids.assign(ids_.begin(), ids_.end());
      versions.assign(versions_.begin(), versions_.end());
      dead_words = (rows + 63) / 64;
      dead.assign(dead_.begin(), dead_.begin() + dead_words);
    }
    RETURN_IF_ERROR(file_->Sync());
    const fs::path dir(opt_.dir);
    const uint64_t gen = ++generation_;
    uint64_t ann_bytes = 0;
    uint32_t ann_crc = 0;
    if (ann_ != nullptr) {
      RETURN_IF_ERROR(
          WriteAtomically(dir / ("ivf-" + std::to_string(gen) + ".faiss"), [&](CrcWriter& w) {
            faiss::write_index(ann_.get(), &w);
            ann_bytes = w.bytes();
            ann_crc = w.crc();
            return absl::OkStatus();
          }));
    }
    size_t meta_bytes = 0;
    RETURN_IF_ERROR(WriteAtomically(dir / "snapshot.meta", [&](CrcWriter& w) {
      w(kMagic, 1, sizeof(kMagic));
      w.Put(kFormat);
      w.Put(int32_t(dim_));
      w.Put(uint64_t(rows));
      w.Put(uint64_t(built));
      w.Put(uint64_t(ann_dead));
      w.Put(uint64_t(trained));
      w.Put(uint64_t(ann_ != nullptr ? gen : 0));
      w.Put(ann_bytes);
      w.Put(ann_crc);
      w.Put(vgen);
      w.Put(uint64_t(rot_.size()));
      w.PutVector(rot_, rot_.size());
      w.PutVector(ids, rows);
      w.PutVector(versions, rows);
      w.PutVector(dead, dead_words);
      const uint32_t crc = w.crc();
      w.Put(crc);
      meta_bytes = w.bytes();
      return absl::OkStatus();
    }));
    // The new snapshot is committed: older generations go.
    std::error_code ec;
    const std::string keep_ivf = "ivf-" + std::to_string(gen) + ".faiss";
    const std::string keep_vec = "vectors-" + std::to_string(vgen) + ".q16";
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name == "snapshot.meta" || name == keep_vec || (ann_ != nullptr && name == keep_ivf)) {
        continue;
      }
      fs::remove(e.path(), ec);
    }
    snap_rows_ = rows;
    snap_changes_ = changes;
    force_snapshot_ = false;
    snapshot_bytes_ = meta_bytes + ann_bytes;
    return absl::OkStatus();
  }

  absl::Status LoadSnapshot() {
    const fs::path dir(opt_.dir);
    FILE* f = std::fopen((dir / "snapshot.meta").c_str(), "rb");
    if (f == nullptr) return Corrupt("no snapshot.meta");
    std::unique_ptr<FILE, int (*)(FILE*)> closer(f, std::fclose);
    CrcReader r(f);
    char magic[8];
    uint32_t format = 0, ann_crc = 0, crc = 0;
    int32_t dim = 0;
    uint64_t rows = 0, built = 0, ann_dead = 0, trained = 0, gen = 0, ann_bytes = 0, vgen = 0;
    if (r(magic, 1, 8) != 8 || std::memcmp(magic, kMagic, 8) != 0) return Corrupt("bad magic");
    if (!r.Get(&format) || format != kFormat) return Corrupt("unknown format");
    if (!r.Get(&dim) || dim != dim_) return Corrupt("dimension differs");
    if (!r.Get(&rows) || !r.Get(&built) || !r.Get(&ann_dead) || !r.Get(&trained) || !r.Get(&gen) ||
        !r.Get(&ann_bytes) || !r.Get(&ann_crc) || !r.Get(&vgen)) {
      return Corrupt("truncated header");
    }
    if (rows >= UINT32_MAX || built > rows) return Corrupt("bad row counts");
    uint64_t rot_size = 0;
    std::vector<float> rot;
    if (!r.Get(&rot_size) || (rot_size != 0 && rot_size != uint64_t(dim_) * dim_) ||
        !r.GetVector(&rot, rot_size)) {
      return Corrupt("bad rotation");
    }
    std::vector<uint64_t> ids, versions, dead;
    if (!r.GetVector(&ids, rows) || !r.GetVector(&versions, rows) ||
        !r.GetVector(&dead, (rows + 63) / 64)) {
      return Corrupt("truncated tables");
    }
    const uint32_t computed = r.crc();
    if (!r.Get(&crc) || crc != computed) return Corrupt("checksum mismatch");
    std::unique_ptr<faiss::IndexIVFPQ> ann;
    if (gen != 0) {
      const fs::path ivf_path = dir / ("ivf-" + std::to_string(gen) + ".faiss");
      FILE* af = std::fopen(ivf_path.c_str(), "rb");
      if (af == nullptr) return Corrupt("missing " + ivf_path.filename().string());
      std::unique_ptr<FILE, int (*)(FILE*)> aclose(af, std::fclose);
      CrcReader ar(af);
      try {
        ann.reset(dynamic_cast<faiss::IndexIVFPQ*>(faiss::read_index(&ar)));
      } catch (const faiss::FaissException& e) {
        return Corrupt(std::string("ANN tier unreadable: ") + e.what());
      }
      if (ann == nullptr || ar.bytes() != ann_bytes || ar.crc() != ann_crc) {
        return Corrupt("ANN tier checksum mismatch");
      }
      if (ann->d != dim_ || size_t(ann->ntotal) > built) return Corrupt("ANN tier mismatch");
    }
    IdMap slot_of;
    size_t dead_count = 0;
    for (size_t s = 0; s < rows; ++s) {
      if ((dead[s >> 6] >> (s & 63)) & 1) {
        ++dead_count;
        continue;
      }
      if (slot_of.Set(ids[s], uint32_t(s)) != IdMap::kNone) return Corrupt("duplicate id");
    }
    ASSIGN_OR_RETURN(file_, VectorFile::Open(VectorPath(vgen), dim_, rows));
    ids_ = std::move(ids);
    versions_ = std::move(versions);
    dead_ = std::move(dead);
    slot_of_ = std::move(slot_of);
    dead_count_ = dead_count;
    ann_ = std::move(ann);
    rot_ = ann_ ? std::move(rot) : std::vector<float>();
    built_ = ann_ ? built : 0;
    ann_dead_ = ann_ ? ann_dead : 0;
    trained_live_ = trained;
    vgen_ = vgen;
    generation_ = gen;
    snap_rows_ = rows;
    snapshot_bytes_ = r.bytes() + ann_bytes;
    return absl::OkStatus();
  }

  const int dim_;
  const TieredOptions opt_;
  std::atomic<int> nprobe_, rerank_;  // search knobs, adjustable at run time

  // absl::Mutex: writers waiting block new readers, so a stream of searches
  // cannot starve Put/Remove (libstdc++'s shared_mutex prefers readers).
  mutable absl::Mutex mu_;
  std::unique_ptr<VectorFile> file_;  // worker-owned pointer
  std::vector<uint64_t> ids_;         // slot -> id
  std::vector<uint64_t> versions_;    // slot -> caller's version
  std::vector<uint64_t> dead_;        // tombstone bitset
  IdMap slot_of_;                     // live id -> slot
  size_t dead_count_ = 0;
  std::unique_ptr<faiss::IndexIVFPQ> ann_;  // worker-owned pointer
  std::vector<float> rot_;                  // ann_'s rotation (dim x dim, row-major), with ann_
  size_t built_ = 0;                        // slots [0, built_) are in ann_ (if live when encoded)
  size_t ann_dead_ = 0;                     // ann_ entries whose slot died since
  size_t trained_live_ = 0;                 // live vectors when ann_ was trained
  std::atomic<uint64_t> changes_{0};

  // Worker state, guarded by work_mu_.
  std::mutex work_mu_;
  uint64_t generation_ = 0;
  uint64_t vgen_ = 1;
  size_t snap_rows_ = 0;
  uint64_t snap_changes_ = 0;
  bool force_snapshot_ = false;
  std::atomic<bool> failed_{false};
  std::atomic<size_t> retry_rows_{0};
  bool destroyed_ = false;
  bool restored_ = false;
  bool preload_pending_ = false;  // worker: read the vector file into the page cache
  std::atomic<size_t> preloaded_bytes_{0};
  mutable std::atomic<uint64_t> subset_searches_{0}, ann_filtered_searches_{0};
  std::atomic<size_t> snapshot_bytes_{0};
  std::atomic<uint64_t> builds_{0}, merges_{0};

  std::mutex cv_mu_;
  std::condition_variable cv_, idle_cv_;
  bool stop_ = false, stopped_ = false, kick_ = false, busy_ = false;  // guarded by cv_mu_
  std::thread thread_;
};

TieredIndex::TieredIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TieredIndex::~TieredIndex() = default;

absl::StatusOr<std::unique_ptr<TieredIndex>> TieredIndex::Open(int dim,
                                                               const TieredOptions& options) {
  if (dim <= 0) return Error("IS.0009", "(index dimension must be positive)");
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
