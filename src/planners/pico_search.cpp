// pico's improvements over the paper [ours]: a stage-time cache keyed by
// device classes, a local search over the greedy assignment, and an exact
// DP over device-class vectors for clusters with few classes.
#include <algorithm>
#include <set>

#include "planners/pico.h"

namespace coinfer::planners::pico {

void sort_group(Context& cx, std::vector<int>& g) {
  std::sort(g.begin(), g.end(), [&](int x, int y) {
    int cx_ = cx.device_class(x), cy = cx.device_class(y);
    return cx_ != cy ? cx_ < cy : x < y;
  });
}

double StageCache::time(int a, int b, const std::vector<int>& group, Draft* out) {
  if (group.empty() || a >= b) return kInf;
  if (group.size() > 1 && (!cx_.partitionable(a, b) || int(group.size()) > cx_.out_height(b - 1)))
    return kInf;
  std::vector<int> g = group;
  sort_group(cx_, g);
  std::vector<int> key = {a, b};
  for (int d : g) key.push_back(cx_.device_class(d));
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    ++evaluations_;
    Entry e;
    bool fit = true;
    for (int d : g) fit = fit && cx_.fits(d, a, b);
    if (fit) {
      Draft s = balanced_stage(cx_, a, b, g);
      e.time = stage_time(cx_, s, a == 0, b == cx_.n_blocks()).total;
      e.rows.assign(g.size(), Rows{0, 0});
      for (const Part& p : s.parts)
        for (size_t i = 0; i < g.size(); ++i)
          if (g[i] == p.device) e.rows[i] = p.rows;
    }
    it = cache_.emplace(std::move(key), std::move(e)).first;
  }
  if (out) {
    out->a = a;
    out->b = b;
    out->parts.clear();
    for (size_t i = 0; i < g.size() && i < it->second.rows.size(); ++i)
      if (!it->second.rows[i].empty()) out->parts.push_back({g[i], it->second.rows[i], {0, 0}});
  }
  return it->second.time;
}

Score StageCache::score(const Pipeline& p) {
  ++scorings_;
  std::vector<Draft> d(p.groups.size());
  for (size_t k = 0; k < p.groups.size(); ++k)
    if (time(p.cuts[k], p.cuts[k + 1], p.groups[k], &d[k]) == kInf) return Score{};
  Estimate e = estimate(cx_, d);
  return Score{std::max(0.0, e.latency_s - bound_), e.period_s, e.latency_s};
}

Score StageCache::paper_score(const Pipeline& p) {
  Score s{0, 0, 0};
  for (size_t k = 0; k < p.groups.size(); ++k) {
    double t = time(p.cuts[k], p.cuts[k + 1], p.groups[k]);
    if (t == kInf) return Score{};
    s.period = std::max(s.period, t);
    s.latency += t;
  }
  s.violation = std::max(0.0, s.latency - bound_);
  return s;
}

std::vector<Draft> StageCache::drafts(const Pipeline& p) {
  std::vector<Draft> out(p.groups.size());
  for (size_t k = 0; k < p.groups.size(); ++k) time(p.cuts[k], p.cuts[k + 1], p.groups[k], &out[k]);
  return out;
}

