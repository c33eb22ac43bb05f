// Dense (fully connected) on XNNPACK; weights [O][I] packed once.
#include <xnnpack.h>

#include "kernels/kernel.h"
#include "kernels/xnnpack_util.h"

namespace coinfer::kernels {

namespace {

class XnnDense : public NodeKernel {
 public:
  XnnDense(const graph::Graph& g, int id, xnn_operator_t op) : NodeKernel(g, id), op_(op) {}
  ~XnnDense() override { xnn_delete_operator(op_); }

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    xnn_status st = xnn_setup_fully_connected_nc_f32(op_, 1, in[0].data, out.data, ctx.pool);
    if (st == xnn_status_success) st = xnn_run_operator(op_, ctx.pool);
    if (st != xnn_status_success)
      return errorf("Dense '{}': XNNPACK run failed (status {})", n_.name, int(st));
    if (!xnn_fusable(n_.act)) apply_activation(n_, out.data, size_t(n_.out.c));
    return ok_status();
  }

 private:
  xnn_operator_t op_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_dense_xnnpack(const graph::Graph& g, int id) {
  RETURN_IF_ERROR(xnnpack_init());
  const graph::Node& n = g.nodes[size_t(id)];
  size_t ic = size_t(g.nodes[size_t(n.inputs[0])].out.elements());
  size_t oc = size_t(n.out.c);
  auto [lo, hi] = xnn_clamp(n);
  xnn_operator_t op = nullptr;
  xnn_status st = xnn_create_fully_connected_nc_f32(ic, oc, ic, oc, n.weight.data(),
                                                    n.bias.empty() ? nullptr : n.bias.data(), lo,
                                                    hi, 0, &op);
  if (st != xnn_status_success)
    return errorf("Dense '{}': XNNPACK rejected the operator (status {})", n.name, int(st));
  return std::unique_ptr<Kernel>(new XnnDense(g, id, op));
}

}  // namespace coinfer::kernels
