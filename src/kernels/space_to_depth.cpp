// SpaceToDepth (ONNX semantics): out channel (by * b + bx) * C + c of pixel
// (y, x) is input channel c of pixel (y * b + by, x * b + bx).
#include <cstring>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class SpaceToDepth : public NodeKernel {
 public:
  SpaceToDepth(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const int b = n_.factor;
    const BandView& x = in[0];
    const int C = x.shape.c;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      for (int ox = 0; ox < out.shape.w; ++ox) {
        float* d = out.at(r, ox);
        for (int by = 0; by < b; ++by)
          for (int bx = 0; bx < b; ++bx)
            std::memcpy(d + (by * b + bx) * C, x.at(r * b + by, ox * b + bx), size_t(C) * 4);
      }
    });
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_space_to_depth_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<SpaceToDepth>(g, id);
}

}  // namespace coinfer::kernels
