// A small multi-layer perceptron for the DistrEdge actor and critic: dense
// layers with ReLU / tanh / sigmoid, batched forward, backward (gradients of
// the parameters accumulated, gradient of the input returned), Adam, and the
// soft update of a target network. Double precision, single-threaded, so a
// fixed seed gives bit-identical weights.
//
// Layout: a batch is a matrix with one column per sample (in_dim x batch).
// Layer i maps a (in x batch) to act(W a + b), W out x in, b out.
//
//   std::mt19937_64 rng(1);
//   rl::Mlp net({8, 400, 200, 3}, rl::Act::Relu, rl::Act::Tanh, rng);
//   const Eigen::MatrixXd& y = net.forward(x);        // 3 x batch
//   net.zero_grad();
//   Eigen::MatrixXd dx = net.backward(dloss_dy);      // 8 x batch
//   adam.step(net);
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <random>
#include <vector>

namespace coinfer::rl {

enum class Act : uint8_t { Linear, Relu, Tanh, Sigmoid, Count };

// Seeded draws that are the same on every platform (unlike <random>'s
// distributions): uniform in [0, 1) from the top 53 bits, and a standard
// normal by Box-Muller.
double uniform01(std::mt19937_64& rng);
double gaussian(std::mt19937_64& rng);

struct Dense {
  Eigen::MatrixXd w;  // out x in
  Eigen::VectorXd b;  // out
  Act act = Act::Linear;
};

class Mlp {
 public:
  Mlp() = default;
  // sizes = {in, hidden..., out}: hidden layers use `hidden`, the last `out`.
  // Initialisation (DDPG, Lillicrap et al.): hidden layers uniform in
  // +-1/sqrt(fan_in), the last layer uniform in +-3e-3.
  Mlp(const std::vector<int>& sizes, Act hidden, Act out, std::mt19937_64& rng);
  explicit Mlp(std::vector<Dense> layers);

  int in_dim() const { return layers_.empty() ? 0 : int(layers_.front().w.cols()); }
  int out_dim() const { return layers_.empty() ? 0 : int(layers_.back().w.rows()); }
  const std::vector<Dense>& layers() const { return layers_; }
  std::vector<Dense>& layers() { return layers_; }

  // Forward pass; keeps every layer's output for backward().
  const Eigen::MatrixXd& forward(const Eigen::MatrixXd& x);
  // For the last forward(): adds dL/dW, dL/db (summed over the batch) to the
  // gradients and returns dL/dx, given dL/dy.
  Eigen::MatrixXd backward(const Eigen::MatrixXd& dy);
  void zero_grad();
  const std::vector<Eigen::MatrixXd>& grad_w() const { return gw_; }
  const std::vector<Eigen::VectorXd>& grad_b() const { return gb_; }

  // this = tau * src + (1 - tau) * this (same shapes).
  void soft_update(const Mlp& src, double tau);

 private:
  void init_grads();

  std::vector<Dense> layers_;
  std::vector<Eigen::MatrixXd> gw_;
  std::vector<Eigen::VectorXd> gb_;
  std::vector<Eigen::MatrixXd> out_;  // out_[0] = input, out_[i + 1] = layer i's output
};

// Adam (Kingma & Ba) over every parameter of one Mlp.
class Adam {
 public:
  Adam() = default;
  explicit Adam(const Mlp& net, double lr, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8);
  // One step along the network's accumulated gradients.
  void step(Mlp& net);

 private:
  double lr_ = 1e-3, b1_ = 0.9, b2_ = 0.999, eps_ = 1e-8;
  int64_t t_ = 0;
  std::vector<Eigen::MatrixXd> mw_, vw_;
  std::vector<Eigen::VectorXd> mb_, vb_;
};

}  // namespace coinfer::rl
