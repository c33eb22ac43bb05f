// coinfer demo: the main job. For now: the single-device engine on vgg16,
// whole-frame latency at 1 and 2 threads, and the same frame computed as two
// row bands (what two devices would do) checked bit-identical.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "cli/cli.h"
#include "graph/blocks.h"
#include "kernels/executor.h"
#include "model/load.h"

namespace coinfer::cli {

namespace {

double time_ms(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void demo(const std::string& spec, int runs) {
  std::printf("coinfer demo: %s on this machine\n", spec.c_str());
  graph::Graph g = unwrap(model::load(spec));
  double flops = 0;
  for (const graph::Node& n : g.nodes) flops += graph::node_cost(g, n, {0, n.out.h}).flops;
  Tensor x(g.input_shape());
  uint32_t s = 7;
  for (float& v : x.data) v = float((s = s * 1664525u + 1013904223u) >> 8) / 16777216.f - 0.5f;
  Tensor ref;
  for (int threads : {1, 2}) {
    auto ex = unwrap(kernels::Executor::create(g, {kernels::Backend::Xnnpack, threads}));
    ref = unwrap(ex->run(x));
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) ms.push_back(time_ms([&] { unwrap(ex->run(x)); }));
    Summary sm = summarize(ms);
    std::printf("  %d thread(s): median %.1f ms, %.1f GFLOP/s\n", threads, sm.median,
                flops / sm.median / 1e6);
  }
  // Two "devices": split the partitionable prefix in two row bands, run the
  // tail on one, and compare with the whole-frame output bit for bit.
  auto ex = unwrap(kernels::Executor::create(g, {kernels::Backend::Xnnpack, 1}));
  const auto& blocks = ex->blocks();
  int cut = 0;
  while (cut < int(blocks.size()) && blocks[size_t(cut)].partitionable) ++cut;
  if (cut == 0 || cut == int(blocks.size())) return;
  const Shape& mid = g.nodes[size_t(blocks[size_t(cut - 1)].last)].out;
  Tensor joined(mid);
  for (Rows r : {Rows{0, mid.h / 2}, Rows{mid.h / 2, mid.h}}) {
    auto geo = unwrap(graph::band_geometry(g, blocks, 0, cut, r));
    Tensor band = unwrap(ex->run_band(0, cut, r, x.slice(geo.input)));
    std::memcpy(joined.row(r.lo), band.data.data(), band.data.size() * 4);
    std::printf("  band rows [%d, %d) of '%s' from input rows [%d, %d): %.2f GFLOP\n", r.lo, r.hi,
                g.nodes[size_t(blocks[size_t(cut - 1)].last)].name.c_str(), geo.input.lo,
                geo.input.hi, graph::band_cost(g, geo).flops / 1e9);
  }
  Tensor y = unwrap(ex->run_band(cut, int(blocks.size()), {0, g.output_shape().h}, joined));
  bool same = std::memcmp(y.data.data(), ref.data.data(), y.data.size() * 4) == 0;
  std::printf("  two-band output vs whole-frame output: %s\n",
              same ? "bit-identical" : "DIFFERENT");
  if (!same) check(errorf("demo: banded output differs from the whole-frame run"));
}

}  // namespace

void register_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "The main job on this machine");
  auto model = std::make_shared<std::string>("zoo:vgg16");
  auto runs = std::make_shared<int>(5);
  cmd->add_option("--model", *model, "model (default zoo:vgg16)");
  cmd->add_option("--runs", *runs, "timed runs")->check(CLI::Range(1, 1000));
  cmd->callback([=] { demo(*model, *runs); });
}

}  // namespace coinfer::cli
