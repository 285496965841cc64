// 2-D convolutions on oneDNN, run in place on tfjs-backend-wasm's heap (layouts are tfjs's:
// activations NHWC, filters HWIO).
//
// conv(kind, heap: ArrayBuffer, params: Int32Array of 25)
//   params [N, H, W, Ci, KH, KW, Co, OH, OW, strideH, strideW, padTop, padLeft, padBottom, padRight,
//           dilationH, dilationW, hasBias, activation, A, B, C, D, E, F] (A-F: byte offsets)
// kind 0 forward:          C = act(conv(x @A, w @B) + bias @D)   (bias when hasBias = 1; activation 0 linear, 1 relu)
// kind 1 input gradient:   C = dx from dy @A and w @B
// kind 2 filter gradient:  C = dw from x @A and dy @B, and D = dbias = sum of dy when hasBias = 1
// kind 3 the same through a ReLU: F = g = dy @B where y @E > 0 else 0 (y: the layer's ReLU output),
//                          then C = dw from x @A and g, and D = dbias = sum of g when hasBias = 1
// Offsets a kind does not use are ignored. Primitives are built once per geometry and cached:
// building one costs far more than running it on these small images.
#include <omp.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "common.h"

namespace leukoseg {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int kParams = 25;
constexpr int kGeometry = 19;
constexpr int kOffsets = kParams - kGeometry;
using Geometry = std::array<int32_t, kGeometry>;

// One argument of a primitive: the tensor as tfjs lays it out on the heap (user), and, when oneDNN
// runs faster on a blocked layout of its own choosing, that layout plus the reorder between the two.
// Inputs are reordered in before the primitive, outputs out after it. The memory objects are made
// once; each call only points them at the tensors.
struct Argument {
  int id;
  bool output;
  memory user;
  memory chosen;
  bool reordered;
  dnnl::reorder reorder;
};

struct Primitive {
  dnnl::primitive prim;
  std::vector<Argument> args;  // in the order of the heap offsets A, B, C, then D (bias) if any
  std::unordered_map<int, memory> execArgs;
};

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
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
  auto& eng = cpuEngine();
  // Placeholder buffers: every call binds the real ones.
  Argument a{id, output, memory(user, eng, DNNL_MEMORY_NONE), memory(chosen, eng, DNNL_MEMORY_NONE), chosen != user, dnnl::reorder()};
  if (a.reordered) a.reorder = output ? dnnl::reorder(a.chosen, a.user) : dnnl::reorder(a.user, a.chosen);
  return a;
}

// oneDNN's slow fallbacks: when plain layouts only get one of these, let it choose blocked ones.
bool slowImplementation(const std::string& impl) {
  return impl.find("gemm") != std::string::npos || impl.find("ref") != std::string::npos;
}

Primitive buildWith(int kind, const Geometry& g, bool plainLayouts) {
  const memory::dim N = g[0], H = g[1], W = g[2], Ci = g[3], KH = g[4], KW = g[5], Co = g[6], OH = g[7], OW = g[8];
  const memory::dims strides = {g[9], g[10]};
  const memory::dims padL = {g[11], g[12]};
  const memory::dims padR = {g[13], g[14]};
  // oneDNN counts dilation from 0 (no gaps); tfjs from 1.
  const memory::dims dilates = {g[15] - 1, g[16] - 1};
  const memory::desc src({N, Ci, H, W}, dt::f32, tag::nhwc);
  const memory::desc wei({Co, Ci, KH, KW}, dt::f32, tag::hwio);
  const memory::desc dst({N, Co, OH, OW}, dt::f32, tag::nhwc);
  const memory::desc bias({Co}, dt::f32, tag::x);
  // Activations stay in tfjs's NHWC, which oneDNN's direct and brgemm kernels take as they are (no
  // reorder in or out); filters are small, so oneDNN may block them as it likes. 'any' everywhere
  // lets oneDNN choose blocked activations too (plus reorders), for geometries where NHWC is slow.
  const memory::desc srcIn = plainLayouts ? src : memory::desc({N, Ci, H, W}, dt::f32, tag::any);
  const memory::desc dstIn = plainLayouts ? dst : memory::desc({N, Co, OH, OW}, dt::f32, tag::any);
  const memory::desc weiAny({Co, Ci, KH, KW}, dt::f32, tag::any);
  auto& eng = cpuEngine();
  const auto alg = dnnl::algorithm::convolution_direct;
  const bool hasBias = (kind == 0 || kind == 2) && g[17] == 1;
  const bool relu = kind == 0 && g[18] == 1;
  const auto prop = dnnl::prop_kind::forward_training;
  auto fwdDesc = hasBias ? dnnl::convolution_forward::desc(prop, alg, srcIn, weiAny, bias, dstIn, strides, dilates, padL, padR)
                         : dnnl::convolution_forward::desc(prop, alg, srcIn, weiAny, dstIn, strides, dilates, padL, padR);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  dnnl::convolution_forward::primitive_desc fwd(fwdDesc, attr, eng);
  if (kind == 0) {
    if (plainLayouts && slowImplementation(fwd.impl_info_str())) return buildWith(kind, g, false);
    Primitive p{dnnl::convolution_forward(fwd),
                {argument(DNNL_ARG_SRC, false, src, fwd.src_desc()), argument(DNNL_ARG_WEIGHTS, false, wei, fwd.weights_desc()),
                 argument(DNNL_ARG_DST, true, dst, fwd.dst_desc())},
                {}};
    if (hasBias) p.args.push_back(argument(DNNL_ARG_BIAS, false, bias, fwd.bias_desc()));
    return p;
  }
  if (kind == 1) {
    dnnl::convolution_backward_data::desc d(alg, srcIn, weiAny, dstIn, strides, dilates, padL, padR);
    dnnl::convolution_backward_data::primitive_desc pd(d, eng, fwd);
    if (plainLayouts && slowImplementation(pd.impl_info_str())) return buildWith(kind, g, false);
    return {dnnl::convolution_backward_data(pd),
            {argument(DNNL_ARG_DIFF_DST, false, dst, pd.diff_dst_desc()), argument(DNNL_ARG_WEIGHTS, false, wei, pd.weights_desc()),
             argument(DNNL_ARG_DIFF_SRC, true, src, pd.diff_src_desc())},
            {}};
  }
  auto d = hasBias ? dnnl::convolution_backward_weights::desc(alg, srcIn, weiAny, bias, dstIn, strides, dilates, padL, padR)
                   : dnnl::convolution_backward_weights::desc(alg, srcIn, weiAny, dstIn, strides, dilates, padL, padR);
  dnnl::convolution_backward_weights::primitive_desc pd(d, eng, fwd);
  if (plainLayouts && slowImplementation(pd.impl_info_str())) return buildWith(kind, g, false);
  Primitive p{dnnl::convolution_backward_weights(pd),
              {argument(DNNL_ARG_SRC, false, src, pd.src_desc()), argument(DNNL_ARG_DIFF_DST, false, dst, pd.diff_dst_desc()),
               argument(DNNL_ARG_DIFF_WEIGHTS, true, wei, pd.diff_weights_desc())},
              {}};
  if (hasBias) p.args.push_back(argument(DNNL_ARG_DIFF_BIAS, true, bias, pd.diff_bias_desc()));
  return p;
}

