// The coedge planner (energy under a deadline, LP with Clp): properties of
// its plans as the simulator predicts them (one frame alone, the setting of
// the deadline and of energy_j_per_frame in `coinfer plan`).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "planners/planner.h"
#include "sim/simulator.h"
#include "planner_env.h"
#include "zoo/zoo.h"

using namespace coinfer;

namespace {

using test::make_env;
using Env = test::PlannerEnv;

cluster::ClusterSpec coedge_mixed() {
  auto c = cluster::load(std::string(COINFER_SOURCE_DIR) + "/examples/clusters/coedge-mixed.json");
  EXPECT_TRUE(c.ok()) << c.error();
  return c.value();
}

struct Outcome {
  double latency_s = 0, energy_j = 0;
};

// One frame alone through the simulator.
Outcome run(const Env& e, const plan::Plan& p) {
  sim::Options one;
  one.frames = 1;
  auto r = sim::simulate(p, *e.cm, one);
  EXPECT_TRUE(r.ok()) << r.error();
  return {r->latency_mean_ms / 1e3, r->energy_j_per_frame};
}

plan::Plan coedge(const Env& e, double deadline) {
  planners::Options o;
  o.deadline_s = deadline;
  auto p = planners::make_plan("coedge", *e.cm, o);
  EXPECT_TRUE(p.ok()) << "deadline " << deadline << ": " << p.error();
  return p.ok() ? std::move(p).value() : plan::Plan{};
}

Outcome baseline(const Env& e, const char* strategy) {
  auto p = planners::make_plan(strategy, *e.cm, {});
  EXPECT_TRUE(p.ok()) << strategy << ": " << p.error();
  return p.ok() ? run(e, *p) : Outcome{INFINITY, INFINITY};
}

// Two fast devices that burn power and two slow frugal ones: energy and
// latency pull apart.
cluster::ClusterSpec fast_and_frugal() {
  cluster::ClusterSpec c;
  c.name = "fast-and-frugal";
  c.default_bandwidth_bps = 200e6;
  c.default_latency_s = 1e-3;
  for (int i = 0; i < 4; ++i) {
    cluster::Device d;
    d.name = fmt::format("{}{}", i < 2 ? "fast" : "frugal", i % 2);
    d.speed = i < 2 ? 0.5 : 0.1;
    d.memory_bytes = 4e9;
    d.power = i < 2 ? cluster::PowerModel{2, 60, 3} : cluster::PowerModel{0.5, 2.5, 1};
    c.devices.push_back(d);
  }
  return c;
}

}  // namespace

// Raising the deadline never raises the energy, and every plan meets its
// deadline by the simulator's one-frame latency (the planner judges its LP
// solutions with the simulator: only 1e-9 relative, floating-point noise,
// as when the deadline is a plan's own simulated latency). Deadlines from
// modnn's latency (a layer-by-layer split, in coedge's plan space) upwards.
TEST(Coedge, EnergyFallsAsTheDeadlineRisesAndDeadlinesAreMet) {
  for (const cluster::ClusterSpec& c : {coedge_mixed(), fast_and_frugal()}) {
    for (const char* model : {"alexnet", "vgg16", "mobilenet_v2"}) {
      auto e = make_env(model, c);
      const double base = baseline(*e, "modnn").latency_s;
      double prev = INFINITY, first = 0;
      for (double f : {1.0, 1.3, 2.0, 5.0, double(INFINITY)}) {
        const double deadline = base * f;
        plan::Plan p = coedge(*e, deadline);
        ASSERT_FALSE(p.stages.empty());
        Outcome r = run(*e, p);
        EXPECT_LE(r.latency_s, deadline * (1 + 1e-9))
            << model << " on " << c.name << " deadline " << deadline;
        EXPECT_LE(r.energy_j, prev * (1 + 1e-9))
            << model << " on " << c.name << " deadline " << deadline;
        std::printf("%-16s %-13s deadline %8.4f s: latency %.4f s energy %.4f J\n", c.name.c_str(),
                    model, deadline, r.latency_s, r.energy_j);
        if (f == 1.0) first = r.energy_j;
        prev = r.energy_j;
      }
      // Where energy and latency pull apart, a loose deadline saves energy.
      if (c.name == "fast-and-frugal") {
        EXPECT_LT(prev, 0.9 * first) << model;
      }
    }
  }
}

