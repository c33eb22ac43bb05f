#include "runtime/worker.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "runtime/model_source.h"

namespace coinfer::runtime {

namespace {

constexpr int kIdlePollMs = 100;
constexpr int kControlBurst = 16;  // control messages handled per loop turn
constexpr int kBandBurst = 64;     // bands read per loop turn
constexpr uint64_t kLogFirst = 20, kLogEvery = 1000;  // rate limit of "bad message" lines

std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (s.size() > 300) s = s.substr(0, 297) + "...";
  return s;
}

}  // namespace

uint64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream in(line.substr(13));
    uint64_t kb = 0;
    in >> kb;
    return kb * 1024;
  }
  return 0;
}

Result<std::shared_ptr<const graph::Graph>> ModelCache::get_or_load(const std::string& key,
                                                                    const Loader& load) {
  std::lock_guard<std::mutex> loading(load_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [k, g] : items_)
      if (k == key) return g;
    // The oldest model goes before the new one loads, not after: the peak
    // is one model less.
    if (capacity_ > 0 && items_.size() >= capacity_) items_.erase(items_.begin());
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const graph::Graph> g, load());
  std::lock_guard<std::mutex> lock(mu_);
  if (capacity_ > 0) items_.emplace_back(key, g);
  return g;
}

uint64_t ModelCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t b = 0;
  for (const auto& item : items_) b += uint64_t(item.second->params()) * sizeof(float);
  return b;
}

Result<std::unique_ptr<Worker>> Worker::create(WorkerOptions opt) {
  if (opt.threads < 1 || opt.threads > 256) return errorf("threads {}: must be in [1, 256]", opt.threads);
  if (!(opt.slowdown >= 1) || opt.slowdown > 1000)
    return errorf("slowdown {}: must be in [1, 1000]", opt.slowdown);
  ASSIGN_OR_RETURN(std::string band_ep, band_endpoint_for(opt.listen));
  if (opt.name.empty()) opt.name = opt.listen;
  if (opt.cache_dir.empty()) opt.cache_dir = default_cache_dir();
  if (!opt.security.insecure && opt.security.authorized.empty())
    return errorf(
        "worker {}: no authorised coordinator key: nobody could deploy (give one, or "
        "run insecure)",
        opt.name);
  std::unique_ptr<Worker> w(new Worker(std::move(opt)));
  const net::Security& sec = w->opt_.security;
  if (!sec.insecure) {
    // The ZAP handler calls these from its own thread: they copy what they print.
    auto logger = [name = w->opt_.name, quiet = w->opt_.quiet](const char* socket) {
      return [name, quiet, socket](const std::string& line) {
        if (!quiet) std::fprintf(stderr, "worker %s: %s: %s\n", name.c_str(), socket, line.c_str());
      };
    };
    ASSIGN_OR_RETURN(w->control_keys_,
                     net::AuthorizedKeys::create(sec.authorized, logger("control")));
    ASSIGN_OR_RETURN(w->band_keys_, net::AuthorizedKeys::create(sec.authorized, logger("bands")));
  }
  ASSIGN_OR_RETURN(
      net::Socket control,
      net::bind_worker_control(w->opt_.listen, net::curve_server(sec, w->control_keys_)));
  ASSIGN_OR_RETURN(net::Socket bands,
                   net::bind_band_input(band_ep, net::curve_server(sec, w->band_keys_)));
  w->control_ep_ = control.endpoint();
  w->band_ep_ = bands.endpoint();
  w->control_.emplace(std::move(control));
  w->bands_.emplace(std::move(bands));
  return w;
}

Worker::~Worker() = default;

WorkerCounters Worker::counters() const {
  uint64_t refused = handshakes_failed_.load();
  for (const auto& k : {control_keys_, band_keys_})
    if (k) refused += k->refused();
  return {garbage_.load(), rejected_.load(), tasks_.load(),
          deploys_.load(), fetches_.load(),  refused};
}

void Worker::log(const std::string& line) const {
  if (!opt_.quiet) std::fprintf(stderr, "worker %s: %s\n", opt_.name.c_str(), one_line(line).c_str());
}

void Worker::bad(const std::string& what) {
  ++logged_;
  if (logged_ <= kLogFirst || logged_ % kLogEvery == 0)
    log(fmt::format("dropped: {}{}", what,
                    logged_ == kLogFirst ? " (further lines rate-limited)" : ""));
}

