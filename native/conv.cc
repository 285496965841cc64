// 2-D convolutions on oneDNN, run in place on tfjs-backend-wasm's heap (layouts are tfjs's:
// activations NHWC, filters HWIO; a gradient's convolution may run on blocked copies, see Layouts).
//
// conv(kind, heap: ArrayBuffer, params: Int32Array of 27)
//   params [N, H, W, Ci, KH, KW, Co, OH, OW, strideH, strideW, padTop, padLeft, padBottom, padRight,
//           dilationH, dilationW, hasBias, activation, A, B, C, D, E, F, G, H] (A-H: byte offsets)
// kind 0 forward:          C = act(conv(x @A, w @B) + bias @D)   (bias when hasBias = 1; activation 0 linear, 1 relu)
// kind 1 input gradient:   C = dx from dy @A and w @B
// kind 2 filter gradient:  C = dw from x @A and dy @B, and D = dbias = sum of dy when hasBias = 1
// kind 3 the same through a ReLU: F = g = dy @B where y @E > 0 else 0 (y: the layer's ReLU output),
//                          then C = dw from x @A and g, and D = dbias = sum of g when hasBias = 1
// kind 4 a layer's whole backward: through a ReLU (activation = 1) kind 3's F, C and D, else kind 2's
//                          C and D from dy; and H = dx from g (or dy) and w @G, in one call (on two
//                          threads, one computes the filter and bias gradients while the other
//                          computes the input's, each on a single-threaded primitive)
// Offsets a kind does not use are ignored. Primitives are built once per geometry and cached:
// building one costs far more than running it on these small images.
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common.h"

namespace leukoseg {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int kParams = 27;
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
  memory scratchpad;           // its scratch memory, bound per call to the calling thread's buffer
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

// The blocked copies live in one buffer per argument slot (and per thread, for the filter gradient
// split over the batch), shared by every primitive and grown to the largest need: calls run one at a
// time, and a buffer per cached primitive would keep hundreds of MB (every layer, batch size and
// kind) alive for nothing. Slots 0-3 hold arguments A-D, 4 and 5 a thread's partial filter and bias
// gradients, 6 oneDNN's scratch memory.
constexpr int kSlots = 7;

/**
 * Zeroed memory mapped straight from the system, unmapped when dropped: a grown buffer's old block (and
 * timing's stand-ins, see blockedIsFaster) go back at once instead of staying resident in malloc's arenas.
 */
class Mapped {
 public:
  Mapped() = default;
  explicit Mapped(size_t bytes) : bytes_(std::max<size_t>(bytes, 64)) {
    data_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data_ == MAP_FAILED) {
      data_ = nullptr;
      throw std::runtime_error("out of memory for a convolution's buffer of " + std::to_string(bytes_) + " bytes");
    }
  }
  Mapped(Mapped&& other) noexcept : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  Mapped& operator=(Mapped&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
  ~Mapped() { release(); }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void release() {
    if (data_ != nullptr) munmap(data_, bytes_);
    data_ = nullptr;
  }
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

std::vector<Mapped> buffers;

/** Makes room for `threads` threads' buffers; call before a parallel region, never inside one. */
void reserveBuffers(int threads) {
  if (buffers.size() < static_cast<size_t>(threads) * kSlots) buffers.resize(static_cast<size_t>(threads) * kSlots);
}

void* scratchFor(int thread, int slot, size_t bytes) {
  Mapped& b = buffers[static_cast<size_t>(thread) * kSlots + slot];
  if (bytes > b.bytes()) b = Mapped(bytes);
  return b.data();
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
  // Scratch memory is ours (one buffer per thread, see scratchFor), so threads can run primitives at once.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
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
                memory(fwd.scratchpad_desc(), eng, DNNL_MEMORY_NONE),
                {}};
    if (hasBias) p.args.push_back(argument(DNNL_ARG_BIAS, false, bias, fwd.bias_desc()));
    return p;
  }
  if (kind == 1) {
    dnnl::convolution_backward_data::desc d(alg, srcIn, weiAny, dstIn, strides, dilates, padL, padR);
    dnnl::convolution_backward_data::primitive_desc pd(d, attr, eng, fwd);
    if (plainLayouts && slowImplementation(pd.impl_info_str())) return buildWith(kind, g, false);
    return {dnnl::convolution_backward_data(pd),
            {argument(DNNL_ARG_DIFF_DST, false, dst, pd.diff_dst_desc()), argument(DNNL_ARG_WEIGHTS, false, wei, pd.weights_desc()),
             argument(DNNL_ARG_DIFF_SRC, true, src, pd.diff_src_desc())},
            memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE),
            {}};
  }
  auto d = hasBias ? dnnl::convolution_backward_weights::desc(alg, srcIn, weiAny, bias, dstIn, strides, dilates, padL, padR)
                   : dnnl::convolution_backward_weights::desc(alg, srcIn, weiAny, dstIn, strides, dilates, padL, padR);
  dnnl::convolution_backward_weights::primitive_desc pd(d, attr, eng, fwd);
  if (plainLayouts && slowImplementation(pd.impl_info_str())) return buildWith(kind, g, false);
  Primitive p{dnnl::convolution_backward_weights(pd),
              {argument(DNNL_ARG_SRC, false, src, pd.src_desc()), argument(DNNL_ARG_DIFF_DST, false, dst, pd.diff_dst_desc()),
               argument(DNNL_ARG_DIFF_WEIGHTS, true, wei, pd.diff_weights_desc())},
              memory(pd.scratchpad_desc(), eng, DNNL_MEMORY_NONE),
              {}};
  if (hasBias) p.args.push_back(argument(DNNL_ARG_DIFF_BIAS, true, bias, pd.diff_bias_desc()));
  return p;
}

