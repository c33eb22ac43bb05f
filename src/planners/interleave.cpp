// Interleaved pipelines [ours]: pico's plan, then its stage boundaries moved
// by whole blocks on some of K pipelines that frames take in turn (frame f
// runs pipeline f mod K; plan.h). A pipeline of S single-device stages over
// blocks of a few ms each is stuck with the imbalance of its best block
// boundaries (resnet34 on 4 equal devices: the busiest stage 6.5% over the
// mean). Moving one boundary by one block on 1 of K pipelines gives the two
// neighbours 1/K of that block on average, so the busiest device's mean time
// per frame can approach the mean, with no halo, no extra band and the same
// bytes per frame. The cost: a device holds the kernels of the blocks it runs
// in any pipeline.
//
// Search: device i's load in pipeline k is Context::compute_seconds of its
// blocks there (blocks less cuts plus its bands' transport); its mean load is
// the average over the K pipelines. Starting from K copies of pico's
// pipeline, greedy replacements of one pipeline by one whose boundaries
// (up to 3) are moved by up to 2 blocks each (a block is often a pooling
// layer of 2% of a stage: vgg16's first stage cannot shed load with a
// one-block move), best first by (max mean load, sum of squared mean
// loads), until none improves;
// for K = 2..kMaxPipelines, the K with the lowest max mean load wins (a
// larger K only if it beats the smaller ones by more than 1%), and
// only if it beats the plain pipeline by more than 0.5% and every pipeline
// keeps a finite latency bound (the flow model's latency, as pico's).
//
// A pico plan with a split stage (vgg16 on 4 equal devices: 3 stages, the
// first on two devices) is not interleaved itself; the planner then also
// interleaves the chain of the same devices one stage each (block ranges by
// a min-max DP) and keeps whichever of the two has the lower flow-model
// period (planners::estimate, the busiest device's mean load), by more than
// 0.5%.
#include <algorithm>
#include <cmath>
#include <functional>

#include "planners/common.h"

