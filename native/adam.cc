// Adam's update of every variable of a model in one call, in place on the wasm heap: the caller
// (src/engine/kernels/adam.ts) makes sure no other tensor shares a variable's or moment's buffer.
//
// adamInPlace(heap, Int32Array [value, m, v, gradient, size] per variable, Float64Array
//   [learningRate, beta1, beta2, epsilon, correction1, correction2]): with g the gradient,
//   m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
//   value = value - learningRate (m / correction1) / (sqrt(v / correction2) + epsilon),
//   in float32 and in the order tfjs's AdamOptimizer computes it (no fused multiply-adds).
#pragma GCC optimize("fp-contract=off")

#include <omp.h>

#include <cmath>

#include "common.h"

namespace leukoseg {
namespace {

struct Hyper {
  float b1, b2, ob1, ob2, c1, c2, eps, negLr;
};

LEUKOSEG_SIMD_CLONES
void adamSpan(float* __restrict value, float* __restrict m, float* __restrict v, const float* __restrict g, int64_t n, Hyper h) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * h.b1 + gi * h.ob1;
    const float vi = v[i] * h.b2 + (gi * gi) * h.ob2;
    m[i] = mi;
    v[i] = vi;
    const float step = ((mi / h.c1) / (std::sqrt(vi / h.c2) + h.eps)) * h.negLr;
    value[i] = step + value[i];
  }
}

napi_value AdamInPlace(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  if (!readArgs(env, info, 3, argv) || !readHeap(env, argv[0], &heap, &bytes)) return nullptr;
  napi_typedarray_type type;
  size_t count = 0, hyperCount = 0;
  void* data = nullptr;
  void* hyperData = nullptr;
  if (napi_get_typedarray_info(env, argv[1], &type, &count, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array ||
      count % 5 != 0) {
    napi_throw_type_error(env, nullptr, "adamInPlace: params must be an Int32Array of [value, m, v, gradient, size] per variable");
    return nullptr;
  }
  if (napi_get_typedarray_info(env, argv[2], &type, &hyperCount, &hyperData, nullptr, nullptr) != napi_ok || type != napi_float64_array ||
      hyperCount != 6) {
    napi_throw_type_error(env, nullptr, "adamInPlace: hyper must be a Float64Array [learningRate, beta1, beta2, epsilon, correction1, correction2]");
    return nullptr;
  }
  const int32_t* p = static_cast<const int32_t*>(data);
  const double* d = static_cast<const double*>(hyperData);
  const int64_t variables = static_cast<int64_t>(count / 5);
  int64_t total = 0;
  for (int64_t k = 0; k < variables; k++) {
    const int32_t* q = p + 5 * k;
    if (q[4] < 0 || !inHeap(q[0], q[4], bytes) || !inHeap(q[1], q[4], bytes) || !inHeap(q[2], q[4], bytes) || !inHeap(q[3], q[4], bytes)) {
      return refuse(env, "adamInPlace");
    }
    total += q[4];
  }
  const Hyper h{static_cast<float>(d[1]), static_cast<float>(d[2]), static_cast<float>(1 - d[1]), static_cast<float>(1 - d[2]),
                static_cast<float>(d[4]), static_cast<float>(d[5]), static_cast<float>(d[3]), static_cast<float>(-d[0])};
  // Every thread takes its share of each variable: one parallel region for the whole model.
#pragma omp parallel num_threads(threadsFor(total))
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int64_t k = 0; k < variables; k++) {
      const int32_t* q = p + 5 * k;
      int64_t begin, end;
      rowRange(q[4], t, nt, &begin, &end);
      adamSpan(floatsAt(heap, q[0]) + begin, floatsAt(heap, q[1]) + begin, floatsAt(heap, q[2]) + begin, floatsAt(heap, q[3]) + begin,
               end - begin, h);
    }
  }
  return nullptr;
}

}  // namespace

std::vector<Export> adamExports() { return {{"adamInPlace", AdamInPlace}}; }

}  // namespace leukoseg
