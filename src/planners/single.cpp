// single: the whole model on the fastest device whose memory holds it (the
// "offload to the best device" baseline).
#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_single(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  const int nb = cx.n_blocks();
  int d = whole_device(cx, 0, nb, nullptr);
  if (d < 0) {
    double most = 0;
    for (int k = 0; k < cx.n_devices(); ++k) most = std::max(most, cx.memory(k));
    return errorf(
        "single: model '{}' does not fit in device memory: it needs {:.1f} MB (weights {:.1f} MB) "
        "but the largest device of cluster '{}' has {:.1f} MB",
        cm.graph().name, (cx.weight_bytes(0, nb) + cx.band_bytes(0, nb)) / 1e6,
        cx.weight_bytes(0, nb) / 1e6, cm.cluster().name, most / 1e6);
  }
  Draft s;
  s.a = 0;
  s.b = nb;
  s.parts.push_back({d, {0, cx.out_height(nb - 1)}, {0, 0}});
  return finish(cx, {s}, "single");
}

}  // namespace coinfer::planners
