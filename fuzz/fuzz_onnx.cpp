// libFuzzer target: the ONNX importer from bytes (onnx_io::parse_onnx):
// protobuf decoding, every op converter, constant folding, shape inference.
// Property: never crashes, never allocates without bound (ASan's malloc
// limit), answers every bad model with an error.
#include "onnx/importer.h"

using namespace coinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)onnx_io::parse_onnx(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
  return 0;
}
