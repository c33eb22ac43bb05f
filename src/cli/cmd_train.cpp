// coinfer train distredge --model M --cluster C.json [--profile P.json]
//   [--episodes N] [--explore-episodes E] [--seed S] -o policy.bin [--curve curve.csv]
// Trains DistrEdge's OSDS (DDPG) on the LC-PSS layer-volumes of M on C;
// progress on stderr; the policy (planners/distredge_policy.cpp) is what
// `coinfer plan --strategy distredge --policy policy.bin` reads.
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>

#include "cli/cli.h"
#include "cli/workload.h"
#include "planners/distredge.h"

namespace coinfer::cli {

namespace {

struct TrainArgs {
  std::string model, cluster, profile, output, curve;
  int episodes = 4000, explore = 0;
  uint64_t seed = 1;
};

void train_distredge(const TrainArgs& a) {
  auto w = load_workload(a.model, a.cluster, a.profile);
  if (!std::ofstream(a.output, std::ios::app))  // fail before training, not after
    check(errorf("train: cannot write policy file '{}'", a.output));
  std::ofstream curve;
  if (!a.curve.empty()) {
    curve.open(a.curve);
    if (!curve) check(errorf("train: cannot write --curve '{}'", a.curve));
    curve << "episode,reward,latency_s,best_s\n";
  }
  planners::distredge::TrainOptions o;
  o.episodes = a.episodes;
  o.explore_episodes = a.explore;
  o.seed = a.seed;
  const int window = 100;  // moving average of the episode reward
  std::deque<double> recent;
  double sum = 0;
  int shown = -1;
  auto t0 = std::chrono::steady_clock::now();
  auto on_episode = [&](const planners::distredge::EpisodeLog& e) {
    recent.push_back(e.reward);
    sum += e.reward;
    if (int(recent.size()) > window) {
      sum -= recent.front();
      recent.pop_front();
    }
    if (curve.is_open())
      curve << fmt::format("{},{:.6g},{:.6g},{:.6g}\n", e.episode, e.reward, e.latency_s, e.best_s);
    int pct = int(100.0 * (e.episode + 1) / a.episodes);
    if (pct == shown && e.episode + 1 != a.episodes) return;
    shown = pct;
    const int bar = 30, full = bar * pct / 100;
    std::fprintf(
        stderr, "\rtrain distredge [%s%s] %3d%% episode %d/%d  best %.4f s  reward (avg %d) %.4f",
        std::string(size_t(full), '#').c_str(), std::string(size_t(bar - full), '.').c_str(), pct,
        e.episode + 1, a.episodes, e.best_s, int(recent.size()), sum / double(recent.size()));
    std::fflush(stderr);
  };
  planners::distredge::Policy p = unwrap(planners::distredge::train(*w->cost, o, on_episode));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "\n");
  check(planners::distredge::save_policy(p, a.output));
  if (curve.is_open() && !curve.flush()) check(errorf("train: cannot write --curve '{}'", a.curve));
  double greedy = unwrap(planners::distredge::greedy_latency(*w->cost, p));
  std::string lvs;
  for (size_t i = 0; i + 1 < p.bounds.size(); ++i)
    lvs += fmt::format("{}[{},{})", i ? " " : "", p.bounds[i], p.bounds[i + 1]);
  std::printf(
      "distredge on %s / %s: %zu providers, layer-volumes %s\n"
      "trained %d episodes in %.1f s; latency (flow model): capacity-proportional %.4f s, best "
      "seen %.4f s, actor greedy %.4f s\nwrote %s\n",
      w->graph.name.c_str(), w->cluster.name.c_str(), p.devices.size(), lvs.c_str(), p.episodes,
      secs, p.latency_ref, p.best_latency_s, greedy, a.output.c_str());
}

}  // namespace

void register_train(CLI::App& app) {
  auto* train = app.add_subcommand("train", "Train a learned planner");
  train->require_subcommand(1);
  auto* cmd = train->add_subcommand(
      "distredge", "Train DistrEdge's DDPG split policy (OSDS) on the LC-PSS layer-volumes");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--model", a->model, "ONNX file or zoo:NAME")->required();
  cmd->add_option("--cluster", a->cluster, "cluster spec JSON")->required();
  cmd->add_option("--profile", a->profile,
                  "reference device profile (coinfer profile device); default: analytic");
  cmd->add_option("--episodes", a->episodes, "training episodes (default 4000, as the paper)")
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--explore-episodes", a->explore,
                  "exploration horizon E: noise with probability 1 - (episode/E)^2 "
                  "(default: half the episodes; the paper: 250)")
      ->check(CLI::Range(0, 10000000));
  cmd->add_option("--seed", a->seed, "seed (the same seed gives the same policy)");
  cmd->add_option("-o,--output", a->output, "write the policy here (policy.bin)")->required();
  cmd->add_option("--curve", a->curve, "write the learning curve CSV here");
  cmd->callback([a] { train_distredge(*a); });
}

}  // namespace coinfer::cli
