// FlowNetwork: the simulator's fluid network model. A transfer (a flow)
// crosses one to three resources (a device's uplink, another's downlink, an
// explicit pair link, the shared medium), each of fixed capacity (bytes/s)
// split equally among the flows on it. A flow moves at the smallest of its
// resources' equal shares: min over its resources r of cap_r / n_r. That is
// exact for flows on one resource (processor sharing) and for the common
// fan-in and fan-out of a plan (two senders into one downlink get half of it
// each); bandwidth a flow leaves unused at a resource where it is limited
// elsewhere is not handed to the others (max-min fairness would).
//
// Cost: every resource keeps a virtual clock v(t), the bytes each flow it
// limits has received (v grows at cap / n). A flow is bound to its tightest
// resource and ends when that clock reaches its tag (start clock + bytes),
// so a change of n touches no flow bound there; only flows whose tightest
// resource changes move (their remaining bytes re-tagged on the new one).
// Per start or finish: a scan of the multi-resource flows that may move (on
// a resource that got tighter, those bound elsewhere; on one that got
// looser, those bound there) and O(log n) per moved flow.
//
//   FlowNetwork net;
//   int up = net.add_resource(12.5e6), down = net.add_resource(12.5e6);  // 100 Mbit/s
//   net.start(0.0, 1e6, {up, down}, /*id=*/7);
//   double t = net.next_completion();       // 0.08 s
//   std::vector<int> done;  net.finish_due(t, done);   // done = {7}
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <vector>

namespace coinfer::sim {

class FlowNetwork {
 public:
  static constexpr int kMaxResources = 3;

  // Adds a resource of `bytes_per_s` (> 0); returns its index.
  int add_resource(double bytes_per_s);
  int resources() const { return int(res_.size()); }

  // Starts flow `id` (>= 0, not active) of `bytes` (> 0) over 1-3 distinct
  // resources at time `t` (not before the last start or finish).
  void start(double t, double bytes, const int* res, int n_res, int id);
  void start(double t, double bytes, std::initializer_list<int> res, int id) {
    start(t, bytes, res.begin(), int(res.size()), id);
  }
  // Absolute time at which the next flow finishes (+inf if none).
  double next_completion();
  // Finishes every flow due by t (within rounding; none if t is before
  // next_completion()) and appends their ids to `done`.
  void finish_due(double t, std::vector<int>& done);
  int active(int resource) const { return res_[size_t(resource)].n; }
  // Current rate of active flow `id`, bytes/s.
  double rate(int id) const;

 private:
  struct Flow {
    int res[kMaxResources] = {-1, -1, -1};
    int n_res = 0;
    int pos[kMaxResources] = {-1, -1, -1};  // index in res[k]'s multi list
    int bound = -1;    // resource whose clock it follows
    double tag = 0;    // ends when that clock reaches tag
    uint32_t version = 0;
    bool active = false;
  };
  struct Tagged {
    double tag;
    int id;
    uint32_t version;  // the flow's at push time; stale once it moved or ended
  };
  struct Resource {
    double cap = 0;
    double v = 0, last = 0;     // virtual clock as of `last`
    int n = 0;                  // active flows crossing it
    double share = 0;           // cap / n
    int n_settled = 0;          // n when last settled
    struct Member {
      int id, bound;  // a flow and the resource it is bound to
    };
    std::vector<Member> multi;  // the active flows crossing it and others
    std::vector<Tagged> bound;  // min-heap on tag of the flows bound here (lazy)
    double due = 0;             // when its next bound flow ends
    int slot = -1;              // index in due_ (-1: nothing bound here)
    bool changed = false;
  };
  double share(int r) const { return res_[size_t(r)].share; }
  void set_count(Resource& r, int n) {
    r.n = n;
    r.share = n > 0 ? r.cap / double(n) : std::numeric_limits<double>::infinity();
  }
  void advance(int r, double t);
  void changed(int r);
  void bind(int id, int r, double remaining, double t);
  int tightest(const Flow& f) const;
  // After flow counts changed at t: flows whose tightest resource changed
  // move; every changed resource's next finish is re-posted.
  void settle(double t);
  bool valid_top(Resource& r);
  // due_: resources with a bound flow, a min-heap on `due` updated in place.
  void due_set(int r, double t);
  void due_erase(int r);
  bool due_before(size_t a, size_t b) const;  // due_[a] ends first (ties: lower index)
  void sift_up(size_t i);
  void sift_down(size_t i);
  void due_swap(size_t i, size_t j);
  void multi_erase(int id, int k);

  std::vector<Flow> flows_;
  std::vector<Resource> res_;
  std::vector<int> due_;
  std::vector<int> changed_;
};

}  // namespace coinfer::sim
