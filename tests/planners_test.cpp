#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "planners/common.h"
#include "planners/planner.h"
#include "sim/simulator.h"
#include "planner_env.h"
#include "zoo/zoo.h"

using namespace coinfer;
namespace fs = std::filesystem;

namespace {

using test::make_env;
using Env = test::PlannerEnv;

cluster::ClusterSpec make_cluster(const std::string& name, const std::vector<double>& speeds,
                                  double bps = 100e6, bool shared = false, double memory = 2e9) {
  cluster::ClusterSpec c;
  c.name = name;
  c.default_bandwidth_bps = bps;
  c.default_latency_s = 1e-3;
  c.shared_medium = shared;
  c.medium_bandwidth_bps = shared ? bps : 0;
  for (size_t i = 0; i < speeds.size(); ++i) {
    cluster::Device d;
    d.name = fmt::format("d{}", i);
    d.speed = speeds[i];
    d.memory_bytes = memory;
    c.devices.push_back(d);
  }
  return c;
}

std::vector<cluster::ClusterSpec> synthetic_clusters() {
  return {make_cluster("homo-4", std::vector<double>(4, 0.25)),
          make_cluster("homo-8", std::vector<double>(8, 0.25)),
          make_cluster("hetero-1-8", {0.125, 0.125, 0.25, 0.25, 0.5, 0.5, 1, 1}),
          make_cluster("shared-50M", {0.05, 0.05, 0.1, 0.1, 0.2}, 50e6, true),
          make_cluster("one-device", {0.5})};
}

std::vector<cluster::ClusterSpec> example_clusters() {
  std::vector<cluster::ClusterSpec> out;
  fs::path dir = fs::path(COINFER_SOURCE_DIR) / "examples" / "clusters";
  std::vector<fs::path> files;
  if (fs::exists(dir))
    for (const auto& f : fs::directory_iterator(dir))
      if (f.path().extension() == ".json") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    auto c = cluster::load(f.string());
    EXPECT_TRUE(c.ok()) << c.error();
    if (c.ok()) out.push_back(std::move(c).value());
  }
  return out;
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> n;
  for (const zoo::ZooEntry& e : zoo::list()) n.push_back(e.name);
  return n;
}

planners::Options options_for(const std::string& strategy) {
  planners::Options o;
  if (strategy == "apico") o.rate = 0.5;
  return o;
}

// Every strategy x every model on `clusters`: the plan validates (make_plan
// already checks; re-checked here) and simulates.
void check_all(const std::vector<cluster::ClusterSpec>& clusters) {
  for (const cluster::ClusterSpec& c : clusters)
    for (const std::string& m : zoo_names()) {
      auto env = make_env(m, c);
      for (const planners::Strategy& s : planners::strategies()) {
        auto p = planners::make_plan(s.name, *env->cm, options_for(s.name));
        ASSERT_TRUE(p.ok()) << s.name << " / " << m << " / " << c.name << ": " << p.error();
        auto errs = plan::validate(*p, *env->g, env->blocks, c);
        EXPECT_TRUE(errs.empty()) << s.name << " / " << m << " / " << c.name << ": " << errs[0];
        sim::Options so;
        so.frames = 3;
        auto r = sim::simulate(*p, *env->cm, so);
        ASSERT_TRUE(r.ok()) << s.name << " / " << m << " / " << c.name << ": " << r.error();
        EXPECT_EQ(r->completed, 3);
      }
    }
}

}  // namespace

// The planners' geometry shortcut (per-block composition of separable row
// bounds) equals band_geometry / band_seconds on random bands, cuts and
// transport included.
TEST(PlannersGeometry, MatchesBandGeometry) {
  const uint32_t seed = 20261124;
  std::mt19937 rng(seed);
  auto c = make_cluster("one", {0.5});
  for (const std::string& m : zoo_names()) {
    auto env = make_env(m, c, true);
    planners::Context cx(*env->cm);
    const int nb = cx.n_blocks();
    for (int t = 0; t < 200; ++t) {
      int a = int(rng() % uint32_t(nb)), b = a + 1 + int(rng() % uint32_t(nb - a));
      int h = cx.out_height(b - 1);
      int lo = int(rng() % uint32_t(h)), hi = lo + 1 + int(rng() % uint32_t(h - lo));
      if (!cx.partitionable(a, b)) lo = 0, hi = h;
      auto geo = graph::band_geometry(*env->g, env->blocks, a, b, {lo, hi});
      ASSERT_TRUE(geo.ok()) << geo.error();
      Rows in = cx.input_rows(a, b, {lo, hi});
      ASSERT_EQ(in, geo->input) << m << " [" << a << "," << b << ") rows " << lo << "-" << hi
                                << " seed " << seed;
      for (int k = a; k < b; ++k)
        ASSERT_EQ(cx.block_rows(a, b, k, {lo, hi}),
                  geo->compute[size_t(env->blocks[size_t(k)].last)])
            << m << " block " << k << " seed " << seed;
      double want = env->cm->band_seconds(0, *geo);
      ASSERT_NEAR(cx.compute_seconds(0, a, b, {lo, hi}), want, 1e-12 * want)
          << m << " seed " << seed;
    }
  }
}

