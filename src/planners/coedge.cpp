// coedge (CoEdge, ToN 2021): minimise the energy of one frame subject to a
// deadline on its latency (Options::deadline_s) by linear programming with
// COIN-OR Clp. Layer by layer, as CoEdge splits: every partitionable block is
// its own stage, its output rows shared among the devices (a device may get
// none: that is where energy is saved); non-partitionable blocks (the FC
// tail) run whole on one device T.
//
// The LP, per split block k and device i (full statement, [paper] vs [ours]
// in docs/PLANNERS.md):
//   a_ki rows, sum_i a_ki = H_k;  u_ki "i takes part", a_ki <= H_k u_ki;
//   c_ki >= slope_j a_ki + icpt_j u_ki for every piece j of the lower convex
//     envelope of the profiled cm.block_seconds(i, k, r), r in [1, H_k];
//   input rows received: from the single holder (source, T) s_k a + g_k u,
//     else the rows of i's band below / above the rows it holds (bands laid
//     out in device order; s_k = H_in / H_out, g_k = an interior band's halo);
//   z_k >= c_ki + received rows * row bytes * seconds/byte + link latency u_ki
//     (+ its result to the sink after the last block; a whole block on T
//     waits for the gather of every a_{k-1,i});
//   L = sum_k z_k <= D;  sum_k (weights + frame buffers of k) u_ki <= memory_i.
// Energy, charged as the simulator charges it (idle power all along, the
// extra power while computing or transmitting, a transfer at both ends):
//   sum_i (P_busy - P_idle)_i c_i + sum_transfers ((P_tx - P_idle) of both
//   ends) * seconds + (sum_i P_idle_i) L  [+ 1 mW * L: ties go to speed].
// u is binary in truth (a fixed charge): a few relaxations (dynamic slope
// scaling) propose who takes part, each proposal is fixed and re-solved,
// rows are rounded by largest remainder, and every plan is run by the
// simulator (one frame). The candidates do not depend on the deadline (it
// only filters them), so a later deadline never costs energy; the least
// simulated energy within the deadline wins.
#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "planners/common.h"
#include "sim/simulator.h"

namespace coinfer::planners {

namespace {

using Terms = std::vector<std::pair<int, double>>;  // (column, coefficient); column -1 = none

// min cost'x  s.t.  row_lb <= A x <= row_ub,  col_lb <= x <= col_ub.
class Lp {
 public:
  int col(double lb, double ub) {
    lb_.push_back(lb);
    ub_.push_back(ub);
    return int(lb_.size()) - 1;
  }
  // Adds a row; returns the index of its first coefficient (for coef()).
  int row(double lb, double ub, const Terms& terms) {
    const int first = int(v_.size());
    for (auto [c, v] : terms)
      if (c >= 0 && v != 0) {
        ri_.push_back(int(rlb_.size()));
        ci_.push_back(c);
        v_.push_back(v);
      }
    rlb_.push_back(lb);
    rub_.push_back(ub);
    return first;
  }
  void coef(int element, double v) { v_[size_t(element)] = v; }
  int n_cols() const { return int(lb_.size()); }
  void bound(int c, double lb, double ub) {
    lb_[size_t(c)] = lb;
    ub_[size_t(c)] = ub;
  }
  // The optimal x, or nothing if the LP is infeasible (or Clp gives up).
  std::optional<std::vector<double>> solve(const std::vector<double>& cost) const {
    CoinPackedMatrix m(false, ri_.data(), ci_.data(), v_.data(), CoinBigIndex(v_.size()));
    m.setDimensions(int(rlb_.size()), n_cols());
    ClpSimplex s;
    s.setLogLevel(0);
    s.loadProblem(m, lb_.data(), ub_.data(), cost.data(), rlb_.data(), rub_.data());
    s.initialSolve();
    if (!s.isProvenOptimal()) return std::nullopt;
    const double* x = s.getColSolution();
    return std::vector<double>(x, x + n_cols());
  }