/** Points a built primitive's execution arguments at its memory objects (the reordered copy where there is one). */
Primitive finish(Primitive p) {
  for (const Argument& a : p.args) p.execArgs.emplace(a.id, a.reordered ? a.chosen : a.user);
  p.execArgs.emplace(DNNL_ARG_SCRATCHPAD, p.scratchpad);
  return p;
}

void execute(Primitive& prim, const std::array<void*, 4>& data, int lane);

/**
 * How the gradients' convolutions (kinds 1 and 2) lay out activations: in tfjs's NHWC as they are
 * ("plain"), in blocked layouts of oneDNN's choosing with reorders in and out ("blocked"), or, by default
 * ("timed"), whichever of the two ran faster when the primitive was built (see blockedIsFaster).
 * Measured per geometry because it depends on the CPU: on an AVX2 EPYC the blocked filter gradient of
 * Model 3's 64x64 5x5 layers took 4.6 against 5.9 ms for two images, while on the AVX-512 machine
 * this addon was first measured on, blocked layouts ran those layers no faster and the reorders came
 * on top; a 1x1 layer's reorders cost more than its convolution.
 * Forward convolutions stay plain: inference meets a new geometry with every image size, where timing
 * would cost more than it could save. LEUKOSEG_CONV_LAYOUTS=plain|blocked|timed chooses.
 */
enum class Layouts { timed, plain, blocked };

Layouts layoutsWanted() {
  static const Layouts wanted = [] {
    const char* v = std::getenv("LEUKOSEG_CONV_LAYOUTS");
    const std::string value = v == nullptr ? "" : v;
    if (value.empty() || value == "timed") return Layouts::timed;
    if (value == "plain") return Layouts::plain;
    if (value == "blocked") return Layouts::blocked;
    throw std::runtime_error("LEUKOSEG_CONV_LAYOUTS must be timed, plain or blocked, not '" + value + "'");
  }();
  return wanted;
}

/**
 * Whether `blocked` ran faster than `plain` (two builds of one geometry): each runs once to warm up, then
 * five times, the two taking turns so that a passing load or clock change falls on both; the best run
 * of each counts. On zero-filled stand-ins for the tensors.
 */
