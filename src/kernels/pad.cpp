// Constant padding of H and W; rows outside the input are filled here.
#include <algorithm>
#include <cstring>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Pad : public NodeKernel {
 public:
  Pad(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const int top = n_.pads[0], left = n_.pads[1];
    const int C = in_.c;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      float* d = out.row(r);
      int iy = r - top;
      std::fill(d, d + out.shape.row_elements(), n_.pad_value);
      if (iy >= 0 && iy < in_.h)
        std::memcpy(d + int64_t(left) * C, in[0].row(iy), size_t(in_.row_elements()) * 4);
    });
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_pad_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Pad>(g, id);
}

}  // namespace coinfer::kernels