TEST(PlannersRows, ProportionalAndBalancedSplitsCoverTheOutput) {
  auto rows = planners::proportional_rows(10, {1, 2, 2});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (Rows{0, 2}));
  EXPECT_EQ(rows[1], (Rows{2, 6}));
  EXPECT_EQ(rows[2], (Rows{6, 10}));
  // On a shared medium the balance is on compute alone.
  auto c = make_cluster("hetero", {0.1, 0.2, 0.4, 0.8}, 100e6, true);
  auto env = make_env("resnet18", c);
  planners::Context cx(*env->cm);
  for (int a = 0; a < 6; ++a) {
    const int b = a + 3, h = cx.out_height(b - 1);
    std::vector<Rows> r = planners::balanced_rows(cx, a, b, {0, 1, 2, 3});
    int pos = 0;
    double worst = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      if (r[i].empty()) continue;
      EXPECT_EQ(r[i].lo, pos);
      pos = r[i].hi;
      worst = std::max(worst, cx.compute_seconds(int(i), a, b, r[i]));
    }
    EXPECT_EQ(pos, h);
    // Better than the capacity-proportional split (which ignores halos).
    planners::Draft prop = planners::proportional_stage(cx, a, b, {0, 1, 2, 3});
    double pw = 0;
    for (const planners::Part& p : prop.parts)
      pw = std::max(pw, cx.compute_seconds(p.device, a, b, p.rows));
    EXPECT_LE(worst, pw * (1 + 1e-9)) << "blocks [" << a << "," << b << ")";
  }
}

TEST(Planners, EveryStrategyValidatesOnExampleClusters) {
  auto clusters = example_clusters();
  if (clusters.empty()) GTEST_SKIP() << "examples/clusters is empty";
  check_all(clusters);
}

TEST(Planners, EveryStrategyValidatesOnSyntheticClusters) {
  check_all(synthetic_clusters());
}

TEST(Planners, UnknownStrategyListsTheKnownOnes) {
  auto env = make_env("alexnet", make_cluster("c", {1, 1}));
  auto p = planners::make_plan("nope", *env->cm, {});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("unknown strategy 'nope'"), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("pico"), std::string::npos) << p.error();
}

TEST(Planners, LatencyBoundTooTightIsAnError) {
  auto env = make_env("vgg16", make_cluster("c", {0.25, 0.25, 0.5, 0.5}));
  planners::Options o;
  o.latency_bound_s = 1e-4;
  for (const char* s : {"pico", "pico-paper", "layerwise"}) {
    auto p = planners::make_plan(s, *env->cm, o);
    ASSERT_FALSE(p.ok()) << s;
    EXPECT_NE(p.error().find("latency bound"), std::string::npos) << p.error();
    std::printf("%s\n", p.error().c_str());
  }
  // A loose bound is met, and the plan respects it.
  o.latency_bound_s = 100;
  auto p = planners::make_plan("pico", *env->cm, o);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_LE(planners::estimate(*env->cm, *p).latency_s, 100);
}

