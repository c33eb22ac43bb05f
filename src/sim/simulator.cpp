// Discrete-event simulation of a plan. Modelling choices and simplifications:
// - A task is one (frame, stage, part). It becomes ready when every transfer
//   it depends on has been delivered; each device runs its ready tasks one at
//   a time in FIFO order of readiness.
// - Compute time is cm.band_seconds() of the part's band (halo rows
//   included). A part with a column range is charged the column fraction of
//   the output width (approximation: the column halo's extra work is ignored).
// - A part needs rows geo.input of its stage's input value; for a column
//   range, the columns a square-window band of the same extent would need
//   (exact when windows and values are square, as in every zoo model). It
//   receives the overlap of that region with every producer's region.
// - Transfers: see FlowNetwork (network.h). Every device has an uplink and a
//   downlink at its access rate (full duplex, as a switched LAN and the
//   emulated testbed): a transfer i -> j crosses i's uplink and j's downlink,
//   so two senders into one device share its downlink. An explicit link
//   replaces both (one resource per direction). A shared medium is one more
//   resource every transfer crosses. An external source has no uplink limit
//   of its own: it reaches each device at that device's downlink, and results
//   return through the device's uplink to it (the sink). The link latency is
//   added once per transfer after its last byte; zero-byte and same-device
//   transfers are instantaneous.
// - Parts with empty rows are skipped. A frame completes when all its results
//   reached the sink and every task ran (a part whose output no later part
//   reads still costs its compute).
// - Energy per device: busy_s * busy_w + tx_s * tx_w + idle * idle_w with
//   idle = max(0, makespan - busy_s - tx_s). Compute and transfers may
//   overlap in time; the overlap is then charged at both powers and idle
//   shrinks accordingly (a simplification). Devices the plan leaves unused
//   draw idle power for the whole makespan.
#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <random>

#include "sim/network.h"

