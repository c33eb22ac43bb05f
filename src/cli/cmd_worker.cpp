// coinfer worker --listen tcp://HOST:PORT (--key W.key --authorized C.pub... | --insecure)
//                [--threads N] [--slowdown K] [--name NAME] [--cache DIR] [--keep-models N]
// A long-lived worker: control on PORT, bands on PORT+1 (docs/RUNTIME.md),
// keeping the last N models loaded between deployments;
// only coordinators whose public key is --authorized may use it
// (docs/SECURITY.md).
// SIGTERM / SIGINT or a Shutdown message stop it cleanly (exit code 0).
#include <csignal>
#include <cstdio>

#include "cli/cli.h"
#include "runtime/worker.h"

namespace coinfer::cli {

namespace {

struct WorkerArgs {
  std::string listen, name, cache, backend, key;
  std::vector<std::string> authorized;
  bool insecure = false;
  int threads = 1;
  int keep_models = 1;
  double slowdown = 1;
  bool quiet = false;
};

runtime::Worker* g_worker = nullptr;

extern "C" void on_signal(int) {
  if (g_worker) g_worker->stop();  // sets a lock-free atomic flag: async-signal-safe
}

void worker(const WorkerArgs& a) {
  runtime::WorkerOptions o;
  o.listen = a.listen;
  o.threads = a.threads;
  if (!a.backend.empty()) o.backend = unwrap(kernels::parse_backend(a.backend));
  o.slowdown = a.slowdown;
  o.name = a.name;
  o.cache_dir = a.cache;
  o.quiet = a.quiet;
  if (a.keep_models > 0) o.models = std::make_shared<runtime::ModelCache>(size_t(a.keep_models));
  o.security.insecure = a.insecure;
  if (a.insecure && (!a.key.empty() || !a.authorized.empty()))
    check(errorf("worker: --insecure cannot go with --key or --authorized"));
  if (!a.insecure) {
    if (a.key.empty() || a.authorized.empty())
      check(
          errorf("worker: give --key FILE and at least one --authorized FILE (coinfer keygen), "
                 "or --insecure to run without authentication"));
    o.security.own = unwrap(net::read_secret_key(a.key));
    for (const std::string& f : a.authorized)
      o.security.authorized.push_back(unwrap(net::read_public_key(f)));
  }
  auto w = unwrap(runtime::Worker::create(o));
  g_worker = w.get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  Status st = w->run();
  g_worker = nullptr;
  check(st);
}

}  // namespace

void register_worker(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "worker", "Run a worker: control on --listen tcp://HOST:PORT, bands on PORT+1");
  auto a = std::make_shared<WorkerArgs>();
  cmd->add_option("--listen", a->listen, "control endpoint tcp://HOST:PORT (bands on PORT+1)")
      ->required();
  cmd->add_option("--threads", a->threads, "executor threads")->check(CLI::Range(1, 256));
  cmd->add_option("--slowdown", a->slowdown,
                  "emulate a device K times slower (duty cycle on thread CPU time)")
      ->check(CLI::Range(1.0, 1000.0));
  cmd->add_option("--name", a->name, "name in logs and stats (default: the listen endpoint)");
  cmd->add_option("--cache", a->cache, "weight cache directory (default ~/.cache/coinfer)");
  cmd->add_option("--backend", a->backend, "kernels: onednn, xnnpack or reference (default: the fastest)");
  cmd->add_option("--keep-models", a->keep_models,
                  "models kept loaded between deployments (default 1; 0: load on every deploy)")
      ->check(CLI::Range(0, 16));
  cmd->add_flag("--quiet", a->quiet, "no log lines on stderr");
  cmd->add_option("--key", a->key, "this worker's secret key file (coinfer keygen; mode 0600)");
  cmd->add_option("--authorized", a->authorized,
                  "public key file of a coordinator allowed to use this worker (repeatable)");
  cmd->add_flag("--insecure", a->insecure,
                "no authentication, no encryption: anyone who reaches the ports may use it");
  cmd->callback([a] { worker(*a); });
}

}  // namespace coinfer::cli
