// SHA-256 (FIPS 180-4), the content hash that keys the worker's weight cache.
// Self-contained so the runtime needs no crypto library.
//
//   Sha256 h;  h.update(data, n);  std::string hex = h.hex();
//   Result<std::string> f = sha256_file("vgg16.onnx");   // 64 lowercase hex digits
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace coinfer::runtime {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // Finishes and returns the digest as 64 lowercase hex digits. The object is
  // spent afterwards (call reset() to reuse it).
  std::string hex();
  void reset();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_;
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes
};

std::string sha256_hex(const void* data, size_t n);
// Streams the file; an error names the path and the cause.
Result<std::string> sha256_file(const std::string& path);

// True if `s` is 64 lowercase hex digits (a well-formed digest).
bool is_sha256_hex(const std::string& s);

}  // namespace coinfer::runtime
