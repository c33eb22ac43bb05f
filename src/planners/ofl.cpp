// ofl (optimal fused layers, PICO's OFL baseline): efl with the fused prefix
// length f in [1, partitionable prefix] that minimises the estimated
// one-frame latency (ties: the lower period).
#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_ofl(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  const int pmax = cx.partitionable_prefix();
  std::vector<Draft> best;
  Estimate be{kInf, kInf, {}};
  for (int f = pmax > 0 ? 1 : 0; f <= pmax; ++f) {
    std::vector<Draft> s = efl_drafts(cx, f);
    if (s.empty()) continue;
    Estimate e = estimate(cx, s);
    if (e.latency_s < be.latency_s || (e.latency_s == be.latency_s && e.period_s < be.period_s)) {
      be = e;
      best = std::move(s);
    }
  }
  if (best.empty()) return fused_memory_error(cx, "ofl", fused_prefix(cx, 0));
  return finish(cx, best, "ofl");
}

}  // namespace coinfer::planners
