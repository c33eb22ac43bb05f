// Tensors: batch 1, float32, stored NHWC (row-major H, then W, then C), so a
// band of rows is one contiguous buffer. A Tensor may hold only a band of rows
// [row0, row0 + rows) of a value whose full height is shape.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer {

// Logical shape of a value. rank 4 is NCHW [1, c, h, w]; rank 2 is [1, c]
// (stored with h = w = 1).
struct Shape {
  int c = 0;
  int h = 1;
  int w = 1;
  int rank = 4;

  int64_t elements() const { return int64_t(c) * h * w; }
  int64_t row_elements() const { return int64_t(c) * w; }
  bool operator==(const Shape&) const = default;
  std::string str() const;  // "[1,64,112,112]" in NCHW order, as users know it
};

// Half-open row interval [lo, hi).
struct Rows {
  int lo = 0;
  int hi = 0;
  int size() const { return hi > lo ? hi - lo : 0; }
  bool empty() const { return hi <= lo; }
  bool operator==(const Rows&) const = default;
  Rows clip(int h) const { return {lo < 0 ? 0 : lo, hi > h ? h : hi}; }
  Rows unite(Rows o) const {
    if (empty()) return o;
    if (o.empty()) return *this;
    return {lo < o.lo ? lo : o.lo, hi > o.hi ? hi : o.hi};
  }
};

struct Tensor {
  Shape shape;     // full logical shape of the value
  int row0 = 0;    // first image row held
  int rows = 0;    // number of rows held
  std::vector<float> data;  // rows * w * c floats, NHWC

  Tensor() = default;
  explicit Tensor(Shape s) : shape(s), row0(0), rows(s.h), data(size_t(s.elements())) {}
  Tensor(Shape s, Rows band)
      : shape(s), row0(band.lo), rows(band.size()), data(size_t(band.size() * s.row_elements())) {}
  Rows band() const { return {row0, row0 + rows}; }
  bool whole() const { return row0 == 0 && rows == shape.h; }
  float* row(int r) { return data.data() + int64_t(r - row0) * shape.row_elements(); }
  const float* row(int r) const { return data.data() + int64_t(r - row0) * shape.row_elements(); }
  // Copies rows `sub` (must lie within this band) into a new band tensor.
  Tensor slice(Rows sub) const;
};

// .npy I/O in PyTorch's layout: float32, C order, shape (1,C,H,W), (C,H,W),
// (1,F) or (F). Converts to/from NHWC.
Result<Tensor> read_npy(const std::string& path);
Status write_npy(const std::string& path, const Tensor& t);

}  // namespace coinfer
