// ISS_AVX2_CLONES: compile a function twice (AVX2+FMA and generic), chosen at load time by
// an ifunc resolver, as Debian's generic Faiss build does not. Under ThreadSanitizer the
// resolver would run instrumented before the sanitizer's runtime starts (and crash at
// load), so TSan builds keep the generic version only.
#ifndef ISS_INDEX_INTERNAL_SIMD_H_
#define ISS_INDEX_INTERNAL_SIMD_H_

#if defined(__SANITIZE_THREAD__)
#define ISS_AVX2_CLONES
#else
#define ISS_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif

#endif  // ISS_INDEX_INTERNAL_SIMD_H_
