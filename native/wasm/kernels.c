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
// im2col(p): p = [x, window, out, batch, inHeight, inWidth, channels, filterHeight, filterWidth,
//   outHeight, outWidth, padTop, padLeft, strideHeight, strideWidth]; the columns of a convolution's filter
//   gradient as one matrix (see im2col below), so that the gradient is one matrix product.
// max_pool_grad_2x2(p): p = [x, dy, dx, rows, outWidth, rowStride, channels], native/elementwise.cc's
//   maxPoolGrad2x2: each dy value to the first maximum of its 2x2 window, in row-major order.
#include <stdint.h>
#include <wasm_simd128.h>

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

/**
 * The patches a convolution read, one matrix row per filter tap and channel, one column per output
 * pixel: out[(i * filterWidth + j) * channels + ch][(b * outHeight + y) * outWidth + xo] =
 * x[b, y * strideHeight + i - padTop, xo * strideWidth + j - padLeft, ch], 0 outside x. Then the
 * filter gradient dW[i, j, ch, co] is out times dy read as [pixels, co]: a product XNNPACK runs at
 * 2-4x the speed of the convolution that otherwise computes it.
 *
 * First the window the convolution read is copied, zero-padded, into `window` laid out
 * [b][row][channel][col] (batch * rowsRead * channels * colsRead floats, the caller's): each row of
 * `out` is then runs of contiguous copies instead of a gather with the channel stride.
 */
EXPORT(im2col)
void im2col(const int32_t* p) {
  const float* x = F(p, 0);
  float* window = F(p, 1);
  float* out = F(p, 2);
  const int32_t batch = p[3], height = p[4], width = p[5], c = p[6], fh = p[7], fw = p[8], oh = p[9], ow = p[10];
  const int32_t top = p[11], left = p[12], sh = p[13], sw = p[14];
  const int32_t rowsRead = (oh - 1) * sh + fh, colsRead = (ow - 1) * sw + fw;
  for (int32_t b = 0; b < batch; b++) {
    for (int32_t r = 0; r < rowsRead; r++) {
      float* dst = window + ((int64_t)(b * rowsRead + r) * c) * colsRead;
      const int32_t yi = r - top;
      if (yi < 0 || yi >= height) {
        for (int64_t k = 0; k < (int64_t)c * colsRead; k++) dst[k] = 0;
        continue;
      }
      const float* src = x + ((int64_t)(b * height + yi) * width) * c;
      for (int32_t col = 0; col < colsRead; col++) {
        const int32_t xi = col - left;
        if (xi < 0 || xi >= width) {
          for (int32_t ch = 0; ch < c; ch++) dst[(int64_t)ch * colsRead + col] = 0;
        } else {
          const float* px = src + (int64_t)xi * c;
          for (int32_t ch = 0; ch < c; ch++) dst[(int64_t)ch * colsRead + col] = px[ch];
        }
      }
    }
  }
  const int64_t pixels = (int64_t)batch * oh * ow;
  for (int32_t i = 0; i < fh; i++) {
    for (int32_t j = 0; j < fw; j++) {
      for (int32_t ch = 0; ch < c; ch++) {
        float* row = out + ((int64_t)(i * fw + j) * c + ch) * pixels;
        for (int32_t b = 0; b < batch; b++) {
          for (int32_t y = 0; y < oh; y++) {
            const float* src = window + ((int64_t)(b * rowsRead + y * sh + i) * c + ch) * colsRead + j;
            if (sw == 1) {
              for (int32_t xo = 0; xo < ow; xo++) row[xo] = src[xo];
            } else {
              for (int32_t xo = 0; xo < ow; xo++) row[xo] = src[(int64_t)xo * sw];
            }
            row += ow;
          }
        }
      }
    }
  }
}

/**
 * The gradient of 2x2 max pooling with stride 2 over windows that tile x: each dy value goes to the
 * first maximum of its window in row-major order (strict '>' from -infinity, as the cpu backend
 * picks), every other pixel gets 0. `rows` counts output rows over the whole batch; a window is two
 * pixels of input row 2 oy and two of row 2 oy + 1, channels innermost.
 */
EXPORT(max_pool_grad_2x2)
void maxPoolGrad2x2(const int32_t* p) {
  const float* x = F(p, 0);
  const float* dy = F(p, 1);
  float* dx = F(p, 2);
  const int32_t rows = p[3], outWidth = p[4], rowStride = p[5], c = p[6];
  const float lowest = -__builtin_inff();
  for (int32_t oy = 0; oy < rows; oy++) {
    const float* __restrict top = x + (int64_t)2 * oy * rowStride;
    const float* __restrict bottom = top + rowStride;
    float* __restrict dxTop = dx + (int64_t)2 * oy * rowStride;
    float* __restrict dxBottom = dxTop + rowStride;
    const float* __restrict g = dy + (int64_t)oy * outWidth * c;
    for (int32_t ox = 0; ox < outWidth; ox++) {
      const int32_t o = 2 * ox * c;
      int32_t ch = 0;
      // Four channels at a time (clang does not vectorise the selects below by itself): a mask per
      // tap says whether it beat the running maximum; the dy value goes to the last tap that did.
      for (; ch + 4 <= c; ch += 4) {
        const v128_t v0 = wasm_v128_load(top + o + ch), v1 = wasm_v128_load(top + o + c + ch);
        const v128_t v2 = wasm_v128_load(bottom + o + ch), v3 = wasm_v128_load(bottom + o + c + ch);
        const v128_t m0 = wasm_f32x4_gt(v0, wasm_f32x4_splat(lowest));
        const v128_t b0 = wasm_v128_bitselect(v0, wasm_f32x4_splat(lowest), m0);
        const v128_t m1 = wasm_f32x4_gt(v1, b0);
        const v128_t b1 = wasm_v128_bitselect(v1, b0, m1);
        const v128_t m2 = wasm_f32x4_gt(v2, b1);
        const v128_t b2 = wasm_v128_bitselect(v2, b1, m2);
        const v128_t m3 = wasm_f32x4_gt(v3, b2);
        v128_t rest = wasm_v128_load(g + ox * c + ch);
        wasm_v128_store(dxBottom + o + c + ch, wasm_v128_and(rest, m3));
        rest = wasm_v128_andnot(rest, m3);
        wasm_v128_store(dxBottom + o + ch, wasm_v128_and(rest, m2));
        rest = wasm_v128_andnot(rest, m2);
        wasm_v128_store(dxTop + o + c + ch, wasm_v128_and(rest, m1));
        rest = wasm_v128_andnot(rest, m1);
        wasm_v128_store(dxTop + o + ch, wasm_v128_and(rest, m0));
      }
      for (; ch < c; ch++) {
        const float v0 = top[o + ch], v1 = top[o + c + ch], v2 = bottom[o + ch], v3 = bottom[o + c + ch];
        // The running maximum in row-major order; the last value to beat it is the first maximum.
        const float b0 = v0 > lowest ? v0 : lowest;
        const float b1 = v1 > b0 ? v1 : b0;
        const float b2 = v2 > b1 ? v2 : b1;
        float rest = g[ox * c + ch];
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
}
