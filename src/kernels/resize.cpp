// Nearest-neighbour upsampling by an integer factor: out(y, x) = in(y/f, x/f).
#include <cstring>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Resize : public NodeKernel {
 public:
  Resize(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const int f = n_.factor;
    const int C = out.shape.c;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      const float* s = in[0].row(r / f);
      float* d = out.row(r);
      for (int x = 0; x < out.shape.w; ++x)
        std::memcpy(d + int64_t(x) * C, s + int64_t(x / f) * C, size_t(C) * 4);
    });
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_resize_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Resize>(g, id);
}

}  // namespace coinfer::kernels