bool blockedIsFaster(Primitive& blocked, Primitive& plain, int lane) {
  reserveBuffers(lane < 0 ? 1 : lane + 1);
  std::vector<Mapped> standIns;  // zeros, page-aligned
  std::array<void*, 4> data{};
  for (size_t i = 0; i < plain.args.size(); i++) {
    standIns.emplace_back(plain.args[i].user.get_desc().get_size());
    data[i] = standIns.back().data();
  }
  std::array<Primitive*, 2> candidates = {&blocked, &plain};
  std::array<double, 2> best = {1e30, 1e30};
  for (Primitive* p : candidates) execute(*p, data, lane);  // pages in the buffers, warms the kernels
  for (int run = 0; run < 5; run++) {
    for (int c = 0; c < 2; c++) {
      const auto start = std::chrono::steady_clock::now();
      execute(*candidates[c], data, lane);
      best[c] = std::min(best[c], std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  return best[0] < best[1];
}

Primitive build(int kind, const Geometry& g, int lane) {
  Primitive plain = finish(buildWith(kind, g, true));
  const Layouts wanted = kind == 0 ? Layouts::plain : layoutsWanted();
  if (wanted == Layouts::plain) return plain;
  Primitive blocked = finish(buildWith(kind, g, false));
  const bool differs = std::any_of(blocked.args.begin(), blocked.args.end(), [](const Argument& a) { return a.reordered; });
  if (!differs || wanted == Layouts::blocked) return differs ? std::move(blocked) : std::move(plain);
  // Each candidate is timed with the threads it will run on (one for a lane's primitive).
  return blockedIsFaster(blocked, plain, lane) ? std::move(blocked) : std::move(plain);
}

/**
 * The primitive of `kind` for `g`; `lane` -1 for one that runs on every thread, t >= 0 for thread
 * t's own, built to run on that thread alone (see filterGradSplit).
 */
Primitive& cached(int kind, Geometry g, int lane = -1) {
  // Fields a kind ignores are left out of its key.
  if (kind == 1) g[17] = 0;
  if (kind != 0) g[18] = 0;
  static std::map<std::tuple<int, Geometry, int>, Primitive> primitives;
  const auto key = std::make_tuple(kind, g, lane);
  auto found = primitives.find(key);
  if (found == primitives.end()) {
    const int threads = omp_get_max_threads();
    // oneDNN plans a primitive's work for the threads it may use when it is built.
    if (lane >= 0) omp_set_num_threads(1);
    try {
      found = primitives.emplace(key, build(kind, g, lane)).first;
    } catch (...) {
      omp_set_num_threads(threads);
      throw;
    }
    omp_set_num_threads(threads);
  }
  return found->second;
}

dnnl::stream& streamFor(int lane) {
  static std::vector<std::unique_ptr<dnnl::stream>> streams;
  if (lane < 0) return cpuStream();
  if (streams.size() <= static_cast<size_t>(lane)) streams.resize(lane + 1);
  if (!streams[lane]) streams[lane] = std::make_unique<dnnl::stream>(cpuEngine());
  return *streams[lane];
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

/** Checks that the primitive's arguments at the heap offsets `at` fit the heap; throws if not. */
void checkArguments(const Primitive& prim, const std::array<int64_t, 4>& at, size_t heapBytes) {
  for (size_t i = 0; i < prim.args.size(); i++) {
    if (!inHeap(at[i], static_cast<int64_t>(prim.args[i].user.get_desc().get_size() / 4), heapBytes)) {
      throw std::runtime_error("tensor " + std::to_string(i) + " lies outside the wasm heap");
    }
  }
}

/**
 * Runs an argument's reorder. A filter's (at most a few ten thousand values) runs on the calling thread:
 * oneDNN would start the other threads for it, and each start wakes a sleeping thread (PASSIVE), which
 * costs more than the copy, most of all when another process holds the core.
 */
void reorder(Argument& a, dnnl::stream& stream, const memory& from, const memory& to) {
  const bool filter = a.id == DNNL_ARG_WEIGHTS || a.id == DNNL_ARG_DIFF_WEIGHTS;
  const int threads = omp_get_max_threads();
  if (filter && threads > 1) omp_set_num_threads(1);
  try {
    a.reorder.execute(stream, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
  } catch (...) {
    omp_set_num_threads(threads);
    throw;
  }
  omp_set_num_threads(threads);
}

/** Runs a primitive on the tensors at `data` (checked), reordering through `lane`'s buffers. */
void execute(Primitive& prim, const std::array<void*, 4>& data, int lane) {
  auto& stream = streamFor(lane);
  const int thread = lane < 0 ? 0 : lane;
  for (size_t i = 0; i < prim.args.size(); i++) {
    Argument& a = prim.args[i];
    a.user.set_data_handle(data[i]);
    if (!a.reordered) continue;
    a.chosen.set_data_handle(scratchFor(thread, static_cast<int>(i), a.chosen.get_desc().get_size()));
    if (!a.output) reorder(a, stream, a.user, a.chosen);
  }
  const size_t scratchpadBytes = prim.scratchpad.get_desc().get_size();
  prim.scratchpad.set_data_handle(scratchpadBytes > 0 ? scratchFor(thread, 6, scratchpadBytes) : nullptr);
  prim.prim.execute(stream, prim.execArgs);
  for (Argument& a : prim.args) {
    if (a.reordered && a.output) reorder(a, stream, a.chosen, a.user);
  }
  stream.wait();
}

/** Thread t's share of a batch split: its first image, and the primitive of `kind` built for one thread on its images. */
struct Lane {
  int64_t begin;
  Primitive* prim;
};

/** The lanes of `threads` threads over g's batch (their streams and buffers made); call outside a parallel region. */
std::vector<Lane> splitLanes(int kind, const Geometry& g, int threads) {
  reserveBuffers(threads);
  std::vector<Lane> lanes(threads);
  for (int t = 0; t < threads; t++) {
    streamFor(t);
    int64_t begin, end;
    rowRange(g[0], t, threads, &begin, &end);
    Geometry part = g;
    part[0] = static_cast<int32_t>(end - begin);
    lanes[t] = {begin, &cached(kind, part, t)};
  }
  return lanes;
}

/**
 * The filter gradient (kind 2, or 3 through a ReLU) with the batch split between the threads: each
 * runs a primitive of its own, built for one thread, on its images (masking its part of dy first for
 * kind 3), then the partial gradients are summed into C and D. oneDNN's own threading of this
 * primitive waits at barriers by spinning, which multiplied its CPU time when another process held a
 * core; split this way the threads only meet once, at an OpenMP barrier.
 */
void filterGradSplit(int kind, const Geometry& g, const int32_t* offsets, uint8_t* heap, size_t heapBytes, int threads) {
  const int64_t N = g[0];
  const int64_t inImage = static_cast<int64_t>(g[1]) * g[2] * g[3], outImage = static_cast<int64_t>(g[7]) * g[8] * g[6];
  const int64_t weights = static_cast<int64_t>(g[4]) * g[5] * g[3] * g[6], biases = g[17] == 1 ? g[6] : 0;
  const std::vector<Lane> lanes = splitLanes(2, g, threads);
  std::vector<std::array<int64_t, 4>> at(threads);
  for (int t = 0; t < threads; t++) {
    const int64_t begin = lanes[t].begin;
    // Thread 0 writes the outputs; the others their partial sums, added after.
    const int64_t dW = t == 0 ? offsets[2] : -1, dB = t == 0 ? offsets[3] : -1;
    at[t] = {offsets[0] + begin * inImage * 4, (kind == 3 ? offsets[5] : offsets[1]) + begin * outImage * 4, dW, dB};
  }
  checkArguments(*lanes[0].prim, at[0], heapBytes);
  const int64_t all = N * outImage;
  if (!inHeap(offsets[0], N * inImage, heapBytes) || !inHeap(offsets[1], all, heapBytes) ||
      (kind == 3 && (!inHeap(offsets[4], all, heapBytes) || !inHeap(offsets[5], all, heapBytes)))) {
    throw std::runtime_error("x, dy, y or g lies outside the wasm heap");
  }
  // The partial sums live outside the heap: point those arguments at the threads' buffers.
  std::vector<float*> partialW(threads, nullptr), partialB(threads, nullptr);
  for (int t = 1; t < threads; t++) {
    partialW[t] = static_cast<float*>(scratchFor(t, 4, weights * 4));
    if (biases > 0) partialB[t] = static_cast<float*>(scratchFor(t, 5, biases * 4));
  }
  std::string failure;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    // This thread's primitive was built for one thread: oneDNN reads the thread count again at execution.
    omp_set_num_threads(1);
    try {
      int64_t begin, end;
      rowRange(N, t, threads, &begin, &end);
      if (kind == 3) {
        reluMask(floatsAt(heap, offsets[1]) + begin * outImage, floatsAt(heap, offsets[4]) + begin * outImage,
                 floatsAt(heap, offsets[5]) + begin * outImage, (end - begin) * outImage);
      }
      std::array<void*, 4> data = {heap + at[t][0], heap + at[t][1], nullptr, nullptr};
      data[2] = t == 0 ? static_cast<void*>(heap + at[t][2]) : partialW[t];
      data[3] = biases == 0 ? nullptr : t == 0 ? static_cast<void*>(heap + at[t][3]) : partialB[t];
      execute(*lanes[t].prim, data, t);
    } catch (const std::exception& e) {
#pragma omp critical
      failure = e.what();
    }
#pragma omp barrier
    if (failure.empty()) {
      int64_t begin, end;
      rowRange(weights + biases, t, omp_get_num_threads(), &begin, &end);
      float* dW = floatsAt(heap, offsets[2]);
      float* dB = biases > 0 ? floatsAt(heap, offsets[3]) : nullptr;
      for (int64_t i = begin; i < end; i++) {
        for (int k = 1; k < threads; k++) {
          if (i < weights) dW[i] += partialW[k][i];
          else dB[i - weights] += partialB[k][i - weights];
        }
      }
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

/**
 * Whether a forward convolution or an input gradient (kinds 0 and 1) of N images runs as batchSplit:
 * with the images shared out evenly, or many of them. Model 3's 5x5 layers took 0.86 ms per image on
 * one thread each against 1.31 ms for both images on oneDNN's two threads.
 */
bool batchSplitWanted(int64_t images, int threads) {
  return threads > 1 && images >= threads && (images % threads == 0 || images >= 4 * threads);
}

/**
 * A forward convolution or input gradient (kind 0 or 1) with the batch split between the threads, each
 * running a primitive of its own, built for one thread, on its images: the threads meet once, at the end.
 */
void batchSplit(int kind, const Geometry& g, const int32_t* offsets, uint8_t* heap, size_t heapBytes, int threads) {
  const int64_t inImage = static_cast<int64_t>(g[1]) * g[2] * g[3], outImage = static_cast<int64_t>(g[7]) * g[8] * g[6];
  // Per image: kind 0 reads x at A and writes y at C; kind 1 reads dy at A and writes dx at C.
  const int64_t aImage = kind == 0 ? inImage : outImage, cImage = kind == 0 ? outImage : inImage;
  const std::vector<Lane> lanes = splitLanes(kind, g, threads);
  std::vector<std::array<int64_t, 4>> at(threads);
  for (int t = 0; t < threads; t++) {
    const int64_t begin = lanes[t].begin;
    at[t] = {offsets[0] + begin * aImage * 4, offsets[1], offsets[2] + begin * cImage * 4, offsets[3]};
    checkArguments(*lanes[t].prim, at[t], heapBytes);
  }
  const bool bias = kind == 0 && g[17] == 1;
  std::string failure;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    // This thread's primitive was built for one thread: oneDNN reads the thread count again at execution.
    omp_set_num_threads(1);
    try {
      execute(*lanes[t].prim, {heap + at[t][0], heap + at[t][1], heap + at[t][2], bias ? heap + at[t][3] : nullptr}, t);
    } catch (const std::exception& e) {
#pragma omp critical
      failure = e.what();
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

void run(int kind, uint8_t* heap, size_t heapBytes, const int32_t* p);

/**
 * Kind 4: the ReLU mask (when activation = 1; else g is dy itself), then the filter (and bias) gradient
 * and the input gradient. With exactly two threads each takes one of the two on a primitive built for
 * one thread (their work is about equal for a square filter), so the step meets at one barrier after
 * the mask and no other: oneDNN's own threading of the input gradient splits the images between the
 * threads and waits at its joins. Elsewhere it runs kind 3 (or 2) then kind 1, each on every thread.
 */
void layerGrad(const Geometry& g, const int32_t* offsets, uint8_t* heap, size_t heapBytes) {
  const bool relu = g[18] == 1;
  // The gradient the convolutions read: the masked g at F, or dy at B.
  const int32_t source = relu ? offsets[5] : offsets[1];
  if (omp_get_max_threads() != 2) {
    // kind 1 reads dy at A, w at B and writes dx at C: here g, w and dx.
    const int32_t inputGrad[kOffsets] = {source, offsets[6], offsets[7], 0, 0, 0, 0, 0};
    int32_t p[kParams];
    std::memcpy(p, g.data(), sizeof(g));
    std::memcpy(p + kGeometry, offsets, sizeof(int32_t) * kOffsets);
    run(relu ? 3 : 2, heap, heapBytes, p);
    std::memcpy(p + kGeometry, inputGrad, sizeof(inputGrad));
    run(1, heap, heapBytes, p);
    return;
  }
  const int64_t outputs = static_cast<int64_t>(g[0]) * g[7] * g[8] * g[6];
  if (!inHeap(offsets[1], outputs, heapBytes) || (relu && (!inHeap(offsets[4], outputs, heapBytes) || !inHeap(offsets[5], outputs, heapBytes)))) {
    throw std::runtime_error("dy, y or g lies outside the wasm heap");
  }
  Primitive& filterGrad = cached(2, g, 0);
  Primitive& inputGrad = cached(1, g, 1);
  const std::array<int64_t, 4> filterAt = {offsets[0], source, offsets[2], offsets[3]};
  const std::array<int64_t, 4> inputAt = {source, offsets[6], offsets[7], 0};
  checkArguments(filterGrad, filterAt, heapBytes);
  checkArguments(inputGrad, inputAt, heapBytes);
  reserveBuffers(2);
  streamFor(0);
  streamFor(1);
  std::string failure;
#pragma omp parallel num_threads(2)
  {
    const int t = omp_get_thread_num();
    // Each primitive was built for one thread: oneDNN reads the thread count again at execution.
    omp_set_num_threads(1);
    if (relu) {
      int64_t begin, end;
      rowRange(outputs, t, omp_get_num_threads(), &begin, &end);
      reluMask(floatsAt(heap, offsets[1]) + begin, floatsAt(heap, offsets[4]) + begin, floatsAt(heap, offsets[5]) + begin, end - begin);
#pragma omp barrier
    }
    try {
      if (t == 0) execute(filterGrad, {heap + filterAt[0], heap + filterAt[1], heap + filterAt[2], g[17] == 1 ? heap + filterAt[3] : nullptr}, 0);
      else execute(inputGrad, {heap + inputAt[0], heap + inputAt[1], heap + inputAt[2], nullptr}, 1);
    } catch (const std::exception& e) {
#pragma omp critical
      failure = e.what();
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
}

void run(int kind, uint8_t* heap, size_t heapBytes, const int32_t* p) {
  Geometry g;
  std::memcpy(g.data(), p, sizeof(g));
  const int32_t* offsets = p + kGeometry;
  if (kind == 4) {
    layerGrad(g, offsets, heap, heapBytes);
    return;
  }
  const int threads = std::min<int64_t>(omp_get_max_threads(), g[0]);
  if ((kind == 2 || kind == 3) && threads > 1) {
    filterGradSplit(kind, g, offsets, heap, heapBytes, threads);
    return;
  }
  if ((kind == 0 || kind == 1) && batchSplitWanted(g[0], threads)) {
    batchSplit(kind, g, offsets, heap, heapBytes, threads);
    return;
  }
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
  checkArguments(prim, at, heapBytes);
  reserveBuffers(1);
  execute(prim, {heap + at[0], heap + at[1], heap + at[2], heap + at[3]}, -1);
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
  if (kind < 0 || kind > 4) {
    napi_throw_range_error(env, nullptr, "conv: kind must be 0 (forward), 1 (input gradient), 2 (filter gradient), 3 (filter gradient through a ReLU) or 4 (a ReLU layer's backward)");
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
