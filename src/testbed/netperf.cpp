#include "testbed/netperf.h"

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>

namespace coinfer::testbed {
namespace {

constexpr int kChunkC = 256;      // floats per row: 1 KiB rows
constexpr int kChunkRows = 1024;  // 1 MiB per full Band
constexpr uint64_t kRowBytes = uint64_t(kChunkC) * 4;
constexpr uint64_t kChunkBytes = kRowBytes * kChunkRows;
constexpr uint64_t kMaxTransfer = 4ull << 30;
constexpr uint64_t kPilotBytes = 4ull << 20;
constexpr uint64_t kMaxMeasured = 1ull << 30;
constexpr const char* kPrefixReport = "netperf:report";
constexpr const char* kPrefixSend = "netperf:send:";
constexpr const char* kPrefixRelay = "netperf:relay:";
constexpr const char* kPrefixRelayRtt = "netperf:relay-rtt:";

volatile std::sig_atomic_t g_signalled = 0;
void on_signal(int) {
  g_signalled = 1;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waiting time for a transfer of `bytes`: generous, as if at 1 Mbit/s.
int transfer_timeout_ms(uint64_t bytes) {
  return int(std::min<uint64_t>(10000 + bytes / 125, 600000));
}

bool starts_with(const std::string& s, const char* p) {
  return s.rfind(p, 0) == 0;
}

// "123" or "123:rest" -> 123 (in [1, max]) and rest.
Result<uint64_t> leading_number(const std::string& text, uint64_t max, std::string* rest) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || v < 1 || v > max || (p != end && (rest == nullptr || *p != ':')))
    return errorf("netperf: '{}': expected a number in 1..{}{}", text, max,
                  rest ? " then ':ENDPOINT'" : "");
  if (rest) *rest = std::string(p + 1, end);
  return v;
}

// The Bands of `bytes` payload bytes, rounded up to whole rows, >= 2 Bands.
std::vector<int> chunk_rows(uint64_t bytes) {
  uint64_t rows = std::max<uint64_t>((bytes + kRowBytes - 1) / kRowBytes, 2);
  std::vector<int> out;
  while (rows > 0) {
    int r = int(std::min<uint64_t>(rows, kChunkRows));
    out.push_back(r);
    rows -= uint64_t(r);
  }
  if (out.size() == 1) {  // two halves: the rate needs a first and a last arrival
    int r = out[0];
    out = {r / 2, r - r / 2};
  }
  return out;
}

net::Message band(uint64_t k, int rows) {
  net::Band b;
  b.frame_id = k;
  b.tensor = Tensor(Shape{kChunkC, kChunkRows, 1, 4}, Rows{0, rows});
  return net::Message(std::move(b));
}

// Arrival timing of a burst of Bands.
struct Burst {
  int64_t first_ns = -1, last_ns = -1;
  uint64_t bytes_after_first = 0;
  void add(uint64_t bytes) {
    const int64_t t = now_ns();
    if (first_ns < 0)
      first_ns = t;
    else
      bytes_after_first += bytes;
    last_ns = t;
  }
  Rate rate() const {
    return {bytes_after_first, first_ns < 0 ? 0 : double(last_ns - first_ns) * 1e-9};
  }
};

net::Message heartbeat(uint64_t seq, uint64_t t) {
  return net::Message(net::Heartbeat{seq, t});
}

net::Message error_msg(const std::string& text) {
  return net::Message(net::Error{uint32_t(net::ErrorCode::BadMessage), 0, text});
}

// One request of the responder; returns the reply (if any) after doing the work.
class Responder {
 public:
  Responder(net::Socket& s, std::string name) : sock_(s), name_(std::move(name)) {}

