// ClusterSpec: the devices and the network of a cluster (JSON, schema in
// docs/CLUSTER.md). Units: bytes, bits per second, seconds, watts.
//
//   ASSIGN_OR_RETURN(ClusterSpec c, cluster::load("examples/clusters/pico-8rpi.json"));
//   double bps = c.bandwidth_bps(0, 3);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::cluster {

struct PowerModel {
  double idle_w = 0;  // powered, doing nothing
  double busy_w = 0;  // computing
  double tx_w = 0;    // sending or receiving
  bool operator==(const PowerModel&) const = default;
};

struct Device {
  std::string name;     // unique; plans refer to devices by name
  std::string address;  // worker endpoint, e.g. "tcp://10.0.0.2:5555" (may be empty)
  // The worker's CURVE public key (Z85, 40 characters; `coinfer keygen`);
  // `coinfer run` needs it unless --insecure (docs/SECURITY.md).
  std::string public_key;
  int threads = 1;
  double memory_bytes = 0;  // usable for weights + activations
  // Compute: a measured profile (path to `coinfer profile device` output) and
  // a speed factor relative to it (2 = twice as fast as the profiled device).
  // Without a profile, the reference is this machine's single-core profile
  // (docs/DEVICES.md). `speed` covers the whole device running `threads` threads.
  std::string profile;
  double speed = 1.0;
  double link_bps = 0;  // this device's access link (0 = use the cluster default)
  PowerModel power;
  bool operator==(const Device&) const = default;
};

// An explicit link between two devices (symmetric).
struct Link {
  std::string a, b;
  double bandwidth_bps = 0;
  double latency_s = 0;
  bool operator==(const Link&) const = default;
};

struct ClusterSpec {
  std::string name;
  std::vector<Device> devices;
  std::vector<Link> links;
  double default_bandwidth_bps = 1e9;  // access link of devices without their own
  double default_latency_s = 0;
  // One shared channel (e.g. one WiFi AP): all transfers share
  // medium_bandwidth_bps fairly, whatever the pair.
  bool shared_medium = false;
  double medium_bandwidth_bps = 0;
  // Where frames come from and results go (a device name, or empty: an
  // external source that reaches every device at its access link).
  std::string source;
  std::string description;  // free text (where the figures come from)

  int find(const std::string& device) const;  // index, or -1
  // Bandwidth and latency from device i to device j. An explicit link wins;
  // else the min of the two access links, an unset access link counting as
  // default_bandwidth_bps. With a shared medium, also capped at
  // medium_bandwidth_bps (a lone transfer; sharing is the simulator's job).
  // Latency: the link's, else default_latency_s. i == j: infinity and 0.
  double bandwidth_bps(int i, int j) const;
  double latency_s(int i, int j) const;
  // Same, between the source and device i: a source device uses the pair
  // rules (infinity and 0 for itself); an external source reaches device i
  // at its access link (else the default), with default_latency_s.
  double source_bandwidth_bps(int i) const;
  // Device i's access link (its own, else the default), not capped.
  double access_bandwidth_bps(int i) const;
  // An explicit link joins devices i and j (it replaces their access links).
  bool linked(int i, int j) const;
  double source_latency_s(int i) const;
  bool operator==(const ClusterSpec&) const = default;
};

// The `source` value for frames that come from outside the cluster; no device
// may take this name.
inline constexpr const char* kExternalSource = "external";

// Units of a quantity written in a spec.
enum class Quantity : uint8_t { Bandwidth, Bytes, Seconds, Count };

// Parses a number with a unit into bits/s, bytes or seconds: "50Mbps",
// "100 Mbit/s", "12.5MB/s" (bytes/s, x8), "2GiB", "512MiB", "4GB", "2ms",
// "150us". A unit is required; the error states the rule, not the field.
Result<double> parse_quantity(const std::string& text, Quantity q);

// Parses and checks a spec (strict: unknown or duplicate keys are errors);
// errors name the field: "cluster 'x.json': devices[2].speed=-1: must be > 0".
// load() also resolves a relative `profile` against the spec's directory and
// checks that the file exists.
Result<ClusterSpec> parse(const std::string& json_text, const std::string& what);
Result<ClusterSpec> load(const std::string& path);
std::string to_json(const ClusterSpec& c);

}  // namespace coinfer::cluster