namespace coinfer::planners {

namespace {

constexpr int kMaxPipelines = 6;
constexpr int kMaxShift = 2;          // blocks a boundary moves at most,
constexpr int kMaxMoved = 3;          // boundaries one pipeline moves at most,
constexpr double kMaxOptions = 4096;  // fewer on long pipelines to stay under this
constexpr double kMinGain = 0.005;
// resnet34 on 4 devices: 6 pipelines scored 0.6% under 3, and the simulator
// predicted 10.44 fps for them against 10.46 for 3, with 10 frames in flight
// instead of 7 (2026-12-03).
constexpr double kMorePipelinesGain = 0.01;

// A candidate pipeline: the S+1 block boundaries and each stage's load.
struct Option {
  std::vector<int> cut;
  std::vector<double> load;
};

struct Score {
  double max = 0, sumsq = 0;
  bool better_than(const Score& o) const {
    if (max < o.max * (1 - 1e-9)) return true;
    return max <= o.max * (1 + 1e-9) && sumsq < o.sumsq * (1 - 1e-9);
  }
};

Score score_of(const std::vector<double>& sum) {
  Score s;
  for (double x : sum) {
    s.max = std::max(s.max, x);
    s.sumsq += x * x;
  }
  return s;
}

// Every pipeline whose inner boundaries are those of `base` moved by at most
// `shift` blocks each (kMaxShift, or 1 if that would make more than
// kMaxOptions), at most max_moved of them (kMaxMoved, less if that would make
// more than kMaxOptions), with every stage non-empty and in its device's
// memory. Option 0 is `base` itself.
std::vector<Option> options(Context& cx, const std::vector<int>& devs,
                            const std::vector<int>& base) {
  std::vector<Option> out;
  const int inner = int(base.size()) - 2;
  // sum over m <= moved of C(inner, m) (2 shift)^m
  auto count = [&](int moved, int shift) {
    double n = 1, c = 1;
    for (int m = 1; m <= moved; ++m) n += (c = c * (inner - m + 1) / m) * std::pow(2.0 * shift, m);
    return n;
  };
  int max_moved = std::min(kMaxMoved, inner);
  const int shift = count(max_moved, kMaxShift) <= kMaxOptions ? kMaxShift : 1;
  while (max_moved > 1 && count(max_moved, shift) > kMaxOptions) --max_moved;
  auto add = [&](const std::vector<int>& cut) {
    Option o{cut, {}};
    if (!std::is_sorted(cut.begin(), cut.end(), std::less_equal<int>())) return;  // a stage < 1 block
    for (size_t i = 0; i + 1 < cut.size(); ++i) {
      const int a = cut[i], b = cut[i + 1];
      if (!cx.fits(devs[i], a, b)) return;
      o.load.push_back(cx.compute_seconds(devs[i], a, b, {0, cx.out_height(b - 1)}));
    }
    out.push_back(std::move(o));
  };
  add(base);
  // Each set of at most max_moved boundaries, each moved by -shift..shift
  // (not 0), once.
  std::vector<int> cut = base;
  std::function<void(int, int)> move_from = [&](int first, int left) {
    for (int j = first; j < inner; ++j)
      for (int d = -shift; d <= shift; ++d) {
        if (d == 0) continue;
        cut[size_t(j) + 1] += d;
        add(cut);
        if (left > 1) move_from(j + 1, left - 1);
        cut[size_t(j) + 1] -= d;
      }
  };
  move_from(0, max_moved);
  return out;
}

// K pipelines from `opts` minimising (max, sum of squares) of the devices'
// summed loads: from K copies of option 0, best single replacements until
// none improves. Returns the chosen option indices.
std::vector<int> choose(const std::vector<Option>& opts, int k, Score* score) {
  std::vector<int> pick(size_t(k), 0);
  std::vector<double> sum(opts[0].load.size(), 0);
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = k * opts[0].load[i];
  Score cur = score_of(sum);
  std::vector<double> trial(sum.size());
  for (int it = 0; it < 20 * k; ++it) {
    int bp = -1, bo = 0;
    Score best = cur;
    for (int p = 0; p < k; ++p)
      for (size_t o = 0; o < opts.size(); ++o) {
        if (int(o) == pick[size_t(p)]) continue;
        for (size_t i = 0; i < sum.size(); ++i)
          trial[i] = sum[i] - opts[size_t(pick[size_t(p)])].load[i] + opts[o].load[i];
        Score s = score_of(trial);
        if (s.better_than(best)) {
          best = s;
          bp = p;
          bo = int(o);
        }
      }
    if (bp < 0) break;
    for (size_t i = 0; i < sum.size(); ++i)
      sum[i] += opts[size_t(bo)].load[i] - opts[size_t(pick[size_t(bp)])].load[i];
    pick[size_t(bp)] = bo;
    cur = best;
  }
  *score = cur;
  return pick;
}

}  // namespace

Result<plan::Plan> interleave(const cost::CostModel& cm, const plan::Plan& p,
                              double latency_bound_s) {
  // Only a one-pipeline plan of whole single-device stages is interleaved.
  if (p.stages.size() < 2) return p;
  for (const plan::Stage& st : p.stages)
    if (st.parts.size() != 1 || st.pipeline != 0) return p;
  Context cx(cm);
  std::vector<int> devs, cut{0};
  for (const plan::Stage& st : p.stages) {
    const int d = cm.cluster().find(st.parts[0].device);
    if (d < 0 || st.parts[0].rows != Rows{0, cx.out_height(st.last_block - 1)}) return p;
    devs.push_back(d);
    cut.push_back(st.last_block);
  }
  const std::vector<Option> opts = options(cx, devs, cut);
  if (opts.empty() || opts[0].cut != cut) return p;  // pico's own pipeline does not fit
  const double plain = score_of(opts[0].load).max;
  std::vector<int> best;
  double best_max = plain * (1 - kMinGain);
  for (int k = 2; k <= kMaxPipelines; ++k) {
    Score s;
    std::vector<int> pick = choose(opts, k, &s);
    if (s.max / k < best_max) {  // more pipelines (frames in flight) must gain 1%
      best_max = s.max / k * (1 - kMorePipelinesGain);
      best = pick;
    }
  }
  if (best.empty()) return p;
  // Frames take the pipelines in turn: spread the moved ones between the
  // unmoved (option 0) ones.
  std::sort(best.begin(), best.end());
  std::vector<std::vector<int>> order;
  for (size_t lo = 0, hi = best.size(); lo < hi;) {
    order.push_back(opts[size_t(best[lo++])].cut);
    if (lo < hi) order.push_back(opts[size_t(best[--hi])].cut);
  }
  plan::Plan out;
  out.model = p.model;
  out.strategy = p.strategy + "-interleaved";
  for (size_t k = 0; k < order.size(); ++k)
    for (size_t i = 0; i < devs.size(); ++i) {
      plan::Stage st;
      st.pipeline = int(k);
      st.first_block = order[k][i];
      st.last_block = order[k][i + 1];
      st.parts.push_back(
          {p.stages[i].parts[0].device, {0, cx.out_height(st.last_block - 1)}, {0, 0}});
      out.stages.push_back(std::move(st));
    }
  std::vector<std::string> errs = plan::validate(out, cm.graph(), cm.blocks(), cm.cluster());
  if (!errs.empty()) return p;  // e.g. memory: keep the plain pipeline
  // Every pipeline keeps the latency bound (the flow model's, as pico's).
  if (std::isfinite(latency_bound_s))
    for (size_t k = 0; k < order.size(); ++k) {
      plan::Plan one;
      for (size_t i = 0; i < devs.size(); ++i) {
        one.stages.push_back(out.stages[k * devs.size() + i]);
        one.stages.back().pipeline = 0;
      }
      if (estimate(cm, one).latency_s > latency_bound_s) return p;
    }
  return out;
}

plan::Plan single_device_chain(const cost::CostModel& cm, const plan::Plan& p) {
  Context cx(cm);
  std::vector<int> devs;
  for (const plan::Stage& st : p.stages)
    for (const plan::Assignment& a : st.parts) {
      const int d = cm.cluster().find(a.device);
      if (d < 0 || st.pipeline != 0) return {};
      if (std::find(devs.begin(), devs.end(), d) == devs.end()) devs.push_back(d);
    }
  const size_t nb = size_t(cx.n_blocks()), nd = devs.size();
  if (nd < 2 || nd > nb) return {};
  // worst[i][b]: the lowest max stage load of devices 0..i-1 over blocks [0, b);
  // from[i][b]: where the last of those stages starts.
  std::vector<std::vector<double>> worst(nd + 1, std::vector<double>(nb + 1, kInf));
  std::vector<std::vector<int>> from(nd + 1, std::vector<int>(nb + 1, -1));
  worst[0][0] = 0;
  for (size_t i = 1; i <= nd; ++i) {
    const int d = devs[i - 1];
    for (size_t b = i; b <= nb; ++b)
      for (size_t a = i - 1; a < b; ++a) {
        if (!std::isfinite(worst[i - 1][a]) || !cx.fits(d, int(a), int(b))) continue;
        const double t = std::max(
            worst[i - 1][a], cx.compute_seconds(d, int(a), int(b), {0, cx.out_height(int(b) - 1)}));
        if (t < worst[i][b]) {
          worst[i][b] = t;
          from[i][b] = int(a);
        }
      }
  }
  if (!std::isfinite(worst[nd][nb])) return {};
  plan::Plan out;
  out.model = p.model;
  out.strategy = p.strategy;
  out.stages.resize(nd);
  for (size_t i = nd, b = nb; i > 0; b = size_t(from[i][b]), --i) {
    plan::Stage& st = out.stages[i - 1];
    st.first_block = from[i][b];
    st.last_block = int(b);
    st.parts.push_back({cm.cluster().devices[size_t(devs[i - 1])].name,
                        {0, cx.out_height(int(b) - 1)},
                        {0, 0}});
  }
  return out;
}

Result<plan::Plan> plan_pico_interleaved(const cost::CostModel& cm, const Options& o) {
  ASSIGN_OR_RETURN(plan::Plan p, plan_pico(cm, o));
  ASSIGN_OR_RETURN(plan::Plan x, interleave(cm, p, o.latency_bound_s));
  const bool split = std::any_of(p.stages.begin(), p.stages.end(),
                                 [](const plan::Stage& st) { return st.parts.size() > 1; });
  plan::Plan chain = split ? single_device_chain(cm, p) : plan::Plan{};
  if (!chain.stages.empty() &&
      plan::validate(chain, cm.graph(), cm.blocks(), cm.cluster()).empty() &&
      estimate(cm, chain).latency_s <= o.latency_bound_s) {
    ASSIGN_OR_RETURN(plan::Plan y, interleave(cm, chain, o.latency_bound_s));
    if (estimate(cm, y).period_s < estimate(cm, x).period_s * (1 - kMinGain)) x = std::move(y);
  }
  x.strategy = "pico-interleaved";
  return x;
}

}  // namespace coinfer::planners
