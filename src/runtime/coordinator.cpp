// The coordinator's setup and teardown: Hello, memory check, Deploy (with
// weights on demand), clock offsets, stats and release. Streaming is in
// stream.cpp, the report in run_report.cpp.
#include "runtime/coordinator.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "runtime/session.h"
#include "runtime/sha256.h"
#include "runtime/slowdown.h"

namespace coinfer::runtime {

namespace {

std::string mb(double bytes) { return fmt::format("{:.1f} MB", bytes / 1e6); }

// Waits up to timeout_ms for control messages from any peer and hands each
// to on(peer index, message). Returns early once on() returns false.
Status poll_control(Session& s, int timeout_ms, const std::function<bool(int, net::Message&)>& on) {
  std::vector<zmq_pollitem_t> items;
  for (Peer& p : s.peers) items.push_back({p.ctl->raw().handle(), 0, ZMQ_POLLIN, 0});
  int rc = zmq_poll(items.data(), int(items.size()), timeout_ms);
  if (rc < 0 && zmq_errno() != EINTR) return errorf("poll: {}", zmq_strerror(zmq_errno()));
  for (size_t i = 0; rc > 0 && i < items.size(); ++i) {
    if (!(items[i].revents & ZMQ_POLLIN)) continue;
    for (;;) {
      auto m = s.peers[i].ctl->recv(0);
      if (!m.ok()) {
        s.log(fmt::format("worker '{}': {}", s.peers[i].device, m.error()));
        continue;
      }
      if (!*m) break;
      if (!on(int(i), **m)) return ok_status();
    }
  }
  return ok_status();
}

std::string who(const Peer& p) { return fmt::format("worker '{}' at {}", p.device, p.address); }

// The local address the kernel would use to reach `host` (the UDP connect
// trick: no packet is sent).
std::string local_address_towards(const std::string& host) {
  std::string h = host;
  if (h.size() > 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(h.c_str(), "9", &hints, &res) != 0 || !res) return "127.0.0.1";
  std::string out = "127.0.0.1";
  int fd = socket(res->ai_family, SOCK_DGRAM, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    char buf[INET6_ADDRSTRLEN] = {0};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      if (ss.ss_family == AF_INET &&
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf))
        out = buf;
      else if (ss.ss_family == AF_INET6 &&
               inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf))
        out = std::string("[") + buf + "]";
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  return out;
}

// Binds the results PULL(s) and sets each peer's results endpoint as it
// reaches this process.
Status bind_results(Session& s) {
  std::shared_ptr<net::AuthorizedKeys> keys;  // the plan's workers may send results
  if (!s.security.insecure) {
    ASSIGN_OR_RETURN(keys,
                     net::AuthorizedKeys::create(s.security.authorized, [](const std::string& l) {
                       std::fprintf(stderr, "run: results socket: %s\n", l.c_str());
                     }));
  }
  std::map<std::string, std::string> bound;  // bind endpoint -> resolved endpoint
  for (Peer& p : s.peers) {
    ASSIGN_OR_RETURN(net::Endpoint ep, net::parse_endpoint(p.address));
    std::string bind_at, advertise_host;
    if (ep.kind == net::Endpoint::Kind::Tcp) {
      advertise_host = s.o.advertise_host.empty() ? local_address_towards(ep.host) : s.o.advertise_host;
      bind_at = s.o.advertise_host.empty() ? fmt::format("tcp://{}:*", advertise_host) : "tcp://*:*";
    } else if (ep.kind == net::Endpoint::Kind::Ipc) {
      bind_at = fmt::format("ipc:///tmp/coinfer-results-{}-{}", ::getpid(), s.deployment_id);
    } else {
      bind_at = fmt::format("inproc://coinfer-results-{}", s.deployment_id);
    }
    auto it = bound.find(bind_at);
    if (it == bound.end()) {
      auto sock = net::bind_results(bind_at, net::curve_server(s.security, keys));
      if (!sock.ok()) return errorf("results socket: {}", sock.error());
      it = bound.emplace(bind_at, sock->endpoint()).first;
      s.results.emplace_back(std::move(sock).value());
    }
    p.results_ep = it->second;
    if (ep.kind == net::Endpoint::Kind::Tcp) {  // "tcp://0.0.0.0:PORT" -> the advertised host
      ASSIGN_OR_RETURN(net::Endpoint r, net::parse_endpoint(it->second));
      r.host = advertise_host;
      p.results_ep = r.str();
    }
  }
  return ok_status();
}

Status hello(Session& s) {
  for (Peer& p : s.peers) {
    auto ctl = net::connect_control(p.address, net::curve_client(s.security, p.public_key));
    if (!ctl.ok()) return errorf("{}: {}", who(p), ctl.error());
    p.ctl.emplace(std::move(ctl).value());
    RETURN_IF_ERROR(p.ctl->send(net::Hello{net::kProtocolVersion, 0, "coordinator", 0, 0}));
  }
  std::vector<bool> answered(s.peers.size(), false);
  std::vector<std::string> closed(s.peers.size());  // the last indefinite handshake failure
  size_t left = s.peers.size();
  Status failure;
  const int64_t deadline = steady_now_ns() + int64_t(s.o.hello_timeout_s * 1e9);
  while (left > 0 && failure.ok() && steady_now_ns() < deadline) {
    for (size_t i = 0; i < s.peers.size() && failure.ok(); ++i) {
      // A definite failure is final: the worker does not accept this
      // coordinator, or the security modes differ.
      for (const net::HandshakeFailure& f : s.peers[i].ctl->handshake_failures()) {
        if (answered[i]) break;
        if (f.definite) failure = errorf("{}: cannot connect: {}", who(s.peers[i]), f.text);
        if (f.definite) break;
        closed[i] = f.text;
      }
    }
    if (!failure.ok()) break;
    RETURN_IF_ERROR(poll_control(s, 50, [&](int i, net::Message& m) {
      Peer& p = s.peers[size_t(i)];
      if (auto* h = std::get_if<net::HelloReply>(&m)) {
        if (answered[size_t(i)]) return true;
        if (!h->accepted || h->protocol_version != net::kProtocolVersion) {
          failure = errorf("{}: refused the connection: protocol {} ({})", who(p),
                           h->protocol_version, h->reason.empty() ? "no reason given" : h->reason);
          return false;
        }
        p.hello = *h;
        answered[size_t(i)] = true;
        --left;
      } else if (auto* e = std::get_if<net::Error>(&m)) {
        failure = errorf("{}: {}", who(p), e->message);
        return false;
      }
      return true;
    }));
  }
  RETURN_IF_ERROR(failure);
  for (size_t i = 0; i < s.peers.size(); ++i) {
    if (!answered[i] && !closed[i].empty())
      return errorf("{}: cannot connect within {:g} s: {}", who(s.peers[i]), s.o.hello_timeout_s,
                    closed[i]);
    if (!answered[i])
      return errorf("{}: no answer within {:g} s{} (is it running, {}?)", who(s.peers[i]),
                    s.o.hello_timeout_s,
                    left > 1 ? fmt::format(" ({} workers did not answer)", left) : "",
                    s.security.insecure ? "also with --insecure"
                                        : "with this coordinator's public key authorised");
    s.peers[i].ctl->stop_monitor();  // connected: nobody drains it from now on
  }
  return ok_status();
}

Status check_memory(Session& s) {
  for (Peer& p : s.peers) {
    const plan::MemoryUse need = plan::device_memory_use(s.g, s.blocks, s.plan, p.device);
    double have = double(p.hello.free_memory);
    if (have <= 0) continue;  // the worker could not tell
    if (have < need.total())
      return errorf(
          "{}: needs {} for its parts (weights {} + buffers {}) but has {} available: short by {}",
          who(p), mb(need.total()), mb(need.weights), mb(need.buffers), mb(have),
          mb(need.total() - have));
  }
  return ok_status();
}

Status serve_weights(Session& s, Peer& p, const std::string& hash) {
  if (s.model_hash.empty() || hash != s.model_hash) {
    return p.ctl->send(net::Error{uint32_t(net::ErrorCode::BadMessage), 0,
                                  fmt::format("no weights with hash '{}'", hash.substr(0, 80))});
  }
  if (s.model_bytes.empty()) {
    std::ifstream f(s.o.model_spec, std::ios::binary);
    s.model_bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (sha256_hex(s.model_bytes.data(), s.model_bytes.size()) != s.model_hash)
      return errorf("model '{}' changed while running", s.o.model_spec);
  }
  s.log(fmt::format("sending {} of weights to '{}'", mb(double(s.model_bytes.size())), p.device));
  return p.ctl->send(net::Weights{hash, s.model_bytes});
}

Status deploy(Session& s) {
  std::string spec = s.o.model_spec;
  if (spec.rfind("zoo:", 0) != 0) {
    ASSIGN_OR_RETURN(s.model_hash, sha256_file(spec));
    spec = std::filesystem::absolute(spec).string();
  }
  DeploySpec ds;
  ds.plan = s.plan;
  for (const Peer& p : s.peers) ds.endpoints[p.device] = p.band_ep;
  if (!s.security.insecure) {
    for (const Peer& p : s.peers) ds.keys[p.device] = p.public_key;
    ds.results_key = s.security.own.public_key;
  }
  for (Peer& p : s.peers) {
    ds.results = p.results_ep;
    net::Deploy d{s.deployment_id, spec, s.model_hash, to_json(ds), p.device};
    RETURN_IF_ERROR(p.ctl->send(std::move(d)));
  }
  std::vector<bool> ready(s.peers.size(), false);
  size_t left = s.peers.size();
  Status failure;
  const int64_t deadline = steady_now_ns() + int64_t(s.o.deploy_timeout_s * 1e9);
  while (left > 0 && failure.ok() && steady_now_ns() < deadline) {
    RETURN_IF_ERROR(poll_control(s, 100, [&](int i, net::Message& m) {
      Peer& p = s.peers[size_t(i)];
      if (auto* r = std::get_if<net::DeployReply>(&m)) {
        if (r->deployment_id != s.deployment_id || ready[size_t(i)]) return true;
        if (!r->ok) {
          failure = errorf("{}: deploy failed: {}", who(p), r->error);
          return false;
        }
        ready[size_t(i)] = true;
        --left;
      } else if (auto* q = std::get_if<net::WeightsRequest>(&m)) {
        failure = serve_weights(s, p, q->hash);
        return failure.ok();
      } else if (auto* e = std::get_if<net::Error>(&m)) {
        failure = errorf("{}: {}", who(p), e->message);
        return false;
      }
      return true;
    }));
  }
  RETURN_IF_ERROR(failure);
  for (size_t i = 0; i < s.peers.size(); ++i)
    if (!ready[i])
      return errorf("{}: not deployed within {:g} s", who(s.peers[i]), s.o.deploy_timeout_s);
  return ok_status();
}

// Offset of each worker's steady clock from ours, from the Heartbeat round
// trip with the smallest delay (0 on the same host).
void measure_clocks(Session& s) {
  for (Peer& p : s.peers) {
    int64_t best_rtt = INT64_MAX;
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      const int64_t t0 = steady_now_ns();
      if (!p.ctl->send(net::Heartbeat{seq, uint64_t(t0)}).ok()) break;
      for (int tries = 0; tries < 20; ++tries) {
        auto m = p.ctl->recv(100);
        if (!m.ok() || !*m) continue;
        auto* hb = std::get_if<net::Heartbeat>(&**m);
        if (!hb || hb->sequence != seq) continue;
        const int64_t t1 = steady_now_ns();
        if (t1 - t0 < best_rtt) {
          best_rtt = t1 - t0;
          p.clock_offset_ns = int64_t(hb->time_ns) - (t0 + t1) / 2;
        }
        break;
      }
    }
  }
}

