#include "index/internal/snapshot_io.h"

#include <faiss/IndexFlat.h>
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
constexpr uint32_t kFormat = 2;  // 2: 16-bit quantised vector files (1: float32)

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

}  // namespace

std::string VectorFileName(uint64_t vgen) { return "vectors-" + std::to_string(vgen) + ".q16"; }
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
  const std::string keep_ivf = AnnFileName(gen), keep_vec = VectorFileName(t.vgen);
  absl::StatusOr<std::vector<std::string>> names = env->GetChildren(dir);
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (name == kMetaFile || name == keep_vec || (ann != nullptr && name == keep_ivf)) continue;
      (void)env->RemoveFile(PathIn(dir, name));
    }
  }
  return meta_bytes + ann_bytes;
}

absl::StatusOr<LoadedSnapshot> LoadSnapshot(Env* env, const std::string& dir, int dim) {
  const std::string meta = PathIn(dir, kMetaFile);
  if (!env->FileExists(meta)) return Corrupt("no snapshot.meta");
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> f, env->NewSequentialFile(meta));
  ChecksummedReader r(f.get());
  LoadedSnapshot out;
  SnapshotTables& t = out.tables;
  char magic[8];
  uint32_t format = 0, ann_crc = 0, crc = 0;
  int32_t file_dim = 0;
  uint64_t ann_bytes = 0;
  if (r(magic, 1, 8) != 8 || std::memcmp(magic, kMagic, 8) != 0) return Corrupt("bad magic");
  if (!r.Get(&format) || format != kFormat) return Corrupt("unknown format");
  if (!r.Get(&file_dim) || file_dim != dim) return Corrupt("dimension differs");
  if (!r.Get(&t.rows) || !r.Get(&t.built) || !r.Get(&t.ann_dead) || !r.Get(&t.trained) ||
      !r.Get(&out.gen) || !r.Get(&ann_bytes) || !r.Get(&ann_crc) || !r.Get(&t.vgen)) {
    return Corrupt("truncated header");
  }
  if (t.rows >= UINT32_MAX || t.built > t.rows) return Corrupt("bad row counts");
  uint64_t rot_size = 0;
  if (!r.Get(&rot_size) || (rot_size != 0 && rot_size != uint64_t(dim) * dim) ||
      !r.GetVector(&t.rot, rot_size)) {
    return Corrupt("bad rotation");
  }
  if (!r.GetVector(&t.ids, t.rows) || !r.GetVector(&t.versions, t.rows) ||
      !r.GetVector(&t.dead, (t.rows + 63) / 64)) {
    return Corrupt("truncated tables");
  }
  const uint32_t computed = r.crc();
  if (!r.Get(&crc) || crc != computed) return Corrupt("checksum mismatch");
  if (out.gen != 0) {
    const std::string name = AnnFileName(out.gen), path = PathIn(dir, name);
    if (!env->FileExists(path)) return Corrupt("missing " + name);
    ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> af, env->NewSequentialFile(path));
    ChecksummedReader ar(af.get());
    try {
      out.ann.reset(dynamic_cast<faiss::IndexIVFPQ*>(faiss::read_index(&ar)));
    } catch (const faiss::FaissException& e) {
      return Corrupt(std::string("ANN tier unreadable: ") + e.what());
    }
    if (out.ann == nullptr || ar.bytes() != ann_bytes || ar.crc() != ann_crc) {
      return Corrupt("ANN tier checksum mismatch");
    }
    if (out.ann->d != dim || size_t(out.ann->ntotal) > t.built) {
      return Corrupt("ANN tier mismatch");
    }
  }
  for (size_t s = 0; s < t.rows; ++s) {
    if ((t.dead[s >> 6] >> (s & 63)) & 1) {
      ++out.dead_count;
      continue;
    }
    if (out.slot_of.Set(t.ids[s], uint32_t(s)) != IdMap::kNone) return Corrupt("duplicate id");
  }
  out.bytes = r.bytes() + ann_bytes;
  return out;
}

}  // namespace iss::index::internal
