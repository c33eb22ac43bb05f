// efl (early fused layers, PICO's EFL baseline, DeepThings-like): the fused
// prefix [0, f) split in rows across all devices in proportion to capacity,
// then the rest [f, end) whole on the fastest device (that holds it). The
// default prefix: up to the last block whose output height is >= 1/8 of the
// input height (see fused_prefix); --fused-blocks overrides it.
#include "planners/common.h"

namespace coinfer::planners {

std::vector<Draft> efl_drafts(Context& cx, int f) {
  const int nb = cx.n_blocks();
  std::vector<Draft> stages;
  if (f > 0) {
    std::vector<int> devs;
    for (int d = 0; d < cx.n_devices(); ++d)
      if (cx.fits(d, 0, f)) devs.push_back(d);
    if (devs.empty()) return {};
    stages.push_back(proportional_stage(cx, 0, f, devs));
  }
  if (f < nb) {
    int d = whole_device(cx, f, nb, nullptr);
    if (d < 0) return {};
    Draft s;
    s.a = f;
    s.b = nb;
    s.parts.push_back({d, {0, cx.out_height(nb - 1)}, {0, 0}});
    stages.push_back(s);
  }
  return stages;
}

Status fused_memory_error(Context& cx, const std::string& who, int f) {
  const int nb = cx.n_blocks();
  return errorf(
      "{}: model '{}' does not fit in device memory on cluster '{}': the fused prefix "
      "[0,{}) needs {:.1f} MB per device and the rest [{},{}) {:.1f} MB on one device",
      who, cx.cm().graph().name, cx.cm().cluster().name, f,
      f > 0 ? (cx.weight_bytes(0, f) + cx.band_bytes(0, f)) / 1e6 : 0.0, f, nb,
      f < nb ? (cx.weight_bytes(f, nb) + cx.band_bytes(f, nb)) / 1e6 : 0.0);
}

Result<plan::Plan> plan_efl(const cost::CostModel& cm, const Options& o) {
  Context cx(cm);
  int f = fused_prefix(cx, o.fused_blocks);
  std::vector<Draft> stages = efl_drafts(cx, f);
  if (stages.empty()) return fused_memory_error(cx, "efl", f);
  return finish(cx, stages, "efl");
}

}  // namespace coinfer::planners
