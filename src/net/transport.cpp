#include "net/transport.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace coinfer::net {

namespace {

// ROUTER identity + header + payload.
constexpr size_t kMaxFrames = 3;

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool ipv6_char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
         c == '.';
}

Status bad_endpoint(std::string_view text, std::string_view why) {
  return errorf("endpoint '{}': {} (expected tcp://HOST:PORT, ipc://PATH or inproc://NAME)", text,
                why);
}

const char* type_name(zmq::socket_type t) {
  switch (t) {
    case zmq::socket_type::router: return "ROUTER";
    case zmq::socket_type::dealer: return "DEALER";
    case zmq::socket_type::push: return "PUSH";
    case zmq::socket_type::pull: return "PULL";
    default: return "socket";
  }
}

std::string describe_handshake_event(uint16_t event, uint32_t value, bool server) {
  switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return fmt::format(
          "the peer refused this node's key (ZAP status {}): it is not authorised "
          "there",
          value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return "security mechanism mismatch: one side runs --insecure, the other CURVE";
      if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return server ? "CURVE handshake failed: the client does not have this node's public key"
                      : "CURVE handshake failed: the server's public key is not the one given";
      return fmt::format("handshake protocol error 0x{:08x}", value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      return fmt::format(
          "connection closed during the handshake ({}): a wrong server public key "
          "or a peer that runs --insecure?",
          std::strerror(int(value)));
  }
  return fmt::format("handshake event 0x{:04x}", event);
}

}  // namespace

zmq::context_t& context() {
  static zmq::context_t* ctx = new zmq::context_t(1);
  return *ctx;
}

std::string Endpoint::str() const {
  switch (kind) {
    case Kind::Tcp: return fmt::format("tcp://{}:{}", host, port == 0 ? "*" : std::to_string(port));
    case Kind::Ipc: return "ipc://" + path;
    case Kind::Inproc: return "inproc://" + path;
  }
  return {};
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint e;
  auto starts = [&](std::string_view p) { return text.substr(0, p.size()) == p; };
  if (starts("ipc://") || starts("inproc://")) {
    bool ipc = starts("ipc://");
    e.kind = ipc ? Endpoint::Kind::Ipc : Endpoint::Kind::Inproc;
    e.path = std::string(text.substr(ipc ? 6 : 9));
    if (e.path.empty()) return bad_endpoint(text, "empty path");
    if (e.path.find('\0') != std::string::npos) return bad_endpoint(text, "NUL in path");
    if (ipc && e.path.size() > 107) return bad_endpoint(text, "ipc path longer than 107 bytes");
    if (!ipc && e.path.size() > 256) return bad_endpoint(text, "inproc name longer than 256 bytes");
    return e;
  }
  if (!starts("tcp://")) return bad_endpoint(text, "unknown transport");
  std::string_view rest = text.substr(6);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return bad_endpoint(text, "missing ':PORT'");
  std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (host.empty()) return bad_endpoint(text, "empty host");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']' ||
        !std::all_of(host.begin() + 1, host.end() - 1, ipv6_char))
      return bad_endpoint(text, "bad IPv6 address (use [ADDR])");
  } else if (host != "*" && !std::all_of(host.begin(), host.end(), host_char)) {
    return bad_endpoint(text, "bad host name");
  }
  if (host.size() > 255) return bad_endpoint(text, "host longer than 255 bytes");
  e.host = std::string(host);
  if (port == "*") {
    e.port = 0;
    return e;
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
    return bad_endpoint(text, fmt::format("port '{}': must be 1..65535 or *", port));
  e.port = p;
  return e;
}

Result<Socket> Socket::open(zmq::socket_type type, Mode mode, std::string_view endpoint,
                            const SocketOptions& opts) {
  ASSIGN_OR_RETURN(Endpoint ep, parse_endpoint(endpoint));
  if (mode == Mode::Connect && ep.kind == Endpoint::Kind::Tcp && (ep.host == "*" || ep.port == 0))
    return errorf("connect {}: wildcard host or port: only a bind may use '*'", endpoint);
  const char* verb = mode == Mode::Bind ? "bind" : "connect";
  try {
    Socket s(zmq::socket_t(context(), type), type);
    s.sock_.set(zmq::sockopt::linger, opts.linger_ms);
    s.sock_.set(zmq::sockopt::maxmsgsize, opts.max_msg_bytes);
    s.sock_.set(zmq::sockopt::sndhwm, opts.send_hwm);
    s.sock_.set(zmq::sockopt::rcvhwm, opts.recv_hwm);
    s.sock_.set(zmq::sockopt::sndtimeo, opts.send_timeout_ms);
    if (opts.immediate) s.sock_.set(zmq::sockopt::immediate, true);
    if (type == zmq::socket_type::router) s.sock_.set(zmq::sockopt::router_mandatory, true);
    s.send_timeout_ms_ = opts.send_timeout_ms;
    RETURN_IF_ERROR(s.apply_security(opts));
    std::string text = ep.str();
    if (mode == Mode::Bind) {
      s.sock_.bind(text);
      s.endpoint_ = s.sock_.get(zmq::sockopt::last_endpoint);
    } else {
      s.sock_.connect(text);
      s.endpoint_ = text;
    }
    return s;
  } catch (const zmq::error_t& e) {
    return errorf("{} {} {}: {}", type_name(type), verb, endpoint, e.what());
  }
}

