// pico (PICO, ICDCS 2021): a pipeline of stages, each a contiguous block
// segment run by a disjoint device group that splits the segment's output
// rows; minimise the period (max stage time) subject to the one-frame latency
// (sum of stage times) <= --latency-bound.
//
// [paper] Algorithm 1: homogeneous DP. The devices are replaced by |D|
//   devices of mean capacity (and mean links); a stage (i, j, p) splits its
//   output equally among p of them. P(j, u) = best pipeline over blocks
//   [0, j) using u devices = min over (i, p) of max(P(i, u - p), Ts(i, j, p)).
//   [ours] Each state keeps a Pareto front of (period, latency) labels
//   instead of one memoised value, so pruning by the latency bound does not
//   lose the optimum (exact for the bound, up to the front cap).
// [paper] Algorithm 2: keep the stages' segments and device counts; give
//   the devices, fastest first, each to the stage with the largest remaining
//   demand per device. [ours] demand: stage s with homogeneous time tau_s and
//   p_s slots has work p_s * tau_s; a device of relative capacity sigma
//   covers sigma * tau_s; remaining demand per device = (p_s tau_s -
//   tau_s sum sigma) / slots left. Then each stage's rows are balanced with
//   the profiled cost (common.h) so its devices finish together.
// [ours] Then local search (moves, swaps, boundary shifts) and, when the
//   device classes are few, an exact DP over class vectors (pico_search.cpp).
//   The best of the three is returned; pico-paper stops after Algorithm 2.
#include "planners/pico.h"

#include <algorithm>

