#include "planners/common.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <numeric>

namespace coinfer::planners {

namespace {

// A link as the simulator sees it: on a shared medium every transfer runs on
// the one channel of medium_bandwidth_bps (default_bandwidth_bps if unset),
// whatever the access links; otherwise the pair's bandwidth.
LinkCoef coef(const cost::CostModel& cm, int i, int j) {
  double t1 = cm.transfer_seconds(i, j, 1e6), t2 = cm.transfer_seconds(i, j, 2e6);
  LinkCoef c;
  c.per_byte = std::max(0.0, (t2 - t1) / 1e6);
  c.fixed = std::max(0.0, t1 - c.per_byte * 1e6);
  const cluster::ClusterSpec& cl = cm.cluster();
  if (cl.shared_medium && c.per_byte > 0) {
    double bps = cl.medium_bandwidth_bps > 0 ? cl.medium_bandwidth_bps : cl.default_bandwidth_bps;
    if (bps > 0) c.per_byte = 8.0 / bps;
  }
  return c;
}

LinkCoef mean_of(const std::vector<LinkCoef>& v) {
  LinkCoef m;
  for (const LinkCoef& c : v) {
    m.per_byte += c.per_byte / double(v.size());
    m.fixed += c.fixed / double(v.size());
  }
  return m;
}

}  // namespace

Context::Context(const cost::CostModel& cm) : cm_(cm) {
  const cluster::ClusterSpec& c = cm.cluster();
  nb_ = int(cm.blocks().size());
  nd_ = int(c.devices.size());
  shared_ = c.shared_medium;
  for (const cluster::Device& d : c.devices) {
    speed_.push_back(d.speed);
    same_profile_ = same_profile_ && d.profile == c.devices[0].profile;
  }
  for (int d = 0; d < nd_; ++d) cap_.push_back(cm.flops_per_s(d));
  mean_cap_ = nd_ ? std::accumulate(cap_.begin(), cap_.end(), 0.0) / nd_ : 0;
  mean_speed_ = nd_ ? std::accumulate(speed_.begin(), speed_.end(), 0.0) / nd_ : 0;
  by_cap_.resize(size_t(nd_));
  std::iota(by_cap_.begin(), by_cap_.end(), 0);
  std::stable_sort(by_cap_.begin(), by_cap_.end(),
                   [&](int x, int y) { return cap_[size_t(x)] > cap_[size_t(y)]; });
  // Classes: interchangeable devices (explicit links make a device unique).
  std::map<std::string, int> keys;
  for (int d = 0; d < nd_; ++d) {
    const cluster::Device& dv = c.devices[size_t(d)];
    bool linked = false;
    for (const cluster::Link& l : c.links) linked = linked || l.a == dv.name || l.b == dv.name;
    std::string key = fmt::format("{}|{}|{}|{}|{}|{}", dv.profile, dv.speed, dv.memory_bytes,
                                  dv.link_bps, dv.name == c.source, linked ? dv.name : "");
    class_.push_back(keys.emplace(key, int(keys.size())).first->second);
  }
  n_classes_ = int(keys.size());
  source_ = c.source.empty() ? -1 : c.find(c.source);
  for (int i = 0; i < nd_; ++i)
    for (int j = 0; j < nd_; ++j) pair_.push_back(i == j ? LinkCoef{} : coef(cm, i, j));
  for (int d = 0; d < nd_; ++d) {
    src_.push_back(coef(cm, -1, d));
    sink_.push_back(coef(cm, d, -1));
    std::vector<LinkCoef> from;
    for (int e = 0; e < nd_; ++e)
      if (e != d) from.push_back(pair_[size_t(e) * size_t(nd_) + size_t(d)]);
    peer_.push_back(from.empty() ? src_.back() : mean_of(from));
  }
  mean_src_ = mean_of(src_);
  mean_sink_ = mean_of(sink_);
  mean_peer_ = mean_of(peer_);
  const graph::Graph& g = cm.graph();
  weight_prefix_.assign(size_t(nb_) + 1, 0);
  for (int k = 0; k < nb_; ++k) {
    double w = 0;
    const graph::Block& bl = cm.blocks()[size_t(k)];
    for (int id = bl.first; id <= bl.last; ++id)
      w += 4.0 * double(g.nodes[size_t(id)].weight.size() + g.nodes[size_t(id)].bias.size());
    weight_prefix_[size_t(k) + 1] = weight_prefix_[size_t(k)] + w;
  }
  band_bytes_.assign(size_t(nb_ + 1) * size_t(nb_ + 1), -1);
  in_lo_.resize(size_t(nb_));
  in_hi_.resize(size_t(nb_));
  for (int k = 0; k < nb_; ++k) {
    in_lo_[size_t(k)].assign(size_t(out_height(k)) + 1, INT_MIN);
    in_hi_[size_t(k)].assign(size_t(out_height(k)) + 1, INT_MIN);
  }
  rows_scratch_.resize(size_t(nb_));
}

Context::~Context() = default;

const std::string& Context::device_name(int d) const {
  return cm_.cluster().devices[size_t(d)].name;
}

const Shape& Context::out_shape(int k) const {
  return cm_.graph().nodes[size_t(cm_.blocks()[size_t(k)].last)].out;
}

const Shape& Context::in_shape(int a) const {
  return cm_.graph().nodes[size_t(cm_.blocks()[size_t(a)].input)].out;
}

bool Context::partitionable(int a, int b) const {
  for (int k = a; k < b; ++k)
    if (!cm_.blocks()[size_t(k)].partitionable) return false;
  return true;
}

int Context::partitionable_prefix() const {
  int k = 0;
  while (k < nb_ && cm_.blocks()[size_t(k)].partitionable) ++k;
  return k;
}

// Band geometry composes block by block: the last node of block k is read
// only inside block k+1 (blocks are cut where every path crosses), so the rows
// block k must produce for a band of [a, b) are the input rows of the band
// [k+1, b). And each bound is separable: the first input row depends only on
// the first output row, the end only on the end (every op's input_rows maps
// lo and hi independently; unions and clips keep that). So one single-block
// band_geometry call per distinct row bound serves every band. Checked against
// band_geometry in tests/planners_test.cpp.
int Context::in_lo(int k, int lo) {
  int& v = in_lo_[size_t(k)][size_t(lo)];
  if (v == INT_MIN) {
    int h = out_height(k);
    auto geo = graph::band_geometry(cm_.graph(), cm_.blocks(), k, k + 1, {lo, h});
    v = geo.ok() ? geo->input.lo : 0;
    if (geo.ok()) in_hi_[size_t(k)][size_t(h)] = geo->input.hi;
  }
  return v;
}

int Context::in_hi(int k, int hi) {
  int& v = in_hi_[size_t(k)][size_t(hi)];
  if (v == INT_MIN) {
    auto geo = graph::band_geometry(cm_.graph(), cm_.blocks(), k, k + 1, {0, hi});
    v = geo.ok() ? geo->input.hi : in_shape(k).h;
    if (geo.ok()) in_lo_[size_t(k)][0] = geo->input.lo;
  }
  return v;
}

Rows Context::input_rows(int a, int b, Rows out) {
  if (out.empty()) return {0, 0};
  for (int k = b - 1; k >= a; --k) out = {in_lo(k, out.lo), in_hi(k, out.hi)};
  return out;
}

Rows Context::block_rows(int a, int b, int k, Rows out) {
  if (out.empty()) return {0, 0};
  return k + 1 >= b ? out : input_rows(k + 1, b, out);
}

int Context::fill_rows(int a, int b, Rows out) {
  for (int k = b - 1; k >= a; --k) {
    rows_scratch_[size_t(k)] = std::max(0, out.size());
    out = {in_lo(k, out.lo), in_hi(k, out.hi)};
  }
  return std::max(0, out.size());
}

double Context::compute_seconds(int d, int a, int b, Rows out) {
  if (out.empty()) return 0;
  int in_rows = fill_rows(a, b, out);
  return cm_.task_seconds(d, a, b, &rows_scratch_[size_t(a)], in_rows);
}

double Context::mean_compute_seconds(int a, int b, Rows out) {
  if (out.empty() || nd_ == 0) return 0;
  if (same_profile_) return compute_seconds(0, a, b, out) * speed_[0] / mean_speed_;
  int in_rows = fill_rows(a, b, out);
  double inv = 0;
  for (int d = 0; d < nd_; ++d) {
    double t = cm_.task_seconds(d, a, b, &rows_scratch_[size_t(a)], in_rows);
    if (t <= 0) return 0;
    inv += 1.0 / t;
  }
  return double(nd_) / inv;
}

double Context::weight_bytes(int a, int b) const {
  return weight_prefix_[size_t(b)] - weight_prefix_[size_t(a)];
}

double Context::band_bytes(int a, int b) {
  double& v = band_bytes_[size_t(a) * size_t(nb_ + 1) + size_t(b)];
  if (v < 0) {
    plan::Stage s;
    s.first_block = a;
    s.last_block = b;
    plan::Assignment as;
    as.rows = {0, out_height(b - 1)};
    v = plan::memory_use(cm_.graph(), cm_.blocks(), s, as).buffers;
  }
  return v;
}

double Context::memory(int d) const {
  return cm_.cluster().devices[size_t(d)].memory_bytes;
}

bool Context::fits(int d, int a, int b) {
  double m = memory(d);
  return m <= 0 || weight_bytes(a, b) + band_bytes(a, b) <= m;
}

// --- Row splits ---

std::vector<Rows> proportional_rows(int h, const std::vector<double>& weights) {
  const size_t n = weights.size();
  std::vector<Rows> out(n);
  double total = 0;
  for (double w : weights) total += std::max(0.0, w);
  if (n == 0 || h <= 0) return out;
  std::vector<int> count(n, 0);
  std::vector<std::pair<double, size_t>> frac;
  int given = 0;
  for (size_t i = 0; i < n; ++i) {
    double share = total > 0 ? h * std::max(0.0, weights[i]) / total : double(h) / double(n);
    count[i] = int(std::floor(share));
    given += count[i];
    frac.push_back({share - count[i], i});
  }
  std::stable_sort(frac.begin(), frac.end(), [](auto& x, auto& y) { return x.first > y.first; });
  for (size_t k = 0; given < h; k = (k + 1) % n, ++given) ++count[frac[k].second];
  int pos = 0;
  for (size_t i = 0; i < n; ++i) {
    out[i] = {pos, pos + count[i]};
    pos += count[i];
  }
  return out;
}

double part_seconds(Context& cx, int a, int b, int d, Rows r, bool output) {
  double t = cx.compute_seconds(d, a, b, r);
  if (cx.shared_medium() || r.empty()) return t;
  const Shape& in = cx.in_shape(a);
  const Shape& out = cx.out_shape(b - 1);
  t += (a == 0 ? cx.src_link(d) : cx.peer_link(d))
           .at(double(cx.input_rows(a, b, r).size()) * in.w * in.c * 4.0);
  if (output || b == cx.n_blocks())
    t += (b == cx.n_blocks() ? cx.sink_link(d) : cx.peer_link(d))
             .at(double(r.size()) * out.w * out.c * 4.0);
  return t;
}

std::vector<Rows> balanced_rows(Context& cx, int a, int b, const std::vector<int>& devs) {
  const int h = cx.out_height(b - 1);
  auto time = [&](int d, int lo, int hi) { return part_seconds(cx, a, b, d, {lo, hi}); };
  // Greedy sweep at finish time T: each device takes as many rows as fit.
  auto sweep = [&](double T, std::vector<Rows>* rows) {
    int pos = 0;
    for (size_t i = 0; i < devs.size(); ++i) {
      int lo = pos, best = pos;
      if (pos < h && time(devs[i], pos, pos + 1) <= T) {
        int l = pos + 1, r = h;  // largest e in [l, r] with time <= T
        while (l < r) {
          int m = l + (r - l + 1) / 2;
          if (time(devs[i], pos, m) <= T) {
            l = m;
          } else {
            r = m - 1;
          }
        }
        best = l;
      }
      if (rows) (*rows)[i] = {lo, best};
      pos = best;
    }
    return pos >= h;
  };
  std::vector<Rows> rows(devs.size());
  if (devs.empty() || h <= 0) return rows;
  double hi = kInf;
  for (int d : devs) hi = std::min(hi, time(d, 0, h));
  double lo = 0;
  for (int it = 0; it < 60 && hi - lo > 1e-7 * hi; ++it) {
    double m = 0.5 * (lo + hi);
    if (sweep(m, nullptr)) {
      hi = m;
    } else {
      lo = m;
    }
  }
  if (!sweep(hi, &rows)) {  // rounding: give the rest to the last device
    rows.assign(devs.size(), Rows{0, 0});
    rows[0] = {0, h};
  }
  return rows;
}

Draft make_stage(int a, int b, const std::vector<int>& devs, const std::vector<Rows>& rows) {
  Draft s;
  s.a = a;
  s.b = b;
  for (size_t i = 0; i < devs.size(); ++i)
    if (!rows[i].empty()) s.parts.push_back({devs[i], rows[i], {0, 0}});
  return s;
}

Draft proportional_stage(Context& cx, int a, int b, const std::vector<int>& devs) {
  std::vector<double> w;
  for (int d : devs) w.push_back(cx.capacity(d));
  return make_stage(a, b, devs, proportional_rows(cx.out_height(b - 1), w));
}

Draft balanced_stage(Context& cx, int a, int b, const std::vector<int>& devs) {
  Draft s = make_stage(a, b, devs, balanced_rows(cx, a, b, devs));
  bool one_class = true;
  for (int d : devs) one_class = one_class && cx.device_class(d) == cx.device_class(devs[0]);
  if (one_class && devs.size() > 1) {
    Draft eq = make_stage(
        a, b, devs, proportional_rows(cx.out_height(b - 1), std::vector<double>(devs.size(), 1.0)));
    bool first = a == 0, last = b == cx.n_blocks();
    if (stage_time(cx, eq, first, last).total < stage_time(cx, s, first, last).total) return eq;
  }
  return s;
}

int whole_device(Context& cx, int a, int b, const Draft* prev) {
  if (prev) {
    int best = -1;
    double share = 0;
    for (const Part& p : prev->parts) {
      double s = area(p.rows, all_cols(p.cols, cx.out_shape(prev->b - 1).w));
      if (s > share && cx.fits(p.device, a, b)) {
        share = s;
        best = p.device;
      }
    }
    if (best >= 0) return best;
  }
  for (int d : cx.by_capacity())
    if (cx.fits(d, a, b)) return d;
  return -1;
}

int fused_prefix(Context& cx, int requested) {
  int p = cx.partitionable_prefix();
  if (p == 0) return 0;
  if (requested > 0) return std::min(requested, p);
  const int h0 = cx.in_shape(0).h;
  int f = 1;
  for (int k = 0; k < p; ++k)
    if (int64_t(cx.out_height(k)) * 8 >= h0) f = k + 1;
  return f;
}

Result<plan::Plan> finish(Context& cx, const std::vector<Draft>& stages,
                          const std::string& strategy) {
  const cost::CostModel& cm = cx.cm();
  plan::Plan p;
  p.model = cm.graph().name;
  p.strategy = strategy;
  for (const Draft& d : stages) {
    plan::Stage s;
    s.first_block = d.a;
    s.last_block = d.b;
    for (const Part& q : d.parts)
      if (!q.rows.empty()) s.parts.push_back({cx.device_name(q.device), q.rows, q.cols});
    p.stages.push_back(std::move(s));
  }
  std::vector<std::string> errs = plan::validate(p, cm.graph(), cm.blocks(), cm.cluster());
  if (errs.empty()) return p;
  bool memory = true;
  std::string all;
  for (const std::string& e : errs) {
    memory = memory && e.find(" needs ") != std::string::npos &&
             e.find(" but has ") != std::string::npos;
    all += (all.empty() ? "" : "; ") + e;
  }
  if (memory)
    return errorf("{}: model '{}' does not fit in device memory on cluster '{}': {}", strategy,
                  p.model, cm.cluster().name, all);
  return errorf("{}: internal error, the plan does not validate (a planner bug): {}", strategy,
                all);
}

Result<std::vector<int>> devices_holding_all_partitionable(Context& cx, const char* strategy) {
  double weights = 0, buffers = 0;
  for (int k = 0; k < cx.n_blocks(); ++k)
    if (cx.partitionable(k, k + 1)) {
      weights += cx.weight_bytes(k, k + 1);
      buffers = std::max(buffers, cx.band_bytes(k, k + 1));
    }
  std::vector<int> devs;
  for (int d = 0; d < cx.n_devices(); ++d)
    if (cx.memory(d) <= 0 || weights + buffers <= cx.memory(d)) devs.push_back(d);
  if (devs.empty())
    return errorf(
        "{}: model '{}' does not fit in device memory on cluster '{}': every device "
        "must hold the {:.1f} MB of partitionable weights",
        strategy, cx.cm().graph().name, cx.cm().cluster().name, weights / 1e6);
  return devs;
}

}  // namespace coinfer::planners
