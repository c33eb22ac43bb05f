// OSDS training (DDPG over the distredge::Env) and the plan of a trained
// policy. Exploration [paper]: at every step, with probability
// eps = 1 - (episode / E)^2, Gaussian noise of variance sigma^2
// is added to the actor's action (then clipped to [-1, 1]).
#include <cmath>

#include "planners/distredge.h"

namespace coinfer::planners::distredge {

namespace {

// [paper] sigma^2 = 0.1 with 4 providers, 1 with 16; [ours] linear between.
double noise_var(int providers) {
  double t = std::clamp((providers - 4) / 12.0, 0.0, 1.0);
  return 0.1 + t * 0.9;
}

struct Bound {
  std::unique_ptr<Context> cx;
  std::unique_ptr<Env> env;
};

// The policy's environment on `cm`, after checking that it was trained there.
Result<Bound> bind(const cost::CostModel& cm, const Policy& p) {
  if (p.model != cm.graph().name || p.n_blocks != int(cm.blocks().size()))
    return errorf(
        "distredge: the policy was trained for model '{}' ({} blocks), not '{}' ({} blocks)",
        p.model, p.n_blocks, cm.graph().name, cm.blocks().size());
  if (p.cluster != cm.cluster().name)
    return errorf("distredge: the policy was trained for cluster '{}', not '{}'", p.cluster,
                  cm.cluster().name);
  Bound b;
  b.cx = std::make_unique<Context>(cm);
  std::vector<int> devs;
  for (const std::string& n : p.devices) {
    int d = cm.cluster().find(n);
    if (d < 0)
      return errorf("distredge: the policy's provider '{}' is not in cluster '{}'", n,
                    cm.cluster().name);
    devs.push_back(d);
  }
  if (p.bounds.empty() || p.bounds.back() != b.cx->partitionable_prefix())
    return errorf(
        "distredge: the policy's layer-volumes end at block {}, the model's "
        "partitionable blocks at {}",
        p.bounds.empty() ? 0 : p.bounds.back(), b.cx->partitionable_prefix());
  b.env = std::make_unique<Env>(*b.cx, devs, p.bounds);
  if (!p.actor.layers().empty() &&
      (p.actor.in_dim() != b.env->state_dim() || p.actor.out_dim() != b.env->action_dim()))
    return errorf(
        "distredge: the policy's actor maps {} -> {} values, the environment needs {} -> {}",
        p.actor.in_dim(), p.actor.out_dim(), b.env->state_dim(), b.env->action_dim());
  return b;
}

// Runs the actor greedily; the plan's latency.
double run_actor(Env& env, const Policy& p) {
  rl::Mlp actor = p.actor;
  env.reset();
  while (!env.done())
    env.step(p.actor.layers().empty() ? Eigen::VectorXd()
                                      : Eigen::VectorXd(actor.forward(env.state())));
  return env.latency();
}

}  // namespace

Result<Policy> train(const cost::CostModel& cm, const TrainOptions& o,
                     const std::function<void(const EpisodeLog&)>& on_episode) {
  if (o.episodes < 1) return errorf("distredge: episodes = {}: must be >= 1", o.episodes);
  Context cx(cm);
  ASSIGN_OR_RETURN(Setup su, setup(cx, o.seed));
  Env env(cx, su.devices, su.bounds);
  Policy pol;
  pol.model = cm.graph().name;
  pol.cluster = cm.cluster().name;
  pol.n_blocks = cx.n_blocks();
  for (int d : su.devices) pol.devices.push_back(cx.device_name(d));
  pol.bounds = env.bounds();
  pol.latency_ref = env.latency_ref();
  pol.seed = o.seed;
  pol.best_latency_s = kInf;
  const bool learn = env.action_dim() > 0 && env.lvs() > 0;
  rl::DdpgConfig cfg = o.ddpg;
  cfg.state_dim = env.state_dim();
  cfg.action_dim = std::max(1, env.action_dim());
  rl::Ddpg agent(cfg, o.seed);
  std::mt19937_64 noise_rng(o.seed ^ 0x9e3779b97f4a7c15ull);
  const double sigma = std::sqrt(o.noise_var >= 0 ? o.noise_var : noise_var(env.action_dim() + 1));
  const double horizon = o.explore_episodes > 0 ? o.explore_episodes : std::max(1, o.episodes / 2);
  for (int ep = 0; ep < o.episodes; ++ep) {
    const double eps = 1 - std::pow(ep / horizon, 2);
    env.reset();
    double reward = 0;
    Eigen::VectorXd s = env.state();
    while (!env.done()) {
      Eigen::VectorXd a = agent.act(s);
      if (rl::uniform01(noise_rng) < eps)
        for (Eigen::Index i = 0; i < a.size(); ++i)
          a(i) = std::clamp(a(i) + sigma * rl::gaussian(noise_rng), -1.0, 1.0);
      reward = env.step(a);
      Eigen::VectorXd s2 = env.state();
      agent.remember(s, a, reward, s2, env.done());
      agent.update();
      s = s2;
    }
    if (env.latency() < pol.best_latency_s) {
      pol.best_latency_s = env.latency();
      pol.best_cuts = env.cuts();
    }
    pol.episodes = ep + 1;
    if (on_episode) on_episode({ep, reward, env.latency(), pol.best_latency_s});
    if (!learn) break;  // one plan only: nothing to learn
  }
  if (!std::isfinite(pol.best_latency_s))
    return errorf("distredge: model '{}' does not fit in device memory on cluster '{}'", pol.model,
                  pol.cluster);
  if (learn) pol.actor = agent.actor();
  return pol;
}

Result<double> greedy_latency(const cost::CostModel& cm, const Policy& p) {
  ASSIGN_OR_RETURN(Bound b, bind(cm, p));
  return run_actor(*b.env, p);
}

Result<plan::Plan> policy_plan(const cost::CostModel& cm, const Policy& p) {
  ASSIGN_OR_RETURN(Bound b, bind(cm, p));
  Env& env = *b.env;
  if (p.best_cuts.size() != size_t(env.lvs()))
    return errorf("distredge: the policy's best plan has {} layer-volumes, its partition {}",
                  p.best_cuts.size(), env.lvs());
  // The best plan seen in training, replayed (cuts checked: 0 .. H, in order).
  env.reset();
  for (const std::vector<int>& c : p.best_cuts) {
    int h = b.cx->out_height(env.bounds()[env.cuts().size() + 1] - 1);
    bool ok = c.size() == env.devices().size() + 1 && c.front() == 0 && c.back() == h &&
              std::is_sorted(c.begin(), c.end());
    if (!ok)
      return errorf(
          "distredge: the policy's best plan has bad cut rows for layer-volume {}: "
          "need {} non-decreasing rows from 0 to {}",
          env.cuts().size(), env.devices().size() + 1, h);
    env.step_cuts(c);
  }
  const std::vector<Draft> best = env.stages();
  const double best_s = env.latency();
  const double actor_s = run_actor(env, p);
  if (actor_s <= best_s)
    return finish(*b.cx, env.stages(),
                  fmt::format("distredge: actor (greedy), estimated latency {:.4g} s (best seen in "
                              "training {:.4g} s)",
                              actor_s, best_s));
  return finish(*b.cx, best,
                fmt::format("distredge: best plan seen in training, estimated latency {:.4g} s "
                            "(actor greedy {:.4g} s)",
                            best_s, actor_s));
}

}  // namespace coinfer::planners::distredge
