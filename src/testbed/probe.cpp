#include "testbed/probe.h"

#include <algorithm>
#include <cmath>

#include "net/transport.h"
#include "testbed/netperf.h"
#include "testbed/testbed.h"

namespace coinfer::testbed {
namespace {

constexpr uint64_t kPilotBytes = 4ull << 20;
constexpr uint64_t kMaxPairBytes = 1ull << 30;

// 4 significant digits: "47.39Mbps" in the written spec, not 47389708.72.
double round4(double v) {
  if (!(v > 0) || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, std::floor(std::log10(v)) - 3);
  return std::round(v / scale) * scale;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A pair's a -> b goodput, measured by a's responder towards b's.
Result<Rate> relay_measure(NetperfClient& a, const std::string& to, double seconds) {
  ASSIGN_OR_RETURN(Rate pilot, a.relay_upload(to, kPilotBytes));
  if (!(pilot.bps() > 0)) return errorf("netperf relay to {}: the pilot took no time", to);
  const double want = pilot.bps() / 8 * std::max(seconds, 0.05);
  return a.relay_upload(to, std::clamp<uint64_t>(uint64_t(want), kPilotBytes, kMaxPairBytes));
}

}  // namespace

Result<std::string> netperf_endpoint(const cluster::Device& d) {
  if (d.address.empty())
    return errorf(
        "device '{}': no address: probe needs the workers' endpoints (use the effective "
        "spec that `cluster up` prints)",
        d.name);
  ASSIGN_OR_RETURN(net::Endpoint ep, net::parse_endpoint(d.address));
  if (ep.kind != net::Endpoint::Kind::Tcp || ep.port == 0 || ep.host == "*")
    return errorf("device '{}': address '{}': probe needs tcp://HOST:PORT", d.name, d.address);
  if (ep.port + kNetperfPortOffset > 65535)
    return errorf("device '{}': address '{}': port + {} exceeds 65535", d.name, d.address,
                  kNetperfPortOffset);
  ep.port += kNetperfPortOffset;
  return ep.str();
}

Result<ProbeReport> probe_cluster(const cluster::ClusterSpec& spec, const ProbeOptions& o) {
  ProbeReport rep;
  rep.measured = spec;
  const int n = int(spec.devices.size());
  std::vector<NetperfClient> clients;
  std::vector<std::string> endpoints;
  for (int i = 0; i < n; ++i) {
    const cluster::Device& d = spec.devices[size_t(i)];
    ASSIGN_OR_RETURN(std::string ep, netperf_endpoint(d));
    auto c = NetperfClient::connect(ep, o.connect_timeout_ms);
    if (!c.ok())
      return errorf(
          "probe: device '{}': {} (is `coinfer cluster netperf --listen {}` running "
          "there?)",
          d.name, c.error(), ep);
    clients.push_back(std::move(c).value());
    endpoints.push_back(ep);
  }
  std::vector<double> latencies;
  for (int i = 0; i < n; ++i) {
    const cluster::Device& d = spec.devices[size_t(i)];
    NetperfClient& c = clients[size_t(i)];
    DeviceProbe p;
    p.device = d.name;
    p.endpoint = endpoints[size_t(i)];
    p.spec_bps = d.link_bps > 0 ? d.link_bps : spec.default_bandwidth_bps;
    if (spec.shared_medium && spec.medium_bandwidth_bps > 0)
      p.spec_bps = std::min(p.spec_bps, spec.medium_bandwidth_bps);
    auto with_name = [&](const Status& st) {
      return errorf("probe: device '{}': {}", d.name, st.message());
    };
    auto rtt = c.rtt(o.rtt_samples);
    if (!rtt.ok()) return with_name(rtt.status());
    p.rtt_s = *rtt;
    auto up = c.measure(true, o.seconds);
    if (!up.ok()) return with_name(up.status());
    p.up_bps = up->bps();
    if (o.download) {
      auto down = c.measure(false, o.seconds);
      if (!down.ok()) return with_name(down.status());
      p.down_bps = down->bps();
    }
    rep.measured.devices[size_t(i)].link_bps =
        round4(o.download ? std::min(p.up_bps, p.down_bps) : p.up_bps);
    latencies.push_back(p.rtt_s / 2);
    rep.devices.push_back(p);
  }
  rep.measured.default_latency_s = round4(median(latencies));
  if (o.pairs) {
    rep.measured.links.clear();
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) {
        const std::string& a = spec.devices[size_t(i)].name;
        const std::string& b = spec.devices[size_t(j)].name;
        PairProbe ab{a, b, 0, 0, spec.bandwidth_bps(i, j)};
        PairProbe ba{b, a, 0, 0, spec.bandwidth_bps(j, i)};
        auto fail = [&](const Status& st) {
          return errorf("probe: pair '{}'-'{}': {}", a, b, st.message());
        };
        auto r1 = relay_measure(clients[size_t(i)], endpoints[size_t(j)], o.seconds);
        if (!r1.ok()) return fail(r1.status());
        auto r2 = relay_measure(clients[size_t(j)], endpoints[size_t(i)], o.seconds);
        if (!r2.ok()) return fail(r2.status());
        auto t = clients[size_t(i)].relay_rtt(endpoints[size_t(j)], o.rtt_samples);
        if (!t.ok()) return fail(t.status());
        ab.bps = r1->bps();
        ba.bps = r2->bps();
        ab.rtt_s = ba.rtt_s = *t;
        rep.pairs.push_back(ab);
        rep.pairs.push_back(ba);
        rep.measured.links.push_back({a, b, round4(std::min(ab.bps, ba.bps)), round4(*t / 2)});
      }
    }
  }
  rep.measured.description = fmt::format("measured by `coinfer cluster probe`{}{}",
                                         spec.description.empty() ? "" : "; ", spec.description);
  return rep;
}

}  // namespace coinfer::testbed
