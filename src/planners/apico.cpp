// apico (APICO, PICO's adaptive mode): for Poisson arrivals at --rate lambda,
// the mean response time of a scheme with period p and latency t is (M/D/1)
//   R = p (2 - p lambda) / (2 (1 - p lambda)) + t   (infinite if p lambda >= 1).
// The pipeline (pico: p1 < t1) is compared with the one-stage scheme (aofl,
// p2 = t2), both from the planners' estimate, and the one with the lower R is
// returned; its strategy field says which and why. [paper] lambda is a moving
// average of measured arrivals; here it is given.
#include <fmt/format.h>

#include <cmath>

#include "planners/common.h"

namespace coinfer::planners {

Result<plan::Plan> plan_apico(const cost::CostModel& cm, const Options& o) {
  if (!(o.rate > 0) || !std::isfinite(o.rate))
    return errorf("apico: rate={}: the arrival rate (--rate, frames/s) must be > 0", o.rate);
  Result<plan::Plan> pipe = plan_pico(cm, o);
  Result<plan::Plan> one = plan_aofl(cm, o);
  if (!pipe.ok() && !one.ok()) return pipe.status();
  double p1 = kInf, t1 = kInf, t2 = kInf;
  if (pipe.ok()) {
    Estimate e = estimate(cm, *pipe);
    p1 = e.period_s;
    t1 = e.latency_s;
  }
  if (one.ok()) t2 = estimate(cm, *one).latency_s;
  double r1 = md1_response_s(p1, t1, o.rate), r2 = md1_response_s(t2, t2, o.rate);
  auto r_str = [](double r) {
    return r == kInf ? std::string("inf (overloaded)") : fmt::format("{:.4g} s", r);
  };
  // Both overloaded: the pipeline still serves the most frames.
  bool use_pipe = pipe.ok() && (!one.ok() || r1 < r2 || (r1 == kInf && r2 == kInf && p1 <= t2));
  plan::Plan p = use_pipe ? std::move(pipe).value() : std::move(one).value();
  p.strategy = fmt::format(
      "apico: {} at rate {:.4g}/s (M/D/1 response: pipeline {} [period {:.4g} s, latency "
      "{:.4g} s], one-stage aofl {} [period = latency {:.4g} s])",
      use_pipe ? "pipeline (pico)" : "one-stage (aofl)", o.rate, r_str(r1), p1, t1, r_str(r2), t2);
  return p;
}

}  // namespace coinfer::planners
