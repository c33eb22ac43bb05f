// `cluster up`: network, shaping, CPU quotas, processes, effective spec.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/keys.h"
#include "net/transport.h"
#include "testbed/cgroup.h"
#include "testbed/cpu_probe.h"
#include "testbed/exec.h"
#include "testbed/names.h"
#include "testbed/network.h"
#include "testbed/shaping.h"
#include "testbed/testbed.h"

namespace coinfer::testbed {
namespace {

namespace fs = std::filesystem;

constexpr int kEmulatedPort = 5555;
constexpr int kLoopbackBasePort = 25555;
constexpr int kReadyStepMs = 200;

std::string fmt_num(double v) {
  return fmt::format("{:.6g}", v);
}

unsigned ncpu() {
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.string();
}

// Ports PORT, PORT+1 (bands), PORT+2 (netperf) free on ip.
bool port_triple_free(const std::string& ip, int port) {
  for (int k = 0; k <= kNetperfPortOffset; ++k)
    if (!tcp_port_free(ip, port + k)) return false;
  return true;
}

class Builder {
 public:
  Builder(const cluster::ClusterSpec& spec, const UpOptions& o) : spec_(spec), o_(o) {}

  Result<State> run() {
    Status st = build();
    if (st.ok()) return s_;
    if (!saved_) return st;  // failed before creating anything
    Status cleanup = down(s_);
    if (!cleanup.ok())
      return errorf("{} (and cleanup failed: {}; try `coinfer cluster down --all`)", st.message(),
                    cleanup.message());
    return st;
  }

 private:
  void say(const std::string& line) const {
    if (o_.log) o_.log(line);
  }
  Status check_cancel() const {
    if (o_.cancelled && o_.cancelled()) return errorf("cluster up: interrupted");
    return ok_status();
  }
  Status save() {
    saved_ = true;
    return save_state(s_);
  }

  Status build() {
    const int n = int(spec_.devices.size());
    if (n == 0) return errorf("cluster up '{}': the spec has no devices", spec_.name);
    bin_ = o_.bin.empty() ? self_exe() : o_.bin;
    if (bin_.empty() || access(bin_.c_str(), X_OK) != 0)
      return errorf("cluster up: worker binary '{}' is not executable (pass --bin)", bin_);
    s_.cluster = spec_.name;
    s_.path = o_.state_path.empty() ? default_state_path(spec_.name) : o_.state_path;
    s_.dir = s_.path + ".d";
    s_.emulated = o_.emulate;
    if (auto old = load_state(s_.path); old.ok()) {
      for (const ProcessRecord& p : old->processes)
        if (process_alive(p.pid) && process_exe_arg(p.pid) == p.exe)
          return errorf(
              "cluster up: a testbed is already up with state '{}': run `coinfer cluster "
              "down --state {}` first",
              s_.path, s_.path);
    }
    if (o_.emulate) RETURN_IF_ERROR(check_emulation(n));
    std::error_code ec;
    fs::remove_all(s_.dir, ec);  // a stale testbed's logs
    fs::create_directories(s_.dir, ec);
    if (ec) return errorf("cluster up: cannot create '{}': {}", s_.dir, ec.message());
    RETURN_IF_ERROR(save());
    if (o_.emulate) {
      RETURN_IF_ERROR(build_network(n));
      if (o_.cpu_quota)
        setup_cpu(n);
      else
        s_.compute = "slowdown";
    } else {
      s_.compute = "slowdown";
      note("note: --no-emulation: links are plain loopback (bandwidth and latency not emulated)");
    }
    RETURN_IF_ERROR(save());
    RETURN_IF_ERROR(check_cancel());
    RETURN_IF_ERROR(assign_endpoints(n));
    RETURN_IF_ERROR(start_processes(n));
    RETURN_IF_ERROR(wait_ready());
    if (o_.cpu_probe && s_.compute == "cgroup") probe_speeds();
    return write_effective_spec();
  }

  Status check_emulation(int n) {
    if (geteuid() != 0)
      return errorf(
          "cluster up: emulation needs root (namespaces, tc, cgroups); run as root or "
          "pass --no-emulation");
    if (n > kMaxDevices)
      return errorf("cluster up: {} devices: the emulated testbed holds at most {}", n,
                    kMaxDevices);
    for (const char* tool : {"ip", "tc"})
      if (!have_command(tool))
        return errorf("cluster up: `{}` not found (install iproute2) or pass --no-emulation", tool);
    if (link_exists(kBridge))
      return errorf(
          "cluster up: a testbed is already up ({} exists): run `coinfer cluster down` "
          "(or `down --all` after a crash)",
          kBridge);
    return check_subnet_free();
  }