void Worker::check_handshakes() {
  if (dep_)
    for (const std::string& line : dep_->retry_refused_outputs(steady_now_ns())) log(line);
  for (net::Socket* sock : {&*control_, &*bands_}) {
    for (const net::HandshakeFailure& why : sock->handshake_failures()) {
      const uint64_t n = ++handshakes_failed_;
      if (n <= kLogFirst || n % kLogEvery == 0)
        log(fmt::format("refused a client: {} (libzmq does not report its address for this){}",
                        why.text, n == kLogFirst ? " (further lines rate-limited)" : ""));
    }
  }
}

void Worker::reply(const std::string& peer, net::Message m) {
  Status st = control_->send_to(peer, std::move(m));
  if (!st.ok()) log("reply lost: " + st.message());
}

Status Worker::run() {
  set_timer_slack();
  log(fmt::format(
      "control {} bands {} backend {} threads {} slowdown {} security {}", control_ep_, band_ep_,
      kernels::backend_name(opt_.backend), opt_.threads, opt_.slowdown,
      opt_.security.insecure
          ? "NONE (insecure)"
          : fmt::format("CURVE, key {}, {} authorised coordinator key(s)",
                        opt_.security.own.public_key, opt_.security.authorized.size())));
  if (opt_.security.insecure)  // loud even with --quiet
    std::fprintf(stderr, "%s\n", net::insecure_warning("worker " + opt_.name).c_str());
  while (!stop_.load()) {
    while (!held_.empty() && !stop_.load()) {
      net::Routed r = std::move(held_.front());
      held_.pop_front();
      handle_control(std::move(r));
    }
    check_handshakes();
    const bool read_bands = !dep_ || !dep_->input_paused();
    zmq_pollitem_t items[2] = {{control_->raw().handle(), 0, ZMQ_POLLIN, 0},
                               {bands_->raw().handle(), 0, ZMQ_POLLIN, 0}};
    const int timeout = dep_ && dep_->ready() > 0 ? 0 : kIdlePollMs;
    const int64_t before = steady_now_ns();
    int rc = zmq_poll(items, read_bands ? 2 : 1, timeout);
    const int64_t woke = steady_now_ns();
    // Blocked for a while and woken: the first band read arrived just now.
    bool fresh = rc > 0 && read_bands && (items[1].revents & ZMQ_POLLIN) && woke - before > 200'000;
    if (rc < 0 && zmq_errno() != EINTR)
      return errorf("worker {}: poll: {}", opt_.name, zmq_strerror(zmq_errno()));
    if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
      for (int i = 0; i < kControlBurst && !stop_.load(); ++i) {
        auto r = control_->recv_routed(0);
        if (!r.ok()) {
          control_garbage(r.error());
          continue;
        }
        if (!*r) break;
        handle_control(std::move(**r));
      }
    }
    if (rc > 0 && read_bands && (items[1].revents & ZMQ_POLLIN)) {
      for (int i = 0; i < kBandBurst && (!dep_ || !dep_->input_paused()); ++i) {
        auto m = bands_->recv(0);
        if (m.ok() && !*m) break;
        handle_band(std::move(m), fresh ? woke : 0);
        fresh = false;
      }
    }
    if (dep_ && dep_->ready() > 0) {
      auto err = dep_->run_next();
      ++tasks_;
      if (err) {
        log(fmt::format("frame {}: {}", err->frame, err->message));
        if (!deployer_.empty())
          reply(deployer_, net::Error{uint32_t(net::ErrorCode::Execution), err->frame, err->message});
      }
    }
  }
  log("stopped");
  return ok_status();
}

void Worker::control_garbage(const std::string& error) {
  ++garbage_;
  if (dep_) ++dep_->stats().garbage;
  bad("control: " + error);
}

bool Worker::control_pending() {
  if (!held_.empty()) return true;
  for (int i = 0; i < kControlBurst; ++i) {
    auto r = control_->recv_routed(0);
    if (!r.ok()) {
      control_garbage(r.error());
      continue;
    }
    if (!*r) break;
    net::Routed& m = **r;
    if (std::holds_alternative<net::Hello>(m.msg) || std::holds_alternative<net::Heartbeat>(m.msg)) {
      answer_simple(m.peer, m.msg, false);
      continue;
    }
    if (std::holds_alternative<net::WeightsRequest>(m.msg)) {  // stats (or an error): read-only
      handle_control(std::move(m));
      continue;
    }
    held_.push_back(std::move(m));
    return true;
  }
  return false;
}

