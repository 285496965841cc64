// leukoseg's optional native kernels: 2-D convolutions (forward, gradient of the input, gradient of the
// filter) run by oneDNN, the CPU kernel library PyTorch uses, directly on the tensors that
// tfjs-backend-wasm keeps in its WebAssembly heap. No copies: the caller passes the heap's
// ArrayBuffer and byte offsets; layouts are tfjs's (activations NHWC, filters HWIO).
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
#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <cstring>
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
// runs faster on a blocked layout of its own choosing, a buffer in that layout plus the reorder
// between the two. Inputs are reordered in before the primitive, outputs out after it.
struct Argument {
  int id;
  bool output;
  memory::desc user;
  memory internal;  // empty when the user layout is used directly
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

Argument argument(int id, bool output, const memory::desc& user, const memory::desc& chosen) {
  Argument a{id, output, user, memory(), dnnl::reorder()};
  if (chosen != user) {
    auto& eng = cpuEngine();
    a.internal = memory(chosen, eng);
    // Placeholder user memory: the reorder primitive binds buffers at execution.
    memory userMem(user, eng, DNNL_MEMORY_NONE);
    a.reorder = output ? dnnl::reorder(a.internal, userMem) : dnnl::reorder(userMem, a.internal);
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
  std::vector<std::pair<Argument*, memory>> outputs;
  for (size_t i = 0; i < prim.args.size(); i++) {
    Argument& a = prim.args[i];
    const int64_t offset = p[kOffsets + i];
    if (offset < 0 || offset % 4 != 0 || static_cast<size_t>(offset) + a.user.get_size() > heapBytes) {
      throw std::runtime_error("tensor " + std::to_string(i) + " lies outside the wasm heap");
    }
    memory user(a.user, eng, heap + offset);
    if (!a.internal) {
      args.emplace(a.id, user);
    } else {
      args.emplace(a.id, a.internal);
      if (a.output) outputs.emplace_back(&a, user);
      else a.reorder.execute(stream, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, a.internal}});
    }
  }
  prim.prim.execute(stream, args);
  for (auto& [a, user] : outputs) a->reorder.execute(stream, {{DNNL_ARG_FROM, a->internal}, {DNNL_ARG_TO, user}});
  stream.wait();
}

napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 3) {
    napi_throw_type_error(env, nullptr, "conv(kind, heap, params) takes 3 arguments");
    return nullptr;
  }
  int32_t kind = -1;
  napi_get_value_int32(env, argv[0], &kind);
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[1], &heap, &heapBytes) != napi_ok) {
    napi_throw_type_error(env, nullptr, "conv: heap must be an ArrayBuffer");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array ||
      length != kParams) {
    napi_throw_type_error(env, nullptr, "conv: params must be an Int32Array of 23 values");
    return nullptr;
  }
  if (kind < 0 || kind > 2) {
    napi_throw_range_error(env, nullptr, "conv: kind must be 0 (forward), 1 (input gradient) or 2 (filter gradient)");
    return nullptr;
  }
  try {
    run(kind, static_cast<uint8_t*>(heap), heapBytes, static_cast<const int32_t*>(data));
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

napi_value Init(napi_env env, napi_value exports) {
  napi_value conv, version;
  napi_create_function(env, "conv", NAPI_AUTO_LENGTH, Conv, nullptr, &conv);
  napi_create_function(env, "version", NAPI_AUTO_LENGTH, Version, nullptr, &version);
  napi_set_named_property(env, exports, "conv", conv);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
