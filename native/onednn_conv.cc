// leukoseg's optional native kernels, run directly on the tensors that tfjs-backend-wasm keeps in its
// WebAssembly heap (no copies: the caller passes the heap's ArrayBuffer and byte offsets; layouts are
// tfjs's, activations NHWC and filters HWIO):
// - conv: 2-D convolutions (forward with optional bias and ReLU, gradient of the input, gradient of
//   the filter) by oneDNN, the CPU kernel library PyTorch uses;
// - reduceLeading, binary, maxPoolGrad2x2, batchNorm: the element-wise work around them, with OpenMP;
// - batchNormTraining, batchNormTrainingGrad: a BatchNormalization layer's training step, fused;
// - softmax, softmaxGrad, crossEntropy, crossEntropyGrad: the network's head and Keras's loss;
// - upsampleNearest: UpSampling2D by whole factors, and its gradient.
//
// JS calls: conv(kind, heap: ArrayBuffer, params: Int32Array) -> undefined, with params
//   [N, H, W, Ci, KH, KW, Co, OH, OW, strideH, strideW, padTop, padLeft, padBottom, padRight,
//    dilationH, dilationW, hasBias, activation, offsetA, offsetB, offsetC, offsetBias]
// kind 0 forward:        y[N,OH,OW,Co]  = act(conv(x[N,H,W,Ci] @A, w[KH,KW,Ci,Co] @B) + bias[Co]) -> @C
//                        (bias only when hasBias = 1; activation 0 linear, 1 relu)
// kind 1 backward data:  dx[N,H,W,Ci]   from dy[N,OH,OW,Co] @A and w @B           -> @C
// kind 2 backward filter: dw[KH,KW,Ci,Co] from x @A and dy @B                      -> @C
// Primitives are built once per geometry and cached: building one costs far more than running it
// on these small images.
#include <node_api.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int kParams = 23;
constexpr int kOffsets = 19;
using Geometry = std::array<int32_t, kOffsets>;

// One argument of a primitive: the tensor as tfjs lays it out on the heap (user), and, when oneDNN
// runs faster on a blocked layout of its own choosing, that layout plus the reorder between the two.
// Inputs are reordered in before the primitive, outputs out after it.
struct Argument {
  int id;
  bool output;
  memory::desc user;
  memory::desc chosen;
  bool reordered;
  dnnl::reorder reorder;
};

struct Primitive {
  dnnl::primitive prim;
  std::vector<Argument> args;  // in the order of the heap offsets (A, B, C, then the bias if any)
};

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

std::map<std::pair<int, Geometry>, Primitive>& cache() {
  static std::map<std::pair<int, Geometry>, Primitive> primitives;
  return primitives;
}

// The blocked copies live in one buffer per argument slot, shared by every primitive and grown to the
// largest need: calls run one at a time, and a buffer per cached primitive would keep hundreds of MB
// (every layer, batch size and kind) alive for nothing.
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
std::unique_ptr<void, AlignedFree> scratch[4];
size_t scratchBytes[4] = {0, 0, 0, 0};

void* scratchFor(size_t slot, size_t bytes) {
  if (bytes > scratchBytes[slot]) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (p == nullptr) throw std::runtime_error("out of memory for a convolution's scratch buffer");
    scratch[slot].reset(p);
    scratchBytes[slot] = rounded;
  }
  return scratch[slot].get();
}

Argument argument(int id, bool output, const memory::desc& user, const memory::desc& chosen) {
  Argument a{id, output, user, chosen, chosen != user, dnnl::reorder()};
  if (a.reordered) {
    auto& eng = cpuEngine();
    // Placeholder memories: the reorder binds real buffers at execution.
    memory userMem(user, eng, DNNL_MEMORY_NONE);
    memory chosenMem(chosen, eng, DNNL_MEMORY_NONE);
    a.reorder = output ? dnnl::reorder(chosenMem, userMem) : dnnl::reorder(userMem, chosenMem);
  }
  return a;
}

