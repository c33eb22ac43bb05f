#include "sim/network.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace coinfer::sim {

namespace {
// Min-heap comparators (std heap functions build max-heaps); ties by id keep
// the order deterministic.
constexpr auto later_tag = [](const auto& a, const auto& b) {
  return a.tag > b.tag || (a.tag == b.tag && a.id > b.id);
};
}  // namespace

int FlowNetwork::add_resource(double bytes_per_s) {
  assert(bytes_per_s > 0);
  Resource r;
  r.cap = bytes_per_s;
  res_.push_back(std::move(r));
  return int(res_.size()) - 1;
}

double FlowNetwork::rate(int id) const { return share(flows_[size_t(id)].bound); }

void FlowNetwork::advance(int ri, double t) {
  Resource& r = res_[size_t(ri)];
  if (r.n > 0 && t > r.last) r.v += (t - r.last) * r.share;
  r.last = std::max(r.last, t);
}

void FlowNetwork::changed(int ri) {
  Resource& r = res_[size_t(ri)];
  if (r.changed) return;
  r.changed = true;
  changed_.push_back(ri);
}

int FlowNetwork::tightest(const Flow& f) const {
  int best = f.bound >= 0 ? f.bound : f.res[0];  // ties keep the current binding
  for (int k = 0; k < f.n_res; ++k)
    if (share(f.res[k]) < share(best)) best = f.res[k];
  return best;
}

void FlowNetwork::bind(int id, int ri, double remaining, double t) {
  advance(ri, t);
  Flow& f = flows_[size_t(id)];
  Resource& r = res_[size_t(ri)];
  f.bound = ri;
  for (int k = 0; k < f.n_res; ++k)
    if (f.pos[k] >= 0) res_[size_t(f.res[k])].multi[size_t(f.pos[k])].bound = ri;
  f.tag = r.v + remaining;
  r.bound.push_back(Tagged{f.tag, id, ++f.version});
  std::push_heap(r.bound.begin(), r.bound.end(), later_tag);
  changed(ri);
}

bool FlowNetwork::valid_top(Resource& r) {
  while (!r.bound.empty()) {
    const Tagged& e = r.bound.front();
    const Flow& f = flows_[size_t(e.id)];
    if (f.active && f.version == e.version) return true;
    std::pop_heap(r.bound.begin(), r.bound.end(), later_tag);
    r.bound.pop_back();
  }
  return false;
}

void FlowNetwork::settle(double t) {
  // Flows on a changed resource may now be tightest elsewhere (or here):
  // on a tighter one those bound elsewhere, on a looser one those bound
  // there. Single-resource flows never move.
  for (size_t i = 0; i < changed_.size(); ++i) {
    const int ri = changed_[i];
    const Resource& r = res_[size_t(ri)];
    const bool tighter = r.n > r.n_settled, looser = r.n < r.n_settled;
    // bind() grows changed_ and bound heaps, never a flow list.
    for (const Resource::Member& m : r.multi) {
      if ((tighter && m.bound == ri) || (looser && m.bound != ri)) continue;
      const int id = m.id;
      Flow& f = flows_[size_t(id)];
      int best = tightest(f);
      if (best == f.bound) continue;
      advance(f.bound, t);
      double remaining = std::max(0.0, f.tag - res_[size_t(f.bound)].v);
      changed(f.bound);
      bind(id, best, remaining, t);
    }
  }
  for (int ri : changed_) {
    Resource& r = res_[size_t(ri)];
    r.changed = false;
    r.n_settled = r.n;
    if (r.n == 0) {  // idle: restart the clock, drop stale entries
      r.v = 0;
      r.bound.clear();
    }
    if (!valid_top(r)) {
      due_erase(ri);
      continue;
    }
    due_set(ri, r.last + std::max(0.0, r.bound.front().tag - r.v) / share(ri));
  }
  changed_.clear();
}

void FlowNetwork::start(double t, double bytes, const int* res, int n_res, int id) {
  assert(bytes > 0 && n_res >= 1 && n_res <= kMaxResources && id >= 0);
  if (size_t(id) >= flows_.size()) flows_.resize(size_t(id) + 1);
  Flow& f = flows_[size_t(id)];
  assert(!f.active);
  f.active = true;
  f.n_res = n_res;
  f.bound = -1;
  for (int k = 0; k < n_res; ++k) {
    f.res[k] = res[k];
    advance(res[k], t);  // at the old share
    Resource& r = res_[size_t(res[k])];
    set_count(r, r.n + 1);
    if (n_res > 1) {
      f.pos[k] = int(r.multi.size());
      r.multi.push_back({id, -1});
    }
    changed(res[k]);
  }
  bind(id, tightest(f), bytes, t);
  settle(t);
}

