// Argument readers shared by the addon's entry points (see common.h).
#include "common.h"

#include <string>

namespace leukoseg {

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

bool HeapCall::read(napi_env env, napi_callback_info info, size_t argc, size_t ints) {
  return argc <= 4 && readArgs(env, info, argc, argv) && readHeap(env, argv[0], &heap, &bytes) && readInts(env, argv[1], ints, &p);
}

double readNumber(napi_env env, napi_value value) {
  double out = 0;
  napi_get_value_double(env, value, &out);
  return out;
}

napi_value refuse(napi_env env, const char* what) {
  napi_throw_range_error(env, nullptr, (std::string(what) + ": bad sizes or a tensor outside the wasm heap").c_str());
  return nullptr;
}

}  // namespace leukoseg