namespace coinfer::sim {

namespace {

constexpr int kSink = -1;

// One data movement of a frame: source -> stage-0 part, part -> part of the
// next stage, or last-stage part -> sink. Nodes: devices 0..N-1, N = external
// source.
struct Edge {
  int from = 0, to = 0;
  double bytes = 0;
  int res[FlowNetwork::kMaxResources] = {-1, -1, -1};  // network resources crossed
  int n_res = 0;                                        // 0: instantaneous
  double latency_s = 0;
  int dst_task = kSink;  // task index, or kSink
  std::string name;
};

struct Task {
  int stage = 0, part = 0, device = 0, pipeline = 0;
  double seconds = 0;
  int n_in = 0;                    // edges that must be delivered first
  int out_begin = 0, out_end = 0;  // its outgoing edges
  std::string name;
};

// Everything about one frame that does not depend on time.
struct Model {
  int n_dev = 0;
  int src_node = 0;  // a device index, or n_dev for an external source
  std::vector<Task> tasks;
  std::vector<Edge> edges;       // grouped by source task (input edges first)
  // Per interleaved pipeline (frame f runs pipeline f % size):
  std::vector<std::vector<int>> input_edges;  // source -> its first stage's parts
  std::vector<int> terminals;                 // its sink edges + its tasks without outgoing edges
  FlowNetwork net;
};

double region_bytes(const Shape& s, Rows rows, Rows cols) {
  return double(rows.size()) * double(cols.size()) * double(s.c) * 4.0;
}

Rows intersect(Rows a, Rows b) {
  return {std::max(a.lo, b.lo), std::min(a.hi, b.hi)};
}

// Columns of the stage input a part with output columns `cols` needs.
Rows needed_cols(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                 const plan::Stage& st, const plan::Assignment& a, const Shape& in,
                 const Shape& out) {
  if (a.all_cols()) return {0, in.w};
  if (in.w == in.h && out.w == out.h) {
    auto geo = graph::band_geometry(g, blocks, st.first_block, st.last_block, a.cols);
    if (geo.ok()) return geo->input;
  }
  double scale = double(in.w) / double(out.w);
  return Rows{int(std::floor(a.cols.lo * scale)), int(std::ceil(a.cols.hi * scale))}.clip(in.w);
}

std::string node_name(const cluster::ClusterSpec& c, int node) {
  return node < int(c.devices.size()) ? c.devices[size_t(node)].name : std::string("source");
}

coinfer::Result<Model> build_model(const plan::Plan& p, const cost::CostModel& cm) {
  const cluster::ClusterSpec& c = cm.cluster();
  const graph::Graph& g = cm.graph();
  const auto& blocks = cm.blocks();
  if (p.stages.empty()) return errorf("plan '{}': has no stages", p.strategy);
  ASSIGN_OR_RETURN(std::vector<Rows> spans, plan::pipeline_spans(p));
  std::vector<bool> first(p.stages.size()), last(p.stages.size());
  for (Rows sp : spans) {
    first[size_t(sp.lo)] = true;
    last[size_t(sp.hi - 1)] = true;
  }
  Model m;
  m.input_edges.resize(spans.size());
  m.terminals.assign(spans.size(), 0);
  m.n_dev = int(c.devices.size());
  m.src_node = m.n_dev;
  if (!c.source.empty()) {
    m.src_node = c.find(c.source);
    if (m.src_node < 0)
      return errorf("cluster '{}': source '{}' is not a device", c.name, c.source);
  }
  // Network resources, created on first use: per device an uplink and a
  // downlink, per explicit link and direction one, and the shared medium.
  const int nodes = m.n_dev + 1;
  std::vector<int> up(size_t(m.n_dev), -1), down(size_t(m.n_dev), -1);
  std::vector<int> pair(size_t(nodes) * size_t(nodes), -1);
  int medium = -1;
  auto resource = [&](int& r, double bps, int a, int b) -> coinfer::Result<int> {
    if (r >= 0) return r;
    if (!(bps > 0))
      return errorf("cluster '{}': bandwidth between '{}' and '{}' is {}: must be > 0", c.name,
                    node_name(c, a), node_name(c, b), bps);
    return r = m.net.add_resource(bps / 8.0);
  };
  auto route = [&](Edge& e) -> Status {
    const int a = e.from, b = e.to;  // devices, or n_dev for the external source
    auto add = [&](coinfer::Result<int> r) -> Status {
      if (!r.ok()) return r.status();
      e.res[e.n_res++] = *r;
      return ok_status();
    };
    if (a < m.n_dev && b < m.n_dev && c.linked(a, b)) {
      RETURN_IF_ERROR(add(resource(pair[size_t(a) * size_t(nodes) + size_t(b)],
                                   c.bandwidth_bps(a, b), a, b)));
    } else {
      if (a < m.n_dev)
        RETURN_IF_ERROR(add(resource(up[size_t(a)], c.access_bandwidth_bps(a), a, b)));
      if (b < m.n_dev)
        RETURN_IF_ERROR(add(resource(down[size_t(b)], c.access_bandwidth_bps(b), a, b)));
    }
    if (c.shared_medium)
      RETURN_IF_ERROR(add(resource(
          medium, c.medium_bandwidth_bps > 0 ? c.medium_bandwidth_bps : c.default_bandwidth_bps, a,
          b)));
    return ok_status();
  };
  auto make_edge = [&](int from, int to, double bytes, int dst,
                       std::string name) -> coinfer::Result<Edge> {
    Edge e;
    e.from = from;
    e.to = to;
    e.bytes = from == to ? 0 : bytes;
    e.dst_task = dst;
    e.name = std::move(name);
    if (e.bytes > 0) {
      RETURN_IF_ERROR(route(e));
      int lo = std::min(from, to), hi = std::max(from, to);
      e.latency_s = hi == m.n_dev ? c.source_latency_s(lo) : c.latency_s(lo, hi);
    }
    return e;
  };

  struct PartInfo {
    Rows out_rows, out_cols;  // region of the stage output it produces
    Rows in_rows, in_cols;    // region of the stage input it needs
  };
  std::vector<std::vector<Edge>> out_edges;  // per task
  std::vector<PartInfo> prev, cur;
  int prev_begin = 0;
  int expect_block = 0;
  for (size_t s = 0; s < p.stages.size(); ++s) {
    const plan::Stage& st = p.stages[s];
    if (first[s]) {
      if (s > 0 && expect_block != int(blocks.size()))
        return errorf("plan: pipeline {} ends at block {}, the model has {} blocks",
                      st.pipeline - 1, expect_block, blocks.size());
      expect_block = 0;
    }
    if (st.first_block != expect_block || st.last_block <= st.first_block ||
        st.last_block > int(blocks.size()))
      return errorf("plan stage {}: blocks [{}, {}): must start at block {} and end within {}", s,
                    st.first_block, st.last_block, expect_block, blocks.size());
    expect_block = st.last_block;
    const Shape& in = g.nodes[size_t(blocks[size_t(st.first_block)].input)].out;
    const Shape& out = g.nodes[size_t(blocks[size_t(st.last_block - 1)].last)].out;
    cur.clear();
    const int stage_begin = int(m.tasks.size());
    for (size_t k = 0; k < st.parts.size(); ++k) {
      const plan::Assignment& a = st.parts[k];
      int d = c.find(a.device);
      if (d < 0) return errorf("plan device '{}' is not in cluster '{}'", a.device, c.name);
      if (a.rows.empty()) continue;  // an empty share does nothing
      auto geo = graph::band_geometry(g, blocks, st.first_block, st.last_block, a.rows);
      if (!geo.ok()) return errorf("plan stage {} part {}: {}", s, k, geo.error());
      PartInfo info{a.rows, a.all_cols() ? Rows{0, out.w} : a.cols, geo->input,
                    needed_cols(g, blocks, st, a, in, out)};
      if (info.out_cols.empty() || info.out_cols.hi > out.w || info.out_cols.lo < 0)
        return errorf("plan stage {} part {}: cols [{}, {}): must be within [0, {})", s, k,
                      a.cols.lo, a.cols.hi, out.w);
      Task t;
      t.stage = int(s);
      t.pipeline = st.pipeline;
      t.part = int(k);
      t.device = d;
      t.seconds = cm.band_seconds(d, *geo) * double(info.out_cols.size()) / double(out.w);
      t.name = fmt::format("s{} blocks {}-{} rows {}-{}", s, st.first_block, st.last_block,
                           a.rows.lo, a.rows.hi);
      if (!a.all_cols()) t.name += fmt::format(" cols {}-{}", a.cols.lo, a.cols.hi);
      const int me = int(m.tasks.size());
      m.tasks.push_back(std::move(t));
      out_edges.emplace_back();
      if (first[s]) {
        ASSIGN_OR_RETURN(Edge e,
                         make_edge(m.src_node, d, region_bytes(in, info.in_rows, info.in_cols), me,
                                   fmt::format("input -> s{}p{}", s, k)));
        m.edges.push_back(std::move(e));
        m.input_edges[size_t(st.pipeline)].push_back(int(m.edges.size()) - 1);
        ++m.tasks[size_t(me)].n_in;
      } else {
        for (size_t q = 0; q < prev.size(); ++q) {
          Rows r = intersect(info.in_rows, prev[q].out_rows);
          Rows cc = intersect(info.in_cols, prev[q].out_cols);
          if (r.empty() || cc.empty()) continue;
          const Task& src = m.tasks[size_t(prev_begin) + q];
          ASSIGN_OR_RETURN(Edge e,
                           make_edge(src.device, d, region_bytes(in, r, cc), me,
                                     fmt::format("s{}p{} -> s{}p{}", s - 1, src.part, s, k)));
          out_edges[size_t(prev_begin) + q].push_back(std::move(e));
          ++m.tasks[size_t(me)].n_in;
        }
        if (m.tasks[size_t(me)].n_in == 0)
          return errorf(
              "plan stage {} part {} ('{}'): no part of stage {} produces its input rows "
              "[{}, {})",
              s, k, a.device, s - 1, info.in_rows.lo, info.in_rows.hi);
      }
      if (last[s]) {
        ASSIGN_OR_RETURN(
            Edge e, make_edge(d, m.src_node, region_bytes(out, info.out_rows, info.out_cols), kSink,
                              fmt::format("s{}p{} -> output", s, k)));
        out_edges.back().push_back(std::move(e));
      }
      cur.push_back(info);
    }
    if (cur.empty()) return errorf("plan stage {}: has no non-empty part", s);
    prev.swap(cur);
    prev_begin = stage_begin;
  }
  if (expect_block != int(blocks.size()))
    return errorf("plan: stages end at block {}, the model has {} blocks", expect_block,
                  blocks.size());
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    Task& task = m.tasks[t];
    task.out_begin = int(m.edges.size());
    for (Edge& e : out_edges[t]) {
      if (e.dst_task == kSink) ++m.terminals[size_t(task.pipeline)];
      m.edges.push_back(std::move(e));
    }
    task.out_end = int(m.edges.size());
    if (task.out_begin == task.out_end) ++m.terminals[size_t(task.pipeline)];
  }
  return m;
}

Status check_options(const Options& o) {
  if (o.frames < 1) return errorf("simulate: frames={}: must be >= 1", o.frames);
  if (o.arrival >= Arrival::Count) return errorf("simulate: unknown arrival process");
  if (o.arrival != Arrival::ClosedLoop && !(o.rate > 0))
    return errorf("simulate: rate={}: must be > 0 for fixed and poisson arrivals", o.rate);
  if (o.arrival != Arrival::ClosedLoop && !std::isfinite(o.rate))
    return errorf("simulate: rate={}: must be finite", o.rate);
  if (o.arrival == Arrival::ClosedLoop && o.in_flight < 1)
    return errorf("simulate: in_flight={}: must be >= 1", o.in_flight);
  return ok_status();
}

// A growable FIFO ring of (slot, task) pairs; no allocation once grown.
class TaskQueue {
 public:
  bool empty() const { return n_ == 0; }
  void push(int slot, int task) {
    if (n_ == buf_.size()) grow();
    buf_[(head_ + n_) % buf_.size()] = {slot, task};
    ++n_;
  }
  std::pair<int, int> pop() {
    auto v = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    --n_;
    return v;
  }

