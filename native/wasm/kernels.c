// leukoseg's kernels for WebAssembly, for when the native addon is not in use (a machine without
// oneDNN, and the browser): the same batch-normalisation passes as native/batch_norm.cc, the same
// max-pool gradient, up-sampling, sums over leading axes and head gradients as native/elementwise.cc
// and native/head.cc, and the patch matrix of a convolution's filter gradient, on one thread,
// compiled with 128-bit SIMD. The module imports tfjs-backend-wasm's own memory, so the
// arguments are byte offsets of tensors on that heap, as the addon's are.
//
// Nothing here may use memory of its own: no static data and no stack frame (the linker's stack
// would sit in tfjs's heap). Per-channel temporaries live in `scratch`, a block the caller allocates
// on the heap; native/wasm/build.mjs checks the module has no data segment and never reads
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
// upsample_nearest(p): p = [x, y, batch, height, width, channels, fh, fw, backward], the addon's
//   upsampleNearest: y (fh x fw times larger) from x, or, backward, x as the sums of y's blocks.
// softmax_grad(p): p = [dy, y, dx, rows, classes], the addon's softmaxGrad.
// reduce_leading(p, factor, scratch): p = [x, out, rows, columns]: out = factor * the column sums of x
//   read as [rows, columns] (Sum and Mean over leading axes); scratch: columns doubles.
// cross_entropy_grad(p, epsilon): p = [dy, target, output, dOutput, pixels, classes], the addon's
//   crossEntropyGrad (at most 64 classes).
// copy_rows(p): p = [from, fromStride, to, toStride, rows, width], in 4-byte words: `rows` rows of
//   `width` words, rows `fromStride` and `toStride` words apart (Concat and SplitV along an axis).
// adam_in_place(p, count, hyper): p = [value, m, v, gradient, size] for each of `count` variables,
//   hyper = [learningRate, beta1, beta2, epsilon, correction1, correction2] (doubles), the addon's
//   adamInPlace: Adam's step of every variable in place, in float32 in tfjs's order.
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
 * The window of x a convolution read, zero-padded, laid out [b][row][channel][col] (batch * rowsRead *
 * channels * colsRead floats): row r is x's row r - top, col s its column s - left.
 */
static void copyWindow(const float* __restrict x, float* __restrict window, int32_t batch, int32_t height, int32_t width, int32_t c,
                       int32_t rowsRead, int32_t colsRead, int32_t top, int32_t left) {
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
}

/**
 * The patches a convolution read, one matrix row per filter tap and channel, one column per output
 * pixel: out[(i * filterWidth + j) * channels + ch][(b * outHeight + y) * outWidth + xo] =
 * x[b, y * strideHeight + i - padTop, xo * strideWidth + j - padLeft, ch], 0 outside x. Then the
 * filter gradient dW[i, j, ch, co] is out times dy read as [pixels, co]: one BatchMatMul, which tfjs's
 * wasm backend ran 1.2-5x faster on Model 3's layers than the Conv2D that otherwise computes it.
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
  copyWindow(x, window, batch, height, width, c, rowsRead, colsRead, top, left);
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
      // The channels left over, one by one: the taps in row-major order (the bottom row is rowStride
      // past the top one), the dy value to the first that holds the maximum.
      for (; ch < c; ch++) {
        float best = lowest;
        int32_t bestAt = -1;
        for (int32_t tap = 0; tap < 4; tap++) {
          const int32_t at = (tap >> 1) * rowStride + o + (tap & 1) * c + ch;
          dxTop[at] = 0;
          if (top[at] > best) {
            best = top[at];
            bestAt = at;
          }
        }
        if (bestAt >= 0) dxTop[bestAt] = g[ox * c + ch];
      }
    }
  }
}

/** A 2x2 up-sampling of one input row: y's two rows from x's row, or (backward) x's row from their sums. */
static void upsampleRow2x2(float* __restrict x, float* __restrict top, float* __restrict bottom, int32_t w, int32_t c, int32_t backward) {
  for (int32_t j = 0; j < w; j++) {
    float* in = x + (int64_t)j * c;
    float* t = top + (int64_t)2 * j * c;
    float* b = bottom + (int64_t)2 * j * c;
    if (!backward) {
      for (int32_t ch = 0; ch < c; ch++) t[ch] = t[c + ch] = b[ch] = b[c + ch] = in[ch];
    } else {
      // The block's sum in the general loop's order (row by row, left to right).
      for (int32_t ch = 0; ch < c; ch++) in[ch] = ((t[ch] + t[c + ch]) + b[ch]) + b[c + ch];
    }
  }
}

