// Adaptive runs (`coinfer run --adaptive`): the coordinator plans the model
// on the devices it can reach, deploys, streams, and re-plans live when
//   - a worker falls silent (heartbeats; dead_after_s): its frames in flight
//     are re-run on a plan over the surviving devices;
//   - a lost worker answers again (probed every probe_s), or a new one does:
//     the plan grows back;
//   - the arrival rate makes the other mode better (strategy "apico": PICO's
//     pipeline vs the one-stage aofl plan by M/D/1 response time, with
//     hysteresis);
//   - a device's measured task times move by a factor 1 + `drift` from what
//     they were earlier in the plan: its speed estimate is corrected;
//   - the measured rate into a device (transfer times of bands its worker
//     was waiting for) falls `link_drop` times below what it was earlier in
//     the plan: its access link in the cost model is set to the estimate.
// Load and drift switches wait min_dwell_s after the last switch; failures
// and rejoins do not wait. A switch happens at a frame boundary: the current
// deployment issues no more frames, its frames in flight finish on it, then
// the next plan is deployed and takes the rest (so no frame runs twice unless
// a worker was lost, and then only the frames that did not complete). Every
// frame completes or fails with a reason; every switch is logged with its
// reason.
//
//   AdaptiveOptions o;  o.run.frames = 1000;  o.run.rate = 20;  o.profile = ...;
//   AdaptiveReport r = run_adaptive(graph, cluster, o).value();
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cost/cost_model.h"
#include "planners/planner.h"
#include "runtime/coordinator.h"

namespace coinfer::runtime {

struct AdaptiveOptions {
  RunOptions run;                  // model, frames, rate (0 = closed loop), timeouts, ...
  std::string strategy = "apico";  // any planner; apico switches modes by load
  planners::Options planner;
  cost::Profile profile;           // reference profile of the cost model
  // Arrival phases (frames, rate) in order, e.g. low-high-low load; empty =
  // run.frames at run.rate.
  std::vector<std::pair<int, double>> phases;
  double heartbeat_s = 0.2;
  double dead_after_s = 1.0;       // silent this long = lost
  double probe_s = 0.5;            // lost workers are asked to Hello this often
  double min_dwell_s = 2.0;        // between load / drift switches
  double hysteresis = 0.1;        // the other mode must be this much better
  // A device's speed moving by this factor - 1 (up or down: 1 = halved or
  // doubled) triggers re-planning.
  double drift = 1.0;
  // The measured rate into a device falling this many times below the link
  // it had (and the model's) triggers re-planning.
  double link_drop = 4.0;
  double stats_s = 1.0;            // worker stats fetched this often (drift)
  double rate_window_s = 1.0;      // arrival rate: frames arrived in this window
  int max_attempts = 3;            // runs of one frame before it fails
};

struct SwitchEvent {
  double at_s = 0;     // since the first frame's arrival
  std::string reason;  // "start", "worker 'w2' lost", "load 18.3/s: pipeline better", ...
  std::string plan;    // strategy and devices of the new plan
  double deploy_s = 0;
};

struct AdaptiveReport {
  RunReport run;  // over every frame (latency from its arrival); workers empty
  std::vector<SwitchEvent> switches;
  uint64_t reruns = 0;  // frame runs repeated after a loss
  // Per frame: seconds since the first arrival at which it completed (-1:
  // failed), for throughput before / during / after an event.
  std::vector<double> done_s;
  double t0_unix_s = 0;  // wall clock (system_clock) of the first arrival
};

// The period at which a plan serves frames: the estimate's, except that the
// one-stage plan serves a frame at a time (every device is in every segment;
// PICO's parallel mode), so its period is its latency. The flow estimate's
// shorter period assumes frames interleave on the devices, which they barely
// do (resnet18 on local-4: 41 ms estimated latency, 26 ms estimated period;
// it saturated at 18.5 frames/s, 54 ms apart).
double service_period(const planners::Estimate& e, bool one_stage);

// Mean response of a plan of one-frame latency `latency_s` that takes a
// frame every `period_s`, at Poisson rate `rate`: the latency plus the M/D/1
// wait, rho p / (2 (1 - rho)) with rho = p rate; infinity when rho >= 1. The
// measured mode rule fits and predicts with this; APICO's formula
// (planners::md1_response_s, SYSTEMS.md) adds the period once more (p + t at
// no load), so a time scale fitted to a measured response with it came out
// half a one-stage plan's real one, and promised it twice its capacity
// (resnet34 on local-4: 21 frames/s promised, 9 measured).
double md1_wait_response_s(double period_s, double latency_s, double rate);

// APICO's mode rule, pure: the M/D/1 mean response (planners::md1_response_s)
// of the pipeline and the one-stage plan at `rate`, their service period
// and latency multiplied by `time_scale` (measured / predicted task time).
// `current` (if any) is kept unless the other is better by `hysteresis`
// (a fraction); when both are overloaded the shorter period wins.
struct ModeChoice {
  bool pipeline = true;
  double pipeline_s = 0, one_stage_s = 0;  // response times (inf: overloaded)
};
ModeChoice choose_mode(const planners::Estimate& pipeline, const planners::Estimate& one_stage,
                       double rate, double time_scale, std::optional<bool> current_is_pipeline,
                       double hysteresis);

Result<AdaptiveReport> run_adaptive(const graph::Graph& g, const cluster::ClusterSpec& c,
                                    const AdaptiveOptions& o);

// One line per switch, then the run's summary.
std::string to_table(const AdaptiveReport& r);

}  // namespace coinfer::runtime