 private:
  void grow() {
    std::vector<std::pair<int, int>> b(std::max<size_t>(16, buf_.size() * 2));
    for (size_t i = 0; i < n_; ++i) b[i] = buf_[(head_ + i) % buf_.size()];
    buf_.swap(b);
    head_ = 0;
  }
  std::vector<std::pair<int, int>> buf_;
  size_t head_ = 0, n_ = 0;
};

enum class Ev : uint8_t { Arrive, ComputeDone, NetworkDone, Deliver };

struct Event {
  double t;
  uint64_t seq;  // FIFO among equal times: deterministic
  int a;         // frame, device or transfer
  Ev kind;
};

struct EventLater {
  bool operator()(const Event& x, const Event& y) const {
    return x.t > y.t || (x.t == y.t && x.seq > y.seq);
  }
};

class Engine {
 public:
  Engine(Model& m, const cost::CostModel& cm, const Options& o) : m_(m), cm_(cm), o_(o) {
    const size_t n = size_t(m.n_dev);
    dev_.resize(n);
    std::vector<Event> storage;
    storage.reserve(1024);
    events_ = decltype(events_)(EventLater(), std::move(storage));
    rng_.seed(o.seed);
    r_.frames = o.frames;
    r_.latencies_ms.assign(size_t(o.frames), 0);
  }

