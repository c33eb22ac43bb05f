// DistrEdge: the MLP / DDPG gradients, LC-PSS, training determinism, the
// trained policy against random and proportional splits, the policy file.
#include "planners/distredge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "planner_env.h"
#include "zoo/zoo.h"

using namespace coinfer;
namespace dr = planners::distredge;

namespace {

// Relative error of analytic vs central-difference gradients of `loss` with
// respect to every `stride`-th parameter of `net` (weights and biases).
double grad_error(rl::Mlp& net, const std::function<double()>& loss,
                  const std::vector<Eigen::MatrixXd>& gw, const std::vector<Eigen::VectorXd>& gb,
                  int stride) {
  const double h = 1e-6;
  double worst = 0;
  auto check = [&](double& p, double analytic) {
    double keep = p;
    p = keep + h;
    double up = loss();
    p = keep - h;
    double down = loss();
    p = keep;
    double numeric = (up - down) / (2 * h);
    double err =
        std::fabs(numeric - analytic) / std::max(1e-7, std::fabs(numeric) + std::fabs(analytic));
    worst = std::max(worst, err);
  };
  int k = 0;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    rl::Dense& d = net.layers()[l];
    for (Eigen::Index i = 0; i < d.w.size(); ++i)
      if (k++ % stride == 0) check(d.w.data()[i], gw[l].data()[i]);
    for (Eigen::Index i = 0; i < d.b.size(); ++i)
      if (k++ % stride == 0) check(d.b(i), gb[l](i));
  }
  return worst;
}

Eigen::MatrixXd random_matrix(int r, int c, std::mt19937_64& rng) {
  Eigen::MatrixXd m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = 2 * rl::uniform01(rng) - 1;
  return m;
}

// Larger random weights than the DDPG init so every layer matters.
rl::Mlp test_net(const std::vector<int>& sizes, rl::Act hidden, rl::Act out, std::mt19937_64& rng) {
  rl::Mlp net(sizes, hidden, out, rng);
  for (rl::Dense& d : net.layers()) {
    d.w = random_matrix(int(d.w.rows()), int(d.w.cols()), rng) * 0.7;
    d.b = random_matrix(int(d.b.size()), 1, rng) * 0.3;
  }
  return net;
}

using TestModel = test::PlannerEnv;

// A 4-device heterogeneous cluster with different links (DistrEdge's DC-ND
// in spirit: fast device on a slow link).
cluster::ClusterSpec hetero4() {
  cluster::ClusterSpec c;
  c.name = "hetero4";
  c.source = "";
  c.default_bandwidth_bps = 1e9;
  c.default_latency_s = 2e-3;
  const double speed[4] = {1.2, 0.3, 0.13, 0.08};
  const double link[4] = {50e6, 100e6, 200e6, 300e6};
  for (int i = 0; i < 4; ++i) {
    cluster::Device d;
    d.name = fmt::format("p{}", i);
    d.speed = speed[i];
    d.link_bps = link[i];
    d.memory_bytes = 4e9;
    c.devices.push_back(d);
  }
  return c;
}

using test::make_env;

dr::TrainOptions short_training(int episodes, uint64_t seed) {
  dr::TrainOptions o;
  o.episodes = episodes;
  o.seed = seed;
  return o;
}

}  // namespace

TEST(DistredgeMlp, CriticLossGradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(7);
  rl::Mlp critic = test_net({6 + 3, 16, 12, 8, 1}, rl::Act::Tanh, rl::Act::Linear, rng);
  Eigen::MatrixXd s = random_matrix(6, 5, rng), a = random_matrix(3, 5, rng);
  Eigen::RowVectorXd y = random_matrix(1, 5, rng);
  rl::critic_loss(critic, s, a, y);
  auto gw = critic.grad_w();
  auto gb = critic.grad_b();
  auto loss = [&] { return rl::critic_loss(critic, s, a, y); };
  EXPECT_LT(grad_error(critic, loss, gw, gb, 1), 1e-5);
  // ReLU and sigmoid layers too.
  rl::Mlp relu = test_net({9, 10, 7, 1}, rl::Act::Relu, rl::Act::Sigmoid, rng);
  rl::critic_loss(relu, s, a, y);
  gw = relu.grad_w();
  gb = relu.grad_b();
  auto loss2 = [&] { return rl::critic_loss(relu, s, a, y); };
  EXPECT_LT(grad_error(relu, loss2, gw, gb, 1), 1e-5);
}

