// Shared by the addon's source files: reading N-API arguments that point into tfjs-backend-wasm's
// heap, the size below which a loop stays on one thread, and the SIMD dispatch of leukoseg's own loops.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

// The addon is compiled for a baseline CPU (binding.gyp); oneDNN picks its kernels for the CPU it
// runs on by itself. leukoseg's own hot loops are compiled three times, for AVX-512 (x86-64-v4),
// AVX2 (v3) and the baseline, and the loader picks one per CPU once (GCC and Clang on x86-64, glibc).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__ELF__) && !defined(LEUKOSEG_NO_CLONES)
#define LEUKOSEG_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LEUKOSEG_SIMD_CLONES
#endif

namespace leukoseg {

/**
 * Below this many values the threads cost more than they save: each parallel region wakes a sleeping
 * thread (OMP_WAIT_POLICY=PASSIVE). At 32768, Model 3 trained at 18.6 ms per image against 16.3 at
 * 300000 (its 32x32 and 64x64x16 layers' element-wise kernels on one thread; medians of 4 interleaved
 * runs at load 2-3; 23.9 against 20.2 at load 5).
 */
constexpr int64_t kParallelMin = 300000;

/** One JS function of the addon. */
struct Export {
  const char* name;
  napi_callback callback;
};

// Each source file lists what it exports (addon.cc puts them on the module).
std::vector<Export> convExports();
std::vector<Export> elementwiseExports();
std::vector<Export> batchNormExports();
std::vector<Export> headExports();
std::vector<Export> adamExports();

/** Whether `floats` float32 values at byte `offset` lie inside a heap of `heapBytes`, 4-byte aligned. */
bool inHeap(int64_t offset, int64_t floats, size_t heapBytes);

/** Exactly `expected` arguments into argv; else throws a JS TypeError and returns false. */
bool readArgs(napi_env env, napi_callback_info info, size_t expected, napi_value* argv);

/** The heap's ArrayBuffer; else throws and returns false. */
bool readHeap(napi_env env, napi_value value, uint8_t** heap, size_t* bytes);

/** An Int32Array of exactly `count` values; else throws and returns false. */
bool readInts(napi_env env, napi_value value, size_t count, const int32_t** ints);

/**
 * The arguments of most entry points: (heap, Int32Array of `ints` values, then any numbers the caller
 * reads itself from argv), read by
 *   HeapCall call;
 *   if (!call.read(env, info, argc, ints)) return nullptr;  // a JS error was thrown
 *   auto& [argv, heap, bytes, p] = call;
 */
struct HeapCall {
  napi_value argv[4];
  uint8_t* heap = nullptr;
  size_t bytes = 0;
  const int32_t* p = nullptr;

  bool read(napi_env env, napi_callback_info info, size_t argc, size_t ints);
};

/** A JS number (0 when it is none). */
double readNumber(napi_env env, napi_value value);

/** Throws a JS RangeError "<what>: bad sizes or a tensor outside the wasm heap" and returns nullptr. */
napi_value refuse(napi_env env, const char* what);

/** The largest number of threads worth using on `values` values. */
int threadsFor(int64_t values);

/** acc[j] += sum over the rows of in[i * c + j] (float64 accumulators). */
void accumulateRows(const float* in, double* acc, int64_t rows, int64_t c);

/** Rows [begin, end) of `rows` for thread t of nt. */
inline void rowRange(int64_t rows, int t, int nt, int64_t* begin, int64_t* end) {
  *begin = rows * t / nt;
  *end = rows * (t + 1) / nt;
}

/** float32 at byte `offset` of the heap. */
inline float* floatsAt(uint8_t* heap, int32_t offset) { return reinterpret_cast<float*>(heap + offset); }

}  // namespace leukoseg
