// ftp (DeepThings fused tile partitioning, TCAD 2018): the fused prefix [0, f)
// (as efl) cut into an N x M grid of equal tiles, one tile per device (the
// plan format has one part per device per stage, so N * M <= devices; tiles
// go to the fastest devices first), then the rest whole on the fastest device
// (DeepThings' gateway). Default grid: M = floor(sqrt(D)) columns and
// N = floor(D / M) rows (2x2 on 4 devices, 4x2 on 8); --grid overrides.
// DeepThings' work stealing is not modelled: tiles are assigned statically.
#include <cmath>

#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_ftp(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  const int nb = cx.n_blocks();
  const int f = fused_prefix(cx, o.fused_blocks);
  std::vector<int> devs;
  if (f > 0)
    for (int d : cx.by_capacity())
      if (cx.fits(d, 0, f)) devs.push_back(d);
  const int nd = int(devs.size());
  std::vector<Draft> stages;
  if (f > 0 && nd > 0) {
    int rows = o.grid_rows, cols = o.grid_cols;
    if (rows > 0 || cols > 0) {
      if (rows <= 0 || cols <= 0)
        return errorf("ftp: grid {}x{}: both dimensions must be > 0", rows, cols);
      if (rows * cols > nd)
        return errorf(
            "ftp: grid {}x{} has {} tiles but only {} devices hold the fused prefix (one "
            "tile per device)",
            rows, cols, rows * cols, nd);
    } else {
      cols = std::max(1, int(std::floor(std::sqrt(double(nd)))));
      rows = std::max(1, nd / cols);
    }
    const Shape& out = cx.out_shape(f - 1);
    rows = std::min(rows, out.h);
    cols = std::min(cols, out.w);
    Draft s;
    s.a = 0;
    s.b = f;
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        Rows r{out.h * i / rows, out.h * (i + 1) / rows};
        Rows c = cols == 1 ? Rows{0, 0} : Rows{out.w * j / cols, out.w * (j + 1) / cols};
        s.parts.push_back({devs[size_t(i * cols + j)], r, c});
      }
    stages.push_back(s);
  }
  if (f == 0 || nd == 0 || f < nb) {
    int a = nd > 0 ? f : 0;
    int d = whole_device(cx, a, nb, nullptr);
    if (d < 0) return fused_memory_error(cx, "ftp", f);
    Draft s;
    s.a = a;
    s.b = nb;
    s.parts.push_back({d, {0, cx.out_height(nb - 1)}, {0, 0}});
    stages.push_back(s);
  }
  return finish(cx, stages, "ftp");
}

}  // namespace coinfer::planners
