// Plain direct convolution: the reference the XNNPACK kernel is tested
// against. Reads padding rows from the band (as the XNNPACK kernel does) and
// treats columns outside [0, W) as zero.
#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class RefConv : public NodeKernel {
 public:
  RefConv(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const graph::Window& w = n_.win;
    const BandView& x = in[0];
    int oc = out.shape.c, gin = in_.c / n_.groups, gout = oc / n_.groups;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int oy = rows.lo + int(i);
      for (int ox = 0; ox < out.shape.w; ++ox) {
        float* o = out.at(oy, ox);
        for (int co = 0; co < oc; ++co) {
          int gi = co / gout;
          float acc = n_.bias.empty() ? 0.f : n_.bias[size_t(co)];
          for (int ky = 0; ky < w.kh; ++ky) {
            int iy = oy * w.sh - w.pt + ky * w.dh;
            for (int kx = 0; kx < w.kw; ++kx) {
              int ix = ox * w.sw - w.pl + kx * w.dw;
              if (ix < 0 || ix >= in_.w) continue;
              const float* px = x.at(iy, ix) + gi * gin;
              const float* wt = n_.weight.data() + ((size_t(co) * w.kh + ky) * w.kw + kx) * gin;
              for (int ci = 0; ci < gin; ++ci) acc += px[ci] * wt[ci];
            }
          }
          o[co] = acc;
        }
        apply_activation(n_, o, size_t(oc));
      }
    });
    return ok_status();
  }

};

class RefDense : public NodeKernel {
 public:
  RefDense(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    size_t ic = size_t(in[0].shape.elements());
    parallel_for(ctx, size_t(n_.out.c), [&](size_t o) {
      float acc = n_.bias.empty() ? 0.f : n_.bias[o];
      const float* wt = n_.weight.data() + o * ic;
      for (size_t i = 0; i < ic; ++i) acc += in[0].data[i] * wt[i];
      out.data[o] = acc;
    });
    apply_activation(n_, out.data, size_t(n_.out.c));
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_conv_reference(const graph::Graph& g, int id) {
  return make_node_kernel<RefConv>(g, id);
}

std::unique_ptr<Kernel> make_dense_reference(const graph::Graph& g, int id) {
  return make_node_kernel<RefDense>(g, id);
}

}  // namespace coinfer::kernels