TEST(Coedge, ImpossibleDeadlineIsAnErrorNamingIt) {
  auto e = make_env("vgg16", coedge_mixed());
  planners::Options o;
  o.deadline_s = 1e-3;
  auto p = planners::make_plan("coedge", *e->cm, o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("deadline 0.001 s is infeasible"), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("fastest split found takes"), std::string::npos) << p.error();
  for (double bad : {0.0, -1.0, double(NAN)}) {
    o.deadline_s = bad;
    auto q = planners::make_plan("coedge", *e->cm, o);
    ASSERT_FALSE(q.ok());
    EXPECT_NE(q.error().find("deadline"), std::string::npos) << q.error();
  }
}

// At the latency of a baseline whose plans lie in coedge's space (one device
// per block, or every block split), coedge spends no more energy, within 1%:
// its candidates are LP solutions at a fixed ladder of LP deadlines (so that
// the choice is monotone in the deadline), and a baseline can sit between two
// rungs (vgg16 on fast-and-frugal vs modnn: +0.4%).
TEST(Coedge, NoMoreEnergyThanBaselinesAtTheirLatency) {
  for (const cluster::ClusterSpec& c : {coedge_mixed(), fast_and_frugal()})
    for (const char* model : {"alexnet", "vgg16", "googlenet", "mobilenet_v2"}) {
      auto e = make_env(model, c);
      for (const char* s : {"single", "modnn", "layerwise"}) {
        Outcome base = baseline(*e, s);
        Outcome mine = run(*e, coedge(*e, base.latency_s));
        EXPECT_LE(mine.energy_j, base.energy_j * 1.01)
            << model << " on " << c.name << " vs " << s << " at " << base.latency_s << " s";
        EXPECT_LE(mine.latency_s, base.latency_s * (1 + 1e-9))
            << model << " on " << c.name << " vs " << s;
      }
    }
}

// A device as fast as the others but drawing 100x their power computes
// nothing when the deadline leaves room for the other three.
TEST(Coedge, PowerHungryDeviceGetsNoRows) {
  cluster::ClusterSpec c;
  c.name = "hungry";
  c.default_bandwidth_bps = 1e9;
  c.default_latency_s = 1e-4;
  for (int i = 0; i < 4; ++i) {
    cluster::Device d;
    d.name = fmt::format("d{}", i);
    d.speed = 0.25;
    d.memory_bytes = 4e9;
    d.power = {1, i == 3 ? 500.0 : 5.0, 1.5};
    c.devices.push_back(d);
  }
  auto e = make_env("vgg16", c);
  const double deadline = 1.5 * run(*e, planners::make_plan("modnn", *e->cm, {}).value()).latency_s;
  plan::Plan p = coedge(*e, deadline);
  int rows_on_d3 = 0, rows_elsewhere = 0;
  for (const plan::Stage& s : p.stages)
    for (const plan::Assignment& a : s.parts)
      (a.device == "d3" ? rows_on_d3 : rows_elsewhere) += a.rows.size();
  EXPECT_EQ(rows_on_d3, 0);
  EXPECT_GT(rows_elsewhere, 0);
  EXPECT_LE(run(*e, p).latency_s, deadline);
}

// `coinfer plan --deadline S --json`: coedge within the deadline, and the
// one-frame energy per frame at the top level for every strategy (the
// simulator's one-frame run, as the planner judged it); an impossible
// deadline exits non-zero naming it.
TEST(Coedge, PlanCommandTakesADeadlineAndReportsEnergy) {
  auto plan = [](const std::string& args, int* code) {
    std::string cmd = std::string(COINFER_BIN) + " plan --model zoo:alexnet --cluster " +
                      COINFER_SOURCE_DIR + "/examples/clusters/coedge-mixed.json --frames 1 " +
                      args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; p && (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    int st = p ? pclose(p) : -1;
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out.substr(out.find('{') == std::string::npos ? 0 : out.find('{'));
  };
  int code = 0;
  for (const char* s : {"modnn", "pico"}) {
    auto j = nlohmann::json::parse(plan(fmt::format("--strategy {} --json", s), &code));
    EXPECT_EQ(code, 0);
    EXPECT_GT(j.at("energy_j_per_frame").get<double>(), 0) << s;
  }
  auto j = nlohmann::json::parse(plan("--strategy coedge --deadline 0.1 --json", &code));
  EXPECT_EQ(code, 0);
  EXPECT_LE(j.at("one_frame_latency_ms").get<double>(), 100.0);
  EXPECT_GT(j.at("energy_j_per_frame").get<double>(), 0);
  std::string err = plan("--strategy coedge --deadline 0.001", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("deadline 0.001 s is infeasible"), std::string::npos) << err;
}
