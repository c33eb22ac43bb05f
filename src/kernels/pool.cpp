// MaxPool / AvgPool over H and W. Borders are handled here (rows outside
// [0, H) are never read): max ignores padding (-inf); average divides by the
// window clipped to the padded input (count_include_pad) or to the real
// input, as PyTorch and ONNX Runtime do.
#include <algorithm>
#include <limits>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Pool : public NodeKernel {
 public:
  Pool(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const graph::Window& w = n_.win;
    const BandView& x = in[0];
    const int C = in_.c;
    const bool is_max = n_.kind == graph::OpKind::MaxPool;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int oy = rows.lo + int(i);
      int y0 = oy * w.sh - w.pt;
      for (int ox = 0; ox < out.shape.w; ++ox) {
        int x0 = ox * w.sw - w.pl;
        float* o = out.at(oy, ox);
        std::fill(o, o + C, is_max ? -std::numeric_limits<float>::infinity() : 0.f);
        int count = 0;
        for (int ky = 0; ky < w.kh; ++ky) {
          int iy = y0 + ky * w.dh;
          if (iy < 0 || iy >= in_.h) continue;
          for (int kx = 0; kx < w.kw; ++kx) {
            int ix = x0 + kx * w.dw;
            if (ix < 0 || ix >= in_.w) continue;
            const float* p = x.at(iy, ix);
            ++count;
            if (is_max) {
              for (int c = 0; c < C; ++c) o[c] = p[c] > o[c] ? p[c] : o[c];
            } else {
              for (int c = 0; c < C; ++c) o[c] += p[c];
            }
          }
        }
        if (!is_max) {
          int div = count;
          if (w.count_include_pad) {
            int hy = std::min(y0 + w.kh, in_.h + w.pb) - std::max(y0, -w.pt);
            int hx = std::min(x0 + w.kw, in_.w + w.pr) - std::max(x0, -w.pl);
            div = hy * hx;
          }
          float inv = div > 0 ? 1.f / float(div) : 0.f;
          for (int c = 0; c < C; ++c) o[c] *= inv;
        }
      }
    });
    return ok_status();
  }

};

class GlobalPool : public NodeKernel {
 public:
  GlobalPool(const graph::Graph& g, int id) : NodeKernel(g, id) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const BandView& x = in[0];
    const int C = x.shape.c;
    int64_t hw = int64_t(x.shape.h) * x.shape.w;
    float* o = out.data;
    std::fill(o, o + C, 0.f);
    for (int64_t p = 0; p < hw; ++p) {
      const float* s = x.data + p * C;
      for (int c = 0; c < C; ++c) o[c] += s[c];
    }
    float inv = 1.f / float(hw);
    for (int c = 0; c < C; ++c) o[c] *= inv;
    return ok_status();
  }

};

}  // namespace

std::unique_ptr<Kernel> make_pool_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<Pool>(g, id);
}

std::unique_ptr<Kernel> make_global_pool_kernel(const graph::Graph& g, int id) {
  return make_node_kernel<GlobalPool>(g, id);
}

}  // namespace coinfer::kernels
