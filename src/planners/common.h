// Shared pieces of the planners: a geometry/time cache over one cost model,
// the PICO-style stage time, row splits (capacity-proportional and balanced
// with the profiled cost), and plan assembly with validation.
//
// Stage time [paper: PICO's cost model, generalised]: for every part k of a
// stage, t_in(k) = its halo-expanded input band moved to its device (from the
// source for the first stage, else from a peer), comp(k) = cm.band_seconds,
// t_out(k) = its output moved on (to the sink for the last stage). Rows a
// device already holds from the previous stage, or keeps for itself in the
// next, do not move. Then
//   shared medium:  T = max_k comp(k) + sum_k (t_in(k) + t_out(k))
//   own links:      T = max_k (t_in(k) + comp(k) + t_out(k))
// A transfer takes bytes * 8 / bandwidth + latency on the pair's link; a
// "peer" of an unknown neighbour stage is the mean over the other devices.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "planners/planner.h"

namespace coinfer::planners {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// A part of a stage draft: a device index and its output region.
struct Part {
  int device = 0;
  Rows rows;
  Rows cols{0, 0};  // empty = all columns
};

// A stage under construction: blocks [a, b), parts in row order.
struct Draft {
  int a = 0, b = 0;
  std::vector<Part> parts;
};

inline double area(Rows r, Rows c) {
  return double(r.size()) * double(c.size());
}
inline Rows meet(Rows a, Rows b) {
  return {std::max(a.lo, b.lo), std::min(a.hi, b.hi)};
}
inline Rows all_cols(Rows cols, int w) {
  return cols.empty() ? Rows{0, w} : cols;
}

struct StageTime {
  double compute = 0;  // max over parts
  double comm = 0;     // summed (shared medium) or of the slowest part
  double total = 0;
};

// Transfer time of `bytes` as a + b * bytes (0 bytes: 0).
struct LinkCoef {
  double per_byte = 0, fixed = 0;
  double at(double bytes) const { return bytes > 0 ? fixed + per_byte * bytes : 0; }
};

class Context {
 public:
  explicit Context(const cost::CostModel& cm);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  const cost::CostModel& cm() const { return cm_; }
  int n_blocks() const { return nb_; }
  int n_devices() const { return nd_; }
  bool shared_medium() const { return shared_; }
  const std::string& device_name(int d) const;

  // Output shape of block k; shape of the value feeding block a.
  const Shape& out_shape(int k) const;
  const Shape& in_shape(int a) const;
  int out_height(int k) const { return out_shape(k).h; }
  bool partitionable(int a, int b) const;  // every block of [a, b) splittable
  // Number of leading partitionable blocks.
  int partitionable_prefix() const;

  // Rows of block a's input needed to produce `out` rows of block b-1 by
  // running [a, b) (clipped), and the rows block k in [a, b) computes.
  Rows input_rows(int a, int b, Rows out);
  Rows block_rows(int a, int b, int k, Rows out);
  // Seconds for device d to compute the band (== cm.band_seconds).
  double compute_seconds(int d, int a, int b, Rows out);
  // The same on a device of mean capacity (1 / mean of 1 / t_d).
  double mean_compute_seconds(int a, int b, Rows out);

  // Capacity (FLOP/s on this model), devices sorted by it (desc, index asc).
  double capacity(int d) const { return cap_[size_t(d)]; }
  double mean_capacity() const { return mean_cap_; }
  const std::vector<int>& by_capacity() const { return by_cap_; }
  // Devices with identical speed, profile, memory and links share a class.
  int device_class(int d) const { return class_[size_t(d)]; }
  int n_classes() const { return n_classes_; }