  Result run() {
    if (o_.arrival == Arrival::ClosedLoop) {
      int k = std::min(o_.in_flight, o_.frames);
      for (next_frame_ = 0; next_frame_ < k;) arrive(next_frame_++, 0);
    } else {
      push(0, Ev::Arrive, 0);
      next_arrival_ = 0;
    }
    while (!events_.empty()) {
      Event e = events_.top();
      events_.pop();
      now_ = e.t;
      switch (e.kind) {
        case Ev::Arrive:
          on_arrive(e.a);
          break;
        case Ev::ComputeDone:
          on_compute_done(e.a);
          break;
        case Ev::NetworkDone:
          if (e.t == armed_) {  // else superseded by an earlier one
            armed_ = std::numeric_limits<double>::infinity();
            on_network_done();
          }
          break;
        case Ev::Deliver:
          deliver_xfer(e.a);
          break;
      }
    }
    return finish();
  }

 private:
  struct Slot {
    int frame = 0;
    double arrival = 0;
    int remaining = 0;  // terminals not reached yet
  };
  struct Xfer {
    int edge = 0, slot = 0;
    double start = 0;
  };
  struct Dev {
    TaskQueue queue;
    bool busy = false;
    int slot = 0, task = 0;
    double start = 0;
    int tx_active = 0;
    double tx_since = 0;
    double busy_s = 0, tx_s = 0, bytes_sent = 0;
  };

  void push(double t, Ev kind, int a) {
    events_.push(Event{t, seq_++, a, kind});
  }

