// coinfer bench MODEL [--threads N] [--runs K] [--backend B] [--json]: single-device latency.
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "graph/blocks.h"
#include "kernels/executor.h"
#include "model/load.h"

namespace coinfer::cli {

namespace {

struct BenchArgs {
  std::string model;
  int threads = 1, runs = 10, warmup = 2;
  std::string backend = kernels::backend_name(kernels::kDefaultBackend);
  bool json = false;
};

void bench(const BenchArgs& a) {
  kernels::Backend be = unwrap(kernels::parse_backend(a.backend));
  graph::Graph g = unwrap(model::load(a.model));
  double flops = 0;
  for (const graph::Node& n : g.nodes) flops += graph::node_cost(g, n, {0, n.out.h}).flops;
  std::string name = g.name;
  Tensor x(g.input_shape());
  uint32_t s = 12345;
  for (float& v : x.data) v = float((s = s * 1664525u + 1013904223u) >> 8) / 16777216.f - 0.5f;
  auto ex = unwrap(kernels::Executor::create(std::move(g), {be, a.threads}));
  for (int i = 0; i < a.warmup; ++i) unwrap(ex->run(x));
  std::vector<double> ms;
  for (int i = 0; i < a.runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    unwrap(ex->run(x));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  Summary sm = summarize(ms);
  double gflops = flops / (sm.median * 1e-3) / 1e9;
  if (a.json) {
    nlohmann::json j = {{"model", name},
                        {"threads", a.threads},
                        {"backend", kernels::backend_name(be)},
                        {"runs", a.runs},
                        {"latency_ms", {{"min", sm.min}, {"median", sm.median}, {"mean", sm.mean}, {"p95", sm.p95}}},
                        {"gflops", gflops},
                        {"model_gflop", flops / 1e9}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s: %s, %d thread(s), %d runs: median %.2f ms (min %.2f, mean %.2f, p95 %.2f), %.1f GFLOP/s\n",
                name.c_str(), kernels::backend_name(be), a.threads, a.runs, sm.median, sm.min, sm.mean, sm.p95, gflops);
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure single-device latency");
  auto a = std::make_shared<BenchArgs>();
  cmd->add_option("model", a->model, "ONNX file or zoo:NAME")->required();
  cmd->add_option("--threads", a->threads, "threads")->check(CLI::Range(1, 256));
  cmd->add_option("--runs", a->runs, "timed runs")->check(CLI::Range(1, 100000));
  cmd->add_option("--warmup", a->warmup, "untimed runs first")->check(CLI::Range(0, 1000));
  cmd->add_option("--backend", a->backend, "xnnpack | onednn | reference (default: onednn)");
  cmd->add_flag("--json", a->json, "print one JSON object");
  cmd->callback([a] { bench(*a); });
}

}  // namespace coinfer::cli
