// layerwise (PipeEdge / Neurosurgeon style): contiguous block segments, each
// whole on one device, as a pipeline. DP over (set of devices used, blocks
// done) minimising the bottleneck stage time, ties by latency; stage time as
// in common.h. At most the 10 fastest devices take part (the DP is over their
// subsets; a layer-wise pipeline gains nothing from many slow devices).
#include <algorithm>

#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_layerwise(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  const int nb = cx.n_blocks();
  std::vector<int> devs = cx.by_capacity();
  if (devs.size() > 10) devs.resize(10);
  const int n = int(devs.size());
  const size_t stride = size_t(nb + 1);
  // Stage time of [a, b) on devs[i]; kInf if it does not fit.
  std::vector<double> t(size_t(nb + 1) * stride * size_t(n), -1);
  auto stage = [&](int a, int b, int i) {
    double& v = t[(size_t(a) * stride + size_t(b)) * size_t(n) + size_t(i)];
    if (v < 0) {
      if (!cx.fits(devs[size_t(i)], a, b)) {
        v = kInf;
      } else {
        Draft s;
        s.a = a;
        s.b = b;
        s.parts.push_back({devs[size_t(i)], {0, cx.out_height(b - 1)}, {0, 0}});
        v = stage_time(cx, s, a == 0, b == nb).total;
      }
    }
    return v;
  };
  struct Label {
    double period = kInf, latency = kInf;
    int from_mask = -1, from_j = -1, dev = -1;
  };
  auto better = [](double p, double l, const Label& x) {
    return p < x.period || (p == x.period && l < x.latency);
  };
  std::vector<Label> f((size_t(1) << n) * stride);
  f[0] = {0, 0, -1, -1, -1};
  for (size_t mask = 0; mask < (size_t(1) << n); ++mask)
    for (int j0 = 0; j0 < nb; ++j0) {
      const Label cur = f[mask * stride + size_t(j0)];
      if (cur.period == kInf) continue;
      for (int i = 0; i < n; ++i) {
        if (mask >> i & 1) continue;
        for (int j = j0 + 1; j <= nb; ++j) {
          double s = stage(j0, j, i);
          if (s == kInf) break;  // larger ranges need more memory
          double p = std::max(cur.period, s), l = cur.latency + s;
          if (l > o.latency_bound_s) continue;
          Label& dst = f[(mask | size_t(1) << i) * stride + size_t(j)];
          if (better(p, l, dst)) dst = {p, l, int(mask), j0, i};
        }
      }
    }
  size_t best = 0;
  for (size_t mask = 1; mask < (size_t(1) << n); ++mask)
    if (better(f[mask * stride + size_t(nb)].period, f[mask * stride + size_t(nb)].latency,
               f[best * stride + size_t(nb)]))
      best = mask;
  if (f[best * stride + size_t(nb)].period == kInf) {
    if (o.latency_bound_s < kInf)
      return errorf(
          "layerwise: latency bound {:.4g} s is infeasible for model '{}' on cluster '{}'",
          o.latency_bound_s, cm.graph().name, cm.cluster().name);
    return errorf(
        "layerwise: model '{}' does not fit in device memory on cluster '{}': no "
        "sequence of devices holds all its blocks",
        cm.graph().name, cm.cluster().name);
  }
  std::vector<Draft> stages;
  for (size_t mask = best, j = size_t(nb); j > 0;) {
    const Label& l = f[mask * stride + j];
    Draft s;
    s.a = l.from_j;
    s.b = int(j);
    s.parts.push_back({devs[size_t(l.dev)], {0, cx.out_height(int(j) - 1)}, {0, 0}});
    stages.push_back(s);
    mask = size_t(l.from_mask);
    j = size_t(l.from_j);
  }
  std::reverse(stages.begin(), stages.end());
  return finish(cx, stages, "layerwise");
}

}  // namespace coinfer::planners