void collect_stats(Session& s) {
  const std::string key = stats_key(s.deployment_id);
  for (Peer& p : s.peers) (void)p.ctl->send(net::WeightsRequest{key});
  size_t left = s.peers.size();
  const int64_t deadline = steady_now_ns() + int64_t(std::max(5.0, s.o.hello_timeout_s) * 1e9);
  while (left > 0 && steady_now_ns() < deadline) {
    (void)poll_control(s, 50, [&](int i, net::Message& m) {
      Peer& p = s.peers[size_t(i)];
      auto* w = std::get_if<net::Weights>(&m);
      if (!w || w->hash != key || p.has_stats) return true;
      auto st = parse_stats(std::string(w->bytes.begin(), w->bytes.end()));
      if (st.ok()) {
        p.stats = std::move(st).value();
        p.has_stats = true;
      } else {
        s.log(fmt::format("worker '{}': {}", p.device, st.error()));
      }
      --left;
      return true;
    });
  }
  for (Peer& p : s.peers)
    if (!p.has_stats) s.log(fmt::format("{}: no stats (utilisation unknown)", who(p)));
}

void release(Session& s) {
  size_t left = 0;
  for (Peer& p : s.peers)
    if (p.ctl && p.ctl->send(net::Deploy{s.deployment_id, "", "", "", p.device}).ok()) ++left;
  const int64_t deadline = steady_now_ns() + 2'000'000'000;
  while (left > 0 && steady_now_ns() < deadline) {
    (void)poll_control(s, 50, [&](int, net::Message& m) {
      auto* r = std::get_if<net::DeployReply>(&m);
      if (r && r->deployment_id == s.deployment_id) --left;
      return true;
    });
  }
}

}  // namespace