 private:
  std::vector<double> lb_, ub_, rlb_, rub_, v_;
  std::vector<int> ri_, ci_;
};

// Lower convex envelope of f over r = 1..h, as lines (slope, intercept).
std::vector<std::pair<double, double>> convex_pieces(int h, const std::function<double(int)>& f) {
  using P = std::pair<double, double>;
  auto turn = [](P o, P a, P b) {
    return (a.first - o.first) * (b.second - o.second) -
           (a.second - o.second) * (b.first - o.first);
  };
  std::vector<P> hull;
  for (int r = 1; r <= h; ++r) {
    P p{double(r), f(r)};
    while (hull.size() >= 2 && turn(hull[hull.size() - 2], hull.back(), p) <= 0) hull.pop_back();
    hull.push_back(p);
  }
  if (hull.size() == 1) return {{hull[0].second, 0.0}};
  std::vector<P> lines;
  for (size_t j = 1; j < hull.size(); ++j) {
    double slope = (hull[j].second - hull[j - 1].second) / (hull[j].first - hull[j - 1].first);
    lines.push_back({slope, hull[j].second - slope * hull[j].first});
  }
  return lines;
}

// The LP for one tail device T (-1: the model has no non-partitionable block).
class CoedgeLp {
 public:
  CoedgeLp(Context& cx, int tail);
  // Plans minimising energy (else latency) with latency <= deadline in the
  // LP's model, one per participation pattern tried (see solve()), with
  // their LP latency; empty if the LP is infeasible.
  struct Solution {
    std::vector<Draft> stages;
    double lp_latency_s = 0;
  };
  // `starts`: how many starts of the participation search (see solve()).
  std::vector<Solution> solve(double deadline, bool energy, int starts) const;

 private:
  // Extra watts over idle (never negative: the LP must not gain by idling less).
  double busy_w(int d) const { return std::max(0.0, power(d).busy_w - power(d).idle_w); }
  double tx_w(int d) const { return d < 0 ? 0 : std::max(0.0, power(d).tx_w - power(d).idle_w); }
  const cluster::PowerModel& power(int d) const {
    return cx_.cm().cluster().devices[size_t(d)].power;
  }
  bool split(int k) const { return cx_.partitionable(k, k + 1); }
  using Pattern = std::vector<char>;  // u_ki per (split block, device), flattened
  Pattern pattern(const std::vector<double>& x) const;
  Solution solution(const std::vector<double>& x) const;