Primitive build(int kind, const Geometry& g) {
  const memory::dim N = g[0], H = g[1], W = g[2], Ci = g[3], KH = g[4], KW = g[5], Co = g[6], OH = g[7], OW = g[8];
  const memory::dims strides = {g[9], g[10]};
  const memory::dims padL = {g[11], g[12]};
  const memory::dims padR = {g[13], g[14]};
  // oneDNN counts dilation from 0 (no gaps); tfjs from 1.
  const memory::dims dilates = {g[15] - 1, g[16] - 1};
  const memory::desc src({N, Ci, H, W}, dt::f32, tag::nhwc);
  const memory::desc wei({Co, Ci, KH, KW}, dt::f32, tag::hwio);
  const memory::desc dst({N, Co, OH, OW}, dt::f32, tag::nhwc);
  // 'any' lets oneDNN pick its fastest (blocked) layouts; tfjs's plain NHWC/HWIO often only gets
  // the im2col + GEMM implementation.
  const memory::desc srcAny({N, Ci, H, W}, dt::f32, tag::any);
  const memory::desc weiAny({Co, Ci, KH, KW}, dt::f32, tag::any);
  const memory::desc dstAny({N, Co, OH, OW}, dt::f32, tag::any);
  auto& eng = cpuEngine();
  const auto alg = dnnl::algorithm::convolution_direct;
  const bool hasBias = kind == 0 && g[17] == 1;
  const bool relu = kind == 0 && g[18] == 1;
  const memory::desc bias({Co}, dt::f32, tag::x);
  auto fwdDesc = hasBias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, srcAny, weiAny, bias, dstAny, strides,
                                                           dilates, padL, padR)
                         : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, srcAny, weiAny, dstAny, strides,
                                                           dilates, padL, padR);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  dnnl::convolution_forward::primitive_desc fwd(fwdDesc, attr, eng);
  if (kind == 0) {
    std::vector<Argument> args = {argument(DNNL_ARG_SRC, false, src, fwd.src_desc()),
                                  argument(DNNL_ARG_WEIGHTS, false, wei, fwd.weights_desc()),
                                  argument(DNNL_ARG_DST, true, dst, fwd.dst_desc())};
    if (hasBias) args.push_back(argument(DNNL_ARG_BIAS, false, bias, fwd.bias_desc()));
    return {dnnl::convolution_forward(fwd), args};
  }
  if (kind == 1) {
    dnnl::convolution_backward_data::desc d(alg, srcAny, weiAny, dstAny, strides, dilates, padL, padR);
    dnnl::convolution_backward_data::primitive_desc pd(d, eng, fwd);
    return {dnnl::convolution_backward_data(pd),
            {argument(DNNL_ARG_DIFF_DST, false, dst, pd.diff_dst_desc()), argument(DNNL_ARG_WEIGHTS, false, wei, pd.weights_desc()),
             argument(DNNL_ARG_DIFF_SRC, true, src, pd.diff_src_desc())}};
  }
  dnnl::convolution_backward_weights::desc d(alg, srcAny, weiAny, dstAny, strides, dilates, padL, padR);
  dnnl::convolution_backward_weights::primitive_desc pd(d, eng, fwd);
  return {dnnl::convolution_backward_weights(pd),
          {argument(DNNL_ARG_SRC, false, src, pd.src_desc()), argument(DNNL_ARG_DIFF_DST, false, dst, pd.diff_dst_desc()),
           argument(DNNL_ARG_DIFF_WEIGHTS, true, wei, pd.diff_weights_desc())}};
}

// ---- Reading the JS arguments: each reader throws a JS error and returns false on bad input ----

bool inHeap(int64_t offset, int64_t floats, size_t heapBytes) {
  return offset >= 0 && offset % 4 == 0 && floats >= 0 && static_cast<size_t>(offset) + static_cast<size_t>(floats) * 4 <= heapBytes;
}

