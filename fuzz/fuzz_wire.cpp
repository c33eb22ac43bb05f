// libFuzzer target: the wire decoder (net::decode), fed 1-3 frames.
// Input layout: u16 LE length of frame 0, frame 0, then frame 1 (the payload)
// if any bytes are left; a 0xFFFF length means three frames, split in half.
// Property: decode never crashes, and a message that decodes re-encodes to
// exactly the same bytes (the encoding is canonical).
#include <cstring>

#include "net/wire.h"

using namespace coinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t len0 = size_t(data[0]) | size_t(data[1]) << 8;
  data += 2;
  size -= 2;
  net::Frames frames;
  if (len0 == 0xFFFF) {
    frames.emplace_back(data, size / 2);
    frames.emplace_back(data + size / 2, size - size / 2);
    frames.emplace_back();
  } else {
    const size_t n0 = std::min(len0, size);
    frames.emplace_back(data, n0);
    if (n0 < size) frames.emplace_back(data + n0, size - n0);
  }
  Result<net::Message> m = net::decode(frames);
  if (!m.ok()) return 0;
  Result<net::Frames> again = net::encode(std::move(m).value());
  if (!again.ok() || again->size() != frames.size()) __builtin_trap();
  for (size_t i = 0; i < frames.size(); ++i) {
    const zmq::message_t &a = frames[i], &b = (*again)[i];
    if (a.size() != b.size() || std::memcmp(a.data(), b.data(), a.size()) != 0) __builtin_trap();
  }
  return 0;
}