/**
 * Nearest-neighbour up-sampling by whole factors (UpSampling2D) and its gradient, as the addon's
 * upsampleNearest: forward, y[b, i, j] = x[b, i / fh, j / fw]; backward, x[b, i, j] = the sum of y's
 * fh x fw block at (i, j), row by row.
 */
EXPORT(upsample_nearest)
void upsampleNearest(const int32_t* p) {
  float* x = F(p, 0);
  float* y = F(p, 1);
  const int32_t batch = p[2], h = p[3], w = p[4], c = p[5], fh = p[6], fw = p[7], backward = p[8];
  const int32_t rowsIn = batch * h, outW = w * fw;
  for (int32_t r = 0; r < rowsIn; r++) {
    float* xr = x + (int64_t)r * w * c;
    float* yr = y + (int64_t)r * fh * outW * c;
    if (fh == 2 && fw == 2) {
      upsampleRow2x2(xr, yr, yr + (int64_t)outW * c, w, c, backward);
    } else if (!backward) {
      for (int32_t j = 0; j < w; j++)
        for (int32_t k = 0; k < fw; k++)
          for (int32_t ch = 0; ch < c; ch++) yr[((int64_t)j * fw + k) * c + ch] = xr[(int64_t)j * c + ch];
      for (int32_t q = 1; q < fh; q++)
        for (int64_t k = 0; k < (int64_t)outW * c; k++) yr[(int64_t)q * outW * c + k] = yr[k];
    } else {
      for (int64_t k = 0; k < (int64_t)w * c; k++) xr[k] = 0;
      for (int32_t j = 0; j < w; j++)
        for (int32_t q = 0; q < fh; q++)
          for (int32_t k = 0; k < fw; k++) {
            const float* g = yr + ((int64_t)q * outW + (int64_t)j * fw + k) * c;
            for (int32_t ch = 0; ch < c; ch++) xr[(int64_t)j * c + ch] += g[ch];
          }
    }
  }
}

/** The softmax's gradient over the last axis, as the addon's softmaxGrad: dx = y * (dy - sum(dy * y)) per row. */
EXPORT(softmax_grad)
void softmaxGrad(const int32_t* p) {
  const float* dy = F(p, 0);
  const float* y = F(p, 1);
  float* dx = F(p, 2);
  const int32_t rows = p[3], c = p[4];
  for (int32_t r = 0; r < rows; r++) {
    const int64_t o = (int64_t)r * c;
    float dot = 0;
    for (int32_t j = 0; j < c; j++) dot += dy[o + j] * y[o + j];
    for (int32_t j = 0; j < c; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
}

/**
 * Keras's categorical cross-entropy's gradient, as the addon's crossEntropyGrad: with s = sum_k y_k,
 * q = y / s and g_c = -t_c / q_c inside the clipping range (0 outside, like tfjs's clip gradient),
 * dOutput_j = dy (g_j - sum_c g_c q_c) / s. The per-pixel g and q are recomputed in each pass
 * (a local array would live on the stack, which this module must not use).
 */
EXPORT(cross_entropy_grad)
void crossEntropyGrad(const int32_t* p, double epsilon) {
  const float* dy = F(p, 0);
  const float* t = F(p, 1);
  const float* y = F(p, 2);
  float* dOut = F(p, 3);
  const int32_t pixels = p[4], c = p[5];
  const double lo = (float)epsilon, hi = (float)(1 - epsilon);
  for (int32_t i = 0; i < pixels; i++) {
    const int64_t o = (int64_t)i * c;
    double sum = 0, dot = 0;
    for (int32_t j = 0; j < c; j++) sum += y[o + j];
    for (int32_t j = 0; j < c; j++) {
      const double q = y[o + j] / sum;
      const double g = q >= lo && q <= hi ? -t[o + j] / q : 0;
      dot += g * q;
    }
    const double scale = dy[i] / sum;
    for (int32_t j = 0; j < c; j++) {
      const double q = y[o + j] / sum;
      const double g = q >= lo && q <= hi ? -t[o + j] / q : 0;
      dOut[o + j] = (float)((g - dot) * scale);
    }
  }
}


/**
 * Sum (factor 1) or Mean (factor 1 / rows) over the leading axes: out[j] = factor * the sum over the
 * rows of x[i * columns + j], accumulated in float64, four rows at a time, in the order of
 * reduce_leading.ts's columnSums, so both give the same bits.
 */
EXPORT(reduce_leading)
void reduceLeading(const int32_t* p, double factor, double* scratch) {
  const float* x = F(p, 0);
  float* out = F(p, 1);
  const int32_t rows = p[2], c = p[3];
  double* __restrict acc = scratch;
  for (int32_t j = 0; j < c; j++) acc[j] = 0;
  int32_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float* r = x + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) {
      acc[j] += ((double)r[j] + (double)r[c + j]) + ((double)r[2 * c + j] + (double)r[3 * c + j]);
    }
  }
  for (; i < rows; i++) {
    const float* r = x + (int64_t)i * c;
    for (int32_t j = 0; j < c; j++) acc[j] += r[j];
  }
  for (int32_t j = 0; j < c; j++) out[j] = (float)(acc[j] * factor);
}