void Session::log(const std::string& line) const {
  if (o.verbose) std::fprintf(stderr, "run: %s\n", line.c_str());
}

std::vector<std::string> check_plan(const plan::Plan& p, const graph::Graph& g,
                                    const cluster::ClusterSpec& c) {
  std::vector<graph::Block> blocks = graph::find_blocks(g);
  std::vector<std::string> errs = plan::validate(p, g, blocks, c);
  if (errs.empty()) {
    auto routes = make_routes(p, g, blocks);
    if (!routes.ok()) errs.push_back(routes.error());
  }
  for (const auto& st : p.stages)
    for (const auto& a : st.parts) {
      int d = c.find(a.device);
      if (d >= 0 && c.devices[size_t(d)].address.empty())
        errs.push_back(fmt::format("device '{}': no address in cluster '{}' (the worker's control "
                                   "endpoint, e.g. tcp://10.0.0.2:5555)",
                                   a.device, c.name));
    }
  std::sort(errs.begin(), errs.end());
  errs.erase(std::unique(errs.begin(), errs.end()), errs.end());
  return errs;
}

Status open_session(Session& s) {
  const RunOptions& o = s.o;
  const cluster::ClusterSpec& c = s.cluster;
  s.security.insecure = o.insecure;
  s.security.own = o.key ? *o.key : net::process_keypair();
  s.blocks = graph::find_blocks(s.g);
  ASSIGN_OR_RETURN(s.routes, make_routes(s.plan, s.g, s.blocks));
  std::random_device rd;
  s.deployment_id = (uint64_t(rd()) << 32 ^ uint64_t(rd()) ^ uint64_t(steady_now_ns())) | 1;
  for (const auto& st : s.plan.stages)
    for (const auto& a : st.parts) {
      if (s.peer_of.count(a.device)) continue;
      Peer peer;
      peer.device = a.device;
      peer.address = c.devices[size_t(c.find(a.device))].address;
      ASSIGN_OR_RETURN(peer.band_ep, band_endpoint_for(peer.address));
      if (!o.insecure) {
        peer.public_key = c.devices[size_t(c.find(a.device))].public_key;
        if (peer.public_key.empty())
          return errorf(
              "{}: no public_key in cluster '{}': the coordinator authenticates "
              "workers by it (or run insecure)",
              who(peer), c.name);
        RETURN_IF_ERROR(net::check_key(who(peer) + ": public_key", peer.public_key));
        s.security.authorized.push_back(peer.public_key);
      }
      s.peer_of[a.device] = int(s.peers.size());
      s.peers.push_back(std::move(peer));
    }
  const int64_t t_hello = steady_now_ns();
  RETURN_IF_ERROR(hello(s));
  RETURN_IF_ERROR(check_memory(s));
  RETURN_IF_ERROR(bind_results(s));
  Status st = deploy(s);
  if (!st.ok()) {
    release(s);
    return st;
  }
  s.log(fmt::format("deployed on {} workers in {:.2f} s", s.peers.size(),
                    double(steady_now_ns() - t_hello) * 1e-9));
  measure_clocks(s);
  return ok_status();
}

