// Add / Mul, elementwise; the second operand may be a [1,C,1,1] value or a
// per-channel / scalar constant (broadcast over H and W).
#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Binary : public NodeKernel {
 public:
  Binary(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const bool add = n_.kind == graph::OpKind::Add;
    // a: the full-size operand; b: same size, per-channel value or constant.
    const BandView* a = &in[0];
    const BandView* b = in.size() > 1 ? &in[1] : nullptr;
    if (b && a->shape.h * a->shape.w < b->shape.h * b->shape.w) std::swap(a, b);
    const int C = out.shape.c;
    const bool same = b && b->shape == a->shape;
    const float* cst = nullptr;  // broadcast vector over channels (or scalar)
    bool scalar = false;
    if (!b) {
      cst = n_.weight.data();
      scalar = n_.weight.size() == 1;
    } else if (!same) {
      cst = b->data;
    }
    const int64_t row_len = out.shape.row_elements();
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      const float* pa = a->row(r);
      float* po = out.row(r);
      if (same) {
        const float* pb = b->row(r);
        if (add) {
          for (int64_t k = 0; k < row_len; ++k) po[k] = pa[k] + pb[k];
        } else {
          for (int64_t k = 0; k < row_len; ++k) po[k] = pa[k] * pb[k];
        }
      } else {
        for (int64_t p = 0; p < row_len; p += C)
          for (int c = 0; c < C; ++c) {
            float v = cst[scalar ? 0 : c];
            po[p + c] = add ? pa[p + c] + v : pa[p + c] * v;
          }
      }
      apply_activation(n_, po, size_t(row_len));
    });
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_binary_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Binary>(g, id);
}

}  // namespace coinfer::kernels
