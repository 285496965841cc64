// Element-wise work of a training step on the wasm heap, multi-threaded with OpenMP: sums over
// leading axes, broadcast arithmetic, 2x2 max pooling and its gradient, nearest up-sampling and its
// gradient. tfjs runs these as single-threaded WebAssembly.
//
// reduceLeading(heap, [in, out, n, c], scale): out[j] = scale * sum over i < n of in[i * c + j]
// binary(op, heap, [a, b, out, total, blockA, blockB]): out[i] = a[i mod blockA] op b[i mod blockB],
//   op 0 add, 1 sub, 2 mul, 3 div, 4 relu gradient (a where b > 0, else 0); a block is the total (same
//   shape) or, for one operand only, a divisor of it (repeated along leading axes; 1 = scalar)
// maxPool2x2(heap, [x, y, rows, outWidth, rowStride, channels]): y = the maximum of each 2x2 window of
//   a pool that tiles x (rows = output rows over the whole batch; rowStride = floats per input row)
// maxPoolGrad2x2(heap, [x, dy, dx, rows, outWidth, rowStride, channels]): each dy value to the first
//   maximum of its window in row-major order (strict '>' from -infinity, as TensorFlow.js's cpu
//   backend picks it); every other dx value is 0
// upsampleNearest(heap, [x, y, batch, height, width, channels, fh, fw, backward]): forward (0)
//   y[b, i, j, c] = x[b, i / fh, j / fw, c]; backward (1) x = the sums of y over its fh x fw blocks
// sumSquares(heap, [x, out, n], scale): out[0] = scale * sum of x[i]^2, in float64 and in order (the
//   L2 weight penalty; weights are small, one thread keeps it deterministic)
// scale(heap, [x, out, n], factor): out[i] = x[i] * factor (float32)
#include <omp.h>

#include <cstring>
#include <limits>
#include <vector>

#include "common.h"

namespace leukoseg {

int threadsFor(int64_t values) { return values >= kParallelMin ? omp_get_max_threads() : 1; }

LEUKOSEG_SIMD_CLONES
void accumulateRows(const float* __restrict in, double* __restrict acc, int64_t rows, int64_t c) {
  if (c == 1) {
    // A total (one column): eight running sums, so the adds do not wait on one another.
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= rows; i += 8)
      for (int k = 0; k < 8; k++) s[k] += in[i + k];
    for (; i < rows; i++) s[0] += in[i];
    acc[0] += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    return;
  }
  for (int64_t i = 0; i < rows; i++) {
    const float* row = in + i * c;
    for (int64_t j = 0; j < c; j++) acc[j] += row[j];
  }
}

