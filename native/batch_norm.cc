// Batch normalisation on the wasm heap, over the last axis of [rows, channels] activations:
// inference (tfjs's FusedBatchNorm), and a BatchNormalization layer's training pass and its gradient,
// one call each. tfjs-layers trains the layer through ~40 generic kernels per step (moments,
// batchNorm, their gradients, the moving averages); these do the same work in two or three threaded
// passes.
//
// batchNorm(heap, [x, mean, variance, offset, scale, out, total, channels, and the four sizes], epsilon):
//   out = (x - mean) / sqrt(variance + epsilon) * scale + offset; each per-channel input holds one
//   value per channel or a single one for all; an offset or scale offset of -1 means none (0 and 1)
// batchNormTraining(heap, [x, scale, offset, movingMean, movingVariance, y, mean, variance,
//   newMovingMean, newMovingVariance, rows, channels], epsilon, momentum): the batch's mean and
//   (biased) variance per channel, y normalised by them, and the moving statistics moved towards the
//   batch's: m - (m - batch) * (1 - momentum)
// batchNormTrainingGrad(heap, [dy, x, mean, variance, scale, dx, dScale, dOffset, rows, channels],
//   epsilon): the gradient of batchNormTraining's y through the batch statistics too:
//   dx = scale r (dy - sum(dy) / n - (x - mean) r^2 sum(dy (x - mean)) / n), r = 1 / sqrt(var + eps);
//   dScale = r sum(dy (x - mean)); dOffset = sum(dy)
#include <omp.h>

#include <cmath>
#include <vector>

#include "common.h"

namespace leukoseg {
namespace {

/** y = x * a + b per channel. */
LEUKOSEG_SIMD_CLONES
void affineRows(const float* __restrict x, const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t rows,
                int64_t c) {
  for (int64_t i = 0; i < rows; i++) {
    const float* row = x + i * c;
    float* out = y + i * c;
    for (int64_t j = 0; j < c; j++) out[j] = row[j] * a[j] + b[j];
  }
}

/** acc[j] += sum of (x - mu)^2, in float64: E[x^2] - E[x]^2 loses digits when the mean is large. */
LEUKOSEG_SIMD_CLONES
void accumulateSquaredDeviations(const float* __restrict x, const double* __restrict mu, double* __restrict acc, int64_t rows,
                                 int64_t c) {
  for (int64_t i = 0; i < rows; i++) {
    const float* row = x + i * c;
    for (int64_t j = 0; j < c; j++) {
      const double d = row[j] - mu[j];
      acc[j] += d * d;
    }
  }
}

/** sumDy[j] += sum of dy, sumDyX[j] += sum of dy (x - mean). */
LEUKOSEG_SIMD_CLONES
void accumulateGradSums(const float* __restrict dy, const float* __restrict x, const float* __restrict mean, double* __restrict sumDy,
                        double* __restrict sumDyX, int64_t rows, int64_t c) {
  for (int64_t i = 0; i < rows; i++) {
    const float* g = dy + i * c;
    const float* row = x + i * c;
    for (int64_t j = 0; j < c; j++) {
      sumDy[j] += g[j];
      sumDyX[j] += static_cast<double>(g[j]) * (row[j] - mean[j]);
    }
  }
}

/** dx = k1 dy + k2 (x - mean) + k3 per channel. */
LEUKOSEG_SIMD_CLONES
void gradRows(const float* __restrict dy, const float* __restrict x, const float* __restrict mean, const float* __restrict k1,
              const float* __restrict k2, const float* __restrict k3, float* __restrict dx, int64_t rows, int64_t c) {
  for (int64_t i = 0; i < rows; i++) {
    const float* g = dy + i * c;
    const float* row = x + i * c;
    float* out = dx + i * c;
    for (int64_t j = 0; j < c; j++) out[j] = k1[j] * g[j] + k2[j] * (row[j] - mean[j]) + k3[j];
  }
}

napi_value BatchNorm(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 12)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const double epsilon = readNumber(env, argv[2]);
  const int64_t total = p[6], c = p[7];
  bool ok = total >= 0 && c > 0 && total % c == 0 && inHeap(p[0], total, bytes) && inHeap(p[5], total, bytes);
  for (int k = 0; k < 4; k++) {
    const int32_t offset = p[1 + k], size = p[8 + k];
    const bool optional = k >= 2;
    ok = ok && ((optional && offset == -1) || ((size == 1 || size == c) && inHeap(offset, size, bytes)));
  }
  if (!ok) return refuse(env, "batchNorm");
  const auto vec = [&](int k) { return p[1 + k] == -1 ? nullptr : reinterpret_cast<const float*>(heap + p[1 + k]); };
  const auto at = [&](int k, const float* v, int64_t j) { return v[p[8 + k] == 1 ? 0 : j]; };
  const float* x = floatsAt(heap, p[0]);
  const float *mean = vec(0), *variance = vec(1), *offset = vec(2), *scale = vec(3);
  float* out = floatsAt(heap, p[5]);
  // Per channel: out = x * a + b, with a = scale / sqrt(var + eps) and b = offset - mean * a.
  std::vector<float> a(c), b(c);
  for (int64_t j = 0; j < c; j++) {
    const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(at(1, variance, j)) + epsilon));
    a[j] = (scale ? at(3, scale, j) : 1.f) * inv;
    b[j] = (offset ? at(2, offset, j) : 0.f) - at(0, mean, j) * a[j];
  }
  const int64_t rows = total / c;