  Status build_network(int n) {
    say(fmt::format("network: bridge {} ({}/24), {} namespaces", kBridge, kCoordinatorIp, n));
    s_.links.push_back(kBridge);
    RETURN_IF_ERROR(create_bridge());
    for (int i = 0; i < n; ++i) {
      s_.netns.push_back(netns_name(i));
      s_.links.push_back(veth_host(i));
      RETURN_IF_ERROR(check_cancel());
      RETURN_IF_ERROR(create_device_net(i));
    }
    if (spec_.shared_medium && spec_.medium_bandwidth_bps > 0) {
      s_.links.push_back(kMediumIfb);
      RETURN_IF_ERROR(run_checked({"ip", "link", "add", kMediumIfb, "type", "ifb"}).status());
      RETURN_IF_ERROR(run_checked({"ip", "link", "set", kMediumIfb, "up"}).status());
    }
    RETURN_IF_ERROR(save());
    Status st = apply_shaping(plan_shaping(spec_), s_.qdiscs);
    for (int i = 0; i < n; ++i)
      say(fmt::format("  {} -> {} at {}, {} Mbit/s", spec_.devices[size_t(i)].name, netns_name(i),
                      device_ip(i), access_rate_bps(spec_, i) / 1e6));
    if (spec_.shared_medium && spec_.medium_bandwidth_bps > 0)
      say(fmt::format("  shared medium: {} Mbit/s through {}", spec_.medium_bandwidth_bps / 1e6,
                      kMediumIfb));
    if (std::string note = latency_note(spec_); !note.empty()) {
      s_.notes.push_back(note);
      say(note);
    }
    return st;
  }

  // CPU quotas; on failure the workers' duty cycle instead (a note, not an error).
  void setup_cpu(int n) {
    Result<CpuMount> m = ensure_cpu_mount();
    if (!m.ok()) {
      fallback_to_slowdown(m.error());
      return;
    }
    if (m->ours) s_.own_cgroup_mount = m->path;
    double total = 0;
    for (int i = 0; i < n; ++i) {
      const cluster::Device& d = spec_.devices[size_t(i)];
      const double cores = d.speed;  // `speed` is the whole device, in cores of this machine
      CpuQuota q = quota_for_cores(cores);
      const std::string dir = m->path + "/" + cgroup_name(i);
      s_.cgroups.push_back(dir);
      Result<std::string> r = create_cpu_group(m->path, cgroup_name(i), q);
      if (!r.ok()) {
        fallback_to_slowdown(r.error());
        return;
      }
      total += cores;
      say(fmt::format("  {}: cpu quota {} us / {} us ({} cores) in {}", d.name, q.quota_us,
                      q.period_us, fmt_num(cores), dir));
      if (cores > std::min<double>(d.threads, ncpu()))
        note(
            fmt::format("note: device '{}' at speed {} needs more than min(threads {}, {} cores): "
                        "it runs slower than specified",
                        d.name, fmt_num(cores), d.threads, ncpu()));
    }
    if (total > 0.8 * ncpu())
      note(
          fmt::format("note: the devices' speeds add up to {} cores of this {}-core machine: "
                      "leave room for the coordinator (NOTES: keep well under)",
                      fmt_num(total), ncpu()));
    s_.compute = "cgroup";
  }

  void fallback_to_slowdown(const std::string& why) {
    for (const std::string& dir : s_.cgroups) (void)remove_cpu_group(dir);
    s_.cgroups.clear();
    s_.compute = "slowdown";
    note("note: no cgroup cpu quota (" + why + "): using the workers' --slowdown duty cycle");
  }

  void note(const std::string& line) {
    s_.notes.push_back(line);
    say(line);
  }

  Status assign_endpoints(int n) {
    int port = o_.port;
    for (int i = 0; i < n; ++i) {
      if (o_.emulate) {
        ips_.push_back(device_ip(i));
        ports_.push_back(port > 0 ? port : kEmulatedPort);
        continue;
      }
      const std::string ip = "127.0.0.1";
      int p = port > 0 ? port + 3 * i : (ports_.empty() ? kLoopbackBasePort : ports_.back() + 3);
      if (port <= 0)
        while (p < 65000 && !port_triple_free(ip, p)) p += 3;
      if (p + kNetperfPortOffset > 65535 || !port_triple_free(ip, p))
        return errorf("cluster up: ports {}..{} on {} are not free (pass --port)", p,
                      p + kNetperfPortOffset, ip);
      ips_.push_back(ip);
      ports_.push_back(p);
    }
    return ok_status();
  }