void close_session(Session& s) {
  collect_stats(s);
  release(s);
}

Tensor synthetic_frame(const Shape& s, uint64_t seed, uint64_t frame) {
  Tensor t(s);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + frame);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : t.data) v = u(rng);
  return t;
}

Result<RunReport> run(const graph::Graph& g, const plan::Plan& p, const cluster::ClusterSpec& c,
                      const RunOptions& o) {
  std::vector<std::string> errs = check_plan(p, g, c);
  if (!errs.empty()) {
    std::string all;
    for (const std::string& e : errs) all += (all.empty() ? "" : "; ") + e;
    return errorf("plan is invalid ({} violation{}): {}", errs.size(), errs.size() == 1 ? "" : "s",
                  all);
  }
  if (!o.input && o.frames < 1) return errorf("frames {}: must be >= 1", o.frames);
  if (o.rate < 0) return errorf("rate {}: must be >= 0", o.rate);
  if (o.in_flight < 0) return errorf("in-flight {}: must be >= 0", o.in_flight);
  if (o.frame_timeout_s <= 0 || o.hello_timeout_s <= 0 || o.deploy_timeout_s <= 0)
    return errorf("timeouts must be > 0");
  Session s(g, p, c, o);
  if (o.insecure) std::fprintf(stderr, "%s\n", net::insecure_warning("coordinator (run)").c_str());
  RunReport r;
  r.insecure = o.insecure;
  const int64_t t_hello = steady_now_ns();
  RETURN_IF_ERROR(open_session(s));
  r.deploy_s = double(steady_now_ns() - t_hello) * 1e-9;
  Status st = stream_frames(s, r);
  close_session(s);
  RETURN_IF_ERROR(st);
  fill_result(s, r);
  for (Peer& peer : s.peers) r.workers.push_back({peer.device, peer.address, peer.stats, peer.has_stats});
  r.results_rejected = s.results_rejected;
  return r;
}

}  // namespace coinfer::runtime
