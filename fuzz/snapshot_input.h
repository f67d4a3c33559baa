// The snapshot_fuzzer's input format, shared with the seed writer (snapshot_seed.cc):
//   one flags byte, then snapshot.meta, then optionally kAnnSeparator and the ANN file
//   (written as the ivf-<gen>.faiss that meta's header names).
// Flag kFixMetaCrc: the last 4 bytes of meta are replaced by the CRC-32 of the rest, so a
// mutation reaches the checks behind the checksum (counts, tables, duplicate ids, the ANN
// file's size and CRC) instead of stopping at "checksum mismatch". The ANN file's CRC is
// never fixed up: the loader's promise is that Faiss only reads bytes whose size and CRC
// match the verified meta (Faiss 1.7.3 sizes its tables from the file without limits).
#ifndef ISS_FUZZ_SNAPSHOT_INPUT_H_
#define ISS_FUZZ_SNAPSHOT_INPUT_H_

#include <cstdint>
#include <string_view>

namespace iss::fuzz {

inline constexpr std::string_view kAnnSeparator("\n--ISS-FUZZ-ANN-FILE--\n");
inline constexpr uint8_t kFixMetaCrc = 1;
inline constexpr int kSnapshotDim = 8;  // the seeds' dimension; LoadSnapshot is called with it

}  // namespace iss::fuzz

#endif  // ISS_FUZZ_SNAPSHOT_INPUT_H_
