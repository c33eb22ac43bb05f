// Conv on XNNPACK. The operator is created once (weights packed once) with
// zero top/bottom padding: vertical padding arrives as real zero rows in the
// input band, so every band runs the same arithmetic as the whole frame.
// Left/right padding stays implicit (bands split rows only).
#include <xnnpack.h>

#include "kernels/kernel.h"
#include "kernels/xnnpack_util.h"

namespace coinfer::kernels {

namespace {

class XnnConv : public NodeKernel {
 public:
  XnnConv(const graph::Graph& g, int id, xnn_operator_t op) : NodeKernel(g, id), op_(op) {}
  ~XnnConv() override { xnn_delete_operator(op_); }

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    Rows rows_in = need(0, rows);  // includes the zero rows beyond the border
    const float* src = in[0].row(rows_in.lo);
    float* dst = out.row(rows.lo);
    size_t h = size_t(rows_in.size());
    if (src != last_src_ || dst != last_dst_ || h != last_h_) {
      xnn_status st = xnn_setup_convolution2d_nhwc_f32(op_, 1, h, size_t(in_.w), src, dst, ctx.pool);
      if (st != xnn_status_success)
        return errorf("Conv '{}': XNNPACK setup failed (status {})", n_.name, int(st));
      last_src_ = src;
      last_dst_ = dst;
      last_h_ = h;
    }
    xnn_status st = xnn_run_operator(op_, ctx.pool);
    if (st != xnn_status_success)
      return errorf("Conv '{}': XNNPACK run failed (status {})", n_.name, int(st));
    if (!xnn_fusable(n_.act)) apply_activation(n_, dst, size_t(rows.size() * out.shape.row_elements()));
    return ok_status();
  }

 private:
  xnn_operator_t op_;
  const float* last_src_ = nullptr;
  float* last_dst_ = nullptr;
  size_t last_h_ = 0;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv_xnnpack(const graph::Graph& g, int id) {
  RETURN_IF_ERROR(xnnpack_init());
  const graph::Node& n = g.nodes[size_t(id)];
  const Shape& in = g.nodes[size_t(n.inputs[0])].out;
  const graph::Window& w = n.win;
  int oc = n.out.c;
  size_t gin = size_t(in.c / n.groups), gout = size_t(oc / n.groups);
  std::vector<float> zero_bias;
  if (n.bias.empty()) zero_bias.assign(size_t(oc), 0.f);
  auto [lo, hi] = xnn_clamp(n);
  xnn_operator_t op = nullptr;
  xnn_status st = xnn_create_convolution2d_nhwc_f32(
      0, uint32_t(w.pr), 0, uint32_t(w.pl), uint32_t(w.kh), uint32_t(w.kw), uint32_t(w.sh),
      uint32_t(w.sw), uint32_t(w.dh), uint32_t(w.dw), uint32_t(n.groups), gin, gout,
      size_t(in.c), size_t(oc), n.weight.data(), n.bias.empty() ? zero_bias.data() : n.bias.data(),
      lo, hi, 0, &op);
  if (st != xnn_status_success)
    return errorf("Conv '{}': XNNPACK rejected the operator (status {})", n.name, int(st));
  return std::unique_ptr<Kernel>(new XnnConv(g, id, op));
}

}  // namespace coinfer::kernels
