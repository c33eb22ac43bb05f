// Who may connect to a CURVE server socket (ZeroMQ's ZAP, RFC 27).
//
// Every CURVE server socket (a worker's control ROUTER and band PULL, a
// coordinator's results PULL) gets its own ZAP domain with a set of
// authorised client public keys. One handler thread per process, bound at
// inproc://zeromq.zap.01 in net::context() before the first such socket
// exists, answers libzmq's ZAP requests from these sets: a client whose key
// is not in the set is refused (ZAP 400), counted, and logged as one line
// naming its address and key (the first 20 per domain, then every 1000th).
// The set can be replaced at any time; it applies to new connections.
//
//   auto keys = AuthorizedKeys::create({coord_pub}, [](auto& l) { log(l); });
//   opts.curve = Curve{own, "", *keys};  // Socket::open: CURVE server
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::net {

class AuthorizedKeys {
 public:
  using Logger = std::function<void(const std::string&)>;
  // Registers a new domain holding `keys` (Z85; each checked). Starts the
  // process's ZAP handler on first use.
  static Result<std::shared_ptr<AuthorizedKeys>> create(const std::vector<std::string>& keys,
                                                        Logger log);
  ~AuthorizedKeys();  // unregisters the domain
  AuthorizedKeys(const AuthorizedKeys&) = delete;
  AuthorizedKeys& operator=(const AuthorizedKeys&) = delete;

  Status set(const std::vector<std::string>& keys);  // replaces the set (keys checked)
  const std::string& domain() const { return domain_; }
  uint64_t refused() const { return refused_.load(); }

  // Called by the handler with the registry locked: true if `key` may connect.
  bool admit(const std::string& address, const std::string& mechanism, const std::string& key);

 private:
  AuthorizedKeys(std::string domain, Logger log)
      : domain_(std::move(domain)), log_(std::move(log)) {}
  std::string domain_;
  Logger log_;
  std::set<std::string> keys_;  // guarded by the registry's mutex
  std::atomic<uint64_t> refused_{0};
};

}  // namespace coinfer::net
