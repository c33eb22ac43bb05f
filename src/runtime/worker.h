// The worker daemon (`coinfer worker --listen tcp://HOST:PORT`): a dumb,
// long-lived executor. It binds
//   control  ROUTER  tcp://HOST:PORT     Hello, Deploy, Heartbeat, stats, Shutdown
//   bands    PULL    tcp://HOST:PORT+1   input bands from the coordinator or peers
// and runs one deployment at a time (a new Deploy replaces the old one; a
// Deploy with an empty plan_json releases it). Protocol: docs/RUNTIME.md.
//
// One thread does everything: it polls both sockets, assembles bands, runs
// one ready task at a time and sends its outputs straight to the next stage's
// workers (ZeroMQ moves the bytes on its own I/O thread meanwhile). While
// DeploymentOptions::max_ready frames are ready it stops reading bands, so the
// senders' high-water marks fill and they wait: that is the backpressure.
//
// Nothing received is trusted: a message that fails to decode, a band for an
// unknown deployment/stage/part, with rows other than the ones expected or a
// wrong shape, is dropped, counted and logged (one line, rate-limited); a bad
// control request gets an Error or a failed DeployReply. The worker never
// exits on bad input.
//
// Security (docs/SECURITY.md): both sockets are CURVE servers with the
// worker's keypair. The control socket accepts only the coordinator keys in
// WorkerOptions::security.authorized; the band socket accepts those plus the
// keys of the devices in the current deployment (the DeploySpec's keys: the
// worker trusts what an authorised coordinator distributes). Its output
// sockets authenticate the next-stage workers and the coordinator by the same
// keys. A refused client is counted and logged (one line: its address and
// why). security.insecure turns all of this off, with a warning on stderr.
//
//   ASSIGN_OR_RETURN(auto w, Worker::create({.listen = "tcp://127.0.0.1:5555"}));
//   std::thread t([&] { w->run(); });  ...  w->stop();  t.join();
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "net/transport.h"
#include "runtime/deployment.h"

namespace coinfer::runtime {

// Models kept in memory between deployments, keyed by spec and hash; may be
// shared by the in-process workers of a LocalCluster. Thread-safe.
class ModelCache {
 public:
  explicit ModelCache(size_t capacity) : capacity_(capacity) {}
  using Loader = std::function<Result<std::shared_ptr<const graph::Graph>>()>;
  // The cached model, or load() it and keep it. Loads are serialised, so
  // workers that ask for the same model at once load it once.
  // At capacity, the oldest model is dropped before a new one loads.
  Result<std::shared_ptr<const graph::Graph>> get_or_load(const std::string& key,
                                                          const Loader& load);
  // Weight bytes of the models kept.
  uint64_t bytes() const;

 private:
  std::mutex load_mu_;  // held while loading
  mutable std::mutex mu_;
  size_t capacity_;
  std::vector<std::pair<std::string, std::shared_ptr<const graph::Graph>>> items_;  // newest last
};

struct WorkerOptions {
  std::string listen;     // control endpoint; bands on band_endpoint_for(listen)
  int threads = 1;        // executor threads
  kernels::Backend backend = kernels::kDefaultBackend;
  double slowdown = 1;    // duty-cycle factor (1 = full speed)
  std::string name;       // default: the listen endpoint
  std::string cache_dir;  // weight cache; default default_cache_dir()
  double fetch_timeout_s = 600;  // waiting for Weights from the coordinator
  bool quiet = false;     // no log lines on stderr
  // Free memory announced in HelloReply: 0 = MemAvailable of /proc/meminfo;
  // else min(this, MemAvailable) (a worker sharing its host offers less).
  uint64_t memory_limit = 0;
  // Keep loaded models in memory for the next deployment (null: keep none).
  std::shared_ptr<ModelCache> models;
  // Own keypair and the coordinators' public keys it accepts (at least one),
  // or insecure.
  net::Security security;
};

// Lifetime counters, readable from any thread (tests).
struct WorkerCounters {
  uint64_t garbage = 0;   // messages that failed to decode
  uint64_t rejected = 0;  // bands or requests refused
  uint64_t tasks = 0;     // tasks run
  uint64_t deploys = 0;   // successful deployments
  uint64_t fetches = 0;   // weights received from a coordinator
  uint64_t refused = 0;   // connections refused: keys not authorised, failed handshakes
};

class Worker {
 public:
  // Binds both sockets (an error if either endpoint is taken).
  static Result<std::unique_ptr<Worker>> create(WorkerOptions opt);
  ~Worker();

  // Serves until stop() or a Shutdown message.
  Status run();
  // Thread-safe and async-signal-safe (sets a lock-free flag; run() notices
  // within 100 ms).
  void stop() { stop_.store(true); }

  const std::string& control_endpoint() const { return control_ep_; }
  const std::string& band_endpoint() const { return band_ep_; }
  const std::string& name() const { return opt_.name; }
  WorkerCounters counters() const;

 private:
  explicit Worker(WorkerOptions opt) : opt_(std::move(opt)) {}
  void handle_control(net::Routed r);
  // Deployment::interrupted: answers Hello, Heartbeat and stats requests at
  // once, keeps any other control message for the main loop and says so.
  bool control_pending();
  void handle_deploy(const std::string& peer, net::Deploy d);
  Result<std::shared_ptr<const graph::Graph>> load_model(const std::string& peer,
                                                         const net::Deploy& d);
  Result<std::shared_ptr<const graph::Graph>> load_uncached(const std::string& peer,
                                                            const net::Deploy& d);
  Result<std::vector<uint8_t>> fetch_weights(const std::string& peer, const std::string& hash);
  void answer_simple(const std::string& peer, net::Message& m, bool busy);
  // arrived_ns > 0: the band's arrival time, known because the worker was
  // waiting for it (ArrivalRecord::waited).
  void handle_band(Result<std::optional<net::Message>> m, int64_t arrived_ns);
  void reply(const std::string& peer, net::Message m);
  void bad(const std::string& what);  // counts and logs (rate-limited)
  // A control message that did not decode: counted (also in the
  // deployment's stats) and logged, wherever the control socket is read.
  void control_garbage(const std::string& error);
  void check_handshakes();            // logs and counts failed handshakes; retries refused outputs
  void log(const std::string& line) const;

  WorkerOptions opt_;
  std::optional<net::Socket> control_, bands_;
  std::shared_ptr<net::AuthorizedKeys> control_keys_, band_keys_;  // null when insecure
  std::string control_ep_, band_ep_;
  std::unique_ptr<Deployment> dep_;
  std::deque<net::Routed> held_;  // control messages that arrived during a send
  std::string deployer_;  // routing id of the coordinator that deployed
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> garbage_{0}, rejected_{0}, tasks_{0}, deploys_{0}, fetches_{0},
      handshakes_failed_{0};
  uint64_t logged_ = 0;
};

// Bytes of MemAvailable in /proc/meminfo (0 if unreadable).
uint64_t available_memory_bytes();

}  // namespace coinfer::runtime