  // Links: from the source, to the sink, from / to a typical peer.
  const LinkCoef& src_link(int d) const { return src_[size_t(d)]; }
  const LinkCoef& sink_link(int d) const { return sink_[size_t(d)]; }
  const LinkCoef& peer_link(int d) const { return peer_[size_t(d)]; }
  const LinkCoef& pair_link(int i, int j) const {
    return pair_[size_t(i) * size_t(nd_) + size_t(j)];
  }
  // The source as a node: a device index, or -1 for an external source.
  int source() const { return source_; }
  const LinkCoef& mean_src() const { return mean_src_; }
  const LinkCoef& mean_sink() const { return mean_sink_; }
  const LinkCoef& mean_peer() const { return mean_peer_; }

  // Memory: weights of blocks [a, b) and the whole-frame band buffers (an
  // upper bound on any part's buffers), bytes; device memory (<= 0: no limit).
  double weight_bytes(int a, int b) const;
  double band_bytes(int a, int b);
  bool fits(int d, int a, int b);
  double memory(int d) const;

 private:
  // Rows of block k's input needed for output rows starting at lo / ending at
  // hi (clipped); filled lazily from single-block geometries.
  int in_lo(int k, int lo);
  int in_hi(int k, int hi);
  // rows_scratch_[k] for k in [a, b): the rows block k computes for `out`
  // rows of block b-1; returns the rows of block a's input.
  int fill_rows(int a, int b, Rows out);

