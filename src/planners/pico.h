// Internals of the pico planner shared by pico.cpp (Algorithms 1 and 2, the
// strategy) and pico_search.cpp (local search, exact class DP) [ours].
#pragma once

#include <map>
#include <vector>

#include "planners/common.h"

namespace coinfer::planners::pico {

// A pipeline under construction: stage s runs blocks [cuts[s], cuts[s+1]) on
// the devices groups[s] (sorted by class, then index).
struct Pipeline {
  std::vector<int> cuts;
  std::vector<std::vector<int>> groups;
};

// Lexicographic objective: latency-bound violation, period, latency.
struct Score {
  double violation = kInf, period = kInf, latency = kInf;
  bool better_than(const Score& o) const;
};

// Stage times of pipelines, cached by (block range, class multiset): devices
// of one class are interchangeable, so the balanced split is reused.
class StageCache {
 public:
  StageCache(Context& cx, double latency_bound) : cx_(cx), bound_(latency_bound) {}
  // Stage time (kInf if infeasible: memory, a split non-partitionable range,
  // no device) and, if `out` is set, the stage with its balanced rows.
  double time(int a, int b, const std::vector<int>& group, Draft* out = nullptr);
  // The flow-model score (planners::estimate) of a pipeline, and PICO's
  // (max / sum of the stage times above).
  Score score(const Pipeline& p);
  Score paper_score(const Pipeline& p);
  std::vector<Draft> drafts(const Pipeline& p);
  Context& cx() { return cx_; }
  double bound() const { return bound_; }
  int evaluations() const { return evaluations_; }  // stage splits computed
  int scorings() const { return scorings_; }        // pipelines scored

 private:
  struct Entry {
    double time = kInf;
    std::vector<Rows> rows;  // per position of the sorted group
  };
  Context& cx_;
  double bound_;
  int evaluations_ = 0, scorings_ = 0;
  std::map<std::vector<int>, Entry> cache_;
};

// Dynamic-programming labels: per state a Pareto front of (period, latency)
// with back-pointers, capped at kFront labels (thinned evenly by period).
struct Label {
  double period = 0, latency = 0;
  int parent = -1;  // arena index of the previous label, -1 = start
  int a = 0;        // the last stage starts at block a
  int what = 0;     // its device count (Algorithm 1) or class vector code
};

class Fronts {
 public:
  static constexpr size_t kFront = 8;
  explicit Fronts(size_t states) : fronts_(states) {}
  void insert(size_t state, const Label& l);
  const std::vector<int>& at(size_t state) const { return fronts_[state]; }
  const Label& label(int i) const { return arena_[size_t(i)]; }
  // The best label (period, then latency) of `state`, or -1.
  int best(size_t state) const;

 private:
  std::vector<Label> arena_;
  std::vector<std::vector<int>> fronts_;
};

// Sorts a group by (class, index).
void sort_group(Context& cx, std::vector<int>& g);

// Local search from `p` on the flow-model score: moves and swaps of devices
// between stages (and the unused pool), shifts of stage boundaries by one
// block, merges of neighbouring stages, while the score improves. At most
// `max_scorings` pipelines are scored.
Pipeline local_search(StageCache& sc, Pipeline p, int max_scorings);

// Exact DP (in PICO's model) over (blocks done, devices used per class) with
// Pareto labels on (period, latency), for clusters with few device classes.
// Stages whose compute lower bound reaches `incumbent` (a PICO-model period)
// are skipped. Returns false if the
// class space is too large (`budget` stage evaluations) or nothing is found.
bool exact_class_dp(StageCache& sc, double incumbent, int budget, Pipeline* out);

}  // namespace coinfer::planners::pico