bool readArgs(napi_env env, napi_callback_info info, size_t expected, napi_value* argv) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != expected) {
    napi_throw_type_error(env, nullptr, ("expected " + std::to_string(expected) + " arguments").c_str());
    return false;
  }
  return true;
}

bool readHeap(napi_env env, napi_value value, uint8_t** heap, size_t* bytes) {
  void* data = nullptr;
  if (napi_get_arraybuffer_info(env, value, &data, bytes) != napi_ok) {
    napi_throw_type_error(env, nullptr, "heap must be an ArrayBuffer");
    return false;
  }
  *heap = static_cast<uint8_t*>(data);
  return true;
}

bool readInts(napi_env env, napi_value value, size_t count, const int32_t** ints) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array ||
      length != count) {
    napi_throw_type_error(env, nullptr, ("params must be an Int32Array of " + std::to_string(count) + " values").c_str());
    return false;
  }
  *ints = static_cast<const int32_t*>(data);
  return true;
}

/**
 * The arguments of the element-wise entry points: (heap, Int32Array of `ints` values, then any numbers
 * the caller reads itself from argv). Throws a JS error and returns false on bad input.
 */
bool readHeapCall(napi_env env, napi_callback_info info, size_t argc, size_t ints, napi_value* argv, uint8_t** heap,
                  size_t* bytes, const int32_t** p) {
  return readArgs(env, info, argc, argv) && readHeap(env, argv[0], heap, bytes) && readInts(env, argv[1], ints, p);
}

void run(int kind, uint8_t* heap, size_t heapBytes, const int32_t* p) {
  Geometry g;
  std::memcpy(g.data(), p, sizeof(g));
  const auto key = std::make_pair(kind, g);
  auto& primitives = cache();
  auto found = primitives.find(key);
  if (found == primitives.end()) found = primitives.emplace(key, build(kind, g)).first;
  Primitive& prim = found->second;
  auto& eng = cpuEngine();
  auto& stream = cpuStream();
  std::unordered_map<int, memory> args;
  std::vector<std::pair<Argument*, std::pair<memory, memory>>> outputs;
  for (size_t i = 0; i < prim.args.size(); i++) {
    Argument& a = prim.args[i];
    const int64_t offset = p[kOffsets + i];
    if (!inHeap(offset, static_cast<int64_t>(a.user.get_size() / 4), heapBytes)) {
      throw std::runtime_error("tensor " + std::to_string(i) + " lies outside the wasm heap");
    }
    memory user(a.user, eng, heap + offset);
    if (!a.reordered) {
      args.emplace(a.id, user);
      continue;
    }
    memory blocked(a.chosen, eng, scratchFor(i, a.chosen.get_size()));
    args.emplace(a.id, blocked);
    if (a.output) outputs.push_back({&a, {blocked, user}});
    else a.reorder.execute(stream, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, blocked}});
  }
  prim.prim.execute(stream, args);
  for (auto& [a, mems] : outputs) a->reorder.execute(stream, {{DNNL_ARG_FROM, mems.first}, {DNNL_ARG_TO, mems.second}});
  stream.wait();
}

