// distredge (DistrEdge, IPDPS 2022): LC-PSS layer-volumes, the OSDS
// environment, and the planner. With Options::policy_path the plan comes from
// a trained policy (`coinfer train distredge`, distredge_train.cpp); without
// one, the LC-PSS LVs are split in proportion to capacity (no training: the
// planner must stay fast for callers that run every strategy).
#include "planners/distredge.h"

#include <algorithm>
#include <cmath>

#include "planners/common.h"

namespace coinfer::planners {

namespace distredge {

namespace {

// Cuts (|devs| + 1 rows, 0..h) of the capacity-proportional split.
std::vector<int> proportional_cuts(Context& cx, const std::vector<int>& devs, int h) {
  std::vector<double> w;
  for (int d : devs) w.push_back(cx.capacity(d));
  std::vector<int> cuts = {0};
  for (Rows r : proportional_rows(h, w)) cuts.push_back(r.hi);
  return cuts;
}

// Kernel and stride of block k's last windowed op (conv / pool), else 1, 1.
std::pair<int, int> window(const Context& cx, int k) {
  const graph::Block& bl = cx.cm().blocks()[size_t(k)];
  for (int id = bl.last; id >= bl.first; --id) {
    const graph::Node& n = cx.cm().graph().nodes[size_t(id)];
    if (n.kind == graph::OpKind::Conv || n.kind == graph::OpKind::MaxPool ||
        n.kind == graph::OpKind::AvgPool)
      return {n.win.kh, n.win.sh};
  }
  return {1, 1};
}

// LC-PSS [paper]: every LV [a, b) is scored over the same `samples` random
// split decisions (|parts| - 1 uniform cut fractions of the LV's output
// height). T = bytes every part receives (its halo-expanded input band),
// O = FLOPs every part computes (per block, the block's FLOPs times the
// fraction of its output rows the part's band computes: inter-block halos
// exact, intra-block ones ignored). [ours] Normalisation: T by the T of the
// layer-by-layer partition, O by the O of the one-LV partition, so both lie
// in (0, 1]. The score of a partition is the sum over its LVs.
class LcpssScore {
 public:
  LcpssScore(Context& cx, int parts, const LcpssOptions& o)
      : cx_(cx), P_(cx.partitionable_prefix()), alpha_(o.alpha) {
    const graph::Graph& g = cx.cm().graph();
    std::mt19937_64 rng(o.seed);
    frac_.resize(size_t(std::max(1, o.samples)));
    for (auto& f : frac_) {
      for (int i = 0; i + 1 < parts; ++i) f.push_back(rl::uniform01(rng));
      std::sort(f.begin(), f.end());
    }
    for (int k = 0; k < P_; ++k) {
      auto geo = graph::band_geometry(g, cx.cm().blocks(), k, k + 1, {0, cx.out_height(k)});
      flops_.push_back(geo.ok() ? graph::band_cost(g, *geo).flops : 0);
    }
    const size_t n1 = size_t(P_ + 1);
    T_.assign(n1 * n1, -1);
    O_.assign(n1 * n1, -1);
    for (int k = 0; k < P_; ++k) t_ref_ += T_[lv(k, k + 1)];
    o_ref_ = P_ > 0 ? O_[lv(0, P_)] : 1;
  }

  // Score of the LV [a, b).
  double operator()(int a, int b) {
    size_t i = lv(a, b);
    return alpha_ * T_[i] / std::max(t_ref_, 1e-30) +
           (1 - alpha_) * O_[i] / std::max(o_ref_, 1e-30);
  }

 private:
  // Mean T and O of [a, b) over the split decisions (cached).
  size_t lv(int a, int b) {
    size_t i = size_t(a) * size_t(P_ + 1) + size_t(b);
    if (T_[i] >= 0) return i;
    const int h = cx_.out_height(b - 1);
    const Shape& in = cx_.in_shape(a);
    double t = 0, ops = 0;
    for (const auto& f : frac_) {
      int lo = 0;
      for (size_t p = 0; p <= f.size(); ++p) {
        int hi = p < f.size() ? int(std::lround(f[p] * h)) : h;
        Rows r{lo, std::max(lo, hi)};
        lo = r.hi;
        if (r.empty()) continue;
        t += double(cx_.input_rows(a, b, r).size()) * in.w * in.c * 4.0;
        for (int k = a; k < b; ++k)
          ops += flops_[size_t(k)] * cx_.block_rows(a, b, k, r).size() / cx_.out_height(k);
      }
    }
    T_[i] = t / double(frac_.size());
    O_[i] = ops / double(frac_.size());
    return i;
  }

