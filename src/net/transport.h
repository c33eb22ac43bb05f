// Thin ZeroMQ wrappers: one process-wide context, endpoint validation, and a
// Socket that sends and receives wire Messages (net/wire.h) with timeouts.
//
// Socket patterns of the runtime:
//   worker       ROUTER  bind    control from the coordinator   bind_worker_control
//   worker       PULL    bind    bands from the previous stage  bind_band_input
//   worker       PUSH    connect to each next-stage worker's PULL, and the
//                                last stage to the coordinator's results PULL
//                                                              connect_band_output
//   coordinator  DEALER  connect one per worker, to its ROUTER connect_control
//   coordinator  PULL    bind    Result bands from last stage   bind_results
// Control sockets carry Hello/Deploy/Weights/...; a ROUTER names its peer by
// routing id (recv_routed / send_to), a DEALER talks to its single ROUTER.
//
// Never hangs: recv takes a timeout (>= 0 ms), send gives up after
// SocketOptions::send_timeout_ms (a PUSH with no connected peer, a full queue,
// or an unknown ROUTER peer) and counts the message as dropped. A message that
// fails to decode is counted as garbage and returned as an error; the socket
// stays usable and the next message arrives normally.
//
// Delivery: ZeroMQ keeps a closed socket's queued messages for linger_ms while
// the process lives, but does not flush them at exit. A process that must know
// its last message arrived waits for an application-level reply.
//
// Security (docs/SECURITY.md): SocketOptions::curve makes a socket a CURVE
// server (its AuthorizedKeys say which client keys may connect) or a CURVE
// client (it must know the server's public key); without it the socket uses
// ZeroMQ's NULL mechanism (--insecure). A handshake that fails (a refused key,
// a wrong server key, one side insecure) never delivers a message: the
// client's sends wait and its receives time out. With monitor_handshakes the
// socket records why (handshake_failures()).
//
// A Socket, like a zmq socket, is used by one thread at a time.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "net/auth.h"
#include "net/keys.h"
#include "net/wire.h"

namespace coinfer::net {

// The process-wide ZeroMQ context (inproc:// endpoints need one shared
// context). Created on first use and never destroyed, so exit never blocks on
// sockets that are still open.
zmq::context_t& context();

struct Endpoint {
  enum class Kind { Tcp, Ipc, Inproc };
  Kind kind = Kind::Tcp;
  std::string host;  // tcp: DNS name, IPv4, [IPv6], interface, or "*" (bind only)
  int port = 0;      // tcp: 1..65535; 0 stands for "*": any free port (bind only)
  std::string path;  // ipc: socket path (<= 107 bytes); inproc: name
  std::string str() const;  // the ZeroMQ endpoint string
};

// Accepts "tcp://HOST:PORT" (PORT may be "*"), "ipc://PATH", "inproc://NAME";
// anything else is an error naming the text and the accepted forms.
Result<Endpoint> parse_endpoint(std::string_view text);

// CURVE settings of one socket: a server when `authorized` is set (it binds,
// or at least accepts), else a client of the server whose public key is
// `server_key`.
struct Curve {
  Keypair own;
  std::string server_key;                      // client only
  std::shared_ptr<AuthorizedKeys> authorized;  // server only
};

struct SocketOptions {
  int linger_ms = 200;                         // ZMQ_LINGER
  int64_t max_msg_bytes = int64_t(kMaxTensorBytes);  // ZMQ_MAXMSGSIZE, per frame
  int send_hwm = 16;                           // ZMQ_SNDHWM, whole messages
  int recv_hwm = 16;                           // ZMQ_RCVHWM, whole messages
  int send_timeout_ms = 10000;                 // ZMQ_SNDTIMEO: then the send is dropped
  bool immediate = false;                      // ZMQ_IMMEDIATE: queue only to connected peers
  std::optional<Curve> curve;                  // empty: NULL mechanism (insecure)
  // Record handshake failures (drain them with handshake_failures(), often:
  // an undrained monitor queue of 1000 events stalls the socket's I/O).
  bool monitor_handshakes = false;
};

struct SocketStats {
  uint64_t sent = 0;      // messages handed to ZeroMQ
  uint64_t received = 0;  // messages decoded
  uint64_t garbage = 0;   // messages received that failed to decode
  uint64_t dropped = 0;   // sends that timed out or had no route
};

// Why a connection's handshake failed. `definite`: the peer refused this
// node's key or the security settings disagree (a retry fails the same way);
// else the connection closed mid-handshake, which one side of a mismatch may
// see first, or a transient fault.
struct HandshakeFailure {
  std::string text;  // "DEALER on tcp://...: security mechanism mismatch: ..."
  bool definite = false;
};

// A message received on a ROUTER and the routing id of its sender.
struct Routed {
  std::string peer;
  Message msg;
};

class Socket {
 public:
  enum class Mode { Bind, Connect };