  double arrival_time(int f) {
    if (o_.arrival == Arrival::Fixed) return double(f) / o_.rate;
    if (f == 0) return 0;
    std::exponential_distribution<double> gap(o_.rate);
    next_arrival_ += gap(rng_);
    return next_arrival_;
  }

  void on_arrive(int f) {
    arrive(f, now_);
    if (f + 1 < o_.frames) push(arrival_time(f + 1), Ev::Arrive, f + 1);
  }

  void arrive(int f, double t) {
    int s;
    if (free_slots_.empty()) {
      s = int(slots_.size());
      slots_.emplace_back();
      pending_.resize(pending_.size() + m_.tasks.size());
    } else {
      s = free_slots_.back();
      free_slots_.pop_back();
    }
    const size_t pipe = size_t(f) % m_.terminals.size();
    slots_[size_t(s)] = Slot{f, t, m_.terminals[pipe]};
    int* pend = &pending_[size_t(s) * m_.tasks.size()];
    for (size_t k = 0; k < m_.tasks.size(); ++k) pend[k] = m_.tasks[k].n_in;
    for (int e : m_.input_edges[pipe]) start_transfer(e, s, t);
  }

  void start_transfer(int ei, int slot, double t) {
    const Edge& e = m_.edges[size_t(ei)];
    if (e.n_res == 0) {
      deliver(e, slot, t);
      return;
    }
    int x;
    if (free_xfers_.empty()) {
      x = int(xfers_.size());
      xfers_.emplace_back();
    } else {
      x = free_xfers_.back();
      free_xfers_.pop_back();
    }
    xfers_[size_t(x)] = Xfer{ei, slot, t};
    r_.bytes_moved += e.bytes;
    if (e.from < m_.n_dev) dev_[size_t(e.from)].bytes_sent += e.bytes;
    tx_begin(e.from, t);
    tx_begin(e.to, t);
    m_.net.start(t, e.bytes, e.res, e.n_res, x);
    schedule_network();
  }

  // One NetworkDone event armed at the network's next completion; a start
  // that brings it forward arms an earlier one (the later one is ignored
  // when it comes), one that pushes it back leaves it: it then finds nothing
  // due and re-arms.
  void schedule_network() {
    double t = m_.net.next_completion();
    if (t < armed_) {
      armed_ = t;
      push(t, Ev::NetworkDone, 0);
    }
  }

  void on_network_done() {
    done_.clear();
    m_.net.finish_due(now_, done_);
    for (int x : done_) {
      const Edge& e = m_.edges[size_t(xfers_[size_t(x)].edge)];
      tx_end(e.from, now_);
      tx_end(e.to, now_);
    }
    schedule_network();
    for (int x : done_) {
      const Edge& e = m_.edges[size_t(xfers_[size_t(x)].edge)];
      if (e.latency_s > 0) {
        push(now_ + e.latency_s, Ev::Deliver, x);
      } else {
        deliver_xfer(x);
      }
    }
  }

  void deliver_xfer(int x) {
    Xfer xf = xfers_[size_t(x)];
    free_xfers_.push_back(x);
    const Edge& e = m_.edges[size_t(xf.edge)];
    if (o_.trace) {
      int frame = slots_[size_t(xf.slot)].frame;
      r_.trace.push_back(TraceEvent{fmt::format("{} f{}", e.name, frame), "transfer",
                                    e.from < m_.n_dev ? e.from : -1, 1, xf.start, now_ - xf.start,
                                    frame});
    }
    deliver(e, xf.slot, now_);
  }

  void deliver(const Edge& e, int slot, double t) {
    if (e.dst_task == kSink) {
      terminal(slot, t);
      return;
    }
    int& pend = pending_[size_t(slot) * m_.tasks.size() + size_t(e.dst_task)];
    if (--pend > 0) return;
    Dev& d = dev_[size_t(m_.tasks[size_t(e.dst_task)].device)];
    d.queue.push(slot, e.dst_task);
    if (!d.busy) start_next(m_.tasks[size_t(e.dst_task)].device, t);
  }

  void start_next(int di, double t) {
    Dev& d = dev_[size_t(di)];
    if (d.queue.empty()) {
      d.busy = false;
      return;
    }
    auto [slot, task] = d.queue.pop();
    d.busy = true;
    d.slot = slot;
    d.task = task;
    d.start = t;
    push(t + m_.tasks[size_t(task)].seconds, Ev::ComputeDone, di);
  }

