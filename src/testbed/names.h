// Names and addresses of everything the emulated testbed creates. Every kernel
// object is named "coinfer-..." so `cluster down --all` can find it after a
// crash. Interface names are limited to 15 bytes (IFNAMSIZ - 1), hence short
// names with the device index rather than the device name.
//
//   root namespace: bridge coinfer-br0 (10.77.0.1/24, the coordinator's side)
//                   coinfer-v<i>: bridge end of device i's veth pair
//                   coinfer-m0: ifb that carries a shared medium's traffic
//   namespace coinfer-n<i>: lo and coinfer-p<i> (10.77.0.<i+2>/24)
//   cgroup v1 cpu: coinfer-c<i> (device i's CPU quota)
#pragma once

#include <string>

namespace coinfer::testbed {

inline constexpr const char* kPrefix = "coinfer-";
inline constexpr const char* kBridge = "coinfer-br0";
inline constexpr const char* kMediumIfb = "coinfer-m0";
inline constexpr const char* kSubnetPrefix = "10.77.0.";  // a /24
inline constexpr const char* kCoordinatorIp = "10.77.0.1";
inline constexpr int kMaxDevices = 250;  // .2 .. .251
// Where the v1 cpu controller is mounted when no mount exists yet.
inline constexpr const char* kOwnCgroupMount = "/tmp/coinfer-cgroup";

inline std::string netns_name(int i) {
  return "coinfer-n" + std::to_string(i);
}
inline std::string veth_host(int i) {
  return "coinfer-v" + std::to_string(i);
}
inline std::string veth_ns(int i) {
  return "coinfer-p" + std::to_string(i);
}
inline std::string cgroup_name(int i) {
  return "coinfer-c" + std::to_string(i);
}
inline std::string device_ip(int i) {
  return kSubnetPrefix + std::to_string(i + 2);
}

inline bool has_prefix(const std::string& name) {
  return name.rfind(kPrefix, 0) == 0;
}

}  // namespace coinfer::testbed