  void handle(const std::string& peer, net::Message msg) {
    if (auto* b = std::get_if<net::Band>(&msg)) {
      burst_.add(uint64_t(b->tensor.data.size()) * 4);
    } else if (auto* h = std::get_if<net::Heartbeat>(&msg)) {
      (void)sock_.send_to(peer, heartbeat(h->sequence, h->time_ns));
    } else if (std::holds_alternative<net::Hello>(msg)) {
      net::HelloReply r;
      r.node_name = "netperf:" + name_;
      r.accepted = true;
      (void)sock_.send_to(peer, net::Message(std::move(r)));
    } else if (auto* w = std::get_if<net::WeightsRequest>(&msg)) {
      (void)sock_.send_to(peer, command(peer, w->hash));
    } else {
      (void)sock_.send_to(peer, error_msg(fmt::format("netperf: unexpected {}",
                                                      net::msg_type_name(net::type_of(msg)))));
    }
  }

 private:
  net::Message command(const std::string& peer, const std::string& cmd) {
    if (cmd == kPrefixReport) {
      Rate r = burst_.rate();
      burst_ = Burst{};
      return heartbeat(r.bytes, uint64_t(r.seconds * 1e9));
    }
    if (starts_with(cmd, kPrefixSend)) {
      auto bytes =
          leading_number(cmd.substr(std::string(kPrefixSend).size()), kMaxTransfer, nullptr);
      if (!bytes.ok()) return error_msg(bytes.error());
      uint64_t k = 0;
      for (int rows : chunk_rows(*bytes)) {
        Status st = sock_.send_to(peer, band(k++, rows));
        if (!st.ok()) return error_msg(st.message());
      }
      return heartbeat(*bytes, 0);
    }
    const bool rtt = starts_with(cmd, kPrefixRelayRtt);
    if (rtt || starts_with(cmd, kPrefixRelay)) {
      std::string to;
      const size_t skip = std::string(rtt ? kPrefixRelayRtt : kPrefixRelay).size();
      auto n = leading_number(cmd.substr(skip), rtt ? 10000 : kMaxTransfer, &to);
      if (!n.ok()) return error_msg(n.error());
      auto c = NetperfClient::connect(to, 5000);
      if (!c.ok()) return error_msg(c.error());
      if (rtt) {
        auto s = c->rtt(int(*n));
        if (!s.ok()) return error_msg(s.error());
        return heartbeat(*n, uint64_t(*s * 1e9));
      }
      auto r = c->upload(*n);
      if (!r.ok()) return error_msg(r.error());
      return heartbeat(r->bytes, uint64_t(r->seconds * 1e9));
    }
    return error_msg(fmt::format("netperf: unknown request '{}'", cmd.substr(0, 64)));
  }

  net::Socket& sock_;
  std::string name_;
  Burst burst_;
};

}  // namespace

Status serve_netperf(const std::string& listen, const std::string& name,
                     const std::atomic<bool>* stop) {
  ASSIGN_OR_RETURN(net::Socket sock,
                   net::Socket::open(zmq::socket_type::router, net::Socket::Mode::Bind, listen,
                                     net::control_options()));
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  Responder r(sock, name);
  while (!g_signalled && !(stop && stop->load())) {
    auto m = sock.recv_routed(100);
    if (!m.ok() || !m->has_value()) continue;  // garbage is counted and dropped
    r.handle((*m)->peer, std::move((*m)->msg));
  }
  return ok_status();
}

Result<NetperfClient> NetperfClient::connect(const std::string& endpoint, int timeout_ms) {
  ASSIGN_OR_RETURN(net::Socket s, net::connect_control(endpoint, std::nullopt));
  NetperfClient c(std::move(s), endpoint);
  net::Hello h;
  h.node_name = "netperf-probe";
  RETURN_IF_ERROR(c.sock_.send(net::Message(std::move(h))));
  ASSIGN_OR_RETURN(net::Message m, c.await(timeout_ms, "Hello"));
  auto* r = std::get_if<net::HelloReply>(&m);
  if (r == nullptr || !starts_with(r->node_name, "netperf:"))
    return errorf("netperf {}: the peer is not a netperf responder (answered {})", endpoint,
                  net::msg_type_name(net::type_of(m)));
  c.peer_ = r->node_name.substr(8);
  return c;
}

Result<net::Message> NetperfClient::await(int timeout_ms, const char* what) {
  ASSIGN_OR_RETURN(auto m, sock_.recv(timeout_ms));
  if (!m) return errorf("netperf {}: no answer to {} within {} ms", endpoint_, what, timeout_ms);
  if (auto* e = std::get_if<net::Error>(&*m))
    return errorf("netperf {}: {} failed: {}", endpoint_, what, e->message);
  return std::move(*m);
}