  void on_compute_done(int di) {
    Dev& d = dev_[size_t(di)];
    const Task& task = m_.tasks[size_t(d.task)];
    const int slot = d.slot;
    d.busy_s += now_ - d.start;
    if (o_.trace) {
      int frame = slots_[size_t(slot)].frame;
      r_.trace.push_back(TraceEvent{fmt::format("{} f{}", task.name, frame), "compute", di, 0,
                                    d.start, now_ - d.start, frame});
    }
    for (int e = task.out_begin; e < task.out_end; ++e) start_transfer(e, slot, now_);
    if (task.out_begin == task.out_end) terminal(slot, now_);
    start_next(di, now_);
  }

  void terminal(int slot, double t) {
    Slot& s = slots_[size_t(slot)];
    if (--s.remaining > 0) return;
    r_.latencies_ms[size_t(s.frame)] = (t - s.arrival) * 1e3;
    ++r_.completed;
    last_completion_ = std::max(last_completion_, t);
    first_completion_ = std::min(first_completion_, t);
    free_slots_.push_back(slot);
    if (o_.arrival == Arrival::ClosedLoop && next_frame_ < o_.frames) arrive(next_frame_++, t);
  }

  void tx_begin(int node, double t) {
    if (node >= m_.n_dev) return;
    Dev& d = dev_[size_t(node)];
    if (d.tx_active++ == 0) d.tx_since = t;
  }
  void tx_end(int node, double t) {
    if (node >= m_.n_dev) return;
    Dev& d = dev_[size_t(node)];
    if (--d.tx_active == 0) d.tx_s += t - d.tx_since;
  }

  Result finish() {
    const cluster::ClusterSpec& c = cm_.cluster();
    r_.makespan_s = last_completion_;  // the first frame arrives at t = 0
    r_.failed = r_.frames - r_.completed;
    r_.throughput_fps = r_.makespan_s > 0 ? r_.completed / r_.makespan_s : 0;
    r_.steady_fps = steady_fps(r_.completed, first_completion_, last_completion_, r_.makespan_s);
    fill_latency_stats(r_);
    double energy = 0;
    for (size_t i = 0; i < dev_.size(); ++i) {
      const Dev& d = dev_[i];
      const cluster::PowerModel& pw = c.devices[i].power;
      DeviceStats s;
      s.name = c.devices[i].name;
      s.busy_s = d.busy_s;
      s.tx_s = d.tx_s;
      s.bytes_sent = d.bytes_sent;
      s.utilization = r_.makespan_s > 0 ? d.busy_s / r_.makespan_s : 0;
      double idle = std::max(0.0, r_.makespan_s - d.busy_s - d.tx_s);
      s.energy_j = d.busy_s * pw.busy_w + d.tx_s * pw.tx_w + idle * pw.idle_w;
      energy += s.energy_j;
      r_.devices.push_back(std::move(s));
    }
    r_.energy_j_per_frame = r_.completed > 0 ? energy / r_.completed : 0;
    return std::move(r_);
  }

  Model& m_;
  const cost::CostModel& cm_;
  const Options& o_;
  std::priority_queue<Event, std::vector<Event>, EventLater> events_;
  uint64_t seq_ = 0;
  double now_ = 0;
  std::mt19937_64 rng_;
  double next_arrival_ = 0;
  int next_frame_ = 0;
  double last_completion_ = 0;
  double armed_ = std::numeric_limits<double>::infinity();  // pending NetworkDone
  double first_completion_ = std::numeric_limits<double>::infinity();
  std::vector<Slot> slots_;
  std::vector<int> pending_;  // per slot: undelivered inputs of each task
  std::vector<int> free_slots_;
  std::vector<Xfer> xfers_;
  std::vector<int> free_xfers_;
  std::vector<int> done_;
  std::vector<Dev> dev_;
  Result r_;
};

}  // namespace

coinfer::Result<Result> simulate(const plan::Plan& p, const cost::CostModel& cm, const Options& o) {
  RETURN_IF_ERROR(check_options(o));
  ASSIGN_OR_RETURN(Model m, build_model(p, cm));
  Engine engine(m, cm, o);
  return engine.run();
}

}  // namespace coinfer::sim
