// coinfer run --model M --cluster C.json --plan P.json
//             (--input X.npy --output Y.npy | --frames N [--rate R] [--in-flight K])
//             [--json] [--trace T.json] [--timeout S] (--key C.key | --insecure)
// Deploys the plan on the cluster's running workers and streams frames
// through it (docs/RUNTIME.md). --json prints the `simulate` keys.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cost/cost_model.h"
#include "model/load.h"
#include "runtime/coordinator.h"

namespace coinfer::cli {

namespace {

struct RunArgs {
  std::string model, cluster, plan, input, output, trace, advertise, key;
  bool insecure = false;
  int frames = 0, in_flight = 0;
  double rate = 0, timeout = 30, hello_timeout = 5, deploy_timeout = 600;
  uint64_t seed = 1;
  bool json = false, verbose = false;
};

Status write_trace(const std::string& path, const runtime::RunReport& rep, const graph::Graph& g,
                   cluster::ClusterSpec c) {
  // The trace writer names processes from a cost model's cluster; profiles
  // play no part in it, so an analytic one will do.
  for (auto& d : c.devices) d.profile.clear();
  std::vector<graph::Block> blocks = graph::find_blocks(g);
  cost::Profile prof = cost::analytic_profile(g, blocks, 100, 20);
  ASSIGN_OR_RETURN(cost::CostModel cm, cost::CostModel::create(g, blocks, c, prof));
  std::ofstream f(path);
  f << sim::to_chrome_trace(rep.result, cm);
  if (!f) return errorf("trace '{}': cannot write", path);
  return ok_status();
}

void run_cmd(const RunArgs& a) {
  const bool one = !a.input.empty();
  if (one == (a.frames > 0))
    check(errorf("give either --input X.npy --output Y.npy or --frames N"));
  if (one && a.output.empty()) check(errorf("--input needs --output Y.npy"));
  if (!one && !a.output.empty()) check(errorf("--output goes with --input (one frame)"));
  graph::Graph g = unwrap(model::load(a.model));
  cluster::ClusterSpec c = unwrap(cluster::load(a.cluster));
  plan::Plan p = unwrap(plan::load(a.plan));
  std::vector<std::string> errs = runtime::check_plan(p, g, c);
  if (!errs.empty()) {
    for (const std::string& e : errs) std::fprintf(stderr, "plan '%s': %s\n", a.plan.c_str(), e.c_str());
    check(errorf("plan '{}' is invalid for model '{}' on cluster '{}': {} violation{}", a.plan,
                 g.name, c.name, errs.size(), errs.size() == 1 ? "" : "s"));
  }
  runtime::RunOptions o;
  o.model_spec = a.model;
  if (a.insecure && !a.key.empty()) check(errorf("run: --insecure cannot go with --key"));
  if (!a.insecure && a.key.empty())
    check(errorf("run: give --key FILE (this coordinator's secret key, coinfer keygen) or "
                 "--insecure to run without authentication"));
  o.insecure = a.insecure;
  if (!a.insecure) o.key = unwrap(net::read_secret_key(a.key));
  if (one) {
    Tensor x = unwrap(read_npy(a.input));
    const Shape& want = g.input_shape();
    if (x.shape.c != want.c || x.shape.h != want.h || x.shape.w != want.w)
      check(errorf("input '{}': shape {} does not match the model's input {}", a.input,
                   x.shape.str(), want.str()));
    x.shape.rank = want.rank;
    o.input = std::move(x);
  }
  o.frames = one ? 1 : a.frames;
  o.rate = a.rate;
  o.in_flight = a.in_flight;
  o.seed = a.seed;
  o.frame_timeout_s = a.timeout;
  o.hello_timeout_s = a.hello_timeout;
  o.deploy_timeout_s = a.deploy_timeout;
  o.trace = !a.trace.empty();
  o.advertise_host = a.advertise;
  o.verbose = a.verbose;
  runtime::RunReport rep = unwrap(runtime::run(g, p, c, o));
  if (one && rep.result.completed == 1) check(write_npy(a.output, rep.outputs[0]));
  if (!a.trace.empty()) check(write_trace(a.trace, rep, g, c));
  if (a.json) {
    nlohmann::json j = nlohmann::json::parse(sim::to_json(rep.result));
    j["mode"] = "measured";
    j["deploy_s"] = rep.deploy_s;
    j["failures"] = rep.failures;
    j["security"] = rep.insecure ? "insecure: no authentication, no encryption" : "curve";
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& w : rep.workers)
      workers.push_back({{"device", w.device},
                         {"address", w.address},
                         {"tasks", w.stats.tasks_run},
                         {"bands_rejected", w.stats.bands_rejected},
                         {"garbage", w.stats.garbage},
                         {"dropped", w.stats.dropped}});
    j["workers"] = workers;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s on %s, plan %s (%s)\n%s", g.name.c_str(), c.name.c_str(), a.plan.c_str(),
                p.strategy.c_str(), runtime::to_table(rep).c_str());
    if (one && rep.result.completed == 1)
      std::printf("wrote %s %s\n", a.output.c_str(), rep.outputs[0].shape.str().c_str());
  }
  if (rep.result.failed > 0)
    check(errorf("{} of {} frames failed; first: {}", rep.result.failed, rep.result.frames,
                 rep.failures.empty() ? "?" : rep.failures.front()));
}

}  // namespace

void register_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a plan on running workers and measure it");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("--model", a->model, "ONNX file or zoo:NAME")->required();
  cmd->add_option("--cluster", a->cluster, "cluster spec (device addresses = worker endpoints)")
      ->required();
  cmd->add_option("--plan", a->plan, "plan file")->required();
  cmd->add_option("--input", a->input, "one input tensor (.npy, NCHW float32)");
  cmd->add_option("--output", a->output, "where to write its output (.npy)");
  cmd->add_option("--frames", a->frames, "synthetic frames to stream")->check(CLI::Range(1, 10000000));
  cmd->add_option("--rate", a->rate, "frames/s (0 = closed loop)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--in-flight", a->in_flight, "closed loop: frames in the system (default stages + 1)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--seed", a->seed, "seed of the synthetic frames");
  cmd->add_option("--timeout", a->timeout, "seconds a frame may take before it fails (default 30)")
      ->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--hello-timeout", a->hello_timeout, "seconds to wait for each worker (default 5)")
      ->check(CLI::Range(0.001, 3600.0));
  cmd->add_option("--deploy-timeout", a->deploy_timeout,
                  "seconds for loading and weight transfer (default 600)")
      ->check(CLI::Range(0.001, 86400.0));
  cmd->add_option("--advertise", a->advertise,
                  "host the workers reach this machine at (default: routed source address)");
  cmd->add_option("--trace", a->trace, "write a Chrome trace (Perfetto) of the run");
  cmd->add_flag("--json", a->json, "print one JSON object");
  cmd->add_option("--key", a->key,
                  "this coordinator's secret key file (workers must have its .pub authorised)");
  cmd->add_flag("--insecure", a->insecure, "no authentication, no encryption (workers too)");
  cmd->add_flag("--verbose", a->verbose, "progress lines on stderr");
  cmd->callback([a] { run_cmd(*a); });
}

}  // namespace coinfer::cli