double FlowNetwork::next_completion() {
  return due_.empty() ? std::numeric_limits<double>::infinity() : res_[size_t(due_[0])].due;
}

void FlowNetwork::due_swap(size_t i, size_t j) {
  std::swap(due_[i], due_[j]);
  res_[size_t(due_[i])].slot = int(i);
  res_[size_t(due_[j])].slot = int(j);
}

bool FlowNetwork::due_before(size_t a, size_t b) const {
  const Resource &x = res_[size_t(due_[a])], &y = res_[size_t(due_[b])];
  return x.due < y.due || (x.due == y.due && due_[a] < due_[b]);
}

void FlowNetwork::sift_up(size_t i) {
  while (i > 0 && due_before(i, (i - 1) / 2)) {
    due_swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

void FlowNetwork::sift_down(size_t i) {
  for (;;) {
    size_t m = i, l = 2 * i + 1, r = l + 1;
    if (l < due_.size() && due_before(l, m)) m = l;
    if (r < due_.size() && due_before(r, m)) m = r;
    if (m == i) return;
    due_swap(i, m);
    i = m;
  }
}

void FlowNetwork::due_set(int ri, double t) {
  Resource& r = res_[size_t(ri)];
  r.due = t;
  if (r.slot < 0) {
    r.slot = int(due_.size());
    due_.push_back(ri);
  }
  sift_up(size_t(r.slot));
  sift_down(size_t(r.slot));
}

void FlowNetwork::due_erase(int ri) {
  Resource& r = res_[size_t(ri)];
  if (r.slot < 0) return;
  size_t i = size_t(r.slot);
  due_swap(i, due_.size() - 1);
  due_.pop_back();
  r.slot = -1;
  if (i < due_.size()) {
    sift_up(i);
    sift_down(i);
  }
}

void FlowNetwork::multi_erase(int id, int k) {
  Flow& f = flows_[size_t(id)];
  std::vector<Resource::Member>& m = res_[size_t(f.res[k])].multi;
  const int p = f.pos[k];
  const int last = m.back().id;
  m[size_t(p)] = m.back();
  m.pop_back();
  if (last != id) {
    Flow& g = flows_[size_t(last)];
    for (int j = 0; j < g.n_res; ++j)
      if (g.res[j] == f.res[k]) g.pos[j] = p;
  }
  f.pos[k] = -1;
}

void FlowNetwork::finish_due(double t, std::vector<int>& done) {
  const size_t first = done.size();
  const double eps = 1e-12 * std::max(1.0, std::fabs(t));
  while (next_completion() <= t + eps) {
    const int ri = due_[0];
    Resource& r = res_[size_t(ri)];
    due_erase(ri);  // settle() posts its next
    changed(ri);
    advance(ri, t);
    // Every flow bound here whose tag the clock has reached (the first one
    // by construction, others within rounding).
    const double veps = 1e-9 * std::max(1.0, std::fabs(r.v));
    for (bool first_one = true; valid_top(r) && (first_one || r.bound.front().tag <= r.v + veps);
         first_one = false) {
      int id = r.bound.front().id;
      std::pop_heap(r.bound.begin(), r.bound.end(), later_tag);
      r.bound.pop_back();
      flows_[size_t(id)].active = false;
      done.push_back(id);
    }
  }
  // Release the finished flows' resources: every clock advanced at the old
  // share first.
  for (size_t i = first; i < done.size(); ++i) {
    const Flow& f = flows_[size_t(done[i])];
    for (int k = 0; k < f.n_res; ++k) advance(f.res[k], t);
  }
  for (size_t i = first; i < done.size(); ++i) {
    const Flow& f = flows_[size_t(done[i])];
    for (int k = 0; k < f.n_res; ++k) {
      Resource& r = res_[size_t(f.res[k])];
      set_count(r, r.n - 1);
      if (f.n_res > 1) multi_erase(done[i], k);
      changed(f.res[k]);
    }
  }
  settle(t);
}

}  // namespace coinfer::sim
