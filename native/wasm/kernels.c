// leukoseg's kernels for WebAssembly, for when the native addon is not in use (a machine without
// oneDNN, and the browser): the same batch-normalisation passes as native/batch_norm.cc, on one
// thread, compiled with 128-bit SIMD. The module imports tfjs-backend-wasm's own memory, so the
// arguments are byte offsets of tensors on that heap, as the addon's are.
//
// Nothing here may use memory of its own: no static data and no stack frame (the linker's stack
// would sit in tfjs's heap). Per-channel temporaries live in `scratch`, a block the caller allocates
// on the heap; scripts/build-wasm-kernels.mjs checks the module has no data segment and never reads
// the stack pointer.
//
// bn_training(p, epsilon, momentum, scratch): p = [x, scale, offset, movingMean, movingVariance, y,
//   mean, variance, newMovingMean, newMovingVariance, rows, channels]; scratch: 2 * channels doubles
//   and 2 * channels floats.
// bn_training_grad(p, epsilon, scratch): p = [dy, x, mean, variance, scale, dx, dScale, dOffset, rows,
//   channels]; scratch: 2 * channels doubles and 3 * channels floats.
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline float* F(const int32_t* p, int k) { return (float*)(uintptr_t)p[k]; }

/** acc[j] = sum over the rows of x[i * c + j]. */
static void sumRows(const float* __restrict x, double* __restrict acc, int32_t rows, int32_t c) {
  for (int32_t j = 0; j < c; j++) acc[j] = 0;
  for (int32_t i = 0; i < rows; i++) {
    const float* row = x + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) acc[j] += row[j];
  }
}

/** y = x * a + b per channel. */
static void affineRows(const float* __restrict x, const float* __restrict a, const float* __restrict b, float* __restrict y,
                       int32_t rows, int32_t c) {
  for (int32_t i = 0; i < rows; i++) {
    const float* row = x + (int64_t)i * c;
    float* out = y + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) out[j] = row[j] * a[j] + b[j];
  }
}

EXPORT(bn_training)
void bnTraining(const int32_t* p, double epsilon, double momentum, double* scratch) {
  const float *x = F(p, 0), *scale = F(p, 1), *offset = F(p, 2), *movingMean = F(p, 3), *movingVariance = F(p, 4);
  float *y = F(p, 5), *mean = F(p, 6), *variance = F(p, 7), *newMovingMean = F(p, 8), *newMovingVariance = F(p, 9);
  const int32_t rows = p[10], c = p[11];
  double* __restrict mu = scratch;
  double* __restrict acc = scratch + c;
  float* __restrict a = (float*)(scratch + 2 * c);
  float* __restrict b = a + c;
  sumRows(x, mu, rows, c);
  for (int32_t j = 0; j < c; j++) mu[j] /= (double)rows;
  // sum of (x - mu)^2 in float64: E[x^2] - E[x]^2 loses digits when the mean is large.
  for (int32_t j = 0; j < c; j++) acc[j] = 0;
  for (int32_t i = 0; i < rows; i++) {
    const float* row = x + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) {
      const double d = row[j] - mu[j];
      acc[j] += d * d;
    }
  }
  const float decay = (float)(1 - momentum);
  for (int32_t j = 0; j < c; j++) {
    const float m = (float)mu[j];
    const float v = (float)(acc[j] / (double)rows);
    mean[j] = m;
    variance[j] = v;
    newMovingMean[j] = movingMean[j] - (movingMean[j] - m) * decay;
    newMovingVariance[j] = movingVariance[j] - (movingVariance[j] - v) * decay;
    a[j] = scale[j] / __builtin_sqrtf(v + (float)epsilon);
    b[j] = offset[j] - m * a[j];
  }
  affineRows(x, a, b, y, rows, c);
}

EXPORT(bn_training_grad)
void bnTrainingGrad(const int32_t* p, double epsilon, double* scratch) {
  const float *dy = F(p, 0), *x = F(p, 1), *mean = F(p, 2), *variance = F(p, 3), *scale = F(p, 4);
  float *dx = F(p, 5), *dScale = F(p, 6), *dOffset = F(p, 7);
  const int32_t rows = p[8], c = p[9];
  double* __restrict sumDy = scratch;
  double* __restrict sumDyX = scratch + c;
  float* __restrict k1 = (float*)(scratch + 2 * c);
  float* __restrict k2 = k1 + c;
  float* __restrict k3 = k2 + c;
  for (int32_t j = 0; j < c; j++) sumDy[j] = sumDyX[j] = 0;
  for (int32_t i = 0; i < rows; i++) {
    const float* g = dy + (int64_t)i * c;
    const float* row = x + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) {
      sumDy[j] += g[j];
      sumDyX[j] += (double)g[j] * (row[j] - mean[j]);
    }
  }
  for (int32_t j = 0; j < c; j++) {
    const double r = 1 / __builtin_sqrt((double)variance[j] + (double)(float)epsilon);
    dScale[j] = (float)(r * sumDyX[j]);
    dOffset[j] = (float)sumDy[j];
    k1[j] = (float)(scale[j] * r);
    k2[j] = (float)(-scale[j] * r * r * r * sumDyX[j] / (double)rows);
    k3[j] = (float)(-scale[j] * r * sumDy[j] / (double)rows);
  }
  for (int32_t i = 0; i < rows; i++) {
    const float* g = dy + (int64_t)i * c;
    const float* row = x + (int64_t)i * c;
    float* out = dx + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) out[j] = k1[j] * g[j] + k2[j] * (row[j] - mean[j]) + k3[j];
  }
}