void Worker::handle_band(Result<std::optional<net::Message>> m, int64_t arrived_ns) {
  if (!m.ok()) {
    ++garbage_;
    if (dep_) ++dep_->stats().garbage;
    bad("bands: " + m.error());
    return;
  }
  net::Message& msg = **m;
  auto* band = std::get_if<net::Band>(&msg);
  if (!band) {
    ++rejected_;
    bad(fmt::format("bands: unexpected {} message", net::msg_type_name(net::type_of(msg))));
    return;
  }
  if (!dep_) {
    ++rejected_;
    bad(fmt::format("band for deployment {}: nothing is deployed", band->deployment_id));
    return;
  }
  Status st = dep_->accept(std::move(*band), arrived_ns > 0 ? arrived_ns : steady_now_ns(),
                           bands_->sender_key(), arrived_ns > 0);
  if (!st.ok()) {
    ++rejected_;
    bad(st.message());
  }
}

void Worker::answer_simple(const std::string& peer, net::Message& m, bool busy) {
  if (auto* h = std::get_if<net::Hello>(&m)) {
    net::HelloReply r;
    r.capabilities = net::kCapWeightCache;
    if (opt_.backend == kernels::Backend::Xnnpack) r.capabilities |= net::kCapXnnpack;
    r.node_name = opt_.name;
    // Kept models count as free: a deployment of another model evicts them.
    r.free_memory = available_memory_bytes();
    if (r.free_memory > 0 && opt_.models) r.free_memory += opt_.models->bytes();
    if (opt_.memory_limit > 0 && (r.free_memory == 0 || opt_.memory_limit < r.free_memory))
      r.free_memory = opt_.memory_limit;
    r.threads = uint16_t(opt_.threads);
    r.accepted = h->protocol_version == net::kProtocolVersion;
    if (!r.accepted)
      r.reason = fmt::format("protocol version {}: this worker speaks {}", h->protocol_version,
                             net::kProtocolVersion);
    reply(peer, std::move(r));
  } else if (auto* hb = std::get_if<net::Heartbeat>(&m)) {
    reply(peer, net::Heartbeat{hb->sequence, uint64_t(steady_now_ns())});
  } else if (auto* e = std::get_if<net::Error>(&m)) {
    ++rejected_;  // never answered: two peers must not bounce errors forever
    bad(fmt::format("control: Error {} from a peer: {}", e->code, e->message));
  } else {
    ++rejected_;
    std::string why = busy ? fmt::format("{}: busy deploying", net::msg_type_name(net::type_of(m)))
                           : fmt::format("unexpected {} on the control socket",
                                         net::msg_type_name(net::type_of(m)));
    bad("control: " + why);
    reply(peer, net::Error{uint32_t(net::ErrorCode::BadMessage), 0, why});
  }
}

void Worker::handle_control(net::Routed r) {
  if (auto* d = std::get_if<net::Deploy>(&r.msg)) {
    handle_deploy(r.peer, std::move(*d));
  } else if (auto* q = std::get_if<net::WeightsRequest>(&r.msg)) {
    if (dep_ && q->hash == stats_key(dep_->id())) {
      dep_->stats().name = opt_.name;
      std::string js = to_json(dep_->stats());
      reply(r.peer, net::Weights{q->hash, std::vector<uint8_t>(js.begin(), js.end())});
    } else {
      ++rejected_;
      std::string why = fmt::format("WeightsRequest '{}': this worker serves only '{}'",
                                    q->hash.substr(0, 80), dep_ ? stats_key(dep_->id()) : "");
      bad("control: " + why);
      reply(r.peer, net::Error{uint32_t(net::ErrorCode::BadMessage), 0, why});
    }
  } else if (std::holds_alternative<net::Shutdown>(r.msg)) {
    log("shutdown requested");
    stop_.store(true);
  } else {
    answer_simple(r.peer, r.msg, false);
  }
}