  Context& cx_;
  int P_;
  double alpha_;
  std::vector<std::vector<double>> frac_;
  std::vector<double> flops_, T_, O_;
  double t_ref_ = 0, o_ref_ = 1;
};

}  // namespace

double lcpss_score(Context& cx, int parts, const std::vector<int>& bounds, const LcpssOptions& o) {
  LcpssScore score(cx, parts, o);
  double s = 0;
  for (size_t i = 0; i + 1 < bounds.size(); ++i) s += score(bounds[i], bounds[i + 1]);
  return s;
}

std::vector<int> lcpss(Context& cx, int parts, const LcpssOptions& o) {
  const int P = cx.partitionable_prefix();
  if (P == 0) return {};
  LcpssScore score(cx, parts, o);
  std::vector<int> bounds = {0, P};
  for (;;) {
    std::vector<int> add;
    for (size_t s = 0; s + 1 < bounds.size(); ++s) {
      const int u = bounds[s], v = bounds[s + 1];
      double best = score(u, v);
      int cut = -1;
      for (int c = u + 1; c < v; ++c) {
        double sc = score(u, c) + score(c, v);
        if (sc < best * (1 - 1e-12)) {
          best = sc;
          cut = c;
        }
      }
      if (cut >= 0) add.push_back(cut);
    }
    if (add.empty()) break;
    bounds.insert(bounds.end(), add.begin(), add.end());
    std::sort(bounds.begin(), bounds.end());
  }
  return bounds;
}

Env::Env(Context& cx, std::vector<int> devices, std::vector<int> bounds)
    : cx_(cx), devs_(std::move(devices)), bounds_(std::move(bounds)) {
  if (bounds_.empty()) bounds_ = {0};
  int hmax = cx.in_shape(0).h, cmax = 1, fmax = 1, smax = 1;
  for (int l = 0; l < lvs(); ++l) {
    const Shape& s = cx.out_shape(bounds_[size_t(l) + 1] - 1);
    auto [f, st] = window(cx, bounds_[size_t(l) + 1] - 1);
    cmax = std::max(cmax, s.c);
    fmax = std::max(fmax, f);
    smax = std::max(smax, st);
    features_.insert(features_.end(), {double(s.h), double(s.c), double(f), double(st)});
  }
  for (size_t i = 0; i < features_.size(); i += 4) {
    features_[i] /= std::max(1, hmax);
    features_[i + 1] /= cmax;
    features_[i + 2] /= fmax;
    features_[i + 3] /= smax;
  }
  reset();
  while (!done()) {
    int h = cx_.out_height(bounds_[size_t(step_) + 1] - 1);
    step_cuts(proportional_cuts(cx_, devs_, h));
  }
  latency_ref_ = std::isfinite(latency_) && latency_ > 0 ? latency_ : 1;
  reset();
}

void Env::reset() {
  step_ = 0;
  fin_.assign(size_t(cx_.n_devices()), 0);
  stages_.clear();
  cuts_.clear();
  latency_ = 0;
  if (lvs() == 0) finish_episode();
}

Eigen::VectorXd Env::state() const {
  Eigen::VectorXd s = Eigen::VectorXd::Zero(state_dim());
  if (done()) return s;
  for (size_t i = 0; i < devs_.size(); ++i)
    s(Eigen::Index(i)) = fin_[size_t(devs_[i])] / latency_ref_;
  for (int j = 0; j < 4; ++j) s(Eigen::Index(devs_.size()) + j) = features_[size_t(4 * step_ + j)];
  return s;
}

std::vector<int> Env::action_cuts(const Eigen::VectorXd& action, int h) {
  std::vector<double> a(action.data(), action.data() + action.size());
  for (double& v : a) v = std::clamp(std::isfinite(v) ? v : 0.0, -1.0, 1.0);
  std::sort(a.begin(), a.end());
  std::vector<int> cuts = {0};
  for (double v : a) cuts.push_back(int(std::lround(h * (v + 1) / 2)));
  cuts.push_back(h);
  return cuts;
}

double Env::step(const Eigen::VectorXd& action) {
  return step_cuts(action_cuts(action, cx_.out_height(bounds_[size_t(step_) + 1] - 1)));
}

// Per-provider finish times [ours]: a part starts when its device is free and
// its input rows have arrived (from the source for the first LV; otherwise
// from every provider of the previous LV holding some of them, each over its
// own link), then computes its band.
double Env::step_cuts(const std::vector<int>& cuts) {
  const int a = bounds_[size_t(step_)], b = bounds_[size_t(step_) + 1];
  std::vector<Rows> rows;
  for (size_t i = 0; i < devs_.size(); ++i) rows.push_back({cuts[i], cuts[i + 1]});
  Draft s = make_stage(a, b, devs_, rows);
  const Shape& in = cx_.in_shape(a);
  const double row_bytes = double(in.w) * in.c * 4.0;
  std::vector<double> fin = fin_;
  for (const Part& p : s.parts) {
    Rows ir = cx_.input_rows(a, b, p.rows);
    double ready = fin_[size_t(p.device)];
    if (stages_.empty()) {
      ready = std::max(ready, cx_.src_link(p.device).at(ir.size() * row_bytes));
    } else {
      for (const Part& q : stages_.back().parts) {
        int n = meet(ir, q.rows).size();
        if (q.device != p.device && n > 0)
          ready = std::max(
              ready, fin_[size_t(q.device)] + cx_.pair_link(q.device, p.device).at(n * row_bytes));
      }
    }
    fin[size_t(p.device)] = ready + cx_.compute_seconds(p.device, a, b, p.rows);
  }
  fin_ = std::move(fin);
  stages_.push_back(std::move(s));
  cuts_.push_back(cuts);
  ++step_;
  return done() ? finish_episode() : 0;
}

double Env::finish_episode() {
  const int P = bounds_.back(), nb = cx_.n_blocks();
  if (P < nb) {
    int d = whole_device(cx_, P, nb, stages_.empty() ? nullptr : &stages_.back());
    if (d < 0) {
      latency_ = kInf;
      return 0;
    }
    stages_.push_back(make_stage(P, nb, {d}, {Rows{0, cx_.out_height(nb - 1)}}));
  }
  latency_ = estimate(cx_, stages_).latency_s;
  return latency_ > 0 ? latency_ref_ / latency_ : 0;
}

Result<Setup> setup(Context& cx, uint64_t seed) {
  Setup s;
  ASSIGN_OR_RETURN(s.devices, devices_holding_all_partitionable(cx, "distredge"));
  LcpssOptions o;
  o.seed = seed;
  s.bounds = lcpss(cx, int(s.devices.size()), o);
  const int P = cx.partitionable_prefix();
  if (P < cx.n_blocks() && whole_device(cx, P, cx.n_blocks(), nullptr) < 0)
    return errorf(
        "distredge: model '{}' does not fit in device memory on cluster '{}': no device holds "
        "the non-partitionable tail",
        cx.cm().graph().name, cx.cm().cluster().name);
  return s;
}

}  // namespace distredge

Result<plan::Plan> plan_distredge(const cost::CostModel& cm, const Options& o) {
  if (!o.policy_path.empty()) {
    ASSIGN_OR_RETURN(distredge::Policy p, distredge::load_policy(o.policy_path));
    return distredge::policy_plan(cm, p);
  }
  Context cx(cm);
  ASSIGN_OR_RETURN(distredge::Setup su, distredge::setup(cx, o.seed));
  distredge::Env env(cx, su.devices, su.bounds);
  while (!env.done()) {
    int h = cx.out_height(env.bounds()[env.cuts().size() + 1] - 1);
    env.step_cuts(distredge::proportional_cuts(cx, su.devices, h));
  }
  return finish(cx, env.stages(), "distredge (LC-PSS + capacity-proportional split; no --policy)");
}

}  // namespace coinfer::planners
