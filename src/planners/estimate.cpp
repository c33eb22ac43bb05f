// Stage times and plan-level estimates (the models are described in
// common.h and planner.h).
#include <algorithm>
#include <climits>
#include <cmath>
#include <map>

#include "planners/common.h"

namespace coinfer::planners {

// --- Stage time ---

namespace {

// Columns of the stage input a column-restricted part needs: the row rule
// applied to columns when values and windows are square (every zoo model),
// else a proportional estimate.
Rows input_cols(Context& cx, int a, int b, Rows cols) {
  const Shape& in = cx.in_shape(a);
  const Shape& out = cx.out_shape(b - 1);
  if (cols.empty()) return {0, in.w};
  if (in.w == in.h && out.w == out.h) return cx.input_rows(a, b, cols);
  double f = double(in.w) / double(out.w);
  return Rows{int(std::floor(cols.lo * f)), int(std::ceil(cols.hi * f))}.clip(in.w);
}

// Area of the union of intervals (1-D, all columns) or a capped sum.
double union_area(std::vector<std::pair<Rows, Rows>> rs, double cap) {
  bool all_same_cols = true;
  for (auto& r : rs) all_same_cols = all_same_cols && r.second == rs[0].second;
  if (!all_same_cols) {
    double s = 0;
    for (auto& r : rs) s += area(r.first, r.second);
    return std::min(s, cap);
  }
  std::sort(rs.begin(), rs.end(), [](auto& x, auto& y) { return x.first.lo < y.first.lo; });
  double rows = 0;
  int end = INT_MIN;
  for (auto& r : rs) {
    int lo = std::max(r.first.lo, end);
    if (r.first.hi > lo) rows += r.first.hi - lo;
    end = std::max(end, r.first.hi);
  }
  return rows * double(rs.empty() ? 0 : rs[0].second.size());
}

struct PartTime {
  double in = 0, comp = 0, out = 0;
};

StageTime combine(bool shared, const std::vector<PartTime>& pt) {
  StageTime t;
  for (const PartTime& p : pt) {
    t.compute = std::max(t.compute, p.comp);
    if (shared) {
      t.comm += p.in + p.out;
    } else if (p.in + p.comp + p.out > t.total) {
      t.total = p.in + p.comp + p.out;
      t.comm = p.in + p.out;
    }
  }
  if (shared) t.total = t.compute + t.comm;
  return t;
}

}  // namespace

StageTime stage_time(Context& cx, const Draft& s, bool first, bool last, const Draft* prev,
                     const Draft* next) {
  const Shape& in = cx.in_shape(s.a);
  const Shape& out = cx.out_shape(s.b - 1);
  const double in_px = double(in.c) * 4.0, out_px = double(out.c) * 4.0;
  std::vector<PartTime> pt;
  pt.reserve(s.parts.size());
  for (const Part& p : s.parts) {
    if (p.rows.empty()) continue;
    PartTime t;
    Rows oc = all_cols(p.cols, out.w);
    Rows ir = cx.input_rows(s.a, s.b, p.rows), ic = input_cols(cx, s.a, s.b, p.cols);
    double need = area(ir, ic);
    if (prev)
      for (const Part& q : prev->parts)
        if (q.device == p.device) need -= area(meet(ir, q.rows), meet(ic, all_cols(q.cols, in.w)));
    double in_bytes = std::max(0.0, need) * in_px;
    t.in = (first ? cx.src_link(p.device) : cx.peer_link(p.device)).at(in_bytes);
    double mine = area(p.rows, oc);
    double send = mine;
    if (next && !last) {
      std::vector<std::pair<Rows, Rows>> others;
      for (const Part& m : next->parts) {
        if (m.device == p.device || m.rows.empty()) continue;
        Rows r = meet(cx.input_rows(next->a, next->b, m.rows), p.rows);
        Rows c = meet(input_cols(cx, next->a, next->b, m.cols), oc);
        if (!r.empty() && !c.empty()) others.push_back({r, c});
      }
      send = union_area(std::move(others), mine);
    }
    t.out = (last ? cx.sink_link(p.device) : cx.peer_link(p.device)).at(send * out_px);
    t.comp = cx.compute_seconds(p.device, s.a, s.b, p.rows) * double(oc.size()) / double(out.w);
    pt.push_back(t);
  }
  return combine(cx.shared_medium(), pt);
}

StageTime mean_stage_time(Context& cx, int a, int b, int p, bool flow) {
  const Shape& in = cx.in_shape(a);
  const Shape& out = cx.out_shape(b - 1);
  const bool first = a == 0, last = b == cx.n_blocks();
  const int h = out.h;
  std::vector<PartTime> pt;
  for (int i = 0; i < p; ++i) {
    Rows r{int(int64_t(h) * i / p), int(int64_t(h) * (i + 1) / p)};
    if (r.empty()) continue;
    PartTime t;
    Rows ir = cx.input_rows(a, b, r);
    t.in = (first ? cx.mean_src() : cx.mean_peer()).at(double(ir.size()) * in.w * in.c * 4.0);
    t.out = (last ? cx.mean_sink() : cx.mean_peer()).at(double(r.size()) * out.w * out.c * 4.0);
    t.comp = cx.mean_compute_seconds(a, b, r);
    if (flow && !last) t.out = 0;  // the next stage's input
    pt.push_back(t);
  }
  if (!flow) return combine(cx.shared_medium(), pt);
  StageTime st;
  double busiest = 0;
  for (const PartTime& q : pt) {
    st.compute = std::max(st.compute, q.comp);
    st.comm += q.in + q.out;
    busiest = std::max({busiest, q.in, q.out});
  }
  if (!cx.shared_medium()) st.comm = busiest;
  st.total = std::max(st.compute, st.comm);
  return st;
}

Estimate pico_estimate(Context& cx, const std::vector<Draft>& stages) {
  Estimate e;
  std::vector<double> busy(size_t(cx.n_devices()), 0);
  for (size_t s = 0; s < stages.size(); ++s) {
    const Draft* prev = s > 0 ? &stages[s - 1] : nullptr;
    const Draft* next = s + 1 < stages.size() ? &stages[s + 1] : nullptr;
    double t = stage_time(cx, stages[s], s == 0, s + 1 == stages.size(), prev, next).total;
    e.stage_s.push_back(t);
    e.latency_s += t;
    std::vector<int> seen;
    for (const Part& p : stages[s].parts) {
      if (p.rows.empty() || std::count(seen.begin(), seen.end(), p.device)) continue;
      seen.push_back(p.device);
      busy[size_t(p.device)] += t;
    }
  }
  for (double b : busy) e.period_s = std::max(e.period_s, b);
  return e;
}

// The flow model: what the simulator does in steady state. Every transfer
// (source -> stage 0, part -> part of the next stage for the rows it lacks,
// last stage -> sink) occupies its channel for bytes / bandwidth (one shared
// channel, or one per device pair); compute occupies its device. Period = the
// busiest device or channel (transfers overlap compute of other frames);
// latency = per stage, its input phase (transfers summed on a shared medium,
// the slowest otherwise, plus the link latency) + its slowest part, then the
// output phase.
double flow_stage_seconds(Context& cx, const Draft* prev, const Draft& st, bool last,
                          FlowLoad* load) {
  const int nd = cx.n_devices();
  const bool shared = cx.shared_medium();
  struct Phase {
    double sum = 0, max = 0, fixed = 0;
    double time(bool shared) const { return shared ? sum + fixed : max; }
  };
  auto move = [&](int from, int to, double bytes, Phase& ph) {
    if (from == to || bytes <= 0) return;
    const LinkCoef& c = from < 0 ? cx.src_link(to)
                        : to < 0 ? cx.sink_link(from)
                                 : cx.pair_link(from, to);
    double t = c.per_byte * bytes;
    if (t <= 0 && c.fixed <= 0) return;  // the source device itself
    if (load && shared) {
      load->medium += t;
    } else if (load) {
      int a = from < 0 ? nd : from, b = to < 0 ? nd : to;
      load->channel[{std::min(a, b), std::max(a, b)}] += t;
    }
    ph.sum += t;
    ph.max = std::max(ph.max, t + c.fixed);
    ph.fixed = std::max(ph.fixed, c.fixed);
  };
  if (load) load->busy.resize(size_t(nd), 0);
  const Shape& in = cx.in_shape(st.a);
  const Shape& out = cx.out_shape(st.b - 1);
  Phase ph;
  double comp = 0;
  for (const Part& p : st.parts) {
    if (p.rows.empty()) continue;
    Rows ir = cx.input_rows(st.a, st.b, p.rows), ic = input_cols(cx, st.a, st.b, p.cols);
    if (!prev) {
      move(cx.source(), p.device, area(ir, ic) * in.c * 4.0, ph);
    } else {
      for (const Part& q : prev->parts)
        move(q.device, p.device,
             area(meet(ir, q.rows), meet(ic, all_cols(q.cols, in.w))) * in.c * 4.0, ph);
    }
    Rows oc = all_cols(p.cols, out.w);
    double c = cx.compute_seconds(p.device, st.a, st.b, p.rows) * double(oc.size()) / double(out.w);
    if (load) load->busy[size_t(p.device)] += c;
    comp = std::max(comp, c);
  }
  double t = ph.time(shared) + comp;
  if (last) {
    Phase out_ph;
    for (const Part& p : st.parts)
      if (!p.rows.empty())
        move(p.device, cx.source(), area(p.rows, all_cols(p.cols, out.w)) * out.c * 4.0, out_ph);
    t += out_ph.time(shared);
  }
  return t;
}

// One frame's critical path through a stage: part p starts when its device
// is free (its part of `prev` done) and every band it needs has arrived
// (sender's finish + transfer; from the source at 0 for the first stage; on
// a shared medium transfers go one at a time in order of readiness), then
// computes. Its finish, and the stage's end (+ the output to the sink if
// `last`), are returned.
double critical_stage(Context& cx, const Draft* prev, const std::vector<double>& prev_finish,
                      const Draft& st, bool last, std::vector<double>* finish) {
  const bool shared = cx.shared_medium();
  const Shape& in = cx.in_shape(st.a);
  const Shape& out = cx.out_shape(st.b - 1);
  double medium = 0;
  struct Send {
    double ready, bytes;
    int from, to;
    size_t part;
  };
  std::vector<Send> sends;
  std::vector<double> start(st.parts.size(), 0);
  for (size_t k = 0; k < st.parts.size(); ++k) {
    const Part& p = st.parts[k];
    if (p.rows.empty()) continue;
    Rows ir = cx.input_rows(st.a, st.b, p.rows), ic = input_cols(cx, st.a, st.b, p.cols);
    if (!prev) {
      sends.push_back({0, area(ir, ic) * in.c * 4.0, cx.source(), p.device, k});
      continue;
    }
    for (size_t q = 0; q < prev->parts.size(); ++q) {
      const Part& o = prev->parts[q];
      double f = q < prev_finish.size() ? prev_finish[q] : 0;
      if (o.device == p.device) start[k] = std::max(start[k], f);  // busy until then
      double bytes = area(meet(ir, o.rows), meet(ic, all_cols(o.cols, in.w))) * in.c * 4.0;
      if (bytes > 0 && o.device != p.device) sends.push_back({f, bytes, o.device, p.device, k});
    }
  }
  std::sort(sends.begin(), sends.end(), [](const Send& x, const Send& y) { return x.ready < y.ready; });
  for (const Send& m : sends) {
    if (m.from == m.to) continue;
    const LinkCoef& c = m.from < 0 ? cx.src_link(m.to) : cx.pair_link(m.from, m.to);
    double t = c.per_byte * m.bytes, at = m.ready;
    if (shared) {
      at = std::max(at, medium);
      medium = at + t;
    }
    start[m.part] = std::max(start[m.part], at + t + c.fixed);
  }
  finish->assign(st.parts.size(), 0);
  double end = 0;
  for (size_t k = 0; k < st.parts.size(); ++k) {
    const Part& p = st.parts[k];
    if (p.rows.empty()) continue;
    double c = cx.compute_seconds(p.device, st.a, st.b, p.rows) *
               double(all_cols(p.cols, out.w).size()) / double(out.w);
    (*finish)[k] = start[k] + c;
    double e = (*finish)[k];
    if (last) {
      const LinkCoef& l = cx.sink_link(p.device);
      double t = l.per_byte * area(p.rows, all_cols(p.cols, out.w)) * out.c * 4.0;
      if (shared) {
        e = std::max(e, medium) + t;
        medium = e;
      } else {
        e += t;
      }
      e += l.fixed;
    }
    end = std::max(end, e);
  }
  return end;
}

void FlowLoad::add(const FlowLoad& o) {
  busy.resize(std::max(busy.size(), o.busy.size()), 0);
  for (size_t d = 0; d < o.busy.size(); ++d) busy[d] += o.busy[d];
  for (auto& [k, v] : o.channel) channel[k] += v;
  medium += o.medium;
}

double FlowLoad::period(int frames) const {
  double p = medium;
  for (double b : busy) p = std::max(p, b);
  for (auto& [k, v] : channel) p = std::max(p, v);
  return p / std::max(1, frames);
}

Estimate estimate(Context& cx, const std::vector<Draft>& stages, FlowLoad* total) {
  Estimate e;
  FlowLoad load;
  for (size_t s = 0; s < stages.size(); ++s) {
    const Draft* prev = s > 0 ? &stages[s - 1] : nullptr;
    const bool last = s + 1 == stages.size();
    double t = flow_stage_seconds(cx, prev, stages[s], last, &load);
    e.stage_s.push_back(t);
    e.latency_s += t;
  }
  e.period_s = load.period();
  if (total) total->add(load);
  return e;
}

}  // namespace coinfer::planners