Status Socket::apply_security(const SocketOptions& opts) {
  const bool server = opts.curve && opts.curve->authorized;
  if (opts.curve) {
    const Curve& c = *opts.curve;
    RETURN_IF_ERROR(check_key("own public key", c.own.public_key));
    RETURN_IF_ERROR(check_key("own secret key", c.own.secret_key));
    if (server) {
      sock_.set(zmq::sockopt::curve_server, true);
      sock_.set(zmq::sockopt::zap_domain, c.authorized->domain());
      authorized_ = c.authorized;
    } else {
      RETURN_IF_ERROR(check_key("server public key", c.server_key));
      sock_.set(zmq::sockopt::curve_serverkey, c.server_key);
      sock_.set(zmq::sockopt::curve_publickey, c.own.public_key);
    }
    sock_.set(zmq::sockopt::curve_secretkey, c.own.secret_key);
    secure_ = true;
  }
  if (opts.monitor_handshakes) {
    static std::atomic<uint64_t> next{0};
    const std::string ep = fmt::format("inproc://coinfer-monitor-{}", next++);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (!server) events |= ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(sock_.handle(), ep.c_str(), events) != 0)
      return errorf("monitor {}: {}", ep, zmq_strerror(zmq_errno()));
    monitor_.emplace(context(), zmq::socket_type::pair);
    monitor_->set(zmq::sockopt::linger, 0);
    monitor_->connect(ep);
  }
  return ok_status();
}

Status Socket::reconnect() {
  try {
    sock_.disconnect(endpoint_);
    sock_.connect(endpoint_);
  } catch (const zmq::error_t& e) {
    return errorf("{} reconnect {}: {}", type_name(type_), endpoint_, e.what());
  }
  return ok_status();
}

void Socket::stop_monitor() {
  if (!monitor_) return;
  if (sock_.handle() != nullptr) zmq_socket_monitor(sock_.handle(), nullptr, 0);
  monitor_.reset();
}

std::vector<HandshakeFailure> Socket::handshake_failures() {
  std::vector<HandshakeFailure> out;
  if (!monitor_) return out;
  try {
    for (;;) {
      zmq::message_t ev, addr;
      if (!monitor_->recv(ev, zmq::recv_flags::dontwait)) break;
      if (ev.more()) (void)monitor_->recv(addr, zmq::recv_flags::dontwait);
      if (ev.size() < 6) continue;
      uint16_t event;
      uint32_t value;
      std::memcpy(&event, ev.data(), 2);  // libzmq writes these in host byte order
      std::memcpy(&value, ev.data<uint8_t>() + 2, 4);
      out.push_back({fmt::format("{} on {}: {}", type_name(type_), endpoint_,
                                 describe_handshake_event(event, value, authorized_ != nullptr)),
                     event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL});
    }
  } catch (const zmq::error_t&) {
  }
  return out;
}

Status Socket::send(Message msg) {
  if (type_ == zmq::socket_type::router)
    return errorf("send on ROUTER {}: use send_to(peer, ...)", endpoint_);
  return send_frames(nullptr, std::move(msg));
}

Status Socket::send_to(const std::string& peer, Message msg) {
  if (type_ != zmq::socket_type::router)
    return errorf("send_to on {} {}: only a ROUTER routes by peer", type_name(type_), endpoint_);
  return send_frames(&peer, std::move(msg));
}

Status Socket::send_frames(const std::string* peer, Message msg) {
  const char* name = msg_type_name(type_of(msg));
  ASSIGN_OR_RETURN(Frames frames, encode(std::move(msg)));
  try {
    if (peer != nullptr) frames.insert(frames.begin(), zmq::message_t(peer->data(), peer->size()));
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      // Only the first frame can time out: ZeroMQ queues a multipart message whole.
      if (!sock_.send(frames[i], flags)) {
        ++stats_.dropped;
        return errorf("send {} on {} {}: dropped after {} ms (no connected peer or its queue is full)",
                      name, type_name(type_), endpoint_, send_timeout_ms_);
      }
    }
  } catch (const zmq::error_t& e) {  // EHOSTUNREACH: unknown ROUTER peer
    ++stats_.dropped;
    return errorf("send {} on {} {}: {}", name, type_name(type_), endpoint_, e.what());
  }
  ++stats_.sent;
  return ok_status();
}