napi_value Conv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t heapBytes;
  const int32_t* params;
  if (!readArgs(env, info, 3, argv) || !readHeap(env, argv[1], &heap, &heapBytes) || !readInts(env, argv[2], kParams, &params)) {
    return nullptr;
  }
  int32_t kind = -1;
  napi_get_value_int32(env, argv[0], &kind);
  if (kind < 0 || kind > 2) {
    napi_throw_range_error(env, nullptr, "conv: kind must be 0 (forward), 1 (input gradient) or 2 (filter gradient)");
    return nullptr;
  }
  try {
    run(kind, heap, heapBytes, params);
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// ---- Element-wise work of the training step, on the same heap ----------------------------------
// tfjs runs these as single-threaded WebAssembly; with both cores and AVX-512 they cost a fraction.

// Below this many values the threads cost more than they save.
constexpr int64_t kParallelMin = 1 << 15;

/** out[j] = scale * sum over i < n of in[i * c + j]: Sum / Mean over leading axes (float64 accumulators). */
void reduceLeading(const float* in, float* out, int64_t n, int64_t c, double scale) {
  const int threads = n * c >= kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * c, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    double* acc = partial.data() + static_cast<size_t>(t) * c;
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    for (int64_t i = begin; i < end; i++) {
      const float* row = in + i * c;
      for (int64_t j = 0; j < c; j++) acc[j] += row[j];
    }
  }
  for (int64_t j = 0; j < c; j++) {
    double sum = 0;
    for (int t = 0; t < threads; t++) sum += partial[static_cast<size_t>(t) * c + j];
    out[j] = static_cast<float>(sum * scale);
  }
}

template <typename Op>
void binaryLoop(const float* a, const float* b, float* out, int64_t total, int64_t blockA, int64_t blockB, Op op) {
  const bool parallel = total >= kParallelMin;
  if (blockA == total && blockB == total) {
#pragma omp parallel for if (parallel) schedule(static)
    for (int64_t i = 0; i < total; i++) out[i] = op(a[i], b[i]);
  } else if (blockA == total) {
    const int64_t rows = total / blockB;
#pragma omp parallel for if (parallel) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* ar = a + r * blockB;
      float* o = out + r * blockB;
      for (int64_t j = 0; j < blockB; j++) o[j] = op(ar[j], b[j]);
    }
  } else {
    const int64_t rows = total / blockA;
#pragma omp parallel for if (parallel) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* br = b + r * blockA;
      float* o = out + r * blockA;
      for (int64_t j = 0; j < blockA; j++) o[j] = op(a[j], br[j]);
    }
  }
}

// reduceLeading(heap, Int32Array [inOffset, outOffset, n, c], scale)
napi_value ReduceLeading(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 3, 4, argv, &heap, &bytes, &p)) return nullptr;
  double scale = 1;
  napi_get_value_double(env, argv[2], &scale);
  const int64_t n = p[2], c = p[3];
  if (n < 0 || c < 0 || !inHeap(p[0], n * c, bytes) || !inHeap(p[1], c, bytes)) {
    napi_throw_range_error(env, nullptr, "reduceLeading: a tensor lies outside the wasm heap");
    return nullptr;
  }
  reduceLeading(reinterpret_cast<const float*>(heap + p[0]), reinterpret_cast<float*>(heap + p[1]), n, c, scale);
  return nullptr;
}

// binary(op, heap, Int32Array [aOffset, bOffset, outOffset, total, blockA, blockB]): out[i] =
// a[i mod blockA] op b[i mod blockB], op 0 add, 1 sub, 2 mul, 3 div, 4 relu gradient (a where b > 0, else 0); a block is the total (same
// shape) or, for one operand only, a divisor of it (repeated along leading axes; 1 = scalar).
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
  if (!inHeap(p[0], blockA, bytes) || !inHeap(p[1], blockB, bytes) || !inHeap(p[2], total, bytes)) {
    napi_throw_range_error(env, nullptr, "binary: a tensor lies outside the wasm heap");
    return nullptr;
  }
  const float* a = reinterpret_cast<const float*>(heap + p[0]);
  const float* b = reinterpret_cast<const float*>(heap + p[1]);
  float* out = reinterpret_cast<float*>(heap + p[2]);
  switch (op) {
    case 0: binaryLoop(a, b, out, total, blockA, blockB, [](float x, float y) { return x + y; }); break;
    case 1: binaryLoop(a, b, out, total, blockA, blockB, [](float x, float y) { return x - y; }); break;
    case 2: binaryLoop(a, b, out, total, blockA, blockB, [](float x, float y) { return x * y; }); break;
    case 3: binaryLoop(a, b, out, total, blockA, blockB, [](float x, float y) { return x / y; }); break;
    default: binaryLoop(a, b, out, total, blockA, blockB, [](float x, float y) { return y > 0 ? x : 0.f; }); break;
  }
  return nullptr;
}

