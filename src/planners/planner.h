// Planners: pure functions (cost model + options) -> plan. The cost model
// carries the graph, its blocks and the cluster; a planner reads nothing else
// and anything random takes `Options::seed`. Every plan a planner returns has
// passed plan::validate; an infeasible request (latency bound, memory) is an
// error naming the constraint. One file per strategy; algorithms and what is
// [paper] vs [ours] in docs/PLANNERS.md.
//
//   planners::Options o;  o.latency_bound_s = 2.0;
//   Result<plan::Plan> p = planners::make_plan("pico", cost_model, o);
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cost/cost_model.h"
#include "plan/plan.h"

namespace coinfer::planners {

struct Options {
  // pico / apico: upper bound on the one-frame latency (sum of stage times,
  // seconds) the pipeline may have.
  double latency_bound_s = std::numeric_limits<double>::infinity();
  // apico: Poisson arrival rate (frames/s) the plan must serve.
  double rate = 0;
  // coedge: one-frame latency limit, seconds (infinity: minimise energy alone).
  double deadline_s = std::numeric_limits<double>::infinity();
  uint64_t seed = 1;  // randomised planners
  // ftp: grid of grid_rows x grid_cols tiles (0 = automatic, see ftp.cpp).
  int grid_rows = 0, grid_cols = 0;
  // ftp / efl: fused prefix length in blocks (0 = automatic: up to the last
  // block whose output height is >= 1/8 of the input height).
  int fused_blocks = 0;
  // pico: improvements over the paper [ours]; off = Algorithms 1 + 2 only.
  bool pico_local_search = true;  // move / swap devices, shift stage boundaries
  bool pico_exact = true;         // exact DP over device classes when small
  // distredge: a policy trained by `coinfer train distredge` (empty: LC-PSS
  // LVs split in proportion to capacity, no training).
  std::string policy_path;
};

using PlanFn = Result<plan::Plan> (*)(const cost::CostModel& cm, const Options& o);

struct Strategy {
  std::string name;
  std::string description;  // one line
  PlanFn fn = nullptr;
};

// All strategies, in a fixed order.
const std::vector<Strategy>& strategies();

// Runs strategy `name`; an unknown name is an error listing the known ones.
Result<plan::Plan> make_plan(const std::string& name, const cost::CostModel& cm, const Options& o);

// --- The strategies (one file each) ---
Result<plan::Plan> plan_single(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_layerwise(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_modnn(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_ftp(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_efl(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_ofl(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_aofl(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_pico(const cost::CostModel& cm, const Options& o);
// pico, then interleaved pipelines (interleave.cpp): boundaries moved by a
// block on some of K pipelines; pico's plan when that gains < 0.5%. When
// pico's plan splits a stage, the chain of its devices one stage each
// (single_device_chain) is interleaved too and wins if its flow-model period
// is lower by more than 0.5%. A finite latency bound is kept by every pipeline.
Result<plan::Plan> plan_pico_interleaved(const cost::CostModel& cm, const Options& o);
// The interleaving itself, of any one-pipeline plan of whole single-device
// stages (other plans come back unchanged).
Result<plan::Plan> interleave(const cost::CostModel& cm, const plan::Plan& p,
                              double latency_bound_s);
// The devices of a one-pipeline plan (in order of first use), one whole
// stage each, over block ranges minimising the busiest stage's load
// (compute plus its bands' transport); an empty plan if there is none
// (fewer than 2 devices, more devices than blocks, memory).
plan::Plan single_device_chain(const cost::CostModel& cm, const plan::Plan& p);
// PICO exactly as published: Algorithm 1 + Algorithm 2 + balanced rows.
Result<plan::Plan> plan_pico_paper(const cost::CostModel& cm, const Options& o);
// EdgeCI: AWAS alone on fixed fused blocks, DPFL alone with proportional
// splits, and both (awas.cpp, dpfl.cpp).
Result<plan::Plan> plan_awas(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_dpfl(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_edgeci(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_apico(const cost::CostModel& cm, const Options& o);
// CoEdge: min energy per frame with one-frame latency <= Options::deadline_s
// (an LP solved with COIN-OR Clp); an unreachable deadline is an error.
Result<plan::Plan> plan_coedge(const cost::CostModel& cm, const Options& o);
Result<plan::Plan> plan_distredge(const cost::CostModel& cm, const Options& o);

// The planners' predictions for a plan (common.h).
//   estimate: the flow model, close to the simulator's steady state: period =
//     the busiest device (compute) or channel (transfers, one shared medium or
//     one per device pair), transfers overlapping other frames' compute;
//     latency = per stage, input transfers + slowest part, then the output.
//   pico_estimate: PICO's model: per stage, input transfer + compute + output
//     transfer (transfers summed over the stage's parts on a shared medium);
//     latency = sum of stage times; period = max over devices of the summed
//     times of the stages it serves (max stage time for a pipeline).
// An invalid plan estimates as infinite.
struct Estimate {
  double period_s = 0;
  double latency_s = 0;
  std::vector<double> stage_s;  // each stage's share of the latency
};
Estimate estimate(const cost::CostModel& cm, const plan::Plan& p);
Estimate pico_estimate(const cost::CostModel& cm, const plan::Plan& p);

// Mean response time (seconds) of an M/D/1 queue served every `period_s`
// with one-frame latency `latency_s` at Poisson rate `rate` (APICO):
// p(2 - p rate) / (2 (1 - p rate)) + t; infinity when p rate >= 1.
double md1_response_s(double period_s, double latency_s, double rate);

// A standalone SVG picture of a plan: x = blocks, y = devices, one rectangle
// per assignment coloured by stage and labelled with its rows (and columns).
std::string plan_svg(const plan::Plan& p, const cost::CostModel& cm);

}  // namespace coinfer::planners
