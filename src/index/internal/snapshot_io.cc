#include "index/internal/snapshot_io.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>

#include <cstring>
#include <functional>
#include <new>

#include "common/status.h"
#include "common/status_macros.h"
#include "index/internal/checksummed_io.h"

namespace iss::index::internal {
namespace {

constexpr char kMagic[8] = {'I', 'S', 'S', 'I', 'D', 'X', '0', '1'};
// 3: the vector file's CRC-32 (2: 16-bit quantised vector files without it, 1: float32).
// An older format is discarded and the index rebuilt from the catalog.
constexpr uint32_t kFormat = 3;

absl::Status Corrupt(const std::string& what) {
  return Fail(Reason::kCorrupt, "(index snapshot: " + what + ")");
}

// Writes `path` atomically: temporary file, Sync, rename, SyncDir.
absl::Status WriteAtomically(Env* env, const std::string& dir, const std::string& name,
                             const std::function<void(ChecksummedWriter&)>& body) {
  const std::string path = PathIn(dir, name), tmp = path + ".tmp";
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env->NewWritableFile(tmp));
  ChecksummedWriter w(f.get());
  absl::Status s;
  try {
    body(w);
  } catch (const faiss::FaissException& e) {
    s = Fail(Reason::kInternal, std::string("(faiss: ") + e.what() + ")");
  } catch (const std::bad_alloc&) {
    s = Fail(Reason::kInternal, "(out of memory)");
  }
  if (!w.status().ok()) s = w.status();  // the Env's reason beats Faiss's "write error"
  if (s.ok()) s = w.Flush();
  if (s.ok()) s = f->Sync();
  absl::Status closed = f->Close();
  if (s.ok()) s = closed;
  if (!s.ok()) {
    (void)env->RemoveFile(tmp);
    return s;
  }
  RETURN_IF_ERROR(env->RenameFile(tmp, path));
  return env->SyncDir(dir);
}

// Reads the ANN file after checking its size and CRC-32 against the (verified) meta: Faiss
// 1.7.3 sizes its tables from the file without limits, so it only ever sees bytes we wrote.
// The coarse quantizers the tier builds: flat, or an HNSW graph over flat storage.
bool FlatOrHnswFlat(const faiss::Index* q) {
  if (const auto* h = dynamic_cast<const faiss::IndexHNSW*>(q)) {
    q = h->storage;
    if (q == nullptr || h->ntotal != q->ntotal) return false;
  }
  return dynamic_cast<const faiss::IndexFlat*>(q) != nullptr;
}

absl::StatusOr<std::unique_ptr<faiss::IndexIVFPQ>> LoadAnn(Env* env, const std::string& dir,
                                                           int dim, uint64_t gen,
                                                           uint64_t ann_bytes, uint32_t ann_crc,
                                                           uint64_t built, uint64_t rot_size) {
  const std::string name = AnnFileName(gen), path = PathIn(dir, name);
  if (!env->FileExists(path)) return Corrupt("missing " + name);
  absl::StatusOr<uint64_t> size = env->FileSize(path);
  if (!size.ok() || *size != ann_bytes) return Corrupt("ANN tier checksum mismatch");
  absl::StatusOr<uint32_t> crc = FileCrc32(env, path, ann_bytes);
  if (!crc.ok() || *crc != ann_crc) return Corrupt("ANN tier checksum mismatch");
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(path));
  ChecksummedReader r(f.get(), /*checksum=*/false);
  std::unique_ptr<faiss::Index> read;
  try {
    read.reset(faiss::read_index(&r));
  } catch (const faiss::FaissException& e) {
    return Corrupt(std::string("ANN tier unreadable: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Corrupt("ANN tier unreadable: out of memory");
  }
  if (!r.status().ok()) return r.status();
  std::unique_ptr<faiss::IndexIVFPQ> ann(dynamic_cast<faiss::IndexIVFPQ*>(read.get()));
  if (ann == nullptr || r.bytes() != ann_bytes) return Corrupt("ANN tier checksum mismatch");
  read.release();  // now owned by `ann`
  if (ann->d != dim || size_t(ann->ntotal) > built || ann->nlist == 0 || ann->pq.nbits != 8 ||
      ann->code_size != ann->pq.M || ann->metric_type != faiss::METRIC_INNER_PRODUCT ||
      !FlatOrHnswFlat(ann->quantizer) || size_t(ann->quantizer->ntotal) != ann->nlist ||
      (rot_size != 0 && rot_size != 1ull * dim * dim)) {
    return Corrupt("ANN tier mismatch");
  }
  return ann;
}

}  // namespace

std::string VectorFileName(uint64_t vgen, RowBits bits) {
  return "vectors-" + std::to_string(vgen) + (bits == RowBits::k16 ? ".q16" : ".q8");
}
std::string FineFileName(uint64_t vgen) { return "vectors-" + std::to_string(vgen) + ".r16"; }
std::string AnnFileName(uint64_t gen) { return "ivf-" + std::to_string(gen) + ".faiss"; }
std::string PathIn(const std::string& dir, const std::string& name) { return dir + "/" + name; }

LoadedSnapshot::LoadedSnapshot() = default;
LoadedSnapshot::~LoadedSnapshot() = default;
LoadedSnapshot::LoadedSnapshot(LoadedSnapshot&&) = default;
LoadedSnapshot& LoadedSnapshot::operator=(LoadedSnapshot&&) = default;

absl::StatusOr<size_t> WriteSnapshot(Env* env, const std::string& dir, int dim, uint64_t gen,
                                     const faiss::IndexIVFPQ* ann, const SnapshotTables& t) {
  uint64_t ann_bytes = 0;
  uint32_t ann_crc = 0;
  if (ann != nullptr) {
    RETURN_IF_ERROR(WriteAtomically(env, dir, AnnFileName(gen), [&](ChecksummedWriter& w) {
      faiss::write_index(ann, &w);
      ann_bytes = w.bytes();
      ann_crc = w.crc();
    }));
  }
  const size_t dead_words = (t.rows + 63) / 64;
  size_t meta_bytes = 0;
  RETURN_IF_ERROR(WriteAtomically(env, dir, kMetaFile, [&](ChecksummedWriter& w) {
    w(kMagic, 1, sizeof(kMagic));
    w.Put(kFormat);
    w.Put(int32_t(dim));
    w.Put(uint64_t(t.rows));
    w.Put(uint64_t(t.built));
    w.Put(uint64_t(t.ann_dead));
    w.Put(uint64_t(t.trained));
    w.Put(uint64_t(ann != nullptr ? gen : 0));
    w.Put(ann_bytes);
    w.Put(ann_crc);
    w.Put(uint64_t(t.vgen));
    w.Put(uint32_t(t.vector_crc));
    w.Put(uint64_t(t.rot.size()));
    w.PutVector(t.rot, t.rot.size());
    w.PutVector(t.ids, t.rows);
    w.PutVector(t.versions, t.rows);
    w.PutVector(t.dead, dead_words);
    const uint32_t crc = w.crc();
    w.Put(crc);
    meta_bytes = w.bytes();
  }));
  // The new snapshot is committed: older generations go.
  const std::string keep_ivf = AnnFileName(gen), keep_vec = VectorFileName(t.vgen, t.bits);
  absl::StatusOr<std::vector<std::string>> names = env->GetChildren(dir);
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (name == kMetaFile || name == keep_vec || (ann != nullptr && name == keep_ivf)) continue;
      if (t.bits == RowBits::k8 && name == FineFileName(t.vgen)) continue;
      (void)env->RemoveFile(PathIn(dir, name));
    }
  }
  return meta_bytes + ann_bytes;
}

