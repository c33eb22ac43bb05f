// Conv on oneDNN, with the same contract as the XNNPACK conv: zero top/bottom
// padding (vertical padding arrives as real zero rows in the input band), left
// and right padding implicit, NHWC activations in place.
//
// oneDNN primitives are shape-specific, so there is one primitive per distinct
// input height, created lazily and cached. For bands to be bit-identical to
// the whole frame every height must run the *same* implementation: the one
// chosen for the whole-frame height is the reference, and for every other
// height we walk oneDNN's implementation list (next_impl) to that same name,
// and fail loudly if it is not there (never silently run another).
// The implementation may still pick another weights blocking for another
// height (brgconv uses 64-wide output-channel blocks for a whole 56x56 frame,
// 32-wide for a few rows, to balance threads); that only changes which output
// channels are computed together, not the order of any output's reduction,
// so weights are reordered once per layout in use and shared by all heights
// (tests/band_zoo_test.cpp checks the bits).
// oneDNN fixes a primitive's thread count when it is created: the executor
// sets the OpenMP thread count before creating kernels, and every run sets it
// from the context before any lazy creation.
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/onednn_util.h"

namespace coinfer::kernels {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

class DnnlConv : public NodeKernel {
 public:
  DnnlConv(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    try {
      onednn_set_threads(ctx);
      Rows rows_in = need(0, rows);  // includes the zero rows beyond the border
      ASSIGN_OR_RETURN(Entry * e, entry(rows_in.size(), rows.size()));
      e->src.set_data_handle(in[0].row(rows_in.lo));
      e->dst.set_data_handle(out.row(rows.lo));
      dnnl::stream& s = onednn_stream();
      e->prim.execute(s, e->args);
      s.wait();
      return ok_status();
    } catch (const dnnl::error& err) {
      return errorf("Conv '{}': oneDNN failed: {}", n_.name, err.what());
    }
  }

  // The implementation every height runs (e.g. "brgconv:avx512_core").
  const std::string& impl() const { return impl_; }

 private:
  struct Entry {
    dnnl::primitive prim;
    memory src, dst;
    std::unordered_map<int, memory> args;
  };

  memory::dims src_dims(int h) const { return {1, in_.c, h, in_.w}; }
  memory::dims dst_dims(int h) const { return {1, n_.out.c, h, n_.out.w}; }

  // Primitive descriptor for input height h_in (output height h_out), weights
  // in whatever layout the implementation prefers.
  dnnl::convolution_forward::primitive_desc make_pd(int h_in, int h_out) const {
    const graph::Window& w = n_.win;
    memory::desc src(src_dims(h_in), dt::f32, tag::nhwc);
    memory::desc dst(dst_dims(h_out), dt::f32, tag::nhwc);
    memory::desc wts(weight_dims(), dt::f32, tag::any);
    memory::dims strides = {w.sh, w.sw}, dil = {w.dh - 1, w.dw - 1};
    memory::dims pad_l = {0, w.pl}, pad_r = {0, w.pr};
    auto pk = dnnl::prop_kind::forward_inference;
    auto alg = dnnl::algorithm::convolution_direct;
    dnnl::primitive_attr attr = onednn_attr(n_);
    if (n_.bias.empty()) {
      dnnl::convolution_forward::desc d(pk, alg, src, wts, dst, strides, dil, pad_l, pad_r);
      return {d, attr, onednn_engine()};
    }
    memory::desc b({n_.out.c}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(pk, alg, src, wts, b, dst, strides, dil, pad_l, pad_r);
    return {d, attr, onednn_engine()};
  }

  memory::dims weight_dims() const {
    int G = n_.groups, O = n_.out.c, I = in_.c / G;
    if (G == 1) return {O, I, n_.win.kh, n_.win.kw};
    return {G, O / G, I, n_.win.kh, n_.win.kw};
  }

  int out_height(int h_in) const {
    const graph::Window& w = n_.win;
    return (h_in - ((w.kh - 1) * w.dh + 1)) / w.sh + 1;
  }

  // Chooses the implementation (on the whole-frame height) and packs the
  // weights into its layout, once.
 public:
  Status init() try {
    int h_full = in_.h + n_.win.pt + n_.win.pb;
    auto pd = make_pd(h_full, out_height(h_full));
    impl_ = pd.impl_info_str();
    packed(pd.weights_desc());
    if (!n_.bias.empty())
      bias_ = memory({{n_.out.c}, dt::f32, tag::x}, onednn_engine(),
                     const_cast<float*>(n_.bias.data()));
    return ok_status();
  } catch (const dnnl::error& err) {
    return errorf("Conv '{}': oneDNN rejected the convolution: {}", n_.name, err.what());
  }


 private:
  Result<Entry*> entry(int h_in, int h_out) {
    auto it = cache_.find(h_in);
    if (it != cache_.end()) return &it->second;
    if (out_height(h_in) != h_out)
      return errorf("Conv '{}': {} input rows cannot give {} output rows", n_.name, h_in, h_out);
    auto pd = make_pd(h_in, h_out);
    // Walk to the reference implementation.
    while (pd.impl_info_str() != impl_) {
      if (!pd.next_impl())
        return errorf("Conv '{}': oneDNN has no '{}' implementation for {} input rows; bands "
                      "would not be exact",
                      n_.name, impl_, h_in);
    }
    Entry e;
    e.prim = dnnl::convolution_forward(pd);
    e.src = memory(pd.src_desc(), onednn_engine(), DNNL_MEMORY_NONE);
    e.dst = memory(pd.dst_desc(), onednn_engine(), DNNL_MEMORY_NONE);
    e.args = {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_WEIGHTS, packed(pd.weights_desc())},
              {DNNL_ARG_DST, e.dst}};
    if (!n_.bias.empty()) e.args.emplace(DNNL_ARG_BIAS, bias_);
    return &(cache_[h_in] = std::move(e));
  }

  // The weights in layout `d` (reordered from OHWI on first use, then shared).
  memory packed(const memory::desc& d) {
    for (auto& [desc, mem] : weights_)
      if (desc == d) return mem;
    memory::desc user(weight_dims(), dt::f32, n_.groups == 1 ? tag::ohwi : tag::gohwi);
    memory src(user, onednn_engine(), const_cast<float*>(n_.weight.data()));
    memory dst(d, onednn_engine());
    dnnl::stream& s = onednn_stream();
    dnnl::reorder(src, dst).execute(s, src, dst);
    s.wait();
    weights_.emplace_back(d, dst);
    return dst;
  }

  std::string impl_;
  std::vector<std::pair<memory::desc, memory>> weights_;  // one per layout in use
  memory bias_;
  std::map<int, Entry> cache_;  // by input height
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv_onednn(const graph::Graph& g, int id) {
  auto k = std::make_unique<DnnlConv>(g, id);
  RETURN_IF_ERROR(k->init());
  return std::unique_ptr<Kernel>(std::move(k));
}

}  // namespace coinfer::kernels