Pipeline local_search(StageCache& sc, Pipeline p, int max_scorings) {
  Context& cx = sc.cx();
  const int start = sc.scorings();
  Score cur = sc.score(p);
  auto accept = [&](Pipeline& q) {
    for (auto& g : q.groups) sort_group(cx, g);
    Score s = sc.score(q);
    if (!s.better_than(cur)) return false;
    p = q;
    cur = s;
    return true;
  };
  bool improved = true;
  while (improved && sc.scorings() - start < max_scorings) {
    improved = false;
    const size_t n = p.groups.size();
    std::vector<char> used(size_t(cx.n_devices()), 0);
    for (auto& g : p.groups)
      for (int d : g) used[size_t(d)] = 1;
    std::vector<int> unused;
    for (int d = 0; d < cx.n_devices(); ++d)
      if (!used[size_t(d)]) unused.push_back(d);
    // Device positions: stage index, n = the unused pool.
    std::vector<std::pair<int, size_t>> where;
    for (size_t s = 0; s < n; ++s)
      for (int d : p.groups[s]) where.push_back({d, s});
    for (int d : unused) where.push_back({d, n});
    std::set<std::vector<int>> tried;  // (kind, class(es), from, to): equivalent moves
    auto take = [&](Pipeline& q, size_t s, int d) {
      if (s == n) return;
      auto& g = q.groups[s];
      g.erase(std::find(g.begin(), g.end(), d));
    };
    // Moves: a device to another stage, or out to the pool.
    for (auto [d, s] : where) {
      if (improved || sc.scorings() - start >= max_scorings) break;
      if (s < n && p.groups[s].size() < 2) continue;
      for (size_t t = 0; t <= n && !improved; ++t) {
        if (t == s) continue;
        if (!tried.insert({0, cx.device_class(d), int(s), int(t)}).second) continue;
        Pipeline q = p;
        take(q, s, d);
        if (t < n) q.groups[t].push_back(d);
        improved = accept(q);
      }
    }
    // Swaps of devices of different classes between stages (or the pool).
    for (size_t i = 0; i < where.size() && !improved; ++i)
      for (size_t j = i + 1; j < where.size() && !improved; ++j) {
        if (sc.scorings() - start >= max_scorings) break;
        auto [d, s] = where[i];
        auto [e, t] = where[j];
        if (s == t || cx.device_class(d) == cx.device_class(e)) continue;
        if (!tried.insert({1, cx.device_class(d), int(s), cx.device_class(e), int(t)}).second)
          continue;
        Pipeline q = p;
        take(q, s, d);
        take(q, t, e);
        if (s < n) q.groups[s].push_back(e);
        if (t < n) q.groups[t].push_back(d);
        improved = accept(q);
      }
    // Boundary shifts by one block, and merging two neighbouring stages.
    for (size_t s = 1; s < n && !improved; ++s) {
      for (int delta : {-1, 1}) {
        int c = p.cuts[s] + delta;
        if (c <= p.cuts[s - 1] || c >= p.cuts[s + 1]) continue;
        Pipeline q = p;
        q.cuts[s] = c;
        if ((improved = accept(q))) break;
      }
      if (improved) break;
      Pipeline q = p;
      q.cuts.erase(q.cuts.begin() + long(s));
      q.groups[s - 1].insert(q.groups[s - 1].end(), q.groups[s].begin(), q.groups[s].end());
      q.groups.erase(q.groups.begin() + long(s));
      improved = accept(q);
    }
  }
  return p;
}

