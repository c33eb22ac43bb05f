// The strategy registry, the plan-level estimate and the M/D/1 formula.
#include <cmath>

#include "planners/common.h"

namespace coinfer::planners {

const std::vector<Strategy>& strategies() {
  static const std::vector<Strategy> s = {
      {"single", "the whole model on the fastest device that holds it", plan_single},
      {"layerwise", "contiguous block segments on single devices, DP on the bottleneck (PipeEdge)",
       plan_layerwise},
      {"modnn", "every block split across all devices by capacity, synchronised per block (MoDNN)",
       plan_modnn},
      {"ftp", "N x M grid of equal tiles over the fused prefix, rest on one device (DeepThings)",
       plan_ftp},
      {"efl", "fused prefix split across all devices by capacity, rest on the fastest (EFL)",
       plan_efl},
      {"ofl", "efl with the fused prefix length that minimises latency (OFL)", plan_ofl},
      {"aofl", "DP over fused segments, each split across all devices by capacity (AOFL)",
       plan_aofl},
      {"pico",
       "pipeline of (segment, device group) stages, min period under a latency bound "
       "(PICO + local search + exact class DP)",
       plan_pico},
      {"pico-interleaved",
       "pico, then its stage boundaries moved by a block on some of K pipelines that frames "
       "take in turn, balancing the devices' mean load [ours]",
       plan_pico_interleaved},
      {"pico-paper", "PICO as published: Algorithm 1 (homogeneous DP) + Algorithm 2 (greedy)",
       plan_pico_paper},
      {"apico", "pico or aofl, whichever has the lower M/D/1 response time at --rate (APICO)",
       plan_apico},
      {"edgeci",
       "DP over fused segments (DPFL), each sold to devices by a reverse auction of strips (AWAS) "
       "(EdgeCI)",
       plan_edgeci},
      {"awas", "EdgeCI's auction alone, on fixed fused segments (cut at every downsampling block)",
       plan_awas},
      {"dpfl", "EdgeCI's fused-segment DP alone, capacity-proportional splits", plan_dpfl},
      {"coedge",
       "every block split to minimise energy per frame under --deadline, LP with Clp (CoEdge)",
       plan_coedge},
      {"distredge",
       "LC-PSS layer-volumes split by a DDPG policy (--policy, from coinfer train distredge; "
       "without: split by capacity) (DistrEdge)",
       plan_distredge},
  };
  return s;
}

Result<plan::Plan> make_plan(const std::string& name, const cost::CostModel& cm, const Options& o) {
  std::string known;
  for (const Strategy& s : strategies()) {
    if (s.name == name) {
      if (cm.cluster().devices.empty())
        return errorf("{}: cluster '{}' has no devices", name, cm.cluster().name);
      return s.fn(cm, o);
    }
    known += (known.empty() ? "" : ", ") + s.name;
  }
  return errorf("plan: unknown strategy '{}': known strategies are {}", name, known);
}

namespace {

// One pipeline's stages [lo, hi) of the plan.
template <typename F>
Estimate estimate_pipeline(Context& cx, const plan::Plan& p, Rows span, F f) {
  const cost::CostModel& cm = cx.cm();
  std::vector<Draft> stages;
  const Estimate bad{kInf, kInf, {}};
  for (int i = span.lo; i < span.hi; ++i) {
    const plan::Stage& s = p.stages[size_t(i)];
    if (s.first_block < 0 || s.last_block > cx.n_blocks() || s.first_block >= s.last_block)
      return bad;
    const Shape& out = cx.out_shape(s.last_block - 1);
    Draft d;
    d.a = s.first_block;
    d.b = s.last_block;
    for (const plan::Assignment& a : s.parts) {
      int dev = cm.cluster().find(a.device);
      if (dev < 0 || a.rows.lo < 0 || a.rows.hi > out.h || a.cols.lo < 0 || a.cols.hi > out.w)
        return bad;
      d.parts.push_back({dev, a.rows, a.cols});
    }
    stages.push_back(std::move(d));
  }
  return f(cx, stages);
}

// Interleaved pipelines: the mean of their periods and latencies (for PICO's
// model the period is then an upper bound: the busiest device's mean load
// can be lower than the mean of each pipeline's busiest; the flow model
// replaces it by that mean load); stage_s of all stages.
template <typename F>
Estimate estimate_with(const cost::CostModel& cm, const plan::Plan& p, F f) {
  auto spans = plan::pipeline_spans(p);
  if (!spans.ok() || spans->empty()) return {kInf, kInf, {}};
  Context cx(cm);
  Estimate sum;
  for (Rows span : *spans) {
    Estimate e = estimate_pipeline(cx, p, span, f);
    sum.period_s += e.period_s / double(spans->size());
    sum.latency_s += e.latency_s / double(spans->size());
    sum.stage_s.insert(sum.stage_s.end(), e.stage_s.begin(), e.stage_s.end());
  }
  return sum;
}

}  // namespace

// Interleaved pipelines load the devices and channels with one frame of each
// pipeline per K frames: the flow model's period is the busiest mean load.
Estimate estimate(const cost::CostModel& cm, const plan::Plan& p) {
  FlowLoad all;
  int k = 0;
  Estimate e = estimate_with(cm, p, [&](Context& cx, const std::vector<Draft>& s) {
    ++k;
    return estimate(cx, s, &all);
  });
  if (std::isfinite(e.period_s)) e.period_s = all.period(k);
  return e;
}

Estimate pico_estimate(const cost::CostModel& cm, const plan::Plan& p) {
  return estimate_with(
      cm, p, [](Context& cx, const std::vector<Draft>& s) { return pico_estimate(cx, s); });
}

double md1_response_s(double period_s, double latency_s, double rate) {
  double rho = period_s * rate;
  if (!(rho < 1)) return kInf;
  return period_s * (2 - rho) / (2 * (1 - rho)) + latency_s;
}

}  // namespace coinfer::planners
