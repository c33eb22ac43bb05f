#include "net/auth.h"

#include <zmq.h>

#include <map>
#include <mutex>
#include <thread>

#include "net/keys.h"
#include "net/transport.h"

namespace coinfer::net {

namespace {

constexpr uint64_t kLogFirst = 20, kLogEvery = 1000;

struct Registry {
  std::mutex mu;
  std::map<std::string, AuthorizedKeys*> domains;
  uint64_t next_id = 0;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: the handler thread outlives main
  return *r;
}

std::string frame_str(zmq::message_t& m) {
  return std::string(m.data<char>(), m.size());
}

// Answers ZAP requests forever (the context is never destroyed either).
void serve_zap(zmq::socket_t* sock) {
  for (;;) {
    std::vector<zmq::message_t> req;
    try {
      for (;;) {
        zmq::message_t m;
        if (!sock->recv(m)) break;
        bool more = m.more();
        req.push_back(std::move(m));
        if (!more) break;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return;  // context terminated
    }
    if (req.size() < 6) {  // malformed: libzmq never sends this; reply so REP can go on
      sock->send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
      sock->send(zmq::str_buffer(""), zmq::send_flags::sndmore);
      sock->send(zmq::str_buffer("500"), zmq::send_flags::sndmore);
      sock->send(zmq::str_buffer("malformed request"), zmq::send_flags::sndmore);
      sock->send(zmq::str_buffer(""), zmq::send_flags::sndmore);
      sock->send(zmq::str_buffer(""), zmq::send_flags::none);
      continue;
    }
    // version, request id, domain, address, routing id, mechanism, credentials...
    const std::string domain = frame_str(req[2]), address = frame_str(req[3]);
    const std::string mechanism = frame_str(req[5]);
    std::string key;
    if (mechanism == "CURVE" && req.size() >= 7 && req[6].size() == 32) {
      char z85[41];
      zmq_z85_encode(z85, req[6].data<uint8_t>(), 32);
      key = z85;
    }
    bool ok = false;
    {
      Registry& r = registry();
      std::lock_guard<std::mutex> lock(r.mu);
      auto it = r.domains.find(domain);
      ok = it != r.domains.end() && it->second->admit(address, mechanism, key);
    }
    sock->send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    sock->send(req[1], zmq::send_flags::sndmore);
    sock->send(ok ? zmq::str_buffer("200") : zmq::str_buffer("400"), zmq::send_flags::sndmore);
    sock->send(ok ? zmq::str_buffer("OK") : zmq::str_buffer("key not authorised"),
               zmq::send_flags::sndmore);
    sock->send(zmq::buffer(key), zmq::send_flags::sndmore);  // user id: the client's key
    sock->send(zmq::str_buffer(""), zmq::send_flags::none);
  }
}

// Binds the handler's socket in the calling thread (so that it exists before
// any CURVE server socket), then serves it on a detached thread.
Status start_handler() {
  static const Status started = [] {
    try {
      auto* sock = new zmq::socket_t(context(), zmq::socket_type::rep);
      sock->set(zmq::sockopt::linger, 0);
      sock->bind("inproc://zeromq.zap.01");
      std::thread(serve_zap, sock).detach();
      return ok_status();
    } catch (const zmq::error_t& e) {
      return errorf("ZAP handler: bind inproc://zeromq.zap.01: {}", e.what());
    }
  }();
  return started;
}

Status check_keys(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) RETURN_IF_ERROR(check_key("authorised key", k));
  return ok_status();
}

}  // namespace

Result<std::shared_ptr<AuthorizedKeys>> AuthorizedKeys::create(const std::vector<std::string>& keys,
                                                               Logger log) {
  RETURN_IF_ERROR(check_keys(keys));
  RETURN_IF_ERROR(start_handler());
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::shared_ptr<AuthorizedKeys> a(
      new AuthorizedKeys(fmt::format("coinfer-{}", r.next_id++), std::move(log)));
  a->keys_.insert(keys.begin(), keys.end());
  r.domains[a->domain_] = a.get();
  return a;
}

AuthorizedKeys::~AuthorizedKeys() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.domains.erase(domain_);
}

Status AuthorizedKeys::set(const std::vector<std::string>& keys) {
  RETURN_IF_ERROR(check_keys(keys));
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  keys_ = std::set<std::string>(keys.begin(), keys.end());
  return ok_status();
}

bool AuthorizedKeys::admit(const std::string& address, const std::string& mechanism,
                           const std::string& key) {
  if (mechanism == "CURVE" && keys_.count(key)) return true;
  const uint64_t n = ++refused_;
  if (log_ && (n <= kLogFirst || n % kLogEvery == 0))
    log_(fmt::format("refused a client from {}: {}{}", address.empty() ? "?" : address,
                     mechanism == "CURVE" ? "CURVE key " + key + " is not authorised"
                                          : "mechanism " + mechanism + " is not allowed",
                     n == kLogFirst ? " (further lines rate-limited)" : ""));
  return false;
}

}  // namespace coinfer::net