bool exact_class_dp(StageCache& sc, double incumbent, int budget, Pipeline* out) {
  Context& cx = sc.cx();
  const int nb = cx.n_blocks(), k = cx.n_classes();
  std::vector<std::vector<int>> members(static_cast<size_t>(k));
  for (int d = 0; d < cx.n_devices(); ++d) members[size_t(cx.device_class(d))].push_back(d);
  std::vector<int> mult(size_t(k) + 1, 1);
  for (int c = 0; c < k; ++c) {
    mult[size_t(c) + 1] = mult[size_t(c)] * int(members[size_t(c)].size() + 1);
    if (mult[size_t(c) + 1] > 4096) return false;
  }
  const int nv = mult[size_t(k)];
  const size_t ranges = size_t(nb) * size_t(nb + 1) / 2;
  if (double(nv) * double(ranges) > 50.0 * budget) return false;
  auto decode = [&](int code, std::vector<int>& v) {
    v.resize(size_t(k));
    for (int c = 0; c < k; ++c)
      v[size_t(c)] = code / mult[size_t(c)] % int(members[size_t(c)].size() + 1);
  };
  const size_t nvs = size_t(nv);
  auto state = [&](int j, int u) { return size_t(j) * nvs + size_t(u); };
  Fronts fr(size_t(nb + 1) * nvs);
  fr.insert(state(0, 0), Label{0, 0, -1, 0, 0});
  const int start = sc.evaluations();
  std::vector<int> u, rem, v, group;
  std::vector<double> rate(static_cast<size_t>(k));
  for (int j0 = 0; j0 < nb; ++j0)
    for (int uc = 0; uc < nv; ++uc) {
      const std::vector<int> from = fr.at(state(j0, uc));
      if (from.empty()) continue;
      double floor_p = kInf;
      for (int li : from) floor_p = std::min(floor_p, fr.label(li).period);
      if (floor_p >= incumbent) continue;
      decode(uc, u);
      rem.resize(size_t(k));
      int rem_codes = 1;
      for (int c = 0; c < k; ++c) {
        rem[size_t(c)] = int(members[size_t(c)].size()) - u[size_t(c)];
        rem_codes *= rem[size_t(c)] + 1;
      }
      for (int j = j0 + 1; j <= nb; ++j) {
        const Rows whole{0, cx.out_height(j - 1)};
        for (int c = 0; c < k; ++c) {
          double t = cx.compute_seconds(members[size_t(c)][0], j0, j, whole);
          rate[size_t(c)] = t > 0 ? 1.0 / t : kInf;
        }
        for (int r = 1; r < rem_codes; ++r) {
          // r enumerates sub-vectors of rem in mixed radix (rem_c + 1).
          v.assign(size_t(k), 0);
          int x = r, cnt = 0, vcode = 0;
          double cap = 0;
          for (int c = 0; c < k; ++c) {
            v[size_t(c)] = x % (rem[size_t(c)] + 1);
            x /= rem[size_t(c)] + 1;
            cnt += v[size_t(c)];
            vcode += v[size_t(c)] * mult[size_t(c)];
            cap += v[size_t(c)] * rate[size_t(c)];
          }
          if (cnt > 1 && (!cx.partitionable(j0, j) || cnt > whole.hi)) continue;
          if (cap > 0 && 1.0 / cap >= incumbent) continue;
          group.clear();
          for (int c = 0; c < k; ++c)
            for (int i = 0; i < v[size_t(c)]; ++i) group.push_back(members[size_t(c)][size_t(i)]);
          double t = sc.time(j0, j, group);
          if (sc.evaluations() - start > budget) return false;
          if (t == kInf || t >= incumbent) continue;
          for (int li : from) {
            const Label& l = fr.label(li);
            if (l.latency + t > sc.bound() || std::max(l.period, t) >= incumbent) continue;
            fr.insert(state(j, uc + vcode),
                      Label{std::max(l.period, t), l.latency + t, li, j0, vcode});
          }
        }
      }
    }
  int best = -1;
  for (int uc = 1; uc < nv; ++uc) {
    int b = fr.best(state(nb, uc));
    if (b < 0) continue;
    if (best < 0 || fr.label(b).period < fr.label(best).period ||
        (fr.label(b).period == fr.label(best).period &&
         fr.label(b).latency < fr.label(best).latency))
      best = b;
  }
  if (best < 0) return false;
  std::vector<std::pair<int, int>> stages;  // (first block, class vector code), last first
  std::vector<int> ends;
  int j = nb;
  for (int li = best; fr.label(li).parent >= 0; li = fr.label(li).parent) {
    stages.push_back({fr.label(li).a, fr.label(li).what});
    ends.push_back(j);
    j = fr.label(li).a;
  }
  std::reverse(stages.begin(), stages.end());
  std::reverse(ends.begin(), ends.end());
  Pipeline p;
  std::vector<size_t> next(size_t(k), 0);
  for (size_t s = 0; s < stages.size(); ++s) {
    p.cuts.push_back(stages[s].first);
    decode(stages[s].second, v);
    std::vector<int> g;
    for (int c = 0; c < k; ++c)
      for (int i = 0; i < v[size_t(c)]; ++i) g.push_back(members[size_t(c)][next[size_t(c)]++]);
    sort_group(cx, g);
    p.groups.push_back(std::move(g));
  }
  p.cuts.push_back(nb);
  *out = std::move(p);
  return true;
}

}  // namespace coinfer::planners::pico