  Context& cx_;
  int tail_;
  Lp lp_;
  int latency_ = -1;                     // column L
  std::vector<std::vector<int>> a_, u_;  // per block, per device (-1: whole block)
  std::vector<std::vector<int>> share_;  // the element -A of row a - A u <= 0
  std::vector<double> energy_;           // joules per unit of each column
};

double row_bytes(const Shape& s) {
  return double(s.w) * s.c * 4.0;
}

CoedgeLp::CoedgeLp(Context& cx, int tail) : cx_(cx), tail_(tail) {
  const int nb = cx.n_blocks(), nd = cx.n_devices(), src = cx.source();
  double idle = 0;
  for (int d = 0; d < nd; ++d) idle += power(d).idle_w;
  Terms energy;
  std::vector<int> z(static_cast<size_t>(nb));
  for (int k = 0; k < nb; ++k) z[size_t(k)] = lp_.col(0, kInf);
  a_.assign(size_t(nb), std::vector<int>(size_t(nd), -1));
  u_ = a_;
  share_ = a_;
  for (int k = 0; k < nb; ++k) {
    const Shape& in = cx.in_shape(k);
    const Shape& out = cx.out_shape(k);
    const bool last = k + 1 == nb;
    const int zk = z[size_t(k)];
    if (!split(k)) {
      // Whole on T: compute, the frame from the source if first, the result
      // to the sink if last, and the gather of a split predecessor (each
      // sender on its own link: the slowest bounds z_k).
      double t = cx.compute_seconds(tail, k, k + 1, {0, out.h});
      if (k == 0) t += cx.src_link(tail).at(in.h * row_bytes(in));
      if (last) t += cx.sink_link(tail).at(out.h * row_bytes(out));
      lp_.row(t, kInf, {{zk, 1}});
      if (k > 0 && split(k - 1))
        for (int i = 0; i < nd; ++i) {
          if (i == tail) continue;
          LinkCoef l = cx.pair_link(i, tail);
          int a = a_[size_t(k - 1)][size_t(i)], u = u_[size_t(k - 1)][size_t(i)];
          lp_.row(t, kInf, {{zk, 1}, {a, -l.per_byte * row_bytes(in)}, {u, -l.fixed}});
          energy.push_back({a, l.per_byte * row_bytes(in) * (tx_w(i) + tx_w(tail))});
        }
      continue;
    }
    // Input rows of an interior band [m, m + r): [s m - g_lo, s (m + r) + g_hi).
    const int h = out.h, mid = h / 2;
    const double s = double(in.h) / h;
    const Rows need = cx.input_rows(k, k + 1, {mid, mid + 1});
    const double g_lo = std::max(0.0, s * mid - need.lo);
    const double g_hi = std::max(0.0, need.hi - s * (mid + 1));
    Terms rows_sum;
    for (int i = 0; i < nd; ++i) {
      const int a = lp_.col(0, h), u = lp_.col(0, 1), c = lp_.col(0, kInf);
      a_[size_t(k)][size_t(i)] = a;
      u_[size_t(k)][size_t(i)] = u;
      rows_sum.push_back({a, 1});
      share_[size_t(k)][size_t(i)] = lp_.row(-kInf, 0, {{a, 1}, {u, -h}}) + 1;
      for (auto [slope, icpt] :
           convex_pieces(h, [&](int r) { return cx.cm().block_seconds(i, k, r); }))
        lp_.row(0, kInf, {{c, 1}, {a, -slope}, {u, -icpt}});
      Terms stage = {{zk, 1}, {c, -1}};
      // Received input rows q (from devices of `link`, sending at `sender_w`).
      auto receive = [&](int q, LinkCoef link, double sender_w) {
        const double per_row = link.per_byte * row_bytes(in);
        stage.push_back({q, -per_row});
        stage.push_back({u, -link.fixed});
        energy.push_back({q, per_row * (tx_w(i) + sender_w)});
      };
      if (k > 0 && split(k - 1)) {
        // Bands are laid out in device order: i's starts at P = sum_{j<i}
        // a_kj and needs input rows [s P - g_lo, s (P + a_ki) + g_hi); it holds
        // [P', P' + a_{k-1,i}). Rows below P' come from devices before it,
        // rows above from devices after it (at the slowest of their links).
        // Both bounds vanish when u_ki = 0 (big-M: the input height).
        const int lo = lp_.col(0, kInf), hi = lp_.col(0, kInf);
        const double m = in.h;
        Terms below = {{lo, 1}, {u, -(g_lo + m)}}, above = {{hi, 1}, {u, -(g_hi + m)}};
        for (int j = 0; j <= i; ++j) {
          const int aj = a_[size_t(k)][size_t(j)], pj = a_[size_t(k - 1)][size_t(j)];
          if (j < i) below.insert(below.end(), {{aj, s}, {pj, -1}});
          above.insert(above.end(), {{aj, -s}, {pj, 1}});
        }
        lp_.row(-m, kInf, below);
        lp_.row(-m, kInf, above);
        auto side = [&](int from, int to) {  // slowest link into i, mean extra tx power
          LinkCoef l;
          double w = 0;
          for (int j = from; j < to; ++j) {
            l.per_byte = std::max(l.per_byte, cx.pair_link(j, i).per_byte);
            l.fixed = std::max(l.fixed, cx.pair_link(j, i).fixed);
            w += tx_w(j) / (to - from);
          }
          return std::make_pair(l, w);
        };
        auto [l_lo, w_lo] = side(0, i);
        auto [l_hi, w_hi] = side(i + 1, nd);
        receive(lo, l_lo, w_lo);
        receive(hi, l_hi, w_hi);
      } else {
        // All of k's input is on one node (the source, or T): i receives
        // s a + g u rows unless it is that node.
        const int node = k == 0 ? src : tail;
        const int q = lp_.col(0, kInf);
        lp_.row(i == node ? -in.h : 0, kInf, {{q, 1}, {a, -s}, {u, -(g_lo + g_hi)}});
        receive(q, k == 0 ? cx.src_link(i) : cx.pair_link(tail, i), tx_w(node));
      }
      if (last) {
        LinkCoef o = cx.sink_link(i);
        stage.push_back({a, -o.per_byte * row_bytes(out)});
        stage.push_back({u, -o.fixed});
        energy.push_back({a, o.per_byte * row_bytes(out) * (tx_w(i) + tx_w(src))});
      }
      lp_.row(0, kInf, stage);
      energy.push_back({c, busy_w(i)});
    }
    lp_.row(h, h, rows_sum);
  }
  // Memory: weights and whole-frame buffers of every block a device takes
  // (in GB: coefficients near 1 keep the LP well scaled).
  for (int i = 0; i < nd; ++i) {
    if (cx.memory(i) <= 0) continue;
    double fixed = 0;
    Terms use;
    for (int k = 0; k < nb; ++k) {
      double b = (cx.weight_bytes(k, k + 1) + cx.band_bytes(k, k + 1)) / 1e9;
      if (split(k)) use.push_back({u_[size_t(k)][size_t(i)], b});
      if (!split(k) && i == tail) fixed += b;
    }
    lp_.row(-kInf, cx.memory(i) / 1e9 - fixed, use);
  }
  latency_ = lp_.col(0, kInf);
  Terms total = {{latency_, -1}};
  for (int zk : z) total.push_back({zk, 1});
  lp_.row(0, 0, total);
  energy.push_back({latency_, idle + 1e-3});
  energy_.assign(size_t(lp_.n_cols()), 0);
  for (auto [col, j] : energy) energy_[size_t(col)] += j;
}

// Who takes part, from a solution: in each block the largest share and
// every share of at least half a row.
CoedgeLp::Pattern CoedgeLp::pattern(const std::vector<double>& x) const {
  Pattern on;
  for (const std::vector<int>& blk : a_) {
    double top = 0;
    for (int a : blk)
      if (a >= 0) top = std::max(top, x[size_t(a)]);
    for (int a : blk)
      if (a >= 0) on.push_back(x[size_t(a)] >= top || x[size_t(a)] >= 0.5);
  }
  return on;
}

CoedgeLp::Solution CoedgeLp::solution(const std::vector<double>& x) const {
  std::vector<Draft> stages;
  std::vector<int> all(size_t(cx_.n_devices()));
  for (int d = 0; d < cx_.n_devices(); ++d) all[size_t(d)] = d;
  for (int k = 0; k < cx_.n_blocks(); ++k) {
    const int h = cx_.out_height(k);
    if (!split(k)) {
      stages.push_back(make_stage(k, k + 1, {tail_}, {Rows{0, h}}));
      continue;
    }
    std::vector<double> w;
    for (int col : a_[size_t(k)]) w.push_back(std::max(0.0, x[size_t(col)]));
    stages.push_back(make_stage(k, k + 1, all, proportional_rows(h, w)));
  }
  return Solution{std::move(stages), x[size_t(latency_)]};
}

std::vector<CoedgeLp::Solution> CoedgeLp::solve(double deadline, bool energy, int starts) const {
  Lp lp = lp_;
  lp.bound(latency_, 0, deadline);
  std::vector<double> cost = energy_;
  if (!energy) {
    cost.assign(cost.size(), 0);
    cost[size_t(latency_)] = 1;
  }
  std::vector<Solution> out;
  std::vector<Pattern> seen;
  // Pass 2: u fixed to a pattern (a - H_k u <= 0), the LP solved again.
  auto fixed = [&](const Pattern& on) {
    if (std::find(seen.begin(), seen.end(), on) != seen.end()) return;
    seen.push_back(on);
    Lp f = lp;
    size_t n = 0;
    for (size_t k = 0; k < a_.size(); ++k)
      for (size_t i = 0; i < a_[k].size(); ++i)
        if (a_[k][i] >= 0) {
          f.coef(share_[k][i], -cx_.out_height(int(k)));
          f.bound(u_[k][i], on[n], on[n]);
          ++n;
        }
    if (auto y = f.solve(cost)) out.push_back(solution(*y));
  };
  // Dynamic slope scaling (pass 1): a - A_ki u_ki <= 0 with, to start,
  // A_ki = H_k and u <= 1 (the LP relaxation), or A_ki = H_k for an anchor
  // device (the source, the fastest, the tail) and 1/2 for the others; then
  // A_ki = max(1/2, a_ki of the previous round) with u unbounded: a device's
  // fixed charges (halo, link latency, memory) weigh per row as much as its
  // previous share makes them. Each round's pattern is fixed (pass 2); a
  // start ends when a pattern repeats. `starts` = 1: the relaxation only.
  const int nd = cx_.n_devices();
  std::vector<int> anchors;
  for (int d : {cx_.source(), cx_.by_capacity()[0], tail_})
    if (d >= 0 && std::find(anchors.begin(), anchors.end(), d) == anchors.end())
      anchors.push_back(d);
  constexpr int kRounds = 3;
  for (int start = -1; start + 1 < starts && start < int(anchors.size()); ++start) {
    std::vector<std::vector<double>> scale(a_.size());
    for (size_t k = 0; k < a_.size(); ++k)
      for (int i = 0; i < nd; ++i) {
        const bool full = start < 0 || i == anchors[size_t(start)];
        scale[k].push_back(full ? cx_.out_height(int(k)) : 0.5);
      }
    for (int round = 0; round < kRounds; ++round) {
      for (size_t k = 0; k < a_.size(); ++k)
        for (size_t i = 0; i < a_[k].size(); ++i)
          if (a_[k][i] >= 0) {
            lp.coef(share_[k][i], -scale[k][i]);
            lp.bound(u_[k][i], 0, start < 0 && round == 0 ? 1 : kInf);
          }
      auto x = lp.solve(cost);
      if (!x) break;
      Pattern on = pattern(*x);
      if (std::find(seen.begin(), seen.end(), on) != seen.end()) break;
      fixed(on);
      for (size_t k = 0; k < a_.size(); ++k)
        for (size_t i = 0; i < a_[k].size(); ++i)
          if (a_[k][i] >= 0) scale[k][i] = std::max(0.5, (*x)[size_t(a_[k][i])]);
    }
  }
  return out;
}

bool first_of_class(Context& cx, int d) {
  for (int e = 0; e < d; ++e)
    if (cx.device_class(e) == cx.device_class(d)) return false;
  return true;
}

struct Candidate {
  plan::Plan plan;
  double latency_s = kInf, energy_j = kInf;
};

// Devices that may run the non-partitionable blocks: one per device class,
// holding all of them; {-1} if every block is partitionable.
std::vector<int> tail_devices(Context& cx) {
  std::vector<int> out, seen;
  bool any = false;
  for (int k = 0; k < cx.n_blocks(); ++k) any = any || !cx.partitionable(k, k + 1);
  if (!any) return {-1};
  for (int d : cx.by_capacity()) {
    if (std::find(seen.begin(), seen.end(), cx.device_class(d)) != seen.end()) continue;
    seen.push_back(cx.device_class(d));
    bool fits = true;
    for (int k = 0; k < cx.n_blocks(); ++k)
      fits = fits && (cx.partitionable(k, k + 1) || cx.fits(d, k, k + 1));
    if (fits) out.push_back(d);
  }
  return out;
}

}  // namespace

Result<plan::Plan> plan_coedge(const cost::CostModel& cm, const Options& o) {
  const double deadline = o.deadline_s;
  if (!(deadline > 0))
    return errorf("coedge: deadline {} s: must be > 0 (infinity: no deadline)", deadline);
  Context cx(cm);
  const std::vector<int> tails = tail_devices(cx);
  if (tails.empty())
    return errorf(
        "coedge: model '{}' does not fit in device memory on cluster '{}': no device holds "
        "the non-partitionable blocks",
        cm.graph().name, cm.cluster().name);
  std::string failure;  // why a candidate was dropped (memory), for the error
  auto evaluate = [&](const std::vector<Draft>& stages) -> std::optional<Candidate> {
    auto p = finish(cx, stages, "coedge");
    if (!p.ok()) {
      failure = p.error();
      return std::nullopt;
    }
    sim::Options one;
    one.frames = 1;
    auto r = sim::simulate(*p, cm, one);
    if (!r.ok()) {
      failure = "coedge: " + r.error();
      return std::nullopt;
    }
    return Candidate{std::move(p).value(), r->latency_mean_ms / 1e3, r->energy_j_per_frame};
  };
  // Every plan is judged by the simulator (one frame): the least energy among
  // those within the deadline (1e-9 relative: floating-point noise) wins.
  constexpr int kLadder = 6, kAllStarts = 4;
  std::optional<Candidate> best, fastest;
  auto consider = [&](const Candidate& c) {
    if (c.latency_s <= deadline * (1 + 1e-9) && (!best || c.energy_j < best->energy_j)) best = c;
    if (!fastest || c.latency_s < fastest->latency_s) fastest = c;
  };
  // Plans of one device per block, built directly (no LP): the blocks
  // before p on the source, the rest on device y (each device class, each
  // p; p = 0: all on y); the whole blocks on y if it holds them.
  const int nb = cx.n_blocks();
  for (int y = 0; y < cx.n_devices(); ++y) {
    if (!first_of_class(cx, y)) continue;
    const int t = std::find(tails.begin(), tails.end(), y) != tails.end() ? y : tails[0];
    for (int p = 0; p <= (cx.source() >= 0 && cx.source() != y ? nb : 0); ++p) {
      std::vector<Draft> stages;
      for (int k = 0; k < nb; ++k) {
        int d = !cx.partitionable(k, k + 1) ? t : k < p ? cx.source() : y;
        stages.push_back(make_stage(k, k + 1, {d}, {Rows{0, cx.out_height(k)}}));
      }
      if (auto c = evaluate(stages)) consider(*c);
    }
  }
  // The LP plans, with T = the fastest device that holds the whole blocks
  // (tails[0]). The pool does not depend on the deadline, which only
  // filters it, so a later deadline never costs energy: the fastest plans
  // (min L), the min-energy plans with no deadline, and min-energy plans at
  // LP deadlines between the two, lo (hi / lo)^((j / kLadder)^2) for
  // j = 1 .. kLadder - 1 (denser near the fastest).
  {
    CoedgeLp lp(cx, tails[0]);
    // Adds plans to the pool; the least and greatest LP latency among them.
    auto pool = [&](const std::vector<CoedgeLp::Solution>& sols) {
      std::pair<double, double> range{kInf, 0};
      for (const CoedgeLp::Solution& s : sols)
        if (auto c = evaluate(s.stages)) {
          consider(*c);
          range = {std::min(range.first, s.lp_latency_s), std::max(range.second, s.lp_latency_s)};
        }
      return range;
    };
    const double lo = pool(lp.solve(kInf, false, kAllStarts)).first;
    const double hi = pool(lp.solve(kInf, true, kAllStarts)).second;
    for (int j = 1; j < kLadder && lo < hi; ++j)
      pool(lp.solve(lo * std::pow(hi / lo, std::pow(double(j) / kLadder, 2)), true, 1));
  }
  if (best) return std::move(best->plan);
  if (!fastest)
    return failure.empty() ? errorf("coedge: the LP has no solution for model '{}' on cluster '{}'",
                                    cm.graph().name, cm.cluster().name)
                           : errorf("{}", failure);
  return errorf(
      "coedge: deadline {:.4g} s is infeasible for model '{}' on cluster '{}': the fastest "
      "split found takes {:.4g} s",
      deadline, cm.graph().name, cm.cluster().name, fastest->latency_s);
}

}  // namespace coinfer::planners
