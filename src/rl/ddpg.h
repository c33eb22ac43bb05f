// DDPG (Lillicrap et al., 2016) as DistrEdge's OSDS uses it: a deterministic
// actor mu(s) in [-1, 1]^n (tanh output), a critic Q(s, a) (state and action
// concatenated at the input), target copies of both updated softly (tau),
// a uniform replay buffer and Adam. Hyper-parameters default to the paper's
// (docs/PLANNERS.md, distredge). Single-threaded and seeded: the same seed and
// the same calls give bit-identical networks.
//
//   rl::Ddpg agent(cfg, seed);
//   Eigen::VectorXd a = agent.act(s);            // add exploration noise outside
//   agent.remember(s, a, r, s2, done);
//   agent.update();                              // one step on a batch of 64
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "rl/mlp.h"

namespace coinfer::rl {

struct DdpgConfig {
  int state_dim = 1, action_dim = 1;
  std::vector<int> actor_hidden = {400, 200, 100};
  std::vector<int> critic_hidden = {400, 200, 100, 100};
  double actor_lr = 1e-4, critic_lr = 1e-3;
  double gamma = 0.99;
  double tau = 0.01;  // [ours]: the paper does not state it
  int batch = 64;
  int buffer = 100000;  // transitions kept (oldest replaced)
};

// The two DDPG losses on a batch (columns = samples); each returns the loss,
// zeroes the network's gradients first and leaves dLoss/dparameters in them.
//   critic: L = mean_i (Q(s_i, a_i) - y_i)^2 / 2
//   actor:  L = -mean_i Q(s_i, mu(s_i)) (gradients into the actor only; the
//           critic's gradients are left as scratch).
double critic_loss(Mlp& critic, const Eigen::MatrixXd& s, const Eigen::MatrixXd& a,
                   const Eigen::RowVectorXd& y);
double actor_loss(Mlp& actor, Mlp& critic, const Eigen::MatrixXd& s);

class Ddpg {
 public:
  Ddpg(const DdpgConfig& cfg, uint64_t seed);

  // mu(s), no noise.
  Eigen::VectorXd act(const Eigen::VectorXd& s);
  void remember(const Eigen::VectorXd& s, const Eigen::VectorXd& a, double r,
                const Eigen::VectorXd& s2, bool done);
  // One critic and one actor step on a uniform batch, then the soft target
  // update; nothing until the buffer holds `batch` transitions.
  void update();

  const Mlp& actor() const { return actor_; }
  const DdpgConfig& config() const { return cfg_; }
  int stored() const { return size_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  DdpgConfig cfg_;
  std::mt19937_64 rng_;
  Mlp actor_, critic_, actor_target_, critic_target_;
  Adam actor_opt_, critic_opt_;
  // Replay buffer, one column per transition (ring of cfg_.buffer).
  Eigen::MatrixXd s_, a_, s2_;
  Eigen::RowVectorXd r_, done_;
  int size_ = 0, next_ = 0;
};

}  // namespace coinfer::rl
