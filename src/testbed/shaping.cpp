#include "testbed/shaping.h"

#include <algorithm>
#include <cmath>

#include "testbed/exec.h"
#include "testbed/names.h"

namespace coinfer::testbed {
namespace {

// HTB class ids (hex minor): 1:1 the access link, 1:<100 + j> the explicit
// link to device j.
constexpr int kAccessClass = 0x1;
constexpr int kPairClassBase = 0x100;
// Classes never borrow from each other, so quantum only needs to be >= MTU
// (set explicitly: the derived rate / r2q is too big at high rates).
constexpr const char* kQuantum = "60000";

std::string rate_arg(double bps) {
  return fmt::format("{}bit", int64_t(std::llround(std::max(bps, 1000.0))));
}

std::string class_id(int minor) {
  return fmt::format("1:{:x}", minor);
}

void add_htb(std::vector<TcStep>& steps, const std::string& ns, const std::string& dev,
             double rate_bps) {
  steps.push_back({ns,
                   {"qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default",
                    fmt::format("{:x}", kAccessClass)},
                   dev + " root htb"});
  steps.push_back({ns,
                   {"class", "add", "dev", dev, "parent", "1:", "classid", class_id(kAccessClass),
                    "htb", "rate", rate_arg(rate_bps), "quantum", kQuantum},
                   ""});
}

// Traffic on `dev` whose `field` ("src" or "dst") is `ip` goes to its own
// class at `rate_bps`.
void add_pair_class(std::vector<TcStep>& steps, const std::string& ns, const std::string& dev,
                    int peer, const char* field, double rate_bps) {
  const std::string cls = class_id(kPairClassBase + peer);
  steps.push_back({ns,
                   {"class", "add", "dev", dev, "parent", "1:", "classid", cls, "htb", "rate",
                    rate_arg(rate_bps), "quantum", kQuantum},
                   ""});
  steps.push_back({ns,
                   {"filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1",
                    "u32", "match", "ip", field, device_ip(peer) + "/32", "flowid", cls},
                   ""});
}

std::vector<std::string> redirect_to_medium() {
  return {"u32",    "match",  "u32",      "0",   "0",       "action",
          "mirred", "egress", "redirect", "dev", kMediumIfb};
}

}  // namespace

double access_rate_bps(const cluster::ClusterSpec& spec, int i) {
  const double own = spec.devices[size_t(i)].link_bps;
  return own > 0 ? own : spec.default_bandwidth_bps;
}

std::vector<TcStep> plan_shaping(const cluster::ClusterSpec& spec) {
  std::vector<TcStep> steps;
  const int n = int(spec.devices.size());
  for (int i = 0; i < n; ++i) {
    const double rate = access_rate_bps(spec, i);
    add_htb(steps, "", veth_host(i), rate);
    add_htb(steps, netns_name(i), veth_ns(i), rate);
  }
  for (const cluster::Link& l : spec.links) {
    const int a = spec.find(l.a), b = spec.find(l.b);
    if (a < 0 || b < 0 || a == b || !(l.bandwidth_bps > 0)) continue;
    for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
      add_pair_class(steps, netns_name(from), veth_ns(from), to, "dst", l.bandwidth_bps);
      add_pair_class(steps, "", veth_host(to), from, "src", l.bandwidth_bps);
    }
  }
  if (spec.shared_medium && spec.medium_bandwidth_bps > 0) {
    add_htb(steps, "", kMediumIfb, spec.medium_bandwidth_bps);
    for (int i = 0; i < n; ++i) {
      const std::string v = veth_host(i);
      steps.push_back(
          {"", {"qdisc", "add", "dev", v, "handle", "ffff:", "ingress"}, v + " ingress"});
      std::vector<std::string> f = {"filter", "add",      "dev", v,      "parent",
                                    "ffff:",  "protocol", "all", "prio", "1"};
      for (std::string& s : redirect_to_medium()) f.push_back(std::move(s));
      steps.push_back({"", f, ""});
    }
    steps.push_back(
        {"", {"qdisc", "add", "dev", kBridge, "clsact"}, std::string(kBridge) + " clsact"});
    std::vector<std::string> f = {"filter",   "add", "dev",  kBridge, "egress",
                                  "protocol", "all", "prio", "1"};
    for (std::string& s : redirect_to_medium()) f.push_back(std::move(s));
    steps.push_back({"", f, ""});
  }
  return steps;
}

Status apply_shaping(const std::vector<TcStep>& steps, std::vector<std::string>& created) {
  for (const TcStep& s : steps) {
    std::vector<std::string> argv = {"tc"};
    if (!s.netns.empty()) argv.insert(argv.end(), {"-n", s.netns});
    argv.insert(argv.end(), s.args.begin(), s.args.end());
    RETURN_IF_ERROR(run_checked(argv).status());
    if (!s.qdisc.empty()) created.push_back(s.netns.empty() ? s.qdisc : s.netns + "/" + s.qdisc);
  }
  return ok_status();
}

std::string latency_note(const cluster::ClusterSpec& spec) {
  double worst = spec.default_latency_s;
  for (const cluster::Link& l : spec.links) worst = std::max(worst, l.latency_s);
  if (!(worst > 0)) return "";
  return fmt::format(
      "note: latency (up to {:g} ms in the spec) is not emulated: this kernel has no netem; "
      "only bandwidth is shaped (docs/TESTBED.md)",
      worst * 1e3);
}

}  // namespace coinfer::testbed