TEST(Planners, LatencyBoundTradesPeriodForLatency) {
  auto env = make_env("vgg16", make_cluster("c", std::vector<double>(8, 0.25)));
  auto free = planners::make_plan("pico", *env->cm, {});
  ASSERT_TRUE(free.ok()) << free.error();
  planners::Estimate ef = planners::estimate(*env->cm, *free);
  planners::Options o;
  o.latency_bound_s = ef.latency_s * 0.8;
  auto bound = planners::make_plan("pico", *env->cm, o);
  if (!bound.ok()) {
    EXPECT_NE(bound.error().find("latency bound"), std::string::npos) << bound.error();
    return;
  }
  planners::Estimate eb = planners::estimate(*env->cm, *bound);
  std::printf("free: period %.4f latency %.4f; bound %.4f: period %.4f latency %.4f\n", ef.period_s,
              ef.latency_s, o.latency_bound_s, eb.period_s, eb.latency_s);
  EXPECT_LE(eb.latency_s, o.latency_bound_s * (1 + 1e-9));
  EXPECT_GE(eb.period_s, ef.period_s * (1 - 1e-9));
}

TEST(Planners, ModelThatDoesNotFitInMemoryIsAnError) {
  // 20 MB per device: VGG-16's classifier alone holds ~500 MB of weights.
  auto c = make_cluster("tiny-mem", {0.5, 0.5, 1, 1}, 100e6, false, 20e6);
  auto env = make_env("vgg16", c);
  for (const planners::Strategy& s : planners::strategies()) {
    auto p = planners::make_plan(s.name, *env->cm, options_for(s.name));
    ASSERT_FALSE(p.ok()) << s.name;
    EXPECT_NE(p.error().find("memory"), std::string::npos) << s.name << ": " << p.error();
  }
}

// Property: on a homogeneous cluster pico contains layerwise (stages of one
// device). In PICO's own model (what Algorithms 1 and 2 optimise) pico-paper's
// period is never worse than layerwise's; pico, which picks its final plan by
// the flow model, is never worse than layerwise or ofl there.
TEST(Planners, PicoPeriodNeverWorseThanLayerwiseOrOflOnHomogeneous) {
  for (const cluster::ClusterSpec& c :
       {make_cluster("homo-4", std::vector<double>(4, 0.25)),
        make_cluster("homo-8", std::vector<double>(8, 0.25)),
        make_cluster("homo-6-shared", std::vector<double>(6, 0.1), 50e6, true)}) {
    for (const std::string& m : zoo_names()) {
      auto env = make_env(m, c);
      auto plan = [&](const char* s) {
        auto p = planners::make_plan(s, *env->cm, {});
        EXPECT_TRUE(p.ok()) << p.error();
        return std::move(p).value();
      };
      plan::Plan pico = plan("pico"), paper = plan("pico-paper"), lw = plan("layerwise"),
                 ofl = plan("ofl");
      const cost::CostModel& cm = *env->cm;
      double paper_pp = planners::pico_estimate(cm, paper).period_s;
      double lw_pp = planners::pico_estimate(cm, lw).period_s;
      EXPECT_LE(paper_pp, lw_pp * (1 + 1e-6)) << m << " on " << c.name << " (PICO's model)";
      double p = planners::estimate(cm, pico).period_s;
      double l = planners::estimate(cm, lw).period_s, o = planners::estimate(cm, ofl).period_s;
      EXPECT_LE(p, l * (1 + 1e-6)) << m << " on " << c.name << " (flow model)";
      EXPECT_LE(p, o * (1 + 1e-6)) << m << " on " << c.name << " (flow model)";
      std::printf("%-14s %-14s period (flow): pico %.4f layerwise %.4f ofl %.4f\n", c.name.c_str(),
                  m.c_str(), p, l, o);
    }
  }
}

