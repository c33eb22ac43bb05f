#include "sim/network.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace coinfer::sim {

namespace {
// Min-heap comparator (std heap functions build max-heaps).
constexpr auto later = [](const auto& a, const auto& b) {
  return a.tag > b.tag || (a.tag == b.tag && a.id > b.id);
};
}  // namespace

int FairChannels::add_channel(double bytes_per_s) {
  assert(bytes_per_s > 0);
  Channel c;
  c.rate = bytes_per_s;
  ch_.push_back(std::move(c));
  return int(ch_.size()) - 1;
}

void FairChannels::advance(Channel& c, double t) {
  if (!c.heap.empty() && t > c.last) c.v += (t - c.last) * c.rate / double(c.heap.size());
  c.last = std::max(c.last, t);
}

void FairChannels::start(int ch, double t, double bytes, int id) {
  Channel& c = ch_[size_t(ch)];
  advance(c, t);
  c.heap.push_back({c.v + bytes, id});
  std::push_heap(c.heap.begin(), c.heap.end(), later);
  ++c.gen;
}

double FairChannels::next_completion(int ch) const {
  const Channel& c = ch_[size_t(ch)];
  if (c.heap.empty()) return std::numeric_limits<double>::infinity();
  double remaining = std::max(0.0, c.heap.front().tag - c.v);
  return c.last + remaining * double(c.heap.size()) / c.rate;
}

void FairChannels::finish_due(int ch, double t, std::vector<int>& done) {
  Channel& c = ch_[size_t(ch)];
  if (c.heap.empty()) return;
  advance(c, t);
  // The head is due by construction; others may tie with it up to rounding.
  const double eps = 1e-9 * std::max(1.0, std::fabs(c.v));
  bool first = true;
  while (!c.heap.empty() && (first || c.heap.front().tag <= c.v + eps)) {
    std::pop_heap(c.heap.begin(), c.heap.end(), later);
    done.push_back(c.heap.back().id);
    c.heap.pop_back();
    first = false;
  }
  if (c.heap.empty()) c.v = 0;  // restart the virtual clock: keeps tags small
  ++c.gen;
}

}  // namespace coinfer::sim