// maxPoolGrad2x2(heap, Int32Array [xOffset, dyOffset, dxOffset, rows, outWidth, rowStride, channels]):
// the gradient of a 2x2 stride-2 max pool that tiles its input (rows = output rows over the whole
// batch), each dy value routed to the first maximum of its window in row-major order (strict '>'
// from -infinity), as TensorFlow.js's cpu backend does; every other dx value is 0.
napi_value MaxPoolGrad2x2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 2, 7, argv, &heap, &bytes, &p)) return nullptr;
  const int64_t rows = p[3], outWidth = p[4], rowStride = p[5], channels = p[6];
  const int64_t inSize = rows * 2 * rowStride, outSize = rows * outWidth * channels;
  if (rows < 0 || outWidth < 0 || channels <= 0 || rowStride != outWidth * 2 * channels || !inHeap(p[0], inSize, bytes) ||
      !inHeap(p[1], outSize, bytes) || !inHeap(p[2], inSize, bytes)) {
    napi_throw_range_error(env, nullptr, "maxPoolGrad2x2: bad geometry or a tensor outside the wasm heap");
    return nullptr;
  }
  const float* x = reinterpret_cast<const float*>(heap + p[0]);
  const float* dy = reinterpret_cast<const float*>(heap + p[1]);
  float* dx = reinterpret_cast<float*>(heap + p[2]);
  const float lowest = -std::numeric_limits<float>::infinity();
#pragma omp parallel for if (inSize >= kParallelMin) schedule(static)
  for (int64_t oy = 0; oy < rows; oy++) {
    const int64_t rowBase = 2 * oy * rowStride;
    for (int64_t ox = 0; ox < outWidth; ox++) {
      const int64_t p0 = rowBase + 2 * ox * channels, p1 = p0 + channels, p2 = p0 + rowStride, p3 = p2 + channels;
      const float* g = dy + (oy * outWidth + ox) * channels;
      for (int64_t ch = 0; ch < channels; ch++) {
        const float v[4] = {x[p0 + ch], x[p1 + ch], x[p2 + ch], x[p3 + ch]};
        float best = lowest;
        int at = -1;
        for (int k = 0; k < 4; k++) {
          if (v[k] > best) {
            best = v[k];
            at = k;
          }
        }
        dx[p0 + ch] = at == 0 ? g[ch] : 0.f;
        dx[p1 + ch] = at == 1 ? g[ch] : 0.f;
        dx[p2 + ch] = at == 2 ? g[ch] : 0.f;
        dx[p3 + ch] = at == 3 ? g[ch] : 0.f;
      }
    }
  }
  return nullptr;
}