  // Creates a socket of `type`, applies `opts`, binds or connects.
  static Result<Socket> open(zmq::socket_type type, Mode mode, std::string_view endpoint,
                             const SocketOptions& opts);
  Socket(Socket&&) = default;
  Socket& operator=(Socket&&) = delete;
  ~Socket() { stop_monitor(); }

  // Not for ROUTER (use send_to). Pass the message with std::move to send its
  // payload without a copy.
  Status send(Message msg);
  // ROUTER only: sends to the peer named by a routing id from recv_routed.
  Status send_to(const std::string& peer, Message msg);

  // Waits up to timeout_ms (>= 0) for one message: empty on timeout (or when a
  // signal interrupts the wait), an error if it fails to decode. Not for ROUTER.
  Result<std::optional<Message>> recv(int timeout_ms);
  // ROUTER only.
  Result<std::optional<Routed>> recv_routed(int timeout_ms);

  // The endpoint as bound (tcp port "*" resolved to the real port) or as given
  // to connect.
  const std::string& endpoint() const { return endpoint_; }
  const SocketStats& stats() const { return stats_; }
  zmq::socket_t& raw() { return sock_; }
  bool secure() const { return secure_; }
  // CURVE server: the public key (Z85) of the client that sent the message
  // last received, as its AuthorizedKeys admitted it; else empty.
  const std::string& sender_key() const { return sender_key_; }

  // The handshake failures seen since the last call, oldest first; empty
  // without monitor_handshakes. A server reports protocol failures only
  // (refused keys are logged by its AuthorizedKeys, with the client's address).
  std::vector<HandshakeFailure> handshake_failures();
  // Connects again to the endpoint given to connect (libzmq gives up on a
  // connection whose handshake the peer refused; it retries other failures).
  Status reconnect();
  // Stops recording handshake failures (call it when nobody will drain them
  // any more: libzmq's I/O thread blocks on a full monitor queue). The
  // destructor does it first: events sent to a closed reader would block it
  // for good.
  void stop_monitor();

 private:
  Socket(zmq::socket_t s, zmq::socket_type type) : sock_(std::move(s)), type_(type) {}
  Status apply_security(const SocketOptions& opts);
  Status send_frames(const std::string* peer, Message msg);
  Result<std::optional<Frames>> recv_frames(int timeout_ms);

  zmq::socket_t sock_;
  std::optional<zmq::socket_t> monitor_;        // PAIR reading sock_'s handshake events
  std::shared_ptr<AuthorizedKeys> authorized_;  // keeps the ZAP domain alive
  bool secure_ = false;
  zmq::socket_type type_;
  std::string endpoint_;
  int send_timeout_ms_ = 0;
  std::string sender_key_;
  SocketStats stats_;
};

// Options of the two kinds of sockets: bands (frames up to kMaxTensorBytes) and
// control (frames up to kMaxWeightsBytes, since Weights go over control).
SocketOptions band_options();
SocketOptions control_options();

// `curve` as in SocketOptions (empty: insecure). All but bind_results monitor
// their handshakes.
//   bind_worker_control  ROUTER, bind        bind_band_input  PULL, bind
//   connect_band_output  PUSH, connect, immediate
//   connect_control      DEALER, connect     bind_results     PULL, bind
Result<Socket> bind_worker_control(std::string_view endpoint, std::optional<Curve> curve);
Result<Socket> bind_band_input(std::string_view endpoint, std::optional<Curve> curve);
Result<Socket> connect_band_output(std::string_view endpoint, std::optional<Curve> curve);
Result<Socket> connect_control(std::string_view endpoint, std::optional<Curve> curve);
Result<Socket> bind_results(std::string_view endpoint, std::optional<Curve> curve);

// A CURVE server's settings: `security.own`, accepting `authorized` (null
// when security.insecure).
std::optional<Curve> curve_server(const Security& security,
                                  std::shared_ptr<AuthorizedKeys> authorized);
// A CURVE client's settings towards the server with public key `server_key`
// (null when security.insecure).
std::optional<Curve> curve_client(const Security& security, const std::string& server_key);

}  // namespace coinfer::net