namespace {

// ---- Sums over leading axes -----------------------------------------------------------------------

napi_value ReduceLeading(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 4)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const double scale = readNumber(env, argv[2]);
  const int64_t n = p[2], c = p[3];
  if (n < 0 || c < 0 || !inHeap(p[0], n * c, bytes) || !inHeap(p[1], c, bytes)) return refuse(env, "reduceLeading");
  const float* in = floatsAt(heap, p[0]);
  float* out = floatsAt(heap, p[1]);
  const int threads = threadsFor(n * c);
  // float64 accumulators, one row of them per thread.
  std::vector<double> partial(static_cast<size_t>(threads) * c, 0.0);
#pragma omp parallel num_threads(threads)
  {
    int64_t begin, end;
    rowRange(n, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    accumulateRows(in + begin * c, partial.data() + static_cast<size_t>(omp_get_thread_num()) * c, end - begin, c);
  }
  for (int64_t j = 0; j < c; j++) {
    double sum = 0;
    for (int t = 0; t < threads; t++) sum += partial[static_cast<size_t>(t) * c + j];
    out[j] = static_cast<float>(sum * scale);
  }
  return nullptr;
}

// ---- Broadcast arithmetic ---------------------------------------------------------------------------

// One loop per op, so each vectorises; A and B are expressions of the index i.
#define LEUKOSEG_BINARY_LOOPS(A, B)                                            \
  switch (op) {                                                                \
    case 0: for (int64_t i = 0; i < n; i++) out[i] = (A) + (B); break;         \
    case 1: for (int64_t i = 0; i < n; i++) out[i] = (A) - (B); break;         \
    case 2: for (int64_t i = 0; i < n; i++) out[i] = (A) * (B); break;         \
    case 3: for (int64_t i = 0; i < n; i++) out[i] = (A) / (B); break;         \
    default: for (int64_t i = 0; i < n; i++) out[i] = (B) > 0.f ? (A) : 0.f; break; \
  }

LEUKOSEG_SIMD_CLONES
void binarySame(int op, const float* __restrict a, const float* __restrict b, float* __restrict out, int64_t n) {
  LEUKOSEG_BINARY_LOOPS(a[i], b[i])
}

LEUKOSEG_SIMD_CLONES
void binaryScalarA(int op, float a, const float* __restrict b, float* __restrict out, int64_t n) { LEUKOSEG_BINARY_LOOPS(a, b[i]) }

LEUKOSEG_SIMD_CLONES
void binaryScalarB(int op, const float* __restrict a, float b, float* __restrict out, int64_t n) { LEUKOSEG_BINARY_LOOPS(a[i], b) }

#undef LEUKOSEG_BINARY_LOOPS

void binary(int op, const float* a, const float* b, float* out, int64_t total, int64_t blockA, int64_t blockB) {
  const int threads = threadsFor(total);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t begin, end;
    if (blockA == total && blockB == total) {
      rowRange(total, t, nt, &begin, &end);
      binarySame(op, a + begin, b + begin, out + begin, end - begin);
    } else if (blockB == 1) {
      rowRange(total, t, nt, &begin, &end);
      binaryScalarB(op, a + begin, b[0], out + begin, end - begin);
    } else if (blockA == 1) {
      rowRange(total, t, nt, &begin, &end);
      binaryScalarA(op, a[0], b + begin, out + begin, end - begin);
    } else {
      // The smaller operand repeats once per row of its own length.
      const int64_t row = blockA == total ? blockB : blockA;
      rowRange(total / row, t, nt, &begin, &end);
      for (int64_t r = begin; r < end; r++) {
        const float* ar = blockA == total ? a + r * row : a;
        const float* br = blockB == total ? b + r * row : b;
        binarySame(op, ar, br, out + r * row, row);
      }
    }
  }
}

napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readArgs(env, info, 3, argv) || !readHeap(env, argv[1], &heap, &bytes) || !readInts(env, argv[2], 6, &p)) return nullptr;
  int32_t op = -1;
  napi_get_value_int32(env, argv[0], &op);
  const int64_t total = p[3], blockA = p[4], blockB = p[5];
  const bool shapesOk = total >= 0 && blockA > 0 && blockB > 0 && (blockA == total || blockB == total) && total % blockA == 0 &&
                        total % blockB == 0;
  if (!shapesOk || op < 0 || op > 4) {
    napi_throw_range_error(env, nullptr, "binary: op must be 0-4 and one operand as large as the output, the other dividing it");
    return nullptr;
  }
  if (!inHeap(p[0], blockA, bytes) || !inHeap(p[1], blockB, bytes) || !inHeap(p[2], total, bytes)) return refuse(env, "binary");
  if (total > 0) binary(op, floatsAt(heap, p[0]), floatsAt(heap, p[1]), floatsAt(heap, p[2]), total, blockA, blockB);
  return nullptr;
}

// ---- 2x2 max pooling and its gradient ---------------------------------------------------------------
// A window is two pixels of input row 2 oy (top) and two of row 2 oy + 1 (bottom), channels innermost.

LEUKOSEG_SIMD_CLONES
void maxPoolRow(const float* __restrict top, const float* __restrict bottom, float* __restrict y, int64_t outWidth, int64_t c) {
  const float lowest = -std::numeric_limits<float>::infinity();
  for (int64_t ox = 0; ox < outWidth; ox++) {
    const float* t = top + 2 * ox * c;
    const float* b = bottom + 2 * ox * c;
    float* out = y + ox * c;
    for (int64_t ch = 0; ch < c; ch++) {
      // Strict '>' in row-major order: a NaN never wins, as in the cpu backend.
      float best = t[ch] > lowest ? t[ch] : lowest;
      best = t[c + ch] > best ? t[c + ch] : best;
      best = b[ch] > best ? b[ch] : best;
      out[ch] = b[c + ch] > best ? b[c + ch] : best;
    }
  }
}