#pragma omp parallel num_threads(threadsFor(total))
  {
    int64_t begin, end;
    rowRange(rows, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    affineRows(x + begin * c, a.data(), b.data(), out + begin * c, end - begin, c);
  }
  return nullptr;
}

napi_value BatchNormTraining(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 4, 12)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const double epsilon = readNumber(env, argv[2]), momentum = readNumber(env, argv[3]);
  const int64_t rows = p[10], c = p[11];
  bool ok = rows > 0 && c > 0 && inHeap(p[0], rows * c, bytes) && inHeap(p[5], rows * c, bytes);
  for (int k : {1, 2, 3, 4, 6, 7, 8, 9}) ok = ok && inHeap(p[k], c, bytes);
  if (!ok) return refuse(env, "batchNormTraining");
  const auto f = [&](int k) { return floatsAt(heap, p[k]); };
  const float *x = f(0), *scale = f(1), *offset = f(2), *movingMean = f(3), *movingVariance = f(4);
  float *y = f(5), *mean = f(6), *variance = f(7), *newMovingMean = f(8), *newMovingVariance = f(9);
  const int threads = threadsFor(rows * c);
  std::vector<double> partial(static_cast<size_t>(threads) * c);
  std::vector<double> mu(c);
  std::vector<float> a(c), b(c);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t begin, end;
    rowRange(rows, t, nt, &begin, &end);
    double* acc = partial.data() + static_cast<size_t>(t) * c;
    for (int64_t j = 0; j < c; j++) acc[j] = 0;
    accumulateRows(x + begin * c, acc, end - begin, c);
#pragma omp barrier
#pragma omp single
    for (int64_t j = 0; j < c; j++) {
      double sum = 0;
      for (int k = 0; k < nt; k++) sum += partial[static_cast<size_t>(k) * c + j];
      mu[j] = sum / static_cast<double>(rows);
    }
    for (int64_t j = 0; j < c; j++) acc[j] = 0;
    accumulateSquaredDeviations(x + begin * c, mu.data(), acc, end - begin, c);
#pragma omp barrier
#pragma omp single
    for (int64_t j = 0; j < c; j++) {
      double sum = 0;
      for (int k = 0; k < nt; k++) sum += partial[static_cast<size_t>(k) * c + j];
      const float m = static_cast<float>(mu[j]);
      const float v = static_cast<float>(sum / static_cast<double>(rows));
      mean[j] = m;
      variance[j] = v;
      const float decay = static_cast<float>(1 - momentum);
      newMovingMean[j] = movingMean[j] - (movingMean[j] - m) * decay;
      newMovingVariance[j] = movingVariance[j] - (movingVariance[j] - v) * decay;
      a[j] = scale[j] / std::sqrt(v + static_cast<float>(epsilon));
      b[j] = offset[j] - m * a[j];
    }
    affineRows(x + begin * c, a.data(), b.data(), y + begin * c, end - begin, c);
  }
  return nullptr;
}

napi_value BatchNormTrainingGrad(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 10)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const double epsilon = readNumber(env, argv[2]);
  const int64_t rows = p[8], c = p[9];
  bool ok = rows > 0 && c > 0;
  for (int k : {0, 1, 5}) ok = ok && inHeap(p[k], rows * c, bytes);
  for (int k : {2, 3, 4, 6, 7}) ok = ok && inHeap(p[k], c, bytes);
  if (!ok) return refuse(env, "batchNormTrainingGrad");
  const auto f = [&](int k) { return floatsAt(heap, p[k]); };
  const float *dy = f(0), *x = f(1), *mean = f(2), *variance = f(3), *scale = f(4);
  float *dx = f(5), *dScale = f(6), *dOffset = f(7);
  const int threads = threadsFor(rows * c);
  std::vector<double> partial(static_cast<size_t>(threads) * c * 2);
  std::vector<float> k1(c), k2(c), k3(c);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t begin, end;
    rowRange(rows, t, nt, &begin, &end);
    double* sumDy = partial.data() + static_cast<size_t>(t) * c * 2;
    double* sumDyX = sumDy + c;
    for (int64_t j = 0; j < 2 * c; j++) sumDy[j] = 0;
    accumulateGradSums(dy + begin * c, x + begin * c, mean, sumDy, sumDyX, end - begin, c);
#pragma omp barrier
#pragma omp single
    for (int64_t j = 0; j < c; j++) {
      double s1 = 0, s2 = 0;
      for (int k = 0; k < nt; k++) {
        s1 += partial[static_cast<size_t>(k) * c * 2 + j];
        s2 += partial[static_cast<size_t>(k) * c * 2 + c + j];
      }
      const double r = 1 / std::sqrt(static_cast<double>(variance[j]) + static_cast<double>(static_cast<float>(epsilon)));
      dScale[j] = static_cast<float>(r * s2);
      dOffset[j] = static_cast<float>(s1);
      k1[j] = static_cast<float>(scale[j] * r);
      k2[j] = static_cast<float>(-scale[j] * r * r * r * s2 / static_cast<double>(rows));
      k3[j] = static_cast<float>(-scale[j] * r * s1 / static_cast<double>(rows));
    }
    gradRows(dy + begin * c, x + begin * c, mean, k1.data(), k2.data(), k3.data(), dx + begin * c, end - begin, c);
  }
  return nullptr;
}

}  // namespace

std::vector<Export> batchNormExports() {
  return {{"batchNorm", BatchNorm}, {"batchNormTraining", BatchNormTraining}, {"batchNormTrainingGrad", BatchNormTrainingGrad}};
}

}  // namespace leukoseg