/**
 * Adam's step of every variable in place, as the addon's adamInPlace and adam.ts's adamUpdateLoop:
 * m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
 * value = value - learningRate (m / correction1) / (sqrt(v / correction2) + epsilon), each operation
 * rounded to float32 (WebAssembly has no fused multiply-add to contract into, and its division and
 * square root are correctly rounded, as float64 ones rounded to float32 are), so all three agree bit
 * for bit.
 */
EXPORT(adam_in_place)
void adamInPlace(const int32_t* p, int32_t count, const double* hyper) {
  const float negLr = (float)-hyper[0], b1 = (float)hyper[1], b2 = (float)hyper[2], eps = (float)hyper[3];
  const float ob1 = (float)(1 - hyper[1]), ob2 = (float)(1 - hyper[2]), c1 = (float)hyper[4], c2 = (float)hyper[5];
  const v128_t vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vob1 = wasm_f32x4_splat(ob1), vob2 = wasm_f32x4_splat(ob2);
  const v128_t vc1 = wasm_f32x4_splat(c1), vc2 = wasm_f32x4_splat(c2), veps = wasm_f32x4_splat(eps), vlr = wasm_f32x4_splat(negLr);
  for (int32_t k = 0; k < count; k++) {
    const int32_t* q = p + 5 * k;
    float* __restrict value = F(q, 0);
    float* __restrict m = F(q, 1);
    float* __restrict v = F(q, 2);
    const float* __restrict g = F(q, 3);
    const int32_t n = q[4];
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const v128_t gi = wasm_v128_load(g + i);
      const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), vb1), wasm_f32x4_mul(gi, vob1));
      const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), vb2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), vob2));
      wasm_v128_store(m + i, mi);
      wasm_v128_store(v + i, vi);
      const v128_t denominator = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, vc2)), veps);
      const v128_t step = wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_div(mi, vc1), denominator), vlr);
      wasm_v128_store(value + i, wasm_f32x4_add(step, wasm_v128_load(value + i)));
    }
    for (; i < n; i++) {
      const float gi = g[i];
      const float mi = m[i] * b1 + gi * ob1;
      const float vi = v[i] * b2 + (gi * gi) * ob2;
      m[i] = mi;
      v[i] = vi;
      const float step = ((mi / c1) / (__builtin_sqrtf(vi / c2) + eps)) * negLr;
      value[i] = step + value[i];
    }
  }
}

/**
 * `rows` rows of `width` 4-byte words from `from` to `to`, rows `fromStride` and `toStride` words
 * apart: Concat and SplitV along an inner axis, whose rows (a pixel's channels) are a few dozen bytes.
 */
EXPORT(copy_rows)
void copyRows(const int32_t* p) {
  const int32_t* from = (const int32_t*)(uintptr_t)p[0];
  int32_t* to = (int32_t*)(uintptr_t)p[2];
  const int32_t fromStride = p[1], toStride = p[3], rows = p[4], width = p[5];
  for (int32_t r = 0; r < rows; r++) {
    const int32_t* __restrict f = from + (int64_t)r * fromStride;
    int32_t* __restrict t = to + (int64_t)r * toStride;
    int32_t j = 0;
    for (; j + 4 <= width; j += 4) wasm_v128_store(t + j, wasm_v128_load(f + j));
    for (; j < width; j++) t[j] = f[j];
  }
}