Primitive build(int kind, const Geometry& g) {
  Primitive p = buildWith(kind, g, true);
  for (size_t i = 0; i < p.args.size(); i++) {
    Argument& a = p.args[i];
    p.execArgs.emplace(a.id, a.reordered ? a.chosen : a.user);
  }
  return p;
}

Primitive& cached(int kind, Geometry g) {
  // Fields a kind ignores are left out of its key.
  if (kind == 1) g[17] = 0;
  if (kind != 0) g[18] = 0;
  static std::map<std::pair<int, Geometry>, Primitive> primitives;
  const auto key = std::make_pair(kind, g);
  auto found = primitives.find(key);
  if (found == primitives.end()) found = primitives.emplace(key, build(kind, g)).first;
  return found->second;
}

/** g = dy where y > 0, else 0. */
LEUKOSEG_SIMD_CLONES
void reluMask(const float* __restrict dy, const float* __restrict y, float* __restrict g, int64_t n) {
  for (int64_t i = 0; i < n; i++) g[i] = y[i] > 0.f ? dy[i] : 0.f;
}

void reluMaskParallel(const float* dy, const float* y, float* g, int64_t n) {
  const int threads = n >= kParallelMin ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(threads)
  {
    int64_t begin, end;
    rowRange(n, omp_get_thread_num(), omp_get_num_threads(), &begin, &end);
    reluMask(dy + begin, y + begin, g + begin, end - begin);
  }
}

void run(int kind, uint8_t* heap, size_t heapBytes, const int32_t* p) {
  Geometry g;
  std::memcpy(g.data(), p, sizeof(g));
  const int32_t* offsets = p + kGeometry;
  const int primitiveKind = kind == 3 ? 2 : kind;
  Primitive& prim = cached(primitiveKind, g);
  // The heap offsets of the primitive's arguments, in its order.
  std::array<int64_t, 4> at = {offsets[0], offsets[1], offsets[2], offsets[3]};
  if (kind == 3) {
    const int64_t outputs = static_cast<int64_t>(g[0]) * g[7] * g[8] * g[6];
    if (!inHeap(offsets[1], outputs, heapBytes) || !inHeap(offsets[4], outputs, heapBytes) || !inHeap(offsets[5], outputs, heapBytes)) {
      throw std::runtime_error("dy, y or g lies outside the wasm heap");
    }
    reluMaskParallel(floatsAt(heap, offsets[1]), floatsAt(heap, offsets[4]), floatsAt(heap, offsets[5]), outputs);
    at[1] = offsets[5];
  }
  auto& stream = cpuStream();
  for (size_t i = 0; i < prim.args.size(); i++) {
    Argument& a = prim.args[i];
    if (!inHeap(at[i], static_cast<int64_t>(a.user.get_desc().get_size() / 4), heapBytes)) {
      throw std::runtime_error("tensor " + std::to_string(i) + " lies outside the wasm heap");
    }
    a.user.set_data_handle(heap + at[i]);
    if (!a.reordered) continue;
    a.chosen.set_data_handle(scratchFor(i, a.chosen.get_desc().get_size()));
    if (!a.output) a.reorder.execute(stream, {{DNNL_ARG_FROM, a.user}, {DNNL_ARG_TO, a.chosen}});
  }
  prim.prim.execute(stream, prim.execArgs);
  for (Argument& a : prim.args) {
    if (a.reordered && a.output) a.reorder.execute(stream, {{DNNL_ARG_FROM, a.chosen}, {DNNL_ARG_TO, a.user}});
  }
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
  if (kind < 0 || kind > 3) {
    napi_throw_range_error(env, nullptr, "conv: kind must be 0 (forward), 1 (input gradient), 2 (filter gradient) or 3 (filter gradient through a ReLU)");
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

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string text = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, text.c_str(), text.size(), &out);
  return out;
}

}  // namespace

std::vector<Export> convExports() { return {{"conv", Conv}, {"version", Version}}; }

}  // namespace leukoseg