  const cost::CostModel& cm_;
  int nb_ = 0, nd_ = 0;
  bool shared_ = false;
  bool same_profile_ = true;
  std::vector<double> cap_, speed_;
  double mean_cap_ = 0, mean_speed_ = 0;
  std::vector<int> by_cap_, class_;
  int n_classes_ = 0;
  std::vector<LinkCoef> src_, sink_, peer_, pair_;
  int source_ = -1;
  LinkCoef mean_src_, mean_sink_, mean_peer_;
  std::vector<double> weight_prefix_;
  std::vector<double> band_bytes_;               // per (a, b), < 0 = unknown
  std::vector<std::vector<int>> in_lo_, in_hi_;  // per block, per row; INT_MIN = unknown
  std::vector<int> rows_scratch_;
};

// Stage time of `s` (see the top of this file). `first` / `last`: the stage
// reads the frame from the source / sends the result to the sink. `prev` /
// `next`: the neighbouring stages if known (rows a device holds, or keeps, do
// not move); unknown neighbours move everything.
StageTime stage_time(Context& cx, const Draft& s, bool first, bool last,
                     const Draft* prev = nullptr, const Draft* next = nullptr);
// The stage time of [a, b) split equally among p devices of mean capacity and
// mean links (PICO Algorithm 1). `flow`: instead, the stage's share of the
// flow-model period [ours]: transfers overlap compute, so max(slowest part,
// busiest transfer) on own links and max(slowest part, the stage's input
// (and final output) transfers summed) on a shared medium.
StageTime mean_stage_time(Context& cx, int a, int b, int p, bool flow = false);

// One stage of the flow model (planners::estimate): its share of the
// latency (input phase from `prev`'s parts, or the source if null, + its
// slowest part, + the output phase to the sink if `last`). `load`, if given,
// accumulates compute per device and transfer time per channel.
struct FlowLoad {
  std::vector<double> busy;                      // per device
  std::map<std::pair<int, int>, double> channel;  // per device pair (nd = the source)
  double medium = 0;                             // shared medium
  void add(const FlowLoad& o);
  // The busiest device or channel, divided by `frames` (the frames loaded).
  double period(int frames = 1) const;
};
double flow_stage_seconds(Context& cx, const Draft* prev, const Draft& s, bool last,
                          FlowLoad* load = nullptr);

// One frame's critical path through stage `s` (estimate.cpp): each part
// starts when its device is done with `prev` and its input bands have
// arrived (senders' finish times `prev_finish`, per part of prev, + transfer),
// then computes; writes each part's finish to `finish` and returns the
// stage's end (after the output reaches the sink if `last`).
double critical_stage(Context& cx, const Draft* prev, const std::vector<double>& prev_finish,
                      const Draft& s, bool last, std::vector<double>* finish);

// Plan-level estimates of a draft sequence (see planners::estimate and
// planners::pico_estimate).
// `total`, if given, also accumulates the frame's FlowLoad.
Estimate estimate(Context& cx, const std::vector<Draft>& stages, FlowLoad* total = nullptr);
Estimate pico_estimate(Context& cx, const std::vector<Draft>& stages);

// Splits `h` rows in proportion to `weights` (largest remainder), in order;
// entries may be empty.
std::vector<Rows> proportional_rows(int h, const std::vector<double>& weights);
// The own finish time of device d computing output rows r of [a, b) under
// the stage-time model: compute only on a shared medium (the medium's time is
// the stage's, not the part's); input + compute + output on own links (from
// the source / to the sink at the model's ends, else a typical peer).
// `output` = false: the output is not counted unless it goes to the sink
// (the next stage's input transfer accounts for it).
double part_seconds(Context& cx, int a, int b, int d, Rows r, bool output = true);
// Rows of [a, b)'s output split so that `devs` (in this order) finish
// together under the stage-time model (compute only on a shared medium; input
// + compute + output on own links), by bisection on the common finish time
// with each device's maximal row count; devices may get no rows.
std::vector<Rows> balanced_rows(Context& cx, int a, int b, const std::vector<int>& devs);
// A stage of [a, b) over `devs` with `rows` per device; empty rows dropped.
Draft make_stage(int a, int b, const std::vector<int>& devs, const std::vector<Rows>& rows);
// [a, b) split across `devs` in proportion to capacity.
Draft proportional_stage(Context& cx, int a, int b, const std::vector<int>& devs);
// [a, b) balanced across `devs`, and the better (by stage time) of that and
// an equal split when the devices are of one class.
Draft balanced_stage(Context& cx, int a, int b, const std::vector<int>& devs);

// The device to run a whole (e.g. non-partitionable) range [a, b): the one
// holding the largest share of `prev` (DistrEdge's rule), else the fastest;
// only devices whose memory holds the range; -1 if none.
int whole_device(Context& cx, int a, int b, const Draft* prev);
// Fused prefix for ftp / efl: blocks [0, f) with f the last partitionable
// block (within the leading partitionable run) whose output height is >= 1/8
// of the input height (at least 1); `requested` > 0 overrides (clamped).
int fused_prefix(Context& cx, int requested);

// Devices whose memory holds the weights of every partitionable block plus
// the largest band buffer (the devices of a split-everything plan); an error
// naming `strategy` if there are none.
Result<std::vector<int>> devices_holding_all_partitionable(Context& cx, const char* strategy);

// efl's stages for prefix length f (efl.cpp); empty if memory rules it out.
std::vector<Draft> efl_drafts(Context& cx, int f);
Status fused_memory_error(Context& cx, const std::string& who, int f);

// EdgeCI (awas.cpp, dpfl.cpp). A split rule: a stage of [a, b) over `devs`.
using SplitFn = std::function<Draft(Context&, int a, int b, const std::vector<int>& devs)>;
// AWAS: [a, b) over `devs` by a reverse auction of `strips` equal strips of
// its output (0: 4 x devices, at most the height); see awas.cpp.
Draft awas_stage(Context& cx, int a, int b, const std::vector<int>& devs, int strips);
// A segment [a, b): split by `split` over the devices (by capacity) whose
// memory holds it, or, if it is not partitionable and ends the model, whole
// on one device (whole_device with `prev`); no parts if impossible.
Draft segment_draft(Context& cx, int a, int b, const Draft* prev, const SplitFn& split);
Status segment_memory_error(Context& cx, const std::string& who, int a, int b);
// DPFL: segments minimising the summed stage times, each split by `split`
// (dpfl.cpp); empty if memory rules every segmentation out.
std::vector<Draft> dpfl_drafts(Context& cx, const SplitFn& split);

// Builds the plan, validates it and turns violations into one error:
// memory violations name the memory constraint; anything else is a planner bug.
Result<plan::Plan> finish(Context& cx, const std::vector<Draft>& stages,
                          const std::string& strategy);

}  // namespace coinfer::planners