// batchNorm(heap, Int32Array [xOffset, meanOffset, varianceOffset, offsetOffset, scaleOffset, outOffset,
// total, channels, meanSize, varianceSize, offsetSize, scaleSize], epsilon):
// out = (x - mean[c]) / sqrt(variance[c] + epsilon) * scale[c] + offset[c] over the last axis. Each
// per-channel input holds one value per channel or a single value for all; an offset or scale offset
// of -1 means none (0 and 1).
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 3, 12, argv, &heap, &bytes, &p)) return nullptr;
  double epsilon = 0;
  napi_get_value_double(env, argv[2], &epsilon);
  const int64_t total = p[6], c = p[7];
  bool ok = total >= 0 && c > 0 && total % c == 0 && inHeap(p[0], total, bytes) && inHeap(p[5], total, bytes);
  for (int k = 0; k < 4; k++) {
    const int32_t offset = p[1 + k], size = p[8 + k];
    const bool optional = k >= 2;
    ok = ok && ((optional && offset == -1) || ((size == 1 || size == c) && inHeap(offset, size, bytes)));
  }
  if (!ok) {
    napi_throw_range_error(env, nullptr, "batchNorm: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  const auto vec = [&](int k) { return p[1 + k] == -1 ? nullptr : reinterpret_cast<const float*>(heap + p[1 + k]); };
  const auto at = [&](int k, const float* v, int64_t j) { return v[p[8 + k] == 1 ? 0 : j]; };
  const float* x = reinterpret_cast<const float*>(heap + p[0]);
  const float *mean = vec(0), *variance = vec(1), *offset = vec(2), *scale = vec(3);
  float* out = reinterpret_cast<float*>(heap + p[5]);
  // Per channel: out = x * a + b, with a = scale / sqrt(var + eps) and b = offset - mean * a.
  std::vector<float> a(c), b(c);
  for (int64_t j = 0; j < c; j++) {
    const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(at(1, variance, j)) + epsilon));
    a[j] = (scale ? at(3, scale, j) : 1.f) * inv;
    b[j] = (offset ? at(2, offset, j) : 0.f) - at(0, mean, j) * a[j];
  }
  const int64_t rows = total / c;
  const float* pa = a.data();
  const float* pb = b.data();
#pragma omp parallel for if (total >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* o = out + r * c;
    for (int64_t j = 0; j < c; j++) o[j] = xr[j] * pa[j] + pb[j];
  }
  return nullptr;
}

// ---- Batch normalisation in training: statistics, normalisation and gradient in one call each -----
// tfjs-layers trains BatchNormalization through ~40 generic kernels per layer (moments, batchNorm,
// their gradients, the moving averages); these two do the same work in two or three threaded passes.

/** Rows [begin, end) of `rows` for thread t of nt. */
inline void rowRange(int64_t rows, int t, int nt, int64_t* begin, int64_t* end) {
  *begin = rows * t / nt;
  *end = rows * (t + 1) / nt;
}

// batchNormTraining(heap, Int32Array [x, scale, offset, movingMean, movingVariance, y, mean, variance,
// newMovingMean, newMovingVariance, rows, channels], epsilon, momentum): over x [rows, channels],
// mean and (biased) variance per channel, y = (x - mean) / sqrt(variance + epsilon) * scale + offset,
// and the moving statistics moved towards the batch's: m - (m - batch) * (1 - momentum).
napi_value BatchNormTraining(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 4, 12, argv, &heap, &bytes, &p)) return nullptr;
  double epsilon = 0, momentum = 0;
  napi_get_value_double(env, argv[2], &epsilon);
  napi_get_value_double(env, argv[3], &momentum);
  const int64_t rows = p[10], c = p[11];
  bool ok = rows > 0 && c > 0 && inHeap(p[0], rows * c, bytes) && inHeap(p[5], rows * c, bytes);
  for (int k : {1, 2, 3, 4, 6, 7, 8, 9}) ok = ok && inHeap(p[k], c, bytes);
  if (!ok) {
    napi_throw_range_error(env, nullptr, "batchNormTraining: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  const auto f = [&](int k) { return reinterpret_cast<float*>(heap + p[k]); };
  const float *x = f(0), *scale = f(1), *offset = f(2), *movingMean = f(3), *movingVariance = f(4);
  float *y = f(5), *mean = f(6), *variance = f(7), *newMovingMean = f(8), *newMovingVariance = f(9);
  const int threads = rows * c >= kParallelMin ? omp_get_max_threads() : 1;
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
    for (int64_t i = begin; i < end; i++) {
      const float* row = x + i * c;
      for (int64_t j = 0; j < c; j++) acc[j] += row[j];
    }
#pragma omp barrier
#pragma omp single
    for (int64_t j = 0; j < c; j++) {
      double sum = 0;
      for (int k = 0; k < nt; k++) sum += partial[static_cast<size_t>(k) * c + j];
      mu[j] = sum / static_cast<double>(rows);
    }
    // Second pass over the deviations: E[x^2] - E[x]^2 loses digits when the mean is large.
    for (int64_t j = 0; j < c; j++) acc[j] = 0;
    for (int64_t i = begin; i < end; i++) {
      const float* row = x + i * c;
      for (int64_t j = 0; j < c; j++) {
        const double d = row[j] - mu[j];
        acc[j] += d * d;
      }
    }
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
    for (int64_t i = begin; i < end; i++) {
      const float* row = x + i * c;
      float* out = y + i * c;
      for (int64_t j = 0; j < c; j++) out[j] = row[j] * a[j] + b[j];
    }
  }
  return nullptr;
}

