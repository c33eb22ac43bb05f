// dpfl (EdgeCI's dynamic programming over fused layers, ACM TOIT 2024) and
// edgeci (dpfl with awas as the inner split: the full system).
//
// Bottom-up DP over segment boundaries [paper: non-recursive DP; ours: the
// cost model]:  T*(j) = min over i < j of the time segment [i, j) ends when
// it follows the best path to i, on one frame's critical path
// (critical_stage): each device starts its part once it is done with the
// previous segment and the bands it lacks have arrived (scatter), computes,
// and the last segment's output reaches the sink (gather); transfers overlap
// other devices' compute, as the simulator and the runtime do. EdgeCI's
// Cost = scatter + AWAS makespan + gather, with t_free carried from segment
// to segment. A segment that reaches the non-partitionable tail runs whole on
// the device holding the largest share of its input. O(blocks^2) segment
// evaluations. Inner rule: capacity-proportional rows (dpfl alone, the fusion
// knob only) or the AWAS auction (edgeci).
#include <algorithm>

#include "planners/common.h"

namespace coinfer::planners {

Draft segment_draft(Context& cx, int a, int b, const Draft* prev, const SplitFn& split) {
  if (!cx.partitionable(a, b)) {
    Draft s;
    if (b != cx.n_blocks()) return s;
    int d = whole_device(cx, a, b, prev);
    if (d < 0) return s;
    s.a = a;
    s.b = b;
    s.parts.push_back({d, {0, cx.out_height(b - 1)}, {0, 0}});
    return s;
  }
  std::vector<int> devs;
  for (int d : cx.by_capacity())
    if (cx.fits(d, a, b)) devs.push_back(d);
  if (devs.empty()) return {};
  return split(cx, a, b, devs);
}

Status segment_memory_error(Context& cx, const std::string& who, int a, int b) {
  return errorf(
      "{}: model '{}' does not fit in device memory on cluster '{}': no device holds blocks "
      "[{},{}) ({:.1f} MB)",
      who, cx.cm().graph().name, cx.cm().cluster().name, a, b,
      (cx.weight_bytes(a, b) + cx.band_bytes(a, b)) / 1e6);
}

std::vector<Draft> dpfl_drafts(Context& cx, const SplitFn& split) {
  const int nb = cx.n_blocks();
  std::vector<double> T(size_t(nb + 1), kInf);
  std::vector<int> from(size_t(nb + 1), -1);
  std::vector<Draft> last(size_t(nb + 1));  // the last segment on the best path to j
  std::vector<std::vector<double>> done(size_t(nb + 1));  // its parts' finish times
  std::vector<double> fin;
  T[0] = 0;
  for (int j = 1; j <= nb; ++j)
    for (int i = 0; i < j; ++i) {
      if (T[size_t(i)] == kInf) continue;
      const Draft* prev = i > 0 ? &last[size_t(i)] : nullptr;
      Draft s = segment_draft(cx, i, j, prev, split);
      if (s.parts.empty()) continue;
      double t = critical_stage(cx, prev, done[size_t(i)], s, j == nb, &fin);
      if (t < T[size_t(j)]) {
        T[size_t(j)] = t;
        from[size_t(j)] = i;
        last[size_t(j)] = std::move(s);
        done[size_t(j)] = fin;
      }
    }
  std::vector<Draft> stages;
  if (T[size_t(nb)] == kInf) return stages;
  for (int j = nb; j > 0; j = from[size_t(j)]) stages.push_back(last[size_t(j)]);
  std::reverse(stages.begin(), stages.end());
  return stages;
}

namespace {

Result<plan::Plan> dp_plan(const cost::CostModel& cm, const char* who, const SplitFn& split) {
  Context cx(cm);
  std::vector<Draft> stages = dpfl_drafts(cx, split);
  if (stages.empty())
    return errorf(
        "{}: model '{}' does not fit in device memory on cluster '{}': no segmentation of its "
        "blocks fits the devices",
        who, cm.graph().name, cm.cluster().name);
  return finish(cx, stages, who);
}

}  // namespace

Result<plan::Plan> plan_dpfl(const cost::CostModel& cm, const Options& o) {
  return dp_plan(cm, "dpfl", proportional_stage);
}

Result<plan::Plan> plan_edgeci(const cost::CostModel& cm, const Options& o) {
  return dp_plan(cm, "edgeci", [](Context& cx, int a, int b, const std::vector<int>& devs) {
    return awas_stage(cx, a, b, devs, 0);
  });
}

}  // namespace coinfer::planners