TEST(DistredgeMlp, ActorLossGradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(11);
  rl::Mlp actor = test_net({6, 14, 10, 3}, rl::Act::Relu, rl::Act::Tanh, rng);
  rl::Mlp critic = test_net({9, 12, 8, 1}, rl::Act::Tanh, rl::Act::Linear, rng);
  Eigen::MatrixXd s = random_matrix(6, 4, rng);
  rl::actor_loss(actor, critic, s);
  auto gw = actor.grad_w();
  auto gb = actor.grad_b();
  auto loss = [&] { return rl::actor_loss(actor, critic, s); };
  EXPECT_LT(grad_error(actor, loss, gw, gb, 1), 1e-5);
}

TEST(DistredgeMlp, AdamFitsASmallRegression) {
  // y = sin(x0) + x1^2 on [-1, 1]^2: the loss must drop by 10x.
  std::mt19937_64 rng(3);
  rl::Mlp net({2, 32, 32, 1}, rl::Act::Tanh, rl::Act::Linear, rng);
  rl::Adam opt(net, 1e-2);
  Eigen::MatrixXd x = random_matrix(2, 128, rng);
  Eigen::RowVectorXd y = (x.row(0).array().sin() + x.row(1).array().square()).matrix();
  Eigen::MatrixXd none(0, 128);
  double first = rl::critic_loss(net, x, none, y), last = first;
  for (int i = 0; i < 500; ++i) {
    last = rl::critic_loss(net, x, none, y);
    opt.step(net);
  }
  EXPECT_LT(last, first / 10) << "first " << first << " last " << last;
}

TEST(DistredgeLcpss, BoundariesIncreaseOverThePartitionablePrefix) {
  for (const char* m : {"vgg16", "yolov2_tiny", "resnet18", "alexnet"}) {
    auto e = make_env(m, hetero4());
    planners::Context cx(*e->cm);
    const int P = cx.partitionable_prefix();
    std::vector<int> b = dr::lcpss(cx, 4, {});
    ASSERT_GE(b.size(), 2u) << m;
    EXPECT_EQ(b.front(), 0) << m;
    EXPECT_EQ(b.back(), P) << m;
    for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]) << m;
    EXPECT_EQ(b, dr::lcpss(cx, 4, {}));  // deterministic for a seed
    // Greedy stops at a local optimum: no single extra boundary improves the
    // score, and the score is no worse than one LV.
    const double best = dr::lcpss_score(cx, 4, b, {});
    EXPECT_LE(best, dr::lcpss_score(cx, 4, {0, P}, {}) * (1 + 1e-12)) << m;
    for (int c = 1; c < P; ++c) {
      if (std::count(b.begin(), b.end(), c)) continue;
      std::vector<int> more = b;
      more.insert(std::upper_bound(more.begin(), more.end(), c), c);
      EXPECT_GE(dr::lcpss_score(cx, 4, more, {}), best * (1 - 1e-12)) << m << " cut " << c;
    }
  }
}

TEST(DistredgeTrain, FixedSeedGivesTheSamePolicy) {
  auto e = make_env("alexnet", hetero4());
  auto a = dr::train(*e->cm, short_training(30, 5), {});
  auto b = dr::train(*e->cm, short_training(30, 5), {});
  auto c = dr::train(*e->cm, short_training(30, 6), {});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.error();
  EXPECT_EQ(dr::encode_policy(*a), dr::encode_policy(*b));  // identical weights, bit for bit
  EXPECT_NE(dr::encode_policy(*a), dr::encode_policy(*c));
  auto pa = dr::policy_plan(*e->cm, *a), pb = dr::policy_plan(*e->cm, *b);
  ASSERT_TRUE(pa.ok()) << pa.error();
  EXPECT_EQ(*pa, *pb);
}

