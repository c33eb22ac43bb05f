// Flatten [1,C,H,W] -> [1,C*H*W] in ONNX (NCHW) order from NHWC storage, and
// Softmax over the channels of a [1,C] value: the two ops of a classifier tail.
#include <cmath>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Flatten : public Kernel {
 public:
  explicit Flatten(const graph::Node& n) : n_(n) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const BandView& x = in[0];
    if (!x.holds({0, x.shape.h})) return errorf("Flatten '{}': needs the whole input", n_.name);
    const int C = x.shape.c;
    const int64_t hw = int64_t(x.shape.h) * x.shape.w;
    for (int64_t p = 0; p < hw; ++p)
      for (int c = 0; c < C; ++c) out.data[c * hw + p] = x.data[p * C + c];
    return ok_status();
  }

 private:
  const graph::Node& n_;
};

class Softmax : public Kernel {
 public:
  explicit Softmax(const graph::Node& n) : n_(n) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const int C = out.shape.c;
    const float* x = in[0].data;
    float m = x[0];
    for (int c = 1; c < C; ++c) m = x[c] > m ? x[c] : m;
    double sum = 0;
    for (int c = 0; c < C; ++c) {
      out.data[c] = std::exp(x[c] - m);
      sum += out.data[c];
    }
    float inv = float(1.0 / sum);
    for (int c = 0; c < C; ++c) out.data[c] *= inv;
    return ok_status();
  }

 private:
  const graph::Node& n_;
};

}  // namespace

std::unique_ptr<Kernel> make_flatten_kernel(const graph::Graph& g, int id) {
  return std::make_unique<Flatten>(g.nodes[size_t(id)]);
}

std::unique_ptr<Kernel> make_softmax_kernel(const graph::Graph& g, int id) {
  return std::make_unique<Softmax>(g.nodes[size_t(id)]);
}

}  // namespace coinfer::kernels
