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
// A Socket, like a zmq socket, is used by one thread at a time.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
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

struct SocketOptions {
  int linger_ms = 200;                         // ZMQ_LINGER
  int64_t max_msg_bytes = int64_t(kMaxTensorBytes);  // ZMQ_MAXMSGSIZE, per frame
  int send_hwm = 16;                           // ZMQ_SNDHWM, whole messages
  int recv_hwm = 16;                           // ZMQ_RCVHWM, whole messages
  int send_timeout_ms = 10000;                 // ZMQ_SNDTIMEO: then the send is dropped
  bool immediate = false;                      // ZMQ_IMMEDIATE: queue only to connected peers
};

struct SocketStats {
  uint64_t sent = 0;      // messages handed to ZeroMQ
  uint64_t received = 0;  // messages decoded
  uint64_t garbage = 0;   // messages received that failed to decode
  uint64_t dropped = 0;   // sends that timed out or had no route
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

 private:
  Socket(zmq::socket_t s, zmq::socket_type type) : sock_(std::move(s)), type_(type) {}
  Status send_frames(const std::string* peer, Message msg);
  Result<std::optional<Frames>> recv_frames(int timeout_ms);

  zmq::socket_t sock_;
  zmq::socket_type type_;
  std::string endpoint_;
  int send_timeout_ms_ = 0;
  SocketStats stats_;
};

// Options of the two kinds of sockets: bands (frames up to kMaxTensorBytes) and
// control (frames up to kMaxWeightsBytes, since Weights go over control).
SocketOptions band_options();
SocketOptions control_options();

Result<Socket> bind_worker_control(std::string_view endpoint);   // ROUTER, bind
Result<Socket> bind_band_input(std::string_view endpoint);       // PULL, bind
Result<Socket> connect_band_output(std::string_view endpoint);   // PUSH, connect, immediate
Result<Socket> connect_control(std::string_view endpoint);       // DEALER, connect
Result<Socket> bind_results(std::string_view endpoint);          // PULL, bind

}  // namespace coinfer::net