// pico-interleaved: each pipeline is pico's with boundaries moved by at most
// one block, on the same devices; the busiest device's mean load per frame,
// recomputed here from band_seconds, is below pico's busiest stage.
TEST(Planners, InterleavedPipelinesBalancePicosStages) {
  const cluster::ClusterSpec c = make_cluster("homo-4", std::vector<double>(4, 0.25));
  std::vector<std::string> interleaved;
  for (const std::string& m : zoo_names()) {
    auto env = make_env(m, c, true);
    const cost::CostModel& cm = *env->cm;
    auto pico = planners::make_plan("pico", cm, {});
    auto x = planners::make_plan("pico-interleaved", cm, {});
    ASSERT_TRUE(pico.ok() && x.ok()) << m;
    EXPECT_TRUE(plan::validate(*x, *env->g, env->blocks, c).empty()) << m;
    auto spans = plan::pipeline_spans(*x);
    ASSERT_TRUE(spans.ok()) << spans.error();
    if (spans->size() == 1) continue;
    interleaved.push_back(m);
    // A pico plan with a split stage is interleaved as the chain of its
    // devices, and only if that lowers the flow model's period by > 0.5%.
    const bool split = std::any_of(pico->stages.begin(), pico->stages.end(),
                                   [](const plan::Stage& st) { return st.parts.size() > 1; });
    const plan::Plan base = split ? planners::single_device_chain(cm, *pico) : *pico;
    ASSERT_FALSE(base.stages.empty()) << m;
    if (split)
      EXPECT_LT(planners::estimate(cm, *x).period_s,
                planners::estimate(cm, *pico).period_s * (1 - 0.005))
          << m;
    const size_t S = base.stages.size();
    std::map<std::string, double> mean;  // device -> mean seconds per frame
    double pico_max = 0;
    auto load = [&](const plan::Stage& st) {
      auto geo = graph::band_geometry(*env->g, env->blocks, st.first_block, st.last_block,
                                      st.parts[0].rows);
      EXPECT_TRUE(geo.ok());
      return cm.band_seconds(cm.cluster().find(st.parts[0].device), *geo);
    };
    for (const plan::Stage& st : base.stages) pico_max = std::max(pico_max, load(st));
    for (Rows sp : *spans) {
      ASSERT_EQ(size_t(sp.size()), S) << m;
      for (size_t i = 0; i < S; ++i) {
        const plan::Stage& st = x->stages[size_t(sp.lo) + i];
        const plan::Stage& b = base.stages[i];
        EXPECT_EQ(st.parts.size(), 1u);
        EXPECT_EQ(st.parts[0].device, b.parts[0].device) << m;
        EXPECT_LE(std::abs(st.first_block - b.first_block), 2) << m;  // kMaxShift
        EXPECT_LE(std::abs(st.last_block - b.last_block), 2) << m;
        mean[st.parts[0].device] += load(st) / double(spans->size());
      }
    }
    double x_max = 0;
    for (const auto& [d, v] : mean) x_max = std::max(x_max, v);
    EXPECT_LT(x_max, pico_max * (1 - 0.005)) << m;
    std::printf("%-14s %s busiest %.2f ms, interleaved (%zu pipelines) busiest mean %.2f ms\n",
                m.c_str(), split ? "chain of pico's devices" : "pico", pico_max * 1e3,
                spans->size(), x_max * 1e3);
    // A latency bound is kept by every pipeline, or pico's plan comes back.
    planners::Options o;
    o.latency_bound_s = planners::estimate(cm, *pico).latency_s * 1.0001;
    auto bounded = planners::make_plan("pico-interleaved", cm, o);
    ASSERT_TRUE(bounded.ok()) << bounded.error();
    auto bspans = plan::pipeline_spans(*bounded);
    ASSERT_TRUE(bspans.ok());
    for (Rows sp : *bspans) {
      plan::Plan one;
      one.stages.assign(bounded->stages.begin() + sp.lo, bounded->stages.begin() + sp.hi);
      for (plan::Stage& st : one.stages) st.pipeline = 0;
      EXPECT_LE(planners::estimate(cm, one).latency_s, o.latency_bound_s) << m;
    }
  }
  // resnet34's 4-stage pipeline is 6-7% out of balance at block boundaries.
  EXPECT_NE(std::find(interleaved.begin(), interleaved.end(), "resnet34"), interleaved.end());
  // vgg16's pico plan splits its first stage; the interleaved chain beats it.
  EXPECT_NE(std::find(interleaved.begin(), interleaved.end(), "vgg16"), interleaved.end());
}