Result<std::optional<Frames>> Socket::recv_frames(int timeout_ms) {
  if (timeout_ms < 0) return errorf("recv on {}: timeout {} ms: must be >= 0", endpoint_, timeout_ms);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  zmq_pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
  Frames frames;
  size_t parts = 0;
  while (parts == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int rc = zmq_poll(&item, 1, std::max<long>(0, long(left.count())));
    if (rc < 0) {
      if (zmq_errno() == EINTR) return std::optional<Frames>();
      return errorf("recv on {}: poll: {}", endpoint_, zmq_strerror(zmq_errno()));
    }
    if (rc == 0) return std::optional<Frames>();
    try {
      // The parts of one message arrive together, so none of these waits.
      for (;;) {
        zmq::message_t m;
        if (!sock_.recv(m, zmq::recv_flags::dontwait)) break;  // none: a spurious POLLIN
        ++parts;
        bool more = m.more();
        if (frames.size() < kMaxFrames) frames.push_back(std::move(m));
        if (!more) break;
      }
    } catch (const zmq::error_t& e) {
      return errorf("recv on {}: {}", endpoint_, e.what());
    }
    if (parts == 0 && std::chrono::steady_clock::now() >= deadline)
      return std::optional<Frames>();
  }
  // The ZAP handler made the client's key its user id (net/auth.cpp).
  const char* uid =
      authorized_ && !frames.empty() ? zmq_msg_gets(frames[0].handle(), "User-Id") : nullptr;
  sender_key_ = uid ? uid : "";
  if (parts > kMaxFrames) {
    ++stats_.garbage;
    return errorf("recv on {}: message of {} frames: at most {}", endpoint_, parts, kMaxFrames);
  }
  return std::optional<Frames>(std::move(frames));
}

Result<std::optional<Message>> Socket::recv(int timeout_ms) {
  if (type_ == zmq::socket_type::router)
    return errorf("recv on ROUTER {}: use recv_routed", endpoint_);
  ASSIGN_OR_RETURN(std::optional<Frames> frames, recv_frames(timeout_ms));
  if (!frames) return std::optional<Message>();
  Result<Message> m = decode(*frames);
  if (!m.ok()) {
    ++stats_.garbage;
    return errorf("recv on {}: {}", endpoint_, m.error());
  }
  ++stats_.received;
  return std::optional<Message>(std::move(m).value());
}

Result<std::optional<Routed>> Socket::recv_routed(int timeout_ms) {
  if (type_ != zmq::socket_type::router)
    return errorf("recv_routed on {} {}: only a ROUTER has peers", type_name(type_), endpoint_);
  ASSIGN_OR_RETURN(std::optional<Frames> frames, recv_frames(timeout_ms));
  if (!frames) return std::optional<Routed>();
  // ROUTER always prepends the sender's routing id, so frames is never empty.
  Routed r;
  r.peer = (*frames)[0].to_string();
  Result<Message> m = decode(std::span<const zmq::message_t>(*frames).subspan(1));
  if (!m.ok()) {
    ++stats_.garbage;
    return errorf("recv on {}: {}", endpoint_, m.error());
  }
  ++stats_.received;
  r.msg = std::move(m).value();
  return std::optional<Routed>(std::move(r));
}

SocketOptions band_options() {
  SocketOptions o;
  o.max_msg_bytes = int64_t(std::max(kMaxTensorBytes, kMaxHeaderFrameBytes));
  o.send_hwm = 8;
  o.recv_hwm = 8;
  return o;
}

SocketOptions control_options() {
  SocketOptions o;
  o.max_msg_bytes = int64_t(std::max(kMaxWeightsBytes, kMaxHeaderFrameBytes));
  o.send_hwm = 64;
  o.recv_hwm = 64;
  return o;
}

namespace {

Result<Socket> open_with(zmq::socket_type type, Socket::Mode mode, std::string_view endpoint,
                         SocketOptions o, std::optional<Curve> curve, bool monitor) {
  o.curve = std::move(curve);
  o.monitor_handshakes = monitor;
  return Socket::open(type, mode, endpoint, o);
}

}  // namespace

Result<Socket> bind_worker_control(std::string_view endpoint, std::optional<Curve> curve) {
  return open_with(zmq::socket_type::router, Socket::Mode::Bind, endpoint, control_options(),
                   std::move(curve), true);
}

Result<Socket> bind_band_input(std::string_view endpoint, std::optional<Curve> curve) {
  return open_with(zmq::socket_type::pull, Socket::Mode::Bind, endpoint, band_options(),
                   std::move(curve), true);
}

Result<Socket> connect_band_output(std::string_view endpoint, std::optional<Curve> curve) {
  SocketOptions o = band_options();
  o.immediate = true;
  return open_with(zmq::socket_type::push, Socket::Mode::Connect, endpoint, o, std::move(curve),
                   true);
}

Result<Socket> connect_control(std::string_view endpoint, std::optional<Curve> curve) {
  return open_with(zmq::socket_type::dealer, Socket::Mode::Connect, endpoint, control_options(),
                   std::move(curve), true);
}

Result<Socket> bind_results(std::string_view endpoint, std::optional<Curve> curve) {
  return open_with(zmq::socket_type::pull, Socket::Mode::Bind, endpoint, band_options(),
                   std::move(curve), false);
}

std::optional<Curve> curve_server(const Security& security,
                                  std::shared_ptr<AuthorizedKeys> authorized) {
  if (security.insecure) return std::nullopt;
  return Curve{security.own, "", std::move(authorized)};
}

std::optional<Curve> curve_client(const Security& security, const std::string& server_key) {
  if (security.insecure) return std::nullopt;
  return Curve{security.own, server_key, nullptr};
}

}  // namespace coinfer::net