namespace coinfer::planners {

namespace pico {

bool Score::better_than(const Score& o) const {
  auto lt = [](double x, double y) { return x < y - 1e-12 * std::max(1.0, std::abs(y)); };
  if (lt(violation, o.violation)) return true;
  if (lt(o.violation, violation)) return false;
  if (lt(period, o.period)) return true;
  if (lt(o.period, period)) return false;
  return lt(latency, o.latency);
}

void Fronts::insert(size_t state, const Label& l) {
  std::vector<int>& f = fronts_[state];
  for (int i : f) {
    const Label& x = arena_[size_t(i)];
    if (x.period <= l.period && x.latency <= l.latency) return;
  }
  f.erase(std::remove_if(f.begin(), f.end(),
                         [&](int i) {
                           const Label& x = arena_[size_t(i)];
                           return l.period <= x.period && l.latency <= x.latency;
                         }),
          f.end());
  arena_.push_back(l);
  f.push_back(int(arena_.size()) - 1);
  if (f.size() > kFront) {
    // Sorted by period (latency descending on a front); drop the interior
    // label closest in period to its predecessor.
    std::sort(f.begin(), f.end(),
              [&](int x, int y) { return arena_[size_t(x)].period < arena_[size_t(y)].period; });
    size_t drop = 1;
    double gap = kInf;
    for (size_t k = 1; k + 1 < f.size(); ++k) {
      double g = arena_[size_t(f[k])].period - arena_[size_t(f[k - 1])].period;
      if (g < gap) {
        gap = g;
        drop = k;
      }
    }
    f.erase(f.begin() + long(drop));
  }
}

int Fronts::best(size_t state) const {
  int b = -1;
  for (int i : fronts_[state]) {
    const Label& x = arena_[size_t(i)];
    if (b < 0 || x.period < arena_[size_t(b)].period ||
        (x.period == arena_[size_t(b)].period && x.latency < arena_[size_t(b)].latency))
      b = i;
  }
  return b;
}

}  // namespace pico

namespace {

using pico::Fronts;
using pico::Label;
using pico::Pipeline;

struct HomStage {
  int a = 0, b = 0, p = 1;
  double compute = 0;  // per device, mean capacity
};

struct Alg1 {
  std::vector<HomStage> stages;
  double period = kInf, latency = kInf;
  double min_latency = kInf;  // over all pipelines (for the error message)
};

// Algorithm 1 over the mean device.
Alg1 algorithm1(Context& cx, double bound, bool flow = false) {
  const int nb = cx.n_blocks(), nd = cx.n_devices();
  const size_t n1 = size_t(nb + 1), p1 = size_t(nd + 1);
  std::vector<double> mem;
  for (int d = 0; d < nd; ++d) mem.push_back(cx.memory(d) > 0 ? cx.memory(d) : kInf);
  std::sort(mem.rbegin(), mem.rend());
  std::vector<double> ts(n1 * n1 * p1, -1), tc(n1 * n1 * p1, 0);
  auto stage = [&](int a, int b, int p) {
    size_t k = (size_t(a) * n1 + size_t(b)) * p1 + size_t(p);
    if (ts[k] < 0) {
      bool ok = p == 1 || (cx.partitionable(a, b) && p <= cx.out_height(b - 1));
      ok = ok && cx.weight_bytes(a, b) + cx.band_bytes(a, b) <= mem[size_t(p - 1)];
      if (ok) {
        StageTime t = mean_stage_time(cx, a, b, p, flow);
        ts[k] = t.total;
        tc[k] = t.compute;
      } else {
        ts[k] = kInf;
      }
    }
    return ts[k];
  };
  auto state = [&](int j, int u) { return size_t(j) * p1 + size_t(u); };
  Fronts fr(n1 * p1);
  fr.insert(state(0, 0), Label{0, 0, -1, 0, 0});
  // Minimum latency over all pipelines (one label, no bound).
  std::vector<double> ml(n1 * p1, kInf);
  ml[0] = 0;
  for (int j0 = 0; j0 < nb; ++j0)
    for (int u = 0; u < nd; ++u) {
      const std::vector<int> from = fr.at(state(j0, u));
      double base_ml = ml[state(j0, u)];
      if (from.empty() && base_ml == kInf) continue;
      for (int j = j0 + 1; j <= nb; ++j)
        for (int p = 1; p <= nd - u; ++p) {
          double t = stage(j0, j, p);
          if (t == kInf) continue;
          double& m = ml[state(j, u + p)];
          m = std::min(m, base_ml + t);
          for (int li : from) {
            const Label& l = fr.label(li);
            if (l.latency + t > bound) continue;
            fr.insert(state(j, u + p), Label{std::max(l.period, t), l.latency + t, li, j0, p});
          }
        }
    }
  Alg1 r;
  int best = -1;
  for (int u = 1; u <= nd; ++u) {
    r.min_latency = std::min(r.min_latency, ml[state(nb, u)]);
    int b = fr.best(state(nb, u));
    if (b < 0) continue;
    if (best < 0 || fr.label(b).period < fr.label(best).period ||
        (fr.label(b).period == fr.label(best).period &&
         fr.label(b).latency < fr.label(best).latency))
      best = b;
  }
  if (best < 0) return r;
  r.period = fr.label(best).period;
  r.latency = fr.label(best).latency;
  int j = nb;
  for (int li = best; fr.label(li).parent >= 0; li = fr.label(li).parent) {
    const Label& l = fr.label(li);
    size_t k = (size_t(l.a) * n1 + size_t(j)) * p1 + size_t(l.what);
    r.stages.push_back({l.a, j, l.what, tc[k]});
    j = l.a;
  }
  std::reverse(r.stages.begin(), r.stages.end());
  return r;
}

// Algorithm 2: devices, fastest first, to the stage with the largest
// remaining demand per device.
Pipeline algorithm2(Context& cx, const std::vector<HomStage>& st) {
  const size_t n = st.size();
  Pipeline p;
  p.groups.resize(n);
  for (const HomStage& s : st) p.cuts.push_back(s.a);
  p.cuts.push_back(st.back().b);
  std::vector<int> slots(n);
  std::vector<double> sigma(n, 0);
  for (size_t s = 0; s < n; ++s) slots[s] = st[s].p;
  for (int d : cx.by_capacity()) {
    double rel = cx.capacity(d) / cx.mean_capacity();
    int best = -1;
    double demand = -kInf;
    for (size_t s = 0; s < n; ++s) {
      if (slots[s] == 0 || !cx.fits(d, st[s].a, st[s].b)) continue;
      double tau = st[s].compute;
      double v = (st[s].p * tau - tau * sigma[s]) / slots[s];
      if (v > demand) {
        demand = v;
        best = int(s);
      }
    }
    if (best < 0) continue;  // no slot left that holds it: unused
    p.groups[size_t(best)].push_back(d);
    sigma[size_t(best)] += rel;
    --slots[size_t(best)];
  }
  for (auto& g : p.groups) pico::sort_group(cx, g);
  return p;
}

Status bound_error(const cost::CostModel& cm, const std::string& who, double bound, double best) {
  return errorf(
      "{}: latency bound {:.4g} s is infeasible for model '{}' on cluster '{}': the "
      "fastest pipeline found takes {:.4g} s",
      who, bound, cm.graph().name, cm.cluster().name, best);
}

Result<plan::Plan> run(const cost::CostModel& cm, const Options& o, bool improve,
                       const std::string& who) {
  Context cx(cm);
  const double bound = o.latency_bound_s;
  Alg1 h = algorithm1(cx, bound);
  if (h.stages.empty() && h.min_latency < kInf && improve) {
    // The bound prunes every pipeline in PICO's model (which counts each
    // transfer twice); start from the unbounded optimum and let the local
    // search, on the flow model, look for a plan within the bound.
    h = algorithm1(cx, kInf);
  }
  if (h.stages.empty()) {
    if (h.min_latency < kInf) return bound_error(cm, who, bound, h.min_latency);
    return errorf(
        "{}: model '{}' does not fit in device memory on cluster '{}': no pipeline of "
        "its devices holds every block",
        who, cm.graph().name, cm.cluster().name);
  }
  pico::StageCache sc(cx, bound);
  // Candidates: Algorithm 2's pipeline, the exact class DP's, and the local
  // search from each; the best by the flow-model score wins.
  std::vector<Pipeline> cand = {algorithm2(cx, h.stages)};
  if (improve) {
    // [ours] Algorithm 1 again with the flow-model stage cost (transfers
    // overlap compute), and the layer-wise pipeline (in pico's space).
    Alg1 f = algorithm1(cx, kInf, true);
    if (!f.stages.empty()) cand.push_back(algorithm2(cx, f.stages));
    Options lo = o;
    lo.latency_bound_s = kInf;
    if (auto lw = plan_layerwise(cm, lo); lw.ok()) {
      Pipeline q;
      for (const plan::Stage& st : lw->stages) {
        q.cuts.push_back(st.first_block);
        q.groups.push_back({cm.cluster().find(st.parts[0].device)});
      }
      q.cuts.push_back(cx.n_blocks());
      cand.push_back(q);
    }
  }
  if (improve && o.pico_exact) {
    Pipeline ex;
    pico::Score ps = sc.paper_score(cand[0]);
    if (pico::exact_class_dp(sc, ps.violation > 0 ? kInf : ps.period, 20000, &ex))
      cand.push_back(ex);
  }
  if (improve && o.pico_local_search)
    for (size_t i = 0, n = cand.size(); i < n; ++i) {
      bool seen = false;
      for (size_t j = 0; j < i; ++j)
        seen = seen || (cand[j].cuts == cand[i].cuts && cand[j].groups == cand[i].groups);
      if (!seen) cand.push_back(pico::local_search(sc, cand[i], 3000));
    }
  Pipeline best = cand[0];
  pico::Score bs = sc.score(best);
  for (size_t i = 1; i < cand.size(); ++i) {
    pico::Score s = sc.score(cand[i]);
    if (s.better_than(bs)) {
      best = cand[i];
      bs = s;
    }
  }
  if (bs.period == kInf)
    return errorf(
        "{}: model '{}' does not fit in device memory on cluster '{}': the device "
        "assignment leaves a stage without a device that holds it",
        who, cm.graph().name, cm.cluster().name);
  if (bs.violation > 0) return bound_error(cm, who, bound, bs.latency);
  return finish(cx, sc.drafts(best), who);
}

}  // namespace

Result<plan::Plan> plan_pico(const cost::CostModel& cm, const Options& o) {
  return run(cm, o, true, "pico");
}

Result<plan::Plan> plan_pico_paper(const cost::CostModel& cm, const Options& o) {
  return run(cm, o, false, "pico-paper");
}

}  // namespace coinfer::planners