TEST(Planners, ApicoPicksThePipelineAtHighRateAndAoflAtLowRate) {
  auto clusters = example_clusters();
  cluster::ClusterSpec c = make_cluster(
      "pico-like", {0.038, 0.038, 0.025, 0.025, 0.019, 0.019, 0.019, 0.019}, 50e6, true);
  for (const cluster::ClusterSpec& e : clusters)
    if (e.name == "pico-8rpi") c = e;
  bool found = false;
  for (const char* m : {"vgg16", "resnet34", "googlenet", "yolov2"}) {
    auto env = make_env(m, c);
    auto pipe = planners::make_plan("pico", *env->cm, {});
    auto one = planners::make_plan("aofl", *env->cm, {});
    ASSERT_TRUE(pipe.ok() && one.ok());
    planners::Estimate e1 = planners::estimate(*env->cm, *pipe);
    double p1 = e1.period_s, t1 = e1.latency_s, t2 = planners::estimate(*env->cm, *one).latency_s;
    std::printf("%s: pico period %.3f latency %.3f; aofl %.3f\n", m, p1, t1, t2);
    // The schemes differ when the pipeline is faster per frame but slower
    // end to end: R(lambda -> 0) = p + t, R -> inf as p lambda -> 1.
    if (!(p1 < t2 && 2 * t2 < p1 + t1)) continue;
    found = true;
    planners::Options lo, hi;
    lo.rate = 1e-3 / t2;
    hi.rate = 0.5 * (1 / p1 + 1 / t2);
    auto a = planners::make_plan("apico", *env->cm, lo);
    auto b = planners::make_plan("apico", *env->cm, hi);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->strategy.rfind("apico: one-stage (aofl)", 0), 0u) << a->strategy;
    EXPECT_EQ(b->strategy.rfind("apico: pipeline (pico)", 0), 0u) << b->strategy;
    EXPECT_EQ(a->stages, one->stages);
    EXPECT_EQ(b->stages, pipe->stages);
    std::printf("  low rate: %s\n  high rate: %s\n", a->strategy.c_str(), b->strategy.c_str());
  }
  EXPECT_TRUE(found) << "no model where pico and aofl differ";
  auto env = make_env("alexnet", c);
  auto bad = planners::make_plan("apico", *env->cm, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("rate"), std::string::npos) << bad.error();
}

TEST(Planners, Md1ResponseTime) {
  EXPECT_DOUBLE_EQ(planners::md1_response_s(1, 3, 0), 1 + 3);
  EXPECT_DOUBLE_EQ(planners::md1_response_s(1, 3, 0.5), 1 * 1.5 / 1.0 + 3);
  EXPECT_EQ(planners::md1_response_s(1, 3, 1), planners::kInf);
}

// The improvements over the paper never lose (the paper's pipeline is one of
// pico's candidates) and usually gain; prints the gains.
TEST(Planners, PicoImprovesOnThePaperAlgorithms) {
  auto clusters = example_clusters();
  for (const cluster::ClusterSpec& c : synthetic_clusters()) clusters.push_back(c);
  double sum = 0;
  int n = 0;
  for (const cluster::ClusterSpec& c : clusters) {
    if (c.name.rfind("distredge-D", 0) == 0 && c.name != "distredge-DA-NA" &&
        c.name != "distredge-DC-ND")
      continue;  // twelve near-identical four-device groups: two are enough
    for (const char* m : {"vgg16", "resnet34", "googlenet", "yolov2", "mobilenet_v2"}) {
      auto env = make_env(m, c);
      auto full = planners::make_plan("pico", *env->cm, {});
      auto paper = planners::make_plan("pico-paper", *env->cm, {});
      ASSERT_TRUE(full.ok() && paper.ok());
      double pf = planners::estimate(*env->cm, *full).period_s;
      double pp = planners::estimate(*env->cm, *paper).period_s;
      EXPECT_LE(pf, pp * (1 + 1e-9)) << m << " on " << c.name;
      sum += pp / pf;
      ++n;
      std::printf("%-18s %-14s period paper %.4f -> pico %.4f (x%.3f)\n", c.name.c_str(), m, pp, pf,
                  pp / pf);
    }
  }
  std::printf("mean period gain of pico over pico-paper: x%.3f over %d cases\n", sum / n, n);
}

TEST(Planners, PicoPlanningTimeOnEightDevices) {
  cluster::ClusterSpec c = make_cluster("hetero-8", {0.125, 0.2, 0.25, 0.3, 0.5, 0.6, 0.9, 1.0});
  for (const cluster::ClusterSpec& e : example_clusters())
    if (e.name == "pico-8rpi") c = e;
  for (const std::string& m : zoo_names()) {
    auto env = make_env(m, c);
    auto t0 = std::chrono::steady_clock::now();
    auto p = planners::make_plan("pico", *env->cm, {});
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(p.ok()) << p.error();
    std::printf("pico on %s, %-14s: %7.1f ms, %zu stages\n", c.name.c_str(), m.c_str(), s * 1e3,
                p->stages.size());
    EXPECT_LT(s, 5.0) << m;
  }
}

