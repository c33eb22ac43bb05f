// aofl (adaptive optimal fused layers, SEC 2019; PICO's one-stage scheme):
// cut the blocks into segments; each segment is fused and split across all
// devices in rows proportional to capacity (a segment that reaches the
// non-partitionable tail runs whole on the device holding the largest share of
// its input). Segments run one after the other for each frame, all devices
// taking part in each, so period = latency. DP over segment boundaries:
//   T*(i, j) = min_h T*(h, i) + T(segment [h, i) | next segment [i, j)),
// because a segment's time (input redistribution + compute + output sent on,
// stage time of common.h) depends on its neighbours: rows a device already
// holds from the previous segment's split (capacity-proportional at a
// boundary, so it depends on the boundary only) do not move. O(blocks^3).
#include <algorithm>

#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_aofl(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  const int nb = cx.n_blocks();
  ASSIGN_OR_RETURN(std::vector<int> devs, devices_holding_all_partitionable(cx, "aofl"));
  const size_t n1 = size_t(nb + 1);
  // The split at boundary j (output of block j-1), and segments.
  std::vector<Draft> boundary(n1);
  for (int j = 1; j < nb; ++j)
    if (cx.partitionable(j - 1, j)) boundary[size_t(j)] = proportional_stage(cx, j - 1, j, devs);
  std::vector<Draft> seg(n1 * n1);
  std::vector<char> valid(n1 * n1, 0);
  for (int i = 0; i < nb; ++i)
    for (int j = i + 1; j <= nb; ++j) {
      Draft& s = seg[size_t(i) * n1 + size_t(j)];
      if (cx.partitionable(i, j)) {
        s = proportional_stage(cx, i, j, devs);
        valid[size_t(i) * n1 + size_t(j)] = 1;
      } else if (j == nb) {
        int d = whole_device(cx, i, j, i > 0 ? &boundary[size_t(i)] : nullptr);
        if (d < 0) continue;
        s.a = i;
        s.b = j;
        s.parts.push_back({d, {0, cx.out_height(j - 1)}, {0, 0}});
        valid[size_t(i) * n1 + size_t(j)] = 1;
      }
    }
  auto time = [&](int h, int i, const Draft* next) {
    const Draft* prev = h > 0 ? &boundary[size_t(h)] : nullptr;
    return stage_time(cx, seg[size_t(h) * n1 + size_t(i)], h == 0, next == nullptr, prev, next)
        .total;
  };
  // F[i][j]: segments before [i, j) done; from[i][j]: start of the one before.
  std::vector<double> F(n1 * n1, kInf);
  std::vector<int> from(n1 * n1, -1);
  for (int j = 1; j <= nb; ++j)
    if (valid[size_t(j)]) F[size_t(j)] = 0;
  for (int i = 1; i < nb; ++i)
    for (int j = i + 1; j <= nb; ++j) {
      if (!valid[size_t(i) * n1 + size_t(j)]) continue;
      const Draft* next = &seg[size_t(i) * n1 + size_t(j)];
      for (int h = 0; h < i; ++h) {
        double base = F[size_t(h) * n1 + size_t(i)];
        if (base == kInf) continue;
        double v = base + time(h, i, next);
        if (v < F[size_t(i) * n1 + size_t(j)]) {
          F[size_t(i) * n1 + size_t(j)] = v;
          from[size_t(i) * n1 + size_t(j)] = h;
        }
      }
    }
  double best = kInf;
  int last = -1;
  for (int h = 0; h < nb; ++h) {
    if (F[size_t(h) * n1 + n1 - 1] == kInf) continue;
    double v = F[size_t(h) * n1 + n1 - 1] + time(h, nb, nullptr);
    if (v < best) {
      best = v;
      last = h;
    }
  }
  if (last < 0)
    return errorf(
        "aofl: model '{}' does not fit in device memory on cluster '{}': no device holds "
        "the non-partitionable tail",
        cm.graph().name, cm.cluster().name);
  std::vector<Draft> stages;
  for (int i = last, j = nb; j > 0;) {
    stages.push_back(seg[size_t(i) * n1 + size_t(j)]);
    int h = i > 0 ? from[size_t(i) * n1 + size_t(j)] : -1;
    j = i;
    i = h;
  }
  std::reverse(stages.begin(), stages.end());
  return finish(cx, stages, "aofl");
}

}  // namespace coinfer::planners
