#include "testbed/network.h"

#include <filesystem>
#include <sstream>

#include "testbed/exec.h"
#include "testbed/names.h"

namespace coinfer::testbed {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

}  // namespace

Status check_subnet_free() {
  ASSIGN_OR_RETURN(std::string addrs, run_checked({"ip", "-o", "-4", "addr", "show"}));
  for (const std::string& l : lines(addrs))
    if (l.find(std::string(" ") + kSubnetPrefix) != std::string::npos)
      return errorf("testbed: subnet {}0/24 is already in use: {}", kSubnetPrefix, l);
  return ok_status();
}

Status create_bridge() {
  RETURN_IF_ERROR(run_checked({"ip", "link", "add", kBridge, "type", "bridge"}).status());
  RETURN_IF_ERROR(
      run_checked({"ip", "addr", "add", std::string(kCoordinatorIp) + "/24", "dev", kBridge})
          .status());
  return run_checked({"ip", "link", "set", kBridge, "up"}).status();
}

Status create_device_net(int i) {
  const std::string ns = netns_name(i), v = veth_host(i), p = veth_ns(i);
  RETURN_IF_ERROR(run_checked({"ip", "netns", "add", ns}).status());
  RETURN_IF_ERROR(run_checked({"ip", "-n", ns, "link", "set", "lo", "up"}).status());
  RETURN_IF_ERROR(
      run_checked({"ip", "link", "add", v, "type", "veth", "peer", "name", p, "netns", ns})
          .status());
  RETURN_IF_ERROR(run_checked({"ip", "link", "set", v, "master", kBridge}).status());
  RETURN_IF_ERROR(run_checked({"ip", "link", "set", v, "up"}).status());
  RETURN_IF_ERROR(
      run_checked({"ip", "-n", ns, "addr", "add", device_ip(i) + "/24", "dev", p}).status());
  return run_checked({"ip", "-n", ns, "link", "set", p, "up"}).status();
}

bool netns_exists(const std::string& name) {
  std::error_code ec;
  return fs::exists("/var/run/netns/" + name, ec);
}

bool link_exists(const std::string& name) {
  return run_command({"ip", "link", "show", "dev", name}).exit_code == 0;
}

std::vector<std::string> list_coinfer_netns() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/var/run/netns", ec)) {
    std::string n = e.path().filename().string();
    if (has_prefix(n)) out.push_back(n);
  }
  return out;
}

std::vector<std::string> list_coinfer_links() {
  std::vector<std::string> out;
  CommandOutput o = run_command({"ip", "-o", "link", "show"});
  // "12: coinfer-v0@if11: <BROADCAST,...> ..."
  for (const std::string& l : lines(o.output)) {
    size_t a = l.find(": ");
    if (a == std::string::npos) continue;
    size_t b = l.find_first_of(":@", a + 2);
    std::string name = l.substr(a + 2, b == std::string::npos ? std::string::npos : b - a - 2);
    if (has_prefix(name)) out.push_back(name);
  }
  return out;
}

std::vector<pid_t> netns_pids(const std::string& name) {
  std::vector<pid_t> out;
  CommandOutput o = run_command({"ip", "netns", "pids", name});
  if (o.exit_code != 0) return out;
  for (const std::string& l : lines(o.output)) {
    try {
      out.push_back(pid_t(std::stol(l)));
    } catch (...) {
    }
  }
  return out;
}

Status delete_netns(const std::string& name) {
  if (!netns_exists(name)) return ok_status();
  Status st = run_checked({"ip", "netns", "del", name}).status();
  return netns_exists(name) ? st : ok_status();
}

Status delete_link(const std::string& name) {
  if (!link_exists(name)) return ok_status();
  Status st = run_checked({"ip", "link", "del", "dev", name}).status();
  return link_exists(name) ? st : ok_status();
}

}  // namespace coinfer::testbed
