// coinfer run --model M --cluster C.json --plan P.json
//             (--input X.npy --output Y.npy | --frames N [--rate R] [--in-flight K])
//             [--json] [--trace T.json] [--timeout S] (--key C.key | --insecure)
// coinfer run --adaptive --model M --cluster C.json [--strategy S] [--profile P]
//             (--frames N [--rate R] | --phases N@R,N@R,...) [--dead-after S] ...
// Deploys the plan on the cluster's running workers and streams frames
// through it (docs/RUNTIME.md). --json prints the `simulate` keys.
// --adaptive plans by itself and re-plans live (runtime/adaptive.h).
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cost/cost_model.h"
#include "model/load.h"
#include "runtime/adaptive.h"
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
  // --adaptive
  bool adaptive = false;
  std::string strategy = "apico", profile, phases;
  double dead_after = 1.0, heartbeat = 0.2, min_dwell = 2.0, hysteresis = 0.1, drift = 1.0, link_drop = 4.0;
};

// --key FILE or --insecure, exactly one.
void set_security(const RunArgs& a, runtime::RunOptions& o) {
  if (a.insecure && !a.key.empty()) check(errorf("run: --insecure cannot go with --key"));
  if (!a.insecure && a.key.empty())
    check(errorf("run: give --key FILE (this coordinator's secret key, coinfer keygen) or "
                 "--insecure to run without authentication"));
  o.insecure = a.insecure;
  if (!a.insecure) o.key = unwrap(net::read_secret_key(a.key));
}

// "200@5,400@20" -> {(200, 5), (400, 20)}
std::vector<std::pair<int, double>> parse_phases(const std::string& text) {
  std::vector<std::pair<int, double>> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(at, end - at);
    int n = 0;
    double r = 0;
    char extra = 0;
    if (std::sscanf(item.c_str(), "%d@%lf%c", &n, &r, &extra) != 2 || n < 1 || !(r > 0))
      check(errorf("--phases '{}': item '{}' must be FRAMES@RATE with FRAMES >= 1, RATE > 0", text,
                   item));
    out.push_back({n, r});
    at = end + 1;
  }
  return out;
}

void run_adaptive_cmd(const RunArgs& a) {
  if (!a.plan.empty()) check(errorf("--adaptive makes its own plans: drop --plan"));
  if (!a.input.empty()) check(errorf("--adaptive streams frames: use --frames or --phases"));
  if ((a.frames > 0) == !a.phases.empty())
    check(errorf("--adaptive needs either --frames N [--rate R] or --phases N@R,..."));
  graph::Graph g = unwrap(model::load(a.model));
  cluster::ClusterSpec c = unwrap(cluster::load(a.cluster));
  runtime::AdaptiveOptions o;
  o.run.model_spec = a.model;
  set_security(a, o.run);
  if (a.insecure) std::fprintf(stderr, "%s\n", net::insecure_warning("coordinator (run)").c_str());
  o.run.frames = a.frames;
  o.run.rate = a.rate;
  o.run.in_flight = a.in_flight;
  o.run.seed = a.seed;
  o.run.frame_timeout_s = a.timeout;
  o.run.hello_timeout_s = a.hello_timeout;
  o.run.deploy_timeout_s = a.deploy_timeout;
  o.run.advertise_host = a.advertise;
  o.run.verbose = a.verbose;
  if (!a.phases.empty()) o.phases = parse_phases(a.phases);
  o.strategy = a.strategy;
  std::vector<graph::Block> blocks = graph::find_blocks(g);
  o.profile = a.profile.empty() ? cost::analytic_profile(g, blocks, 100, 20)
                                : unwrap(cost::load_profile(a.profile));
  o.heartbeat_s = a.heartbeat;
  o.dead_after_s = a.dead_after;
  o.min_dwell_s = a.min_dwell;
  o.hysteresis = a.hysteresis;
  o.drift = a.drift;
  o.link_drop = a.link_drop;
  runtime::AdaptiveReport rep = unwrap(runtime::run_adaptive(g, c, o));
  if (a.json) {
    nlohmann::json j = nlohmann::json::parse(sim::to_json(rep.run.result));
    j["mode"] = "measured-adaptive";
    j["security"] = a.insecure ? "insecure: no authentication, no encryption" : "curve";
    j["failures"] = rep.run.failures;
    j["reruns"] = rep.reruns;
    nlohmann::json sw = nlohmann::json::array();
    for (const auto& e : rep.switches)
      sw.push_back({{"at_s", e.at_s}, {"reason", e.reason}, {"plan", e.plan}, {"deploy_s", e.deploy_s}});
    j["switches"] = sw;
    j["done_s"] = rep.done_s;
    j["t0_unix_s"] = rep.t0_unix_s;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s on %s, adaptive (%s)\n%s", g.name.c_str(), c.name.c_str(), a.strategy.c_str(),
                runtime::to_table(rep).c_str());
  }
  if (rep.run.result.failed > 0)
    check(errorf("{} of {} frames failed; first: {}", rep.run.result.failed, rep.run.result.frames,
                 rep.run.failures.empty() ? "?" : rep.run.failures.front()));
}

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
  if (a.adaptive) return run_adaptive_cmd(a);
  if (a.plan.empty()) check(errorf("--plan P.json is required (or --adaptive)"));
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
  set_security(a, o);
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
  cmd->add_option("--plan", a->plan, "plan file (not with --adaptive)");
  cmd->add_option("--input", a->input, "one input tensor (.npy, NCHW float32)");
  cmd->add_option("--output", a->output, "where to write its output (.npy)");
  cmd->add_option("--frames", a->frames, "synthetic frames to stream")->check(CLI::Range(1, 10000000));
  cmd->add_option("--rate", a->rate, "frames/s (0 = closed loop)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--in-flight", a->in_flight, "closed loop: frames in the system (default stages + pipelines: stages + 1 for one pipeline)")
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
  cmd->add_flag("--adaptive", a->adaptive,
                "plan by itself, re-plan live on worker loss / return, load and speed drift");
  cmd->add_option("--strategy", a->strategy, "--adaptive: planner (default apico: mode by load)");
  cmd->add_option("--profile", a->profile, "--adaptive: reference profile (default analytic)");
  cmd->add_option("--phases", a->phases, "--adaptive: arrival phases FRAMES@RATE,... (e.g. 200@5,400@20)");
  cmd->add_option("--dead-after", a->dead_after, "--adaptive: a worker silent this long is lost (s)")
      ->check(CLI::Range(0.01, 3600.0));
  cmd->add_option("--heartbeat", a->heartbeat, "--adaptive: heartbeat period (s)")
      ->check(CLI::Range(0.005, 600.0));
  cmd->add_option("--min-dwell", a->min_dwell, "--adaptive: seconds between load / drift switches")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--hysteresis", a->hysteresis, "--adaptive: the other mode must be this much better")
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--drift", a->drift,
                  "--adaptive: a device speed moving by a factor 1 + this re-plans (default 1)")
      ->check(CLI::Range(0.01, 100.0));
  cmd->add_option("--link-drop", a->link_drop,
                  "--adaptive: a link rate falling this many times re-plans (default 4)")
      ->check(CLI::Range(1.01, 1e6));
  cmd->callback([a] { run_cmd(*a); });
}

}  // namespace coinfer::cli