Result<net::Heartbeat> NetperfClient::request(const std::string& what, int timeout_ms) {
  RETURN_IF_ERROR(sock_.send(net::Message(net::WeightsRequest{what})));
  ASSIGN_OR_RETURN(net::Message m, await(timeout_ms, what.c_str()));
  auto* h = std::get_if<net::Heartbeat>(&m);
  if (h == nullptr)
    return errorf("netperf {}: {}: unexpected {}", endpoint_, what,
                  net::msg_type_name(net::type_of(m)));
  return *h;
}

Result<double> NetperfClient::rtt(int n) {
  std::vector<double> s;
  for (int i = 0; i < std::max(n, 1); ++i) {
    const uint64_t seq = ++seq_;
    const int64_t t0 = now_ns();
    RETURN_IF_ERROR(sock_.send(heartbeat(seq, uint64_t(t0))));
    for (;;) {  // skip stale echoes of earlier, timed-out requests
      ASSIGN_OR_RETURN(net::Message m, await(5000, "Heartbeat"));
      auto* h = std::get_if<net::Heartbeat>(&m);
      if (h && h->sequence == seq) break;
    }
    s.push_back(double(now_ns() - t0) * 1e-9);
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

Result<Rate> NetperfClient::upload(uint64_t bytes) {
  if (bytes < 1 || bytes > kMaxTransfer)
    return errorf("netperf upload: {} bytes: must be in 1..{}", bytes, kMaxTransfer);
  uint64_t k = 0;
  for (int rows : chunk_rows(bytes)) RETURN_IF_ERROR(sock_.send(band(k++, rows)));
  ASSIGN_OR_RETURN(net::Heartbeat h, request(kPrefixReport, transfer_timeout_ms(bytes)));
  return Rate{h.sequence, double(h.time_ns) * 1e-9};
}

Result<Rate> NetperfClient::download(uint64_t bytes) {
  if (bytes < 1 || bytes > kMaxTransfer)
    return errorf("netperf download: {} bytes: must be in 1..{}", bytes, kMaxTransfer);
  RETURN_IF_ERROR(
      sock_.send(net::Message(net::WeightsRequest{kPrefixSend + std::to_string(bytes)})));
  Burst burst;
  for (;;) {
    ASSIGN_OR_RETURN(net::Message m, await(transfer_timeout_ms(bytes), "download"));
    if (auto* b = std::get_if<net::Band>(&m)) {
      burst.add(uint64_t(b->tensor.data.size()) * 4);
    } else if (std::holds_alternative<net::Heartbeat>(m)) {
      return burst.rate();
    }
  }
}

Result<Rate> NetperfClient::measure(bool up, double seconds) {
  auto once = [&](uint64_t bytes) { return up ? upload(bytes) : download(bytes); };
  ASSIGN_OR_RETURN(Rate pilot, once(kPilotBytes));
  if (!(pilot.bps() > 0)) return errorf("netperf {}: the pilot transfer took no time", endpoint_);
  const double want = pilot.bps() / 8 * std::max(seconds, 0.05);
  return once(std::clamp<uint64_t>(uint64_t(want), kPilotBytes, kMaxMeasured));
}

Result<Rate> NetperfClient::relay_upload(const std::string& to, uint64_t bytes) {
  ASSIGN_OR_RETURN(net::Heartbeat h, request(fmt::format("{}{}:{}", kPrefixRelay, bytes, to),
                                             transfer_timeout_ms(bytes) + 10000));
  return Rate{h.sequence, double(h.time_ns) * 1e-9};
}

Result<double> NetperfClient::relay_rtt(const std::string& to, int n) {
  ASSIGN_OR_RETURN(net::Heartbeat h,
                   request(fmt::format("{}{}:{}", kPrefixRelayRtt, std::max(n, 1), to), 60000));
  return double(h.time_ns) * 1e-9;
}

}  // namespace coinfer::testbed