TEST(Planners, SvgDrawsEveryAssignment) {
  auto env = make_env("resnet18", make_cluster("c", {0.25, 0.25, 0.5, 1}));
  for (const char* s : {"pico", "ftp"}) {
    auto p = planners::make_plan(s, *env->cm, {});
    ASSERT_TRUE(p.ok()) << p.error();
    std::string svg = planners::plan_svg(*p, *env->cm);
    EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    size_t parts = 0, titles = 0;
    for (const plan::Stage& st : p->stages) parts += st.parts.size();
    for (size_t k = svg.find("<title>"); k != std::string::npos; k = svg.find("<title>", k + 1))
      ++titles;
    EXPECT_EQ(titles, parts) << s;
  }
}

TEST(Planners, FtpGridIsChecked) {
  auto env = make_env("vgg16", make_cluster("c", {1, 1, 1, 1}));
  planners::Options o;
  o.grid_rows = 3;
  o.grid_cols = 2;
  auto p = planners::make_plan("ftp", *env->cm, o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("one tile per device"), std::string::npos) << p.error();
  o.grid_rows = 2;
  o.grid_cols = 2;
  p = planners::make_plan("ftp", *env->cm, o);
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(p->stages.size(), 2u);
  EXPECT_EQ(p->stages[0].parts.size(), 4u);
  EXPECT_FALSE(p->stages[0].parts[0].all_cols());
}

// AWAS: the auction sells every row, in contiguous bands in the order of the
// devices; a device too slow to help wins nothing; two identical devices
// split evenly (within one strip).
TEST(PlannersEdgeci, AuctionCoversTheOutputAndSkipsUselessDevices) {
  auto c = make_cluster("two-and-a-snail", {0.5, 0.5, 1e-4});
  for (const char* m : {"vgg16", "resnet34", "yolov2_tiny"}) {
    auto env = make_env(m, c);
    planners::Context cx(*env->cm);
    for (int b : {1, 3, cx.partitionable_prefix()}) {
      if (b < 1) continue;
      const int h = cx.out_height(b - 1);
      planners::Draft s = planners::awas_stage(cx, 0, b, {0, 1, 2}, 0);
      int at = 0, rows0 = 0, rows1 = 0;
      for (const planners::Part& p : s.parts) {
        EXPECT_EQ(p.rows.lo, at) << m << " [0," << b << ")";
        EXPECT_GT(p.rows.size(), 0);
        EXPECT_NE(p.device, 2) << m << ": the snail won rows " << p.rows.lo << ".." << p.rows.hi;
        (p.device == 0 ? rows0 : rows1) = p.rows.size();
        at = p.rows.hi;
      }
      EXPECT_EQ(at, h) << m << " [0," << b << ")";
      const int strip = (h + 11) / 12;  // 4 x 3 devices strips
      EXPECT_LE(std::abs(rows0 - rows1), strip) << m << " [0," << b << ")";
    }
  }
}

// DPFL: fusing saves transfers and costs halo compute, so the faster the
// links, the more (shorter) segments edgeci picks; and the full system beats
// MoDNN's per-block split on a heterogeneous cluster.
TEST(PlannersEdgeci, FusesMoreOnSlowLinksAndBeatsModnn) {
  const std::vector<double> speeds{0.125, 0.125, 0.25, 0.25, 0.5, 0.5, 1, 1};
  for (const char* m : {"vgg16", "resnet34", "yolov2"}) {
    size_t prev = 0;
    for (double bps : {10e6, 100e6, 1e9, 10e9}) {
      auto env = make_env(m, make_cluster("h8", speeds, bps));
      auto p = planners::make_plan("edgeci", *env->cm, {});
      ASSERT_TRUE(p.ok()) << p.error();
      EXPECT_GE(p->stages.size(), prev) << m << " at " << bps / 1e6 << " Mbps";
      prev = p->stages.size();
      if (bps == 100e6) {
        auto q = planners::make_plan("modnn", *env->cm, {});
        ASSERT_TRUE(q.ok()) << q.error();
        sim::Options one;
        one.frames = 1;
        double t_edgeci = sim::simulate(*p, *env->cm, one)->latency_mean_ms;
        double t_modnn = sim::simulate(*q, *env->cm, one)->latency_mean_ms;
        EXPECT_LT(t_edgeci, t_modnn) << m;
      }
    }
    EXPECT_GT(prev, 1u) << m << ": no split even at 10 Gbps";
  }
}
