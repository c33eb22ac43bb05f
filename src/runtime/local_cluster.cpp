#include "runtime/local_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace coinfer::runtime {

namespace {

// Binds a plain TCP socket (never listened on, so the port is reusable at
// once) to 127.0.0.1:port (0 = any); returns the port or -1.
int probe(int port, int* fd_out) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *fd_out = fd;
  return ntohs(a.sin_port);
}

}  // namespace

Result<int> free_port_pair() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd1 = -1, fd2 = -1;
    int p = probe(0, &fd1);
    if (p < 0) continue;
    bool ok = p < 65535 && probe(p + 1, &fd2) == p + 1;
    close(fd1);
    if (fd2 >= 0) close(fd2);
    if (ok) return p;
  }
  return errorf("no free pair of consecutive ports on 127.0.0.1");
}

Result<std::unique_ptr<LocalCluster>> LocalCluster::start(const LocalClusterOptions& o) {
  if (o.workers < 1 || o.workers > 64) return errorf("workers {}: must be in [1, 64]", o.workers);
  std::unique_ptr<LocalCluster> lc(new LocalCluster());
  lc->o_ = o;
  auto models = o.shared_models > 0 ? std::make_shared<ModelCache>(o.shared_models) : nullptr;
  for (int i = 0; i < o.workers; ++i) {
    WorkerOptions w;
    w.threads = o.threads;
    w.backend = o.backend;
    w.slowdown = size_t(i) < o.slowdown.size() ? o.slowdown[size_t(i)] : 1.0;
    w.name = o.name_prefix + std::to_string(i);
    w.cache_dir = o.cache_dir;
    w.quiet = o.quiet;
    w.models = models;
    w.memory_limit = o.memory_limit;
    w.security.insecure = o.insecure;
    if (!o.insecure) {
      ASSIGN_OR_RETURN(w.security.own, net::generate_keypair());
      w.security.authorized = {net::process_keypair().public_key};
    }
    lc->public_keys_.push_back(w.security.own.public_key);
    Result<std::unique_ptr<Worker>> created = errorf("not started");
    for (int attempt = 0; attempt < 20 && !created.ok(); ++attempt) {
      ASSIGN_OR_RETURN(int port, free_port_pair());
      w.listen = "tcp://127.0.0.1:" + std::to_string(port);
      created = Worker::create(w);
    }
    if (!created.ok()) return errorf("local worker {}: {}", w.name, created.error());
    lc->workers_.push_back(std::move(created).value());
  }
  for (auto& w : lc->workers_) {
    Worker* wp = w.get();
    lc->threads_.emplace_back([wp] { (void)wp->run(); });
  }
  return lc;
}

LocalCluster::~LocalCluster() { stop(); }

void LocalCluster::stop() {
  for (auto& w : workers_) w->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

cluster::ClusterSpec LocalCluster::spec() const {
  cluster::ClusterSpec c;
  c.name = "local-" + std::to_string(workers_.size());
  c.description = "in-process workers on loopback";
  const double mem = double(available_memory_bytes());
  for (size_t i = 0; i < workers_.size(); ++i) {
    cluster::Device d;
    d.name = o_.name_prefix + std::to_string(i);
    d.address = workers_[i]->control_endpoint();
    d.public_key = public_keys_[i];
    d.threads = o_.threads;
    d.memory_bytes = mem > 0 ? mem : 8e9;
    d.speed = 1.0 / (i < o_.slowdown.size() ? o_.slowdown[i] : 1.0);
    c.devices.push_back(std::move(d));
  }
  return c;
}

}  // namespace coinfer::runtime
