#include "index/internal/maintenance.h"

#include <cblas.h>
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/VectorTransform.h>
#include <faiss/invlists/InvertedLists.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <utility>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/pq_encoder.h"
#include "index/internal/search_plan.h"
#include "index/internal/snapshot_io.h"

namespace iss::index::internal {
namespace {

using Idx = faiss::Index::idx_t;

constexpr size_t kChunk = 16384;      // rows encoded per step
constexpr size_t kCompactMin = 1024;  // exact tier: dead rows before rewrite
constexpr size_t kMinTrain = 256;     // fewest vectors the ANN tier trains on

constexpr int kMaxNlist = 16384;       // 30M vectors: ~1,800 a list
constexpr size_t kPointsPerList = 40;  // k-means wants ~39+ points per centroid
constexpr int kHnswM = 32;             // links per centroid of the HNSW coarse quantizer
constexpr int kHnswEfAssign = 64;      // its search depth when assigning vectors to lists

// 4 x sqrt(live) rounded down to a power of two, 64..kMaxNlist.
int AutoNlist(size_t live) {
  int n = 64;
  while (n * 2 <= 4 * std::sqrt(double(live)) && n < kMaxNlist) n *= 2;
  return n;
}

// Spherical k-means of x (n rows) into k unit centroids appended to `out`.
void Kmeans(int dim, const float* x, size_t n, size_t k, int niter, std::vector<float>* out) {
  faiss::ClusteringParameters cp;
  cp.niter = niter;
  cp.spherical = true;
  cp.max_points_per_centroid = 256;
  cp.min_points_per_centroid = 1;  // small cells: Faiss would warn on stderr
  faiss::Clustering km(dim, k, cp);
  faiss::IndexFlatIP assign(dim);
  km.train(Idx(n), x, assign);
  out->insert(out->end(), km.centroids.begin(), km.centroids.end());
}

// Coarse centroids for more lists than flat k-means can train on two cores: k-means into
// sqrt(nlist) cells, then each cell's points into its share of the lists (two-level
// k-means; ~2 sqrt(nlist) / nlist of the flat cost). Returns the centroids (<= nlist rows).
std::vector<float> TwoLevelCentroids(int dim, const float* x, size_t n, int nlist, int niter) {
  const size_t top = size_t(std::sqrt(double(nlist)));
  std::vector<float> cells;
  Kmeans(dim, x, n, top, niter, &cells);
  std::vector<Idx> cell(n);
  std::vector<float> unused(n);
  faiss::IndexFlatIP top_index(dim);
  top_index.add(Idx(top), cells.data());
  top_index.search(Idx(n), x, 1, unused.data(), cell.data());
  std::vector<std::vector<uint32_t>> members(top);
  for (size_t i = 0; i < n; ++i) {
    if (cell[i] >= 0) members[size_t(cell[i])].push_back(uint32_t(i));
  }
  // Lists per cell in proportion to its points (largest remainders), never more than it has.
  std::vector<size_t> lists(top);
  std::vector<std::pair<double, size_t>> rest;
  size_t given = 0;
  for (size_t c = 0; c < top; ++c) {
    const double share = double(nlist) * double(members[c].size()) / double(n);
    lists[c] = std::min(members[c].size(), size_t(share));
    given += lists[c];
    rest.push_back({share - double(lists[c]), c});
  }
  std::sort(rest.begin(), rest.end(), std::greater<>());
  for (size_t i = 0; given < size_t(nlist) && i < rest.size(); ++i) {
    const size_t c = rest[i].second;
    if (lists[c] < members[c].size()) ++lists[c], ++given;
  }
  std::vector<float> centroids, points;
  for (size_t c = 0; c < top; ++c) {
    if (lists[c] == 0) continue;
    points.resize(members[c].size() * dim);
    for (size_t i = 0; i < members[c].size(); ++i) {
      std::copy_n(x + size_t(members[c][i]) * dim, dim, points.data() + i * dim);
    }
    Kmeans(dim, points.data(), members[c].size(), lists[c], niter, &centroids);
  }
  return centroids;
}

int AutoPqM(int dim) {
  // 8-bit sub-quantizers of at least 6 dimensions, at most 96 of them
  // (576 -> 96 bytes a vector, 768 -> 96, 512 -> 64).
  for (int m = std::min(96, dim); m >= 1; --m) {
    if (dim % m == 0 && dim / m >= 6) return m;
  }
  return 1;
}

// Each row of x (n) to its list: Faiss's flat assignment (BLAS), or a walk of the HNSW
// graph per row with our vectorised dot product (Debian's Faiss computes HNSW distances
// with its generic scalar kernel: ~5x slower).
void AssignLists(const faiss::IndexIVFPQ& ivf, const float* x, size_t n, Idx* lists) {
  if (!HnswCoarse(ivf)) {
    ivf.quantizer->assign(Idx(n), x, lists);
    return;
  }
  const size_t d = size_t(ivf.d);
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; ++i) {
    float score;
    if (HnswBest(ivf, x + i * d, 1, kHnswEfAssign, &score, lists + i) > 0) continue;
    // Never left out of the tier: the best centroid by a full scan.
    const float* c = Centroids(ivf);
    float best = -HUGE_VALF;
    for (size_t l = 0; l < ivf.nlist; ++l) {
      const float s = DotFloat(x + i * d, c + l * d, int(d));
      if (s > best) best = s, lists[i] = Idx(l);
    }
  }
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
  int nlist = opt_.nlist > 0 ? opt_.nlist : AutoNlist(slots.size());
  const size_t sample =
      std::min(slots.size(), std::max(opt_.train_sample, kPointsPerList * size_t(nlist)));
  if (opt_.nlist <= 0) {
    while (nlist > 16 && size_t(nlist) * kPointsPerList > sample) nlist /= 2;
  }
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
  auto t0 = std::chrono::steady_clock::now();
  // Up to kFlatCoarseMax lists: a flat quantizer that Faiss trains with the tier. Beyond:
  // two-level k-means and an HNSW graph over the centroids, so neither training nor the
  // coarse step of a query scores every centroid.
  faiss::Index* quantizer = nullptr;
  if (nlist > kFlatCoarseMax) {
    std::vector<float> centroids = TwoLevelCentroids(dim_, buf.data(), sample, nlist, 15);
    nlist = int(centroids.size() / dim_);
    auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(dim_, kHnswM, faiss::METRIC_INNER_PRODUCT);
    hnsw->hnsw.efSearch = kHnswEfAssign;
    hnsw->add(Idx(nlist), centroids.data());
    quantizer = hnsw.release();
  } else {
    quantizer = new faiss::IndexFlatIP(dim_);
  }
  auto ivf = std::make_unique<faiss::IndexIVFPQ>(quantizer, dim_, nlist, m, 8,
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
  const std::string path =
      opt_.dir.empty() ? "" : PathIn(opt_.dir, VectorFileName(gen, t_->file->bits()));
  ASSIGN_OR_RETURN(std::unique_ptr<VectorFile> file,
                   VectorFile::Open(opt_.env, path, dim_, 0, t_->file->bits()));
  std::unique_ptr<VectorFile> fine;
  if (t_->fine != nullptr) {
    const std::string fine_path = opt_.dir.empty() ? "" : PathIn(opt_.dir, FineFileName(gen));
    ASSIGN_OR_RETURN(fine, VectorFile::Open(opt_.env, fine_path, dim_, 0, RowBits::k16, false));
  }
  std::vector<uint64_t> ids, versions;
  IdMap slot_of;
  for (size_t s = 0; s < t_->rows(); ++s) {
    if (t_->Dead(s)) continue;
    RETURN_IF_ERROR(file->AppendRow(t_->file->Row(s)));
    if (fine != nullptr) RETURN_IF_ERROR(fine->AppendRow(t_->fine->Row(s)));
    slot_of.Set(t_->ids[s], uint32_t(ids.size()));
    ids.push_back(t_->ids[s]);
    versions.push_back(t_->versions[s]);
  }
  t_->file = std::move(file);  // the old file stays on disk until a snapshot
  t_->fine = std::move(fine);
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

// x (n rows) <- x R^T: into the ANN tier's rotated space (no-op when `rot` is empty), a
// chunk at a time so a large training sample is not held twice.
void Maintenance::Rotate(const std::vector<float>& rot, std::vector<float>* x, size_t n) const {
  if (rot.empty() || n == 0) return;
  std::vector<float> y(std::min(n, kChunk) * dim_);
  for (size_t at = 0; at < n; at += kChunk) {
    const size_t rows = std::min(kChunk, n - at);
    float* block = x->data() + at * dim_;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), dim_, dim_, 1.0f, block, dim_,
                rot.data(), dim_, 0.0f, y.data(), dim_);
    std::copy_n(y.data(), rows * dim_, block);
  }
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
    AssignLists(ivf, buf.data(), n, out->lists.data() + at);
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
