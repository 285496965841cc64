// The network's head on the wasm heap: softmax over the last axis and its gradient, and Keras's
// categorical cross-entropy per pixel and its gradient. Few classes per pixel, many pixels: tfjs runs
// each step of these as its own pass over the batch.
//
// softmax(heap, [logits, out, rows, classes]); softmaxGrad(heap, [dy, y, dx, rows, classes]);
// crossEntropy(heap, [target, output, loss, pixels, classes], epsilon);
// crossEntropyGrad(heap, [dy, target, output, dOutput, pixels, classes], epsilon): see each below.
#include <algorithm>
#include <cmath>

#include "common.h"

namespace leukoseg {
namespace {

// softmax(heap, Int32Array [logits, out, rows, classes]): out = exp(x - max) / sum(exp(x - max)) per row.
napi_value Softmax(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 2, 4)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const int64_t rows = p[2], c = p[3];
  if (rows < 0 || c <= 0 || !inHeap(p[0], rows * c, bytes) || !inHeap(p[1], rows * c, bytes)) {
    napi_throw_range_error(env, nullptr, "softmax: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  const float* x = reinterpret_cast<const float*>(heap + p[0]);
  float* y = reinterpret_cast<float*>(heap + p[1]);
#pragma omp parallel for if (rows * c >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    float max = xr[0];
    for (int64_t j = 1; j < c; j++) max = std::max(max, xr[j]);
    float sum = 0;
    for (int64_t j = 0; j < c; j++) sum += (yr[j] = std::exp(xr[j] - max));
    for (int64_t j = 0; j < c; j++) yr[j] /= sum;
  }
  return nullptr;
}

// softmaxGrad(heap, Int32Array [dy, y, dx, rows, classes]): dx = y * (dy - sum(dy * y)) per row.
napi_value SoftmaxGrad(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 2, 5)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  const int64_t rows = p[3], c = p[4];
  if (rows < 0 || c <= 0 || !inHeap(p[0], rows * c, bytes) || !inHeap(p[1], rows * c, bytes) || !inHeap(p[2], rows * c, bytes)) {
    napi_throw_range_error(env, nullptr, "softmaxGrad: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  const float* dy = reinterpret_cast<const float*>(heap + p[0]);
  const float* y = reinterpret_cast<const float*>(heap + p[1]);
  float* dx = reinterpret_cast<float*>(heap + p[2]);
#pragma omp parallel for if (rows * c >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t o = r * c;
    float dot = 0;
    for (int64_t j = 0; j < c; j++) dot += dy[o + j] * y[o + j];
    for (int64_t j = 0; j < c; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
  }
  return nullptr;
}

// crossEntropy(heap, Int32Array [target, output, loss, pixels, classes], epsilon): Keras's categorical
// cross-entropy of probabilities per pixel, loss = -sum_c t_c log(clip(y_c / sum_k y_k, eps, 1 - eps)).
napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 5)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  double epsilon = 0;
  napi_get_value_double(env, argv[2], &epsilon);
  const int64_t pixels = p[3], c = p[4];
  if (pixels < 0 || c <= 0 || !inHeap(p[0], pixels * c, bytes) || !inHeap(p[1], pixels * c, bytes) || !inHeap(p[2], pixels, bytes)) {
    napi_throw_range_error(env, nullptr, "crossEntropy: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  const float* t = reinterpret_cast<const float*>(heap + p[0]);
  const float* y = reinterpret_cast<const float*>(heap + p[1]);
  float* loss = reinterpret_cast<float*>(heap + p[2]);
  const float lo = static_cast<float>(epsilon), hi = static_cast<float>(1 - epsilon);
#pragma omp parallel for if (pixels * c >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < pixels; i++) {
    const int64_t o = i * c;
    float sum = 0;
    for (int64_t j = 0; j < c; j++) sum += y[o + j];
    float total = 0;
    // Classes the target gives no weight add nothing (0 * a finite log): one log per pixel for one-hot targets.
    for (int64_t j = 0; j < c; j++) {
      if (t[o + j] != 0.f) total += t[o + j] * std::log(std::min(hi, std::max(lo, y[o + j] / sum)));
    }
    loss[i] = -total;
  }
  return nullptr;
}

// crossEntropyGrad(heap, Int32Array [dy, target, output, dOutput, pixels, classes], epsilon): with
// s = sum_k y_k, q = y / s and g_c = -t_c / q_c inside the clipping range (0 outside, like tfjs's clip
// gradient), dOutput_j = dy (g_j - sum_c g_c q_c) / s.
napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  HeapCall call;
  if (!call.read(env, info, 3, 6)) return nullptr;
  auto& [argv, heap, bytes, p] = call;
  double epsilon = 0;
  napi_get_value_double(env, argv[2], &epsilon);
  const int64_t pixels = p[4], c = p[5];
  if (pixels < 0 || c <= 0 || c > 64 || !inHeap(p[0], pixels, bytes) || !inHeap(p[1], pixels * c, bytes) ||
      !inHeap(p[2], pixels * c, bytes) || !inHeap(p[3], pixels * c, bytes)) {
    napi_throw_range_error(env, nullptr, "crossEntropyGrad: bad sizes (at most 64 classes) or a tensor outside the wasm heap");
    return nullptr;
  }
  const float* dy = reinterpret_cast<const float*>(heap + p[0]);
  const float* t = reinterpret_cast<const float*>(heap + p[1]);
  const float* y = reinterpret_cast<const float*>(heap + p[2]);
  float* dOut = reinterpret_cast<float*>(heap + p[3]);
  const double lo = static_cast<float>(epsilon), hi = static_cast<float>(1 - epsilon);
#pragma omp parallel for if (pixels * c >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < pixels; i++) {
    const int64_t o = i * c;
    double g[64], q[64];
    double sum = 0, dot = 0;
    for (int64_t j = 0; j < c; j++) sum += y[o + j];
    for (int64_t j = 0; j < c; j++) {
      q[j] = y[o + j] / sum;
      g[j] = q[j] >= lo && q[j] <= hi ? -t[o + j] / q[j] : 0;
      dot += g[j] * q[j];
    }
    const double scale = dy[i] / sum;
    for (int64_t j = 0; j < c; j++) dOut[o + j] = static_cast<float>((g[j] - dot) * scale);
  }
  return nullptr;
}

}  // namespace

std::vector<Export> headExports() {
  return {{"softmax", Softmax}, {"softmaxGrad", SoftmaxGrad}, {"crossEntropy", CrossEntropy}, {"crossEntropyGrad", CrossEntropyGrad}};
}

}  // namespace leukoseg