  static std::string log_name(const std::string& device, const char* role) {
    std::string n;
    for (char c : device) n += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
    return fmt::format("{}.{}.log", n, role);
  }

  Status spawn(int i, const char* role, std::vector<std::string> argv, const std::string& endpoint,
               bool in_cgroup) {
    const cluster::Device& d = spec_.devices[size_t(i)];
    SpawnSpec sp;
    sp.argv = std::move(argv);
    sp.netns = o_.emulate ? netns_name(i) : "";
    if (in_cgroup && s_.compute == "cgroup") sp.cgroup_tasks = s_.cgroups[size_t(i)] + "/tasks";
    sp.log_path = s_.dir + "/" + log_name(d.name, role);
    Result<pid_t> pid = spawn_detached(sp);
    if (!pid.ok()) return errorf("cluster up: device '{}': {}: {}", d.name, role, pid.error());
    s_.processes.push_back({role, d.name, *pid, sp.argv[0], endpoint, sp.log_path});
    return save();
  }

  // Writes a fresh keypair as NAME.key / NAME.pub; returns the public key.
  static Result<std::string> make_keypair(const std::string& name) {
    ASSIGN_OR_RETURN(net::Keypair k, net::generate_keypair());
    RETURN_IF_ERROR(net::write_keypair(name, k));
    return k.public_key;
  }

  Status start_processes(int n) {
    std::string coord = coordinator_key_path(s_);
    coord.resize(coord.size() - 4);  // without ".key"
    ASSIGN_OR_RETURN(std::string coord_pub, make_keypair(coord));
    say(fmt::format("  coordinator key {}.key (public {})", coord, coord_pub));
    for (int i = 0; i < n; ++i) {
      const std::string name = fmt::format("{}/device-{}", s_.dir, i);
      ASSIGN_OR_RETURN(std::string pub, make_keypair(name));
      public_keys_.push_back(pub);
      const WorkerKeys keys{name + ".key", coord + ".pub"};
      const cluster::Device& d = spec_.devices[size_t(i)];
      const std::string listen = fmt::format("tcp://{}:{}", ips_[size_t(i)], ports_[size_t(i)]);
      const double k = s_.compute == "slowdown" ? slowdown_for(d) : 0;
      if (s_.compute == "slowdown" && d.speed > std::min<double>(d.threads, ncpu()))
        note(
            fmt::format("note: device '{}' at speed {} is faster than {} thread(s) here: it runs "
                        "slower than specified",
                        d.name, fmt_num(d.speed), d.threads));
      RETURN_IF_ERROR(check_cancel());
      RETURN_IF_ERROR(
          spawn(i, "worker", o_.worker_command(bin_, d, listen, k, keys), listen, true));
      const pid_t worker = s_.processes.back().pid;
      if (o_.netperf) {
        const std::string np =
            fmt::format("tcp://{}:{}", ips_[size_t(i)], ports_[size_t(i)] + kNetperfPortOffset);
        RETURN_IF_ERROR(spawn(i, "netperf",
                              {bin_, "cluster", "netperf", "--listen", np, "--name", d.name}, np,
                              false));
      }
      say(fmt::format("  {}: worker pid {} on {}{}", d.name, worker, listen,
                      k > 0 ? fmt::format(" (--slowdown {})", fmt_num(k)) : ""));
    }
    return ok_status();
  }

  Status wait_ready() {
    for (const ProcessRecord& p : s_.processes) {
      auto ep = net::parse_endpoint(p.endpoint);
      if (!ep.ok()) return ep.status();
      bool ready = false;
      for (int waited = 0; !ready && waited < o_.ready_timeout_ms && process_alive(p.pid);
           waited += kReadyStepMs) {
        RETURN_IF_ERROR(check_cancel());
        ready = wait_tcp_listening(ep->host, ep->port, p.pid, kReadyStepMs);
      }
      if (!ready) {
        std::string last = last_line_of(p.log);
        std::string why = process_alive(p.pid)
                              ? fmt::format("not listening after {} ms", o_.ready_timeout_ms)
                              : "exited";
        return errorf("cluster up: device '{}': {} (pid {}) {} on {}{}", p.device, p.role, p.pid,
                      why, p.endpoint, last.empty() ? "" : ": " + last);
      }
    }
    return ok_status();
  }

