#include "index/internal/maintenance.h"

#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/VectorTransform.h>
#include <faiss/invlists/InvertedLists.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/pq_encoder.h"
#include "index/internal/snapshot_io.h"

namespace iss::index::internal {
namespace {

using Idx = faiss::Index::idx_t;

constexpr size_t kChunk = 16384;      // rows encoded per step
constexpr size_t kCompactMin = 1024;  // exact tier: dead rows before rewrite
constexpr size_t kMinTrain = 256;     // fewest vectors the ANN tier trains on

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

}  // namespace

Work PendingWork(const Tiers& t, const TieredOptions& o) {
  const size_t live = t.slot_of.size(), rows = t.rows();
  if (t.ann == nullptr) {
    // PQ's 8-bit codebooks need at least 256 training vectors.
    if (live >= std::max<size_t>(o.exact_max, kMinTrain)) return Work::kTrain;
    if (t.dead_count >= std::max(kCompactMin, live)) return Work::kCompact;
    return Work::kNone;
  }
  if (live < o.exact_max / 2) return Work::kDrop;
  if (double(live) > o.retrain_growth * double(t.trained_live)) return Work::kTrain;
  if (double(t.ann_dead) > o.compact_dead * double(t.ann->ntotal)) return Work::kTrain;
  if (rows - t.built >= o.merge_rows) return Work::kMerge;
  return Work::kNone;
}

Maintenance::Maintenance(int dim, const TieredOptions& options, iss::Mutex* mu, Tiers* tiers,
                         std::function<bool()> stopping)
    : dim_(dim), opt_(options), mu_(mu), t_(tiers), stopping_(std::move(stopping)) {}

std::vector<uint32_t> Maintenance::LiveSlots(size_t from, size_t to) const {
  std::vector<uint32_t> out;
  for (size_t s = from; s < to; ++s) {
    if (!t_->Dead(s)) out.push_back(uint32_t(s));
  }
  return out;
}

absl::Status Maintenance::Train() {
  size_t rows;
  std::vector<uint32_t> slots;
  {
    iss::ReaderMutexLock l(mu_);
    rows = t_->rows();
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
  // PCA rotation with eigenvalue allocation: each PQ sub-space gets an equal share of the
  // variance. A rotation keeps inner products, so the tier lives in rotated space and
  // queries are rotated the same way.
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
  // Inner product wants unit centroids; otherwise a few long centroids attract most vectors
  // and the lists become lopsided.
  ivf->cp.spherical = true;
  auto t0 = std::chrono::steady_clock::now();
  ivf->train(Idx(sample), buf.data());
  buf = {};
  auto t1 = std::chrono::steady_clock::now();
  Encoded enc;
  RETURN_IF_ERROR(Encode(*ivf, rot, slots, &enc));
  AddEncoded(ivf.get(), enc);
  auto t2 = std::chrono::steady_clock::now();
  const double train_s = std::chrono::duration<double>(t1 - t0).count();
  const double encode_s = std::chrono::duration<double>(t2 - t1).count();
  {
    iss::MutexLock l(mu_);
    size_t dead_now = 0;
    for (uint32_t s : slots) dead_now += t_->Dead(s);
    t_->ann = std::move(ivf);
    t_->rot = std::move(rot);
    t_->built = rows;
    t_->ann_dead = dead_now;
    t_->trained_live = slots.size();
  }
  spdlog::info(
      "index {}: trained ANN tier over {} vectors ({} lists, {} B codes; train {:.1f} s, "
      "encode {:.1f} s)",
      opt_.dir, slots.size(), nlist, m, train_s, encode_s);
  return absl::OkStatus();
}

absl::Status Maintenance::Merge() {
  size_t from, rows;
  std::vector<uint32_t> slots;
  {
    iss::ReaderMutexLock l(mu_);
    from = t_->built;
    rows = t_->rows();
    slots = LiveSlots(from, rows);
  }
  Encoded enc;
  RETURN_IF_ERROR(Encode(*t_->ann, t_->rot, slots, &enc));
  iss::MutexLock l(mu_);
  AddEncoded(t_->ann.get(), enc);
  for (uint32_t s : slots) t_->ann_dead += t_->Dead(s);
  t_->built = rows;
  return absl::OkStatus();
}

void Maintenance::Drop() {
  iss::MutexLock l(mu_);
  t_->ann.reset();
  t_->rot.clear();
  t_->built = t_->ann_dead = t_->trained_live = 0;
}

absl::Status Maintenance::Compact() {
  iss::MutexLock l(mu_);
  if (t_->ann != nullptr) return absl::OkStatus();
  const uint64_t gen = t_->vgen + 1;
  const std::string path = opt_.dir.empty() ? "" : PathIn(opt_.dir, VectorFileName(gen));
  ASSIGN_OR_RETURN(std::unique_ptr<VectorFile> file, VectorFile::Open(opt_.env, path, dim_, 0));
  std::vector<uint64_t> ids, versions;
  IdMap slot_of;
  for (size_t s = 0; s < t_->rows(); ++s) {
    if (t_->Dead(s)) continue;
    RETURN_IF_ERROR(file->AppendRow(t_->file->Row(s)));
    slot_of.Set(t_->ids[s], uint32_t(ids.size()));
    ids.push_back(t_->ids[s]);
    versions.push_back(t_->versions[s]);
  }
  t_->file = std::move(file);  // the old file stays on disk until a snapshot
  t_->ids = std::move(ids);
  t_->versions = std::move(versions);
  t_->slot_of = std::move(slot_of);
  t_->dead.assign((t_->rows() + 63) / 64, 0);
  t_->dead_count = 0;
  t_->vgen = gen;
  return absl::OkStatus();
}

size_t Maintenance::Preload() {
  const size_t bytes = t_->file->FileBytes();
  const size_t avail = opt_.env->MemAvailableBytes();
  if (bytes == 0) return 0;
  if (bytes > avail / 4 * 3) {
    spdlog::info("index {}: vector file ({} MiB) not preloaded: {} MiB of memory available",
                 opt_.dir, bytes >> 20, avail >> 20);
    return 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const size_t done = t_->file->Preload(stopping_);
  spdlog::info("index {}: preloaded {} MiB of vectors into the page cache in {:.1f} s", opt_.dir,
               done >> 20,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return done;
}

void Maintenance::Gather(const uint32_t* slots, size_t n, std::vector<float>* out) const {
  out->resize(n * dim_);
  for (size_t i = 0; i < n; ++i) t_->file->Read(slots[i], out->data() + i * dim_);
}

// x (n rows) <- x R^T: into the ANN tier's rotated space (no-op when `rot` is empty).
void Maintenance::Rotate(const std::vector<float>& rot, std::vector<float>* x, size_t n) const {
  if (rot.empty() || n == 0) return;
  std::vector<float> y(n * dim_);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), dim_, dim_, 1.0f, x->data(), dim_,
              rot.data(), dim_, 0.0f, y.data(), dim_);
  x->swap(y);
}

absl::Status Maintenance::Encode(const faiss::IndexIVFPQ& ivf, const std::vector<float>& rot,
                                 const std::vector<uint32_t>& slots, Encoded* out) const {
  std::vector<float> buf;
  out->lists.resize(slots.size());
  out->slots.assign(slots.begin(), slots.end());
  out->codes.resize(slots.size() * ivf.code_size);
  const PqEncoder encoder(ivf);
  for (size_t at = 0; at < slots.size(); at += kChunk) {
    if (stopping_()) return Fail(Reason::kCancelled, "(stopping)");
    size_t n = std::min(kChunk, slots.size() - at);
    Gather(slots.data() + at, n, &buf);
    Rotate(rot, &buf, n);
    ivf.quantizer->assign(Idx(n), buf.data(), out->lists.data() + at);
    encoder.Encode(buf.data(), out->lists.data() + at, n, out->codes.data() + at * ivf.code_size);
  }
  return absl::OkStatus();
}

// Appends to the inverted lists, growing each by at most an eighth over its need (Faiss's
// lists would double).
void Maintenance::AddEncoded(faiss::IndexIVFPQ* ivf, const Encoded& e) {
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

}  // namespace iss::index::internal