absl::StatusOr<LoadedSnapshot> LoadSnapshot(Env* env, const std::string& dir, int dim) {
  const std::string meta = PathIn(dir, kMetaFile);
  if (!env->FileExists(meta)) return Corrupt("no snapshot.meta");
  ASSIGN_OR_RETURN(const uint64_t size, env->FileSize(meta));
  LoadedSnapshot out;
  SnapshotTables& t = out.tables;
  uint32_t ann_crc = 0, crc = 0;
  uint64_t ann_bytes = 0, rot_size = 0;
  {
    // Pass 1: the header, the file's size against its counts, the CRC-32 of the whole
    // file, through a fixed buffer. Nothing is allocated from a count before this passes.
    ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(meta));
    ChecksummedReader r(f.get());
    char magic[8];
    uint32_t format = 0;
    int32_t file_dim = 0;
    if (r(magic, 1, 8) != 8 || std::memcmp(magic, kMagic, 8) != 0) return Corrupt("bad magic");
    if (!r.Get(&format) || format != kFormat) return Corrupt("unknown format");
    if (!r.Get(&file_dim) || file_dim != dim) return Corrupt("dimension differs");
    if (!r.Get(&t.rows) || !r.Get(&t.built) || !r.Get(&t.ann_dead) || !r.Get(&t.trained) ||
        !r.Get(&out.gen) || !r.Get(&ann_bytes) || !r.Get(&ann_crc) || !r.Get(&t.vgen) ||
        !r.Get(&t.vector_crc)) {
      return Corrupt("truncated header");
    }
    // Entries of the ANN tier (built) <= rows; its dead ones and the live count it was
    // trained on <= its entries.
    if (t.rows >= UINT32_MAX || t.built > t.rows || t.ann_dead > t.built || t.trained > t.built) {
      return Corrupt("bad row counts");
    }
    if (!r.Get(&rot_size) || (rot_size != 0 && rot_size != uint64_t(dim) * uint64_t(dim))) {
      return Corrupt("bad rotation");
    }
    // rows < 2^32 and rot_size <= 2^62 / 4: no overflow.
    const uint64_t expected = MetaLayout::kHeader + rot_size * sizeof(float) +
                              t.rows * 2 * sizeof(uint64_t) +
                              (t.rows + 63) / 64 * sizeof(uint64_t) + sizeof(uint32_t);
    if (size < expected) return Corrupt("truncated tables");
    if (size > expected) return Corrupt("bytes after the tables");
    if (!r.Skip(size - sizeof(uint32_t) - r.bytes())) {
      return r.status().ok() ? Corrupt("truncated tables") : r.status();
    }
    const uint32_t computed = r.crc();
    if (!r.Get(&crc) || crc != computed) return Corrupt("checksum mismatch");
  }
  {
    // Pass 2: the tables, sized by counts now known to match the file.
    ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(meta));
    ChecksummedReader r(f.get(), /*checksum=*/false);
    if (!r.Skip(MetaLayout::kHeader) || !r.GetVector(&t.rot, rot_size) ||
        !r.GetVector(&t.ids, t.rows) || !r.GetVector(&t.versions, t.rows) ||
        !r.GetVector(&t.dead, (t.rows + 63) / 64)) {
      return r.status().ok() ? Corrupt("truncated tables") : r.status();
    }
  }
  if (out.gen != 0) {
    ASSIGN_OR_RETURN(out.ann,
                     LoadAnn(env, dir, dim, out.gen, ann_bytes, ann_crc, t.built, rot_size));
  }
  for (size_t s = 0; s < t.rows; ++s) {
    if ((t.dead[s >> 6] >> (s & 63)) & 1) {
      ++out.dead_count;
      continue;
    }
    if (out.slot_of.Set(t.ids[s], uint32_t(s)) != IdMap::kNone) return Corrupt("duplicate id");
  }
  out.bytes = size + ann_bytes;
  return out;
}

}  // namespace iss::index::internal
