#include "rl/ddpg.h"

#include <cassert>

namespace coinfer::rl {

namespace {

std::vector<int> sizes(int in, const std::vector<int>& hidden, int out) {
  std::vector<int> s = {in};
  s.insert(s.end(), hidden.begin(), hidden.end());
  s.push_back(out);
  return s;
}

Eigen::MatrixXd stack(const Eigen::MatrixXd& s, const Eigen::MatrixXd& a) {
  Eigen::MatrixXd x(s.rows() + a.rows(), s.cols());
  x << s, a;
  return x;
}

}  // namespace

double critic_loss(Mlp& critic, const Eigen::MatrixXd& s, const Eigen::MatrixXd& a,
                   const Eigen::RowVectorXd& y) {
  const double n = double(s.cols());
  Eigen::RowVectorXd err = critic.forward(stack(s, a)) - y;
  critic.zero_grad();
  critic.backward(err / n);
  return 0.5 * err.squaredNorm() / n;
}

double actor_loss(Mlp& actor, Mlp& critic, const Eigen::MatrixXd& s) {
  const double n = double(s.cols());
  const Eigen::MatrixXd& mu = actor.forward(s);
  double loss = -critic.forward(stack(s, mu)).sum() / n;
  critic.zero_grad();
  Eigen::MatrixXd dx = critic.backward(Eigen::RowVectorXd::Constant(s.cols(), -1.0 / n));
  actor.zero_grad();
  actor.backward(dx.bottomRows(actor.out_dim()));
  return loss;
}

Ddpg::Ddpg(const DdpgConfig& cfg, uint64_t seed) : cfg_(cfg), rng_(seed) {
  actor_ = Mlp(sizes(cfg.state_dim, cfg.actor_hidden, cfg.action_dim), Act::Relu, Act::Tanh, rng_);
  critic_ = Mlp(sizes(cfg.state_dim + cfg.action_dim, cfg.critic_hidden, 1), Act::Relu, Act::Linear,
                rng_);
  actor_target_ = actor_;
  critic_target_ = critic_;
  actor_opt_ = Adam(actor_, cfg.actor_lr);
  critic_opt_ = Adam(critic_, cfg.critic_lr);
  s_.resize(cfg.state_dim, cfg.buffer);
  s2_.resize(cfg.state_dim, cfg.buffer);
  a_.resize(cfg.action_dim, cfg.buffer);
  r_.resize(cfg.buffer);
  done_.resize(cfg.buffer);
}

Eigen::VectorXd Ddpg::act(const Eigen::VectorXd& s) {
  return actor_.forward(s);
}

void Ddpg::remember(const Eigen::VectorXd& s, const Eigen::VectorXd& a, double r,
                    const Eigen::VectorXd& s2, bool done) {
  s_.col(next_) = s;
  a_.col(next_) = a;
  s2_.col(next_) = s2;
  r_(next_) = r;
  done_(next_) = done ? 1 : 0;
  next_ = (next_ + 1) % cfg_.buffer;
  size_ = std::min(size_ + 1, cfg_.buffer);
}

void Ddpg::update() {
  const int n = cfg_.batch;
  if (size_ < n) return;
  Eigen::MatrixXd s(cfg_.state_dim, n), a(cfg_.action_dim, n), s2(cfg_.state_dim, n);
  Eigen::RowVectorXd r(n), done(n);
  for (int i = 0; i < n; ++i) {
    int k = int(rng_() % uint64_t(size_));
    s.col(i) = s_.col(k);
    a.col(i) = a_.col(k);
    s2.col(i) = s2_.col(k);
    r(i) = r_(k);
    done(i) = done_(k);
  }
  // y = r + gamma (1 - done) Q'(s2, mu'(s2))
  Eigen::MatrixXd mu2 = actor_target_.forward(s2);
  Eigen::RowVectorXd q2 = critic_target_.forward(stack(s2, mu2));
  Eigen::RowVectorXd y = r + cfg_.gamma * (1 - done.array()).matrix().cwiseProduct(q2);
  critic_loss(critic_, s, a, y);
  critic_opt_.step(critic_);
  actor_loss(actor_, critic_, s);
  actor_opt_.step(actor_);
  actor_target_.soft_update(actor_, cfg_.tau);
  critic_target_.soft_update(critic_, cfg_.tau);
}

}  // namespace coinfer::rl
