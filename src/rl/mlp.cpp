#include "rl/mlp.h"

#include <cassert>
#include <cmath>

namespace coinfer::rl {

double uniform01(std::mt19937_64& rng) {
  return double(rng() >> 11) * 0x1.0p-53;
}

double gaussian(std::mt19937_64& rng) {
  double u1 = 1 - uniform01(rng), u2 = uniform01(rng);  // u1 in (0, 1]
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

namespace {

double uniform(std::mt19937_64& rng, double r) {
  return (uniform01(rng) * 2 - 1) * r;
}

void apply(Act a, Eigen::MatrixXd& z) {
  switch (a) {
    case Act::Relu:
      z = z.cwiseMax(0.0);
      break;
    case Act::Tanh:
      z = z.array().tanh().matrix();
      break;
    case Act::Sigmoid:
      z = (1.0 / (1.0 + (-z.array()).exp())).matrix();
      break;
    case Act::Linear:
    case Act::Count:
      break;
  }
}

// dL/dz from dL/dy and y = act(z).
Eigen::MatrixXd through(Act a, const Eigen::MatrixXd& y, const Eigen::MatrixXd& dy) {
  switch (a) {
    case Act::Relu:
      return (y.array() > 0).select(dy, 0.0);
    case Act::Tanh:
      return (dy.array() * (1 - y.array().square())).matrix();
    case Act::Sigmoid:
      return (dy.array() * y.array() * (1 - y.array())).matrix();
    case Act::Linear:
    case Act::Count:
      break;
  }
  return dy;
}

}  // namespace

Mlp::Mlp(const std::vector<int>& sizes, Act hidden, Act out, std::mt19937_64& rng) {
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    const bool last = i + 2 == sizes.size();
    const double r = last ? 3e-3 : 1.0 / std::sqrt(double(sizes[i]));
    Dense d;
    d.w.resize(sizes[i + 1], sizes[i]);
    d.b.resize(sizes[i + 1]);
    for (Eigen::Index c = 0; c < d.w.cols(); ++c)
      for (Eigen::Index k = 0; k < d.w.rows(); ++k) d.w(k, c) = uniform(rng, r);
    for (Eigen::Index k = 0; k < d.b.size(); ++k) d.b(k) = uniform(rng, r);
    d.act = last ? out : hidden;
    layers_.push_back(std::move(d));
  }
  init_grads();
}

Mlp::Mlp(std::vector<Dense> layers) : layers_(std::move(layers)) {
  init_grads();
}

void Mlp::init_grads() {
  gw_.clear();
  gb_.clear();
  for (const Dense& d : layers_) {
    gw_.push_back(Eigen::MatrixXd::Zero(d.w.rows(), d.w.cols()));
    gb_.push_back(Eigen::VectorXd::Zero(d.b.size()));
  }
  out_.assign(layers_.size() + 1, Eigen::MatrixXd());
}

const Eigen::MatrixXd& Mlp::forward(const Eigen::MatrixXd& x) {
  assert(x.rows() == in_dim());
  out_[0] = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Dense& d = layers_[i];
    out_[i + 1].noalias() = d.w * out_[i];
    out_[i + 1].colwise() += d.b;
    apply(d.act, out_[i + 1]);
  }
  return out_.back();
}

Eigen::MatrixXd Mlp::backward(const Eigen::MatrixXd& dy) {
  Eigen::MatrixXd g = dy;
  for (size_t i = layers_.size(); i-- > 0;) {
    Eigen::MatrixXd dz = through(layers_[i].act, out_[i + 1], g);
    gw_[i].noalias() += dz * out_[i].transpose();
    gb_[i] += dz.rowwise().sum();
    g.noalias() = layers_[i].w.transpose() * dz;
  }
  return g;
}

void Mlp::zero_grad() {
  for (auto& g : gw_) g.setZero();
  for (auto& g : gb_) g.setZero();
}

void Mlp::soft_update(const Mlp& src, double tau) {
  assert(src.layers_.size() == layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].w = tau * src.layers_[i].w + (1 - tau) * layers_[i].w;
    layers_[i].b = tau * src.layers_[i].b + (1 - tau) * layers_[i].b;
  }
}

Adam::Adam(const Mlp& net, double lr, double beta1, double beta2, double eps)
    : lr_(lr), b1_(beta1), b2_(beta2), eps_(eps) {
  for (const Dense& d : net.layers()) {
    mw_.push_back(Eigen::MatrixXd::Zero(d.w.rows(), d.w.cols()));
    vw_.push_back(mw_.back());
    mb_.push_back(Eigen::VectorXd::Zero(d.b.size()));
    vb_.push_back(mb_.back());
  }
}

void Adam::step(Mlp& net) {
  ++t_;
  const double c1 = 1 - std::pow(b1_, double(t_)), c2 = 1 - std::pow(b2_, double(t_));
  auto update = [&](auto& p, const auto& g, auto& m, auto& v) {
    m = b1_ * m + (1 - b1_) * g;
    v = b2_ * v + (1 - b2_) * g.cwiseProduct(g);
    p.array() -= lr_ * (m.array() / c1) / ((v.array() / c2).sqrt() + eps_);
  };
  for (size_t i = 0; i < net.layers().size(); ++i) {
    update(net.layers()[i].w, net.grad_w()[i], mw_[i], vw_[i]);
    update(net.layers()[i].b, net.grad_b()[i], mb_[i], vb_[i]);
  }
}

}  // namespace coinfer::rl
