#include "core/tensor.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace coinfer {

std::string Shape::str() const {
  if (rank == 2) return fmt::format("[1,{}]", c);
  return fmt::format("[1,{},{},{}]", c, h, w);
}

Tensor Tensor::slice(Rows sub) const {
  Tensor t(shape, sub);
  std::memcpy(t.data.data(), row(sub.lo), sizeof(float) * t.data.size());
  return t;
}

namespace {

// Parses "(1, 3, 224, 224)" or "(3,)" into dims; false on anything else.
bool parse_dims(const std::string& s, std::vector<int64_t>* dims) {
  size_t a = s.find('('), b = s.find(')');
  if (a == std::string::npos || b == std::string::npos || b < a) return false;
  std::stringstream ss(s.substr(a + 1, b - a - 1));
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    size_t i = tok.find_first_not_of(" ");
    if (i == std::string::npos) continue;
    tok = tok.substr(i);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &used);
    } catch (...) {
      return false;
    }
    if (v <= 0 || v > (1 << 24)) return false;
    dims->push_back(v);
  }
  return true;
}

std::string header_value(const std::string& h, const std::string& key) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t colon = h.find(':', k);
  if (colon == std::string::npos) return "";
  size_t end = key == "shape" ? h.find(')', colon) + 1 : h.find(',', colon);
  if (end == std::string::npos || end <= colon) return "";
  return h.substr(colon + 1, end - colon - 1);
}

}  // namespace

Result<Tensor> read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errorf("npy '{}': cannot open file", path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (all.size() < 10 || all.compare(0, 6, "\x93NUMPY") != 0)
    return errorf("npy '{}': missing \\x93NUMPY magic: not a .npy file", path);
  int major = uint8_t(all[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = uint8_t(all[8]) | (uint8_t(all[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (all.size() < 12) return errorf("npy '{}': truncated header", path);
    hlen = uint32_t(uint8_t(all[8])) | uint32_t(uint8_t(all[9])) << 8 |
           uint32_t(uint8_t(all[10])) << 16 | uint32_t(uint8_t(all[11])) << 24;
    hstart = 12;
  } else {
    return errorf("npy '{}': format version {}: must be 1, 2 or 3", path, major);
  }
  if (hstart + hlen > all.size()) return errorf("npy '{}': truncated header", path);
  std::string h = all.substr(hstart, hlen);
  std::string descr = header_value(h, "descr");
  if (descr.find("<f4") == std::string::npos)
    return errorf("npy '{}': dtype {}: must be float32 ('<f4')", path, descr);
  if (header_value(h, "fortran_order").find("False") == std::string::npos)
    return errorf("npy '{}': fortran_order: must be False (C order)", path);
  std::vector<int64_t> dims;
  if (!parse_dims(header_value(h, "shape"), &dims))
    return errorf("npy '{}': shape: must be a tuple of positive integers", path);
  if (dims.size() == 4 || dims.size() == 2) {
    if (dims[0] != 1) return errorf("npy '{}': batch {}: must be 1", path, dims[0]);
    dims.erase(dims.begin());
  }
  Shape s;
  if (dims.size() == 3) {
    s = Shape{int(dims[0]), int(dims[1]), int(dims[2]), 4};
  } else if (dims.size() == 1) {
    s = Shape{int(dims[0]), 1, 1, 2};
  } else {
    return errorf("npy '{}': rank {}: must be (1,C,H,W), (C,H,W), (1,F) or (F)", path,
                  dims.size());
  }
  size_t n = size_t(s.elements());
  if (all.size() - hstart - hlen != n * 4)
    return errorf("npy '{}': data is {} bytes: shape {} needs {}", path,
                  all.size() - hstart - hlen, s.str(), n * 4);
  const float* src = reinterpret_cast<const float*>(all.data() + hstart + hlen);
  Tensor t(s);
  int hw = s.h * s.w;
  for (int c = 0; c < s.c; ++c)
    for (int p = 0; p < hw; ++p) {
      float v;
      std::memcpy(&v, src + int64_t(c) * hw + p, 4);
      t.data[size_t(p) * s.c + c] = v;
    }
  return t;
}

Status write_npy(const std::string& path, const Tensor& t) {
  if (!t.whole()) return errorf("npy '{}': tensor holds only a band of rows", path);
  const Shape& s = t.shape;
  std::string shape = s.rank == 2 ? fmt::format("(1, {})", s.c)
                                  : fmt::format("(1, {}, {}, {})", s.c, s.h, s.w);
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) return errorf("npy '{}': cannot open for writing", path);
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t hl = uint16_t(h.size());
  char hb[2] = {char(hl & 0xff), char(hl >> 8)};
  f.write(hb, 2);
  f.write(h.data(), std::streamsize(h.size()));
  std::vector<float> nchw(t.data.size());
  int hw = s.h * s.w;
  for (int c = 0; c < s.c; ++c)
    for (int p = 0; p < hw; ++p) nchw[size_t(c) * hw + p] = t.data[size_t(p) * s.c + c];
  f.write(reinterpret_cast<const char*>(nchw.data()), std::streamsize(nchw.size() * 4));
  if (!f) return errorf("npy '{}': write failed", path);
  return ok_status();
}

}  // namespace coinfer