// batchNormTrainingGrad(heap, Int32Array [dy, x, mean, variance, scale, dx, dScale, dOffset, rows,
// channels], epsilon): the gradient of batchNormTraining's y through the batch statistics too:
// dx = scale * r * (dy - sum(dy) / n - (x - mean) * r^2 * sum(dy * (x - mean)) / n), r = 1/sqrt(var + eps);
// dScale = r * sum(dy * (x - mean)); dOffset = sum(dy).
napi_value BatchNormTrainingGrad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 3, 10, argv, &heap, &bytes, &p)) return nullptr;
  double epsilon = 0;
  napi_get_value_double(env, argv[2], &epsilon);
  const int64_t rows = p[8], c = p[9];
  bool ok = rows > 0 && c > 0;
  for (int k : {0, 1, 5}) ok = ok && inHeap(p[k], rows * c, bytes);
  for (int k : {2, 3, 4, 6, 7}) ok = ok && inHeap(p[k], c, bytes);
  if (!ok) {
    napi_throw_range_error(env, nullptr, "batchNormTrainingGrad: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  const auto f = [&](int k) { return reinterpret_cast<float*>(heap + p[k]); };
  const float *dy = f(0), *x = f(1), *mean = f(2), *variance = f(3), *scale = f(4);
  float *dx = f(5), *dScale = f(6), *dOffset = f(7);
  const int threads = rows * c >= kParallelMin ? omp_get_max_threads() : 1;
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
    for (int64_t i = begin; i < end; i++) {
      const float* g = dy + i * c;
      const float* row = x + i * c;
      for (int64_t j = 0; j < c; j++) {
        sumDy[j] += g[j];
        sumDyX[j] += static_cast<double>(g[j]) * (row[j] - mean[j]);
      }
    }
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
      // dx = k1 * dy + k2 * (x - mean) + k3
      k1[j] = static_cast<float>(scale[j] * r);
      k2[j] = static_cast<float>(-scale[j] * r * r * r * s2 / static_cast<double>(rows));
      k3[j] = static_cast<float>(-scale[j] * r * s1 / static_cast<double>(rows));
    }
    for (int64_t i = begin; i < end; i++) {
      const float* g = dy + i * c;
      const float* row = x + i * c;
      float* out = dx + i * c;
      for (int64_t j = 0; j < c; j++) out[j] = k1[j] * g[j] + k2[j] * (row[j] - mean[j]) + k3[j];
    }
  }
  return nullptr;
}

// ---- The network's head: softmax over classes and Keras's cross-entropy, per pixel --------------
// Few classes per pixel, many pixels: tfjs runs each step of these as its own pass over the batch.

// softmax(heap, Int32Array [logits, out, rows, classes]): out = exp(x - max) / sum(exp(x - max)) per row.
napi_value Softmax(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 2, 4, argv, &heap, &bytes, &p)) return nullptr;
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
  napi_value argv[2];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 2, 5, argv, &heap, &bytes, &p)) return nullptr;
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
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 3, 5, argv, &heap, &bytes, &p)) return nullptr;
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
    for (int64_t j = 0; j < c; j++) total += t[o + j] * std::log(std::min(hi, std::max(lo, y[o + j] / sum)));
    loss[i] = -total;
  }
  return nullptr;
}

