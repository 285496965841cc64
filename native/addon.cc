// leukoseg's optional native kernels, run directly on the tensors that tfjs-backend-wasm keeps in its
// WebAssembly heap (no copies: the caller passes the heap's ArrayBuffer and byte offsets; layouts are
// tfjs's, activations NHWC and filters HWIO). The entry points, one file per group:
// - conv.cc: 2-D convolutions and their gradients by oneDNN, the CPU kernel library PyTorch uses;
// - elementwise.cc: sums over leading axes, broadcast arithmetic, max pooling, up-sampling;
// - batch_norm.cc: batch normalisation, and a BatchNormalization layer's training step, fused;
// - head.cc: softmax and Keras's cross-entropy, and their gradients;
// - adam.cc: Adam's update of every variable, in one call.
// abiVersion is the layout of those calls' arguments: src/engine/native.ts refuses an addon built
// from other sources (a stale build) rather than call it with arguments it reads differently.
#include "common.h"

namespace {

// Bump on any change to an entry point's name, arguments or their meaning, with NATIVE_ABI_VERSION
// in src/engine/native.ts.
constexpr int32_t kAbiVersion = 3;

napi_value Init(napi_env env, napi_value exports) {
  for (const auto& group : {leukoseg::convExports(), leukoseg::elementwiseExports(), leukoseg::batchNormExports(),
                            leukoseg::headExports(), leukoseg::adamExports()}) {
    for (const leukoseg::Export& e : group) {
      napi_value fn;
      napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.callback, nullptr, &fn);
      napi_set_named_property(env, exports, e.name, fn);
    }
  }
  napi_value abi;
  napi_create_int32(env, kAbiVersion, &abi);
  napi_set_named_property(env, exports, "abiVersion", abi);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
