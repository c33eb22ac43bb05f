// Concat along channels: each output pixel is the inputs' pixels side by side.
#include <cstring>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Concat : public NodeKernel {
 public:
  Concat(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const int W = out.shape.w, C = out.shape.c;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      int off = 0;
      for (const BandView& v : in) {
        const int c = v.shape.c;
        const float* s = v.row(r);
        float* d = out.row(r) + off;
        for (int x = 0; x < W; ++x) std::memcpy(d + int64_t(x) * C, s + int64_t(x) * c, size_t(c) * 4);
        off += c;
      }
    });
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_concat_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Concat>(g, id);
}

}  // namespace coinfer::kernels
