// modnn (MoDNN BODP, DATE 2017): every block is its own stage, split across
// all devices in rows proportional to capacity (flops_per_s); devices
// synchronise after every block. A non-partitionable block (the FC tail) runs
// whole on the device holding the largest share of the previous block's
// output (DistrEdge's rule). [ours] Devices whose memory cannot hold every
// partitionable block's weights are left out.
#include <algorithm>
#include <numeric>

#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_modnn(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  const int nb = cx.n_blocks();
  ASSIGN_OR_RETURN(std::vector<int> devs, devices_holding_all_partitionable(cx, "modnn"));
  std::vector<Draft> stages;
  for (int k = 0; k < nb; ++k) {
    if (cx.partitionable(k, k + 1)) {
      stages.push_back(proportional_stage(cx, k, k + 1, devs));
      continue;
    }
    int d = whole_device(cx, k, k + 1, stages.empty() ? nullptr : &stages.back());
    if (d < 0)
      return errorf(
          "modnn: model '{}' does not fit in device memory: no device of cluster '{}' "
          "holds block {} ({:.1f} MB)",
          cm.graph().name, cm.cluster().name, k,
          (cx.weight_bytes(k, k + 1) + cx.band_bytes(k, k + 1)) / 1e6);
    Draft s;
    s.a = k;
    s.b = k + 1;
    s.parts.push_back({d, {0, cx.out_height(k)}, {0, 0}});
    stages.push_back(s);
  }
  return finish(cx, stages, "modnn");
}

}  // namespace coinfer::planners
