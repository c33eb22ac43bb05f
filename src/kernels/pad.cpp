// Constant padding of H and W; rows outside the input are filled here.
#include <algorithm>
#include <cstring>

#include "kernels/kernel.h"

namespace coinfer::kernels {

namespace {

class Pad : public Kernel {
 public:
  Pad(const graph::Node& n, Shape in) : n_(n), in_(in) {}

  Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
             Context& ctx) override {
    const int top = n_.pads[0], left = n_.pads[1];
    Rows need = Rows{rows.lo - top, rows.hi - top}.clip(in_.h);
    if (!in[0].holds(need)) return errorf("Pad '{}': input band lacks rows", n_.name);
    const int C = in_.c;
    parallel_for(ctx, size_t(rows.size()), [&](size_t i) {
      int r = rows.lo + int(i);
      float* d = out.row(r);
      int iy = r - top;
      std::fill(d, d + out.shape.row_elements(), n_.pad_value);
      if (iy >= 0 && iy < in_.h)
        std::memcpy(d + int64_t(left) * C, in[0].row(iy), size_t(in_.row_elements()) * 4);
    });
    return ok_status();
  }

 private:
  const graph::Node& n_;
  Shape in_;
};

}  // namespace

std::unique_ptr<Kernel> make_pad_kernel(const graph::Graph& g, int id) {
  const graph::Node& n = g.nodes[size_t(id)];
  return std::make_unique<Pad>(n, g.nodes[size_t(n.inputs[0])].out);
}

}  // namespace coinfer::kernels