LEUKOSEG_SIMD_CLONES
void maxPoolGradRow(const float* __restrict top, const float* __restrict bottom, const float* __restrict dy, float* __restrict dxTop,
                    float* __restrict dxBottom, int64_t outWidth, int64_t c) {
  const float lowest = -std::numeric_limits<float>::infinity();
  for (int64_t ox = 0; ox < outWidth; ox++) {
    const int64_t o = 2 * ox * c;
    for (int64_t ch = 0; ch < c; ch++) {
      const float v0 = top[o + ch], v1 = top[o + c + ch], v2 = bottom[o + ch], v3 = bottom[o + c + ch];
      // The running maximum in row-major order; the last value to beat it is the first maximum.
      // Selects only, no branches, so the loop vectorises.
      const float b0 = v0 > lowest ? v0 : lowest;
      const float b1 = v1 > b0 ? v1 : b0;
      const float b2 = v2 > b1 ? v2 : b1;
      float rest = dy[ox * c + ch];
      dxBottom[o + c + ch] = v3 > b2 ? rest : 0.f;
      rest = v3 > b2 ? 0.f : rest;
      dxBottom[o + ch] = v2 > b1 ? rest : 0.f;
      rest = v2 > b1 ? 0.f : rest;
      dxTop[o + c + ch] = v1 > b0 ? rest : 0.f;
      rest = v1 > b0 ? 0.f : rest;
      dxTop[o + ch] = v0 > lowest ? rest : 0.f;
    }
  }
}

/** rows, outWidth, rowStride and channels of a tiling 2x2 pool, checked; false when they do not fit. */
bool poolGeometry(const int32_t* p, int64_t* rows, int64_t* outWidth, int64_t* rowStride, int64_t* c) {
  *rows = p[0];
  *outWidth = p[1];
  *rowStride = p[2];
  *c = p[3];
  return *rows >= 0 && *outWidth >= 0 && *c > 0 && *rowStride == *outWidth * 2 * *c;
}

napi_value MaxPool2x2(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 2, 6)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  int64_t rows, outWidth, rowStride, c;
  if (!poolGeometry(p + 2, &rows, &outWidth, &rowStride, &c) || !inHeap(p[0], rows * 2 * rowStride, bytes) ||
      !inHeap(p[1], rows * outWidth * c, bytes)) {
    return refuse(env, "maxPool2x2");
  }
  const float* x = floatsAt(heap, p[0]);
  float* y = floatsAt(heap, p[1]);
#pragma omp parallel for num_threads(threadsFor(rows * 2 * rowStride)) schedule(static)
  for (int64_t oy = 0; oy < rows; oy++) {
    const float* top = x + 2 * oy * rowStride;
    maxPoolRow(top, top + rowStride, y + oy * outWidth * c, outWidth, c);
  }
  return nullptr;
}

napi_value MaxPoolGrad2x2(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 2, 7)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  int64_t rows, outWidth, rowStride, c;
  if (!poolGeometry(p + 3, &rows, &outWidth, &rowStride, &c) || !inHeap(p[0], rows * 2 * rowStride, bytes) ||
      !inHeap(p[1], rows * outWidth * c, bytes) || !inHeap(p[2], rows * 2 * rowStride, bytes)) {
    return refuse(env, "maxPoolGrad2x2");
  }
  const float* x = floatsAt(heap, p[0]);
  const float* dy = floatsAt(heap, p[1]);
  float* dx = floatsAt(heap, p[2]);
#pragma omp parallel for num_threads(threadsFor(rows * 2 * rowStride)) schedule(static)
  for (int64_t oy = 0; oy < rows; oy++) {
    const int64_t top = 2 * oy * rowStride;
    maxPoolGradRow(x + top, x + top + rowStride, dy + oy * outWidth * c, dx + top, dx + top + rowStride, outWidth, c);
  }
  return nullptr;
}

// ---- Nearest-neighbour up-sampling by whole factors (UpSampling2D) and its gradient -----------------

LEUKOSEG_SIMD_CLONES
void addInto(float* __restrict out, const float* __restrict g, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] += g[i];
}

