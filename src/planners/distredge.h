// DistrEdge (IPDPS 2022): LC-PSS cuts the partitionable blocks into
// layer-volumes (LVs); OSDS, a DDPG agent, splits each LV's output rows among
// the providers, one step per LV. The non-partitionable tail runs whole on the
// provider holding the largest share of the last LV (common.h whole_device).
// Algorithm, [paper] vs [ours] and hyper-parameters: docs/PLANNERS.md.
//
//   distredge::Policy pol = distredge::train(cm, opts, on_episode).value();
//   save_policy(pol, "policy.bin");
//   plan::Plan p = distredge::policy_plan(cm, load_policy("policy.bin").value()).value();
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "planners/common.h"
#include "rl/ddpg.h"

namespace coinfer::planners::distredge {

// --- LC-PSS ---
struct LcpssOptions {
  double alpha = 0.75;  // weight of data transmitted against operations
  int samples = 100;    // random split decisions averaged
  uint64_t seed = 1;
};
// LV boundaries 0 = b_0 < b_1 < ... < b_L = P over the leading partitionable
// blocks [0, P) of the model, for splits among `parts` providers (empty if
// P == 0). Greedy from {0, P} on the score C = alpha T + (1 - alpha) O.
std::vector<int> lcpss(Context& cx, int parts, const LcpssOptions& o);
// The score of a partition (sum over its LVs), what lcpss minimises greedily.
double lcpss_score(Context& cx, int parts, const std::vector<int>& bounds, const LcpssOptions& o);

// --- The OSDS environment ---
// One episode = one step per LV. State (dimension |D| + 4): per provider the
// time its part of the previous LV finishes (input arrival + compute, own
// links; / latency_ref), then H, C, F, S of the LV's last layer (height /
// input height, channels / max, kernel / max, stride / max). Action: |D| - 1
// values in [-1, 1], sorted, cut rows x_i = round(H (a_i + 1) / 2); provider
// i (in `devices` order) gets rows [x_i, x_{i+1}). After the last LV the tail
// is placed and the plan is scored with the flow model (planners::estimate:
// profiled non-linear compute, transfers).
class Env {
 public:
  // `devices`: the providers (cluster indices, in split order); `bounds`: LVs.
  Env(Context& cx, std::vector<int> devices, std::vector<int> bounds);

  int lvs() const { return int(bounds_.size()) - 1; }
  int state_dim() const { return int(devs_.size()) + 4; }
  int action_dim() const { return int(devs_.size()) - 1; }
  const std::vector<int>& devices() const { return devs_; }
  const std::vector<int>& bounds() const { return bounds_; }
  // Latency (s) of the capacity-proportional split of the same LVs: the
  // normaliser of the state and the reward (reward = latency_ref / T).
  double latency_ref() const { return latency_ref_; }

  void reset();
  bool done() const { return step_ >= lvs(); }
  // State of the current LV (zeros once done).
  Eigen::VectorXd state() const;
  // Splits the current LV by `action` and returns the reward: 0 until the
  // last LV, then latency_ref / T (T = plan latency; 0 if the tail fits nowhere).
  double step(const Eigen::VectorXd& action);
  // Same with explicit cut rows (size |D| + 1, from 0 to H, non-decreasing).
  double step_cuts(const std::vector<int>& cuts);
  // After done(): the plan's latency (s), its stages and every LV's cuts.
  double latency() const { return latency_; }
  const std::vector<Draft>& stages() const { return stages_; }
  const std::vector<std::vector<int>>& cuts() const { return cuts_; }

  // Cut rows of `action` for an output of height h.
  static std::vector<int> action_cuts(const Eigen::VectorXd& action, int h);

 private:
  double finish_episode();

  Context& cx_;
  std::vector<int> devs_, bounds_;
  double latency_ref_ = 1;
  std::vector<double> features_;  // 4 per LV
  int step_ = 0;
  std::vector<double> fin_;  // per provider, seconds
  std::vector<Draft> stages_;
  std::vector<std::vector<int>> cuts_;
  double latency_ = 0;
};

// The providers (devices holding every partitionable block, cluster order)
// and the LC-PSS LVs DistrEdge uses on this cost model; an error if memory
// rules the model out.
struct Setup {
  std::vector<int> devices;
  std::vector<int> bounds;
};
Result<Setup> setup(Context& cx, uint64_t seed);

// --- Training and the policy file ---
struct TrainOptions {
  int episodes = 1000;
  // eps = 1 - (episode / E)^2 with E = this, or the episode count if <= 0
  // [paper: 250 of 4000; ours: the whole training, see docs/PLANNERS.md].
  int explore_episodes = 0;
  double noise_var = -1;  // Gaussian sigma^2; < 0: 0.1 for <= 4 providers, 1 for >= 16
  uint64_t seed = 1;
  rl::DdpgConfig ddpg;  // dims filled by train()
};

struct EpisodeLog {
  int episode = 0;
  double reward = 0, latency_s = 0, best_s = 0;
};

// What policy.bin holds (see policy.cpp for the byte layout).
struct Policy {
  std::string model, cluster;
  int n_blocks = 0;
  std::vector<std::string> devices;  // providers, split order
  std::vector<int> bounds;           // LVs
  double latency_ref = 1;
  rl::Mlp actor;                            // empty when there is one provider
  std::vector<std::vector<int>> best_cuts;  // best plan seen in training
  double best_latency_s = 0;
  int episodes = 0;
  uint64_t seed = 0;
};

// Trains OSDS on `cm` (single-threaded, seeded); on_episode (may be empty)
// is called after every episode.
Result<Policy> train(const cost::CostModel& cm, const TrainOptions& o,
                     const std::function<void(const EpisodeLog&)>& on_episode);

// The policy's plan on `cm`: the actor run greedily (no noise) or the best
// plan seen in training, whichever the flow model rates faster (ties: the
// actor). `strategy` records which. Errors if the policy was trained for
// another model or cluster.
Result<plan::Plan> policy_plan(const cost::CostModel& cm, const Policy& p);
// Latency of the actor's greedy plan (s), for tests.
Result<double> greedy_latency(const cost::CostModel& cm, const Policy& p);

std::vector<uint8_t> encode_policy(const Policy& p);
// Strict: magic, version, every length and dimension, trailing bytes.
Result<Policy> decode_policy(std::span<const uint8_t> bytes, const std::string& what);
Status save_policy(const Policy& p, const std::string& path);
Result<Policy> load_policy(const std::string& path);

}  // namespace coinfer::planners::distredge
