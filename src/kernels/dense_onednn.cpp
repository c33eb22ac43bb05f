// Dense (fully connected) on oneDNN: an inner product with batch 1; weights
// [O][I] reordered once into the layout the implementation wants. Dense is
// never split into bands (its block is not partitionable), so one primitive.
#include <unordered_map>

#include "kernels/kernel.h"
#include "kernels/onednn_util.h"

namespace coinfer::kernels {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class DnnlDense : public NodeKernel {
 public:
  DnnlDense(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status init() try {
    memory::dim ic = in_.elements(), oc = n_.out.c;
    memory::desc src({1, ic}, dt::f32, tag::nc), dst({1, oc}, dt::f32, tag::nc);
    memory::desc wts({oc, ic}, dt::f32, tag::any);
    auto pk = dnnl::prop_kind::forward_inference;
    dnnl::primitive_attr attr = onednn_attr(n_);
    dnnl::engine& eng = onednn_engine();
    auto pd = [&]() -> dnnl::inner_product_forward::primitive_desc {
      if (n_.bias.empty()) return {{pk, src, wts, dst}, attr, eng};
      memory::desc b({oc}, dt::f32, tag::x);
      return {{pk, src, wts, b, dst}, attr, eng};
    }();
    memory user({{oc, ic}, dt::f32, tag::oi}, eng, const_cast<float*>(n_.weight.data()));
    weights_ = memory(pd.weights_desc(), eng);
    dnnl::stream& s = onednn_stream();
    dnnl::reorder(user, weights_).execute(s, user, weights_);
    s.wait();
    prim_ = dnnl::inner_product_forward(pd);
    src_ = memory(pd.src_desc(), eng, DNNL_MEMORY_NONE);
    dst_ = memory(pd.dst_desc(), eng, DNNL_MEMORY_NONE);
    args_ = {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_}};
    if (!n_.bias.empty())
      args_.emplace(DNNL_ARG_BIAS,
                    memory({{oc}, dt::f32, tag::x}, eng, const_cast<float*>(n_.bias.data())));
    return ok_status();
  } catch (const dnnl::error& err) {
    return errorf("Dense '{}': oneDNN rejected the inner product: {}", n_.name, err.what());
  }

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    try {
      onednn_set_threads(ctx);
      src_.set_data_handle(in[0].data);
      dst_.set_data_handle(out.data);
      dnnl::stream& s = onednn_stream();
      prim_.execute(s, args_);
      s.wait();
      return ok_status();
    } catch (const dnnl::error& err) {
      return errorf("Dense '{}': oneDNN failed: {}", n_.name, err.what());
    }
  }

 private:
  dnnl::primitive prim_;
  memory weights_, src_, dst_;
  std::unordered_map<int, memory> args_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_dense_onednn(const graph::Graph& g, int id) {
  auto k = std::make_unique<DnnlDense>(g, id);
  RETURN_IF_ERROR(k->init());
  return std::unique_ptr<Kernel>(std::move(k));
}

}  // namespace coinfer::kernels
