// ClusterSpec: the link rules and serialisation.
#include "cluster/cluster.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace coinfer::cluster {
namespace {

const Link* find_link(const ClusterSpec& c, int i, int j) {
  const std::string& a = c.devices[size_t(i)].name;
  const std::string& b = c.devices[size_t(j)].name;
  for (const Link& l : c.links)
    if ((l.a == a && l.b == b) || (l.a == b && l.b == a)) return &l;
  return nullptr;
}

double access_bps(const ClusterSpec& c, int i) {
  const double own = c.devices[size_t(i)].link_bps;
  return own > 0 ? own : c.default_bandwidth_bps;
}

double cap_medium(const ClusterSpec& c, double bps) {
  return c.shared_medium && c.medium_bandwidth_bps > 0 ? std::min(bps, c.medium_bandwidth_bps)
                                                       : bps;
}

// A quantity for to_json: with a unit when that reads well and parses back
// to exactly the same double ("50Mbps", "768MiB", "2ms"), else a plain number.
nlohmann::ordered_json written(double v, Quantity q) {
  struct Unit {
    Quantity q;
    const char* name;
    double scale;
  };
  static constexpr Unit kUnits[] = {
      // the first that fits wins
      {Quantity::Bandwidth, "Gbps", 1e9},
      {Quantity::Bandwidth, "Mbps", 1e6},
      {Quantity::Bandwidth, "kbps", 1e3},
      {Quantity::Bandwidth, "bps", 1},
      {Quantity::Bytes, "GiB", 1073741824.0},
      {Quantity::Bytes, "MiB", 1048576.0},
      {Quantity::Bytes, "KiB", 1024.0},
      {Quantity::Bytes, "B", 1},
      {Quantity::Seconds, "s", 1},
      {Quantity::Seconds, "ms", 1e-3},
      {Quantity::Seconds, "us", 1e-6},
  };
  if (!(v > 0) || !std::isfinite(v)) return v;
  for (const Unit& u : kUnits) {
    if (u.q != q || v / u.scale < 1) continue;
    const std::string text = fmt::format("{}{}", v / u.scale, u.name);
    auto back = parse_quantity(text, q);
    if (text.size() <= 10 && back.ok() && *back == v) return text;
  }
  return v;
}

}  // namespace

int ClusterSpec::find(const std::string& device) const {
  for (size_t i = 0; i < devices.size(); ++i)
    if (devices[i].name == device) return int(i);
  return -1;
}

double ClusterSpec::bandwidth_bps(int i, int j) const {
  assert(i >= 0 && j >= 0 && size_t(i) < devices.size() && size_t(j) < devices.size());
  if (i == j) return std::numeric_limits<double>::infinity();
  if (const Link* l = find_link(*this, i, j)) return cap_medium(*this, l->bandwidth_bps);
  return cap_medium(*this, std::min(access_bps(*this, i), access_bps(*this, j)));
}

double ClusterSpec::latency_s(int i, int j) const {
  assert(i >= 0 && j >= 0 && size_t(i) < devices.size() && size_t(j) < devices.size());
  if (i == j) return 0;
  const Link* l = find_link(*this, i, j);
  return l ? l->latency_s : default_latency_s;
}

double ClusterSpec::source_bandwidth_bps(int i) const {
  assert(i >= 0 && size_t(i) < devices.size());
  const int s = find(source);
  if (s >= 0) return bandwidth_bps(s, i);
  return cap_medium(*this, access_bps(*this, i));
}

double ClusterSpec::access_bandwidth_bps(int i) const {
  assert(i >= 0 && size_t(i) < devices.size());
  return access_bps(*this, i);
}

bool ClusterSpec::linked(int i, int j) const {
  assert(i >= 0 && j >= 0 && size_t(i) < devices.size() && size_t(j) < devices.size());
  return i != j && find_link(*this, i, j) != nullptr;
}

double ClusterSpec::source_latency_s(int i) const {
  assert(i >= 0 && size_t(i) < devices.size());
  const int s = find(source);
  return s >= 0 ? latency_s(s, i) : default_latency_s;
}

std::string to_json(const ClusterSpec& c) {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["name"] = c.name;
  if (!c.description.empty()) j["description"] = c.description;
  j["source"] = c.source.empty() ? kExternalSource : c.source;
  j["default_bandwidth"] = written(c.default_bandwidth_bps, Quantity::Bandwidth);
  j["default_latency"] = written(c.default_latency_s, Quantity::Seconds);
  j["shared_medium"] = c.shared_medium;
  if (c.shared_medium) j["medium_bandwidth"] = written(c.medium_bandwidth_bps, Quantity::Bandwidth);
  j["devices"] = ojson::array();
  for (const Device& d : c.devices) {
    ojson o;
    o["name"] = d.name;
    if (!d.address.empty()) o["address"] = d.address;
    if (!d.public_key.empty()) o["public_key"] = d.public_key;
    o["threads"] = d.threads;
    if (d.memory_bytes > 0) o["memory"] = written(d.memory_bytes, Quantity::Bytes);
    if (!d.profile.empty()) o["profile"] = d.profile;
    o["speed"] = d.speed;
    if (d.link_bps > 0) o["link"] = written(d.link_bps, Quantity::Bandwidth);
    if (!(d.power == PowerModel{}))
      o["power"] = {{"idle_w", d.power.idle_w}, {"busy_w", d.power.busy_w}, {"tx_w", d.power.tx_w}};
    j["devices"].push_back(std::move(o));
  }
  if (!c.links.empty()) {
    j["links"] = ojson::array();
    for (const Link& l : c.links)
      j["links"].push_back({{"a", l.a},
                            {"b", l.b},
                            {"bandwidth", written(l.bandwidth_bps, Quantity::Bandwidth)},
                            {"latency", written(l.latency_s, Quantity::Seconds)}});
  }
  // Invalid UTF-8 can only come from a spec built in code; never throw for it.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace coinfer::cluster
