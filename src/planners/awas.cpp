// awas (EdgeCI's auction-based workload assignment, ACM TOIT 2024) with the
// fused blocks fixed: segments end at every block that shrinks the height
// (EdgeLD's fusion up to pooling / strided boundaries); each segment's output
// is sold by awas_stage; the non-partitionable tail runs whole on the device
// holding the largest share of its input.
//
// awas_stage [ours, after SYSTEMS.md]: a reverse auction of K equal strips of
// the segment's output (K = 4 x devices, at most the height). Each round every
// device bids its finish time with one more strip,
//   b_i = t_in + t_comp_i(halo-expanded band of n_i + 1 strips) [+ t_out]
// (part_seconds: profiled, non-linear cost; t_out only to the sink at the
// model's end: elsewhere the output is the next segment's input, and the
// device that keeps it moves nothing). A device's strips merge into one
// contiguous band, so its halo is paid once: bands lie in the order of
// `devs`, and a bid is priced on the band the device would then hold (its
// position shifts as devices before it win). The lowest bid wins (ties: the
// device listed first). Devices that win nothing get no rows.
#include <algorithm>

#include "planners/common.h"

namespace coinfer::planners {

Draft awas_stage(Context& cx, int a, int b, const std::vector<int>& devs, int strips) {
  const int h = cx.out_height(b - 1);
  const int n = int(devs.size());
  const int k = std::min(h, strips > 0 ? strips : 4 * n);
  auto row = [&](int strip) { return int(int64_t(strip) * h / k); };
  // Device i's band if it wins one more strip: its strips follow those of the
  // devices before it in `devs`.
  std::vector<int> won(devs.size(), 0);
  auto bid = [&](int i) {
    int before = 0;
    for (int j = 0; j < i; ++j) before += won[size_t(j)];
    return part_seconds(cx, a, b, devs[size_t(i)],
                        {row(before), row(before + won[size_t(i)] + 1)}, false);
  };
  for (int sold = 0; sold < k; ++sold) {
    int w = 0;
    double best = kInf;
    for (int i = 0; i < n; ++i) {
      double v = bid(i);
      if (v < best) {
        best = v;
        w = i;
      }
    }
    ++won[size_t(w)];
  }
  std::vector<Rows> rows(devs.size());
  int at = 0;
  for (int i = 0; i < n; ++i) {
    rows[size_t(i)] = {row(at), row(at + won[size_t(i)])};
    at += won[size_t(i)];
  }
  return make_stage(a, b, devs, rows);
}

namespace {

// Fixed fused segments: [start, k + 1) ends at every partitionable block k
// whose output is shorter than its input, then at the partitionable prefix's
// end; the tail (if any) is one more segment.
std::vector<std::pair<int, int>> downsampling_segments(Context& cx) {
  const int nb = cx.n_blocks(), p = cx.partitionable_prefix();
  std::vector<std::pair<int, int>> segs;
  int start = 0;
  for (int k = 0; k < p; ++k)
    if (k + 1 == p || cx.out_height(k) < cx.in_shape(k).h) {
      segs.push_back({start, k + 1});
      start = k + 1;
    }
  if (start < nb) segs.push_back({start, nb});
  return segs;
}

}  // namespace

Result<plan::Plan> plan_awas(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  std::vector<Draft> stages;
  for (auto [a, b] : downsampling_segments(cx)) {
    Draft s = segment_draft(cx, a, b, stages.empty() ? nullptr : &stages.back(),
                            [](Context& c, int x, int y, const std::vector<int>& d) {
                              return awas_stage(c, x, y, d, 0);
                            });
    if (s.parts.empty()) return segment_memory_error(cx, "awas", a, b);
    stages.push_back(std::move(s));
  }
  return finish(cx, stages, "awas");
}

}  // namespace coinfer::planners