void Worker::handle_deploy(const std::string& peer, net::Deploy d) {
  auto fail = [&](const std::string& why) {
    ++rejected_;
    log(fmt::format("deploy {} refused: {}", d.deployment_id, why));
    reply(peer, net::DeployReply{d.deployment_id, false, one_line(why)});
  };
  if (d.plan_json.empty()) {  // release
    if (dep_ && dep_->id() == d.deployment_id) {
      dep_.reset();
      deployer_.clear();
      log(fmt::format("deployment {} released", d.deployment_id));
    }
    reply(peer, net::DeployReply{d.deployment_id, true, ""});
    return;
  }
  dep_.reset();  // the old deployment's memory goes first
  deployer_.clear();
  if (d.device_name.empty()) return fail("device_name: empty");
  auto spec = parse_deploy_spec(d.plan_json);
  if (!spec.ok()) return fail(spec.error());
  if (band_keys_) {  // bands from the coordinators and this deployment's devices
    std::vector<std::string> keys = opt_.security.authorized;
    for (const auto& [dev, key] : spec->keys) keys.push_back(key);
    if (Status st = band_keys_->set(keys); !st.ok()) return fail(st.message());
  }
  const int64_t t0 = steady_now_ns();
  auto g = load_model(peer, d);
  if (!g.ok()) return fail(g.error());
  DeploymentOptions o;
  o.threads = opt_.threads;
  o.backend = opt_.backend;
  o.slowdown = opt_.slowdown;
  o.interrupted = [this] { return control_pending(); };
  o.security = opt_.security;
  auto dep = Deployment::create(d.deployment_id, **g, *spec, d.device_name, o);
  if (!dep.ok()) return fail(dep.error());
  dep_ = std::move(dep).value();
  dep_->stats().name = opt_.name;
  deployer_ = peer;
  ++deploys_;
  log(fmt::format("deployment {} as '{}' ready in {:.2f} s: {}", d.deployment_id, d.device_name,
                  double(steady_now_ns() - t0) * 1e-9, dep_->describe()));
  reply(peer, net::DeployReply{d.deployment_id, true, ""});
}

Result<std::shared_ptr<const graph::Graph>> Worker::load_model(const std::string& peer,
                                                               const net::Deploy& d) {
  if (!opt_.models) return load_uncached(peer, d);
  return opt_.models->get_or_load(d.model_spec + "#" + d.model_hash,
                                  [&] { return load_uncached(peer, d); });
}

Result<std::shared_ptr<const graph::Graph>> Worker::load_uncached(const std::string& peer,
                                                                  const net::Deploy& d) {
  ASSIGN_OR_RETURN(auto local, load_local(d.model_spec, d.model_hash, opt_.cache_dir));
  std::shared_ptr<const graph::Graph> g;
  if (local) {
    log(fmt::format("model {} from {}", d.model_spec, local->source));
    g = std::make_shared<const graph::Graph>(std::move(local->graph));
  } else {
    log(fmt::format("model {} ({}) not here: asking the coordinator", d.model_spec,
                    d.model_hash.substr(0, 12)));
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, fetch_weights(peer, d.model_hash));
    ++fetches_;
    std::string warning;
    ASSIGN_OR_RETURN(graph::Graph fetched,
                     load_fetched(d.model_spec, bytes, d.model_hash, opt_.cache_dir, &warning));
    if (!warning.empty()) log(warning);
    g = std::make_shared<const graph::Graph>(std::move(fetched));
  }
  return g;
}

Result<std::vector<uint8_t>> Worker::fetch_weights(const std::string& peer,
                                                   const std::string& hash) {
  reply(peer, net::WeightsRequest{hash});
  const int64_t deadline = steady_now_ns() + int64_t(opt_.fetch_timeout_s * 1e9);
  while (!stop_.load() && steady_now_ns() < deadline) {
    check_handshakes();
    auto r = control_->recv_routed(kIdlePollMs);
    if (!r.ok()) {
      control_garbage(r.error());
      continue;
    }
    if (!*r) continue;
    net::Routed& m = **r;
    if (auto* w = std::get_if<net::Weights>(&m.msg); w && m.peer == peer) {
      Status st = w->hash == hash ? bytes_match(w->bytes, hash)
                                  : errorf("asked for '{}'", hash);
      if (st.ok()) return std::move(w->bytes);
      ++rejected_;  // keep waiting: a good copy may follow
      bad(fmt::format("Weights '{}': {}", w->hash.substr(0, 80), st.message()));
      continue;
    }
    answer_simple(m.peer, m.msg, true);
  }
  return errorf("weights {}: no answer from the coordinator within {:.0f} s", hash.substr(0, 12),
                opt_.fetch_timeout_s);
}

}  // namespace coinfer::runtime
