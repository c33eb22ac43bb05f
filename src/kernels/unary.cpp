// A standalone activation (one that could not be fused into its producer).
#include <cstring>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Unary : public NodeKernel {
 public:
  Unary(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const size_t len = size_t(out.shape.row_elements());
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      std::memcpy(out.row(r), in[0].row(r), len * sizeof(float));
      apply_activation(n_, out.row(r), len);
    });
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_unary_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Unary>(g, id);
}

}  // namespace coinfer::kernels