/** One input row of a 2x2 up-sampling: y's two rows from x's row (forward), or x's row from y's two (backward). */
LEUKOSEG_SIMD_CLONES
void upsampleRow2x2(float* __restrict x, float* __restrict top, float* __restrict bottom, int64_t w, int64_t c, bool backward) {
  for (int64_t j = 0; j < w; j++) {
    float* in = x + j * c;
    float* t = top + 2 * j * c;
    float* b = bottom + 2 * j * c;
    if (!backward) {
      for (int64_t ch = 0; ch < c; ch++) t[ch] = t[c + ch] = b[ch] = b[c + ch] = in[ch];
    } else {
      // The block's sum in the general loop's order (row by row, left to right).
      for (int64_t ch = 0; ch < c; ch++) in[ch] = ((t[ch] + t[c + ch]) + b[ch]) + b[c + ch];
    }
  }
}

napi_value UpsampleNearest(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 2, 9)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const int64_t batch = p[2], h = p[3], w = p[4], c = p[5], fh = p[6], fw = p[7];
  const bool backward = p[8] != 0;
  const int64_t small = batch * h * w * c, large = small * fh * fw;
  if (batch < 0 || h < 0 || w < 0 || c <= 0 || fh <= 0 || fw <= 0 || !inHeap(p[0], small, bytes) || !inHeap(p[1], large, bytes)) {
    return refuse(env, "upsampleNearest");
  }
  float* x = floatsAt(heap, p[0]);
  float* y = floatsAt(heap, p[1]);
  const int64_t rowsIn = batch * h, outW = w * fw;
#pragma omp parallel for num_threads(threadsFor(large)) schedule(static)
  for (int64_t r = 0; r < rowsIn; r++) {
    float* xr = x + r * w * c;
    float* yr = y + r * fh * outW * c;
    if (fh == 2 && fw == 2) {
      upsampleRow2x2(xr, yr, yr + outW * c, w, c, backward);
    } else if (!backward) {
      for (int64_t j = 0; j < w; j++)
        for (int64_t k = 0; k < fw; k++) std::memcpy(yr + (j * fw + k) * c, xr + j * c, c * sizeof(float));
      for (int64_t q = 1; q < fh; q++) std::memcpy(yr + q * outW * c, yr, outW * c * sizeof(float));
    } else {
      std::memset(xr, 0, w * c * sizeof(float));
      for (int64_t j = 0; j < w; j++) {
        for (int64_t q = 0; q < fh; q++)
          for (int64_t k = 0; k < fw; k++) addInto(xr + j * c, yr + (q * outW + j * fw + k) * c, c);
      }
    }
  }
  return nullptr;
}

// ---- The L2 weight penalty and its gradient -----------------------------------------------------------

LEUKOSEG_SIMD_CLONES
void scaleSpan(const float* __restrict x, float* __restrict out, int64_t n, float factor) {
  for (int64_t i = 0; i < n; i++) out[i] = x[i] * factor;
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 3)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const double scale = readNumber(env, argv[2]);
  const int64_t n = p[2];
  if (n < 0 || !inHeap(p[0], n, bytes) || !inHeap(p[1], 1, bytes)) return refuse(env, "sumSquares");
  const float* x = floatsAt(heap, p[0]);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += static_cast<double>(x[i]) * x[i];
  floatsAt(heap, p[1])[0] = static_cast<float>(scale * sum);
  return nullptr;
}

napi_value Scale(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 3)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const float factor = static_cast<float>(readNumber(env, argv[2]));
  const int64_t n = p[2];
  if (n < 0 || !inHeap(p[0], n, bytes) || !inHeap(p[1], n, bytes)) return refuse(env, "scale");
  const float* x = floatsAt(heap, p[0]);
  float* out = floatsAt(heap, p[1]);
#pragma omp parallel num_threads(threadsFor(n))
  {
    int64_t begin, end;
    rowRange(n, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    scaleSpan(x + begin, out + begin, end - begin, factor);
  }
  return nullptr;
}

}  // namespace

std::vector<Export> elementwiseExports() {
  return {{"reduceLeading", ReduceLeading}, {"binary", Binary}, {"maxPool2x2", MaxPool2x2},
          {"maxPoolGrad2x2", MaxPoolGrad2x2}, {"upsampleNearest", UpsampleNearest}, {"sumSquares", SumSquares},
          {"scale", Scale}};
}

}  // namespace leukoseg
