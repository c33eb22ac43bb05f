// coinfer profile device --model M -o dev.json: per-block latency tables on
// this machine (latency is not linear in the rows a device computes).
#include <cstdio>
#include <fstream>

#include "cli/cli.h"
#include "cli/workload.h"
#include "cost/cost_model.h"
#include "graph/blocks.h"
#include "model/load.h"

namespace coinfer::cli {

namespace {

struct ProfileArgs {
  std::string model, output;
  int threads = 1, points = 6, repeats = 5;
};

void profile_device(const ProfileArgs& a) {
  graph::Graph g = unwrap(model::load(a.model));
  auto blocks = graph::find_blocks(g);
  std::fprintf(stderr, "profiling %s: %zu blocks, %d row counts x %d repeats, %d thread(s)\n",
               g.name.c_str(), blocks.size(), a.points, a.repeats, a.threads);
  cost::Profile p = profile_this_machine(g, a.threads, a.points, a.repeats);
  std::ofstream f(a.output);
  if (!f) check(errorf("profile: cannot write '{}'", a.output));
  f << cost::to_json(p) << "\n";
  std::printf("%-4s %-30s %8s %12s %12s %10s %12s\n", "blk", "cut", "rows", "1 row (ms)",
              "all (ms)", "nonlin", "cut (ms)");
  double sum = 0, cuts = 0;
  for (size_t k = 0; k < p.blocks.size(); ++k) {
    const cost::BlockTable& t = p.blocks[k];
    int h = t.rows.back();
    // nonlin: time of one row x rows / time of all rows (1 = linear).
    double nonlin = t.seconds.back() > 0 ? t.seconds.front() / t.rows.front() * h / t.seconds.back() : 0;
    // cut: saved by running this block in one band with the one before it.
    std::printf("%-4zu %-30.30s %8d %12.3f %12.3f %10.2f %12.3f\n", k, blocks[k].name(g).c_str(), h,
                t.seconds.front() * 1e3, t.seconds.back() * 1e3, nonlin, p.cut_seconds[k] * 1e3);
    sum += t.seconds.back();
    cuts += p.cut_seconds[k];
  }
  std::printf(
      "whole model: %.2f ms measured; blocks %.2f ms, less cuts %.2f ms = %.2f ms (%+.1f%%)\n",
      p.whole_seconds * 1e3, sum * 1e3, cuts * 1e3, (sum - cuts) * 1e3,
      100 * (sum - cuts - p.whole_seconds) / p.whole_seconds);
  std::printf("transport: %.3f ms of CPU per MB received or sent; wrote %s\n",
              p.io_seconds_per_byte * 1e9, a.output.c_str());
}

}  // namespace

void register_profile(CLI::App& app) {
  auto* cmd = app.add_subcommand("profile", "Measure device profiles");
  cmd->require_subcommand(1);
  auto* dev = cmd->add_subcommand("device", "Per-block latency vs output rows on this machine");
  auto a = std::make_shared<ProfileArgs>();
  dev->add_option("--model", a->model, "ONNX file or zoo:NAME")->required();
  dev->add_option("-o,--output", a->output, "profile JSON to write")->required();
  dev->add_option("--threads", a->threads, "threads")->check(CLI::Range(1, 256));
  dev->add_option("--points", a->points, "row counts per block")->check(CLI::Range(2, 64));
  dev->add_option("--repeats", a->repeats, "repeats per point (median)")->check(CLI::Range(1, 1000));
  dev->callback([a] { profile_device(*a); });
}

}  // namespace coinfer::cli
