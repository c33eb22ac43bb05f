// Flatten [1,C,H,W] -> [1,C*H*W] in ONNX (NCHW) order from NHWC storage, and
// Softmax over the channels of a [1,C] value: the two ops of a classifier tail.
#include <cmath>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Flatten : public NodeKernel {
 public:
  Flatten(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const BandView& x = in[0];
    const int C = x.shape.c;
    const int64_t hw = int64_t(x.shape.h) * x.shape.w;
    for (int64_t p = 0; p < hw; ++p)
      for (int c = 0; c < C; ++c) out.data[c * hw + p] = x.data[p * C + c];
    return ok_status();
  }

};

class Softmax : public NodeKernel {
 public:
  Softmax(const graph::Graph& g, int id) : NodeKernel(g, id) {}

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

};

}  // namespace

std::unique_ptr<Kernel> make_flatten_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Flatten>(g, id);
}

std::unique_ptr<Kernel> make_softmax_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Softmax>(g, id);
}

}  // namespace coinfer::kernels
