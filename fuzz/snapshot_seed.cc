// Writes the snapshot_fuzzer's seed corpus (format: snapshot_input.h) from real snapshots:
// WriteSnapshot on a small trained IVF-PQ tier (dim 8, nlist 4, M 4), and on none.
//   build-fuzz/snapshot_seed fuzz/corpus/snapshot_fuzzer
#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQ.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/env.h"
#include "index/internal/snapshot_io.h"
#include "snapshot_input.h"

namespace {

using namespace iss::index::internal;
namespace fs = std::filesystem;
constexpr int kDim = iss::fuzz::kSnapshotDim;

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

SnapshotTables Tables(uint64_t rows, uint64_t built, bool rotation) {
  SnapshotTables t;
  t.rows = rows;
  t.built = built;
  t.trained = built;
  t.vgen = 3;
  for (uint64_t s = 0; s < rows; ++s) {
    t.ids.push_back(1000 + s * 7);
    t.versions.push_back(s % 5 + 1);
  }
  t.dead.assign((rows + 63) / 64, 0);
  if (rows > 2) t.dead[0] |= 0b110;  // slots 1 and 2 deleted
  if (rotation) {
    t.rot.assign(kDim * kDim, 0.0f);
    for (int i = 0; i < kDim; ++i) t.rot[i * kDim + i] = 1.0f;
  }
  return t;
}

// Writes one seed: flags byte, meta, and the ANN file when there is one.
bool Seed(const fs::path& out, const std::string& name, const faiss::IndexIVFPQ* ann, uint64_t gen,
          const SnapshotTables& t, uint8_t flags) {
  const fs::path dir = fs::temp_directory_path() / ("snapshot_seed_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto written = WriteSnapshot(iss::Env::Default(), dir.string(), kDim, gen, ann, t);
  if (!written.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), written.status().ToString().c_str());
    return false;
  }
  auto loaded = LoadSnapshot(iss::Env::Default(), dir.string(), kDim);  // a valid seed
  if (!loaded.ok() || (ann != nullptr) != (loaded->ann != nullptr)) {
    std::fprintf(stderr, "%s: does not load: %s\n", name.c_str(),
                 loaded.status().ToString().c_str());
    return false;
  }
  std::string bytes(1, char(flags));
  bytes += ReadAll(dir / kMetaFile);
  if (ann != nullptr) {
    bytes += iss::fuzz::kAnnSeparator;
    bytes += ReadAll(dir / AnnFileName(gen));
  }
  std::ofstream(out / name, std::ios::binary | std::ios::trunc) << bytes;
  fs::remove_all(dir);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out(argv[1]);
  fs::create_directories(out);
  constexpr int kRows = 300;  // >= 256: PQ's 8-bit codebooks need that many to train
  std::vector<float> x(kRows * kDim);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i)) + 0.1f * float(i % 7);
  faiss::IndexFlatIP quantizer(kDim);
  faiss::IndexIVFPQ ivf(&quantizer, kDim, /*nlist=*/4, /*M=*/4, /*nbits=*/8,
                        faiss::METRIC_INNER_PRODUCT);
  ivf.train(kRows, x.data());
  ivf.add(kRows, x.data());
  bool ok = true;
  ok &= Seed(out, "ann_fixcrc", &ivf, 2, Tables(kRows, kRows, false), iss::fuzz::kFixMetaCrc);
  ok &= Seed(out, "ann_rotation", &ivf, 5, Tables(kRows + 10, kRows, true), 0);
  ok &= Seed(out, "exact_only", nullptr, 1, Tables(70, 0, false), 0);
  ok &= Seed(out, "exact_only_fixcrc", nullptr, 1, Tables(3, 0, true), iss::fuzz::kFixMetaCrc);
  ok &= Seed(out, "empty_fixcrc", nullptr, 1, Tables(0, 0, false), iss::fuzz::kFixMetaCrc);
  return ok ? 0 : 1;
}
