// FairChannels: the simulator's fluid network model. A channel has a fixed
// capacity (bytes/s) shared equally by the transfers active on it (processor
// sharing): with n active transfers each progresses at capacity / n. Exact:
// every start or finish recomputes the remaining bytes and the next
// completion. Latency is not modelled here (the simulator adds it after the
// last byte).
//
// Implementation: a per-channel "virtual service" v(t), the bytes each active
// transfer has received since the channel was last idle. A transfer of b bytes
// starting when v = v0 finishes when v reaches v0 + b (its tag), so transfers
// finish in tag order and only the smallest tag matters. O(log n) per event,
// no allocation once the per-channel heaps have grown.
//
//   FairChannels net;
//   int ch = net.add_channel(12.5e6);       // 100 Mbit/s
//   net.start(ch, 0.0, 1e6, /*id=*/7);
//   double t = net.next_completion(ch);     // 0.08 s
//   std::vector<int> done;  net.finish_due(ch, t, done);   // done = {7}
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace coinfer::sim {

class FairChannels {
 public:
  // Adds a channel of `bytes_per_s` (> 0); returns its index.
  int add_channel(double bytes_per_s);
  int size() const { return int(ch_.size()); }

  // Starts transfer `id` of `bytes` (> 0) on channel `ch` at time `t` (t must
  // not precede the channel's last change).
  void start(int ch, double t, double bytes, int id);
  // Absolute time at which the next transfer on `ch` finishes (+inf if idle).
  double next_completion(int ch) const;
  // Incremented by every start and finish: an event scheduled for
  // next_completion() is stale once the generation has moved on.
  uint64_t generation(int ch) const { return ch_[size_t(ch)].gen; }
  // At t = next_completion(ch): finishes the transfer due and any other whose
  // remaining bytes are within rounding of zero; appends their ids to `done`.
  void finish_due(int ch, double t, std::vector<int>& done);
  int active(int ch) const { return int(ch_[size_t(ch)].heap.size()); }

 private:
  struct Item {
    double tag;  // virtual service at which the transfer finishes
    int id;
  };
  struct Channel {
    double rate = 0;  // bytes/s
    double v = 0;     // virtual service per active transfer, bytes
    double last = 0;  // time v was last brought up to date
    uint64_t gen = 0;
    std::vector<Item> heap;  // min-heap on tag
  };
  static void advance(Channel& c, double t);

  std::vector<Channel> ch_;
};

}  // namespace coinfer::sim