// The trained policy beats random splits and the capacity-proportional split
// of the same LVs, all scored by the same flow-model latency.
TEST(DistredgeTrain, TrainedPolicyBeatsRandomAndProportionalSplits) {
  const uint64_t seed = 20261124;
  auto e = make_env("yolov2_tiny", hetero4());
  auto pol = dr::train(*e->cm, short_training(250, seed), {});
  ASSERT_TRUE(pol.ok()) << pol.error();
  planners::Context cx(*e->cm);
  std::vector<int> devs;
  for (const std::string& n : pol->devices) devs.push_back(e->cm->cluster().find(n));
  dr::Env env(cx, devs, pol->bounds);
  std::mt19937_64 rng(seed);
  double random_mean = 0;
  const int trials = 200;
  for (int t = 0; t < trials; ++t) {
    env.reset();
    while (!env.done()) env.step(random_matrix(env.action_dim(), 1, rng));
    random_mean += env.latency() / trials;
  }
  auto greedy = dr::greedy_latency(*e->cm, *pol);
  ASSERT_TRUE(greedy.ok()) << greedy.error();
  auto p = dr::policy_plan(*e->cm, *pol);
  ASSERT_TRUE(p.ok()) << p.error();
  double planned = planners::estimate(*e->cm, *p).latency_s;
  EXPECT_LT(*greedy, random_mean) << "seed " << seed;
  EXPECT_LT(planned, random_mean) << "seed " << seed;
  EXPECT_LT(planned, pol->latency_ref) << "proportional " << pol->latency_ref << " seed " << seed;
  EXPECT_LE(planned, std::min(*greedy, pol->best_latency_s) * (1 + 1e-12));
}

TEST(DistredgePolicy, FileRoundTripAndStrictLoading) {
  auto e = make_env("alexnet", hetero4());
  auto pol = dr::train(*e->cm, short_training(5, 1), {});
  ASSERT_TRUE(pol.ok()) << pol.error();
  std::vector<uint8_t> bytes = dr::encode_policy(*pol);
  auto back = dr::decode_policy(bytes, "p");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(dr::encode_policy(*back), bytes);
  auto path = std::filesystem::temp_directory_path() / "coinfer_distredge_test.bin";
  ASSERT_TRUE(dr::save_policy(*pol, path.string()).ok());
  auto loaded = dr::load_policy(path.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(dr::encode_policy(*loaded), bytes);
  // The planner reads it through Options::policy_path.
  planners::Options o;
  o.policy_path = path.string();
  auto via_planner = planners::make_plan("distredge", *e->cm, o);
  auto direct = dr::policy_plan(*e->cm, *pol);
  ASSERT_TRUE(via_planner.ok() && direct.ok()) << via_planner.error();
  EXPECT_EQ(*via_planner, *direct);
  std::filesystem::remove(path);

  std::vector<uint8_t> bad = bytes;
  bad[0] = 'X';
  auto r = dr::decode_policy(bad, "p");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("magic"), std::string::npos) << r.error();
  bad = bytes;
  bad[8] = 9;  // version
  r = dr::decode_policy(bad, "p");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("version 9"), std::string::npos) << r.error();
  for (size_t cut : {size_t(3), size_t(20), bytes.size() / 2, bytes.size() - 1}) {
    r = dr::decode_policy(std::span<const uint8_t>(bytes.data(), cut), "p");
    ASSERT_FALSE(r.ok()) << "truncated at " << cut;
    EXPECT_NE(r.error().find("p: "), std::string::npos) << r.error();
  }
  bad = bytes;
  bad.push_back(0);
  r = dr::decode_policy(bad, "p");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("trailing"), std::string::npos) << r.error();
  EXPECT_FALSE(dr::load_policy("/nonexistent/policy.bin").ok());

  // Another model or cluster: one-line errors naming both.
  auto other = make_env("vgg16", hetero4());
  auto wrong = dr::policy_plan(*other->cm, *pol);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("'alexnet'"), std::string::npos) << wrong.error();
  cluster::ClusterSpec renamed = hetero4();
  renamed.name = "elsewhere";
  auto moved = make_env("alexnet", renamed);
  wrong = dr::policy_plan(*moved->cm, *pol);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("'elsewhere'"), std::string::npos) << wrong.error();
}