// crossEntropyGrad(heap, Int32Array [dy, target, output, dOutput, pixels, classes], epsilon): with
// s = sum_k y_k, q = y / s and g_c = -t_c / q_c inside the clipping range (0 outside, like tfjs's clip
// gradient), dOutput_j = dy (g_j - sum_c g_c q_c) / s.
napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 3, 6, argv, &heap, &bytes, &p)) return nullptr;
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

// ---- Nearest-neighbour up-sampling by whole factors (UpSampling2D) and its gradient ---------------

// upsampleNearest(heap, Int32Array [x, y, batch, height, width, channels, fh, fw, backward]):
// forward (backward = 0): y[b, i, j, c] = x[b, i / fh, j / fw, c] for y of height*fh x width*fw;
// backward (1): x[b, i, j, c] = sum of y over its fh x fw block (y is then the gradient dy).
napi_value UpsampleNearest(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t* heap;
  size_t bytes;
  const int32_t* p;
  if (!readHeapCall(env, info, 2, 9, argv, &heap, &bytes, &p)) return nullptr;
  const int64_t batch = p[2], h = p[3], w = p[4], c = p[5], fh = p[6], fw = p[7];
  const bool backward = p[8] != 0;
  const int64_t small = batch * h * w * c, large = small * fh * fw;
  if (batch < 0 || h < 0 || w < 0 || c <= 0 || fh <= 0 || fw <= 0 || !inHeap(p[0], small, bytes) || !inHeap(p[1], large, bytes)) {
    napi_throw_range_error(env, nullptr, "upsampleNearest: bad sizes or a tensor outside the wasm heap");
    return nullptr;
  }
  float* x = reinterpret_cast<float*>(heap + p[0]);
  float* y = reinterpret_cast<float*>(heap + p[1]);
  const int64_t rowsIn = batch * h, outW = w * fw;
#pragma omp parallel for if (large >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < rowsIn; r++) {
    float* xr = x + r * w * c;
    float* yr = y + r * fh * outW * c;
    if (!backward) {
      for (int64_t j = 0; j < w; j++)
        for (int64_t k = 0; k < fw; k++) std::memcpy(yr + (j * fw + k) * c, xr + j * c, c * sizeof(float));
      for (int64_t q = 1; q < fh; q++) std::memcpy(yr + q * outW * c, yr, outW * c * sizeof(float));
    } else {
      for (int64_t j = 0; j < w; j++) {
        float* out = xr + j * c;
        for (int64_t ch = 0; ch < c; ch++) out[ch] = 0;
        for (int64_t q = 0; q < fh; q++)
          for (int64_t k = 0; k < fw; k++) {
            const float* g = yr + (q * outW + j * fw + k) * c;
            for (int64_t ch = 0; ch < c; ch++) out[ch] += g[ch];
          }
      }
    }
  }
  return nullptr;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string text = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, text.c_str(), text.size(), &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const std::pair<const char*, napi_callback> functions[] = {
      {"conv", Conv}, {"reduceLeading", ReduceLeading}, {"binary", Binary}, {"maxPoolGrad2x2", MaxPoolGrad2x2}, {"batchNorm", BatchNorm},
      {"batchNormTraining", BatchNormTraining}, {"batchNormTrainingGrad", BatchNormTrainingGrad},
      {"softmax", Softmax}, {"softmaxGrad", SoftmaxGrad}, {"crossEntropy", CrossEntropy}, {"crossEntropyGrad", CrossEntropyGrad},
      {"upsampleNearest", UpsampleNearest}, {"version", Version}};
  for (const auto& [name, callback] : functions) {
    napi_value fn;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, nullptr, &fn);
    napi_set_named_property(env, exports, name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
