// An in-process cluster for tests and demos: N Worker objects, each on its
// own thread, listening on tcp://127.0.0.1 at free port pairs (PORT for
// control, PORT+1 for bands). The workers are the real thing, talking real
// ZeroMQ over loopback; only the process boundary is missing.
//
// Secure by default: every worker gets an ephemeral CURVE keypair (its
// public key is in spec()) and accepts the coordinator key of this process
// (net::process_keypair(), what runtime::run uses when RunOptions::key is
// empty), so a coordinator in the same process just works.
//
//   ASSIGN_OR_RETURN(auto lc, LocalCluster::start({.workers = 4}));
//   cluster::ClusterSpec c = lc->spec();     // devices w0..w3 with addresses
//   ... runtime::run(graph, plan, c, opts) ...
//   lc->stop();                              // also done by the destructor
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "cluster/cluster.h"
#include "runtime/worker.h"

namespace coinfer::runtime {

struct LocalClusterOptions {
  int workers = 2;
  int threads = 1;                 // per worker
  kernels::Backend backend = kernels::kDefaultBackend;
  std::vector<double> slowdown;    // per worker (missing entries: 1)
  std::string name_prefix = "w";   // devices w0, w1, ...
  std::string cache_dir;           // weight cache (default: default_cache_dir())
  bool quiet = true;               // worker log lines
  uint64_t memory_limit = 0;       // free memory each worker announces (0 = the host's)
  // Workers share one in-memory model cache holding this many models, so a
  // test that deploys vgg16 several times builds it once (0 = no sharing).
  size_t shared_models = 2;
  bool insecure = false;  // workers without authentication (warn on stderr)
};

class LocalCluster {
 public:
  static Result<std::unique_ptr<LocalCluster>> start(const LocalClusterOptions& o);
  ~LocalCluster();
  void stop();  // stops every worker and joins its thread

  int size() const { return int(workers_.size()); }
  Worker& worker(int i) { return *workers_[size_t(i)]; }
  // Devices named <prefix><i> at their control endpoints with their public
  // keys, 1 thread each, memory = this host's available memory, speed 1 / slowdown.
  cluster::ClusterSpec spec() const;

 private:
  LocalCluster() = default;
  LocalClusterOptions o_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::string> public_keys_;  // per worker (empty when insecure)
  std::vector<std::thread> threads_;
};

// A port P on 127.0.0.1 such that P and P+1 were free a moment ago.
Result<int> free_port_pair();

}  // namespace coinfer::runtime