  // The speed each device's quota delivers (testbed/cpu_probe.h); on failure
  // the spec's speeds stand (a note, not an error).
  void probe_speeds() {
    std::vector<CpuProbeDevice> devs;
    for (size_t i = 0; i < spec_.devices.size(); ++i) {
      const cluster::Device& d = spec_.devices[i];
      devs.push_back({s_.cgroups[i] + "/tasks", d.threads, s_.dir + "/" + log_name(d.name, "probe")});
    }
    CpuProbeOptions po;
    po.bin = bin_;
    say(fmt::format("  compute probe: {} on a free core, then in every device's cgroup at once...",
                    po.model));
    Result<std::vector<double>> v = probe_cpu(devs, s_.dir + "/free-core.probe.log", po);
    if (!v.ok()) {
      note("note: " + v.error() + ": the spec's speeds stand");
      return;
    }
    std::vector<double> specified;
    for (const cluster::Device& d : spec_.devices) specified.push_back(d.speed);
    const double f = delivery_factor(*v, specified);
    for (size_t i = 0; i < devs.size(); ++i) {
      speeds_.push_back(specified[i] * f);
      say(fmt::format("  {}: delivered speed {:.3f} (spec {})", spec_.devices[i].name, (*v)[i],
                      fmt_num(specified[i])));
    }
    say(fmt::format("  quota delivery factor {:.3f} (median over devices): effective speeds are "
                    "the spec's x {:.3f}",
                    f, f));
  }

  Status write_effective_spec() {
    cluster::ClusterSpec eff = spec_;
    for (size_t i = 0; i < eff.devices.size(); ++i) {
      cluster::Device& d = eff.devices[i];
      if (!speeds_.empty()) d.speed = speeds_[i];
      d.address = fmt::format("tcp://{}:{}", ips_[i], ports_[i]);
      d.public_key = public_keys_[i];
      std::error_code ec;  // the spec moves to another directory: profiles by absolute path
      if (!d.profile.empty()) d.profile = fs::absolute(d.profile, ec).lexically_normal().string();
    }
    const std::string what = o_.emulate ? "emulated testbed" : "loopback testbed";
    eff.description = fmt::format("{} of '{}' (coinfer cluster up{}){}", what, spec_.name,
                                  speeds_.empty() ? "" : "; speeds measured by its compute probe",
                                  spec_.description.empty() ? "" : ": " + spec_.description);
    s_.effective_spec = cluster::to_json(eff);
    s_.effective_spec_path = s_.dir + "/spec.json";
    std::ofstream f(s_.effective_spec_path);
    f << s_.effective_spec;
    if (!f.flush()) return errorf("cluster up: cannot write '{}'", s_.effective_spec_path);
    return save();
  }

  const cluster::ClusterSpec& spec_;
  const UpOptions& o_;
  State s_;
  std::string bin_;
  bool saved_ = false;
  std::vector<std::string> ips_;
  std::vector<int> ports_;
  std::vector<std::string> public_keys_;  // per device
  std::vector<double> speeds_;            // per device, by the compute probe (empty: none)
};

}  // namespace

std::string coordinator_key_path(const State& s) {
  return s.dir + "/coordinator.key";
}

std::vector<std::string> coinfer_worker_command(const std::string& bin, const cluster::Device& d,
                                                const std::string& listen, double slowdown,
                                                const WorkerKeys& keys) {
  std::vector<std::string> argv = {
      bin,      "worker", "--listen", listen,   "--threads",    std::to_string(d.threads),
      "--name", d.name,   "--key",    keys.key, "--authorized", keys.authorized};
  if (slowdown > 0) argv.insert(argv.end(), {"--slowdown", fmt_num(slowdown)});
  return argv;
}

std::vector<std::string> stand_in_worker_command(const std::string& bin, const cluster::Device& d,
                                                 const std::string& listen, double,
                                                 const WorkerKeys&) {
  return {bin, "cluster", "netperf", "--listen", listen, "--name", d.name};
}

double slowdown_for(const cluster::Device& d) {
  // The duty cycle scales the wall time of the worker's `threads`-thread run,
  // which uses min(threads, cores) cores of this machine; the device has
  // `speed` cores' worth.
  const double cores = std::min<double>(std::max(d.threads, 1), ncpu());
  return d.speed > 0 ? std::max(1.0, cores / d.speed) : 1.0;
}

Result<State> up(const cluster::ClusterSpec& spec, const UpOptions& o) {
  return Builder(spec, o).run();
}

}  // namespace coinfer::testbed
